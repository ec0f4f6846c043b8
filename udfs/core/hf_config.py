"""Import a Hugging Face ``config.json`` as a model record (the fields of models.csv).

Each family maps its own key names onto ours. A key the config leaves out takes the default of the family's
transformers configuration class (transformers 5.24; the values are listed in FAMILY_DEFAULTS), as
``from_pretrained`` would. Multimodal releases keep the language model under ``text_config``; it is
imported, and the vision tower is reported apart (``vision_params``, not part of ``params``).

The per-layer stack comes from what configs carry: ``layer_types``, ``sliding_window_pattern``, Llama 4's
``no_rope_layers``/``moe_layers``/``interleave_moe_layer_step``/``attention_chunk_size``,
``first_k_dense_replace``/``moe_layer_freq``, ``full_attention_interval``, ``attn_layer_period``/
``attn_layer_offset``, ``expert_layer_period``/``expert_layer_offset``, ``hybrid_override_pattern``,
``mlp_only_layers``/``decoder_sparse_step``. Every value is type-checked: a size must be a whole number
(``"768"`` as text is refused, never multiplied as a string), a flag a boolean, a list a list.
"""

from __future__ import annotations

import json
import math
import os

from . import architecture, layers
from .errors import ScalesheetError

# Defaults of the transformers configuration classes for the keys read below (transformers 5.24.0,
# CONFIG_MAPPING[model_type]().to_dict()); a released config.json usually states every key, but the
# nested text_config of Gemma 3 multimodal releases leaves out those equal to the class default.
FAMILY_DEFAULTS = {
    "gemma3_text": {"vocab_size": 262208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
                    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
                    "max_position_embeddings": 131072, "sliding_window": 4096, "sliding_window_pattern": 6,
                    "tie_word_embeddings": True},
    "llama4_text": {"vocab_size": 202048, "hidden_size": 5120, "intermediate_size": 8192,
                    "intermediate_size_mlp": 16384, "num_hidden_layers": 48, "num_attention_heads": 40,
                    "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 131072,
                    "num_local_experts": 16, "num_experts_per_tok": 1, "interleave_moe_layer_step": 1,
                    "attention_chunk_size": 8192, "no_rope_layer_interval": 4},
    "gpt_oss": {"vocab_size": 201088, "hidden_size": 2880, "intermediate_size": 2880, "num_hidden_layers": 36,
                "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64, "sliding_window": 128,
                "num_local_experts": 128, "num_experts_per_tok": 4, "attention_bias": True,
                "max_position_embeddings": 131072},
    "jamba": {"mamba_d_state": 16, "mamba_d_conv": 4, "mamba_expand": 2, "mamba_conv_bias": True,
              "mamba_proj_bias": False, "attn_layer_period": 8, "attn_layer_offset": 4, "expert_layer_period": 2,
              "expert_layer_offset": 1, "num_experts": 16, "num_experts_per_tok": 2},
    "falcon_h1": {"mamba_n_heads": 128, "mamba_d_head": 8, "mamba_d_state": 256, "mamba_n_groups": 1,
                  "mamba_d_conv": 4, "mamba_expand": 2, "mamba_conv_bias": True, "mamba_proj_bias": False,
                  "mamba_rms_norm": False, "projectors_bias": False, "mlp_bias": False, "attention_bias": False},
    "granitemoehybrid": {"mamba_n_heads": 128, "mamba_d_head": 64, "mamba_d_state": 256, "mamba_n_groups": 1,
                         "mamba_d_conv": 4, "mamba_expand": 2, "mamba_conv_bias": True, "mamba_proj_bias": False,
                         "shared_intermediate_size": 1024, "num_local_experts": 8, "num_experts_per_tok": 2},
    "nemotron_h": {"mamba_num_heads": 128, "mamba_head_dim": 64, "ssm_state_size": 128, "n_groups": 8,
                   "conv_kernel": 4, "use_conv_bias": True, "use_bias": False, "mlp_bias": False,
                   "attention_bias": False, "mlp_hidden_act": "relu2"},
    "qwen3_next": {"full_attention_interval": 4, "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128,
                   "linear_value_head_dim": 128, "linear_num_key_heads": 16, "linear_num_value_heads": 32,
                   "decoder_sparse_step": 1},
}
FAMILY_DEFAULTS["qwen3_5_text"] = FAMILY_DEFAULTS["qwen3_5_moe_text"] = FAMILY_DEFAULTS["qwen3_next"]
# A multimodal wrapper's text model type, where its text_config does not name one.
TEXT_MODEL_TYPE = {"gemma4": "gemma4_text", "glm4v_moe": "glm4v_moe_text", "llama4": "llama4_text", "gemma3": "gemma3_text", "mistral3": "mistral",
                   "qwen3_5": "qwen3_5_text", "qwen3_5_moe": "qwen3_5_moe_text", "qwen3_vl": "qwen3_vl_text",
                   "qwen3_vl_moe": "qwen3_vl_moe_text", "llava": "llama"}
