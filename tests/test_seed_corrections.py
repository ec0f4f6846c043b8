"""Seed corrections (docs/seed-corrections.md): each corrected figure through the core and the Excel
functions, against an independent hand formula written here; and every formula of workbook/seed_claims.csv
(the workbook's "Seed check" sheet) evaluated to a finite number with the contract functions only.

The five seeds are planning notes the product was created from (see docs/seed-corrections.md for the
quotes). Numbers below are written out so a reader can check them by hand.
"""

from __future__ import annotations

import csv
import math
import os
import re

import numpy as np
import pytest

import udfs
from udfs.core import api, architecture, catalog, flops, params, training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLAIMS_CSV = os.path.join(ROOT, "workbook", "seed_claims.csv")
COLUMNS = ["id", "seed_file", "section", "claim", "claimed_value", "claimed_unit", "excel_formula", "our_unit",
           "verdict", "explanation"]
SEED_FILES = {"000_e108848d2ed12913.txt", "001_19325b23a371b314.txt", "002_8da3fdfac9bfcb36.txt",
              "003_2a4f61b102bb0e11.txt", "004_d22d35b6beeb8434.txt"}
GIB = 2**30
GB = 1e9


def f(x) -> float:
    return float(np.asarray(x).reshape(-1)[0])


def custom(n_layers, d_model, n_heads, vocab_size, **more):
    """A user's model range as the Excel functions receive it (field names over values)."""
    rec = {"n_layers": n_layers, "d_model": d_model, "n_heads": n_heads, "vocab_size": vocab_size, **more}
    return rec


# Seed 002's configurations: (vocab, d_model, n_heads, n_layers)
SEED_002 = {
    "tiny": (1000, 128, 4, 2),
    "startup_mvp": (5000, 256, 8, 4),
    "budget": (5000, 256, 4, 4),
    "production": (15000, 512, 8, 6),
    "research": (50000, 1024, 16, 12),
    "massive": (100000, 2048, 32, 24),
}


def seed_002_weights(V, d, H, L):
    """Seed 002's 'Model Weights = vocab_size x d_model + n_layers x n_heads x d_model^2'."""
    return V * d + L * H * d * d


def gpt_params(V, d, L):
    """A GPT-style decoder with the defaults of a model range (4x GELU MLP, two LayerNorms, no biases,
    untied output head, RoPE): embedding + head 2Vd, per layer 4d^2 attention + 8d^2 MLP + 2 x 2d norms,
    final norm 2d."""
    return 2 * V * d + L * 12 * d * d + (2 * L + 1) * 2 * d


# ------------------------------------------------------------------------------------------ seed 000
def test_400m_params_need_0_8_gb_of_bf16_weights_and_6_4_gb_to_train():
    # Generic 400M: 2 bytes/param in bf16, 16 bytes/param for mixed-precision AdamW (ZeRO paper sec. 3.1)
    assert 400e6 * 2 == 0.8e9
    per_param = training.model_state_bytes_per_param(catalog.precisions("bf16"))
    assert sum(f(v) for v in per_param.values()) == 2 + 2 + 4 + 8 == 16
    assert 400e6 * 16 == 6.4e9
    # Pythia-410M by hand: 2 x 50304 x 1024 + 24 x (4 x 1024^2 + 4 x 1024 biases + 2 x 1024 x 4096
    # + 4096 + 1024 biases + 2 x 2 x 1024 LayerNorms) + 2 x 1024 final LayerNorm
    d, F, L, V = 1024, 4096, 24, 50304
    n = 2 * V * d + L * (4 * d * d + 4 * d + 2 * d * F + F + d + 4 * d) + 2 * d
    assert n == 405_334_016
    assert f(api.params_total("pythia-410m")) == n
    assert f(api.weights_bytes("pythia-410m", "bf16")) == 2 * n
    assert udfs.LLM_WEIGHTS_GIB("pythia-410m", "bf16") * GIB == pytest.approx(2 * n)
    states = sum(f(api.train_breakdown("pythia-410m", "bf16", 2048, 1)[k])
                 for k in ("weights_bytes", "gradients_bytes", "optimizer_bytes"))
    assert states == 16 * n
    # The seed's 300 GB baseline is 370x the weights and 46x the training states
    assert 300e9 / (2 * n) == pytest.approx(370.07, abs=0.01)
    assert 300e9 / (16 * n) == pytest.approx(46.3, abs=0.1)
    # ... and 1B: 750 GB claimed, 2.02 GB of weights
    assert 750e9 / f(api.weights_bytes("pythia-1b", "bf16")) > 350


