"""Speed references (decode tokens/s, prefill tokens/s -> TTFT) against the step-time model (issue 13).

    python validation/speed_check.py          # print the regime table, the fit and the held-out check
    python validation/speed_check.py --fit    # also print the fitted engine values to copy into engines.csv

* "before" is the roofline this project shipped until issue 13 (one bandwidth fraction 0.575, prefill at 0.5
  of the fp32-accumulate peak, 0.9 per doubling of GPUs, the whole embedding table read per token);
* "after" is ``udfs.core.api`` with blank optional arguments, i.e. what LLM_DECODE_TOKPS / LLM_TTFT_S
  return in a sheet (engine auto);
* the fit: the llama.cpp preset's free values (bandwidth fractions, quantized-kernel factor, per-layer and
  per-step overhead, prefill MFU) by coordinate descent on a robust loss (mean of min(|log ratio|, 0.5));
  cross-validation holds out one whole source at a time, refits on the rest and predicts the held-out
  source; "held-out" rates come only from predictions for sources the fit did not see.
* bands: the 10th and 90th percentiles of measured / predicted over the held-out predictions.
"""

from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from udfs.core import api, catalog, resolve, speed  # noqa: E402
from udfs.core import flops as F  # noqa: E402
from udfs.core import memory as M  # noqa: E402
from udfs.core import training  # noqa: E402
from udfs.core.errors import ScalesheetError  # noqa: E402
from udfs.core.units import GB  # noqa: E402

TOL = 0.25
FIT_ENGINE = "llama.cpp"
FIT_GRID = {  # coarse enough that the leave-one-source-out fits run in seconds
    "bw_eff": np.round(np.arange(0.60, 0.901, 0.02), 3),  # above 0.9 is not physical (STREAM-like copy rates)
    "bw_eff_apple": np.round(np.arange(0.45, 0.901, 0.03), 3),
    "quant_bw_factor": np.round(np.arange(0.60, 1.001, 0.04), 3),
    "layer_overhead_s": np.round(np.arange(0.0, 0.00020001, 0.00002), 6),
    "step_overhead_s": np.round(np.arange(0.0, 0.0040001, 0.0004), 5),
    "prefill_mfu": np.round(np.arange(0.20, 0.801, 0.04), 3),
    "prefill_mfu_apple": np.round(np.arange(0.30, 0.901, 0.04), 3),
    "attention_factor": np.round(np.arange(0.05, 1.001, 0.05), 3),
    "quant_prefill_factor": np.round(np.arange(0.5, 1.001, 0.05), 3),
    "layer_overhead_apple_s": np.round(np.arange(0.0, 0.00030001, 0.00002), 6),
}
LEGACY = {"bw": 0.575, "prefill_mfu": 0.5, "decode_mfu": 0.5, "scaling": 0.9}


@dataclass
class Point:
    id: str
    kind: str            # decode or prefill
    model: str
    gpu: str
    precision: str
    batch: float
    context: float       # decode: mean context; prefill: prompt tokens
    gpus: float
    engine: str
    measured: float      # decode: tokens/s; prefill: TTFT seconds
    source: str
    regimes: tuple


def _source_key(src: str) -> str:
    s = src.lower()
    for key in ("xiongjiedai", "pull/4766", "pull/2959", "musgrave", "discussions/15013", "discussions/4167"):
        if key in s:
            if key == "xiongjiedai":
                return "XiongjieDai LLaMA 3 (May 2024)" if "llama 3" in s else "XiongjieDai LLaMA 2 (Dec 2023)"
            return {"pull/4766": "llama.cpp PR #4766", "pull/2959": "llama.cpp PR #2959",
                    "musgrave": "Musgrave vLLM sweep", "discussions/15013": "llama.cpp discussion #15013",
                    "discussions/4167": "llama.cpp discussion #4167"}[key]
    return src[:40]


def _known(kind, name):
    try:
        (catalog.models if kind == "model" else catalog.gpus)([name])
        return True
    except ScalesheetError:
        return False


def _model(name):
    return {"codellama-7b": "llama-2-7b"}.get(name, name)


