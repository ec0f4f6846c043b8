"""The recalculation fast paths of udfs.adapter (issue 14) give exactly what the general paths give.

A planning sheet passes a custom model or GPU as a two-row block (field names over values: a Models or GPUs
catalog row copied by INDEX/MATCH, or a hand-written model) with single cells for the other arguments. Such a
call is answered by ``_scalar`` with the block parsed once per distinct content (``adapter._Block``) instead
of the range machinery. These tests hold it to the general path (the same call with the block path switched
off, so the array path answers) over random blocks, good and bad, and random numbers, names and choices: the
same float bit for bit, or the same ``#argument: ...`` text. The caches are not cleared between examples, so
one block's kept constants meeting another block's call would show as a difference.
"""

from __future__ import annotations

import math

import numpy as np

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import udfs
from udfs import adapter
from udfs.core import catalog

MODEL_ROWS = catalog.model_table().rows
GPU_ROWS = catalog.gpu_table().rows
PRECISIONS = catalog.precision_names()
KV = [r["name"] for r in catalog.precision_table().rows if r.get("kv_ok", "").strip().lower() in ("true", "1")]
ODD = ["", "#N/A", "nope", True, 0.0, -1.0, math.nan, math.inf, 1e300, "12", 7]


def cell(text: str):
    """A catalog CSV field as Excel holds it: a number as a float, text as text, an empty field as a blank."""
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def block_of(row: dict, draw, odd: bool, transpose: bool):
    """A catalog row as the two-row range xlwings passes (names over values), maybe edited and transposed."""
    names, values = list(row), [cell(v) for v in row.values()]
    if odd:
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(values) - 1))
            values[i] = draw(st.one_of(st.sampled_from(ODD), st.floats(0.5, 1e5)))
    elif draw(st.booleans()):  # a plausible edit: a number scaled
        nums = [i for i, v in enumerate(values) if isinstance(v, float) and v > 0]
        i = draw(st.sampled_from(nums))
        values[i] = float(max(1, round(values[i] * draw(st.sampled_from([0.5, 2.0, 1.5])))))
    if draw(st.booleans()):  # a short hand-written block: a few of the fields
        keep = sorted(draw(st.sets(st.integers(0, len(names) - 1), min_size=2, max_size=12)))
        names, values = [names[i] for i in keep], [values[i] for i in keep]
    rows = [names, values]
    if transpose:
        rows = [[n, v] for n, v in zip(names, values)]
    return rows


@st.composite
def model_block(draw):
    row = draw(st.sampled_from(MODEL_ROWS))
    return block_of(row, draw, draw(st.integers(0, 4)) == 0, draw(st.integers(0, 5)) == 0)


@st.composite
def catalog_row_block(draw, rows):
    """A catalog row as the template's Catalog rows block passes it (maybe one number scaled)."""
    row = draw(st.sampled_from(rows))
    names, values = list(row), [cell(v) for v in row.values()]
    if draw(st.booleans()):
        nums = [i for i, v in enumerate(values) if isinstance(v, float) and v > 0]
        i = draw(st.sampled_from(nums))
        values[i] = float(max(1, round(values[i] * draw(st.sampled_from([0.5, 2.0, 1.5])))))
    return [names, values]


@st.composite
def gpu_block(draw):
    row = draw(st.sampled_from(GPU_ROWS))
    return block_of(row, draw, draw(st.integers(0, 4)) == 0, draw(st.integers(0, 5)) == 0)


def names(choices):
    return st.one_of(st.sampled_from(choices), st.sampled_from(["", "nope", "#N/A"]), st.none())


numbers = st.one_of(
    st.sampled_from([1.0, 2.0, 4.0, 8.0, 32.0, 512.0, 2048.0, 4096.0, 32768.0]), st.integers(0, 200_000).map(float),
    st.floats(-10, 1e6).map(float), st.none(), st.sampled_from(["", "abc", "#DIV/0!", True, 0.0, -1.0, math.nan]))
