"""The single-cell fast paths of udfs.adapter (issue 14) give exactly what the general paths give.

Excel passes every argument of a cell as ``[[value]]``. Such a call is answered, in order, from the memo
(keyed by the cell values), from ``_fast`` (names already resolved and the combination's constants kept: the
plan's one-cell row formula), from ``_scalar`` or from the array path. These tests hold the first three to
the array path (``_safe_evaluate``: the range machinery with one cell) over random inputs, good and bad, so a
faster path can never change an answer or an error text.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import udfs
from udfs import adapter
from udfs.core import catalog

MODELS = catalog.model_names()
GPUS = catalog.gpu_names()
PRECISIONS = catalog.precision_names()
KV = [r["name"] for r in catalog.precision_table().rows if r.get("kv_ok", "").strip().lower() in ("true", "1")]
ODD_TEXT = ["", "  ", "#N/A", "nope", "LLAMA-3-8B", " h100-sxm ", "4.5", "bf61", "experts=mxfp4,rest=bf16"]


def names(catalog_names):
    return st.one_of(st.sampled_from(catalog_names), st.sampled_from(ODD_TEXT), st.none())


numbers = st.one_of(
    st.floats(-10, 300_000).map(float), st.integers(0, 200_000).map(float),
    st.sampled_from([0.0, 1.0, 0.5, -1.0, 1e308, math.inf, -math.inf, math.nan, 2.0**22 + 0.5]),
    st.none(), st.sampled_from(["", "abc", "#DIV/0!", True]), st.integers(1, 64))
SITES = {
    "LLM_INFER_VRAM_GIB": (udfs.LLM_INFER_VRAM_GIB, udfs._vram_site,
                           ["model", "precision", "context", "batch", "kv_precision"]),
    "LLM_GPUS_NEEDED": (udfs.LLM_GPUS_NEEDED, udfs._gpus_needed_site,
                        ["model", "gpu", "precision", "context", "batch", "kv_precision"]),
    "LLM_DECODE_TOKPS": (udfs.LLM_DECODE_TOKPS, udfs._decode_site,
                         ["model", "gpu", "precision", "context", "batch", "gpus", "kv_precision"]),
}
STRATEGY = {"model": names(MODELS), "gpu": names(GPUS), "precision": names(PRECISIONS), "kv_precision": names(KV),
            "context": numbers, "batch": numbers, "gpus": numbers}


def general(site, vals):
    """The array path's answer for one cell (no memo, no scalar path)."""
    return adapter._safe_evaluate(site.core, site.args, vals, site.scale, site.kind)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", list(SITES))
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_path_of_a_cell_equals_the_array_path(name, data):
    fn, site, arg_names = SITES[name]
    vals = [data.draw(STRATEGY[a], label=a) for a in arg_names]
    want = general(site, vals)
    cells = [None if v is None else [[v]] for v in vals]
    first = fn(*cells)  # memo miss: _fast, _scalar or the array path
    again = fn(*cells)  # memo hit
    assert same(first, want), (vals, first, want)
    assert same(again, want)
    # a new context for the same names: the fast path answers once names and constants are known
    if isinstance(want, float) and type(vals[arg_names.index("context")]) is float:
        ctx = arg_names.index("context")
        other = list(vals)
        other[ctx] = float(int(vals[ctx]) // 2)
        assert same(fn(*[None if v is None else [[v]] for v in other]), general(site, other))


def test_the_fast_path_is_taken_once_names_and_constants_are_known(monkeypatch):
    adapter.clear_caches()
    cell = [[["llama-3-8b"]], [["h100-sxm"]], [["int4"]], [[8192.0]], [[4.0]]]
    udfs.LLM_DECODE_TOKPS(*cell)  # resolves the names, keeps the combination's constants
    calls = []
    monkeypatch.setattr(adapter, "_remember", lambda *a: calls.append(a))
    cell[3] = [[8193.0]]
    got = udfs.LLM_DECODE_TOKPS(*cell)
    assert calls == [] and isinstance(got, float)
    assert got == general(udfs._decode_site, ["llama-3-8b", "h100-sxm", "int4", 8193.0, 4.0, None, None])


def test_a_repeated_cell_is_one_memo_look_up(monkeypatch):
    cell = [[["mixtral-8x7b"]], [["fp8"]], [[32768.0]], [[8.0]]]
    first = udfs.LLM_INFER_VRAM_GIB(*cell)
    monkeypatch.setattr(adapter, "_fast", lambda *a: pytest.fail("the memo should answer"))
    monkeypatch.setattr(adapter, "_remember", lambda *a: pytest.fail("the memo should answer"))
    assert udfs.LLM_INFER_VRAM_GIB(*cell) is first


def test_bad_cells_keep_their_argument_texts():
    cases = [
        (udfs.LLM_INFER_VRAM_GIB, [[["nope"]], [["bf16"]], [[4096.0]], [[1.0]]], "#model: 'nope' is not a known model"),
        (udfs.LLM_INFER_VRAM_GIB, [[["llama-3-8b"]], [["bf16"]], [[-1.0]], [[1.0]]], "#context:"),
        (udfs.LLM_DECODE_TOKPS, [[["llama-3-8b"]], [["h100-sxm"]], [["bf16"]], [[4096.0]], [[1.5]]], "#batch:"),
        (udfs.LLM_GPUS_NEEDED, [[["llama-3-8b"]], [["#N/A"]], [["bf16"]], [[4096.0]], [[1.0]]], "#gpu:"),
        (udfs.LLM_DECODE_TOKPS, [[["llama-3-8b"]], [["h100-sxm"]], [["bf16"]], [["abc"]], [[1.0]]], "#context:"),
    ]
    for fn, cell, prefix in cases:
        for _ in range(2):  # computed, then remembered
            got = fn(*cell)
            assert isinstance(got, str) and got.startswith(prefix), (fn.__name__, cell, got)


def test_the_memo_stays_bounded_and_forgets_the_oldest_first():
    adapter.clear_caches()
    n = adapter.SCALAR_MEMO_SIZE + 10
    for i in range(n):
        udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], [[float(1000 + i)]], [[1.0]])
    assert len(adapter._scalar_memo) == adapter.SCALAR_MEMO_SIZE
    keys = list(adapter._scalar_memo)
    assert keys[0][3] == float(1000 + 10) and keys[-1][3] == float(1000 + n - 1)


