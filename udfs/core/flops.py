"""Floating-point operations of the forward and backward passes.

Symbols: N = matmul parameters per token (params.matmul_params: active, no embedding look-ups, output
head included), L layers, Hq = H * Q attention width, T context, D training tokens.

    forward FLOPs per token at context T = 2 N + 4 L Hq T_eff
        2 FLOPs per multiply-add per weight (Kaplan et al. 2020, Table 1); attention scores QK^T and the
        weighted sum AV each cost 2 Hq FLOPs per cached token per layer (nanoGPT estimate_mfu:
        6N + 12 L H Q T for training = 3 x forward). T_eff caps T at the window on sliding-window layers.
    prefill FLOPs for P prompt tokens = 2 N P + 4 Hq sum_layers sum_{i=1..P} min(i, window)   (causal)
    training FLOPs = 6 N D + 12 L Hq T D   (PaLM, Chowdhery et al. 2022, Appendix B; backward = 2 x forward)

The seed methodology's formula (seed 004) is kept as :func:`seed_method_flops` for comparison only: it
counts one multiply-add as one FLOP, omits K/V projections and uses d_model^2 for all four projections.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .architecture import Architecture
from .memory import cached_tokens_per_sequence


def forward_flops_per_token(a: Architecture, context) -> np.ndarray:
    """Forward FLOPs to produce one token when ``context`` tokens are in the KV cache."""
    attention = 4 * a.d_attn * cached_tokens_per_sequence(a, context)  # summed over layers already
    return 2 * P.matmul_params(a) + attention


def _causal_pairs(prompt, window) -> np.ndarray:
    """sum_{i=1..P} min(i, W): query-key pairs of causal attention over P tokens with window W."""
    p = np.asarray(prompt, dtype=np.float64)
    w = np.minimum(window, p)
    return w * (w + 1) / 2 + (p - w) * w


def prefill_flops(a: Architecture, prompt_tokens, batch=1) -> np.ndarray:
    """Forward FLOPs to process a causal prompt of ``prompt_tokens`` for ``batch`` sequences."""
    prompt = np.asarray(prompt_tokens, dtype=np.float64)
    window = np.where(a.sliding_window > 0, a.sliding_window, np.inf)
    full_layers = a.n_layers - a.sliding_window_layers
    pairs = full_layers * _causal_pairs(prompt, np.inf) + a.sliding_window_layers * _causal_pairs(prompt, window)
    per_sequence = 2 * P.matmul_params(a) * prompt + 4 * a.d_attn * pairs
    return np.asarray(batch, dtype=np.float64) * per_sequence


def training_flops(a: Architecture, tokens, seq_len) -> np.ndarray:
    """Forward + backward FLOPs to train on ``tokens`` tokens in sequences of ``seq_len``."""
    tokens = np.asarray(tokens, dtype=np.float64)
    attention_per_token = 12 * a.d_attn * cached_tokens_per_sequence(a, seq_len)  # 12 L Hq T (PaLM B)
    return 6 * P.matmul_params(a) * tokens + attention_per_token * tokens


def seed_method_flops(a: Architecture, batch, seq_len) -> np.ndarray:
    """Seed 004's forward FLOPs: per layer B*S*(h^2 + S*h) attention + 2*B*S*h*F feed-forward.

    Kept only to show the difference (docs/seed-corrections.md); not used by any answer.
    """
    b = np.asarray(batch, dtype=np.float64)
    s = np.asarray(seq_len, dtype=np.float64)
    h = a.d_model
    return a.n_layers * (b * s * (h * h + s * h) + 2 * b * s * h * a.d_ff)
