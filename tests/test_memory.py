"""Weights, KV cache, activations and training memory against hand computation and the literature."""

import numpy as np
import pytest

from udfs.core import api, catalog, params, training
from udfs.core.errors import ScalesheetError


def test_kv_cache_exact_bytes_by_hand():
    # Llama-3-70B: 80 layers, 8 KV heads (GQA), head_dim 128, fp16: 2 x 80 x 8 x 128 x 2 = 327,680 B/token
    per_token = 2 * 80 * 8 * 128 * 2
    assert api.kv_cache_bytes("llama-3-70b", 32768, 8) == per_token * 32768 * 8
    # Llama-2-7B (MHA, 32 heads): 4096 tokens = exactly 2 GiB in fp16
    assert api.kv_cache_bytes("llama-2-7b", 4096, 1) == 2 * 2**30
    # Falcon-7B is MQA: one KV head of 64
    assert api.kv_cache_bytes("falcon-7b", 1000, 1) == 2 * 32 * 1 * 64 * 2 * 1000


def test_kv_precision_halves_and_quarters():
    fp16 = api.kv_cache_bytes("llama-3-8b", 8192, 4, "fp16")
    assert api.kv_cache_bytes("llama-3-8b", 8192, 4, "fp8") == fp16 / 2
    assert api.kv_cache_bytes("llama-3-8b", 8192, 4, 4) == fp16 / 4


def test_sliding_window_caps_kv():
    # Mistral 7B v0.1: window 4096 on all 32 layers, 8 KV heads x 128
    at_window = api.kv_cache_bytes("mistral-7b", 4096, 1)
    assert api.kv_cache_bytes("mistral-7b", 32768, 1) == at_window == 2 * 32 * 8 * 128 * 2 * 4096
    # Gemma-2-9B: half its layers are local (window 4096), the other half grow with context
    row = catalog.model_row("gemma-2-9b")
    L, swl, kv, hd, w = (int(row[k]) for k in ["n_layers", "sliding_window_layers", "n_kv_heads", "head_dim", "sliding_window"])
    ctx = 8192
    assert api.kv_cache_bytes("gemma-2-9b", ctx, 1) == 2 * kv * hd * 2 * ((L - swl) * ctx + swl * min(ctx, w))


def test_kv_without_window_is_linear_in_context_and_batch():
    base = api.kv_cache_bytes("llama-3-8b", 1000, 1)
    assert api.kv_cache_bytes("llama-3-8b", 3000, 1) == 3 * base
    assert api.kv_cache_bytes("llama-3-8b", 1000, 7) == 7 * base


def test_weight_bytes_exact_for_16_bit():
    n = params.total_params(catalog.models("llama-3-8b"))
    assert api.weights_bytes("llama-3-8b", "bf16") == 2 * n
    assert api.weights_bytes("llama-3-8b", "fp32") == 4 * n


def test_int4_keeps_embeddings_at_16_bit():
    a = catalog.models("llama-3-8b")
    embed = params.embedding_params(a)
    body = params.total_params(a) - embed
    bits = float(catalog.precision_table().rows[catalog.precision_table().position("int4", "p")]["bits_per_weight"])
    assert api.weights_bytes("llama-3-8b", "int4") == pytest.approx((body * bits + embed * 16) / 8)


def test_gguf_uses_file_average_bits():
    n = params.total_params(catalog.models("llama-3-8b"))
    assert api.weights_bytes("llama-3-8b", "q8_0") == pytest.approx(n * 8.5 / 8)


def test_inference_total_is_sum_of_parts():
    parts = api.infer_breakdown("llama-3-70b", "int4", 32768, 8)
    total = parts["weights_bytes"] + parts["kv_cache_bytes"] + parts["activations_bytes"] + parts["overhead_bytes"]
    assert parts["total_bytes"] == total


