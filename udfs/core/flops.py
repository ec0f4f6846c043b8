"""Floating-point operations of the forward and backward passes.

Symbols: N = matmul parameters per token (params.matmul_params: active, no embedding look-ups, output
head included), L layers, Hq = H * Q attention width, T context, D training tokens.

    forward FLOPs per token at context T = 2 N + sum over attention layers of f_layer * T_eff
        2 FLOPs per multiply-add per weight (Kaplan et al. 2020, Table 1); attention scores QK^T and the
        weighted sum AV cost f_layer = 4 Hq FLOPs per cached token per layer (nanoGPT estimate_mfu:
        6N + 12 L H Q T for training = 3 x forward); MLA: f = 2 H (qk_nope + qk_rope) + 2 H v_head_dim.
        T_eff = T (full), min(T, window) (sliding), min(T, chunk) (chunked); linear-attention and Mamba
        layers have no per-cached-token term (their state update is O(state) per token, included in N's
        projections up to a few FLOPs per state element, under 1 % for Qwen3-Next and Nemotron-H).
    prefill FLOPs for P prompt tokens = 2 N P + f * (query-key pairs): causal pairs sum_{i=1..P} min(i, W)
        for full (W = inf) and sliding layers; within-chunk pairs for chunked layers
    training FLOPs = 6 N D + 3 x (forward attention term) D   (PaLM, Chowdhery et al. 2022, Appendix B)

The seed methodology's formula (seed 004) is kept as :func:`seed_method_flops` for comparison only: it
counts one multiply-add as one FLOP, omits K/V projections and uses d_model^2 for all four projections.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .architecture import Architecture
from .memory import span_limits


def attention_flops_per_pair(a: Architecture) -> dict[str, np.ndarray]:
    """FLOPs per (query, cached key) pair, summed over the layers of each span (full, window, chunk)."""
    standard = 4 * a.n_heads * a.head_dim
    mla = 2 * a.n_heads * (a.qk_nope_head_dim + a.qk_rope_head_dim) + 2 * a.n_heads * a.v_head_dim
    return {
        "full": a.n_attn_full * 4 * a.n_heads * a.global_head_dim + a.n_mla * mla,
        "window": a.n_attn_sliding * standard,
        "chunk": a.n_attn_chunked * standard,
    }


def attention_flops_per_token(a: Architecture, context) -> np.ndarray:
    """Attention-score FLOPs for one new token with ``context`` tokens cached, all layers."""
    context = np.asarray(context, dtype=np.float64)
    limits = span_limits(a)
    return sum(f * np.minimum(context, limits[k]) for k, f in attention_flops_per_pair(a).items())


def forward_flops_per_token(a: Architecture, context) -> np.ndarray:
    """Forward FLOPs to produce one token when ``context`` tokens are in the KV cache."""
    return 2 * P.matmul_params(a) + attention_flops_per_token(a, context)


def _causal_pairs(prompt, window) -> np.ndarray:
    """sum_{i=1..P} min(i, W): query-key pairs of causal attention over P tokens with window W."""
    p = np.asarray(prompt, dtype=np.float64)
    w = np.minimum(window, p)
    return w * (w + 1) / 2 + (p - w) * w


def _chunked_pairs(prompt, chunk) -> np.ndarray:
    """Query-key pairs of causal attention restricted to chunks of C tokens: full chunks C(C+1)/2 each,
    plus r(r+1)/2 for the last r tokens."""
    p = np.asarray(prompt, dtype=np.float64)
    c = np.minimum(chunk, np.maximum(p, 1))
    full_chunks = np.floor(p / c)
    r = p - full_chunks * c
    return full_chunks * c * (c + 1) / 2 + r * (r + 1) / 2


def prefill_flops(a: Architecture, prompt_tokens, batch=1) -> np.ndarray:
    """Forward FLOPs to process a causal prompt of ``prompt_tokens`` for ``batch`` sequences."""
    prompt = np.asarray(prompt_tokens, dtype=np.float64)
    f, limits = attention_flops_per_pair(a), span_limits(a)
    attention = (f["full"] * _causal_pairs(prompt, np.inf) + f["window"] * _causal_pairs(prompt, limits["window"])
                 + f["chunk"] * _chunked_pairs(prompt, limits["chunk"]))
    per_sequence = 2 * P.matmul_params(a) * prompt + attention
    return np.asarray(batch, dtype=np.float64) * per_sequence


def training_flops(a: Architecture, tokens, seq_len) -> np.ndarray:
    """Forward + backward FLOPs to train on ``tokens`` tokens in sequences of ``seq_len``."""
    tokens = np.asarray(tokens, dtype=np.float64)
    attention_per_token = 3 * attention_flops_per_token(a, seq_len)  # 12 L Hq T for full attention (PaLM B)
    return 6 * P.matmul_params(a) * tokens + attention_per_token * tokens


def seed_method_flops(a: Architecture, batch, seq_len) -> np.ndarray:
    """Seed 004's forward FLOPs: per layer B*S*(h^2 + S*h) attention + 2*B*S*h*F feed-forward.

    Kept only to show the difference (docs/seed-corrections.md); not used by any answer.
    """
    b = np.asarray(batch, dtype=np.float64)
    s = np.asarray(seq_len, dtype=np.float64)
    h = a.d_model
    return a.n_layers * (b * s * (h * h + s * h) + 2 * b * s * h * a.d_ff)
