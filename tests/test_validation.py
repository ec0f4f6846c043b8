"""Scalesheet against published numbers (validation/references.csv): the targets we meet, and
docs/validation.md is exactly what validation/validate.py computes now (so it never goes stale).

Runs validate's computation only (about 0.3 s): no network, no Markdown written.
"""

import math

import pytest

from udfs.core import catalog
from validation import validate as V


@pytest.fixture(scope="module")
def res():
    return V.compute()


def _by_id(results):
    return {x.id: x for x in results}


def test_every_reference_row_is_evaluated_or_listed(res):
    assert res["unhandled"] == []
    shown = sum(len(res[k]) for k in ("train", "flops", "mfu", "files", "kv", "decode"))
    assert shown == res["references"]


def test_unverified_rows_never_count(res):
    for key in ("train", "flops", "mfu", "files", "kv", "decode"):
        for x in res[key]:
            if "UNVERIFIED" in V.load_references_by_id()[x.id]["notes"]:
                assert x.status == "unverified", x.id
    counted = [x for x in res["decode"] if x.status in ("pass", "miss")]
    assert all("d15013" not in x.id and "d4167" not in x.id for x in counted)
    assert all(x.status == "unverified" for x in res["decode"] if "d15013" in x.id or "d4167" in x.id)


def test_gguf_file_sizes_within_5pct_for_the_model_the_bits_per_weight_came_from(res):
    rows = [x for x in res["files"] if x.extra["bpw_source"]]
    assert len(rows) >= 10
    for x in rows:
        assert abs(x.ratio - 1) <= V.TOL_FILE, (x.id, x.ratio)


def test_gguf_file_sizes_other_models_mostly_within_5pct(res):
    n_pass, n = res["summary"]["files_all"]
    assert n >= 30 and n_pass >= n - 1  # Llama-2-70B Q2_K (mid-2023 mix) is the documented miss


def test_training_gpu_hours_within_15pct_at_one_mfu_per_paper_llama1_llama2(res):
    rows = [x for x in res["train"] if x.extra["group"].startswith(("LLaMA-1", "Llama 2"))]
    assert len(rows) == 7
    for x in rows:
        assert abs(x.ratio - 1) <= V.TOL_TRAIN, (x.id, x.ratio)
    mfus = {x.extra["group"]: x.extra["mfu"] for x in rows}
    assert len(mfus) == 2 and all(0.35 < m < 0.6 for m in mfus.values())


def test_excel_train_gpu_hours_equals_the_core_on_every_row(res):
    for x in res["train"]:
        assert x.extra["excel"] == pytest.approx(x.ours, rel=1e-9), x.id


def test_training_flops_within_15pct_where_the_paper_architecture_is_expressible(res):
    by = _by_id(res["flops"])
    for rid in ("tf-chinchilla-70b", "tf-gpt3-175b", "tf-gpt3-13b", "tf-gpt3-6.7b", "tf-palm-540b",
                "tf-llama-3.1-405b"):
        assert abs(by[rid].ratio - 1) <= V.TOL_TRAIN, (rid, by[rid].ratio)
    assert abs(by["tf-palm-540b"].ratio - 1) < 0.01  # same counting convention as the PaLM paper


def test_mfu_recomputed_from_stated_throughput(res):
    computed = [x for x in res["mfu"] if x.ours is not None]
    assert len(computed) >= 10
    for x in computed:
        assert abs(x.ratio - 1) <= V.TOL_MFU, (x.id, x.ratio)


def test_speed_points_within_25pct_through_the_excel_path_on_70pct(res):
    d = res["decode_summary"]
    n_pass, n = res["summary"]["speed_after"]
    assert n >= 80 and n_pass >= 0.7 * n
    held, _ = res["summary"]["speed_held"]
    assert held >= 0.7 * n  # sources the fit did not see
    before, _ = res["summary"]["speed_before"]
    assert n_pass > before  # the step model beats the old roofline on the same rows
    assert len(d["sources"]) >= 3


def test_counted_speed_rows_are_what_the_excel_functions_return(res):
    import udfs
    rows = V.load_references_by_id()
    for x in res["decode"]:
        if x.status not in ("pass", "miss") or x.extra.get("gpus", 1) != 1:
            continue
        r = rows[x.id]
        model = {"codellama-7b": "llama-2-7b"}.get(r["model"], r["model"])
        if x.kind == "decode_tokps":
            ctx = float(r["context"] or 0) + float(r["tokens"] or 1024) / 2
            got = udfs.LLM_DECODE_TOKPS(model, r["gpu"], r["precision"], ctx, 1, 1)
            assert got == pytest.approx(x.ours, rel=1e-9), x.id
        else:
            got = udfs.LLM_TTFT_S(model, r["gpu"], int(r["context"]), r["precision"], 1, 1)
            assert float(r["context"]) / got == pytest.approx(x.ours, rel=1e-9), x.id


def test_apple_batch1_decode_within_25pct_on_80pct(res):
    n_pass, n = res["summary"]["apple_b1"]
    assert n >= 8 and n_pass >= 0.8 * n


def test_llama_training_runs_within_15pct_at_the_default_mfu(res):
    n_pass, n = res["summary"]["train_default"]
    assert n == 7 and n_pass >= 5


def test_llama_cpp_preset_is_the_documented_fit_on_all_sources(res):
    d = res["decode_summary"]
    for k, v in d["fit_all"].items():
        assert d["preset"][k] == pytest.approx(v, abs=1e-9), k


def test_speed_bands_are_the_held_out_percentiles(res):
    lo, hi = res["decode_summary"]["bands"]
    assert lo < 1 < hi
    assert catalog.assumption("speed_band_low") == pytest.approx(lo, abs=0.006)
    assert catalog.assumption("speed_band_high") == pytest.approx(hi, abs=0.006)


def test_every_counted_speed_miss_is_explained(res):
    misses = [x for x in res["decode"] if x.status == "miss"]
    text = V.render(res)
    section = text[text.index("### Remaining large misses"):]
    for x in misses:
        assert x.id in section, x.id


def test_excel_eval_allows_only_arithmetic_and_scalesheet_functions():
    assert V.excel_eval('=LLM_WEIGHTS_GIB("llama-3-8b","bf16")*2^30/1E+9') == pytest.approx(16.06, rel=1e-3)
    assert V.excel_eval("=(2+2+4+8)/2") == 8
    for bad in ['=__import__("os")', "=x.y", '=open("f")', "=LLM_WEIGHTS_GIB.__class__"]:
        with pytest.raises((ValueError, SyntaxError)):
            V.excel_eval(bad)


def test_docs_validation_md_is_what_validate_py_generates_now(res):
    expected = V.render(res)
    current = V.DOC.read_text(encoding="utf-8") if V.DOC.exists() else ""
    assert current == expected, "docs/validation.md is stale: run .venv/bin/python validation/validate.py"
