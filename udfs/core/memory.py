"""Inference memory: weights, KV cache, activations and runtime overhead, in bytes.

    weights     = body_params * bits/8 + routed_expert_params * expert_bits/8 + embedding_params * embed_bits/8
    kv_cache    = batch * kv_bytes * sum over attention layers of (elements per token) * (cached tokens)
                  elements per token: 2 * K * Q (K and V of K heads), or kv_lora_rank + qk_rope_head_dim
                  for MLA (one shared latent plus the rope key, no factor 2, no head count; DeepSeek Sparse
                  Attention also caches one indexer key of index_head_dim per token and layer);
                  cached tokens: context (full), min(context, window) (sliding: Mistral 7B, Gemma 2/3,
                  gpt-oss), min(context, chunk) (chunked: Llama 4), none (linear attention, Mamba)
    state       = batch * state_bytes * sum over recurrent layers of state elements per sequence
                  Gated DeltaNet: Vh*dk*dv + (2*Kh*dk + Vh*dv)*(kernel-1);  Mamba-2: I*N + (I+2*G*N)*(kernel-1);
                  Mamba-1: I*N + I*(kernel-1)  (SSM state plus the causal-conv window; engines keep the
                  state in fp32 by default: state_bits in assumptions.csv)
    activations = tokens_in_flight * peak per-token working set of one layer * activation_bytes
                  + batch * V * logit_bytes  (last-position logits for sampling)
    overhead    = runtime_overhead_gib per GPU (CUDA context, workspaces; assumptions.csv)

MLA KV: DeepSeek-V2 (arXiv:2405.04434) sec. 2.1.2 ("only c_t^KV and k_t^R need to be cached"), as vLLM
stores it. KV: Pope et al. 2022 (Efficiently Scaling Transformer Inference, sec. 2.2: 2 * n_layers * d_kv per token
per sequence), GQA/MQA via K key/value heads (Ainslie et al. 2023; Shazeer 2019). Activations are freed
layer by layer at inference, so only one layer's working set is live: the attention phase holds
q, k, v and the attention output ((H + 2K) * Q + H * Q values per token; FlashAttention keeps no
context x context score matrix, Dao et al. 2022) and the MLP phase holds gate, up and their product
(3 * F, gated) or input and output of the activation (2 * F); the residual stream and its normalised
copy (2 * d) are live throughout. Tokens in flight are capped at prefill_chunk_tokens (chunked prefill).
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .architecture import Architecture
from .catalog import Precision, assumption
from .units import BITS_PER_BYTE, GIB


def weight_bytes(a: Architecture, p: Precision) -> np.ndarray:
    """Bytes of all weights at precision ``p`` (scales and metadata included in ``p.bits``); routed experts
    at ``p.expert_bits`` where a per-group format gives them their own (gpt-oss: MXFP4 experts)."""
    embed = P.embedding_params(a)
    experts = P.routed_expert_params(a)
    body = P.total_params(a) - embed - experts
    expert_bits = getattr(p, "expert_bits", p.bits)
    return (body * p.bits + experts * expert_bits + embed * p.embed_bits) / BITS_PER_BYTE


def kv_elements_per_token(a: Architecture) -> dict[str, np.ndarray]:
    """KV-cache elements one token adds, summed over the layers of each span: ``full`` layers keep every
    token, ``window`` layers the last ``sliding_window``, ``chunk`` layers those of the current chunk."""
    standard = 2 * a.n_kv_heads * a.head_dim  # K and V, K heads of Q elements
    full = 2 * a.global_kv_heads * a.global_head_dim  # full layers' own shapes (Gemma 4; else the same)
    mla = a.kv_lora_rank + a.qk_rope_head_dim + a.index_head_dim  # latent + rope key (+ DSA indexer key)
    return {
        "full": a.n_attn_full * full + a.n_mla * mla,
        "window": a.n_attn_sliding * standard,
        "chunk": a.n_attn_chunked * standard,
    }


def span_limits(a: Architecture) -> dict[str, np.ndarray]:
    """Tokens a layer of each span can cache at most (inf for full attention)."""
    return {
        "full": np.full(np.shape(a.n_layers), np.inf),
        "window": np.where(a.sliding_window > 0, a.sliding_window, np.inf),
        "chunk": np.where(a.attention_chunk > 0, a.attention_chunk, np.inf),
    }


def cached_elements_per_sequence(a: Architecture, context) -> np.ndarray:
    """KV elements one sequence of ``context`` tokens holds (all layers)."""
    context = np.asarray(context, dtype=np.float64)
    limits = span_limits(a)
    return sum(e * np.minimum(context, limits[k]) for k, e in kv_elements_per_token(a).items())


def kv_cache_bytes(a: Architecture, context, batch, kv: Precision) -> np.ndarray:
    """KV cache bytes for ``batch`` sequences of ``context`` tokens each (attention layers only)."""
    return np.asarray(batch, dtype=np.float64) * cached_elements_per_sequence(a, context) * kv.bits / BITS_PER_BYTE


def kv_bytes_per_token(a: Architecture, kv: Precision) -> np.ndarray:
    """KV cache bytes one token adds (all attention layers, no window cap)."""
    return sum(kv_elements_per_token(a).values()) * kv.bits / BITS_PER_BYTE


def state_elements_per_sequence(a: Architecture) -> np.ndarray:
    """Recurrent-state elements one sequence holds: SSM/delta-rule state plus the causal-conv window."""
    key, value = a.linear_k_heads * a.linear_k_head_dim, a.linear_v_heads * a.linear_v_head_dim
    linear = a.linear_v_heads * a.linear_k_head_dim * a.linear_v_head_dim \
        + (2 * key + value) * np.maximum(a.linear_conv_kernel - 1, 0)
    I, N, G = a.mamba_d_inner, a.mamba_d_state, a.mamba_groups
    conv_channels = np.where(a.mamba_version == 1, I, I + 2 * G * N)
    mamba = I * N + conv_channels * np.maximum(a.mamba_conv_kernel - 1, 0)
    return a.n_linear_attn * linear + a.n_mamba * mamba


def state_bytes(a: Architecture, batch, state_bits=None) -> np.ndarray:
    """Recurrent-state bytes for ``batch`` sequences; independent of context (0 for attention-only models)."""
    bits = assumption("state_bits") if state_bits is None else state_bits
    return np.asarray(batch, dtype=np.float64) * state_elements_per_sequence(a) * bits / BITS_PER_BYTE


def activation_working_set_per_token(a: Architecture) -> np.ndarray:
    """Values live per token at the peak of one layer's forward pass (see module docstring)."""
    d, H, K, Q = a.d_model, a.n_heads, a.n_kv_heads, a.head_dim
    residual = 2 * d
    attention_phase = (H + 2 * K) * Q + H * Q
    mlp_width = np.where(a.n_experts > 0,
                         a.experts_per_token * a.d_ff_expert + a.n_shared_experts * a.d_ff_shared_expert,
                         a.d_ff)
    mlp_phase = np.where(a.gated_ffn > 0, 3.0, 2.0) * mlp_width
    return residual + np.maximum(attention_phase, mlp_phase)