def test_h200_holds_75b_bf16_parameters_not_188m():
    usable = (141 - 1) * GIB  # catalog 141 GiB minus the 1 GiB runtime overhead
    assert udfs.LLM_MAX_PARAMS("h200", "bf16") == math.floor(usable * 8 / 16) == 75_161_927_680
    # training: 16 bytes/param = 8 x the 2 bf16 bytes
    assert udfs.LLM_MAX_PARAMS("h200", "bf16") / 8 == pytest.approx(usable / 16)
    assert udfs.LLM_MAX_PARAMS("h200", "bf16") / 8 > 20 * 420e6
    assert udfs.LLM_MAX_PARAMS("h200", "bf16", 8) == math.floor(8 * usable * 8 / 16)


def test_rtx_2080_super_bandwidth_is_the_datasheet_496():
    bw = udfs.GPU_SPEC("rtx-2080-super", "bandwidth_gb_s")
    assert bw == 496 == 15.5 * 256 / 8          # 15.5 Gbps x 256-bit bus / 8 bits per byte
    assert "15.5 Gbps" in udfs.GPU_SPEC("rtx-2080-super", "source")
    assert udfs.GPU_SPEC("h200", "bandwidth_gb_s") / bw == pytest.approx(4800 / 496)
    assert 4800 / 448 == pytest.approx(10.7, abs=0.05)  # the seed's ratio uses 448 GB/s


def test_h200_989_tflops_is_dense_bf16_and_the_89x_mixes_precisions():
    h200_bf16 = udfs.GPU_SPEC("h200", "bf16_tflops")
    assert h200_bf16 == pytest.approx(1978.9 / 2, abs=0.1)   # datasheet 1,979 with 2:4 sparsity, halved
    assert h200_bf16 == pytest.approx(989, abs=1)
    fp32_2080s = udfs.GPU_SPEC("rtx-2080-super", "fp32_tflops")
    assert fp32_2080s == pytest.approx(3072 * 2 * 1.815e9 / 1e12, abs=0.01)  # 11.15 = CUDA-core FP32
    assert 989 / 11.1 == pytest.approx(89, abs=0.2)                            # the seed's mixed ratio
    like_for_like = h200_bf16 / udfs.GPU_SPEC("rtx-2080-super", "fp16_tflops")  # tensor vs tensor
    assert 20 < like_for_like < 25
    assert udfs.GPU_SPEC("h200", "fp32_tflops") / fp32_2080s == pytest.approx(6.0, abs=0.1)


def test_vram_reductions_do_not_compound():
    none = api.train_breakdown("pythia-410m", "bf16", 2048, 8)
    full = api.train_breakdown("pythia-410m", "bf16", 2048, 8, checkpointing="full")
    for k in ("weights_bytes", "gradients_bytes", "optimizer_bytes"):   # untouched by checkpointing
        assert f(none[k]) == f(full[k])
    assert f(full["activations_bytes"]) < f(none["activations_bytes"]) / 3   # fp32 logits stay
    kept = f(full["total_bytes"]) / f(none["total_bytes"])
    assert 0.45 < kept < 0.6 and kept > 4 * 0.125


def test_seed_roi_uses_revenue_instead_of_profit():
    # Seed: ($2M - $30K) / $30K = 6,567 %. PLAN_ROI is (gain - cost) / cost: the same arithmetic, so the
    # error is the input: the gain must be profit (revenue - running costs), not revenue.
    assert udfs.PLAN_ROI(2e6, 30e3) == pytest.approx((2e6 - 30e3) / 30e3) == pytest.approx(65.667, abs=1e-3)
    assert udfs.PLAN_ROI(5e6, 60e3) == pytest.approx(82.333, abs=1e-3) == udfs.PLAN_ROI(10e6, 120e3)
    electricity = 0.7 * 8760 * 0.15                     # 700 W all year at an example 0.15 USD/kWh
    assert electricity == pytest.approx(919.8)
    upper = udfs.PLAN_ROI(2e6 - electricity, 32000)
    assert upper == pytest.approx((2e6 - 919.8 - 32000) / 32000)
    assert upper < udfs.PLAN_ROI(2e6, 30e3)
    # With a profit figure, e.g. 20 % net margin on the $2M: (400,000 - 30,000) / 30,000 = 1,233 %
    assert udfs.PLAN_ROI(0.2 * 2e6, 30e3) == pytest.approx(12.333, abs=1e-3)
    assert udfs.PLAN_ROI(30e3, 30e3) == 0   # break-even needs $30K of profit, whatever the revenue
    assert udfs.PLAN_PAYBACK_MONTHS(32000, 4000) == 8


