"""The per-combination plans (udfs.core.plan) against the plain core path, and their two forms against each other.

A plan restates, for the part that varies per cell, a core formula; these properties are what allows that:
over random catalog models, precisions, KV precisions, GPUs, contexts, batches and GPU counts (and random
custom architectures), every plan equals ``udfs.core.api`` within 1e-12 relative, raises where the core
raises, and its scalar form (one Excel cell) and column form (a range) agree to the last bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import udfs
from udfs import adapter
from udfs.core import api, catalog, plan, resolve
from udfs.core.errors import ScalesheetError

MODELS = catalog.model_names()
GPUS = catalog.gpu_names()
PRECISIONS = catalog.precision_names() + [4.5, 3.0, 16]
KV = [r["name"] for r in catalog.precision_table().rows if r.get("kv_ok", "").strip().lower() in ("true", "1")] + [8]

contexts = st.one_of(st.integers(0, 2_000_000), st.sampled_from([0, 1, 4095, 4096, 4097, 131072]))
batches = st.integers(1, 512)
gpu_counts = st.sampled_from([1, 2, 3, 4, 8, 16, 64])
cases = st.fixed_dictionaries({
    "model": st.sampled_from(MODELS), "gpu": st.sampled_from(GPUS), "precision": st.sampled_from(PRECISIONS),
    "kv_precision": st.sampled_from(KV), "context": contexts, "batch": batches, "gpus": gpu_counts})

# (plan, core function, the arguments the core takes)
PLANS = [
    (plan.VRAM, api.infer_vram_bytes, ("model", "precision", "context", "batch", "kv_precision")),
    (plan.GPUS_NEEDED, api.gpus_needed, ("model", "gpu", "precision", "context", "batch", "kv_precision")),
    (plan.DECODE, api.decode_tokps, ("model", "gpu", "precision", "context", "batch", "gpus", "kv_precision")),
]
LOOKUP = {"model": resolve.model, "gpu": resolve.gpu, "precision": resolve.precision,
          "kv_precision": resolve.kv_precision}


def core_value(core, names, case):
    try:
        return float(core(**{n: case[n] for n in names}))
    except ScalesheetError as exc:
        return exc


def plan_scalar(p, case, keyed=True):
    try:
        kw = {n: LOOKUP[n](case[n]) for n in p.records}
        kw.update({n: float(case[n]) for n in p.numbers})
        keys = {n: (n, repr(case[n])) for n in p.records} if keyed else {}
        return float(p.scalar(kw, keys))
    except ScalesheetError as exc:
        return exc


def same(a, b) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


@pytest.mark.parametrize("p,core,names", PLANS, ids=[p[0].name for p in PLANS])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_plan_equals_the_core(p, core, names, case):
    want = core_value(core, names, case)
    got = plan_scalar(p, case)
    assert same(got, want), f"{p.name}{case}: plan {got!r}, core {want!r}"
    assert same(plan_scalar(p, case, keyed=False), want)  # uncached constants too


dims = st.sampled_from([64, 128, 256, 512, 1024, 4096])
custom = st.fixed_dictionaries({
    "n_layers": st.integers(1, 96), "d_model": dims, "n_heads": st.sampled_from([1, 2, 4, 8, 16]),
    "vocab_size": st.integers(100, 300000), "ffn_type": st.sampled_from(["gelu", "swiglu"]),
    "norm_type": st.sampled_from(["layernorm", "rmsnorm"])})


@pytest.mark.parametrize("p,core,names", PLANS, ids=[p[0].name for p in PLANS])
@settings(max_examples=100, deadline=None)
@given(cfg=custom, case=cases)
def test_plan_equals_the_core_for_custom_architectures(p, core, names, cfg, case):
    case = dict(case, model=resolve.model(cfg))
    assert same(plan_scalar(p, case, keyed=False), core_value(core, names, case))


@pytest.mark.parametrize("p,core,names", PLANS, ids=[p[0].name for p in PLANS])
@settings(max_examples=40, deadline=None)
@given(rows=st.lists(cases, min_size=1, max_size=60))
def test_column_form_is_bit_identical_to_the_scalar_form(p, core, names, rows):
    scalar = [plan_scalar(p, r) for r in rows]
    ok = [i for i, v in enumerate(scalar) if not isinstance(v, Exception)]
    if not ok:
        return
    rows = [rows[i] for i in ok]
    columns = {}
    for n in p.records:
        uniques, codes = catalog.factorize([repr(r[n]) for r in rows])
        first = {repr(r[n]): r[n] for r in rows}
        table = adapter.LOOKUPS[n](np.array([first[u] for u in uniques], dtype=object), n)
        columns[n] = (codes, table)
    for n in p.numbers:
        columns[n] = (np.array([float(r[n]) for r in rows]), None)
    got = p.column(columns, {})
    assert [float(x) for x in np.broadcast_to(got, (len(rows),))] == [scalar[i] for i in ok]


def test_excel_range_and_cells_agree_exactly_through_the_plans():
    rng = np.random.default_rng(3)
    n = 300
    pick = lambda xs: [xs[i] for i in rng.integers(0, len(xs), n)]  # noqa: E731
    m, g = pick(["llama-3-8b", "mixtral-8x7b", "gemma-2-9b", "qwen2.5-72b", "deepseek-moe-16b"]), \
        pick(["h100-sxm", "rtx-4090", "l4", "mi300x"])
    p, c, b, k = pick(["bf16", "int4", "q4_k_m", 4.5]), rng.integers(0, 200_000, n).tolist(), \
        rng.integers(1, 64, n).tolist(), pick([1, 2, 4, 8])
    col = lambda xs: [[x] for x in xs]  # noqa: E731
    for fn, args in ((udfs.LLM_INFER_VRAM_GIB, (m, p, c, b)), (udfs.LLM_GPUS_NEEDED, (m, g, p, c, b)),
                     (udfs.LLM_DECODE_TOKPS, (m, g, p, c, b, k))):
        ranged = fn(*[col(a) for a in args])
        for i in range(n):
            cell = fn(*[[[a[i]]] for a in args])
            assert ranged[i][0] == cell, (fn.__name__, i, ranged[i][0], cell)


def test_plans_answer_the_hot_functions_and_keep_constants_per_combination():
    plan.clear_caches()
    adapter.clear_caches()
    for ctx in (1000.0, 2000.0, 3000.0):
        udfs.LLM_INFER_VRAM_GIB([["llama-3-8b"]], [["int4"]], [[ctx]], [[8.0]])
    assert len(plan.VRAM._cache) == 1  # one combination, three contexts
    assert adapter._plan_for(api.decode_tokps, [udfs.MODEL, udfs.GPU, udfs.PREC, udfs.CTX, udfs.BATCH, udfs.GPUS,
                                                udfs.KVP]) is plan.DECODE
    assert adapter._plan_for(api.decode_tokps, [udfs.MODEL, udfs.GPU]) is None  # missing arguments: the core


def test_scaling_and_expert_parts_use_the_core():
    for g in (1.0, 2.0, 3.0, 8.0):
        assert plan._scaling(g) == pytest.approx(float(g * __import__("udfs.core.speed").core.speed
                                                       .scaling_efficiency(g)), rel=0, abs=0)
    assert plan._untouched(0.0, 0.25, 8.0) == 0.0
    assert plan._untouched(1.0, 0.25, 1.0) == pytest.approx(0.75)
    assert math.isclose(plan._untouched(1.0, 0.25, 2.0), 0.75 ** 2)


def test_one_catalog_row_gives_the_same_record_as_the_whole_catalog():
    """The first scalar call of a session parses only the model it names (adapter._one_model)."""
    whole = catalog._model_arrays()
    catalog._model_arrays.cache_clear()
    try:
        for pos, name in enumerate(MODELS):
            one = adapter._one_model(name, "model")
            full = whole.take(pos)
            for f in whole.__dataclass_fields__:
                if f != "cache":
                    assert np.array_equal(np.asarray(getattr(one, f)), np.asarray(getattr(full, f))), (name, f)
            for p_ in (plan.VRAM, plan.DECODE):
                kw = {"model": one, "gpu": resolve.gpu("h100-sxm"), "precision": resolve.precision("int4"),
                      "kv_precision": resolve.kv_precision("fp8")}
                a = p_.constants(**{n: kw[n] for n in p_.records})
                b = p_.constants(**{n: (full if n == "model" else kw[n]) for n in p_.records})
                assert all(np.array_equal(a[k], b[k]) for k in a), (name, p_.name)
    finally:
        catalog._model_arrays.cache_clear()
    assert catalog._model_arrays.cache_info().currsize == 0


def test_a_long_column_of_repeated_rows_equals_its_cells():
    """Past 4,096 rows a column computes each distinct (combination, numbers) row once (plan._distinct_rows)
    and in chunks; every cell must still equal its own single-cell answer."""
    rng = np.random.default_rng(11)
    n = 20000
    m = [["llama-3-8b", "mixtral-8x7b", "gemma-2-9b"][i] for i in rng.integers(0, 3, n)]
    g = [["h100-sxm", "l4"][i] for i in rng.integers(0, 2, n)]
    c = rng.choice([0, 512, 4096, 65536], n).tolist()
    b = rng.choice([1, 8, 64], n).tolist()
    k = rng.choice([1, 2, 8], n).tolist()
    col = lambda xs: [[x] for x in xs]  # noqa: E731
    got = udfs.LLM_DECODE_TOKPS(col(m), col(g), "int4", col(c), col(b), col(k))
    vram = udfs.LLM_INFER_VRAM_GIB(col(m), "int4", col(c), col(b))
    seen = {}
    for i in range(n):
        key = (m[i], g[i], c[i], b[i], k[i])
        if key not in seen:
            seen[key] = (udfs.LLM_DECODE_TOKPS(m[i], g[i], "int4", c[i], b[i], k[i]),
                         udfs.LLM_INFER_VRAM_GIB(m[i], "int4", c[i], b[i]))
        assert (got[i][0], vram[i][0]) == seen[key], (i, key)
    rows, back = plan._distinct_rows(np.zeros(n, dtype=np.intp), [np.arange(n, dtype=float)])
    assert rows is None  # all rows distinct: computed row by row