small = st.one_of(st.sampled_from([1.0, 2.0, 4.0, 8.0]), st.integers(0, 64).map(float), st.none(),
                  st.sampled_from([1.5, -1.0, "x"]))
money = st.one_of(st.floats(0, 50).map(float), st.none(), st.sampled_from([-1.0, "#N/A"]))
tokens = st.one_of(st.sampled_from([1e9, 2e12, 1.5e13]), st.floats(0, 1e14).map(float), st.none(),
                   st.sampled_from([-1.0, "x"]))
choice = st.none()

M, G = model_block(), gpu_block()
P, K = names(PRECISIONS), names(KV)
CLEAN = {}  # strategy -> its valid-inputs form: half the examples draw every argument valid (the fast paths' case)
FUNCTIONS = {
    "LLM_PARAMS": (udfs.LLM_PARAMS, [M]),
    "LLM_ACTIVE_PARAMS": (udfs.LLM_ACTIVE_PARAMS, [M]),
    "LLM_WEIGHTS_GIB": (udfs.LLM_WEIGHTS_GIB, [M, P]),
    "LLM_KV_CACHE_GIB": (udfs.LLM_KV_CACHE_GIB, [M, numbers, small, K]),
    "LLM_STATE_GIB": (udfs.LLM_STATE_GIB, [M, small, K]),
    "LLM_INFER_VRAM_GIB": (udfs.LLM_INFER_VRAM_GIB, [M, P, numbers, small, K]),
    "LLM_TRAIN_VRAM_GIB": (udfs.LLM_TRAIN_VRAM_GIB,
                           [M, P, numbers, small, small, st.sampled_from([None, 0.0, 1.0, 2.0, 3.0, 4.0]),
                            st.sampled_from([None, "none", "selective", "full", "nope", True]), small, small]),
    "LLM_FLOPS_PER_TOKEN": (udfs.LLM_FLOPS_PER_TOKEN, [M, numbers]),
    "LLM_TRAIN_FLOPS": (udfs.LLM_TRAIN_FLOPS, [M, tokens, numbers]),
    "LLM_GPUS_NEEDED": (udfs.LLM_GPUS_NEEDED, [M, G, P, numbers, small, K]),
    "LLM_FITS": (udfs.LLM_FITS, [M, G, P, numbers, small, small, K]),
    "LLM_MAX_CONTEXT": (udfs.LLM_MAX_CONTEXT, [M, G, P, small, small, K]),
    "LLM_MAX_PARAMS": (udfs.LLM_MAX_PARAMS, [G, P, small]),
    "LLM_TTFT_S": (udfs.LLM_TTFT_S, [M, G, numbers, P, small, small]),
    "LLM_DECODE_TOKPS": (udfs.LLM_DECODE_TOKPS, [M, G, P, numbers, small, small, K]),
    "LLM_LATENCY_S": (udfs.LLM_LATENCY_S, [M, G, numbers, numbers, P, small, small, K]),
    "LLM_TRAIN_GPU_HOURS": (udfs.LLM_TRAIN_GPU_HOURS,
                            [M, tokens, G, P, st.one_of(st.none(), st.floats(0, 1.2).map(float)), numbers]),
    "LLM_TRAIN_COST": (udfs.LLM_TRAIN_COST, [M, tokens, G, money, P]),
    "LLM_COST_PER_MTOK": (udfs.LLM_COST_PER_MTOK, [M, G, money, P, numbers, small, small, K]),
    "LLM_MAX_CONCURRENCY": (udfs.LLM_MAX_CONCURRENCY,
                            [M, G, numbers, P, small, K, st.sampled_from([None, "vllm", "sglang", "nope"])]),
    "LLM_KV_CAPACITY_TOKENS": (udfs.LLM_KV_CAPACITY_TOKENS, [M, G, P, small, K]),
}