def test_decode_speed_and_latency_are_roofline_not_60_tokens_per_second():
    # Pythia-410M on an H200 (vLLM, the auto engine on a datacenter GPU), batch 1, context 2048: bytes per step =
    # bf16 weights (less the untied input-embedding table, one row read) + KV of 2048 tokens, at vLLM's
    # achieved bandwidth, plus its per-step overhead (issue 13 step model, udfs/core/data/engines.csv)
    from udfs.core import speed
    e = speed._engine_table()["vllm"]
    kv = 2 * 24 * 1024 * 2 * 2048
    table = 50304 * 1024 * 2
    weights = 2 * 405_334_016 - table + table / 50304
    step = (weights + kv) / (4800e9 * e["bw_eff"]) + e["step_overhead_s"] + 24 * e["layer_overhead_s"]
    assert udfs.LLM_DECODE_TOKPS("pythia-410m", "h200", "bf16", 2048, 1) == pytest.approx(1 / step, rel=1e-6)
    assert 1 / step > 9 * 60
    assert udfs.LLM_LATENCY_S("pythia-410m", "h200", 50, 50, "bf16") < 0.28 / 3


# ------------------------------------------------------------------------------------------ seed 001
def test_120b_and_1t_at_2_bit_raw_weights():
    assert 120e9 * 2 / 8 == 30e9
    assert 1e12 * 2 / 8 == 250e9
    assert 120e9 * 2.140625 / 8 == pytest.approx(32.1e9, rel=1e-3)   # GPTQ int2 g128 (precisions.csv)
    # A numeric precision is a weight-only format of that many bits for every matrix
    m = custom(2, 64, 2, 100)
    assert f(api.weights_bytes(m, 2)) == f(api.params_total(m)) * 2 / 8


def test_72_kb_per_token_is_not_an_upper_bound_for_a_120b_transformer():
    fp16 = 2
    # 72 KiB is exactly gpt-oss-120b's KV per token: 2 (K,V) x 36 layers x 8 KV heads x 64 head_dim x 2 B
    gpt_oss = custom(36, 2880, 64, 201088, n_kv_heads=8, head_dim=64, d_ff=2880, ffn_type="swiglu",
                     norm_type="rmsnorm", n_experts=128, experts_per_token=4, d_ff_expert=2880,
                     sliding_window=128, sliding_window_layers=18, max_context=131072)
    per_token = 2 * 36 * 8 * 64 * fp16
    assert per_token == 72 * 1024 == 73_728
    assert f(api.kv_cache_bytes(gpt_oss, 1, 1)) == per_token
    assert per_token * 131072 / GB == pytest.approx(9.66, abs=0.01)        # the seed's ~9.5 GB
    # ... and half its layers keep only a 128-token window, so at 128k it really holds 4.84 GB
    assert f(api.kv_cache_bytes(gpt_oss, 131072, 1)) == 2 * 8 * 64 * fp16 * (18 * 131072 + 18 * 128)
    # Standard GQA transformers of 70B-405B cache 3-7x more per token
    assert f(api.kv_cache_bytes("mixtral-8x22b", 1, 1)) == 2 * 56 * 8 * 128 * fp16 == 229_376
    assert f(api.kv_cache_bytes("llama-3.1-70b", 1, 1)) == 2 * 80 * 8 * 128 * fp16 == 327_680
    assert f(api.kv_cache_bytes("llama-3.1-405b", 1, 1)) == 2 * 126 * 8 * 128 * fp16 == 516_096
    assert 229_376 / 72e3 == pytest.approx(3.19, abs=0.01)


def test_120b_class_at_128k_leaves_less_than_20_gb_on_an_80_gib_gpu():
    total = udfs.LLM_INFER_VRAM_GIB("mixtral-8x22b", "int2", 131072, 1) * GIB
    parts = api.infer_breakdown("mixtral-8x22b", "int2", 131072, 1)
    assert f(parts["kv_cache_bytes"]) == 229_376 * 131072
    assert f(parts["overhead_bytes"]) == GIB
    assert total == pytest.approx(f(parts["total_bytes"]))
    headroom = 80 * GIB - total
    assert 10e9 < headroom < 20e9
    # With the seed's own state size (72 KB/token) and our 1 GiB runtime the headroom would be ~39 GB
    assert 80 * GIB - (36e9 + 72e3 * 131072 + GIB) == pytest.approx(39.4e9, rel=0.01)


TRILLION = custom(164, 24576, 192, 128256, n_kv_heads=8, head_dim=128, d_ff=65536, ffn_type="swiglu",
                  norm_type="rmsnorm", max_context=131072)


