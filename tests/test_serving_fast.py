"""The fast SLO search (serving.slo_plan: replica sizes as one axis, a table of inter-token latencies over the
concurrencies the bisection can visit, the prefill share hoisted, a memo for repeated single-value calls)
gives the numbers of the straightforward search, which evaluates serve_tokps / request_capacity at every
bisection step for one replica size at a time (kept here as the reference, as it stood before)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from udfs.core import api, serving as S, speed
from udfs.core.errors import ScalesheetError

KEYS = ("gpus", "replicas", "gpus_per_replica", "concurrency", "capacity")


# ------------------------------------------------------------------------------ the reference
def _f(x):
    return np.asarray(x, dtype=np.float64)


def reference_rho_for_wait(service_s, budget_s, percentile):
    lo = np.zeros(np.shape(budget_s))
    hi = np.full(np.shape(budget_s), 0.999)
    for _ in range(40):
        mid = (lo + hi) / 2
        ok = S.md1_wait(mid, service_s, percentile) <= budget_s
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return np.where(budget_s >= 0, lo, 0.0)


def reference_slo_plan(a, gpu, p, kv, requests_per_s, prompt, output, ttft_target_s, tokps_per_user, engine=None,
                       calibration=None, percentile=0.95, sizes=S.REPLICA_SIZES) -> dict:
    lam, P_, O = _f(requests_per_s), _f(prompt), _f(output)
    engine = speed.engine_params(engine, gpu, p)
    shape = np.broadcast_shapes(lam.shape, P_.shape, O.shape, _f(ttft_target_s).shape, _f(tokps_per_user).shape,
                                np.shape(gpu.memory_gib), np.shape(a.n_layers), np.shape(p.bits))
    best = {k: np.full(shape, np.inf) for k in KEYS}
    for t in sizes:
        nmax = S.max_concurrency(a, gpu, p, kv, P_ + O, t, engine)
        lo, hi = np.zeros(shape), np.broadcast_to(nmax, shape).astype(np.float64)
        ok1 = S.serve_tokps(a, gpu, p, kv, 1, P_, O, t, engine, calibration, per_user=True) >= tokps_per_user
        for _ in range(12):
            mid = np.maximum(np.floor((lo + hi + 1) / 2), 1)
            fast = S.serve_tokps(a, gpu, p, kv, mid, P_, O, t, engine, calibration, per_user=True) >= tokps_per_user
            lo = np.where(fast & (mid <= hi), np.maximum(lo, mid), lo)
            hi = np.where(fast, hi, np.minimum(hi, mid - 1))
        n = np.where(ok1 & (nmax >= 1), np.maximum(lo, 1), 0)
        s = speed.ttft_s(a, gpu, p, P_, 1, t, engine, calibration)
        cap = np.where(n >= 1, S.request_capacity(a, gpu, p, kv, np.maximum(n, 1), P_, O, t, engine, calibration), 0)
        rho = reference_rho_for_wait(s, _f(ttft_target_s) - s, percentile)
        with np.errstate(divide="ignore", invalid="ignore"):
            reps = np.where((n >= 1) & (rho > 0) & (cap > 0), np.maximum(np.ceil(lam / (rho * cap) - 1e-9), 1), np.inf)
        total = reps * t
        better = total < best["gpus"]
        for k, v in (("gpus", total), ("replicas", reps), ("gpus_per_replica", np.full(shape, float(t))),
                     ("concurrency", n), ("capacity", cap)):
            best[k] = np.where(better, v, best[k])
    return best


# ------------------------------------------------------------------------------ the cases
MODELS = ["llama-3.1-8b", "llama-3.1-70b", "qwen2.5-0.5b", "mixtral-8x7b", "deepseek-v3", "qwen3-30b-a3b",
          "qwen3-next-80b-a3b", "gemma-2-9b", "gemma-3-27b", "gpt-oss-20b", "llama-4-scout", "nemotron-h-56b",
          "jamba-mini-1.5", "phi-2", "gpt2", "falcon-7b", "kimi-k2"]
GPUS = ["h100-sxm", "h200-sxm", "a100-sxm-40gb", "l4", "t4", "rtx-4090", "rtx-3090", "rtx-5090", "mi300x",
        "apple-m2-ultra", "apple-m4-max", "gaudi2", "tpu-v5e", "b200", "rtx-pro-6000-blackwell"]
PRECISIONS = [None, "bf16", "fp16", "fp8", "int8", "int4", "q4_k_m", "q8_0", "mxfp4", "nvfp4", "fp32",
              "experts=mxfp4,rest=bf16"]
KV = [None, "fp16", "fp8", "bf16"]
ENGINES = [None, "vllm", "sglang", "tensorrt-llm", "llama.cpp", "mlx", "transformers"]

case = st.fixed_dictionaries({
    "model": st.sampled_from(MODELS),
    "gpu": st.sampled_from(GPUS),
    "requests_per_s": st.floats(0.0, 500.0),
    "prompt_tokens": st.integers(1, 64000).map(float),
    "output_tokens": st.integers(0, 8000).map(float),
    "ttft_s": st.floats(0.01, 60.0),
    "tokens_per_s_per_user": st.floats(0.5, 300.0),
    "precision": st.sampled_from(PRECISIONS),
    "kv_precision": st.sampled_from(KV),
    "engine": st.sampled_from(ENGINES),
    "band": st.sampled_from([None, "low", "base", "high"]),
    "calibration": st.one_of(st.none(), st.floats(0.3, 3.0)),
    "percentile": st.one_of(st.none(), st.floats(0.5, 0.999)),
})


def both(kw):
    """(fast answer, reference answer) of api.slo_plan's arguments; (error, error) when the inputs are refused."""
    try:
        a, g, p, kv, e = api._serving_args(kw["model"], kw["gpu"], kw["precision"], kw["kv_precision"], kw["engine"])
        cal = api._speed_factor(kw["calibration"], kw["band"], "time")
        pct = 0.95 if kw["percentile"] is None else kw["percentile"]
        args = (a, g, p, kv, kw["requests_per_s"], kw["prompt_tokens"], kw["output_tokens"], kw["ttft_s"],
                kw["tokens_per_s_per_user"], e, cal, pct)
    except ScalesheetError:
        return None, None
    try:
        want = reference_slo_plan(*args)
    except ScalesheetError as exc:
        want = exc
    try:
        got = S.slo_plan(*args)
    except ScalesheetError as exc:
        got = exc
    return got, want


