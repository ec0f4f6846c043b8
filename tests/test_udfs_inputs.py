"""Every Excel function against every shape xlwings passes and every kind of bad input.

A cell is right when it is a finite number (a bool for LLM_FITS, catalog text for GPU_SPEC) for good input
and text starting with '#argument:' for bad input: never an exception, a NaN/inf or a silent number.
Array calls must give exactly the element-wise scalar results.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import udfs
from udfs.core import catalog

FUNCTIONS = {name: getattr(udfs, name) for name in udfs.__all__}
TRAINING = {"LLM_TRAIN_VRAM_GIB", "LLM_TRAIN_GPU_HOURS", "LLM_TRAIN_COST"}

# Five valid values per argument; the first is the base used when another argument is under test.
VALID = {
    "model": ["llama-3-8b", "mixtral-8x7b", "LLAMA-3-70B", "mistral-7b", "qwen2.5-0.5b"],
    "gpu": ["h100-sxm", "rtx-4090", "A100-SXM-80GB", "mi300x", "l40s"],
    "precision": ["int4", "bf16", "fp8", "q4_k_m", 4.5],
    "kv_precision": ["fp16", "fp8", "int8", "q8_0", 8],
    "state_precision": ["fp32", "fp16", "bf16", "fp8", 16],
    "context": [4096, 0, 1024, 32768, 8192.0],
    "batch": [1, 8, 2, 32, 4],
    "gpus": [1, 2, 8, 4, 1],
    "seq_len": [2048, 4096, 1024, 8192, 512],
    "micro_batch": [1, 2, 4, 1, 8],
    "zero_stage": [0, 1, 2, 3, 0],
    "checkpointing": ["none", "selective", "Full", True, False],
    "tensor_parallel": [1, 1, 2, 4, 1],
    "pipeline_parallel": [1, 2, 2, 1, 1],
    "tokens": [1e12, 2e12, 15e12, 1e9, 0],
    "prompt_tokens": [512, 1, 4096, 128, 2048],
    "output_tokens": [256, 0, 1024, 1, 64],
    "params": [7e9, 70e9, 1e9, 405e9, 1.5e9],
    "price_per_gpu_hour": [2.5, 0, 3.49, 1.2, 10],
    "mfu": [0.4, 0.5, 1, 0.3, 0.05],
    "field": ["memory_gib", "bandwidth_gb_s", "Bf16_TFLOPS", "display_name", "tdp_w"],
    "gain": [150, -50, 0, 1e6, 100],
    "cost": [100, 1, 50, 1e6, 0.5],
    "investment": [1000, 0, 50, 1e6, 10],
    "monthly_net_gain": [100, 1, 50, 1e5, 0.5],
    "purchase_price": [30000, 0, 1000, 250000, 5000],
    "cloud_price_per_hour": [3.49, 2, 10, 1, 0.5],
    "power_kw": [0.7, 0, 1, 0.3, 0],
    "energy_price_per_kwh": [0.15, 0, 0.3, 0.1, 1],
    "lifetime_years": [5, 3, 100, 40, 10],
    "required_gib": [119.6, 10, 0, 500, 70.5],  # LLM_CHEAPEST_GPU (udfs.planning, beyond the contract)
    "price_field": ["price_usd", "cloud_usd_per_hour", "PRICE_USD", "price_usd", "cloud_usd_per_hour"],
    # serving, engines, bands, calibration (issue 13)
    "engine": ["vllm", "llama.cpp", "SGLang", "tensorrt-llm", "transformers"],
    "band": ["base", "low", "HIGH", "high", "Low"],
    "calibration": [1, 0.8, 1.25, 2, 0.5],
    "concurrency": [8, 1, 64, 256, 2],
    "per_user": [False, True, "true", False, True],
    "requests_per_s": [0.5, 0, 2, 0.1, 1],
    "replicas": [1, 2, 4, 1, 8],
    "percentile": [0.95, 0.5, 0.99, 0.9, 0.999],
    "ttft_s": [2, 1, 5, 0.5, 10],
    "tokens_per_s_per_user": [10, 5, 20, 1, 30],
    "direction": ["output", "input", "OUTPUT", "Input", "output"],
    "budget_per_month": [10000, 0, 50000, 1000, 5000],
    "rent_per_gpu_hour": [2.5, 3.49, 1.2, 10, 0.5],
    "requests_per_user_per_hour": [10, 1, 60, 0.5, 100],
    "measured_tokps": [100, 50, 10, 200, 1],
    "vllm_line": ["GPU KV cache size: 20,000 tokens", 50000, "Maximum concurrency for 4096 tokens per request: 3.5x",
                  10000, "100000"],
    "reserved_gib": [5, 2, 10, 0, 1],
}
# Buy, rent or API (udfs economics functions): five valid values per argument.
VALID.update({
    "utilisation": [0.6, 0, 1, 0.25, 0.9],
    "pue": [1.58, 1, 1.2, 2, 1.1],
    "colo_per_kw_month": [163.44, 0, 100, 250, 50],
    "maintenance_share": [0.1, 0, 0.3, 1, 0.05],
    "server_share": [0.32, 0, 1, 0.1, 2],
    "life_years": [5, 3, 6, 10, 4],
    "staff_per_gpu_month": [0, 100, 1000, 50, 10],
    "part": ["total", "energy", "Depreciation", "capex", "staff"],
    "rent_price_per_hour": [30, 3.49, 10, 100, 50],
    "input_tokens": [1000, 1, 4096, 128, 2048],
    "tokens_per_day": [50e6, 0, 1e9, 1e7, 2e8],
    "growth_per_month": [0.08, 0, -0.05, 0.2, 0.01],
    "peak_to_average": [2, 1, 3, 1.5, 5],
    "horizon_months": [36, 1, 12, 60, 24],
    "replica_tokps": [3000, 500, 10000, 1500.5, 20000],
    "gpus_per_replica": [2, 1, 4, 8, 1],
    "reserve_replicas": [1, 0, 2, 1, 0],
    "capex_per_gpu": [39600, 0, 10000, 50000, 20000],
    "fixed_per_gpu_month": [800, 0, 2500, 100, 1000],
    "energy_full_per_gpu_month": [150, 0, 300, 50, 100],
    "burst_cost_per_mtok": [0.7, 0, 2.5, 10, 0.1],
    "discount_rate": [0.1, 0, 0.05, 0.2, -0.02],
    "residual_share": [0, 0.5, 1, 0.2, 0],
    "base_replicas": [2, 0, 1, 5, 3],
    "result": ["replicas", "pv", "PV", "replicas", "pv"],
    "api": ["gpt-4o", "deepseek-chat", "CLAUDE-SONNET-4.5", "llama-3.3-70b-wandb", "gpt-4o-mini"],
    "side": ["input", "output", "Output", "input", "output"],
})
TEXT_RESULTS = {"GPU_SPEC", "LLM_CHEAPEST_GPU"}
CHOICES = {"checkpointing": "none, selective, full", "price_field": "price_usd", "part": "use", "result": "replicas or pv",
           "side": "input or output", "api": "gpt-4o", "engine": "vllm",
           "band": "low, base or high", "direction": "input or output", "per_user": "TRUE or FALSE"}
TRAIN_PRECISIONS = ["bf16", "fp16", "fp32", "BF16", 16]

EXCEL_ERRORS = ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#FIELD!"]
SPILL_CODE, CALC_CODE = -2146826243, -2146826238  # what xlwings classic passes for #SPILL! and #CALC!
NON_FINITE = [float("nan"), float("inf"), float("-inf"), 1e308]
NEAR_MISSES = {"model": "llama-3-8", "gpu": "h100-sxn", "precision": "bf61", "kv_precision": "fp61",
               "state_precision": "fp61", "field": "memory_gi"}
ZERO_BAD = {"batch", "gpus", "seq_len", "micro_batch", "tensor_parallel", "pipeline_parallel", "prompt_tokens",
            "params", "mfu", "cost", "monthly_net_gain", "cloud_price_per_hour", "lifetime_years",
            "pue", "life_years", "replica_tokps", "rent_price_per_hour", "gpus_per_replica", "horizon_months",
            "peak_to_average", "input_tokens",
            "concurrency", "replicas", "ttft_s", "tokens_per_s_per_user", "rent_per_gpu_hour",
            "requests_per_user_per_hour", "measured_tokps", "calibration", "vllm_line"}
WHOLE = {"context", "batch", "gpus", "seq_len", "micro_batch", "zero_stage", "tensor_parallel",
         "pipeline_parallel", "prompt_tokens", "output_tokens", "input_tokens", "horizon_months", "gpus_per_replica",
         "reserve_replicas", "base_replicas", "concurrency", "replicas"}
NAMES = {"model", "gpu", "precision", "kv_precision", "state_precision"}


def signature(name):
    return list(inspect.signature(FUNCTIONS[name]).parameters.values())


def valid(name, arg):
    values = TRAIN_PRECISIONS if (arg == "precision" and name in TRAINING) else VALID[arg]
    return values


def base_args(name):
    return {p.name: valid(name, p.name)[0] for p in signature(name)}


def required(name, arg):
    return next(p for p in signature(name) if p.name == arg).default is inspect.Parameter.empty


def bad_values(name, arg):
    """The bad inputs for one argument of one function: (value, what the message must contain)."""
    out = [(e, "holds the error " + e) for e in EXCEL_ERRORS]
    out += [(SPILL_CODE, "holds the error #SPILL!"), (CALC_CODE, "holds the error #CALC!")]  # as COM codes
    if arg not in ("checkpointing", "per_user"):  # TRUE/FALSE mean full/none (a yes/no) there
        out += [(True, ""), (False, "")]
    out += [(x, "") for x in NON_FINITE] + [("some text", "")]
    if required(name, arg):
        out += [(None, "blank"), ("", "blank"), ("   ", "blank")]
    if arg in NAMES or arg == "field":
        out += [(NEAR_MISSES[arg], "did you mean"), (7 if arg in ("model", "gpu", "field") else 0, "")]
    if arg in ("precision", "kv_precision", "state_precision"):
        out += [(-1, ""), (65, "")]
    if arg in ("kv_precision", "state_precision"):
        out += [("q4_k_m", "KV-cache")]
    if arg == "precision" and name in TRAINING:
        out += [("int4", "training format")]
    if arg in CHOICES:
        out += [("sometimes", CHOICES[arg]), (3, "")]
    if arg not in NAMES and arg != "field" and arg not in CHOICES:
        out += [(-1e16 if arg == "gain" else -1, "too small")]
        if arg in ZERO_BAD:
            out += [(0, "too small")]
        if arg in WHOLE:
            out += [(2.5, "not whole")]
    return out


def call(name, **kw):
    args = base_args(name)
    args.update(kw)
    return FUNCTIONS[name](*[args[p.name] for p in signature(name)])


def assert_good(name, v):
    if isinstance(v, str):
        assert name in TEXT_RESULTS and not v.startswith("#"), f"{name}: {v!r}"
    elif name == "LLM_FITS":
        assert type(v) is bool, f"{name}: {v!r} is not a bool"
    else:
        assert type(v) in (float, int) and math.isfinite(v), f"{name}: {v!r} is not a finite number"


def assert_bad(name, arg, v, must=""):
    assert isinstance(v, str), f"{name}({arg}=bad) gave {v!r}, not error text"
    assert v.startswith(f"#{arg}:"), f"{name}({arg}=bad): {v!r} does not name {arg}"
    assert must.lower() in v.lower(), f"{name}({arg}=bad): {v!r} lacks {must!r}"


def cells(result):
    return [c for row in result for c in row] if isinstance(result, list) else [result]


def shapes(x):
    """Each shape xlwings (ndim=2) or a Python caller passes, with the result shape expected."""
    return [(x, None), ([[x]], None), ([x, x, x], (3, 1)), ([[x], [x], [x]], (3, 1)), ([[x, x, x]], (1, 3)),
            ([[x, x], [x, x]], (2, 2)), (np.array([[x, x]], dtype=object), (1, 2))]


def shape_of(result):
    return None if not isinstance(result, list) else (len(result), len(result[0]))


ALL_ARGS = [(name, p.name) for name in FUNCTIONS for p in signature(name)]


# ----------------------------------------------------------------------------------------- good input
@pytest.mark.parametrize("name", FUNCTIONS)
def test_valid_scalar_and_every_shape(name):
    ref = call(name)
    assert_good(name, ref)
    for p in signature(name):
        for value, want in shapes(base_args(name)[p.name]):
            out = call(name, **{p.name: value})
            assert shape_of(out) == want, f"{name}({p.name}) shape {shape_of(out)} != {want}"
            assert all(c == ref for c in cells(out)), f"{name}({p.name}={value!r}) gave {out!r}, not {ref!r}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_blank_optional_argument_takes_its_default(name):
    for p in signature(name):
        if p.default is inspect.Parameter.empty:
            continue
        omitted = FUNCTIONS[name](**{k: v for k, v in base_args(name).items() if k != p.name})
        assert_good(name, omitted)
        for blank in (None, "", "  ", [[None]], [[""]]):
            got = call(name, **{p.name: blank})
            assert got == omitted, f"{name}: blank {p.name}={blank!r} gave {got!r}, omitted gave {omitted!r}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_five_row_column_equals_five_scalar_calls(name):
    args = [p.name for p in signature(name)]
    column = {a: [[v] for v in valid(name, a)] for a in args}
    out = FUNCTIONS[name](*[column[a] for a in args])
    assert shape_of(out) == (5, 1)
    for i in range(5):
        scalar = FUNCTIONS[name](*[valid(name, a)[i] for a in args])
        assert out[i][0] == scalar, f"{name} row {i}: array gave {out[i][0]!r}, scalar {scalar!r}"
        assert type(out[i][0]) is type(scalar)


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if len(signature(n)) > 1])
def test_column_by_row_gives_the_broadcast_table(name):
    """(Functions of one argument have nothing to broadcast against and are not listed.)"""
    args = [p.name for p in signature(name)]
    first, last = args[0], args[-1]
    rows = [[v] for v in valid(name, first)[:3]]
    cols = [valid(name, last)[:4]]
    out = call(name, **{first: rows, last: cols})
    assert shape_of(out) == (3, 4)
    for i in range(3):
        for j in range(4):
            assert out[i][j] == call(name, **{first: rows[i][0], last: cols[0][j]})


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("name,arg", ALL_ARGS)
def test_every_bad_input_gives_text_naming_the_argument(name, arg):
    for value, must in bad_values(name, arg):
        for shaped, want in (shapes(value)[0], shapes(value)[1], shapes(value)[5]):
            out = call(name, **{arg: shaped})
            assert shape_of(out) == want
            for c in cells(out):
                assert_bad(name, arg, c, must)


@pytest.mark.parametrize("name,arg", ALL_ARGS)
def test_mixed_column_keeps_valid_rows_exact(name, arg):
    bad = bad_values(name, arg)
    goods = valid(name, arg)
    column, expect = [], []
    for i in range(max(len(bad), len(goods))):
        good = goods[i % len(goods)]
        column += [[good], [bad[i % len(bad)][0]]]
        expect += [call(name, **{arg: good}), None]
    out = call(name, **{arg: column})
    assert shape_of(out) == (len(column), 1)
    for (got,), want, (value,) in zip(out, expect, column):
        if want is None:
            assert_bad(name, arg, got)
        else:
            assert got == want and type(got) is type(want), f"{name}({arg}={value!r}): {got!r} != {want!r}"


def test_unknown_names_suggest_close_ones():
    assert "llama-3-8b" in udfs.LLM_PARAMS("llama-3-8")
    assert "h100-sxm" in udfs.LLM_MAX_PARAMS("h100-sxn")
    assert "bf16" in udfs.LLM_WEIGHTS_GIB("llama-3-8b", "bf61")
    assert "fp16" in udfs.LLM_KV_CACHE_GIB("llama-3-8b", 1024, 1, "fp61")
    assert "memory_gib" in udfs.GPU_SPEC("h100-sxm", "memory_gi")


def test_mismatched_ranges_fill_only_the_overlap():
    out = udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"], ["mistral-7b"], ["gpt2"]], "int4", [[1024], [2048]])
    assert shape_of(out) == (3, 1)
    assert out[0][0] == udfs.LLM_INFER_VRAM_GIB("llama-3-8b", "int4", 1024)
    assert out[1][0] == udfs.LLM_INFER_VRAM_GIB("mistral-7b", "int4", 2048)
    assert out[2][0].startswith("#shape:") and "context" in out[2][0]
    out = udfs.PLAN_ROI([[1, 2], [3, 4]], [[1], [2], [3]])
    assert shape_of(out) == (3, 2)
    assert out[0] == [0.0, 1.0] and out[1] == [0.5, 1.0]
    assert all(c.startswith("#shape:") for c in out[2])


def test_ragged_and_empty_ranges():
    assert udfs.LLM_PARAMS([["llama-3-8b", "gpt2"], ["gpt2"]]).startswith("#shape:")
    assert udfs.LLM_PARAMS([]).startswith("#model:")
    assert udfs.PLAN_ROI([[]], 1).startswith("#gain:")


MODEL_ROW = catalog.model_row("llama-3-8b")  # the Models sheet's header row and one model's row
MODEL_RANGE = [list(MODEL_ROW), list(MODEL_ROW.values())]
GPU_RANGE = [["name", "memory_gib", "bandwidth_gb_s", "bf16_tflops", "fp16_tflops"], ["my-gpu", 80, 3350, 989, 989]]


def test_model_and_gpu_ranges():
    model_functions = [n for n in FUNCTIONS if "model" in base_args(n)]
    gpu_functions = [n for n in FUNCTIONS if "gpu" in base_args(n) and n != "GPU_SPEC"]
    assert udfs.LLM_PARAMS(MODEL_RANGE) == udfs.LLM_PARAMS("llama-3-8b")  # the same architecture
    assert udfs.LLM_PARAMS([list(r) for r in zip(*MODEL_RANGE)]) == udfs.LLM_PARAMS(MODEL_RANGE)  # two columns
    keep = [i for i, f in enumerate(MODEL_RANGE[0]) if f != "vocab_size"]
    missing = [[r[i] for i in keep] for r in MODEL_RANGE]
    misspelled = [["n_layer" if c == "n_layers" else c for c in MODEL_RANGE[0]], MODEL_RANGE[1]]
    for name in model_functions:
        good = call(name, model=MODEL_RANGE)
        assert good == call(name, model="llama-3-8b"), name
        for rng, must in ((missing, "vocab_size is missing"), (misspelled, "did you mean n_layers")):
            out = call(name, model=rng)
            assert_bad(name, "model", out, must)
            for c in cells(call(name, model=rng, **{a: [[v] for v in valid(name, a)]
                                                    for a in base_args(name) if a != "model"})):
                assert_bad(name, "model", c, must)
    for name in gpu_functions:
        assert_good(name, call(name, gpu=GPU_RANGE))
        assert call(name, gpu=GPU_RANGE) == call(name, gpu=[["memory_gib", 80], ["bandwidth_gb_s", 3350],
                                                             ["bf16_tflops", 989], ["fp16_tflops", 989]])
        assert_bad(name, "gpu", call(name, gpu=[r[:2] for r in GPU_RANGE]), "bandwidth_gb_s")
        assert_bad(name, "gpu", call(name, gpu=[["memory_gb", "bandwidth_gb_s"], [80, 3350]]), "did you mean")


def test_result_types():
    assert type(udfs.LLM_FITS("llama-3-8b", "h100-sxm")) is bool
    assert type(udfs.LLM_FITS([["llama-3-8b"]], [["h100-sxm"]])) is bool
    fits = udfs.LLM_FITS([["llama-3-8b"], ["llama-3.1-405b"]], "h100-sxm")
    assert fits == [[True], [False]] and all(type(c) is bool for c in cells(fits))
    assert type(udfs.LLM_PARAMS([["llama-3-8b"]])) is float
    assert udfs.LLM_INFER_VRAM_GIB("llama-3-70b", "int4", 32768, 8) == pytest.approx(119.6, abs=0.05)
    assert isinstance(udfs.GPU_SPEC("h100-sxm", "display_name"), str)


def test_a_core_error_is_pinned_to_its_cells():
    # gpus must be a multiple of tensor_parallel: only the core can judge the pair.
    gpus = [[g] for g in [1, 2, 3, 4, 5, 6, 7, 8] * 8]
    out = udfs.LLM_TRAIN_VRAM_GIB("llama-3-8b", "bf16", 2048, 1, gpus, 0, None, 2)
    for (g,), (got,) in zip(gpus, out):
        if g % 2:
            assert got.startswith("#gpus:"), got
        else:
            assert got == udfs.LLM_TRAIN_VRAM_GIB("llama-3-8b", "bf16", 2048, 1, g, 0, None, 2)


def test_numpy_and_python_number_types_agree():
    ref = udfs.LLM_KV_CACHE_GIB("llama-3-8b", 4096, 8)
    for ctx in (np.int64(4096), np.float32(4096), np.array([[4096]]), np.array([4096.0])):
        assert udfs.LLM_KV_CACHE_GIB("llama-3-8b", ctx, 8) == ref
    big = 10 ** 400  # beyond float range
    assert udfs.LLM_KV_CACHE_GIB("llama-3-8b", big).startswith("#context:")
    column = [[4096.0]] * 100 + [[True]] + [["4096"]]  # a bool or a numeral text late in a long column
    out = udfs.LLM_KV_CACHE_GIB("llama-3-8b", column, 8)
    assert out[0][0] == ref and out[100][0].startswith("#context:") and out[101][0].startswith("#context:")


# ------------------------------------------------------------------ what Excel passes: errors, Lite, memo
from udfs import adapter  # noqa: E402

COM_ERRORS = {adapter.COM_ERROR_BASE + code: text for code, text in adapter.XL_ERRORS.items()}


@pytest.mark.parametrize("code,text", sorted(COM_ERRORS.items()))
def test_com_error_codes_are_errors_naming_the_argument(code, text):
    """xlwings classic passes #SPILL!, #CALC!, ... as the COM code (a negative int), never as a number."""
    for shaped in (code, [[code]], [[1.0], [code]]):
        out = udfs.PLAN_ROI(shaped, 100)
        got = out[-1][0] if isinstance(out, list) else out
        assert got == f"#gain: the input cell holds the error {text}", got
    assert udfs.LLM_INFER_VRAM_GIB([[code]]) == f"#model: the input cell holds the error {text}"
    assert udfs.LLM_INFER_VRAM_GIB("llama-3-8b", [[code]]).startswith("#precision:")
    column = udfs.LLM_KV_CACHE_GIB("llama-3-8b", [[4096.0], [code]], 8)
    assert column[0][0] == udfs.LLM_KV_CACHE_GIB("llama-3-8b", 4096, 8) and column[1][0].startswith("#context:")