CLEAN.update({id(M): catalog_row_block(MODEL_ROWS), id(G): catalog_row_block(GPU_ROWS),
              id(P): st.sampled_from(["bf16", "fp16", "fp8", "int8", "int4", "q4_k_m", "4.5", None]),
              id(K): st.sampled_from(["fp16", "bf16", "fp8", None]),
              id(numbers): st.sampled_from([1.0, 2.0, 512.0, 1800.0, 2048.0, 4096.0, 32768.0]),
              id(small): st.sampled_from([1.0, 2.0, 4.0, 8.0, None]),
              id(money): st.sampled_from([0.5, 1.59, 3.49]), id(tokens): st.sampled_from([1e9, 2e12, None])})


def draw_args(data, strategies):
    clean = data.draw(st.booleans(), label="clean")
    return [data.draw(CLEAN.get(id(s), s) if clean else s, label=f"arg{i}") for i, s in enumerate(strategies)]


def drawn_cells(data, fn, strategies):
    """(drawn values, the same as Excel cells, the array path's answer for them)."""
    vals = draw_args(data, strategies)
    cells = [as_cell(v) for v in vals]
    return vals, cells, general(fn, cells)


def as_cell(v):
    """What xlwings passes: a range as its rows, a single cell as [[v]], an omitted argument as None."""
    if v is None:
        return None
    return v if isinstance(v, list) else [[v]]


def general(fn, cells):
    """The array path's answer: the block path, the scalar path and the plans' one-cell rows switched off,
    from no memo."""
    saved = adapter._with_blocks, adapter._scalar, adapter._fast
    adapter._with_blocks = lambda *a: None
    adapter._scalar = lambda *a: adapter._GENERIC
    adapter._fast = lambda *a: None
    try:
        adapter._scalar_memo.clear()
        return fn(*cells)
    finally:
        adapter._with_blocks, adapter._scalar, adapter._fast = saved
        adapter._scalar_memo.clear()


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", list(FUNCTIONS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_block_with_single_cells_equals_the_array_path(name, data):
    fn, strategies = FUNCTIONS[name]
    vals, cells, want = drawn_cells(data, fn, strategies)
    first = fn(*cells)   # memo miss: the block path (or the array path where it declines)
    again = fn(*cells)   # memo hit
    assert same(first, want), (vals, first, want)
    assert same(again, want)
    # the same block again with another number: the block's parse and its kept constants are reused
    nums = [i for i, v in enumerate(vals) if type(v) is float and v == v and 1 <= v <= 1e5]
    if nums:
        other = list(vals)
        other[nums[0]] = float(int(vals[nums[0]]) * 2)
        cells2 = [as_cell(v) for v in other]
        assert same(fn(*cells2), general(fn, cells2)), other


MODELS, GPUS = catalog.model_names(), catalog.gpu_names()
MN, GN = names(MODELS), names(GPUS)
ENGINES = st.sampled_from([None, "vllm", "sglang", "llama.cpp", "nope"])
maybe = st.one_of(st.none(), st.sampled_from(["", -1.0, "x"]))  # blank (the core's own default) or bad
CLEAN.update({id(MN): st.sampled_from(MODELS), id(GN): st.sampled_from(GPUS), id(ENGINES): st.sampled_from([None, "vllm"]),
              id(maybe): st.none()})