def assert_same(got, want):
    if isinstance(want, Exception):
        assert type(got) is type(want) and str(got) == str(want)
        return
    for k in KEYS:
        g, w = np.asarray(got[k]), np.asarray(want[k])
        assert g.shape == w.shape, k
        if k == "capacity":
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=0, err_msg=k)
        else:
            np.testing.assert_array_equal(g, w, err_msg=k)  # whole numbers and inf: exactly


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kw=case)
def test_fast_slo_plan_equals_the_step_by_step_search(kw):
    S._SLO_MEMO.clear()
    got, want = both(kw)
    if want is None:
        return
    assert_same(got, want)
    again, _ = both(kw)  # memo hit: the same answer, and a copy the caller may change
    assert_same(again, want)
    if not isinstance(again, Exception):
        assert again["gpus"] is not got["gpus"]
        again["gpus"][...] = -1
        assert_same(both(kw)[0], want)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kw=case, gpus=st.lists(st.sampled_from(GPUS[:9]), min_size=1, max_size=3),
       prompts=st.lists(st.integers(1, 32000).map(float), min_size=1, max_size=3), table=st.booleans())
def test_arrays_and_the_untabulated_search_equal_the_reference(kw, gpus, prompts, table):
    """Arrays of GPUs x prompts (not memoised), by the table and by evaluating every step (large arrays)."""
    kw = dict(kw, gpu=np.array(gpus, dtype=object)[:, None], prompt_tokens=np.array(prompts)[None, :],
              engine=kw["engine"] if kw["engine"] in (None, "llama.cpp", "transformers") else None)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(S, "_CANDIDATE_CELLS", S._CANDIDATE_CELLS if table else 0)
        got, want = both(kw)
    if want is None:
        return
    assert_same(got, want)


