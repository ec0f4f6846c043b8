"""Inference memory: weights, KV cache, activations and runtime overhead, in bytes.

    weights     = body_params * bits/8 + embedding_params * embed_bits/8
    kv_cache    = 2 (K and V) * batch * K * Q * kv_bytes * sum over layers of cached tokens
                  where a sliding-window layer caches min(context, window) tokens (Mistral 7B,
                  Gemma 2 local layers) and a full-attention layer caches `context` tokens
    activations = tokens_in_flight * peak per-token working set of one layer * activation_bytes
                  + batch * V * logit_bytes  (last-position logits for sampling)
    overhead    = runtime_overhead_gib per GPU (CUDA context, workspaces; assumptions.csv)

KV: Pope et al. 2022 (Efficiently Scaling Transformer Inference, sec. 2.2: 2 * n_layers * d_kv per token
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
    """Bytes of all weights at precision ``p`` (scales and metadata included in ``p.bits``)."""
    embed = P.embedding_params(a)
    body = P.total_params(a) - embed
    return (body * p.bits + embed * p.embed_bits) / BITS_PER_BYTE


def cached_tokens_per_sequence(a: Architecture, context) -> np.ndarray:
    """Sum over layers of the tokens each layer keeps in its KV cache for one sequence of ``context``."""
    context = np.asarray(context, dtype=np.float64)
    full_layers = a.n_layers - a.sliding_window_layers
    window = np.where(a.sliding_window > 0, a.sliding_window, np.inf)
    return full_layers * context + a.sliding_window_layers * np.minimum(context, window)


def kv_cache_bytes(a: Architecture, context, batch, kv: Precision) -> np.ndarray:
    """KV cache bytes for ``batch`` sequences of ``context`` tokens each."""
    kv_bytes_per_element = kv.bits / BITS_PER_BYTE
    per_token_per_layer = 2 * a.n_kv_heads * a.head_dim * kv_bytes_per_element  # K and V
    return np.asarray(batch, dtype=np.float64) * cached_tokens_per_sequence(a, context) * per_token_per_layer


def kv_bytes_per_token(a: Architecture, kv: Precision) -> np.ndarray:
    """KV cache bytes one token adds (all layers, no window cap)."""
    return 2 * a.n_layers * a.n_kv_heads * a.head_dim * kv.bits / BITS_PER_BYTE


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
    """Bytes per component of a deployment (weights, KV, activations, overhead) and their total."""
    parts = {
        "weights_bytes": weight_bytes(a, p),
        "kv_cache_bytes": kv_cache_bytes(a, context, batch, kv),
        "activations_bytes": inference_activation_bytes(a, context, batch),
        "overhead_bytes": runtime_overhead_bytes(gpus),
    }
    parts["total_bytes"] = sum(parts.values())
    return parts


def model_bytes(a: Architecture, p: Precision, context, batch, kv: Precision) -> np.ndarray:
    """Everything a deployment holds except the per-GPU runtime overhead."""
    return weight_bytes(a, p) + kv_cache_bytes(a, context, batch, kv) + inference_activation_bytes(a, context, batch)