def test_hypothetical_dense_1t_needs_5_h100s_at_128k():
    d, L, H, K, Q, F, V = 24576, 164, 192, 8, 128, 65536, 128256
    body = L * (2 * d * H * Q + 2 * d * K * Q + 3 * d * F + 2 * d) + d   # attention, SwiGLU, RMSNorms
    embed = 2 * V * d                                                     # untied embedding + head
    assert f(api.params_total(TRILLION)) == body + embed == pytest.approx(1.005e12, rel=1e-3)
    weights = body * 2.140625 / 8 + embed * 16 / 8                        # int2 body, 16-bit embeddings
    kv = 2 * L * K * Q * 2 * 131072
    act = 8192 * (2 * d + 3 * F) * 2 + V * 4                              # chunked prefill + fp32 logits
    parts = api.infer_breakdown(TRILLION, "int2", 131072, 1)
    assert f(parts["weights_bytes"]) == pytest.approx(weights)
    assert f(parts["kv_cache_bytes"]) == kv
    assert f(parts["activations_bytes"]) == pytest.approx(act)
    gpus = (weights + kv + act) / ((80 - 1) * GIB)
    assert gpus == pytest.approx(4.385, abs=1e-3)
    assert f(api.gpus_needed(TRILLION, "h100-sxm", "int2", 131072, 1)) == math.ceil(gpus) == 5
    assert f(api.gpus_needed(TRILLION, "h100-sxm", "int2", 131072, 1, "fp8")) == 4
    # Weights alone: 1e12 / params per H100 at int2 = 3.15 -> the seed's "4 x 80 GB minimum" holds
    per_gpu = udfs.LLM_MAX_PARAMS("h100-sxm", "int2")
    assert per_gpu == math.floor(79 * GIB * 8 / 2.140625)
    assert 3 < 1e12 / per_gpu < 4
    assert 1e12 / udfs.LLM_MAX_PARAMS("h100-sxm", 2) < 3   # exactly 2.0 bits: 3 GPUs


# ------------------------------------------------------------------------------------------ seed 002
@pytest.mark.parametrize("name", sorted(SEED_002))
def test_seed_002_weight_formula_vs_a_real_count(name):
    V, d, H, L = SEED_002[name]
    model = custom(L, d, H, V)
    assert f(api.params_total(model)) == gpt_params(V, d, L)
    b = params.param_breakdown(architecture.from_mapping(model))
    assert f(b["attention"]) == L * 4 * d * d            # q, k, v, o: 4 d^2, whatever n_heads is
    assert f(b["mlp/dense"]) == L * 8 * d * d            # 4x GELU MLP: 2 x d x 4d
    assert seed_002_weights(V, d, H, L) != gpt_params(V, d, L)


def test_seed_002_examples_by_hand():
    assert seed_002_weights(15000, 512, 8, 6) == 20_262_912
    assert gpt_params(15000, 512, 6) == 34_247_680
    assert seed_002_weights(100000, 2048, 32, 24) == 3_426_025_472
    assert gpt_params(100000, 2048, 24) == 1_617_760_256


@pytest.mark.parametrize("name", sorted(SEED_002))
def test_seed_002_training_and_inference_memory_by_hand(name):
    V, d, H, L = SEED_002[name]
    model, n, s = custom(L, d, H, V), gpt_params(V, d, L), 2048
    # Training, bf16 mixed-precision AdamW, seq 2048, micro-batch 1, FlashAttention, no checkpointing:
    # 16 B/param + per layer 32 s h bytes (Korthikanti eq. 1 without the score term) + fp32 logits + 1 GiB
    train = 16 * n + L * 32 * s * d + 4 * s * V + GIB
    assert f(api.train_breakdown(model, "bf16", s, 1)["total_bytes"]) == pytest.approx(train, rel=1e-12)
    assert udfs.LLM_TRAIN_VRAM_GIB([list(model), list(model.values())], "bf16", s, 1) * GIB == pytest.approx(train)
    # Inference, bf16, context 2048, batch 1: weights + K and V for every layer + one layer's working set
    # (residual 2d + MLP 2 x 4d, larger than attention's 4d) for 2048 tokens + fp32 logits + 1 GiB
    infer = 2 * n + 2 * L * d * 2 * s + s * (2 * d + 8 * d) * 2 + 4 * V + GIB
    assert f(api.infer_vram_bytes(model, "bf16", s, 1)) == pytest.approx(infer, rel=1e-12)