DEEPSEEK_LIKE = {"deepseek_v2", "deepseek_v3", "kimi_k2", "deepseek_v32", "glm_moe_dsa", "kimi_vl"}
LLAMA_LIKE = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "phi3", "deepseek", "gemma", "gemma2",
              "qwen3", "qwen3_moe", "qwen3_vl_text", "qwen3_vl_moe_text", "gemma3_text", "llama4_text",
              "gpt_oss", "glm4_moe", "minimax_m2", "ministral", "smollm3", "seed_oss", "olmo2", "olmo3", "olmoe",
              "cohere2", "exaone4", "glm4", "granite", "granitemoe", "phimoe", "arcee", "apertus", "ernie4_5",
              "ernie4_5_moe", "gemma4_text", "qwen2_vl", "qwen2_5_vl", "qwen2_vl_text", "qwen2_5_vl_text", "glm4v_moe_text"}
HYBRIDS = {"qwen3_next", "qwen3_5_text", "qwen3_5_moe_text", "nemotron_h", "jamba", "falcon_h1",
           "granitemoehybrid"}
SUPPORTED = sorted(LLAMA_LIKE | DEEPSEEK_LIKE | HYBRIDS | set(TEXT_MODEL_TYPE) |
                   {"gpt2", "gpt_neox", "falcon", "phi"})
MAX_CONFIG_BYTES = 10 * 2**20  # a config.json is a few kB; refuse anything past 10 MiB unread
MAX_SIZE = 10**12  # no real dimension is near this; bounds arithmetic on hostile values


class Reader:
    """Typed access to one config dict (and its family defaults); every error names the key."""

    def __init__(self, cfg: dict, defaults: dict | None = None):
        self.cfg, self.defaults = cfg, defaults or {}

    def raw(self, *keys, default=None):
        for k in keys:
            if self.cfg.get(k) is not None:
                return k, self.cfg[k]
        for k in keys:
            if self.defaults.get(k) is not None:
                return k, self.defaults[k]
        return keys[0], default

    def int(self, *keys, default=None, minimum=0):
        key, v = self.raw(*keys, default=default)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
            raise ScalesheetError("config", f"{key} must be a whole number; got {json.dumps(v)[:60]}")
        if not minimum <= v <= MAX_SIZE:
            raise ScalesheetError("config", f"{key} must be between {minimum} and {MAX_SIZE:.0e}; got {v}")
        return int(v)

    def need(self, *keys, minimum=1):
        v = self.int(*keys, minimum=minimum)
        if v is None:
            raise ScalesheetError("config", f"{keys[0]} is missing")
        return v

    def bool(self, *keys, default=False):
        key, v = self.raw(*keys, default=default)
        if not isinstance(v, bool):
            raise ScalesheetError("config", f"{key} must be true or false; got {json.dumps(v)[:60]}")
        return v

    def list(self, key, default=None):
        _, v = self.raw(key, default=default)
        if v is not None and not isinstance(v, list):
            raise ScalesheetError("config", f"{key} must be a list; got {json.dumps(v)[:60]}")
        return v

    def text(self, key, default=""):
        _, v = self.raw(key, default=default)
        if not isinstance(v, str):
            raise ScalesheetError("config", f"{key} must be text; got {json.dumps(v)[:60]}")
        return v


# --------------------------------------------------------------------------------- layer stacks
LAYER_TYPE_LETTER = {"full_attention": "A", "attention": "A", "global": "A", "sliding_attention": "S",
                     "sliding_window": "S", "local": "S", "chunked_attention": "C", "linear_attention": "D",
                     "mamba": "M", "mamba2": "M"}


def _from_layer_types(r: Reader, L: int, letters: dict | None = None) -> str | None:
    letters = letters or LAYER_TYPE_LETTER
    types = r.list("layer_types")
    if types is None:
        return None
    if len(types) != L:
        raise ScalesheetError("config", f"layer_types has {len(types)} entries but num_hidden_layers is {L}")
    out = []
    for t in types:
        letter = letters.get(str(t).strip().lower()) if isinstance(t, str) else None
        if letter is None:
            raise ScalesheetError("config", f"layer_types entry {json.dumps(t)[:40]} is not a known layer kind "
                                            f"({', '.join(letters)})")
        out.append(letter)
    return "".join(out)


def _indices(r: Reader, key: str, L: int) -> set:
    values = r.list(key, default=[]) or []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < L:
            raise ScalesheetError("config", f"{key} must list layer indices 0..{L - 1}; got {json.dumps(v)[:40]}")
    return set(values)


def _sparse_step_mlps(r: Reader, L: int, moe: bool) -> str:
    """Qwen2/3-MoE: layer i is MoE unless listed in mlp_only_layers, when (i+1) % decoder_sparse_step == 0."""
    if not moe:
        return "D" * L
    step = r.int("decoder_sparse_step", default=1, minimum=1)
    only = _indices(r, "mlp_only_layers", L)
    return "".join("E" if i not in only and (i + 1) % step == 0 else "D" for i in range(L))