def test_answers_do_not_depend_on_what_was_asked_before():
    cell = [[["qwen2.5-72b"]], [["a100-sxm-80gb"]], [["q4_k_m"]], [[131072.0]], [[32.0]]]
    warm = [udfs.LLM_GPUS_NEEDED(*cell), udfs.LLM_DECODE_TOKPS(*cell)]
    adapter.clear_caches()
    cold = [udfs.LLM_GPUS_NEEDED(*cell), udfs.LLM_DECODE_TOKPS(*cell)]
    assert warm == cold


# ---------------------------------------------------- adapter.memo_first: the memo looked up before the function
GOOD = {"model": "llama-3-8b", "gpu": "h100-sxm", "precision": "bf16", "kv_precision": "fp8", "context": 4096.0,
        "batch": 8.0, "gpus": 2.0}
ODD_VALUES = ["a", "#", " ", "", "x", "llama-3-8b", "fp8", True, False, 1, 1.0, 0.0, 8.0, None, "#N/A",
              adapter.COM_ERROR_BASE + 2042, Fraction(1, 2), 0.5]


def shapes(v):
    """The ways a value can reach a function called from Python, most of which are not a [[v]] cell."""
    out = [[[v]], v, [v], ((v,),), [(v,)], ([v],), [[v, v]], [[v], [v]], [[[v]]], [], [[]], [{v}], {v},
           np.array([[v]], dtype=object), [np.array([v], dtype=object)]]
    if isinstance(v, str):
        out += [{v: 1.0}, [{v: 1.0}], {(v,): 1.0}, [[v.encode()]], [iter([v])]]
    if isinstance(v, float):
        out += [[[np.float64(v)]], np.array([[v]])]
    return out


def fresh(fn, site, args):
    """What the function gives for ``args`` with nothing remembered (its plain body: Site.__call__)."""
    adapter.clear_caches()
    return site(list(args))


@pytest.mark.parametrize("name", list(SITES))
def test_memo_first_answers_any_shape_as_the_plain_function_does(name):
    fn, site, arg_names = SITES[name]
    base = [[[GOOD[a]]] for a in arg_names]
    checked = 0
    for pos in range(len(arg_names)):
        for v in ODD_VALUES:
            warm = list(base)
            warm[pos] = [[v]]
            for odd in shapes(v):
                args = list(base)
                args[pos] = odd
                want = fresh(fn, site, args)
                adapter.clear_caches()
                fn(*warm)  # the canonical cell of the same value remembered first
                for got in (fn(*args), fn(*args), fn.__wrapped__(*args)):
                    assert same(got, want), (name, arg_names[pos], odd, got, want)
                checked += 1
    assert checked > 500


