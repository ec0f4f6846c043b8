"""The core's memos and single-value shortcuts answer exactly as the work they skip (issue 14: the template's
recalculation calls the same functions with the same ranges again and again)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from udfs.core import api, architecture, catalog, economics, speed, validate as V
from udfs.core.errors import ScalesheetError

MODEL = {"name": "mine", "n_layers": 32.0, "d_model": 4096.0, "n_heads": 32.0, "vocab_size": 32000.0,
         "n_kv_heads": 8.0, "d_ff": 14336.0, "tied_embeddings": 0.0}


def assert_same_fields(a, b):
    """Every field equal (NaN equals NaN: a blank figure)."""
    np.testing.assert_equal({k: np.asarray(v) for k, v in vars(a).items() if k != "cache"},
                            {k: np.asarray(v) for k, v in vars(b).items() if k != "cache"})


def test_a_model_range_seen_again_gives_the_same_record():
    architecture._MAPPING_MEMO.clear()
    first = architecture.from_mapping(dict(MODEL))
    assert architecture.from_mapping(dict(MODEL)) is first
    fresh = architecture.from_numbers([architecture.record_to_numbers(dict(MODEL))]).take(0)
    assert_same_fields(first, fresh)
    other = architecture.from_mapping(dict(MODEL, n_layers=40.0))
    assert other is not first and float(other.n_layers) == 40.0


def test_a_model_range_is_keyed_by_value_types_and_bad_ranges_are_refused_every_time():
    architecture._MAPPING_MEMO.clear()
    as_float = architecture.from_mapping(dict(MODEL, tied_embeddings=1.0))
    try:
        as_bool = architecture.from_mapping(dict(MODEL, tied_embeddings=True))
    except ScalesheetError:
        as_bool = None
    assert as_bool is not as_float  # True == 1.0 as a dict key, so the type is part of the key
    bad = dict(MODEL, n_layrs=3.0)
    for _ in range(2):
        with pytest.raises(ScalesheetError, match="n_layrs"):
            architecture.from_mapping(bad)
    unhashable = dict(MODEL, name=["x"])  # validated every time, never remembered
    n = len(architecture._MAPPING_MEMO)
    try:
        architecture.from_mapping(unhashable)
    except ScalesheetError:
        pass
    assert len(architecture._MAPPING_MEMO) == n


def test_a_gpu_range_seen_again_gives_the_same_record_and_follows_the_catalog():
    catalog._GPU_MAPPING_MEMO.clear()
    rec = {"name": "mycard", "memory_gib": 48.0, "bandwidth_gb_s": 960.0, "fp16_tflops": 180.0}
    first = catalog.gpu_from_mapping(dict(rec))
    assert catalog.gpu_from_mapping(dict(rec)) is first
    assert_same_fields(first, catalog._gpu_from_mapping(dict(rec), "gpu"))
    with pytest.raises(ScalesheetError, match="memry_gib"):
        catalog.gpu_from_mapping(dict(rec, memry_gib=1.0))


@settings(max_examples=300, deadline=None)
@given(x=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6)),
       rule=st.sampled_from([V.MONEY, V.GPUS, V.CONTEXT, V.POSITIVE_TOKENS, V.PERCENTILE, V.CALIBRATION,
                             V.Rule("x", minimum=0, min_inclusive=False, maximum=10, integer=True)]))
def test_one_number_is_checked_as_an_array_of_it(x, rule):
    """require's single-number shortcut accepts and refuses exactly what the array test does."""
    def outcome(value):
        try:
            return ("ok", float(np.asarray(V.require(value, "arg", rule)).ravel()[0]))
        except ScalesheetError as exc:
            return ("error", str(exc))
    got, want = outcome(x), outcome(np.array([x, x]))  # two elements take the array test
    assert outcome(np.array([[x]], dtype=np.float64)) == want  # a 1x1 range: the one-element shortcut
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1] == want[1] or (math.isnan(got[1]) and math.isnan(want[1]))
    else:
        assert got[1] == want[1]


def test_finance_defaults_are_the_catalog_rows():
    rows = economics.finance_rows()
    assert rows
    for row in rows:
        assert economics.finance_default(row["name"]) == float(row["value"])
    with pytest.raises(KeyError):
        economics.finance_default("no_such_default")


@pytest.mark.parametrize("gpu", ["h100-sxm", "rtx-4090", "apple-m2-ultra", "mi300x", "l4", "tpu-v5e"])
@pytest.mark.parametrize("precision", ["bf16", "fp8", "q4_k_m", "int4", "fp32"])
@pytest.mark.parametrize("engine", [None, "vllm", "llama.cpp"])
def test_engine_fields_of_one_cell_equal_those_of_an_array_of_cells(gpu, precision, engine):
    """The single-cell path of engine_params / gpu_flags gives what the array path gives for that cell."""
    g1, p1 = catalog.gpus(gpu), catalog.precisions(precision)
    g3, p3 = catalog.gpus([gpu, "h100-sxm", gpu]), catalog.precisions([precision, precision, "bf16"])
    one = speed.engine_params(engine, g1, p1)
    many = speed.engine_params(engine, g3, p3)
    # a 1x1 range (Excel's shape for one cell) takes the one-value shortcuts of the array path
    g11, p11 = catalog.gpus([[gpu]]), catalog.precisions([[precision]])
    e11 = None if engine is None else np.array([[engine]], dtype=object)
    square = speed.engine_params(e11, g11, p11)
    for k, v in one.items():
        for f, x in (v.items() if k == "flags" else [(k, v)]):
            y = square[k][f] if k == "flags" else square[k]
            assert np.shape(y) == (1, 1) and np.asarray(x).dtype == np.asarray(y).dtype, f
            np.testing.assert_equal(np.asarray(x), np.asarray(y)[0, 0], err_msg=f)
    for k, v in one.items():
        for f, x in (v.items() if k == "flags" else [(k, v)]):
            y = many[k][f] if k == "flags" else many[k]
            assert np.asarray(x).shape == () and np.asarray(x).dtype == np.asarray(y).dtype, f
            np.testing.assert_equal(np.asarray(x), np.asarray(y)[0], err_msg=f)
    try:
        peak = speed._compute_peak(g1, p1, one)
    except ScalesheetError:  # no catalogued rate (a TPU in fp32): the array says the same
        with pytest.raises(ScalesheetError):
            speed._compute_peak(g3, p3, many)
        return
    assert peak == speed._compute_peak(g3, p3, many)[0]