SINGLE_CELLS = {  # functions with an optional number whose blank means "the core decides" (default None)
    "LLM_MAX_CONCURRENCY": (udfs.LLM_MAX_CONCURRENCY,
                            [MN, GN, numbers, P, small, K, ENGINES, st.one_of(maybe, st.floats(0, 200).map(float))]),
    "LLM_KV_CAPACITY_TOKENS": (udfs.LLM_KV_CAPACITY_TOKENS,
                               [MN, GN, P, small, K, ENGINES, st.one_of(maybe, st.floats(0, 200).map(float))]),
    "LLM_TRAIN_GPU_HOURS": (udfs.LLM_TRAIN_GPU_HOURS,
                            [MN, tokens, GN, P, st.one_of(maybe, st.floats(0, 1.2).map(float)), numbers]),
    "LLM_TRAIN_COST": (udfs.LLM_TRAIN_COST,
                       [MN, tokens, GN, money, P, st.one_of(maybe, st.floats(0, 1.2).map(float))]),
    "LLM_TTFT_AT_RATE_S": (udfs.LLM_TTFT_AT_RATE_S,
                           [MN, GN, st.one_of(st.floats(0, 50).map(float), maybe), numbers, numbers,
                            st.one_of(maybe, small), small, st.one_of(maybe, st.floats(0.4, 1.0).map(float))]),
    "LLM_SERVE_TOKPS": (udfs.LLM_SERVE_TOKPS,
                        [MN, GN, small, numbers, numbers, st.sampled_from([None, True, False, "TRUE", "no", "x"]), P,
                         small, K, ENGINES]),
    "LLM_COST_PER_MTOK_IO": (udfs.LLM_COST_PER_MTOK_IO,
                             [MN, GN, money, numbers, numbers, st.sampled_from([None, "input", "output", "x"]),
                              st.one_of(maybe, small), P, small]),
}


@pytest.mark.parametrize("name", list(SINGLE_CELLS))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_blank_optional_number_on_the_scalar_path_equals_the_array_path(name, data):
    """A blank whose default is None reaches the core as NaN on both paths (the core reads NaN as blank)."""
    fn, strategies = SINGLE_CELLS[name]
    vals, cells, want = drawn_cells(data, fn, strategies)
    assert same(fn(*cells), want), (vals, want)
    assert same(fn(*cells), want)


def test_a_blank_optional_number_is_answered_without_the_array_path(monkeypatch):
    adapter.clear_caches()
    cells = [[["llama-3.1-70b"]], [["h100-sxm"]], [[1800.0]], [["fp8"]], [[2.0]], [["fp16"]], [["vllm"]], None]
    want = general(udfs.LLM_MAX_CONCURRENCY, cells)
    monkeypatch.setattr(adapter, "_safe_evaluate", lambda *a: pytest.fail("the scalar path should answer"))
    assert udfs.LLM_MAX_CONCURRENCY(*cells) == want


def catalog_block(row):
    return [list(row), [cell(v) for v in row.values()]]


def test_every_catalog_row_as_a_block_equals_the_array_path():
    """Each Models/GPUs catalog row as the template's Catalog rows block, for the template's questions."""
    adapter.clear_caches()
    for mrow in MODEL_ROWS:
        m = catalog_block(mrow)
        for fn, cells in [(udfs.LLM_PARAMS, [m]),
                          (udfs.LLM_INFER_VRAM_GIB, [m, [["bf16"]], [[2048.0]], [[8.0]], [["fp16"]]]),
                          (udfs.LLM_TRAIN_VRAM_GIB, [m, [["bf16"]], [[2048.0]], [[32.0]], [[1.0]], [[0.0]],
                                                     [["full"]], None, None])]:
            assert same(fn(*cells), general(fn, cells)), (fn.__name__, mrow["name"])
    g = catalog_block(GPU_ROWS[0])
    for grow in GPU_ROWS:
        g = catalog_block(grow)
        m = catalog_block(MODEL_ROWS[len(grow["name"]) % len(MODEL_ROWS)])
        for fn, cells in [(udfs.LLM_MAX_PARAMS, [g, None, None]),
                          (udfs.LLM_DECODE_TOKPS, [m, g, [["fp16"]], [[2048.0]], [[1.0]], [[2.0]], None]),
                          (udfs.LLM_COST_PER_MTOK, [m, g, [[1.59]], [["bf16"]], [[2048.0]], [[32.0]]]),
                          (udfs.LLM_TRAIN_GPU_HOURS, [m, [[2e12]], g, [["bf16"]], [[0.4]], [[2048.0]]])]:
            assert same(fn(*cells), general(fn, cells)), (fn.__name__, grow["name"])