def load_points(rows: list[dict]) -> tuple[list[Point], list[tuple[str, str]]]:
    """Speed points from reference rows, and (id, why) for the rows left out."""
    pts, left = [], []
    for r in rows:
        if r["kind"] not in ("decode_tokps", "prefill_tokps") or r["id"].startswith("mlperf"):
            continue
        if "UNVERIFIED" in (r.get("notes") or ""):
            left.append((r["id"], "UNVERIFIED (secondary transcription)"))
            continue
        model = _model(r["model"])
        missing = [f"gpu '{r['gpu']}'" for _ in [0] if not _known("gpu", r["gpu"])]
        if not _known("model", model):
            missing.append(f"model '{model}'")
        if missing:
            left.append((r["id"], f"{' and '.join(missing)} not in the catalog"))
            continue
        gpus = float(r["gpus"] or 1)
        batch = float(r["batch"] or 1)
        if r["kind"] == "decode_tokps":
            prompt = float(r["context"] or 0)
            gen = float(r["tokens"] or 1024)
            ctx, kind, measured = prompt + gen / 2, "decode", float(r["value"])
        else:
            ctx, kind = float(r["context"]), "prefill"
            measured = ctx * batch / float(r["value"])
        flags = speed.gpu_flags(catalog.gpus([r["gpu"]]))
        regimes = [("batch-1 decode" if batch == 1 else "batched decode") if kind == "decode" else "TTFT / prefill"]
        if gpus > 1:
            regimes.append("multi-GPU")
        regimes.append("Apple" if flags["apple"][0] else ("consumer (GeForce)" if flags["geforce"][0] else "datacenter"))
        pts.append(Point(r["id"], kind, model, r["gpu"], r["precision"], batch, ctx, gpus, r.get("engine") or "",
                         measured, _source_key(r["source"]), tuple(regimes)))
    return pts, left


# ------------------------------------------------------------------------------------- predictions
def _arr(pts, attr, dtype=object):
    return np.array([getattr(p, attr) for p in pts], dtype=dtype)


def predict(pts: list[Point], engine_column: bool = False) -> np.ndarray:
    """Our value for each point (tokens/s for decode, seconds for prefill), blank optional arguments
    (engine auto) unless ``engine_column``."""
    out = np.full(len(pts), np.nan)
    for kind in ("decode", "prefill"):
        idx = [i for i, p in enumerate(pts) if p.kind == kind]
        if not idx:
            continue
        sub = [pts[i] for i in idx]
        eng = _arr(sub, "engine") if engine_column else None
        if kind == "decode":
            v = api.decode_tokps(_arr(sub, "model"), _arr(sub, "gpu"), _arr(sub, "precision"), _arr(sub, "context", float),
                                 _arr(sub, "batch", float), _arr(sub, "gpus", float), None, eng)
        else:
            v = api.ttft_s(_arr(sub, "model"), _arr(sub, "gpu"), _arr(sub, "context", float), _arr(sub, "precision"),
                           _arr(sub, "batch", float), _arr(sub, "gpus", float), eng)
        out[idx] = v
    return out


def predict_legacy(pts: list[Point]) -> np.ndarray:
    """The pre-issue-13 roofline, recomputed here so 'before' stays reproducible."""
    out = []
    for p in pts:
        a, g, pr = resolve.model(p.model), resolve.gpu(p.gpu), resolve.precision(p.precision)
        scale = p.gpus * LEGACY["scaling"] ** math.log2(p.gpus)
        peak = float(training.peak_flops(g, pr))
        bw = float(g.bandwidth_gb_s) * GB * LEGACY["bw"] * scale
        if p.kind == "decode":
            kv = float(M.kv_cache_bytes(a, p.context, p.batch, pr))
            routed = float(speed.P.param_breakdown(a)["mlp/routed_experts"]) * float(pr.bits) / 8
            E = max(float(a.n_experts), 1)
            touched = 1 - (1 - float(a.experts_per_token) / E) ** p.batch if float(a.n_experts) > 0 else 1.0
            w = float(M.weight_bytes(a, pr)) - routed * (1 - touched)
            compute = p.batch * float(F.forward_flops_per_token(a, p.context)) / (peak * LEGACY["decode_mfu"] * scale)
            out.append(p.batch / max(compute, (w + kv) / bw))
        else:
            compute = float(F.prefill_flops(a, p.context, p.batch)) / (peak * LEGACY["prefill_mfu"] * scale)
            out.append(max(compute, float(M.weight_bytes(a, pr)) / bw))
    return np.array(out)