def test_fleet_pv_of_one_cell_equals_that_cell_of_an_array():
    args = [1e9, 0.05, 3.0, 36.0, 2000.0, 2.0, 1.0, 30000.0, 500.0, 200.0, 2.0, 0.08]
    one = api.fleet_pv(*args, 3.0, 0.1, 5.0)
    many = api.fleet_pv(*args[:4], [1000.0, 2000.0], *args[5:], 3.0, 0.1, 5.0)
    assert np.shape(one) == () and float(one) == float(many[1])
    mix = api.cheapest_mix(*args)
    mixes = api.cheapest_mix(*args[:4], [2000.0, 1000.0], *args[5:])
    assert np.shape(mix) == () and float(mix) == float(mixes[0])


@pytest.mark.parametrize("engine", ["vllm", "sglang", "tensorrt-llm", "llama.cpp", "mlx", "transformers", "auto"])
@pytest.mark.parametrize("gpu", ["h100-sxm", "rtx-4090", "apple-m2-ultra", "apple-m4-max", "mi300x"])
def test_engine_gpu_rules_of_one_cell_equal_those_of_an_array(engine, gpu):
    def outcome(e, g):
        try:
            speed.check_engine_for_gpu(e, g)
            return None
        except ScalesheetError as exc:
            return str(exc)
    one = outcome(engine, catalog.gpus(gpu))
    assert one == outcome(np.array([engine], dtype=object), catalog.gpus([gpu]))
    assert (one is None) == (("apple" in gpu) == (engine in ("llama.cpp", "mlx", "transformers", "auto"))
                             or engine in ("llama.cpp", "transformers", "auto"))


@pytest.mark.parametrize("value", ["bf16", "BF16", " fp8 ", "q4_k_m", "4.5", "experts=mxfp4,rest=bf16", "gpt-oss-style"])
def test_one_precision_name_equals_that_cell_of_an_array_and_is_parsed_once(value):
    one = catalog.precisions(value)
    assert catalog.precisions(value) is one
    many = catalog.precisions(np.array([value, "fp16"], dtype=object))
    for f in ("name", "bits", "embed_bits", "compute", "kv_ok", "expert_bits"):
        x, y = np.asarray(getattr(one, f)), np.asarray(getattr(many, f))
        assert x.shape == () and x.dtype == y.dtype and x.item() == y.tolist()[0], f


def test_a_bad_precision_name_is_refused_every_time():
    for _ in range(2):
        with pytest.raises(ScalesheetError, match="precision"):
            catalog.precisions("bf17")


@pytest.mark.parametrize("gpu", ["h100-sxm", "rtx-4090", "apple-m2-ultra", "tpu-v5e", "t4", "mi300x"])
def test_peak_flops_of_one_cell_equals_that_cell_of_an_array(gpu):
    from udfs.core import training
    for name in catalog.precision_names():
        one_g, one_p = catalog.gpus(gpu), catalog.precisions(name)
        many_g, many_p = catalog.gpus([gpu, gpu]), catalog.precisions([name, name])
        try:
            one = training.peak_flops(one_g, one_p)
        except ScalesheetError as exc:
            with pytest.raises(ScalesheetError, match=str(exc).split(": ", 1)[-1][:30]):
                training.peak_flops(many_g, many_p)
            continue
        assert np.shape(one) == () and one == training.peak_flops(many_g, many_p)[0]


@pytest.mark.parametrize("band", [None, "low", "base", "high", " LOW ", ""])
@pytest.mark.parametrize("kind", ["time", "speed"])
@pytest.mark.parametrize("calibration", [None, 1.3])
def test_speed_factor_of_one_cell_equals_that_cell_of_an_array(band, kind, calibration):
    one = api._speed_factor(calibration, band, kind)
    many = api._speed_factor(calibration, None if band is None else np.array([band, "base"], dtype=object), kind)
    if many is None:
        assert one is None
        return
    assert np.shape(one) == () and float(one) == float(np.asarray(many).ravel()[0])


@pytest.mark.parametrize("engine", ["vllm", "VLLM", "llama.cpp", "sglang", "", "auto", "mlx"])
def test_engine_names_of_one_cell_equal_that_cell_of_an_array(engine):
    one = api._engine(engine)
    many = api._engine(np.array([engine, "vllm"], dtype=object))
    assert isinstance(one, np.ndarray) and one.shape == () and one.dtype == object and one.item() == many[0]
    with pytest.raises(ScalesheetError, match="engine"):
        api._engine("vlm")