def test_the_block_path_answers_a_valid_block(monkeypatch):
    """No grids for a catalog-row block with single cells: the array path is not called."""
    adapter.clear_caches()
    m = catalog_block(MODEL_ROWS[3])
    cells = [m, [["int4"]], [[8192.0]], [[4.0]], [["fp8"]]]
    want = general(udfs.LLM_INFER_VRAM_GIB, cells)
    monkeypatch.setattr(adapter, "_safe_evaluate", lambda *a: pytest.fail("the block path should answer"))
    assert udfs.LLM_INFER_VRAM_GIB(*cells) == want
    cells[2] = [[8193.0]]  # a new context: a new cell, the same block object and constants
    got = udfs.LLM_INFER_VRAM_GIB(*cells)
    monkeypatch.undo()
    assert got == general(udfs.LLM_INFER_VRAM_GIB, cells)


def test_bad_blocks_keep_the_array_path_texts():
    adapter.clear_caches()
    m = catalog_block(MODEL_ROWS[0])
    bad_layers = [m[0], [-1.0 if k == "n_layers" else v for k, v in zip(m[0], m[1])]]
    not_fields = [["a", "b"], [1.0, 2.0]]
    column_of_names = [["llama-7b"], ["llama-13b"]]
    for model in (bad_layers, not_fields, column_of_names):
        cells = [model, [["bf16"]], [[2048.0]], [[1.0]], None]
        want = general(udfs.LLM_INFER_VRAM_GIB, cells)
        for _ in range(2):
            assert same(udfs.LLM_INFER_VRAM_GIB(*cells), want)
    assert isinstance(general(udfs.LLM_INFER_VRAM_GIB, [bad_layers, None, None, None, None]), str)


def test_two_blocks_that_differ_in_one_field_keep_their_own_constants():
    """Kept constants are keyed by the block's content: an edited row is a new block (and TRUE is not 1)."""
    adapter.clear_caches()
    m = catalog_block(MODEL_ROWS[5])
    i = m[0].index("n_layers")
    edited = [m[0], list(m[1])]
    edited[1][i] = m[1][i] * 2
    rest = [[["bf16"]], [[4096.0]], [[2.0]], [["fp16"]]]
    a, b = udfs.LLM_INFER_VRAM_GIB(m, *rest), udfs.LLM_INFER_VRAM_GIB(edited, *rest)
    assert a != b
    assert a == general(udfs.LLM_INFER_VRAM_GIB, [m, *rest])
    assert b == general(udfs.LLM_INFER_VRAM_GIB, [edited, *rest])
    j = m[0].index("qkv_bias")
    flags = [[m[0], [v if k != j else flag for k, v in enumerate(m[1])]] for flag in (1.0, True)]
    for f in flags:
        assert same(udfs.LLM_PARAMS(f), general(udfs.LLM_PARAMS, [f]))


def test_the_block_cache_stays_bounded():
    adapter.clear_caches()
    m = catalog_block(MODEL_ROWS[0])
    i = m[0].index("vocab_size")
    for k in range(adapter._BLOCKS_MAX + 20):
        b = [m[0], list(m[1])]
        b[1][i] = float(1000 + k)
        udfs.LLM_PARAMS(b)
    assert len(adapter._BLOCKS) <= adapter._BLOCKS_MAX


