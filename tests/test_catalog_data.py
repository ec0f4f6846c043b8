"""The GPU and precision catalogs as data: every row sourced, every column parses, the FP4/FP6 fallback, the
per-tensor-group precision specs, and datasheet figures checked against a second, independent derivation.

The second derivations (SM or CU count x per-clock rate x clock, rack total / GPUs, bus width x transfer rate)
come from the sources named in each row's notes; a catalog edit that breaks one of them fails here.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import udfs
from udfs.core import catalog, training
from udfs.core.errors import ScalesheetError

GPU_ROWS = list(csv.DictReader(io.StringIO(
    resources.files("udfs.core.data").joinpath("gpus.csv").read_text(encoding="utf-8"))))
PREC_ROWS = list(csv.DictReader(io.StringIO(
    resources.files("udfs.core.data").joinpath("precisions.csv").read_text(encoding="utf-8"))))
GPU = {r["name"]: r for r in GPU_ROWS}

# The columns the catalog had before the 2025-26 additions: none may disappear.
OLD_GPU_COLUMNS = ("name aliases display_name vendor architecture form_factor memory_gib memory_type bandwidth_gb_s "
                   "fp32_tflops tf32_tflops fp16_tflops bf16_tflops fp8_tflops int8_tops int4_tops tdp_w "
                   "interconnect_gb_s price_usd price_date price_source cloud_usd_per_hour cloud_price_date "
                   "cloud_price_source source notes").split()
NUMERIC = (["memory_gib", "bandwidth_gb_s", "tdp_w", "interconnect_gb_s", "price_usd", "cloud_usd_per_hour",
            "cloud_1y_usd_per_hour", "cloud_3y_usd_per_hour", "spot_usd_per_hour", "fp16_acc16_tflops"]
           + [catalog.compute_column(c) for c in catalog.COMPUTE_COLUMNS])
# A web page, a file in a named repository, or a named vendor document/event (datasheet, spec page, keynote).
SOURCE_LIKE = re.compile(r"[a-z0-9-]+\.(com|org|net|ai|cloud|eu|io|top|co|js|ts|pdf)\b|datasheet|whitepaper|newsroom|"
                         r"docs|spec page|hot chips|launch msrp|announcement|list price", re.I)
DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def num(row, col):
    v = (row.get(col) or "").strip()
    return float(v) if v else None


# ------------------------------------------------------------------------------------------- GPUs: shape
def test_old_columns_kept_and_new_columns_present():
    cols = list(GPU_ROWS[0])
    assert [c for c in OLD_GPU_COLUMNS if c not in cols] == []
    for c in ["generation", "fp4_tflops", "fp6_tflops", "fp16_acc16_tflops", "interconnect_kind",
              "cloud_1y_usd_per_hour", "cloud_3y_usd_per_hour", "spot_usd_per_hour", "cloud_price_as_of",
              "commit_spot_price_source"]:
        assert c in cols


def test_requested_accelerators_exist():
    names = set(catalog.gpu_names())
    for n in ["b300", "gb300", "mi350x", "mi355x", "h20", "rtx-pro-6000-blackwell", "rtx-pro-6000-blackwell-server",
              "tpu-v6e"]:
        assert n in names
    for chip in ["m1", "m2", "m3", "m4"]:
        for tier in ["pro", "max", "ultra"]:
            if (chip, tier) == ("m4", "ultra"):
                continue  # Apple has not made an M4 Ultra
            hits = [r for r in GPU_ROWS if r["generation"] == f"apple-{chip}" and f" {tier.title()} " in
                    r["display_name"] + " "]
            assert hits, f"no Apple {chip} {tier}"


@pytest.mark.parametrize("row", GPU_ROWS, ids=[r["name"] for r in GPU_ROWS])
def test_every_gpu_row_is_sourced_and_parses(row):
    assert SOURCE_LIKE.search(row["source"]), f"{row['name']}: source {row['source']!r} names no page or document"
    for col in NUMERIC:
        v = (row.get(col) or "").strip()
        if v:
            assert float(v) >= 0 and np.isfinite(float(v)), (row["name"], col, v)
    for price, date, source in [("price_usd", "price_date", "price_source"),
                                ("cloud_usd_per_hour", "cloud_price_date", "cloud_price_source")]:
        if num(row, price) is not None:
            assert DATE.match(row[date]) and SOURCE_LIKE.search(row[source]), (row["name"], price)
    if any(num(row, c) is not None for c in ["cloud_1y_usd_per_hour", "cloud_3y_usd_per_hour", "spot_usd_per_hour"]):
        assert DATE.match(row["cloud_price_as_of"]) and SOURCE_LIKE.search(row["commit_spot_price_source"]), row["name"]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", row["generation"]), row["generation"]
    assert row["interconnect_kind"] in catalog.INTERCONNECT_KINDS


@pytest.mark.parametrize("row", GPU_ROWS, ids=[r["name"] for r in GPU_ROWS])
def test_dense_rates_are_ordered_as_the_hardware_is(row):
    """Lower precision never runs slower on tensor units; FP16-accumulate only where it is faster."""
    fp4, fp6, fp8, fp16 = (num(row, c) for c in ["fp4_tflops", "fp6_tflops", "fp8_tflops", "fp16_tflops"])
    if fp4 is not None:
        assert fp8 is not None and fp4 >= fp8 >= fp16
    if fp6 is not None:
        assert fp4 is not None and fp4 >= fp6 >= fp8, "a GPU with native FP6 also has FP4 in every datasheet here"
    acc16 = num(row, "fp16_acc16_tflops")
    if acc16 is not None:
        assert acc16 > fp16 and row["vendor"] == "NVIDIA" and "Desktop" in row["form_factor"]


def test_interconnect_values_match_their_kind():
    for r in GPU_ROWS:
        v, kind = num(r, "interconnect_gb_s"), r["interconnect_kind"]
        if kind == "pcie":
            assert v is None or v in (32, 64, 128), r["name"]  # Gen3/Gen4 x16 (or Gen4 x8), Gen5 x16, both ways
        elif kind == "none":
            assert v is None and r["vendor"] == "Apple"
        elif kind == "nvlink":
            assert v >= 50, r["name"]
    assert GPU["h100-sxm"]["interconnect_kind"] == "nvlink" and num(GPU["h100-sxm"], "interconnect_gb_s") == 900
    assert GPU["mi355x"]["interconnect_kind"] == "xgmi" and GPU["tpu-v6e"]["interconnect_kind"] == "ici"
    assert GPU["rtx-4090"]["interconnect_kind"] == "pcie" and GPU["rtx-3090"]["interconnect_kind"] == "nvlink"


def test_fp16_acc16_is_twice_the_fp32_accumulate_rate_on_geforce():
    """Ada and Ampere whitepapers: GeForce FP16 tensor with FP32 accumulate runs at half the FP16-accumulate rate."""
    rows = [r for r in GPU_ROWS if num(r, "fp16_acc16_tflops") is not None]
    assert len(rows) >= 15
    for r in rows:
        assert num(r, "fp16_acc16_tflops") == pytest.approx(2 * num(r, "fp16_tflops"), rel=0.01), r["name"]
    for pro in ["rtx-a6000", "rtx-6000-ada", "rtx-pro-6000-blackwell", "l40s", "h100-sxm"]:
        assert num(GPU[pro], "fp16_acc16_tflops") is None, pro  # full-rate FP32 accumulate: nothing higher


# ------------------------------------------------------------------------ datasheet figures, second derivation
@pytest.mark.parametrize("name,column,cores,per_clock,ghz", [
    ("h100-sxm", "bf16_tflops", 132, 4096, 1.830),    # Hopper whitepaper: 132 SMs, 1,024 dense FP16 FMA/clk/SM
    ("mi355x", "fp8_tflops", 256, 8192, 2.4),         # ISSCC 2026: 8 XCDs x 32 CUs, 8,192 FP8 FLOP/clk/CU
    ("mi350x", "fp8_tflops", 256, 8192, 2.2),         # Hot Chips 2025: MI350X peak clock 2.2 GHz
    ("mi355x", "fp4_tflops", 256, 16384, 2.4),
    ("mi355x", "bf16_tflops", 256, 4096, 2.4),
    ("apple-m3-ultra", "fp32_tflops", 80, 256, 1.398),
])
def test_peak_equals_units_times_rate_times_clock(name, column, cores, per_clock, ghz):
    assert num(GPU[name], column) == pytest.approx(cores * per_clock * ghz / 1000, rel=0.002)


@pytest.mark.parametrize("name,column,total,gpus,sparse", [
    ("b300", "fp4_tflops", 108_000, 8, False),   # HGX B300: 108 PF dense FP4 per 8 GPUs
    ("b300", "bf16_tflops", 36_000, 8, True),    # 36 PF FP16/BF16 with sparsity
    ("b300", "fp6_tflops", 72_000, 8, True),     # FP8/FP6 72 PF with sparsity
    ("gb300", "fp4_tflops", 1_080_000, 72, False),
    ("gb300", "fp8_tflops", 720_000, 72, True),
    ("gb300", "bandwidth_gb_s", 576_000, 72, False),
    ("gb300", "interconnect_gb_s", 129_600, 72, False),  # 130 TB/s NVLink per rack (1.8 TB/s x 72)
    ("b200", "fp4_tflops", 144_000, 8, True),    # HGX B200: 144 PF FP4 with sparsity per 8 GPUs
])
def test_per_gpu_value_is_the_system_total_divided(name, column, total, gpus, sparse):
    assert num(GPU[name], column) == pytest.approx(total / gpus / (2 if sparse else 1), rel=0.005)


def test_tpu_v6e_is_google_s_4_7x_v5e():
    """Google's Trillium announcement (2024-05): 4.7x the peak compute per chip of v5e; 2x HBM and ICI."""
    v6e, v5e = GPU["tpu-v6e"], GPU["tpu-v5e"]
    assert num(v6e, "bf16_tflops") / num(v5e, "bf16_tflops") == pytest.approx(4.7, abs=0.05)
    assert num(v6e, "memory_gib") == 2 * num(v5e, "memory_gib")
    assert num(v6e, "interconnect_gb_s") == 2 * num(v5e, "interconnect_gb_s")
    assert num(v6e, "bandwidth_gb_s") == pytest.approx(2 * num(v5e, "bandwidth_gb_s"), rel=0.01)