@pytest.mark.parametrize("name", list(SITES))
def test_memo_first_keys_blanks_and_omitted_arguments_as_the_plain_function_does(name):
    fn, site, arg_names = SITES[name]
    for pos in range(1, len(arg_names)):  # every argument after the model may be omitted or blank
        for missing in (None, [[None]], [[""]], [["  "]]):
            args = [[[GOOD[a]]] for a in arg_names]
            args[pos] = missing
            want = fresh(fn, site, args)
            assert same(fn(*args), want) and same(fn(*args), want), (name, arg_names[pos], missing)
            assert same(fn.__wrapped__(*args), want)


def test_true_and_one_are_different_cells_through_memo_first():
    one = [[["llama-3-8b"]], [["bf16"]], [[4096.0]], [[1.0]]]
    true = one[:3] + [[[True]]]
    adapter.clear_caches()
    a, b = udfs.LLM_INFER_VRAM_GIB(*one), udfs.LLM_INFER_VRAM_GIB(*true)
    assert isinstance(a, float) and isinstance(b, str) and b.startswith("#batch:"), (a, b)
    assert udfs.LLM_INFER_VRAM_GIB(*true) == b and udfs.LLM_INFER_VRAM_GIB(*one) == a


def test_a_repeated_cell_does_not_reach_site_call(monkeypatch):
    cell = [[["qwen2.5-7b"]], [["l40s"]], [["int8"]], [[2048.0]], [[4.0]]]
    first = udfs.LLM_DECODE_TOKPS(*cell)
    monkeypatch.setattr(adapter.Site, "__call__", lambda *a: pytest.fail("the memo should answer"))
    assert udfs.LLM_DECODE_TOKPS(*cell) is first


@pytest.mark.parametrize("name", list(SITES))
def test_memo_first_keeps_the_plain_function_signature_and_doc(name):
    import inspect
    fn = SITES[name][0]
    plain = fn.__wrapped__
    assert fn.__name__ == plain.__name__ == name and fn.__doc__ == " ".join(plain.__doc__.split())  # excel() folds it
    assert fn.__code__.co_varnames[:fn.__code__.co_argcount] == plain.__code__.co_varnames[:plain.__code__.co_argcount]
    assert fn.__defaults__ == plain.__defaults__
    assert inspect.signature(fn, follow_wrapped=False) == inspect.signature(plain)


def test_memo_first_is_not_consulted_when_an_extra_argument_is_given(monkeypatch):
    cell = [[["llama-3-8b"]], [["h100-sxm"]], [["bf16"]], [[4096.0]], [[8.0]]]
    plain = udfs.LLM_DECODE_TOKPS(*cell)
    with_engine = udfs.LLM_DECODE_TOKPS(*cell, engine=[["sglang"]])
    assert isinstance(with_engine, float) and with_engine != plain  # the engine's own figures, not the memo's
    assert udfs.LLM_DECODE_TOKPS(*cell, engine=[[None]]) == plain  # a blank engine is no engine
    assert udfs.LLM_INFER_VRAM_GIB(model=cell[0], precision=cell[2], context=cell[3], batch=cell[4]) == \
        udfs.LLM_INFER_VRAM_GIB(*[cell[0], cell[2], cell[3], cell[4]])


def test_memo_first_refuses_a_function_without_the_site_arguments():
    with pytest.raises(TypeError):
        adapter.memo_first(udfs._vram_site)(lambda model, precision: None)
    with pytest.raises(TypeError):
        adapter.memo_first(udfs._vram_site, when_omitted=("engine",))(
            lambda model, precision, context, batch, kv_precision: None)


def test_every_function_answers_a_repeated_cell_from_the_memo(monkeypatch):
    """Each function's documented example, passed as Excel passes cells ([[v]], ints as floats), is computed once;
    the same cell again is one memo look-up (the memo keys calls by the core function and the Arg objects, so a
    function that built a new core or new Args on every call would never be answered from it)."""
    from udfs.reference import EXAMPLES

    def cells(example):
        return [[[float(v) if type(v) is int else v]] for v in example]

    first = {name: getattr(udfs, name)(*cells(ex)) for name, ex in EXAMPLES.items()}
    interned = len(adapter._INTERNED)
    for stage in ("_fast", "_remember", "_evaluate_cells"):
        monkeypatch.setattr(adapter, stage, lambda *a, _s=stage: pytest.fail(f"the memo should answer ({_s})"))
    for name, ex in EXAMPLES.items():
        again = getattr(udfs, name)(*cells(ex))
        assert again is first[name] or again == first[name], name
    assert len(adapter._INTERNED) == interned  # the same Args again: none made anew (none kept per call)