def test_the_search_tabulates_small_calls_and_steps_through_large_ones(monkeypatch):
    """Both paths are taken where they should be: a single cell by the table, a huge array step by step."""
    seen = []
    real = speed.decode_step_s

    def spy(*args, **kw):
        seen.append(np.shape(args[4]))
        return real(*args, **kw)
    monkeypatch.setattr(speed, "decode_step_s", spy)
    S._SLO_MEMO.clear()
    api.slo_plan("llama-3.1-8b", "h100-sxm", 5.0, 1000.0, 200.0, 2.0, 20.0)
    assert len(seen) == 1 and seen[0][0] > 1  # one evaluation over the candidate concurrencies
    seen.clear()
    monkeypatch.setattr(S, "_CANDIDATE_CELLS", 0)
    S._SLO_MEMO.clear()
    api.slo_plan("llama-3.1-8b", "h100-sxm", 5.0, 1000.0, 200.0, 2.0, 20.0)
    assert len(seen) == 14 and seen[0] == (len(S.REPLICA_SIZES),)  # n = 1, 12 bisection steps, capacity at n


def test_memo_keys_every_argument():
    """A repeated call answers from the memo; changing any one argument (a model field included) does not."""
    S._SLO_MEMO.clear()
    base = dict(model="llama-3.1-8b", gpu="h100-sxm", requests_per_s=20.0, prompt_tokens=1000.0,
                output_tokens=200.0, ttft_s=1.0, tokens_per_s_per_user=30.0)
    first = api.slo_plan(**base)
    assert len(S._SLO_MEMO) == 1
    api.slo_plan(**base)
    assert len(S._SLO_MEMO) == 1
    for change in ({"requests_per_s": 40.0}, {"prompt_tokens": 2000.0}, {"output_tokens": 400.0}, {"ttft_s": 0.5},
                   {"tokens_per_s_per_user": 60.0}, {"gpu": "h200-sxm"}, {"model": "llama-3.1-70b"},
                   {"precision": "fp8"}, {"kv_precision": "fp8"}, {"engine": "sglang"}, {"band": "low"},
                   {"calibration": 1.2}, {"percentile": 0.99}):
        n = len(S._SLO_MEMO)
        api.slo_plan(**{**base, **change})
        assert len(S._SLO_MEMO) == n + 1, change
    assert api.slo_plan(**{**base, "requests_per_s": 40.0})["replicas"] >= first["replicas"]


@pytest.mark.parametrize("pct", [None, 0.5, 0.95, 0.999])
def test_rho_for_wait_equals_the_bisection_on_md1_wait(pct):
    rng = np.random.default_rng(7)
    s = rng.uniform(0.001, 5.0, 500)
    budget = rng.uniform(-1.0, 20.0, 500)
    np.testing.assert_array_equal(S._rho_for_wait(s, budget, pct), reference_rho_for_wait(s, budget, pct))