@pytest.mark.parametrize("name,bus_bits,mt_s", [
    ("apple-m1-pro", 256, 6400), ("apple-m1-max", 512, 6400), ("apple-m1-ultra", 1024, 6400),
    ("apple-m2-pro", 256, 6400), ("apple-m2-max", 512, 6400), ("apple-m2-ultra", 1024, 6400),
    ("apple-m3-pro", 192, 6400), ("apple-m3-max-30c", 384, 6400), ("apple-m3-max", 512, 6400),
    ("apple-m3-ultra", 1024, 6400), ("apple-m4-pro", 256, 8533), ("apple-m4-max-32c", 384, 8533),
    ("apple-m4-max", 512, 8533),
])
def test_apple_bandwidth_is_bus_width_times_transfer_rate(name, bus_bits, mt_s):
    """Apple quotes rounded figures of LPDDR5(X) bus width x transfer rate (e.g. 512-bit x 8533 MT/s = 546 GB/s)."""
    assert num(GPU[name], "bandwidth_gb_s") == pytest.approx(bus_bits / 8 * mt_s / 1000, rel=0.03)


def test_apple_bandwidth_variants_are_distinct():
    assert num(GPU["apple-m3-max"], "bandwidth_gb_s") == 400 and num(GPU["apple-m3-max-30c"], "bandwidth_gb_s") == 300
    assert num(GPU["apple-m4-max"], "bandwidth_gb_s") == 546 and num(GPU["apple-m4-max-32c"], "bandwidth_gb_s") == 410
    apple = [r for r in GPU_ROWS if r["vendor"] == "Apple"]
    assert len({(r["generation"], num(r, "bandwidth_gb_s")) for r in apple}) >= 12
    # the same chip and GPU in another memory configuration: same bandwidth, different memory
    assert num(GPU["apple-m4-max-64gb"], "bandwidth_gb_s") == num(GPU["apple-m4-max"], "bandwidth_gb_s")
    assert num(GPU["apple-m4-max-64gb"], "memory_gib") == 64 != num(GPU["apple-m4-max"], "memory_gib")
    g = catalog.gpus(["m4-max-36gb", "apple-m4-max-40c", "m3-ultra-256gb"])
    assert list(g.bandwidth_gb_s) == [410, 546, 819] and list(g.memory_gib) == [36, 128, 256]


