"""Parameter counts from architecture.

The count is built as a breakdown keyed by component (after nanoGPT's transformer_sizing notebook); the
total is the sum. Symbols, bound once per function:

    L layers, d model width, H query heads, K key/value heads, Q head dim, F dense MLP width,
    V vocabulary, E routed experts, k experts per token, Fe expert MLP width, S shared experts,
    Fs shared-expert MLP width.

Per layer:
    attention  = d*H*Q (query) + 2*d*K*Q (key, value) + H*Q*d (output)      [+ biases]
    mlp(F)     = 3*d*F if gated (SwiGLU/GeGLU: gate, up, down) else 2*d*F    [+ biases]
    MoE layer  = attention + d*E (router) + E*mlp(Fe) + S*mlp(Fs) [+ d shared-expert gate]

Sources: Vaswani et al. 2017 (attention), Shazeer 2020 (GLU variants: 3 matrices), Ainslie et al. 2023
(GQA: K < H key/value heads), Jiang et al. 2024 (Mixtral router), Dai et al. 2024 (DeepSeekMoE shared
experts). Official totals are kept in models.csv as a check (tests/test_params.py), never as the answer.
"""

from __future__ import annotations

import numpy as np

from .architecture import Architecture


def _mlp(a: Architecture, width) -> np.ndarray:
    """Parameters of one MLP of hidden width ``width`` (gated: 3 matrices, else 2), with biases if any."""
    d = a.d_model
    matrices = np.where(a.gated_ffn > 0, 3.0, 2.0) * d * width
    biases = a.mlp_bias * np.where(a.gated_ffn > 0, 2.0 * width + d, width + d)
    return matrices + biases


def param_breakdown(a: Architecture) -> dict[str, np.ndarray]:
    """Parameters per component (arrays broadcast over the architecture's rows); computed once per
    architecture object and kept in its cache (catalog rows are computed once and gathered)."""
    if "params" not in a.cache:
        a.cache["params"] = _breakdown(a)
    return a.cache["params"]


def _breakdown(a: Architecture) -> dict[str, np.ndarray]:
    L, d, H, K, Q, V = a.n_layers, a.d_model, a.n_heads, a.n_kv_heads, a.head_dim, a.vocab_size
    E, S = a.n_experts, a.n_shared_experts
    attention_per_layer = (
        d * H * Q + 2 * d * K * Q + H * Q * d      # q, k, v, o projections
        + a.qkv_bias * (H * Q + 2 * K * Q)         # q, k, v biases (Qwen2, GPT-2, GPT-NeoX)
        + a.o_bias * d                             # output-projection bias
    )
    norm = a.norm_width * d                        # RMSNorm: weight; LayerNorm: weight + bias
    moe_layers = np.where(E > 0, L - a.first_dense_layers, 0.0)
    dense_layers = L - moe_layers
    return {
        "embedding/tokens": V * d,
        "embedding/positions": a.learned_positions * a.max_context * d,
        "attention": L * attention_per_layer,
        "mlp/dense": dense_layers * _mlp(a, a.d_ff),
        "mlp/router": moe_layers * d * E,
        "mlp/routed_experts": moe_layers * E * _mlp(a, a.d_ff_expert),
        "mlp/shared_experts": moe_layers * (S * _mlp(a, a.d_ff_shared_expert) + a.shared_expert_gate * d),
        "norms": (L * a.norms_per_layer + 1) * norm,  # per-layer norms + the final norm
        "lm_head": (1 - a.tied_embeddings) * (V * d + a.lm_head_bias * V),
    }


def total_params(a: Architecture) -> np.ndarray:
    """All parameters stored in the checkpoint (tied embeddings counted once)."""
    return sum(param_breakdown(a).values())


def active_params(a: Architecture) -> np.ndarray:
    """Parameters used per token: everything except the routed experts a token is not sent to (k of E)."""
    b = param_breakdown(a)
    routed = b["mlp/routed_experts"]
    unused_fraction = np.where(a.n_experts > 0, 1 - a.experts_per_token / np.maximum(a.n_experts, 1), 0.0)
    return total_params(a) - routed * unused_fraction


def embedding_params(a: Architecture) -> np.ndarray:
    """Token and position embedding tables plus an untied output head: the matrices kept at
    ``embed_bits`` by quantizers that skip them (GPTQ, AWQ, bitsandbytes)."""
    b = param_breakdown(a)
    return b["embedding/tokens"] + b["embedding/positions"] + b["lm_head"]


def matmul_params(a: Architecture) -> np.ndarray:
    """Active parameters that take part in a matrix multiply per token: all active parameters except the
    embedding look-ups, plus the output head (which multiplies even when tied). This is N in 2N FLOPs per
    token (Kaplan et al. 2020 sec. 2.1 excludes embeddings; the output head is a real matmul)."""
    b = param_breakdown(a)
    lookups = b["embedding/tokens"] + b["embedding/positions"]
    head_matmul = a.vocab_size * a.d_model
    untied_head = b["lm_head"]
    return active_params(a) - lookups - untied_head + head_matmul