def ratios(pts, pred) -> np.ndarray:
    """measured / predicted as a speed ratio (decode tokens/s; prefill 1/TTFT)."""
    meas = _arr(pts, "measured", float)
    dec = np.array([p.kind == "decode" for p in pts])
    return np.where(dec, meas / pred, pred / meas)


def within(r) -> np.ndarray:
    return np.abs(1 / np.asarray(r) - 1) <= TOL + 1e-12  # ours / reference within 25 %


# ---------------------------------------------------------------------------------------- fitting
@contextlib.contextmanager
def override(engine: str, values: dict):
    table = speed._engine_table()[engine]
    saved = dict(table)
    table.update(values)
    try:
        yield
    finally:
        table.clear()
        table.update(saved)


def loss(pts, values) -> float:
    with override(FIT_ENGINE, values):
        r = ratios(pts, predict(pts, engine_column=True))
    return float(np.mean(np.minimum(np.abs(np.log(r)), 0.5)))


def fit(pts, start: dict | None = None, passes: int = 2) -> dict:
    """Coordinate descent over FIT_GRID from the preset's current values."""
    vals = dict(start or {k: speed._engine_table()[FIT_ENGINE][k] for k in FIT_GRID})
    fit_pts = [p for p in pts if (p.engine or "llama.cpp") == FIT_ENGINE]
    if not fit_pts:
        return vals
    for _ in range(passes):
        for k, grid in FIT_GRID.items():
            best = min(grid, key=lambda x: (loss(fit_pts, {**vals, k: float(x)}), abs(x - vals[k])))
            vals[k] = float(best)
    return vals


def cross_validate(pts) -> dict:
    """Leave one source out: fit on the others, predict the held-out source with the refitted values."""
    sources = sorted({p.source for p in pts})
    held = np.full(len(pts), np.nan)
    per_source = {}
    for s in sources:
        train = [p for p in pts if p.source != s]
        test_idx = [i for i, p in enumerate(pts) if p.source == s]
        vals = fit(train, passes=2)
        with override(FIT_ENGINE, vals):
            pred = predict([pts[i] for i in test_idx])
        held[test_idx] = pred
        per_source[s] = vals
    return {"pred": held, "per_source": per_source}


def regime_table(pts, before, after, held=None) -> list[dict]:
    names = ["batch-1 decode", "batched decode", "TTFT / prefill", "multi-GPU", "consumer (GeForce)", "datacenter",
             "Apple", "all"]
    rows = []
    rb, ra = within(ratios(pts, before)), within(ratios(pts, after))
    rh = within(ratios(pts, held)) if held is not None else None
    for n in names:
        m = np.array([n == "all" or n in p.regimes for p in pts])
        if not m.any():
            rows.append({"regime": n, "n": 0})
            continue
        rows.append({"regime": n, "n": int(m.sum()), "before": int(rb[m].sum()), "after": int(ra[m].sum()),
                     "held": None if rh is None else int(rh[m].sum()),
                     "median_after": float(np.median(1 / ratios(pts, after)[m]))})
    return rows


def bands(pts, held) -> tuple[float, float]:
    r = ratios(pts, held)
    return float(np.percentile(r, 10)), float(np.percentile(r, 90))


def analyse(rows: list[dict], do_cv: bool = True) -> dict:
    pts, left = load_points(rows)
    before = predict_legacy(pts)
    after = predict(pts)
    cv = cross_validate(pts) if do_cv else None
    held = cv["pred"] if cv else None
    return {"points": pts, "left_out": left, "before": before, "after": after, "held": held, "cv": cv,
            "regimes": regime_table(pts, before, after, held),
            "bands": bands(pts, held) if held is not None else None}


def main(argv=None) -> int:
    import csv
    argv = sys.argv[1:] if argv is None else argv
    path = Path(__file__).resolve().parent / "references.csv"
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    res = analyse(rows, do_cv=True)
    for r in res["regimes"]:
        print(r)
    print("bands (p10, p90 of measured/predicted, held out):", res["bands"])
    for s, v in res["cv"]["per_source"].items():
        print("without", s, v)
    if "--fit" in argv:
        pts = res["points"]
        print("fit on all:", fit(pts))
    for p, b, a, h in zip(res["points"], res["before"], res["after"], res["held"]):
        ra = p.measured / a if p.kind == "decode" else a / p.measured
        print(f"{p.id:50s} {p.measured:10.4g} before {b:10.4g} after {a:10.4g} held {h:10.4g} meas/after {ra:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
