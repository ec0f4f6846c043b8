"""Parameter counts from the per-layer description of a model (layers.py).

The count is a breakdown keyed by component (after nanoGPT's transformer_sizing notebook); the total is the
sum. Every layer kind has one per-layer term below; the model's count is sum over kinds of
(layers of that kind) x (its per-layer term). Symbols:

    d model width, H query heads, K key/value heads, Q head dim, F dense MLP width, V vocabulary,
    E routed experts, k experts per token, Fe expert width, S shared experts, Fs shared-expert width.

Mixers (per layer):
    attention (A, S, C, H)  q: d*H*Q*(1+g)   k, v: 2*d*K*Q   o: H*Q*d            g = 1 with an output gate
                            + qkv bias H*Q + 2*K*Q, o bias d, q/k norms 2*Q, sinks H       (Qwen3-Next)
                            full layers (A, H) may have their own Q and K, and k = v (Gemma 4: one projection)
    MLA (L)                 q: d*r_q + r_q + r_q*H*(n+r)  (or d*H*(n+r) without a q low-rank)
                            kv_a: d*(c + r) + c      kv_b: c*H*(n + v)      o: H*v*d
                            with c kv_lora_rank, r_q q_lora_rank, n/r the no-rope/rope head dims, v value dim
                            + DSA indexer (DeepSeek-V3.2, GLM-5): r_q*Hi*Di + d*Di + 2*Di + d*Hi
    linear attention (D)    in: d*(2*Kh*dk + 2*Vh*dv) + d*2*Vh   conv: (2*Kh*dk + Vh*dv)*kernel
                            dt_bias, A_log: 2*Vh    gated norm: dv    out: Vh*dv*d       (Gated DeltaNet)
    Mamba-2 (M, H)          in: d*(2*I + 2*G*N + h) [+ bias]   conv: (I + 2*G*N)*(kernel [+1 bias])
                            dt_bias, A_log, D: 3*h   gated norm: I   out: I*d [+ bias d]
    Mamba-1 (M)             in: d*2*I [+ bias]  conv: I*(kernel [+1])  x_proj: I*(R + 2*N)
                            dt_proj: R*I + I   A_log: I*N   D: I   dt/B/C norms: R + 2*N   out: I*d [+ bias]
MLPs (per layer):
    dense (D)               3*d*F gated (SwiGLU/GeGLU), else 2*d*F                 [+ biases]
    MoE (E)                 router d*E [+ E bias] [+ d + E scales, Gemma 4] + E*mlp(Fe) + S*mlp(Fs)
                            [+ d shared-expert gate]; B = a dense MLP and an MoE in parallel (Gemma 4)
                            latent MoE (Nemotron 3): experts between l < d channels, + 2*d*l projections
Once per model: token embeddings V*d, learned positions, final norm, the output head V*d unless tied.

Sources: Vaswani et al. 2017; Shazeer 2020 (GLU: 3 matrices); Ainslie et al. 2023 (GQA); DeepSeek-V2
(arXiv:2405.04434 sec. 2.1, MLA); Yang et al. 2024 (Gated DeltaNet, arXiv:2412.06464) as in Qwen3-Next;
Gu & Dao 2023 (Mamba, arXiv:2312.00752) and Dao & Gu 2024 (Mamba-2, arXiv:2405.21060) as implemented in
transformers' Mamba2Mixer/JambaMambaMixer; Jiang et al. 2024 (Mixtral router); Dai et al. 2024 (DeepSeekMoE
shared experts); OpenAI gpt-oss model card (attention sinks, expert and router biases). Official totals are
kept in models.csv as a check (tests/test_params.py), never as the answer.
"""

from __future__ import annotations

import numpy as np

from .architecture import Architecture


def _mlp(a: Architecture, width, d=None) -> np.ndarray:
    """Parameters of one MLP of hidden width ``width`` (gated: 3 matrices, else 2), with biases if any,
    between ``d`` channels (the model width unless given: latent MoE experts work at a smaller width)."""
    d = a.d_model if d is None else d
    matrices = np.where(a.gated_ffn > 0, 3.0, 2.0) * d * width
    biases = a.mlp_bias * np.where(a.gated_ffn > 0, 2.0 * width + d, width + d)
    return matrices + biases


def attention_layer_params(a: Architecture, full: bool = False) -> np.ndarray:
    """One softmax-attention layer with H query and K key/value heads of width Q. ``full``: a full-attention
    layer, which may have its own head width and KV heads and share K as V (Gemma 4 global layers)."""
    d, H, K, Q = a.d_model, a.n_heads, a.n_kv_heads, a.head_dim
    kv_projections = 2.0
    if full:
        K, Q = a.global_kv_heads, a.global_head_dim
        kv_projections = 2.0 - a.global_k_eq_v
    return (
        d * H * Q * (1 + a.attn_output_gate) + kv_projections * d * K * Q + H * Q * d  # q (+ gate), k, v, o
        + a.qkv_bias * (H * Q + kv_projections * K * Q)                 # q, k, v biases
        + a.o_bias * d                                                  # output-projection bias
        + a.qk_norm * np.where(a.qk_norm_full_width > 0, (H + K) * Q, 2 * Q)  # q/k RMSNorm per head or full width
        + a.attn_sinks * H                                              # one learned sink logit per head
    )