def test_seed_002_tier_table_and_calculator_disagree_with_each_other_and_with_physics():
    prod = custom(6, 512, 8, 15000)
    train_gb = f(api.train_breakdown(prod, "bf16", 2048, 1)["total_bytes"]) / GB
    assert 1.9 < train_gb < 2.0            # calculator said 2.2 GB, tier table 12-16 GB, example ~9 GB
    research = custom(12, 1024, 16, 50000)
    assert f(api.train_breakdown(research, "bf16", 2048, 1)["total_bytes"]) / GB < 32 / 5  # tier: 32-80 GB


def test_doubling_sensitivity():
    V, d, H, L = SEED_002["production"]
    base = gpt_params(V, d, L)
    ratios = {
        "vocab_size": gpt_params(2 * V, d, L) / base,
        "n_heads": f(api.params_total(custom(L, d, 2 * H, V))) / f(api.params_total(custom(L, d, H, V))),
        "n_layers": gpt_params(V, d, 2 * L) / base,
        "d_model": gpt_params(V, 2 * d, L) / base,
    }
    assert ratios["n_heads"] == 1.0                        # seed: 1.7x
    assert ratios["vocab_size"] == pytest.approx(1.4485, abs=1e-4)   # seed: 1.1x
    assert ratios["n_layers"] == pytest.approx(1.5515, abs=1e-4)     # seed: 1.9x
    assert ratios["d_model"] == pytest.approx(3.1022, abs=1e-4)      # seed: 1.6x
    # the per-layer part quadruples
    assert (12 * (2 * d) ** 2) / (12 * d * d) == 4
    for field, r in ratios.items():
        doubled = dict(custom(L, d, H, V))
        doubled[field] *= 2
        assert f(api.params_total(doubled)) / f(api.params_total(custom(L, d, H, V))) == pytest.approx(r)


def test_gradients_are_1x_weights_and_mixed_precision_does_not_halve_model_states():
    bf16 = training.model_state_bytes_per_param(catalog.precisions("bf16"))
    fp32 = training.model_state_bytes_per_param(catalog.precisions("fp32"))
    assert f(bf16["gradients"]) == f(bf16["weights"]) == 2
    assert sum(f(v) for v in bf16.values()) == sum(f(v) for v in fp32.values()) == 16
    assert sum(f(v) for v in bf16.values()) / f(bf16["weights"]) == 8   # seed: weights + 2x = 3x


def test_checkpointing_recomputes_one_forward_pass():
    # 6N FLOPs per token without recomputation, 8N with: +33 %, not +20 %
    assert (8 - 6) / 6 == pytest.approx(0.333, abs=1e-3)
    none = udfs.LLM_TRAIN_VRAM_GIB("pythia-410m", "bf16", 2048, 8)
    full = udfs.LLM_TRAIN_VRAM_GIB("pythia-410m", "bf16", 2048, 8, 1, 0, "full")
    assert 1 - full / none == pytest.approx(0.486, abs=0.01)


def test_cloud_versus_owned_break_even():
    # A100 at the seed's midpoint $4/h against an owned $1600 RTX 4090 drawing 0.45 kW at 0.15 USD/kWh
    assert udfs.PLAN_BREAKEVEN_HOURS(1600, 4, 0.45, 0.15, 5) == pytest.approx(1600 / (4 - 0.45 * 0.15))
    assert udfs.PLAN_BREAKEVEN_HOURS(1600, 4, 0.45, 0.15, 5) == pytest.approx(406.87, abs=0.01)
    # like for like: renting the same RTX 4090
    price = udfs.GPU_SPEC("rtx-4090", "price_usd")
    cloud = udfs.GPU_SPEC("rtx-4090", "cloud_usd_per_hour")
    power = udfs.GPU_SPEC("rtx-4090", "tdp_w") / 1000
    assert udfs.PLAN_BREAKEVEN_HOURS(price, cloud, power, 0.15, 5) == pytest.approx(price / (cloud - power * 0.15))
    assert udfs.PLAN_BREAKEVEN_HOURS(price, cloud, power, 0.15, 5) > 5 * 400


def test_break_even_without_a_lifetime():
    # Leaving lifetime_years blank must give the plain break-even (an earlier default, 1e9/8760 years,
    # broke the function's own 100-year limit and returned an error text).
    assert udfs.PLAN_BREAKEVEN_HOURS(1600, 4) == 400


# ------------------------------------------------------------------------------------------ seed 003
A100_PEAK = 312e12
MFU = 0.4


