"""The column path of udfs.adapter (issue 14: a 1,000,000-row column through the Excel functions) gives, row
for row, exactly what the same function gives for each row as a single cell.

A column of one-item rows is flattened in one pass, names are coded through a dict (as bytes while there are
at most 256 distinct names), error texts and the bad-cell mask are made only when a cell has an error, and a
column without errors is written without a scatter. These tests hold every such shortcut to the single-cell
answers (a separate path: memo, plan row formula or scalar parser) over random mixed columns.
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

MODELS = catalog.model_names()
GPUS = catalog.gpu_names()
PRECISIONS = catalog.precision_names()
ODD = [None, "", " ", "#N/A", "nope", "x", True, False, 1.0, 0.0, -3.0, adapter.COM_ERROR_BASE + 2042]


def names(catalog_names):
    return st.one_of(st.sampled_from(catalog_names), st.sampled_from(ODD))


numbers = st.one_of(st.sampled_from([512.0, 4096.0, 8192.0, 1.0, 8.0, 32.0]), st.floats(-5, 200_000),
                    st.sampled_from([None, "", "abc", "#DIV/0!", True, False, math.inf, math.nan, 1e308, 2.5]),
                    st.integers(0, 64))
FUNCTIONS = {
    "LLM_INFER_VRAM_GIB": (udfs.LLM_INFER_VRAM_GIB, {"model": names(MODELS), "precision": names(PRECISIONS),
                                                     "context": numbers, "batch": numbers}),
    "LLM_DECODE_TOKPS": (udfs.LLM_DECODE_TOKPS, {"model": names(MODELS), "gpu": names(GPUS),
                                                 "precision": names(PRECISIONS), "context": numbers,
                                                 "batch": numbers}),
    "LLM_GPUS_NEEDED": (udfs.LLM_GPUS_NEEDED, {"model": names(MODELS), "gpu": names(GPUS),
                                               "precision": names(PRECISIONS), "context": numbers,
                                               "batch": numbers}),
}


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def row_by_row(fn, columns: dict, n: int) -> list:
    """Each row as a single Excel cell ([[v]]), a single argument repeated."""
    out = []
    for i in range(n):
        cell = {k: ([[v[i][0]]] if len(v) == n else v) for k, v in columns.items()}
        out.append([fn(**cell)])
    return out


@pytest.mark.parametrize("name", list(FUNCTIONS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mixed_column_equals_its_rows_as_cells(name, data):
    fn, strategies = FUNCTIONS[name]
    n = data.draw(st.integers(2, 12), label="rows")
    columns = {}
    for arg, strategy in strategies.items():
        if data.draw(st.booleans(), label=f"{arg} is a column"):
            columns[arg] = [[data.draw(strategy, label=arg)] for _ in range(n)]
        else:
            columns[arg] = [[data.draw(strategy, label=arg)]]
    if all(len(v) == 1 for v in columns.values()):
        columns["model"] = columns["model"] * n
    got = fn(**columns)
    want = row_by_row(fn, columns, n)
    assert isinstance(got, list) and len(got) == n and all(type(r) is list and len(r) == 1 for r in got)
    for i, ((g,), (w,)) in enumerate(zip(got, want)):
        assert same(g, w), (name, i, {k: v[i if len(v) == n else 0] for k, v in columns.items()}, g, w)


def test_more_than_256_distinct_names_in_a_column():
    # Precisions given as bits per weight: 300 distinct valid names, and unknown model names among known ones.
    precisions = [[f"{2 + i / 100:g}"] for i in range(300)]
    models = [[MODELS[i % len(MODELS)] if i % 7 else f"unknown-{i}"] for i in range(300)]
    got = udfs.LLM_INFER_VRAM_GIB(models, precisions, [[4096.0]], [[2.0]])
    want = row_by_row(udfs.LLM_INFER_VRAM_GIB, {"model": models, "precision": precisions,
                                                "context": [[4096.0]], "batch": [[2.0]]}, 300)
    assert len({type(r[0]) for r in got}) == 2  # numbers and '#model:' texts
    for (g,), (w,) in zip(got, want):
        assert same(g, w), (g, w)


cell_values = st.one_of(st.booleans(), st.integers(-2, 2), st.sampled_from([0.0, 1.0, 2.5, -0.0]),
                        st.text(max_size=2), st.none(), st.integers(0, 400).map(lambda i: f"name-{i}"))


@given(st.lists(cell_values, max_size=700))
@settings(max_examples=150, deadline=None)
def test_codes_give_every_cell_back_in_first_seen_order(flat):
    """A column's distinct values and each cell's number: every cell comes back as an equal value of the same
    truth kind (TRUE is never read as 1), numbered in first-seen order (also past 256 distinct values)."""
    uniques, inv = adapter._codes(flat)
    assert len(inv) == len(flat)
    for v, i in zip(flat, inv.tolist()):
        assert uniques[i] == v and isinstance(uniques[i], bool) == isinstance(v, bool), (v, uniques[i])
    firsts = []
    for i in inv.tolist():
        if i not in firsts:
            firsts.append(i)
    assert firsts == list(range(len(uniques)))


def test_a_column_with_one_two_item_row_is_one_shape_error():
    column = [["llama-3-8b"]] * 5 + [["llama-3-8b", "gpt2"]] + [["llama-3-8b"]] * 5
    got = udfs.LLM_INFER_VRAM_GIB(column, [["bf16"]], [[4096.0]], [[1.0]])
    assert isinstance(got, str) and got.startswith("#shape: a range is rows of cells"), got
    numbers = [[4096.0]] * 5 + [[4096.0, 1.0]] + [[4096.0]] * 5
    assert udfs.LLM_DECODE_TOKPS([["llama-3-8b"]], [["h100-sxm"]], [["bf16"]], numbers, [[1.0]]) == got


def test_a_column_of_one_kind_per_row_kind():
    # A column whose rows are text, numbers, blanks, TRUE and error codes all at once: the valid rows keep
    # their numbers, each other row its own text.
    column = [["llama-3-8b"], [None], [True], [4.0], ["#N/A"], [adapter.COM_ERROR_BASE + 2007], ["gpt2"], [""]]
    got = udfs.LLM_INFER_VRAM_GIB(column, [["bf16"]], [[4096.0]], [[1.0]])
    want = row_by_row(udfs.LLM_INFER_VRAM_GIB, {"model": column, "precision": [["bf16"]], "context": [[4096.0]],
                                                "batch": [[1.0]]}, len(column))
    assert [type(r[0]) for r in got] == [float, str, str, str, str, str, float, str]
    for (g,), (w,) in zip(got, want):
        assert same(g, w), (g, w)


def test_a_result_that_is_not_finite_is_a_text_in_its_row_only():
    got = udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], [[4096.0], [1e308]], [[1.0], [1e308]])
    assert isinstance(got[0][0], float)
    assert got[1][0] == udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], [[1e308]], [[1e308]])
    assert isinstance(got[1][0], str) and got[1][0].startswith("#")


def test_rows_that_are_not_all_lists():
    rows = [["llama-3-8b"], ["mistral-7b"], ["gpt2"]]
    want = udfs.LLM_INFER_VRAM_GIB(rows, [["bf16"]], [[4096.0]], [[1.0]])
    assert udfs.LLM_INFER_VRAM_GIB([tuple(r) for r in rows], [["bf16"]], [[4096.0]], [[1.0]]) == want
    assert udfs.LLM_INFER_VRAM_GIB([rows[0], tuple(rows[1]), rows[2]], [["bf16"]], [[4096.0]], [[1.0]]) == want
    assert udfs.LLM_INFER_VRAM_GIB([r[0] for r in rows], [["bf16"]], [[4096.0]], [[1.0]]) == want  # a flat list
    for odd in ("x", "llama-3-8b", {"x": 1}, None):  # a bare cell among rows: a ragged range
        got = udfs.LLM_INFER_VRAM_GIB(rows[:2] + [odd], [["bf16"]], [[4096.0]], [[1.0]])
        assert isinstance(got, str) and got.startswith("#shape: a range is rows of cells"), (odd, got)
    numbers = [[4096.0], [8192.0], [2048.0]]
    want = udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], numbers, [[1.0]])
    assert udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], [4096.0, 8192.0, 2048.0], [[1.0]]) == want
    assert udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], numbers[:2] + ["x"], [[1.0]]).startswith("#shape")


def test_a_long_column_of_repeated_rows_equals_its_rows_as_cells():
    # >= 4096 rows repeating a few distinct rows: the plan computes each distinct row once
    # (udfs.core.plan._distinct_rows), with the omitted GPU count a single value repeated.
    n = 6000
    models = [["llama-3-8b"], ["mixtral-8x7b"], ["qwen2.5-7b"]]
    cols = {"model": [models[i % 3] for i in range(n)], "gpu": [["h100-sxm"]] * n, "precision": [["int4"]] * n,
            "context": [[float(1024 * (1 + i % 5))] for i in range(n)], "batch": [[float(1 + i % 2)] for i in range(n)]}
    got = udfs.LLM_DECODE_TOKPS(**cols)
    for i in list(range(30)) + [n - 1]:
        cell = {k: [v[i]] for k, v in cols.items()}
        assert same(got[i][0], udfs.LLM_DECODE_TOKPS(**cell)), i


def test_flagged_cells_of_a_grid_keep_their_places():
    """A range's flagged number cells (blank: the default; anything else: its message, made once per distinct
    value) land in their own cells, also for a numeric array laid out column by column (Fortran order)."""
    grid = np.asfortranarray(np.array([[4096.0, np.nan, 2048.5, 4096.0], [1e12, 8192.0, 2048.5, -1.0]]))
    mixed = [[None, "8", 2.0, True], [3.0, None, "8", 0.0]]
    for context, batch in ((grid, [[1.0]]), ([[4096.0]], mixed), (grid, mixed)):
        got = udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], context, batch)
        for r in range(2):
            for c in range(4):
                one = udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["bf16"]], [[_cell(context, r, c)]],
                                              [[_cell(batch, r, c)]])
                assert same(got[r][c], one), (r, c, got[r][c], one)
    assert sum(isinstance(v, str) for row in got for v in row) == 6


def _cell(value, r, c):
    if isinstance(value, np.ndarray):
        return float(value[r, c])
    return value[r][c] if len(value) > 1 else value[0][0]
