"""Catalogs shipped as CSV data files: models, GPUs, precisions and assumptions.

Loaded once with ``importlib.resources`` (works in a wheel, a zip and Pyodide/xlwings Lite), validated on
load, cached. Look-ups are case-insensitive, accept aliases, are vectorised (an array of names gives
arrays of fields) and raise :class:`ScalesheetError` with the closest known names for an unknown one.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import re
from dataclasses import dataclass, fields
from importlib import resources

import numpy as np

from . import architecture
from .errors import ScalesheetError

COMPUTE_COLUMNS = ["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp6", "fp4"]
# Where a GPU lacks a precision's native tensor throughput, the kernels fall back to the next format:
# weight-only formats dequantize to fp16/bf16 (e.g. Marlin FP8/INT4 kernels on Ampere, vLLM docs,
# "Quantization: supported hardware"); TPUs run fp16 models in bf16; GPUs without tensor cores in fp32.
# FP4/FP6 (MXFP4, NVFP4, MXFP6) without FP4/FP6 tensor cores: weights are dequantized and multiplied in 16-bit,
# e.g. vLLM's Marlin FP4 path on Hopper/Ampere/Ada (vllm/model_executor/layers/quantization/utils/
# marlin_utils_fp4.py, 2025: "Your GPU does not have native support for FP4 computation but FP4 quantization is
# being used. Weight-only FP4 compression will be used leveraging the Marlin kernel"), also what gpt-oss MXFP4
# experts run as on H100 (vLLM issue reports, 2025-08). FP6 does not borrow the FP8 rate on GPUs without FP6: an
# FP8 GEMM needs FP8 operands, and no shipping kernel requantizes FP6 weights to FP8.
COMPUTE_FALLBACK = {
    "fp32": ["fp32"],
    "tf32": ["tf32", "fp32"],
    "fp16": ["fp16", "bf16", "fp32"],
    "bf16": ["bf16", "fp16", "fp32"],
    "fp8": ["fp8", "fp16", "bf16", "fp32"],
    "int8": ["int8", "fp16", "bf16", "fp32"],
    "int4": ["int4", "int8", "fp16", "bf16", "fp32"],
    "fp6": ["fp6", "fp16", "bf16", "fp32"],
    "fp4": ["fp4", "fp16", "bf16", "fp32"],
}


def compute_column(c: str) -> str:
    """The GPU catalog column holding the dense tensor rate of compute format ``c`` (TOPS for integers)."""
    return c + ("_tops" if c.startswith("int") else "_tflops")


def _read_csv(name: str) -> list[dict]:
    text = resources.files("udfs.core.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _keys(row: dict) -> list[str]:
    keys = [row["name"].strip().lower()]
    keys += [a.strip().lower() for a in (row.get("aliases") or "").split(";") if a.strip()]
    return keys


def _index(rows: list[dict], what: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, row in enumerate(rows):
        for key in _keys(row):
            if key in index and index[key] != i:
                raise RuntimeError(f"{what} catalog: name or alias {key!r} is used twice")
            index[key] = i
    return index


def _optional_float(value: str) -> float:
    value = (value or "").strip()
    return float(value) if value else float("nan")


def close_matches(word: str, possibilities: list[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """``difflib.get_close_matches(word, possibilities, n, cutoff)``, the same list, faster against a catalog's
    names: difflib only keeps a name whose ``quick_ratio`` (2 x the characters the two have in common, as
    multisets, over their total length) reaches ``cutoff``; that bound is computed here for every name at once
    with numpy, and difflib runs on the names that pass (about 3 of the 86 models for a typical unknown name).
    1,000 distinct unknown model names: 0.55 s -> 0.22 s."""
    alphabet, counts, lengths = _char_counts(tuple(possibilities))
    mine = np.zeros(counts.shape[1] + 1, dtype=np.int64)     # the last slot: characters no name holds
    for ch in word:
        mine[alphabet.get(ch, -1)] += 1
    common = np.minimum(counts, mine[:-1]).sum(axis=1)
    total = lengths + len(word)
    with np.errstate(invalid="ignore", divide="ignore"):
        bound = np.where(total > 0, 2.0 * common / total, 1.0)   # difflib's _calculate_ratio, operation for operation
    keep = [p for p, ok in zip(possibilities, (bound >= cutoff).tolist()) if ok]
    return difflib.get_close_matches(word, keep, n=n, cutoff=cutoff) if keep else []


@functools.lru_cache(maxsize=64)
def _char_counts(possibilities: tuple) -> tuple[dict, np.ndarray, np.ndarray]:
    """(character -> column, each possibility's count of each character, their lengths) for close_matches."""
    alphabet: dict = {}
    for p in possibilities:
        for ch in p:
            alphabet.setdefault(ch, len(alphabet))
    counts = np.zeros((len(possibilities), len(alphabet)), dtype=np.int64)
    for i, p in enumerate(possibilities):
        for ch in p:
            counts[i, alphabet[ch]] += 1
    return alphabet, counts, np.array([len(p) for p in possibilities], dtype=np.int64)


def unknown_name(argument: str, value, known: list[str], what: str) -> ScalesheetError:
    """Error for an unknown catalog name, suggesting the closest known ones."""
    text = str(value).strip()
    close = close_matches(text.lower(), known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; see the {what} sheet for the list"
    if not text:
        return ScalesheetError(argument, f"is blank; give a {what[:-1].lower()} name{hint}")
    return ScalesheetError(argument, f"'{text}' is not a known {what[:-1].lower()}{hint}")


class _Table:
    """Rows of one catalog with a case-insensitive name/alias index."""

    def __init__(self, rows: list[dict], what: str):
        self.rows = rows
        self.what = what
        self.index = _index(rows, what)
        self.names = [r["name"].strip() for r in rows]

    def position(self, value, argument: str) -> int:
        key = str(value).strip().lower() if value is not None else ""
        if key in self.index:
            return self.index[key]
        raise unknown_name(argument, value, self.names, self.what)

    def positions(self, values, argument: str) -> np.ndarray:
        """Row positions for an array of names: each distinct name is looked up once."""
        arr = np.asarray(values, dtype=object)
        uniques, codes = factorize(arr.ravel())
        rows = np.array([self.position(v, argument) for v in uniques], dtype=np.intp)
        return rows[codes].reshape(arr.shape)


def factorize(flat) -> tuple[list, np.ndarray]:
    """(distinct values in first-seen order, index of each element's value): one dict look-up per element."""
    index: dict = {}
    try:
        codes = np.fromiter((index.setdefault(v, len(index)) for v in flat), dtype=np.intp, count=len(flat))
    except TypeError:  # an unhashable element: fall back to its text
        index.clear()
        codes = np.fromiter((index.setdefault(repr(v), len(index)) for v in flat), dtype=np.intp, count=len(flat))
        return list(index), codes
    return list(index), codes



# ----------------------------------------------------------------------------------------- models
@functools.lru_cache(maxsize=None)
def model_table() -> _Table:
    return _Table(_read_csv("models.csv"), "Models")


@functools.lru_cache(maxsize=None)
def _model_arrays() -> architecture.Architecture:
    table = model_table()
    rows = [architecture.record_to_numbers(r, argument=f"models.csv row {r.get('name')}") for r in table.rows]
    arch = architecture.from_numbers(rows)
    from . import params
    params.param_breakdown(arch)  # computed once for the catalog; models() gathers it with the rows
    return arch


def models(names, argument: str = "model") -> architecture.Architecture:
    """Architectures for an array of preset names (same shape as ``names``)."""
    return _model_arrays().take(model_table().positions(names, argument))


def model_names() -> list[str]:
    return list(model_table().names)


def model_row(name: str, argument: str = "model") -> dict:
    t = model_table()
    return dict(t.rows[t.position(name, argument)])


# ------------------------------------------------------------------------------------------- GPUs
# gpus.csv conventions (each row also states its source and date):
#   *_tflops / *_tops: dense (no 2:4 sparsity) peak tensor rates per precision; fp16_tflops/bf16_tflops are the
#     FP32-accumulate rates (GeForce cards run these at half their FP16-accumulate rate); fp16_acc16_tflops is the
#     FP16-accumulate rate where it is higher (GeForce Turing/Ampere/Ada/Blackwell), blank elsewhere.
#   fp4_tflops / fp6_tflops: native FP4 / FP6 tensor rates (Blackwell, CDNA 4); blank = no native FP4/FP6.
#   interconnect_gb_s: per-GPU scale-up bandwidth in GB/s with both directions summed, as vendors print it
#     (NVLink 4 900 = 450 each way; PCIe Gen4 x16 64 = 32 each way); interconnect_kind: nvlink, xgmi (AMD
#     Infinity Fabric), ici (TPU), roce (Gaudi Ethernet), pcie (no GPU-to-GPU link: traffic crosses the host
#     link) or none (single-chip systems). A bridge-only NVLink (2 cards) is nvlink.
#   generation: hardware generation (ampere, hopper, blackwell, ada, cdna3, cdna4, apple-m3, tpu-v5e, ...).
#   cloud_usd_per_hour: on-demand; cloud_1y/3y_usd_per_hour: 1- and 3-year committed; spot_usd_per_hour: spot /
#     preemptible; USD per GPU-hour, each with its dated source; blank where no public source gives it.
GPU_NUMERIC = ["memory_gib", "bandwidth_gb_s", "tdp_w", "interconnect_gb_s", "price_usd", "cloud_usd_per_hour",
               "fp16_acc16_tflops", "cloud_1y_usd_per_hour", "cloud_3y_usd_per_hour", "spot_usd_per_hour"]
INTERCONNECT_KINDS = ("nvlink", "xgmi", "ici", "roce", "pcie", "none")


@dataclass(frozen=True)
class GPU:
    """GPU catalog fields as arrays; ``peak_tflops`` has one column per COMPUTE_COLUMNS entry, with the
    fallback of COMPUTE_FALLBACK already applied (NaN where the GPU has no usable throughput)."""

    name: np.ndarray
    memory_gib: np.ndarray
    bandwidth_gb_s: np.ndarray
    tdp_w: np.ndarray
    interconnect_gb_s: np.ndarray
    price_usd: np.ndarray
    cloud_usd_per_hour: np.ndarray
    fp16_acc16_tflops: np.ndarray
    cloud_1y_usd_per_hour: np.ndarray
    cloud_3y_usd_per_hour: np.ndarray
    spot_usd_per_hour: np.ndarray
    peak_tflops: np.ndarray  # shape (..., len(COMPUTE_COLUMNS))

    def take(self, index) -> "GPU":
        return GPU(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@functools.lru_cache(maxsize=None)
def gpu_table() -> _Table:
    table = _Table(_read_csv("gpus.csv"), "GPUs")
    for r in table.rows:
        for col in ["memory_gib", "bandwidth_gb_s"]:
            v = _optional_float(r.get(col, ""))
            if not v > 0:
                raise RuntimeError(f"gpus.csv row {r['name']}: {col} must be > 0")
        if (r.get("interconnect_kind") or "").strip() not in INTERCONNECT_KINDS:
            raise RuntimeError(f"gpus.csv row {r['name']}: interconnect_kind must be one of {INTERCONNECT_KINDS}")
    return table


def gpu_record_to_numbers(rec: dict, argument: str) -> dict:
    """Validate one GPU's fields (catalog row or user range)."""
    out = {"name": str(rec.get("name") or "custom")}
    for col in GPU_NUMERIC + [compute_column(c) for c in COMPUTE_COLUMNS]:
        v = rec.get(col)
        if v is None or (isinstance(v, str) and not v.strip()):
            out[col] = float("nan")
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ScalesheetError(argument, f"field {col} must be a number; got {v!r}")
        if isinstance(v, bool) or not np.isfinite(x) or x < 0:
            raise ScalesheetError(argument, f"field {col} must be a number >= 0; got {v!r}")
        out[col] = x
    for col in ["memory_gib", "bandwidth_gb_s"]:
        if not out[col] > 0:
            raise ScalesheetError(argument, f"field {col} is missing; a GPU range needs memory_gib (GiB) and "
                                            "bandwidth_gb_s (GB/s)")
    raw = {c: out[compute_column(c)] for c in COMPUTE_COLUMNS}
    out["peak_tflops"] = [next((raw[s] for s in COMPUTE_FALLBACK[c] if raw[s] > 0), float("nan"))
                          for c in COMPUTE_COLUMNS]
    return out


def gpus_from_numbers(rows: list[dict]) -> GPU:
    return GPU(
        name=np.array([r["name"] for r in rows], dtype=object),
        **{c: np.array([r[c] for r in rows], dtype=np.float64) for c in GPU_NUMERIC},
        peak_tflops=np.array([r["peak_tflops"] for r in rows], dtype=np.float64).reshape(len(rows), -1),
    )



@functools.lru_cache(maxsize=None)
def _gpu_arrays() -> GPU:
    t = gpu_table()
    return gpus_from_numbers([gpu_record_to_numbers(r, f"gpus.csv row {r['name']}") for r in t.rows])


def gpus(names, argument: str = "gpu") -> GPU:
    return _gpu_arrays().take(gpu_table().positions(names, argument))


_GPU_MAPPING_MEMO: dict = {}  # (catalog, argument, ((field, type, value), ...)) -> GPU; the last 512 mappings


def gpu_from_mapping(record: dict, argument: str = "gpu") -> GPU:
    """One GPU (0-d arrays) from a field -> value mapping such as a two-row Excel range; a mapping seen
    before (same fields, values and value types, same catalog) gives the same record again."""
    try:
        key = (gpu_table(), argument, tuple((k, type(v), v) for k, v in record.items()))
        hit = _GPU_MAPPING_MEMO.get(key)
    except TypeError:  # an unhashable value: validate it every time
        key = hit = None
    if hit is not None:
        return hit
    out = _gpu_from_mapping(record, argument)
    if key is not None:
        if len(_GPU_MAPPING_MEMO) >= 512:
            _GPU_MAPPING_MEMO.pop(next(iter(_GPU_MAPPING_MEMO)))
        _GPU_MAPPING_MEMO[key] = out
    return out


def _gpu_from_mapping(record: dict, argument: str) -> GPU:
    known = set(gpu_table().rows[0].keys()) if gpu_table().rows else set()
    clean = {}
    for k, v in record.items():
        if k is None or not str(k).strip():
            continue
        key = str(k).strip().lower()
        if known and key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ScalesheetError(argument, f"unknown GPU field '{k}'{hint}")
        clean[key] = v
    return gpus_from_numbers([gpu_record_to_numbers(clean, argument)]).take(0)


def gpu_names() -> list[str]:
    return list(gpu_table().names)


def gpu_row(name: str, argument: str = "gpu") -> dict:
    t = gpu_table()
    return dict(t.rows[t.position(name, argument)])


# ------------------------------------------------------------------------------------- precisions
@dataclass(frozen=True)
class Precision:
    """Storage and compute of a number format, as arrays.

    bits: effective bits per weight including scales/metadata; embed_bits: bits for embedding and output
    head matrices (16 where quantizers leave them unquantized); expert_bits: bits for routed-expert weights of
    a mixture-of-experts model (equal to ``bits`` for an ordinary format; different for a per-tensor-group
    format such as ``experts=mxfp4,rest=bf16``); compute: index into COMPUTE_COLUMNS; kv_ok: 1 where the
    format is a usable KV-cache element type.
    """

    name: np.ndarray
    bits: np.ndarray
    embed_bits: np.ndarray
    compute: np.ndarray
    kv_ok: np.ndarray
    expert_bits: np.ndarray

    def take(self, index) -> "Precision":
        return Precision(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


GROUP_KEYS = ("experts", "rest", "embed")
GROUP_HELP = ("a group spec is key=value pairs separated by commas, e.g. experts=mxfp4,rest=bf16 "
              "(keys: experts = routed-expert weights, rest = everything else (required; sets the compute "
              "format), embed = embeddings and output head (optional); values: a precision name or bits "
              "per weight)")


def _row_bits(r: dict) -> tuple[float, float, int, float]:
    """(bits, embed_bits, compute index, kv_ok) of one plain precisions.csv row."""
    bits = float(r["bits_per_weight"])
    embed = _optional_float(r.get("embed_bits", ""))
    return (bits, bits if np.isnan(embed) else embed, COMPUTE_COLUMNS.index(r["compute"].strip()),
            1.0 if (r.get("kv_ok") or "").strip().lower() in architecture.TRUE_WORDS else 0.0)


def _group_value(text: str, key: str, table: "_Table", argument: str, spec: str) -> tuple[float, float, int]:
    """(bits, embed_bits, compute index) of one value of a group spec: a plain precision name or bits."""
    x = _numeric_bits(text)
    if x is not None:
        if not (np.isfinite(x) and 1 <= x <= 64):
            raise ScalesheetError(argument, f"'{spec}': {key}={text} is out of range; use 1-64 bits per weight "
                                            "or a precision name")
        return x, x, COMPUTE_COLUMNS.index("fp16")
    key_text = text.lower()
    if key_text not in table.index:
        close = close_matches(key_text, table.names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see the Precisions sheet for the list"
        raise ScalesheetError(argument, f"'{spec}': {key}={text} is not a known precision{hint}")
    row = table.rows[table.index[key_text]]
    if (row.get("groups") or "").strip():
        raise ScalesheetError(argument, f"'{spec}': {key}={text} is itself a group preset; use a single format "
                                        "such as mxfp4, bf16 or 4.25")
    bits, embed, compute, _ = _row_bits(row)
    return bits, embed, compute


def parse_group_spec(spec: str, argument: str = "precision", table: "_Table | None" = None):
    """Parse ``experts=mxfp4,rest=bf16[,embed=bf16]`` into (canonical name, bits, embed_bits, compute index,
    kv_ok, expert_bits). ``rest`` sets the ordinary weights' bits and the compute format; ``experts`` the
    routed experts' bits (default: rest's bits); ``embed`` the embedding/head bits (default: rest's
    embed_bits, i.e. 16 for a weight-only format that leaves them unquantized). Not a KV-cache format."""
    table = table or precision_table()
    text = str(spec).strip()
    parts = [p.strip() for p in re.split(r"[,;]", text)]
    if not text or any(not p for p in parts):
        raise ScalesheetError(argument, f"'{text}' has an empty part; {GROUP_HELP}")
    got: dict[str, str] = {}
    for part in parts:
        if part.count("=") != 1:
            raise ScalesheetError(argument, f"'{text}': '{part}' is not key=value; {GROUP_HELP}")
        key, value = (s.strip() for s in part.split("="))
        key = key.lower()
        if key not in GROUP_KEYS:
            close = difflib.get_close_matches(key, GROUP_KEYS, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ScalesheetError(argument, f"'{text}': unknown key '{key}'{hint}; use experts, rest, embed")
        if key in got:
            raise ScalesheetError(argument, f"'{text}': key '{key}' is given twice")
        if not value:
            raise ScalesheetError(argument, f"'{text}': {key}= has no value; give a precision name or bits")
        got[key] = value
    if "rest" not in got:
        raise ScalesheetError(argument, f"'{text}' has no rest=...; add rest=bf16 (or the format of the other "
                                        "weights): it sets the compute format")
    rest = _group_value(got["rest"], "rest", table, argument, text)
    experts = _group_value(got["experts"], "experts", table, argument, text) if "experts" in got else rest
    embed = _group_value(got["embed"], "embed", table, argument, text)[0] if "embed" in got else rest[1]
    canon = ",".join(f"{k}={got[k].lower()}" for k in GROUP_KEYS if k in got)
    return canon, rest[0], embed, rest[2], 0.0, experts[0]


@functools.lru_cache(maxsize=None)
def precision_table() -> _Table:
    table = _Table(_read_csv("precisions.csv"), "Precisions")
    for r in table.rows:
        b = _optional_float(r.get("bits_per_weight", ""))
        if not 1 <= b <= 64:
            raise RuntimeError(f"precisions.csv row {r['name']}: bits_per_weight must be 1-64")
        if r.get("compute", "").strip() not in COMPUTE_COLUMNS:
            raise RuntimeError(f"precisions.csv row {r['name']}: compute must be one of {COMPUTE_COLUMNS}")
    for r in table.rows:  # a preset's written bits/embed_bits/compute must be what its group spec gives
        spec = (r.get("groups") or "").strip()
        if spec:
            _, bits, embed, compute, _, _ = parse_group_spec(spec, f"precisions.csv row {r['name']}", table)
            written = _row_bits(r)
            if (written[0], written[1], written[2]) != (bits, embed, compute) or written[3]:
                raise RuntimeError(f"precisions.csv row {r['name']}: bits_per_weight/embed_bits/compute/kv_ok "
                                   f"disagree with its groups '{spec}'")
    return table


def _table_record(p: int) -> tuple:
    """(name, bits, embed_bits, compute, kv_ok, expert_bits) of catalog row ``p``."""
    r = precision_table().rows[p]
    spec = (r.get("groups") or "").strip()
    if spec:
        rec = parse_group_spec(spec, f"precisions.csv row {r['name']}")
        return (r["name"].strip(),) + rec[1:]
    bits, embed, compute, kv_ok = _row_bits(r)
    return r["name"].strip(), bits, embed, compute, kv_ok, bits


@functools.lru_cache(maxsize=None)
def _precision_arrays() -> Precision:
    recs = [_table_record(p) for p in range(len(precision_table().rows))]
    return Precision(
        name=np.array([r[0] for r in recs], dtype=object),
        bits=np.array([r[1] for r in recs], dtype=np.float64),
        embed_bits=np.array([r[2] for r in recs], dtype=np.float64),
        compute=np.array([r[3] for r in recs], dtype=np.intp),
        kv_ok=np.array([r[4] for r in recs], dtype=np.float64),
        expert_bits=np.array([r[5] for r in recs], dtype=np.float64),
    )


def _numeric_bits(value) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def precisions(values, argument: str = "precision") -> Precision:
    """Precision records for an array of names, numbers of bits per weight (e.g. 4.5) or group specs.

    A number means a weight-only format of that many bits (scales included) computing in fp16. A group spec
    (``experts=mxfp4,rest=bf16``, see :func:`parse_group_spec`) gives routed experts their own bits. Each
    distinct value is parsed once.
    """
    arr = np.asarray(values, dtype=object)
    table, base = precision_table(), _precision_arrays()
    if arr.ndim == 0 and type(arr.item()) is str:  # one name or spec: parsed once per catalog
        key = (table, argument, arr.item())
        hit = _ONE_PRECISION.get(key)
        if hit is None:
            if len(_ONE_PRECISION) >= 512:
                _ONE_PRECISION.pop(next(iter(_ONE_PRECISION)))
            hit = _ONE_PRECISION[key] = _precisions(arr, argument, table, base)
        return hit
    return _precisions(arr, argument, table, base)


_ONE_PRECISION: dict = {}  # (catalog, argument, text) -> Precision of one cell


def _precisions(arr, argument, table, base) -> Precision:
    uniques, codes = factorize(arr.ravel())
    recs = []
    for v in uniques:
        x = _numeric_bits(v)
        if x is not None:
            if not (np.isfinite(x) and 1 <= x <= 64):
                raise ScalesheetError(argument, f"{v!r} bits is out of range; use a precision name "
                                                f"({', '.join(table.names[:8])}, …) or 1-64 bits per weight")
            recs.append((f"{x:g}-bit", x, x, COMPUTE_COLUMNS.index("fp16"), 1.0, x))
        elif isinstance(v, str) and "=" in v:
            recs.append(parse_group_spec(v, argument, table))
        else:
            p = table.position(v, argument)
            recs.append((base.name[p], base.bits[p], base.embed_bits[p], base.compute[p], base.kv_ok[p],
                         base.expert_bits[p]))
    shape = arr.shape

    def column(i, dtype):
        return np.array([r[i] for r in recs], dtype=dtype)[codes].reshape(shape)

    return Precision(column(0, object), column(1, np.float64), column(2, np.float64), column(3, np.intp),
                     column(4, np.float64), column(5, np.float64))


def precision_names() -> list[str]:
    return list(precision_table().names)


def kv_precisions(values, argument: str = "kv_precision") -> Precision:
    p = precisions(values, argument)
    if not np.all(p.kv_ok > 0):
        bad = np.asarray(p.name, dtype=object)[p.kv_ok <= 0].ravel()[0]
        ok = [r["name"] for r in precision_table().rows if r.get("kv_ok", "").strip().lower() in ("true", "1")]
        raise ScalesheetError(argument, f"'{bad}' is not a KV-cache format; use {', '.join(ok)} or a number of bits")
    return p


# ------------------------------------------------------------------------------------ assumptions
@functools.lru_cache(maxsize=None)
def assumption_rows() -> list[dict]:
    return _read_csv("assumptions.csv")


@functools.lru_cache(maxsize=None)
def _assumption_values() -> dict[str, float]:
    return {r["name"]: float(r["value"]) for r in assumption_rows()}


def assumption(name: str) -> float:
    """A documented default (assumptions.csv: value, unit and source)."""
    return _assumption_values()[name]