# ---------------------------------------------------------------------------------------- FP4/FP6 fallback
def peak(gpu, precision):
    return float(training.peak_flops(catalog.gpus([gpu]), catalog.precisions([precision]))[0]) / 1e12


def test_fp4_formats_use_fp4_units_where_native_and_16_bit_elsewhere():
    assert peak("b200", "mxfp4") == 9000 and peak("b200", "nvfp4") == 9000
    assert peak("mi355x", "mxfp4") == pytest.approx(10066.3) and peak("mi355x", "mxfp6") == pytest.approx(10066.3)
    assert peak("b300", "mxfp6") == 4500
    for gpu in ["h100-sxm", "a100-sxm-80gb", "rtx-4090", "mi300x"]:  # no FP4/FP6 units: Marlin-style dequantization
        assert peak(gpu, "mxfp4") == peak(gpu, "fp16") == peak(gpu, "mxfp6")
    assert peak("tpu-v6e", "nvfp4") == 918  # no fp16 column on TPUs: bf16
    custom = catalog.gpu_from_mapping({"name": "x", "memory_gib": 24, "bandwidth_gb_s": 900, "bf16_tflops": 100})
    assert float(training.peak_flops(custom, catalog.precisions("mxfp4"))) == 100e12
    assert catalog.COMPUTE_FALLBACK["fp4"][0] == "fp4" and "fp8" not in catalog.COMPUTE_FALLBACK["fp4"]