def test_only_two_row_or_two_column_ranges_are_read_as_blocks():
    """A column of names (the 1M-row column of the benchmarks), a 3x3 range or a block past _BLOCK_CELLS goes to
    the array path at once: nothing is copied into the block cache, and the answers are the array path's."""
    adapter.clear_caches()
    names = [[n] for n in catalog.model_names()[:5]]
    rest = [[["bf16"]], [[4096.0]], [[2.0]], [["fp16"]]]
    got = udfs.LLM_INFER_VRAM_GIB(names, *rest)
    assert got == general(udfs.LLM_INFER_VRAM_GIB, [names, *rest]) and len(got) == 5
    square = [["a", "b", "c"], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    wide = [["f%d" % k for k in range(adapter._BLOCK_CELLS // 2 + 1)], [1.0] * (adapter._BLOCK_CELLS // 2 + 1)]
    for value in (square, wide):
        assert same(udfs.LLM_PARAMS(value), general(udfs.LLM_PARAMS, [value]))
    assert adapter._BLOCKS == {}
    udfs.LLM_PARAMS(catalog_block(MODEL_ROWS[0]))      # a catalog row's block is read as one
    assert len(adapter._BLOCKS) == 1


# ----------------------------------------------------------------------------- PLAN_FLEET_PV, one plan
from udfs.core import economics  # noqa: E402


def bits(x) -> str:
    return float(x).hex()  # -0.0 and 0.0 differ; NaN equals NaN


plan_numbers = st.tuples(
    st.one_of(st.floats(0, 1e15), st.sampled_from([0.0, 1e6, 5e8, 1e9, 1e12])),          # tokens_per_day
    st.one_of(st.floats(-0.99, 10), st.sampled_from([0.0, 0.05, 0.08, -0.5])),           # growth_per_month
    st.one_of(st.floats(1, 1000), st.sampled_from([1.0, 1.5, 2.0, 3.0])),                # peak_to_average
    st.one_of(st.integers(1, 600), st.sampled_from([12, 36, 60])).map(float),            # horizon_months
    st.one_of(st.floats(1e-3, 1e12), st.sampled_from([500.0, 2000.0, 1e4])),             # replica_tokps
    st.integers(1, 16).map(float), st.integers(0, 4).map(float),                         # gpus, reserve
    st.floats(0, 1e6), st.floats(0, 1e5), st.floats(0, 1e4), st.floats(0, 100),         # capex fixed energy burst
    st.one_of(st.floats(-0.99, 10), st.sampled_from([0.0, 0.1])))                         # annual discount rate
plan_base = st.one_of(st.none(), st.integers(0, 200).map(float), st.integers(0, 10_000_000).map(float))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=plan_numbers, base=plan_base, residual=st.one_of(st.just(0.0), st.floats(0, 1)),
       life=st.one_of(st.just(60.0), st.floats(12, 1200)))
def test_fleet_pv_one_equals_fleet_plan_bit_for_bit(args, base, residual, life):
    with np.errstate(all="ignore"):
        plan = economics.fleet_plan(*args, base, residual, life, 730.0)
        got = economics.fleet_pv_one(*args, base, residual, life, 730.0)
    want = plan["pv"]
    if got is None:  # declined only where an intermediate or the answer is not finite: fleet_plan answers then
        assert not (math.isfinite(want) and np.isfinite(plan["tokens_per_day"]).all()
                    and np.isfinite(plan["replicas_needed"]).all())
    else:
        assert bits(got) == bits(want), (args, base, residual, life, got, want)


def test_fleet_pv_one_answers_ordinary_plans():
    """The plain-float form is the one taken for the sheet's plans (not always declined)."""
    args = (1e9, 0.05, 3.0, 36.0, 2000.0, 8.0, 1.0, 30000.0, 500.0, 100.0, 2.0, 0.1)
    for base in (None, 0.0, 3.0, 1e6):
        for residual in (0.0, 0.2):
            want = economics.fleet_plan(*args, base, residual, 60.0, 730.0)["pv"]
            assert bits(economics.fleet_pv_one(*args, base, residual, 60.0, 730.0)) == bits(want)


def test_plan_fleet_pv_cells_equal_the_array_path():
    """PLAN_FLEET_PV on single cells (the scalar path, plain floats) and as a range (the array path) agree."""
    rows = [(1e9, 0.05, 3.0, 36.0, 2000.0, 8.0, 1.0, 30000.0, 500.0, 100.0, 2.0, 0.1, b, r, None)
            for b in (None, 2.0, 5.0, 1e7) for r in (None, 0.3)]
    rows += [(0.0, 0.0, 1.0, 12.0, 1e3, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None, None, None),
             (5e8, -0.5, 2.0, 600.0, 500.0, 4.0, 2.0, 1e5, 10.0, 5.0, 50.0, -0.5, 3.0, 1.0, 1.0)]
    adapter.clear_caches()
    singles = [udfs.PLAN_FLEET_PV(*[as_cell(v) for v in row]) for row in rows]
    column = udfs.PLAN_FLEET_PV(*[[[row[i]] for row in rows] if any(r[i] is not None for r in rows) else None
                                  for i in range(len(rows[0]))])
    assert all(isinstance(s, float) for s in singles[:-1])
    assert [bits(s) if isinstance(s, float) else s for s in singles] == [
        bits(c[0]) if isinstance(c[0], float) else c[0] for c in column]


def _general_fleet_pv(*values):
    """api.fleet_pv's general path (every argument an array), with the message of any error."""
    from udfs.core import api
    try:
        with np.errstate(all="ignore"):
            return api.fleet_pv(*[None if v is None else np.array([v]) for v in values])[0]
    except udfs.ScalesheetError as exc:
        return exc.excel_text()


def _floats_fleet_pv(*values):
    from udfs.core import api
    try:
        with np.errstate(all="ignore"):
            out = api.fleet_pv(*values)
        assert type(out) is np.ndarray and out.shape == ()
        return out.item()
    except udfs.ScalesheetError as exc:
        return exc.excel_text()


odd_plan_value = st.sampled_from([None, -1.0, 0.0, 1.5, 1e16, math.nan, math.inf, 1e9, 7])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=plan_numbers, base=plan_base, residual=st.one_of(st.none(), st.floats(0, 1)),
       life=st.one_of(st.none(), st.floats(0.5, 100)), odd=st.lists(st.tuples(st.integers(0, 14), odd_plan_value),
                                                                   max_size=2))
def test_fleet_pv_of_floats_equals_the_general_path(args, base, residual, life, odd):
    """api.fleet_pv with Python floats (the checks in plain Python, then fleet_pv_one) gives the general
    path's value bit for bit, or its message, good inputs and bad."""
    values = [*args, base, residual, life]
    for i, v in odd:
        values[i] = v
    got, want = _floats_fleet_pv(*values), _general_fleet_pv(*values)
    if isinstance(want, str):
        assert got == want
    else:
        assert bits(got) == bits(want), (values, got, want)


# ------------------------------------------------------------------------- LLM_TRAIN_VRAM_GIB, one cell
def _one_record(name):
    from udfs.core import architecture
    row = catalog.model_table().rows[catalog.model_table().position(name, "model")]
    return architecture.from_numbers([architecture.record_to_numbers(row)]).take(0)


train_numbers = st.one_of(st.sampled_from([1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 512.0]), st.integers(1, 100_000).map(float),
                          st.none(), st.sampled_from([0.0, 1.5, -1.0, 3.0]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(catalog.model_names()), precision=st.one_of(st.none(), st.sampled_from(PRECISIONS)),
       seq_len=train_numbers, micro_batch=train_numbers, gpus=train_numbers,
       zero=st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0])),
       checkpointing=st.sampled_from([None, "none", "selective", "full"]), tp=train_numbers, pp=train_numbers)