def mla_layer_params(a: Architecture) -> np.ndarray:
    """One multi-head latent attention layer (DeepSeek-V2/V3, Kimi-K2)."""
    d, H = a.d_model, a.n_heads
    c, r_q = a.kv_lora_rank, a.q_lora_rank
    qk = a.qk_nope_head_dim + a.qk_rope_head_dim
    q = np.where(r_q > 0, d * r_q + r_q + r_q * H * qk, d * H * qk)
    kv = d * (c + a.qk_rope_head_dim) + c + c * H * (a.qk_nope_head_dim + a.v_head_dim)
    o = H * a.v_head_dim * d
    bias = a.qkv_bias * (np.where(r_q > 0, r_q, H * qk) + c + a.qk_rope_head_dim) + a.o_bias * d
    # DeepSeek Sparse Attention's lightning indexer (DeepSeek-V3.2, GLM-5): its own queries from the q
    # low-rank, one shared key of index_head_dim with a LayerNorm, and per-head weights.
    ih, idim = a.index_heads, a.index_head_dim
    indexer = np.where(ih > 0, np.where(r_q > 0, r_q, d) * ih * idim + d * idim + 2 * idim + d * ih, 0.0)
    return q + kv + o + bias + indexer


def linear_attention_layer_params(a: Architecture) -> np.ndarray:
    """One Gated DeltaNet layer (Qwen3-Next)."""
    d = a.d_model
    key, value = a.linear_k_heads * a.linear_k_head_dim, a.linear_v_heads * a.linear_v_head_dim
    conv = (2 * key + value) * a.linear_conv_kernel
    return d * (2 * key + 2 * value) + d * 2 * a.linear_v_heads + conv + 2 * a.linear_v_heads \
        + a.linear_v_head_dim + value * d


def mamba_layer_params(a: Architecture) -> np.ndarray:
    """One Mamba mixer: version 2 (Nemotron-H, Falcon-H1, Granite 4 hybrids) or 1 (Jamba)."""
    d, I, N, G, h = a.d_model, a.mamba_d_inner, a.mamba_d_state, a.mamba_groups, a.mamba_heads
    bias, kernel = a.mamba_proj_bias, a.mamba_conv_kernel + a.mamba_conv_bias
    conv2 = I + 2 * G * N
    in2 = 2 * I + 2 * G * N + h
    v2 = d * in2 + bias * in2 + conv2 * kernel + 3 * h + a.mamba_norm * I + I * d + bias * d
    R = a.mamba_dt_rank
    v1 = (d * 2 * I + bias * 2 * I + I * kernel + I * (R + 2 * N) + R * I + I + I * N + I
          + a.mamba_norm * (R + 2 * N) + I * d + bias * d)
    return np.where(a.mamba_version == 1, v1, v2)


def param_breakdown(a: Architecture) -> dict[str, np.ndarray]:
    """Parameters per component (arrays broadcast over the architecture's rows); computed once per
    architecture object and kept in its cache (catalog rows are computed once and gathered)."""
    if "params" not in a.cache:
        a.cache["params"] = _breakdown(a)
    return a.cache["params"]


def _breakdown(a: Architecture) -> dict[str, np.ndarray]:
    L, d, V, E, S = a.n_layers, a.d_model, a.vocab_size, a.n_experts, a.n_shared_experts
    local_layers = a.n_attn_sliding + a.n_attn_chunked
    moe = a.n_mlp_moe
    return {
        "embedding/tokens": V * d,
        "embedding/positions": a.learned_positions * a.max_context * d,
        "attention": (a.n_attn_full * attention_layer_params(a, full=True) + local_layers * attention_layer_params(a)
                      + a.n_mla * mla_layer_params(a)),
        "mixer/linear_attention": a.n_linear_attn * linear_attention_layer_params(a),
        "mixer/mamba": a.n_mamba * mamba_layer_params(a),
        "mlp/dense": a.n_mlp_dense * _mlp(a, a.d_ff),
        "mlp/router": moe * (d * E + a.router_bias * E + a.router_scales * (d + E)),
        "mlp/routed_experts": moe * E * _mlp(a, a.d_ff_expert, np.where(a.moe_latent_dim > 0, a.moe_latent_dim, d)),
        "mlp/latent_projections": moe * 2 * d * a.moe_latent_dim,
        "mlp/shared_experts": moe * (S * _mlp(a, a.d_ff_shared_expert) + a.shared_expert_gate * d),
        "norms": (L * a.norms_per_layer + 1) * a.norm_width * d,  # per-layer norms + the final norm
        "lm_head": (1 - a.tied_embeddings) * (V * d + a.lm_head_bias * V),
    }


def total_params(a: Architecture) -> np.ndarray:
    """All parameters of the language model stored in the checkpoint (tied embeddings counted once).
    A vision tower, where a multimodal config describes one, is ``vision_params`` and is not included."""
    return sum(param_breakdown(a).values())


def routed_expert_params(a: Architecture) -> np.ndarray:
    """Parameters of all routed experts (the tensors a per-group format such as gpt-oss's MXFP4 covers)."""
    return param_breakdown(a)["mlp/routed_experts"]


def active_params(a: Architecture) -> np.ndarray:
    """Parameters used per token: everything except the routed experts a token is not sent to (k of E).

    Convention: embeddings and the output head are counted (as Mixtral, DeepSeek and Qwen report "active");
    :func:`active_params_excluding_embeddings` gives the count without them (as gpt-oss's model card does).
    """
    routed = routed_expert_params(a)
    unused_fraction = np.where(a.n_experts > 0, 1 - a.experts_per_token / np.maximum(a.n_experts, 1), 0.0)
    return total_params(a) - routed * unused_fraction


def active_params_excluding_embeddings(a: Architecture) -> np.ndarray:
    """Active parameters without the token/position embeddings and the (untied) output head."""
    return active_params(a) - embedding_params(a)


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