@pytest.mark.parametrize("pct", [None, 0.5, 0.95, 0.999])
def test_rho_for_wait_of_a_few_cells_equals_the_bisection_on_md1_wait(pct):
    """The cell-by-cell path (a plan's four replica sizes, one value) gives the array bisection's bits."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(1, 5))
        s = rng.uniform(0.001, 5.0, n) * rng.choice([1e-3, 1.0, 1e3])
        budget = rng.uniform(-1.0, 20.0, n) * rng.choice([1e-3, 1.0, 1e3])
        got = S._rho_for_wait(s, budget, pct)
        np.testing.assert_array_equal(got, reference_rho_for_wait(s, budget, pct))
        assert got.shape == (n,)
    one = S._rho_for_wait(np.float64(0.2), np.float64(1.5), pct)
    assert np.shape(one) == () and one == reference_rho_for_wait(np.float64(0.2), np.float64(1.5), pct)


def test_memo_key_is_the_records_values_not_their_derived_cache():
    """A model record's cache of derived arrays (filled as functions use it) does not change its memo key;
    a record with one field changed has another key."""
    import dataclasses
    a, g, p, kv, e = api._serving_args("llama-3.1-8b", "h100-sxm", None, None, None)
    before = S._record_value(a)
    api.params_total(a)  # fills a.cache
    a.cache["extra"] = {"x": np.arange(3.0)}
    assert S._record_value(a) == before
    assert S._record_value(dataclasses.replace(a, n_layers=np.float64(33.0))) != before
    assert S._record_value(dataclasses.replace(g, fp16_acc16_tflops=np.float64(np.nan))) == \
        S._record_value(dataclasses.replace(g, fp16_acc16_tflops=np.float64(np.nan)))  # NaN equals itself here
    assert S._record_key(a) is S._record_key(a) and S._record_key(a) == before  # by identity the second time


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kw=case, n=st.integers(1, 300).map(float), gpus=st.sampled_from([1.0, 2.0, 4.0, 8.0]))
def test_remembered_inter_token_latency_equals_a_fresh_one(kw, n, gpus):
    """itl_s remembers single-value calls: the answer equals a fresh computation, and the speed / cost
    functions that share it (total and per user, input and output) equal their formulas."""
    try:
        a, g, p, kv, e = api._serving_args(kw["model"], kw["gpu"], kw["precision"], kw["kv_precision"], kw["engine"])
        cal = api._speed_factor(kw["calibration"], kw["band"], "speed")
        args = (a, g, p, kv, n, kw["prompt_tokens"], kw["output_tokens"], gpus, e, cal)
        S._ITL_MEMO.clear()
        fresh = S.itl_s(*args)
    except ScalesheetError:
        return
    assert S.itl_s(*args) == fresh  # from the memo
    O = max(kw["output_tokens"], 1.0)
    mid = kw["prompt_tokens"] + O / 2
    by_hand = (speed.decode_step_s(a, g, p, mid, n, gpus, kv, e, cal)
               + n / O * speed.prefill_compute_s(a, g, p, kw["prompt_tokens"], gpus, e, cal))
    assert fresh == by_hand
    assert S.serve_tokps(*args, per_user=True) == 1 / fresh and S.serve_tokps(*args) == n / fresh
    for i, changed in ((4, n + 1), (5, kw["prompt_tokens"] + 1), (6, kw["output_tokens"] + 1), (7, gpus * 2)):
        other = list(args)
        other[i] = changed
        S._ITL_MEMO.clear()
        want = S.itl_s(*other)
        S._ITL_MEMO.clear()
        S.itl_s(*args)
        assert S.itl_s(*other) == want  # a different key, not the remembered answer of args


def test_remembered_answers_follow_an_engine_table_changed_in_place(monkeypatch):
    """The memos key the engine table's values too: a changed engine field gives a new answer."""
    S._SLO_MEMO.clear()
    S._ITL_MEMO.clear()
    args = ("llama-3.1-8b", "h100-sxm", 20.0, 1000.0, 200.0, 1.0, 30.0)
    before = api.slo_plan(*args, engine="vllm")["capacity"]
    itl_before = api.serve_tokps("llama-3.1-8b", "h100-sxm", 8.0, 1000.0, 200.0, engine="vllm")
    monkeypatch.setitem(speed._engine_table()["vllm"], "bw_eff", 0.4)
    assert api.slo_plan(*args, engine="vllm")["capacity"] < before
    assert api.serve_tokps("llama-3.1-8b", "h100-sxm", 8.0, 1000.0, 200.0, engine="vllm") < itl_before