def test_seed_003_gpu_hours_grow_with_params_squared():
    # samples x 2048 tokens: Tiny 10M params on 2.048e9 tokens
    tiny = 6 * 10e6 * (1e6 * 2048) / (A100_PEAK * MFU) / 3600
    assert tiny == pytest.approx(0.2735, abs=1e-4)            # seed: ~10 GPU-hours
    large = 6 * 1e9 * (100e6 * 2048) / (A100_PEAK * MFU) / 3600
    assert large == pytest.approx(2735.0, abs=0.1)            # seed: ~1000
    assert large / tiny == pytest.approx(10_000)              # (100x params) x (100x tokens), not 100x


def test_seed_003_gpu_hours_through_the_core():
    # Pythia-1B: matmul params = total - token embedding (untied head kept): 6N + 12 L H Q T per token
    n_mm = 1_011_781_632 - 50304 * 2048
    assert f(params.matmul_params(catalog.models("pythia-1b"))) == n_mm
    tokens = 100e6 * 2048
    by_hand = (6 * n_mm + 12 * 16 * 2048 * 2048) * tokens / (A100_PEAK * MFU) / 3600
    assert udfs.GPU_SPEC("a100", "bf16_tflops") == 312
    assert udfs.LLM_TRAIN_GPU_HOURS("pythia-1b", tokens, "a100", "bf16", MFU) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(2852.6, abs=0.1)
    assert udfs.LLM_CHINCHILLA_TOKENS(1e9) == 20e9
    assert tokens / 20e9 == pytest.approx(10.24)              # the seed trains 10x past Chinchilla


def test_seed_003_model_memory_column_is_fp32():
    for n, claimed_gb in [(10e6, 0.04), (100e6, 0.4), (500e6, 2), (1e9, 4), (3e9, 12)]:
        assert n * 4 / GB == pytest.approx(claimed_gb)          # 4 bytes/param = fp32
        assert n * 2 / GB == pytest.approx(claimed_gb / 2)      # the stated BF16
    # training at micro-batch 32 without checkpointing: Pythia-1B does not fit an 80 GB A100
    assert udfs.LLM_TRAIN_VRAM_GIB("pythia-1b", "bf16", 2048, 32) > 80


def test_seed_003_inference_cost_needs_batching():
    price = udfs.GPU_SPEC("a100", "cloud_usd_per_hour")
    tokps = udfs.LLM_DECODE_TOKPS("pythia-1b", "a100", "bf16", 2048, 1)
    assert udfs.LLM_COST_PER_MTOK("pythia-1b", "a100", price, "bf16", 2048, 1) == pytest.approx(
        price / (tokps * 3600) * 1e6)
    assert udfs.LLM_COST_PER_MTOK("pythia-1b", "a100", price, "bf16", 2048, 1) > 5 * 0.10
    assert udfs.LLM_COST_PER_MTOK("pythia-1b", "a100", price, "bf16", 2048, 32) < 2 * 0.10


# ------------------------------------------------------------------------------------------ seed 004
def test_seed_004_flops_formula_against_2n_plus_attention():
    a = catalog.models("llama-2-7b")
    L, h, F, P = 32, 4096, 11008, 2048
    seed = L * (1 * P * (h * h + P * h) + 2 * 1 * P * h * F)
    assert f(flops.seed_method_flops(a, 1, P)) == seed == 7_559_142_440_960
    n_mm = 6_738_415_616 - 32000 * 4096                         # no embedding look-up; head included
    assert f(params.matmul_params(a)) == n_mm
    ours = 2 * n_mm * P + 4 * L * h * P * (P + 1) / 2           # causal prefill
    assert f(flops.prefill_flops(a, P)) == ours
    # LLM_FLOPS_PER_TOKEN is linear in context, so the mean of 1024 and 1025 is the mean over 1..2048
    mean = (udfs.LLM_FLOPS_PER_TOKEN("llama-2-7b", 1024) + udfs.LLM_FLOPS_PER_TOKEN("llama-2-7b", 1025)) / 2
    assert mean * P == pytest.approx(ours, rel=1e-12)
    assert ours / seed == pytest.approx(3.726, abs=1e-3)
    # FFN alone: the seed's 2 B S h F counts multiply-adds of two matrices; gated FFN is 3 x 2 FLOPs
    assert (3 * 2 * P * h * F) / (2 * P * h * F) == 3


def test_seed_004_kv_formula_overstates_gqa():
    for name, factor in [("llama-3-70b", 8), ("llama-3-8b", 4), ("llama-2-7b", 1)]:
        row = catalog.model_row(name)
        L, d = int(row["n_layers"]), int(row["d_model"])
        seed = 2 * 1 * 8192 * d * L * 2
        assert seed / f(api.kv_cache_bytes(name, 8192, 1, "fp16")) == factor
    assert 2 * 8192 * 8192 * 80 * 2 / GB == pytest.approx(21.47, abs=0.01)