def test_train_total_bytes_one_equals_train_breakdown(model, precision, seq_len, micro_batch, gpus, zero,
                                                      checkpointing, tp, pp):
    from udfs.core import api
    kw = dict(model=_one_record(model), precision=precision, seq_len=seq_len, micro_batch=micro_batch, gpus=gpus,
              zero_stage=zero, checkpointing=checkpointing, tensor_parallel=tp, pipeline_parallel=pp)
    got = api.train_total_bytes_one(**kw)
    try:
        want = float(api.train_breakdown(**kw)["total_bytes"])
    except udfs.ScalesheetError:
        assert got is None  # refused: the general form words the message
        return
    assert got is not None and bits(got) == bits(want), (kw, got, want)


# ------------------------------------------------------------------------- one model record, one parse
def _same_record(x, y) -> bool:
    from dataclasses import fields as dc_fields
    for f in dc_fields(x):
        if f.name == "cache":
            continue
        u, v = getattr(x, f.name), getattr(y, f.name)
        if type(u) is not type(v) or np.shape(u) != np.shape(v):
            return False
        if f.name == "name":
            if u != v:
                return False
        elif np.asarray(u).tobytes() != np.asarray(v).tobytes():
            return False
    return True


def test_one_from_numbers_equals_from_numbers_take_for_every_catalog_model():
    from udfs.core import architecture
    for row in MODEL_ROWS:
        numbers = architecture.record_to_numbers(row)
        assert _same_record(architecture.one_from_numbers(numbers), architecture.from_numbers([numbers]).take(0)), \
            row["name"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block=model_block())
