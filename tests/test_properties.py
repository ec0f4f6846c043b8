"""Hypothesis properties: monotonicity and scaling of the core's formulas."""

from hypothesis import given, settings
from hypothesis import strategies as st

from udfs.core import api, params, resolve

dims = st.sampled_from([64, 128, 256, 512, 1024, 2048])
arch = st.fixed_dictionaries({
    "n_layers": st.integers(1, 64),
    "d_model": dims,
    "n_heads": st.sampled_from([1, 2, 4, 8]),
    "vocab_size": st.integers(100, 200000),
    "ffn_type": st.sampled_from(["gelu", "swiglu"]),
    "norm_type": st.sampled_from(["layernorm", "rmsnorm"]),
})


@given(arch)
def test_doubling_layers_doubles_non_embedding_params(cfg):
    def non_embedding(c):
        a = resolve.model(c)
        b = params.param_breakdown(a)
        return params.total_params(a) - b["embedding/tokens"] - b["lm_head"] - b["norms"]
    doubled = dict(cfg, n_layers=2 * cfg["n_layers"])
    assert non_embedding(doubled) == 2 * non_embedding(cfg)


@given(arch, st.sampled_from(["int4", "nf4", "q4_k_m", "int8", "fp8", "q8_0", "int2"]))
def test_quantized_weights_are_smaller_than_bf16(cfg, fmt):
    assert api.weights_bytes(cfg, fmt) < api.weights_bytes(cfg, "bf16") < api.weights_bytes(cfg, "fp32")


@given(arch, st.integers(0, 100000), st.integers(0, 100000), st.integers(1, 64))
def test_memory_monotone_in_context(cfg, c1, c2, batch):
    lo, hi = sorted((c1, c2))
    assert api.infer_vram_bytes(cfg, "bf16", lo, batch) <= api.infer_vram_bytes(cfg, "bf16", hi, batch)
    assert api.kv_cache_bytes(cfg, lo, batch) <= api.kv_cache_bytes(cfg, hi, batch)


@given(arch, st.integers(1, 1000), st.integers(1, 1000))
def test_kv_linear_in_batch(cfg, ctx, batch):
    assert api.kv_cache_bytes(cfg, ctx, batch) == batch * api.kv_cache_bytes(cfg, ctx, 1)


@given(arch, st.integers(1, 32768))
def test_flops_per_token_at_least_2n(cfg, ctx):
    a = resolve.model(cfg)
    assert api.flops_per_token(cfg, ctx) >= 2 * params.matmul_params(a)


@given(arch, st.floats(1e6, 1e13))
def test_training_flops_at_least_6nd(cfg, tokens):
    a = resolve.model(cfg)
    assert api.train_flops(cfg, tokens) >= 6 * params.matmul_params(a) * tokens * (1 - 1e-12)


@settings(max_examples=50)
@given(arch, st.integers(0, 3), st.sampled_from([1, 2, 4, 8, 16]))
def test_higher_zero_stage_never_needs_more_memory(cfg, stage, gpus):
    a = api.train_breakdown(cfg, "bf16", 512, 1, gpus, stage)["total_bytes"]
    b = api.train_breakdown(cfg, "bf16", 512, 1, gpus, min(stage + 1, 3))["total_bytes"]
    assert b <= a


@given(st.floats(0, 1e9), st.floats(1, 1e9))
def test_roi_zero_when_gain_equals_cost(gain, cost):
    assert api.roi(cost, cost) == 0
    assert (api.roi(gain, cost) > 0) == (gain > cost)