def test_seed_004_one_efficiency_figure_does_not_fit_decode():
    tokps = udfs.LLM_DECODE_TOKPS("llama-3-8b", "h100-sxm", "bf16", 4096, 1)
    mfu = tokps * udfs.LLM_FLOPS_PER_TOKEN("llama-3-8b", 4096) / (udfs.GPU_SPEC("h100-sxm", "bf16_tflops") * 1e12)
    assert mfu < 0.01      # batch-1 decode is bandwidth-bound


# ------------------------------------------------------------------------------- workbook/seed_claims.csv
CONTRACT = {n: getattr(udfs, n) for n in dir(udfs)
            if re.fullmatch(r"(LLM|GPU|PLAN)_[A-Z0-9_]+", n) and callable(getattr(udfs, n))}
_TOKEN = re.compile(r"""\s*(?:
      (?P<num>\d+(?:\.\d+)?(?:E[+-]\d+)?)
    | (?P<str>"(?:[^"]|"")*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<op>[-+*/^(),]))""", re.VERBOSE)


class FormulaError(ValueError):
    pass


def _tokens(text):
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FormulaError(f"cannot read {text[pos:]!r}")
        pos = m.end()
        out.append((m.lastgroup, m.group(m.lastgroup)))
    return out


class _Formula:
    """A tiny evaluator for the claims' formulas: numbers (1E+9 as Excel writes them), "text", + - * / ^,
    parentheses and the contract functions. Excel precedence: negation > ^ (left to right) > * / > + -."""

    def __init__(self, text):
        if not text.startswith("="):
            raise FormulaError("a formula starts with '='")
        self.t, self.i, self.calls = _tokens(text[1:]), 0, []

    def value(self):
        v = self.expr()
        if self.i != len(self.t):
            raise FormulaError(f"unexpected {self.t[self.i][1]!r}")
        if isinstance(v, str):
            raise FormulaError("the formula gives text, not a number")
        return v

    def peek(self):
        return self.t[self.i][1] if self.i < len(self.t) else None

    def take(self, want=None):
        if self.i >= len(self.t) or (want is not None and self.t[self.i][1] != want):
            raise FormulaError(f"expected {want!r} at token {self.i}")
        self.i += 1
        return self.t[self.i - 1]

    def expr(self):
        v = self.term()
        while self.peek() in ("+", "-"):
            v = v + self.term() if self.take()[1] == "+" else v - self.term()
        return v

    def term(self):
        v = self.power()
        while self.peek() in ("*", "/"):
            op, w = self.take()[1], self.power()
            if op == "/" and w == 0:
                raise FormulaError("#DIV/0!")
            v = v * w if op == "*" else v / w
        return v

    def power(self):
        v = self.unary()
        while self.peek() == "^":
            self.take()
            v = v ** self.unary()
        return v

    def unary(self):
        if self.peek() in ("-", "+"):
            return -self.unary() if self.take()[1] == "-" else self.unary()
        kind, tok = self.take()
        if kind == "num":
            return float(tok)
        if kind == "str":
            return tok[1:-1].replace('""', '"')
        if tok == "(":
            v = self.expr()
            self.take(")")
            return v
        if kind == "name" and tok.upper() in CONTRACT:
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(None if self.peek() == "," else self.expr())
                if self.peek() == ",":
                    self.take(",")
                    if self.peek() == ")":
                        args.append(None)
            self.take(")")
            self.calls.append(tok.upper())
            return _number(CONTRACT[tok.upper()](*args), tok)
        raise FormulaError(f"{tok!r} is not a number, text, operator or contract function")


def _number(result, name):
    if isinstance(result, np.ndarray):
        if result.size != 1:
            raise FormulaError(f"{name} returned {result.size} values")
        result = result.reshape(-1)[0]
    if isinstance(result, str):
        raise FormulaError(f"{name} returned the text {result!r}")
    if isinstance(result, (bool, np.bool_)) or not isinstance(result, (int, float, np.number)):
        raise FormulaError(f"{name} returned {result!r}, not a number")
    if not math.isfinite(float(result)):
        raise FormulaError(f"{name} returned {result}")
    return float(result)


def evaluate(formula):
    """(value, contract functions called) of one excel_formula."""
    fm = _Formula(formula)
    return fm.value(), fm.calls


