"""Import a Hugging Face ``config.json`` as a model record (the fields of models.csv).

Each family maps its own key names onto ours; defaults follow the family's transformers config class
(e.g. GPT-2 ties embeddings and learns positions, GPT-NeoX has biases everywhere and an untied head,
Falcon-7B uses one LayerNorm for its parallel attention/MLP block, Gemma 2 has four norms per layer and a
sliding window on every other layer).
"""

from __future__ import annotations

import json
import math

from . import architecture
from .errors import ScalesheetError

LLAMA_LIKE = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "phi3", "deepseek", "gemma", "gemma2"}
SUPPORTED = sorted(LLAMA_LIKE | {"gpt2", "gpt_neox", "falcon", "phi"})


def _get(cfg: dict, *keys, default=None):
    for k in keys:
        if cfg.get(k) is not None:
            return cfg[k]
    return default


def _llama_like(cfg: dict, mt: str) -> dict:
    L = _get(cfg, "num_hidden_layers")
    d = _get(cfg, "hidden_size")
    H = _get(cfg, "num_attention_heads")
    rec = {
        "n_layers": L, "d_model": d, "n_heads": H,
        "n_kv_heads": _get(cfg, "num_key_value_heads", default=H),
        "head_dim": _get(cfg, "head_dim", default=(d // H if d and H else None)),
        "d_ff": _get(cfg, "intermediate_size"),
        "vocab_size": _get(cfg, "vocab_size"),
        "max_context": _get(cfg, "max_position_embeddings", default=2048),
        "ffn_type": "geglu" if mt in ("gemma", "gemma2") else "swiglu",
        "norm_type": "rmsnorm", "norms_per_layer": 4 if mt == "gemma2" else 2,
        "qkv_bias": bool(_get(cfg, "attention_bias", default=mt in ("qwen2", "qwen2_moe"))),
        "o_bias": False, "mlp_bias": bool(_get(cfg, "mlp_bias", default=False)),
        "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=mt in ("gemma", "gemma2"))),
        "pos_embedding": "rope",
    }
    window = _get(cfg, "sliding_window")
    if mt == "mistral" and window:
        rec.update(sliding_window=window, sliding_window_layers=L)
    elif mt == "gemma2" and window:
        rec.update(sliding_window=window, sliding_window_layers=math.ceil(L / 2))
    elif mt in ("qwen2", "qwen2_moe") and window and cfg.get("use_sliding_window"):
        full = _get(cfg, "max_window_layers", default=L)
        rec.update(sliding_window=window, sliding_window_layers=max(L - full, 0))
    if mt == "mixtral":
        rec.update(n_experts=_get(cfg, "num_local_experts"), experts_per_token=_get(cfg, "num_experts_per_tok"),
                   d_ff_expert=rec["d_ff"])
    elif mt == "qwen2_moe":
        shared = _get(cfg, "shared_expert_intermediate_size", default=0)
        rec.update(n_experts=_get(cfg, "num_experts"), experts_per_token=_get(cfg, "num_experts_per_tok"),
                   d_ff_expert=_get(cfg, "moe_intermediate_size"), n_shared_experts=1 if shared else 0,
                   d_ff_shared_expert=shared, shared_expert_gate=bool(shared))
    elif mt == "deepseek":
        rec.update(n_experts=_get(cfg, "n_routed_experts"), experts_per_token=_get(cfg, "num_experts_per_tok"),
                   d_ff_expert=_get(cfg, "moe_intermediate_size"),
                   n_shared_experts=_get(cfg, "n_shared_experts", default=0),
                   d_ff_shared_expert=_get(cfg, "moe_intermediate_size"),
                   first_dense_layers=_get(cfg, "first_k_dense_replace", default=0))
    return rec


def _gpt2(cfg: dict) -> dict:
    d = _get(cfg, "n_embd", "hidden_size")
    return {
        "n_layers": _get(cfg, "n_layer", "num_hidden_layers"), "d_model": d,
        "n_heads": _get(cfg, "n_head", "num_attention_heads"), "d_ff": _get(cfg, "n_inner", default=4 * d),
        "vocab_size": _get(cfg, "vocab_size"), "max_context": _get(cfg, "n_positions", default=1024),
        "ffn_type": "gelu", "norm_type": "layernorm", "norms_per_layer": 2, "qkv_bias": True, "o_bias": True,
        "mlp_bias": True, "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=True)),
        "pos_embedding": "learned",
    }


def _gpt_neox(cfg: dict) -> dict:
    bias = bool(_get(cfg, "attention_bias", default=True))
    return {
        "n_layers": cfg.get("num_hidden_layers"), "d_model": cfg.get("hidden_size"),
        "n_heads": cfg.get("num_attention_heads"), "d_ff": cfg.get("intermediate_size"),
        "vocab_size": cfg.get("vocab_size"), "max_context": _get(cfg, "max_position_embeddings", default=2048),
        "ffn_type": "gelu", "norm_type": "layernorm", "norms_per_layer": 2, "qkv_bias": bias, "o_bias": bias,
        "mlp_bias": True, "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=False)),
        "pos_embedding": "rope",
    }


def _falcon(cfg: dict) -> dict:
    d = _get(cfg, "hidden_size", "d_model")
    H = _get(cfg, "num_attention_heads", "n_head")
    new_arch = bool(cfg.get("new_decoder_architecture"))
    if new_arch:
        kv = _get(cfg, "num_kv_heads", "n_head_kv", default=H)
    else:
        kv = 1 if _get(cfg, "multi_query", default=True) else H
    bias = bool(_get(cfg, "bias", default=False))
    return {
        "n_layers": _get(cfg, "num_hidden_layers", "n_layer"), "d_model": d, "n_heads": H, "n_kv_heads": kv,
        "d_ff": _get(cfg, "ffn_hidden_size", default=4 * d), "vocab_size": cfg.get("vocab_size"),
        "max_context": _get(cfg, "max_position_embeddings", default=2048), "ffn_type": "gelu",
        "norm_type": "layernorm",
        "norms_per_layer": 2 if new_arch or not _get(cfg, "parallel_attn", default=True) else 1,
        "qkv_bias": bias, "o_bias": bias, "mlp_bias": bias,
        "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=True)),
        "pos_embedding": "alibi" if cfg.get("alibi") else "rope",
    }


def _phi(cfg: dict) -> dict:
    return {
        "n_layers": cfg.get("num_hidden_layers"), "d_model": cfg.get("hidden_size"),
        "n_heads": cfg.get("num_attention_heads"),
        "n_kv_heads": _get(cfg, "num_key_value_heads", default=cfg.get("num_attention_heads")),
        "d_ff": cfg.get("intermediate_size"), "vocab_size": cfg.get("vocab_size"),
        "max_context": _get(cfg, "max_position_embeddings", default=2048), "ffn_type": "gelu",
        "norm_type": "layernorm", "norms_per_layer": 1, "qkv_bias": True, "o_bias": True, "mlp_bias": True,
        "lm_head_bias": True, "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=False)),
        "pos_embedding": "rope",
    }


def record_from_config(cfg: dict, name: str = "config.json") -> dict:
    """Model record (models.csv fields) from a parsed config.json."""
    if not isinstance(cfg, dict):
        raise ScalesheetError("config", "must be a JSON object (a Hugging Face config.json)")
    mt = str(cfg.get("model_type", "")).strip().lower()
    if mt in LLAMA_LIKE:
        rec = _llama_like(cfg, mt)
    elif mt == "gpt2":
        rec = _gpt2(cfg)
    elif mt == "gpt_neox":
        rec = _gpt_neox(cfg)
    elif mt in ("falcon", "refinedweb", "refinedwebmodel"):
        rec = _falcon(cfg)
    elif mt == "phi":
        rec = _phi(cfg)
    else:
        raise ScalesheetError("config", f"model_type {mt or '(missing)'!r} is not supported; supported: "
                                        f"{', '.join(SUPPORTED)}")
    rec = {k: v for k, v in rec.items() if v is not None}
    rec["name"] = name
    return rec


def architecture_from_config(cfg: dict, name: str = "config.json") -> architecture.Architecture:
    return architecture.from_mapping(record_from_config(cfg, name), argument="config")


def load_config(path) -> dict:
    """Read and parse a config.json file; a clear error for a missing, huge or malformed file."""
    import os

    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ScalesheetError("config", f"cannot read {path}: {exc.strerror}")
    if size > 10 * 2**20:
        raise ScalesheetError("config", f"{path} is {size} bytes; a config.json is a few kB (limit 10 MiB)")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScalesheetError("config", f"{path} is not valid JSON: {exc}")