# --------------------------------------------------------------------------------------- number formats
@pytest.mark.parametrize("name,bits,compute,source", [
    ("mxfp4", 4 + 8 / 32, "fp4", "opencompute.org"),
    ("nvfp4", 4 + 8 / 16, "fp4", "nvidia.com"),
    ("mxfp6", 6 + 8 / 32, "fp6", "opencompute.org"),
    ("mxfp8", 8 + 8 / 32, "fp8", "opencompute.org"),
    ("fp8_block", 8 + 32 / (128 * 128), "fp8", "2412.19437"),
    ("int4_g32", 4 + 16 / 32, "fp16", "Kimi-K2.5"),
])
def test_block_format_bits_from_their_layout(name, bits, compute, source):
    p = catalog.precisions([name])
    assert p.bits[0] == bits and p.expert_bits[0] == bits and p.embed_bits[0] == 16
    assert catalog.COMPUTE_COLUMNS[p.compute[0]] == compute and p.kv_ok[0] == 0
    row = next(r for r in PREC_ROWS if r["name"] == name)
    assert source in row["source"]


def test_every_precision_row_sourced():
    for r in PREC_ROWS:
        assert SOURCE_LIKE.search(r["source"]) or "arxiv" in r["source"], r["name"]


# ------------------------------------------------------------------------------------ per-tensor-group specs
def test_group_spec_fields():
    p = catalog.precisions(np.array([["experts=mxfp4,rest=bf16", "gpt-oss-style"],
                                     [" Experts = NVFP4 ; Rest = FP8 ; Embed = 8 ", "experts=4.25,rest=int4"]],
                                    dtype=object))
    assert p.bits.shape == (2, 2)
    assert list(p.bits.ravel()) == [16, 16, 8, catalog.precisions("int4").bits]
    assert list(p.expert_bits.ravel()) == [4.25, 4.25, 4.5, 4.25]
    assert list(p.embed_bits.ravel()) == [16, 16, 8, 16]  # rest=int4 keeps int4's 16-bit embeddings
    assert [catalog.COMPUTE_COLUMNS[i] for i in p.compute.ravel()] == ["bf16", "bf16", "fp8", "fp16"]
    assert list(p.name.ravel()) == ["experts=mxfp4,rest=bf16", "gpt-oss-style", "experts=nvfp4,rest=fp8,embed=8",
                                    "experts=4.25,rest=int4"]
    assert not np.any(p.kv_ok)


def test_preset_equals_its_spec_and_plain_formats_have_expert_bits_equal_bits():
    a, b = catalog.precisions("gpt-oss-style"), catalog.precisions("experts=mxfp4,rest=bf16")
    for f in ["bits", "embed_bits", "compute", "kv_ok", "expert_bits"]:
        assert getattr(a, f) == getattr(b, f), f
    plain = catalog.precisions(catalog.precision_names() + [4.5, "7"])
    groups = np.array([bool((r.get("groups") or "").strip()) for r in PREC_ROWS] + [False, False])
    assert np.array_equal(plain.expert_bits[~groups], plain.bits[~groups])
    for r in PREC_ROWS:  # the written bits of a preset row are those its groups give
        if (r.get("groups") or "").strip():
            spec = catalog.precisions(r["groups"])
            assert float(r["bits_per_weight"]) == spec.bits and catalog.COMPUTE_COLUMNS[spec.compute] == r["compute"]