def test_an_unlisted_com_error_code_is_still_an_error():
    busy = adapter.COM_ERROR_BASE + 2051  # e.g. #BUSY!, which has no VBA constant
    assert udfs.PLAN_ROI([[busy]], 100).startswith("#gain: the input cell holds the error #ERROR(2051)")
    assert udfs.PLAN_ROI([[-2146826243.0]], 100) != udfs.PLAN_ROI([[-2146826243]], 100)  # a float is a number


def test_text_results_fit_a_cell():
    long_name = "x" * 32767  # Excel's longest cell text
    for out in (udfs.LLM_PARAMS(long_name), udfs.LLM_PARAMS([[long_name]]), udfs.LLM_PARAMS([[long_name], ["gpt2"]])[0][0]):
        assert out.startswith("#model: 'xxx") and len(out) <= adapter.MAX_ERROR_TEXT < 32767
    assert len(adapter.cell_text("a" * 40000)) == 32767


def test_lite_zero_is_a_value_not_a_blank():
    """xlwings Lite may pass a blank cell as 0. A context of 0 is a real context (weights only), so it is
    computed; a batch or GPU count of 0 is refused with a hint, never silently read as the default."""
    assert udfs.LLM_INFER_VRAM_GIB("llama-3-8b", "bf16", 0, 1) < udfs.LLM_INFER_VRAM_GIB("llama-3-8b", "bf16", None, 1)
    for out in (udfs.LLM_INFER_VRAM_GIB("llama-3-8b", "bf16", 4096, 0),
                udfs.LLM_INFER_VRAM_GIB("llama-3-8b", "bf16", 4096, [[0.0]])):
        assert out.startswith("#batch: 0 is too small") and "xlwings Lite" in out
    assert "xlwings Lite" in udfs.LLM_DECODE_TOKPS("llama-3-8b", "h100-sxm", "bf16", 4096, 1, 0)
    assert "xlwings Lite" in udfs.LLM_INFER_VRAM_GIB("llama-3-8b", 0)
    assert "xlwings Lite" not in udfs.LLM_KV_CACHE_GIB("llama-3-8b", 4096, -1)  # not a blank: no hint
    assert "xlwings Lite" not in udfs.PLAN_ROI(1, 0)  # a required argument: 0 is not a blank there