def test_one_from_numbers_equals_from_numbers_take_for_custom_models(block):
    from udfs.core import architecture
    mapping = adapter.field_range(adapter.to_grid(block), adapter.RANGE_MARKERS["model"])
    if mapping is None:
        return
    try:
        numbers = architecture.record_to_numbers(mapping)
    except udfs.ScalesheetError:
        return
    assert _same_record(architecture.one_from_numbers(numbers), architecture.from_numbers([numbers]).take(0))


def test_a_custom_mixture_of_experts_block_keeps_the_array_paths_last_bit():
    """Found by the random test: a power of numpy scalars ((1 - k/E) ** batch) can differ in its last bit from
    the same power of one-item arrays; a block cell of a core without a plan is therefore computed on
    one-item arrays, as the array path does (adapter._one_cell)."""
    adapter.clear_caches()
    m = catalog_block(next(r for r in MODEL_ROWS if r["name"] == "kimi-k2"))
    g = catalog_block(next(r for r in GPU_ROWS if r["name"] == "h100-sxm"))
    for field, factor in (("n_experts", 0.5), ("n_experts", 1.5), ("experts_per_token", 2.0)):
        b = [m[0], list(m[1])]
        i = b[0].index(field)
        b[1][i] = float(round(b[1][i] * factor))
        cells = [b, g, [[0.5]], [["bf16"]], [[1.0]], [[2.0]], [[1.0]], [["fp16"]]]
        got = udfs.LLM_COST_PER_MTOK(*cells)
        assert bits(got) == bits(general(udfs.LLM_COST_PER_MTOK, cells)), field


def _same_fields(x, y) -> bool:
    from dataclasses import fields as dc_fields
    for f in dc_fields(x):
        if f.name == "cache":
            continue
        u, v = np.asarray(getattr(x, f.name)), np.asarray(getattr(y, f.name))
        if u.dtype != v.dtype or u.shape != v.shape:
            return False
        if u.dtype == object:
            if u.tolist() != v.tolist():
                return False
        elif u.tobytes() != v.tobytes():
            return False
    return True


def test_a_row_record_equals_the_catalogs_record_for_every_model_and_gpu():
    """adapter._row_record (one row read on its own, the whole catalog not built) equals what the range
    machinery looks up (LOOKUPS of a one-item array), field for field and bit for bit."""
    for kind, names_ in (("model", catalog.model_names()), ("gpu", catalog.gpu_names())):
        for name in names_:
            want = adapter.LOOKUPS[kind](adapter._objects([name]), kind)
            assert _same_fields(adapter._row_record(kind, name, kind), want), (kind, name)