def inference_activation_bytes(a: Architecture, context, batch, chunk_tokens=None) -> np.ndarray:
    """Transient activation bytes of a forward pass over ``batch`` x ``context`` tokens (chunked)."""
    chunk = assumption("prefill_chunk_tokens") if chunk_tokens is None else chunk_tokens
    batch = np.asarray(batch, dtype=np.float64)
    tokens_in_flight = np.minimum(batch * np.maximum(np.asarray(context, dtype=np.float64), 1), chunk)
    layer = tokens_in_flight * activation_working_set_per_token(a) * assumption("activation_bytes")
    logits = batch * a.vocab_size * assumption("logit_bytes")
    return layer + logits


def runtime_overhead_bytes(gpus=1) -> np.ndarray:
    """Runtime memory outside the model on each GPU, times the number of GPUs."""
    return np.asarray(gpus, dtype=np.float64) * assumption("runtime_overhead_gib") * GIB


def inference_breakdown(a: Architecture, p: Precision, context, batch, kv: Precision, gpus=1) -> dict:
    """Bytes per component of a deployment (weights, KV, recurrent state, activations, overhead) and total."""
    parts = {
        "weights_bytes": weight_bytes(a, p),
        "kv_cache_bytes": kv_cache_bytes(a, context, batch, kv),
        "state_bytes": state_bytes(a, batch),
        "activations_bytes": inference_activation_bytes(a, context, batch),
        "overhead_bytes": runtime_overhead_bytes(gpus),
    }
    parts["total_bytes"] = sum(parts.values())
    return parts


def model_bytes(a: Architecture, p: Precision, context, batch, kv: Precision) -> np.ndarray:
    """Everything a deployment holds except the per-GPU runtime overhead."""
    return (weight_bytes(a, p) + kv_cache_bytes(a, context, batch, kv) + state_bytes(a, batch)
            + inference_activation_bytes(a, context, batch))