def test_single_cells_are_remembered_as_excel_passes_them(monkeypatch):
    adapter.clear_caches()
    calls = []
    for name in ("_scalar", "_fast"):  # every computed cell goes through one of them (see udfs.adapter.Site)
        original = getattr(adapter, name)
        monkeypatch.setattr(adapter, name, lambda *a, _f=original: calls.append(a) or _f(*a))
    first = udfs.LLM_DECODE_TOKPS([["llama-3-8b"]], [["h100-sxm"]], [["int4"]], [[8192.0]], [[4.0]])
    computed = len(calls)
    again = udfs.LLM_DECODE_TOKPS([["llama-3-8b"]], [["h100-sxm"]], [["int4"]], [[8192.0]], [[4.0]])
    assert first == again and computed >= 1 and len(calls) == computed  # the second: a memo hit
    udfs.LLM_DECODE_TOKPS([["llama-3-8b"]], [["h100-sxm"]], [["int4"]], [[8192.0]], [[True]])  # TRUE is not 1
    assert len(calls) > computed


def test_the_garbage_collector_is_restored():
    import gc
    column = [[4096.0]] * 1000
    assert gc.isenabled()
    udfs.LLM_KV_CACHE_GIB("llama-3-8b", column, 8)
    assert gc.isenabled()
    gc.disable()
    try:
        udfs.LLM_KV_CACHE_GIB("llama-3-8b", column, 8)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_args_built_inline_are_remembered_too():
    from udfs.core import validate as V
    a = adapter.Arg("context", "number", adapter.REQUIRED, V.CONTEXT)
    assert a is adapter.Arg("context", "number", adapter.REQUIRED, V.CONTEXT)
    assert adapter.Arg("x", "choice", True) is not adapter.Arg("x", "choice", 1)
    udfs.LLM_KV_CACHE_GIB("llama-3-8b", [[4096.0]], [[8.0]])
    before = len(adapter._scalar_memo)
    udfs.LLM_KV_CACHE_GIB("llama-3-8b", [[4096.0]], [[8.0]])
    assert len(adapter._scalar_memo) == before