def test_korthikanti_34_sbh_plus_5_as2b_for_gpt3():
    """Korthikanti et al. 2022 eq. (1): 34 s b h + 5 a s^2 b bytes per layer, no recomputation."""
    gpt3 = {"n_layers": 96, "d_model": 12288, "n_heads": 96, "vocab_size": 50257}
    a = api.resolve.model(gpt3)
    s, b, h, heads = 2048, 4, 12288, 96
    got = training.activation_bytes_per_layer(a, s, b, flash_attention=False, dropout=True)
    assert got == s * b * h * 34 + 5 * heads * s * s * b
    # with tensor parallel 8 and sequence parallelism, everything divides by t (eq. 5)
    got_tp = training.activation_bytes_per_layer(a, s, b, tensor_parallel=8, flash_attention=False, dropout=True)
    assert got_tp == pytest.approx((s * b * h * 34 + 5 * heads * s * s * b) / 8)
    # selective recomputation: 34 s b h / t (sec. 5)
    sel = training.activation_bytes_per_layer(a, s, b, tensor_parallel=8, checkpointing=1, flash_attention=False,
                                              dropout=True)
    assert sel == pytest.approx(34 * s * b * h / 8)


def test_zero_stages_shard_model_states():
    base = dict(model="llama-2-7b", precision="bf16", seq_len=2048, micro_batch=1, gpus=8)
    z = [api.train_breakdown(**base, zero_stage=k) for k in range(4)]
    n = params.total_params(catalog.models("llama-2-7b"))
    assert z[0]["weights_bytes"] + z[0]["gradients_bytes"] + z[0]["optimizer_bytes"] == 16 * n  # ZeRO paper: 16 bytes/param
    assert z[1]["optimizer_bytes"] == z[0]["optimizer_bytes"] / 8
    assert z[2]["gradients_bytes"] == z[0]["gradients_bytes"] / 8
    assert z[3]["weights_bytes"] == z[0]["weights_bytes"] / 8
    assert z[3]["total_bytes"] < z[2]["total_bytes"] < z[1]["total_bytes"] < z[0]["total_bytes"]


def test_checkpointing_reduces_activation_memory():
    kw = dict(model="llama-3-8b", precision="bf16", seq_len=8192, micro_batch=2)
    none = api.train_breakdown(**kw, checkpointing="none")["activations_bytes"]
    full = api.train_breakdown(**kw, checkpointing="full")["activations_bytes"]
    assert full < none / 5


def test_tensor_parallel_divides_states_and_activations():
    one = api.train_breakdown("llama-3-8b", "bf16", 4096, 1, gpus=4)
    tp4 = api.train_breakdown("llama-3-8b", "bf16", 4096, 1, gpus=4, tensor_parallel=4)
    assert tp4["weights_bytes"] == pytest.approx(one["weights_bytes"] / 4)
    assert tp4["activations_bytes"] == pytest.approx(one["activations_bytes"] / 4)


def test_training_rejects_quantized_formats_and_bad_parallel_layout():
    with pytest.raises(ScalesheetError) as e:
        api.train_breakdown("llama-3-8b", "int4")
    assert e.value.argument == "precision"
    with pytest.raises(ScalesheetError) as e:
        api.train_breakdown("llama-3-8b", "bf16", gpus=6, tensor_parallel=4)
    assert e.value.argument == "gpus"


def test_vectorised_memory_equals_elementwise():
    names = np.array(["llama-3-8b", "mixtral-8x7b", "gemma-2-9b", "gpt2"])
    ctx = np.array([1024, 8192, 16384, 1024])
    batch = np.array([1, 4, 2, 16])
    prec = np.array(["bf16", "int4", "q4_k_m", "fp32"])
    vec = api.infer_vram_bytes(names, prec, ctx, batch)
    for i in range(len(names)):
        assert vec[i] == api.infer_vram_bytes(names[i], prec[i], ctx[i], batch[i])


def test_fp32_training_stores_4_byte_activations():
    kw = dict(model="llama-3-8b", seq_len=2048, micro_batch=1)
    bf16 = api.train_breakdown(precision="bf16", **kw)["activations_bytes"]
    fp32 = api.train_breakdown(precision="fp32", **kw)["activations_bytes"]
    logits = 4 * 2048 * 128256          # fp32 logits are the same in both
    assert fp32 - logits == pytest.approx(2 * (bf16 - logits))