def _claims():
    with open(CLAIMS_CSV, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


CLAIMS = _claims()


def test_evaluator_follows_excel_precedence():
    assert evaluate("=-2^2")[0] == 4          # negation binds tighter than ^ in Excel
    assert evaluate("=2^3^2")[0] == 64        # ^ is left-associative in Excel
    assert evaluate("=1+2*3-4/2")[0] == 5
    assert evaluate('=GPU_SPEC("h200","memory_gib")*2^30/1E+9') == (141 * GIB / GB, ["GPU_SPEC"])
    with pytest.raises(FormulaError):
        evaluate('=SUM(1,2)')
    with pytest.raises(FormulaError):
        evaluate('=GPU_SPEC("h200","no_such_field")')


def test_claims_table_shape():
    with open(CLAIMS_CSV, newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == COLUMNS
    assert len(CLAIMS) >= 40
    ids = [r["id"] for r in CLAIMS]
    assert len(ids) == len(set(ids))
    assert {r["seed_file"] for r in CLAIMS} == SEED_FILES       # every seed is checked
    for r in CLAIMS:
        assert all(r[c].strip() for c in COLUMNS), r["id"]
        assert math.isfinite(float(r["claimed_value"])), r["id"]
        assert r["id"][1:4] == r["seed_file"][:3], r["id"]


@pytest.mark.parametrize("row", CLAIMS, ids=[r["id"] for r in CLAIMS])
def test_claim_formula_evaluates_to_a_finite_number(row):
    value, calls = evaluate(row["excel_formula"])
    assert math.isfinite(value)
    if re.search(r"_GIB\(", row["excel_formula"]) and row["claimed_unit"] == "GB":
        assert "2^30/1E+9" in row["excel_formula"], "GiB must be converted to GB (x 2^30 / 1E+9)"


def _verdict_check(row, ours):
    """'overstated Nx' / 'understated Nx': direction and factor (about 10 %); 'correct': within 10 %."""
    claimed, verdict = float(row["claimed_value"]), row["verdict"].strip()
    m = re.match(r"(overstated|understated) (\d+(?:\.\d+)?)x", verdict)
    if m:
        assert ours != 0
        ratio = claimed / ours if m.group(1) == "overstated" else ours / claimed
        assert ratio > 1, (claimed, ours)
        assert ratio == pytest.approx(float(m.group(2)), rel=0.1), (claimed, ours, ratio)
    elif verdict.split(" ")[0] == "correct":
        assert ours == pytest.approx(claimed, rel=0.1), (claimed, ours)


@pytest.mark.parametrize("row", CLAIMS, ids=[r["id"] for r in CLAIMS])
def test_claim_verdict_matches_our_figure(row):
    _verdict_check(row, evaluate(row["excel_formula"])[0])


def test_claim_formulas_also_evaluate_in_the_formulas_package(monkeypatch):
    """The same strings through the `formulas` package (what `scalesheet recalc` uses) give the same values."""
    formulas = pytest.importorskip("formulas")
    sh = pytest.importorskip("schedula")

    def wrap(fn):
        def call(*args):
            plain = []
            for a in args:
                raw = getattr(a, "value", a)
                if isinstance(raw, np.ndarray):
                    raw = raw.reshape(-1)[0] if raw.size == 1 else raw.tolist()
                raw = None if raw is sh.EMPTY else raw
                plain.append(raw.item() if isinstance(raw, np.generic) else raw)
            return fn(*plain)
        return call

    table = formulas.get_functions()
    for name, fn in CONTRACT.items():
        monkeypatch.setitem(table, name, wrap(fn))
    for row in CLAIMS:
        result = formulas.Parser().ast(row["excel_formula"])[1].compile()()
        value = float(np.asarray(getattr(result, "value", result)).reshape(-1)[0])
        assert value == pytest.approx(evaluate(row["excel_formula"])[0], rel=1e-9), row["id"]


SEEDS_DIR = os.path.join(ROOT, "tests", "data", "seeds")   # the five planning notes, vendored verbatim


def test_seed_files_named_in_the_table_are_vendored():
    assert SEED_FILES <= set(os.listdir(SEEDS_DIR))
    with open(CLAIMS_CSV, newline="", encoding="utf-8") as fh:
        assert {r["seed_file"] for r in csv.DictReader(fh)} <= SEED_FILES


def test_every_claim_cites_a_section_of_its_seed():
    """Each claim's section path (headings joined by ' / ', a combined heading by ' + ') is in the seed's text."""
    with open(CLAIMS_CSV, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missing = []
    for row in rows:
        with open(os.path.join(SEEDS_DIR, row["seed_file"]), encoding="utf-8", errors="replace") as fh:
            text = fh.read().lower()
        for heading in re.split(r" / | \+ ", row["section"]):
            heading = re.sub(r"^\d+\.\s*", "", heading).strip().lower()
            if heading not in text:
                missing.append((row["id"], heading))
    assert not missing