def test_gpu_spec_reads_a_gpu_row_passed_as_a_range():
    """GPU_SPEC on a GPUs-sheet row passed as a range reads that row as it stands (an edited or added row), never
    the shipped catalog's figure for the same name."""
    import udfs

    edited = [["name", "memory_gib", "bandwidth_gb_s", "generation", "price_usd"],
              ["h100-sxm", 40, 1000, "hopper", None]]
    assert udfs.GPU_SPEC(edited, [["bandwidth_gb_s"]]) == 1000.0
    assert udfs.GPU_SPEC("h100-sxm", "bandwidth_gb_s") != 1000.0
    assert udfs.GPU_SPEC(edited, "generation") == "hopper"
    assert udfs.GPU_SPEC(edited, "price_usd").startswith("#field:")
    assert udfs.GPU_SPEC(edited, "bogus").startswith("#field:")
    added = [["name", "memory_gib"], ["my-gpu", 48]]
    assert udfs.GPU_SPEC(added, "memory_gib") == 48.0


def test_minus_zero_and_zero_answer_alike_whichever_comes_first():
    """-0.0 and 0.0 are one memo key (equal floats): a message names either as 0, so the remembered answer
    of one is the other's fresh answer (it said "-0 is too small" for a later 0 before)."""
    from udfs import adapter

    for first, second in ((-0.0, 0.0), (0.0, -0.0)):
        adapter.clear_caches()
        a = udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], [[4096.0]], [[first]])
        b = udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], [[4096.0]], [[second]])
        adapter.clear_caches()
        fresh = udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], [[4096.0]], [[second]])
        assert a == b == fresh and a.startswith("#batch: 0 is too small")