def _window_mixers(r: Reader, mt: str, L: int, window) -> str:
    """Attention layers: layer_types where given, else the family's rule for sliding layers."""
    from_types = _from_layer_types(r, L)
    if from_types is not None:
        return from_types
    if not window:
        return "A" * L
    if mt == "gemma2":
        return "SA" * (L // 2) + "S" * (L % 2)  # Gemma 2: even layers local (transformers Gemma2 is_sliding)
    if mt == "gemma3_text":
        period = r.int("sliding_window_pattern", default=6, minimum=1)
        return "".join("A" if (i + 1) % period == 0 else "S" for i in range(L))
    if mt == "gpt_oss":
        return "SA" * (L // 2) + "S" * (L % 2)
    if mt in ("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"):
        if not r.bool("use_sliding_window", default=False):
            return "A" * L
        full = r.int("max_window_layers", default=L)
        return "A" * min(full, L) + "S" * max(L - full, 0)
    if mt in ("mistral", "phi3", "ministral"):
        return "S" * L
    return "A" * L


# ------------------------------------------------------------------------------------ families
def _common(r: Reader, mt: str) -> dict:
    blocks = r.list("layers_block_type") if mt == "nemotron_h" else None
    L = r.need("num_hidden_layers") if blocks is None or r.raw("num_hidden_layers")[1] is not None else len(blocks)
    d, H = r.need("hidden_size"), r.need("num_attention_heads")
    head_dim = r.int("head_dim", minimum=1)
    if head_dim is None:  # as the transformers attention modules do: hidden_size // num_attention_heads
        if d < H:
            raise ScalesheetError("config", "head_dim is missing and hidden_size < num_attention_heads")
        head_dim = d // H
    return {
        "n_layers": L, "d_model": d, "n_heads": H,
        "n_kv_heads": r.int("num_key_value_heads", default=H, minimum=1),
        "head_dim": head_dim, "d_ff": r.int("intermediate_size", minimum=0),
        "vocab_size": r.need("vocab_size"),
        "max_context": r.int("max_position_embeddings", default=2048, minimum=1),
        "ffn_type": "swiglu", "norm_type": "rmsnorm", "norms_per_layer": 2,
        "qkv_bias": r.bool("attention_bias", default=mt in ("qwen2", "qwen2_moe")),
        "o_bias": False, "mlp_bias": r.bool("mlp_bias", default=False),
        "tied_embeddings": r.bool("tie_word_embeddings", default=mt in ("gemma", "gemma2", "gemma3_text")),
        "pos_embedding": "rope",
    }


# Families that are the Llama layout with a different name: their own key names and flags are read below.
ALIAS = {"qwen2_vl": "qwen2", "qwen2_5_vl": "qwen2", "qwen2_vl_text": "qwen2", "qwen2_5_vl_text": "qwen2",
         "glm4v_moe_text": "glm4_moe", "granite": "llama", "seed_oss": "llama", "smollm3": "llama"}


def _llama_like(r: Reader, mt: str) -> dict:
    mt = ALIAS.get(mt, mt)
    rec = _common(r, mt)
    L = rec["n_layers"]
    if mt in ("olmo2", "olmo3", "olmoe"):  # q/k RMSNorm over the whole projection (OLMo 2)
        rec.update(qk_norm=True, qk_norm_full_width=True)
    if mt in ("exaone4", "apertus"):
        rec["qk_norm"] = True
    if mt == "cohere2":  # one LayerNorm (weight only) before the parallel attention and MLP
        rec.update(norms_per_layer=1, norm_type="rmsnorm")
    if mt == "glm4":  # GLM-4-0414: post-attention and post-MLP norms as well
        rec["norms_per_layer"] = 4
    if mt in ("arcee", "apertus"):  # ReLU^2 (Arcee) and xIELU (Apertus): up and down only
        rec["ffn_type"] = "relu"
    if mt in ("ernie4_5", "ernie4_5_moe"):
        rec["qkv_bias"] = rec["o_bias"] = rec["mlp_bias"] = r.bool("use_bias", default=False)
    if mt == "phimoe":
        rec.update(norm_type="layernorm", o_bias=rec["qkv_bias"], lm_head_bias=r.bool("lm_head_bias", default=False))
    window = r.int("sliding_window", minimum=0)
    if mt in ("gemma", "gemma2", "gemma3_text", "gemma4_text"):
        rec["ffn_type"] = "geglu"
        rec["norms_per_layer"] = 2 if mt == "gemma" else 4
    if mt in ("qwen3", "qwen3_moe", "qwen3_vl_text", "qwen3_vl_moe_text", "gemma3_text", "minimax_m2"):
        rec["qk_norm"] = True
    if mt == "glm4_moe":
        rec["qk_norm"] = r.bool("use_qk_norm", default=False)
    mixers = _window_mixers(r, mt, L, window)
    mlps = "D" * L
    if mt == "mixtral":
        rec.update(n_experts=r.need("num_local_experts"), experts_per_token=r.need("num_experts_per_tok"),
                   d_ff_expert=rec["d_ff"])
        mlps = "E" * L
    elif mt in ("qwen2_moe", "qwen3_moe", "qwen3_vl_moe_text"):
        E = r.int("num_experts", "num_local_experts", default=0)
        shared = r.int("shared_expert_intermediate_size", default=0)
        rec.update(n_experts=E, experts_per_token=r.int("num_experts_per_tok", default=0),
                   d_ff_expert=r.int("moe_intermediate_size", default=0), n_shared_experts=1 if shared else 0,
                   d_ff_shared_expert=shared, shared_expert_gate=bool(shared))
        mlps = _sparse_step_mlps(r, L, E > 0)
    elif mt == "deepseek":
        rec.update(n_experts=r.need("n_routed_experts"), experts_per_token=r.need("num_experts_per_tok"),
                   d_ff_expert=r.need("moe_intermediate_size"),
                   n_shared_experts=r.int("n_shared_experts", default=0),
                   d_ff_shared_expert=r.need("moe_intermediate_size"))
        mlps = _first_k_dense(r, L)
    elif mt == "glm4_moe":
        rec.update(n_experts=r.need("n_routed_experts"), experts_per_token=r.need("num_experts_per_tok"),
                   d_ff_expert=r.need("moe_intermediate_size"), n_shared_experts=r.int("n_shared_experts", default=0))
        rec["d_ff_shared_expert"] = rec["d_ff_expert"] * rec["n_shared_experts"]
        rec["n_shared_experts"] = min(rec["n_shared_experts"], 1)
        mlps = _first_k_dense(r, L)
    elif mt == "gpt_oss":
        rec.update(n_experts=r.need("num_local_experts"), experts_per_token=r.need("num_experts_per_tok"),
                   d_ff_expert=rec["d_ff"], attn_sinks=True, router_bias=True, mlp_bias=True,
                   o_bias=rec["qkv_bias"])  # gpt-oss: attention_bias covers q, k, v and o
        mlps = "E" * L
    elif mt in ("granitemoe", "phimoe", "olmoe"):
        E = r.need("num_local_experts", "num_experts")
        rec.update(n_experts=E, experts_per_token=r.need("num_experts_per_tok"), d_ff_expert=rec["d_ff"])
        mlps = "E" * L
    elif mt == "ernie4_5_moe":
        E = r.int("moe_num_experts", default=0)
        start, end = r.int("moe_layer_start_index", default=0), r.int("moe_layer_end_index", default=L - 1)
        every = r.int("moe_layer_interval", default=1, minimum=1)
        shared = r.int("moe_num_shared_experts", default=0)
        rec.update(n_experts=E, experts_per_token=r.need("moe_k"), d_ff_expert=r.need("moe_intermediate_size"),
                   n_shared_experts=1 if shared else 0, d_ff_shared_expert=shared * r.need("moe_intermediate_size"),
                   router_bias=True)  # ERNIE 4.5 keeps a per-expert score bias (moe_statics) per MoE layer
        mlps = "".join("E" if E and start <= i <= end and (i - start) % every == 0 else "D" for i in range(L))
    elif mt == "minimax_m2":
        rec["qk_norm"] = r.bool("use_qk_norm", default=True)
        rec["qk_norm_full_width"] = r.text("qk_norm_type", default="per_layer") == "per_layer"
        rec.update(n_experts=r.need("num_local_experts"), experts_per_token=r.need("num_experts_per_tok"),
                   d_ff_expert=rec["d_ff"])
        mlps = "E" * L
    elif mt == "llama4_text":
        mixers, mlps = _llama4(r, rec, L)
    elif mt == "gemma4_text":
        mlps = _gemma4(r, rec, L)
    if window:
        rec["sliding_window"] = window
    rec.update(mixer_pattern=layers.compress(mixers), mlp_pattern=layers.compress(mlps))
    return rec


def _gemma4(r: Reader, rec: dict, L: int) -> str:
    """Gemma 4: global layers with their own head width and KV heads (K shared as V), q/k norms, and a
    dense MLP in parallel with a mixture of experts (enable_moe_block) whose router has two scale vectors."""
    for key in ("hidden_size_per_layer_input", "num_kv_shared_layers"):
        if r.int(key, default=0):
            raise ScalesheetError("config", f"{key} > 0 (Gemma 4 per-layer inputs / shared KV layers) is not "
                                            "supported yet")
    rec.update(qk_norm=True, tied_embeddings=r.bool("tie_word_embeddings", default=True),
               global_head_dim=r.int("global_head_dim", default=rec["head_dim"], minimum=1),
               global_kv_heads=r.int("num_global_key_value_heads", default=rec["n_kv_heads"], minimum=1),
               global_k_eq_v=r.bool("attention_k_eq_v", default=False))
    if not r.bool("enable_moe_block", default=False):
        return "D" * L
    rec.update(n_experts=r.need("num_experts"), experts_per_token=r.need("top_k_experts", "num_experts_per_tok"),
               d_ff_expert=r.need("moe_intermediate_size"), router_scales=True,
               norms_per_layer=7)  # + post_feedforward_layernorm_1/_2 and pre_feedforward_layernorm_2
    return "B" * L


def _first_k_dense(r: Reader, L: int) -> str:
    """DeepSeek/GLM: layer i is MoE when i >= first_k_dense_replace and i % moe_layer_freq == 0."""
    k = r.int("first_k_dense_replace", default=0)
    freq = r.int("moe_layer_freq", default=1, minimum=1)
    return "".join("E" if i >= k and i % freq == 0 else "D" for i in range(L))


def _llama4(r: Reader, rec: dict, L: int) -> tuple[str, str]:
    """Llama 4: chunked attention on RoPE layers, global NoPE layers; MoE layers interleaved."""
    rec.update(n_experts=r.need("num_local_experts"), experts_per_token=r.need("num_experts_per_tok"),
               d_ff_expert=rec["d_ff"], n_shared_experts=1, d_ff_shared_expert=rec["d_ff"],
               d_ff=r.need("intermediate_size_mlp"), attention_chunk=r.int("attention_chunk_size", default=0))
    rope = r.list("no_rope_layers")
    if rope:
        if len(rope) != L:
            raise ScalesheetError("config", f"no_rope_layers has {len(rope)} entries but num_hidden_layers is {L}")
        uses_rope = [bool(x) for x in rope]
    else:
        interval = r.int("no_rope_layer_interval", default=4, minimum=1)
        uses_rope = [(i + 1) % interval != 0 for i in range(L)]
    chunk = rec["attention_chunk"]
    mixers = "".join("C" if u and chunk else "A" for u in uses_rope)
    moe = _indices(r, "moe_layers", L)
    if not r.list("moe_layers"):
        step = r.int("interleave_moe_layer_step", default=1, minimum=1)
        moe = set(range(step - 1, L, step))
    return mixers, "".join("E" if i in moe else "D" for i in range(L))


def _deepseek_like(r: Reader, mt: str) -> dict:
    """DeepSeek-V2/V3, Kimi-K2 (same architecture), GLM-5: MLA attention, shared + routed experts."""
    rec = _common(r, mt)
    L = rec["n_layers"]
    rec.update(
        q_lora_rank=r.int("q_lora_rank", default=0), kv_lora_rank=r.need("kv_lora_rank"),
        qk_nope_head_dim=r.need("qk_nope_head_dim"), qk_rope_head_dim=r.need("qk_rope_head_dim"),
        v_head_dim=r.need("v_head_dim"),
        n_experts=r.int("n_routed_experts", default=0), experts_per_token=r.int("num_experts_per_tok", default=0),
        d_ff_expert=r.int("moe_intermediate_size", default=0))
    rec["head_dim"] = rec["qk_nope_head_dim"] + rec["qk_rope_head_dim"]
    if mt in ("deepseek_v32", "glm_moe_dsa") or r.raw("index_n_heads")[1] is not None:
        rec.update(index_heads=r.need("index_n_heads"), index_head_dim=r.need("index_head_dim"))
    shared = r.int("n_shared_experts", default=0)
    rec.update(n_shared_experts=1 if shared else 0, d_ff_shared_expert=shared * rec["d_ff_expert"])
    mlps = _first_k_dense(r, L) if rec["n_experts"] else "D" * L
    rec.update(mixer_pattern="L", mlp_pattern=layers.compress(mlps))
    return rec


def _mamba2_fields(r: Reader, rec: dict, keys: dict) -> None:
    heads = r.need(*keys["heads"])
    head_dim = r.need(*keys["head_dim"])
    rec.update(mamba_version=2, mamba_heads=heads, mamba_d_inner=heads * head_dim,
               mamba_d_state=r.need(*keys["state"]), mamba_groups=r.int(*keys["groups"], default=1, minimum=1),
               mamba_conv_kernel=r.int(*keys["kernel"], default=4, minimum=1),
               mamba_conv_bias=r.bool(*keys["conv_bias"], default=True),
               mamba_proj_bias=r.bool(*keys["proj_bias"], default=False))


def _hybrid(r: Reader, mt: str) -> dict:
    rec = _common(r, mt)
    L = rec["n_layers"]
    if mt in ("qwen3_next", "qwen3_5_text", "qwen3_5_moe_text"):
        mixers = _from_layer_types(r, L)
        if mixers is None:
            every = r.int("full_attention_interval", default=4, minimum=1)
            mixers = "".join("A" if (i + 1) % every == 0 else "D" for i in range(L))
        rec.update(qk_norm=True, attn_output_gate=r.bool("attn_output_gate", default=True),
                   linear_k_heads=r.need("linear_num_key_heads"), linear_v_heads=r.need("linear_num_value_heads"),
                   linear_k_head_dim=r.need("linear_key_head_dim"), linear_v_head_dim=r.need("linear_value_head_dim"),
                   linear_conv_kernel=r.int("linear_conv_kernel_dim", default=4, minimum=1))
        E = r.int("num_experts", default=0)
        shared = r.int("shared_expert_intermediate_size", default=0)
        rec.update(n_experts=E, experts_per_token=r.int("num_experts_per_tok", default=0),
                   d_ff_expert=r.int("moe_intermediate_size", default=0), n_shared_experts=1 if shared else 0,
                   d_ff_shared_expert=shared, shared_expert_gate=bool(shared))
        mlps = _sparse_step_mlps(r, L, E > 0)
    elif mt == "nemotron_h":
        blocks = r.list("layers_block_type")  # Nemotron 3 Ultra writes the blocks as a list of names
        if blocks is not None:
            names = {"mamba": "M", "attention": "*", "mlp": "-", "moe": "E"}
            if not all(isinstance(b, str) and b in names for b in blocks):
                raise ScalesheetError("config", "layers_block_type entries must be mamba, attention, mlp or moe")
            pattern = "".join(names[b] for b in blocks)
        else:
            pattern = r.text("hybrid_override_pattern")
        if len(pattern) != L:
            raise ScalesheetError("config", f"hybrid_override_pattern has {len(pattern)} blocks but "
                                            f"num_hidden_layers is {L}")
        kinds = {"M": ("M", "-"), "*": ("A", "-"), "-": ("-", "D"), "E": ("-", "E")}
        bad = sorted(set(pattern) - set(kinds))
        if bad:
            raise ScalesheetError("config", f"hybrid_override_pattern has {bad[0]!r}; blocks are M (Mamba-2), "
                                            "* (attention), - (MLP), E (MoE)")
        mixers = "".join(kinds[c][0] for c in pattern)
        mlps = "".join(kinds[c][1] for c in pattern)
        act = r.text("mlp_hidden_act", default="relu2")
        rec.update(norms_per_layer=1, ffn_type="swiglu" if act == "silu" else "relu",
                   head_dim=r.int("head_dim", "attention_head_dim", default=rec["head_dim"], minimum=1))
        _mamba2_fields(r, rec, {"heads": ("mamba_num_heads",), "head_dim": ("mamba_head_dim",),
                                "state": ("ssm_state_size",), "groups": ("n_groups",), "kernel": ("conv_kernel",),
                                "conv_bias": ("use_conv_bias",), "proj_bias": ("use_bias",)})
        if "E" in mlps:
            shared = r.int("n_shared_experts", default=0)
            rec.update(n_experts=r.need("n_routed_experts"), experts_per_token=r.need("num_experts_per_tok"),
                       d_ff_expert=r.need("moe_intermediate_size"), n_shared_experts=1 if shared else 0,
                       d_ff_shared_expert=shared * r.int("moe_shared_expert_intermediate_size",
                                                         default=r.need("moe_intermediate_size")),
                       moe_latent_dim=r.int("moe_latent_size", default=0))
    elif mt == "jamba":
        period, offset = r.need("attn_layer_period"), r.int("attn_layer_offset", default=0)
        eperiod, eoffset = r.need("expert_layer_period"), r.int("expert_layer_offset", default=0)
        mixers = "".join("A" if i % period == offset else "M" for i in range(L))
        E = r.int("num_experts", default=0)
        mlps = "".join("E" if E > 1 and i % eperiod == eoffset else "D" for i in range(L))
        d_inner = r.need("mamba_expand") * rec["d_model"]
        dt_rank = r.raw("mamba_dt_rank")[1]
        rec.update(mamba_version=1, mamba_d_inner=d_inner, mamba_d_state=r.need("mamba_d_state"),
                   mamba_conv_kernel=r.need("mamba_d_conv"), mamba_conv_bias=r.bool("mamba_conv_bias"),
                   mamba_proj_bias=r.bool("mamba_proj_bias"),
                   mamba_dt_rank=math.ceil(rec["d_model"] / 16) if dt_rank in (None, "auto") else r.need("mamba_dt_rank"))
        if E > 1:
            rec.update(n_experts=E, experts_per_token=r.need("num_experts_per_tok"), d_ff_expert=rec["d_ff"])
    elif mt == "falcon_h1":
        mixers, mlps = "H" * L, "D" * L
        _mamba2_fields(r, rec, {"heads": ("mamba_n_heads",), "head_dim": ("mamba_d_head",),
                                "state": ("mamba_d_state",), "groups": ("mamba_n_groups",), "kernel": ("mamba_d_conv",),
                                "conv_bias": ("mamba_conv_bias",), "proj_bias": ("mamba_proj_bias",)})
        # transformers FalconH1Mixer: inner width mamba_d_ssm, or mamba_expand x hidden_size when unset
        d_ssm = r.int("mamba_d_ssm", minimum=1)
        rec["mamba_d_inner"] = d_ssm if d_ssm is not None else r.need("mamba_expand") * rec["d_model"]
        rec["mamba_norm"] = r.bool("mamba_rms_norm", default=False)
        rec["qkv_bias"] = rec["o_bias"] = r.bool("attention_bias", "projectors_bias", default=False)
    else:  # granitemoehybrid
        # Granite 4 hybrids: "mamba" (transformers 5 writes "linear_attention") or "attention" per layer.
        granite = {"mamba": "M", "linear_attention": "M", "attention": "A", "full_attention": "A"}
        mixers = _from_layer_types(r, L, granite) or "M" * L
        mlps = "E" * L
        _mamba2_fields(r, rec, {"heads": ("mamba_n_heads",), "head_dim": ("mamba_d_head",),
                                "state": ("mamba_d_state",), "groups": ("mamba_n_groups",), "kernel": ("mamba_d_conv",),
                                "conv_bias": ("mamba_conv_bias",), "proj_bias": ("mamba_proj_bias",)})
        E = r.int("num_local_experts", default=0)
        shared = r.int("shared_intermediate_size", default=0)
        if E > 0:
            rec.update(n_experts=E, experts_per_token=r.need("num_experts_per_tok"), d_ff_expert=rec["d_ff"],
                       n_shared_experts=1 if shared else 0, d_ff_shared_expert=shared)
        else:
            rec["d_ff"], mlps = shared, "D" * L
        if r.text("position_embedding_type", default="rope") not in ("rope", "nope"):
            raise ScalesheetError("config", "position_embedding_type must be rope or nope")
    rec.update(mixer_pattern=layers.compress(mixers), mlp_pattern=layers.compress(mlps))
    return rec


def _gpt2(r: Reader) -> dict:
    d = r.need("n_embd", "hidden_size")
    return {
        "n_layers": r.need("n_layer", "num_hidden_layers"), "d_model": d,
        "n_heads": r.need("n_head", "num_attention_heads"), "d_ff": r.int("n_inner", default=4 * d),
        "vocab_size": r.need("vocab_size"), "max_context": r.int("n_positions", default=1024, minimum=1),
        "ffn_type": "gelu", "norm_type": "layernorm", "norms_per_layer": 2, "qkv_bias": True, "o_bias": True,
        "mlp_bias": True, "tied_embeddings": r.bool("tie_word_embeddings", default=True),
        "pos_embedding": "learned",
    }


def _gpt_neox(r: Reader) -> dict:
    bias = r.bool("attention_bias", default=True)
    return {
        "n_layers": r.need("num_hidden_layers"), "d_model": r.need("hidden_size"),
        "n_heads": r.need("num_attention_heads"), "d_ff": r.need("intermediate_size"),
        "vocab_size": r.need("vocab_size"), "max_context": r.int("max_position_embeddings", default=2048, minimum=1),
        "ffn_type": "gelu", "norm_type": "layernorm", "norms_per_layer": 2, "qkv_bias": bias, "o_bias": bias,
        "mlp_bias": True, "tied_embeddings": r.bool("tie_word_embeddings", default=False),
        "pos_embedding": "rope",
    }


def _falcon(r: Reader) -> dict:
    d = r.need("hidden_size", "d_model")
    H = r.need("num_attention_heads", "n_head")
    new_arch = r.bool("new_decoder_architecture", default=False)
    if new_arch:
        kv = r.int("num_kv_heads", "n_head_kv", default=H, minimum=1)
    else:
        kv = 1 if r.bool("multi_query", default=True) else H
    bias = r.bool("bias", default=False)
    return {
        "n_layers": r.need("num_hidden_layers", "n_layer"), "d_model": d, "n_heads": H, "n_kv_heads": kv,
        "d_ff": r.int("ffn_hidden_size", default=4 * d), "vocab_size": r.need("vocab_size"),
        "max_context": r.int("max_position_embeddings", default=2048, minimum=1), "ffn_type": "gelu",
        "norm_type": "layernorm",
        "norms_per_layer": 2 if new_arch or not r.bool("parallel_attn", default=True) else 1,
        "qkv_bias": bias, "o_bias": bias, "mlp_bias": bias,
        "tied_embeddings": r.bool("tie_word_embeddings", default=True),
        "pos_embedding": "alibi" if r.bool("alibi", default=False) else "rope",
    }


def _phi(r: Reader) -> dict:
    H = r.need("num_attention_heads")
    return {
        "n_layers": r.need("num_hidden_layers"), "d_model": r.need("hidden_size"), "n_heads": H,
        "n_kv_heads": r.int("num_key_value_heads", default=H, minimum=1),
        "d_ff": r.need("intermediate_size"), "vocab_size": r.need("vocab_size"),
        "max_context": r.int("max_position_embeddings", default=2048, minimum=1), "ffn_type": "gelu",
        "norm_type": "layernorm", "norms_per_layer": 1, "qkv_bias": True, "o_bias": True, "mlp_bias": True,
        "lm_head_bias": True, "tied_embeddings": r.bool("tie_word_embeddings", default=False),
        "pos_embedding": "rope",
    }


def _text_part(cfg: dict) -> tuple[dict, str, dict | None]:
    """(language-model config, its model_type, the vision config or None) of a flat or nested config."""
    mt = cfg.get("model_type", "")
    if not isinstance(mt, str):
        raise ScalesheetError("config", f"model_type must be text; got {json.dumps(mt)[:60]}")
    mt = mt.strip().lower()
    text = cfg.get("text_config")
    if text is None and mt in TEXT_MODEL_TYPE and mt not in LLAMA_LIKE:
        raise ScalesheetError("config", f"a {mt} config keeps its language model under text_config, which is missing")
    if text is not None:
        if not isinstance(text, dict):
            raise ScalesheetError("config", "text_config must be a JSON object")
        inner = dict(text)
        # A wrapper-level tie_word_embeddings applies to the language model where text_config does not say.
        if "tie_word_embeddings" not in inner and isinstance(cfg.get("tie_word_embeddings"), bool):
            inner["tie_word_embeddings"] = cfg["tie_word_embeddings"]
        tmt = inner.get("model_type")
        tmt = tmt.strip().lower() if isinstance(tmt, str) and tmt.strip() else TEXT_MODEL_TYPE.get(mt, mt)
        vision = cfg.get("vision_config")
        return inner, tmt, vision if isinstance(vision, dict) else None
    return cfg, mt, None


def _siglip_vision_params(v: dict, text_width: int) -> int | None:
    """Gemma 3's SigLIP vision tower and projector, where the config gives its sizes (transformers
    SiglipVisionModel without the pooling head + Gemma3MultiModalProjector):
    patch conv 3*p*p*h + h, positions (image/p)^2*h, per layer 4*(h*h + h) + 2*h*f + f + h + 4*h (two
    LayerNorms), post LayerNorm 2*h; projector h*text_width + h (soft-embedding RMSNorm)."""
    r = Reader(v, {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "image_size": 224,
                   "patch_size": 16, "num_channels": 3})
    if v.get("vision_use_head"):
        return None
    h, f, n = r.need("hidden_size"), r.need("intermediate_size"), r.need("num_hidden_layers")
    p, image, c = r.need("patch_size"), r.need("image_size"), r.need("num_channels")
    per_layer = 4 * (h * h + h) + 2 * h * f + f + h + 4 * h
    return c * p * p * h + h + (image // p) ** 2 * h + n * per_layer + 2 * h + h * text_width + h


def record_from_config(cfg: dict, name: str = "config.json") -> dict:
    """Model record (models.csv fields) from a parsed config.json (flat or with a nested text_config)."""
    if not isinstance(cfg, dict):
        raise ScalesheetError("config", "must be a JSON object (a Hugging Face config.json)")
    text, mt, vision = _text_part(cfg)
    if mt == "kimi_k2":
        mt = "deepseek_v3"  # Kimi-K2 ships DeepSeek-V3's architecture (its config's architectures field)
    r = Reader(text, FAMILY_DEFAULTS.get(mt))
    if mt in DEEPSEEK_LIKE:
        rec = _deepseek_like(r, mt)
    elif mt in HYBRIDS:
        rec = _hybrid(r, mt)
    elif mt in LLAMA_LIKE:
        rec = _llama_like(r, mt)
    elif mt == "gpt2":
        rec = _gpt2(r)
    elif mt == "gpt_neox":
        rec = _gpt_neox(r)
    elif mt in ("falcon", "refinedweb", "refinedwebmodel"):
        rec = _falcon(r)
    elif mt == "phi":
        rec = _phi(r)
    else:
        raise ScalesheetError("config", f"model_type {mt or '(missing)'!r} is not supported; supported: "
                                        f"{', '.join(SUPPORTED)}")
    rec = {k: v for k, v in rec.items() if v is not None}
    rec["name"] = name
    rec["vision_note"] = ("no vision tower" if vision is None else
                          "vision tower present in the config and not counted in params")
    if vision is not None and vision.get("model_type") == "siglip_vision_model" and mt == "gemma3_text":
        count = _siglip_vision_params(vision, rec["d_model"])
        if count:
            rec["vision_params"] = count
            rec["vision_note"] = "vision tower and projector counted apart (vision_params), not in params"
    return rec


def architecture_from_config(cfg: dict, name: str = "config.json") -> architecture.Architecture:
    return architecture.from_mapping(record_from_config(cfg, name), argument="config")


def load_config(path) -> dict:
    """Read and parse a config.json file; a clear error for a missing, huge, non-regular or malformed file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ScalesheetError("config", f"cannot read {path}: {exc.strerror}")
    import stat

    if not stat.S_ISREG(st.st_mode):
        raise ScalesheetError("config", f"{path} is not a regular file")
    if st.st_size > MAX_CONFIG_BYTES:
        raise ScalesheetError("config", f"{path} is {st.st_size} bytes; a config.json is a few kB (limit 10 MiB)")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise ScalesheetError("config", f"cannot read {path}: {exc.strerror}")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise ScalesheetError("config", f"{path} is not valid JSON: {str(exc)[:120]}")