def test_canonical_name_parses_back_to_itself():
    for spec in ["rest=bf16", "experts=q4_0,rest=fp16", "embed=fp32,rest=8.5,experts=2.5", "REST=BF16;EXPERTS=MXFP4"]:
        p = catalog.precisions(spec)
        again = catalog.precisions(str(p.name))
        assert (str(again.name), again.bits, again.expert_bits, again.embed_bits) == \
               (str(p.name), p.bits, p.expert_bits, p.embed_bits)


def test_distinct_specs_are_parsed_once(monkeypatch):
    calls = []
    real = catalog.parse_group_spec
    monkeypatch.setattr(catalog, "parse_group_spec", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    values = np.array(["experts=mxfp4,rest=bf16", "bf16", "experts=mxfp4,rest=bf16"] * 1000, dtype=object)
    p = catalog.precisions(values)
    assert p.bits.shape == (3000,) and calls == ["experts=mxfp4,rest=bf16"]


@pytest.mark.parametrize("spec,words", [
    ("experts=mxfp4", "no rest="),
    ("rest=bf16,rest=fp8", "given twice"),
    ("exprts=mxfp4,rest=bf16", "did you mean experts"),
    ("experts=mxfp9,rest=bf16", "not a known precision"),
    ("experts=gpt-oss-style,rest=bf16", "group preset"),
    ("rest=", "has no value"),
    ("experts=mxfp4,,rest=bf16", "empty part"),
    ("rest=bf16=fp8", "not key=value"),
    ("rest=100", "out of range"),
    ("experts=0.5,rest=bf16", "out of range"),
    ("=bf16", "unknown key"),
])
def test_malformed_group_specs_name_the_argument(spec, words):
    with pytest.raises(ScalesheetError) as e:
        catalog.precisions([spec], argument="precision")
    assert e.value.argument == "precision" and words in e.value.message
    with pytest.raises(ScalesheetError) as e:
        catalog.kv_precisions(["experts=mxfp4,rest=bf16"])
    assert e.value.argument == "kv_precision"


def test_group_specs_through_the_excel_functions():
    ok = udfs.LLM_WEIGHTS_GIB("llama-3-8b", "experts=mxfp4,rest=bf16")
    assert ok == pytest.approx(udfs.LLM_WEIGHTS_GIB("llama-3-8b", "bf16"))  # a dense model has no routed experts
    bad = udfs.LLM_WEIGHTS_GIB("llama-3-8b", "experts=mxfp4")
    assert isinstance(bad, str) and bad.startswith("#precision:") and "rest=" in bad
    assert udfs.LLM_KV_CACHE_GIB("llama-3-8b", 4096, 1, "gpt-oss-style").startswith("#kv_precision:")


# --------------------------------------------------------------------------------------------- GPU_SPEC
def test_gpu_spec_reads_the_new_columns():
    assert udfs.GPU_SPEC("b300", "fp4_tflops") == 13500
    assert udfs.GPU_SPEC("rtx-4090", "fp16_acc16_tflops") == 330.3
    assert udfs.GPU_SPEC("h100", "interconnect_kind") == "nvlink"
    assert udfs.GPU_SPEC("mi355x", "generation") == "cdna4"
    assert udfs.GPU_SPEC("h100-sxm", "spot_usd_per_hour") == 6.571
    assert udfs.GPU_SPEC("h100", "fp4_tflops").startswith("#field:")
    assert udfs.GPU_SPEC("h100", "fp5_tflops").startswith("#field:")
    out = udfs.GPU_SPEC([["apple-m4-max"], ["apple-m4-max-32c"]], "bandwidth_gb_s")
    assert [r[0] for r in out] == [546, 410]


@pytest.mark.parametrize("config,published_gib", [
    ("openai__gpt-oss-120b.json", 60.8),  # gpt-oss model card (arXiv:2508.10925, 2025-08): checkpoint sizes
    ("openai__gpt-oss-20b.json", 12.8),
])
def test_gpt_oss_style_gives_the_published_checkpoint_size(config, published_gib):
    """MXFP4 routed experts (4.25 bits) + bf16 for the rest reproduce the released checkpoints within 0.5 %; the
    small remainder is the experts' biases, which ship in bf16 but are counted with the experts here."""
    from pathlib import Path

    from udfs.core import hf_config, memory
    path = Path(__file__).parent / "data" / "hf_configs" / config
    a = hf_config.architecture_from_config(hf_config.load_config(path))
    gib = float(memory.weight_bytes(a, catalog.precisions("gpt-oss-style"))) / 2**30
    assert gib == pytest.approx(published_gib, rel=0.005)
    bf16 = float(memory.weight_bytes(a, catalog.precisions("bf16"))) / 2**30
    assert bf16 > 3 * gib  # without per-group precision the answer would be 3.4x too big


# ------------------------------------------------------------------------------ catalog validation on load
@pytest.fixture
def edited_csv(monkeypatch):
    """Load a catalog from edited rows, then restore the shipped one."""
    real = catalog._read_csv
    caches = [catalog.gpu_table, catalog._gpu_arrays, catalog.precision_table, catalog._precision_arrays]

    def use(name, rows):
        monkeypatch.setattr(catalog, "_read_csv", lambda n: [dict(r) for r in rows] if n == name else real(n))
        for c in caches:
            c.cache_clear()
    yield use
    monkeypatch.setattr(catalog, "_read_csv", real)
    for c in caches:
        c.cache_clear()


def test_unknown_interconnect_kind_is_refused_on_load(edited_csv):
    edited_csv("gpus.csv", [dict(GPU_ROWS[0], interconnect_kind="infiniband")])
    with pytest.raises(RuntimeError, match="interconnect_kind"):
        catalog.gpu_table()


def test_preset_whose_written_bits_disagree_with_its_groups_is_refused(edited_csv):
    preset = next(r for r in PREC_ROWS if r["name"] == "gpt-oss-style")
    edited_csv("precisions.csv", PREC_ROWS + [dict(preset, name="bad-style", aliases="", groups="experts=mxfp4,rest=fp8")])
    with pytest.raises(RuntimeError, match="bad-style"):
        catalog.precision_table()


def test_kimi_k2_style_matches_the_released_quantization_config():
    """Kimi-K2.5 ships compressed-tensors int4, group 32, symmetric (no zero point), with attention, shared experts
    and dense MLPs ignored: the preset is experts=int4_g32 (4 + 16/32 bits, bf16 scale), rest=bf16."""
    import json
    from pathlib import Path
    cfg = json.loads((Path(__file__).parent / "data" / "hf_configs" / "moonshotai__Kimi-K2.5.json").read_text())
    q = cfg.get("quantization_config") or cfg["text_config"]["quantization_config"]
    w = q["config_groups"]["group_0"]["weights"]
    assert (w["type"], w["symmetric"], w["strategy"]) == ("int", True, "group")
    scale_bits = 16  # one bf16 scale per group; symmetric, so no zero point
    p = catalog.precisions("kimi-k2-style")
    assert p.expert_bits == w["num_bits"] + scale_bits / w["group_size"] == catalog.precisions("int4_g32").bits
    assert p.bits == 16 and p.embed_bits == 16
    assert any("self_attn" in i for i in q["ignore"]) and any("shared_experts" in i for i in q["ignore"])
    assert "lm_head" in q["ignore"]


_CATALOG_NAMES = [catalog.model_names(), catalog.gpu_names(), catalog.precision_names()]
_word = st.text(alphabet=st.sampled_from(list("abcdeilmnoprstx0123456789-._ ") + ["é", "Ω"]), max_size=16)


@given(st.one_of(_word, st.sampled_from([n for names in _CATALOG_NAMES for n in names]).map(lambda w: w[:-1])),
       st.one_of(st.sampled_from(_CATALOG_NAMES), st.lists(_word, max_size=30)),
       st.sampled_from([0.0, 0.3, 0.5, 0.6, 0.8, 1.0]), st.integers(1, 4))
@settings(max_examples=400, deadline=None)
def test_close_matches_is_difflib(word, possibilities, cutoff, n):
    """The suggestions for an unknown name are difflib.get_close_matches's, list for list (its quick_ratio bound
    is computed for every name at once, then difflib runs on the names that pass)."""
    assert catalog.close_matches(word, possibilities, n, cutoff) == difflib.get_close_matches(word, possibilities, n,
                                                                                              cutoff)
