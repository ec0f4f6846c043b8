"""2025-26 architectures: released config.json files import exactly (parameters against an independent count
made with transformers on the meta device, tests/data/hf_configs/reference_counts.json), KV cache and
recurrent state against hand counts, and the layer-pattern language."""

import json
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udfs.core import catalog, hf_config, layers, memory, params
from udfs.core.errors import ScalesheetError

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "data", "hf_configs")
REFERENCE = json.load(open(os.path.join(CONFIGS, "reference_counts.json"), encoding="utf-8"))["models"]
# Families whose released configs we transcribed but do not import yet: each must be refused clearly.
NOT_YET = {
    "mimo_v2_flash": "MiMo-V2-Flash (2026): per-layer-kind head counts and head dims",
    "deepseek_v4": "DeepSeek-V4 (2026): compressed/sparse attention (compress_ratios), hyper-connections (hc_mult), "
                   "grouped low-rank output (o_lora_rank)",
}


def _config(name):
    with open(os.path.join(CONFIGS, name), encoding="utf-8") as fh:
        return json.load(fh)


def _arch(name):
    return hf_config.architecture_from_config(_config(name), name)


def _kind(name):
    cfg = _config(name)
    text = cfg.get("text_config") or {}
    return text.get("model_type") or cfg.get("model_type")


IMPORTED = sorted(n for n in REFERENCE if _kind(n) not in NOT_YET)


def test_reference_set_is_broad():
    kinds = {_kind(n) for n in IMPORTED}
    assert len(IMPORTED) >= 20
    for family in ["deepseek_v3", "qwen3", "qwen3_moe", "qwen3_next", "gpt_oss", "nemotron_h"]:
        assert family in kinds, family


@pytest.mark.parametrize("name", IMPORTED)
def test_params_equal_transformers_meta_device_count(name):
    expected = REFERENCE[name]["causal_lm_params"]
    got = int(params.total_params(_arch(name)))
    assert abs(got - expected) <= 1e-3 * expected, (got, expected)
    assert got == expected  # exact today; the bar is 0.1 %


@pytest.mark.parametrize("name", sorted(n for n in REFERENCE if _kind(n) in NOT_YET))
def test_unsupported_families_are_refused_clearly(name):
    with pytest.raises(ScalesheetError, match="not supported"):
        _arch(name)


# ------------------------------------------------------------------------------ KV and state by hand
def kv_bytes(name, context, batch=1, kv_bytes_per_element=2):
    a = _arch(name)
    return float(memory.kv_cache_bytes(a, context, batch, catalog.kv_precisions("fp16" if kv_bytes_per_element == 2
                                                                                 else "fp8")))


@pytest.mark.parametrize("context", [1, 100, 4096, 131072])
def test_mla_kv_is_latent_plus_rope_per_layer(context):
    # DeepSeek-V3: 61 MLA layers x (kv_lora_rank 512 + qk_rope_head_dim 64) elements, no factor 2, no heads.
    assert kv_bytes("deepseek-ai__DeepSeek-V3.json", context, 3) == 3 * 61 * (512 + 64) * context * 2
    # Kimi-K2: same MLA shape over 61 layers.
    assert kv_bytes("moonshotai__Kimi-K2-Instruct.json", context) == 61 * 576 * context * 2
    # DeepSeek-V3.2 also caches the sparse-attention indexer key (index_head_dim 128) per token and layer.
    assert kv_bytes("deepseek-ai__DeepSeek-V3.2.json", context) == 61 * (576 + 128) * context * 2


@pytest.mark.parametrize("context", [1, 100, 128, 129, 4096, 131072])
def test_gemma4_global_layers_have_their_own_kv_shape(context):
    # gemma-4-26B-A4B: 25 sliding layers (window 1024) with 8 KV heads of 256, 5 global layers with 2 KV heads
    # of 512 (K shared as V in the weights; both cached, as transformers' cache stores them).
    expected = 25 * 2 * 8 * 256 * min(context, 1024) * 2 + 5 * 2 * 2 * 512 * context * 2
    assert kv_bytes("google__gemma-4-26B-A4B.json", context) == expected


@pytest.mark.parametrize("context", [1, 100, 128, 129, 4096, 131072])
def test_gpt_oss_alternates_sliding_128_and_full(context):
    # 36 layers: 18 sliding (window 128) + 18 full; 8 KV heads of 64.
    per_layer_token = 2 * 8 * 64 * 2
    expected = 18 * per_layer_token * min(context, 128) + 18 * per_layer_token * context
    assert kv_bytes("openai__gpt-oss-120b.json", context) == expected


@pytest.mark.parametrize("context", [1, 4096, 262144])
def test_qwen3_next_caches_only_its_full_attention_layers(context):
    cfg = _config("Qwen__Qwen3-Next-80B-A3B-Thinking.json")
    L, every = cfg["num_hidden_layers"], cfg["full_attention_interval"]
    full = L // every
    assert kv_bytes("Qwen__Qwen3-Next-80B-A3B-Thinking.json", context) == \
        full * 2 * cfg["num_key_value_heads"] * cfg["head_dim"] * context * 2


def test_qwen3_next_state_by_hand():
    cfg = _config("Qwen__Qwen3-Next-80B-A3B-Thinking.json")
    linear_layers = cfg["num_hidden_layers"] - cfg["num_hidden_layers"] // cfg["full_attention_interval"]
    kd, vd = cfg["linear_num_key_heads"] * cfg["linear_key_head_dim"], cfg["linear_num_value_heads"] * cfg["linear_value_head_dim"]
    per_layer = (cfg["linear_num_value_heads"] * cfg["linear_key_head_dim"] * cfg["linear_value_head_dim"]
                 + (2 * kd + vd) * (cfg["linear_conv_kernel_dim"] - 1))
    a = _arch("Qwen__Qwen3-Next-80B-A3B-Thinking.json")
    assert float(memory.state_bytes(a, 5)) == 5 * linear_layers * per_layer * 4  # fp32 state


def test_nemotron_h_state_and_kv_by_hand():
    name = "nvidia__Nemotron-H-56B-Base-8K.json"
    cfg = _config(name)
    pattern = cfg["hybrid_override_pattern"]
    I = cfg["mamba_num_heads"] * cfg["mamba_head_dim"]
    N, G, k = cfg["ssm_state_size"], cfg["n_groups"], cfg["conv_kernel"]
    per_mamba = I * N + (I + 2 * G * N) * (k - 1)
    a = _arch(name)
    assert float(memory.state_bytes(a, 2)) == 2 * pattern.count("M") * per_mamba * 4
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    assert kv_bytes(name, 8192) == pattern.count("*") * 2 * cfg["num_key_value_heads"] * head_dim * 8192 * 2


def test_attention_only_models_have_no_state():
    for name in ["Qwen__Qwen3-8B.json", "openai__gpt-oss-20b.json", "deepseek-ai__DeepSeek-V3.json"]:
        assert float(memory.state_bytes(_arch(name), 4)) == 0.0


def test_state_is_in_inference_memory():
    a = _arch("Qwen__Qwen3-Next-80B-A3B-Thinking.json")
    p, kv = catalog.precisions("bf16"), catalog.kv_precisions("fp16")
    parts = memory.inference_breakdown(a, p, 4096, 2, kv)
    assert parts["state_bytes"] > 0
    assert parts["total_bytes"] == pytest.approx(sum(v for k, v in parts.items() if k != "total_bytes"), rel=1e-15)


# ----------------------------------------------------------------------------------- config handling
def test_numbers_as_text_are_refused_not_multiplied():
    cfg = {"model_type": "gpt2", "n_embd": "768", "n_layer": 12, "n_head": 12, "vocab_size": 50257}
    with pytest.raises(ScalesheetError, match="n_embd must be a whole number"):
        hf_config.record_from_config(cfg)
    for bad in [{"n_layer": True}, {"n_layer": 12.5}, {"n_layer": -1}, {"n_layer": {"x": 1}}, {"n_layer": 1e30}]:
        with pytest.raises(ScalesheetError, match="n_layer"):
            hf_config.record_from_config({**cfg, "n_embd": 768, **bad})


def test_nested_text_config_is_imported_and_vision_reported():
    name = "Qwen__Qwen3.5-27B.json"
    rec = hf_config.record_from_config(_config(name), name)
    assert "vision tower" in rec["vision_note"]
    assert int(params.total_params(_arch(name))) == REFERENCE[name]["causal_lm_params"]


def test_layer_types_length_is_checked():
    cfg = _config("openai__gpt-oss-20b.json")
    cfg["layer_types"] = cfg["layer_types"][:-1]
    with pytest.raises(ScalesheetError, match="layer_types has"):
        hf_config.record_from_config(cfg)


# ------------------------------------------------------------------------------------- layer patterns
def test_pattern_grammar():
    assert layers.expand("3D 58E", 61, layers.MLPS, "mlp_pattern", "model") == "DDD" + "E" * 58
    assert layers.expand("5S A", 62, layers.MIXERS, "mixer_pattern", "model") == ("SSSSSA" * 11)[:62]
    assert layers.expand("2(CCCA)", 8, layers.MIXERS, "mixer_pattern", "model") == "CCCACCCA"
    for bad, msg in [("3X", "not a layer kind"), ("(SA", "never closed"), ("SA)", "unmatched"), ("99A", "more layers")]:
        with pytest.raises(ScalesheetError, match=msg):
            layers.expand(bad, 10, layers.MIXERS, "mixer_pattern", "model")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ASCLDMH-", min_size=1, max_size=120))
def test_compress_expand_round_trip(per_layer):
    assert layers.expand(layers.compress(per_layer), len(per_layer), layers.MIXERS, "mixer_pattern", "m") == per_layer


def test_user_range_with_a_layer_pattern_works_without_code():
    # A Models-sheet row a user adds for a gpt-oss-like model: the pattern column drives KV and params.
    rec = {"name": "my-hybrid", "n_layers": 8, "d_model": 1024, "n_heads": 16, "n_kv_heads": 4, "head_dim": 64,
           "d_ff": 4096, "vocab_size": 32000, "mixer_pattern": "SA", "sliding_window": 256, "ffn_type": "swiglu",
           "norm_type": "rmsnorm"}
    from udfs.core import resolve
    a = resolve.model(rec)
    per_token = 2 * 4 * 64 * 2
    assert float(memory.kv_cache_bytes(a, 1000, 1, catalog.kv_precisions("fp16"))) == \
        4 * per_token * 1000 + 4 * per_token * 256
    assert math.isclose(float(params.total_params(a)),
                        8 * (1024 * 16 * 64 * 2 + 2 * 1024 * 4 * 64 + 3 * 1024 * 4096 + 2 * 1024) + 2 * 32000 * 1024 + 1024)


def test_mixed_catalog_columns_vectorise():
    names = np.array(catalog.model_names())
    a = catalog.models(names)
    kv = memory.kv_cache_bytes(a, np.full(names.shape, 2048.0), 1, catalog.kv_precisions("fp16"))
    for i, n in enumerate(names[:10]):
        assert kv[i] == memory.kv_cache_bytes(catalog.models(n), 2048.0, 1, catalog.kv_precisions("fp16"))


@pytest.mark.parametrize("name, published_gib", [("gpt-oss-120b", 60.8), ("gpt-oss-20b", 12.8)])
def test_gpt_oss_checkpoint_size_with_mxfp4_experts(name, published_gib):
    # OpenAI gpt-oss model card (arXiv:2508.10925) Table 1: checkpoint sizes 60.8 GiB and 12.8 GiB, with the
    # MoE weights in MXFP4 and every other tensor in bf16. Reading the whole model as bf16 would say 2.5-4x more.
    from udfs.core import api
    got = float(api.weights_bytes(name, "gpt-oss-style")) / 2**30
    assert abs(got - published_gib) / published_gib < 0.005, got
    assert float(api.weights_bytes(name, "experts=mxfp4,rest=bf16")) == float(api.weights_bytes(name, "gpt-oss-style"))
    assert float(api.weights_bytes(name, "bf16")) / 2**30 > 1.6 * published_gib


DEFAULTS_DIR = os.path.join(HERE, "data", "hf_class_defaults")
DEFAULT_COUNTS = json.load(open(os.path.join(DEFAULTS_DIR, "counts.json"), encoding="utf-8"))["counts"]


@pytest.mark.parametrize("name", sorted(DEFAULT_COUNTS))
def test_family_rules_on_transformers_class_defaults(name):
    """The default config of each supported family's transformers class, counted on the meta device: the
    importer's per-family rules (norms, biases, q/k norms, MoE placement) beyond the released configs."""
    with open(os.path.join(DEFAULTS_DIR, name), encoding="utf-8") as fh:
        cfg = json.load(fh)
    got = int(params.total_params(hf_config.architecture_from_config(cfg, name)))
    expected = DEFAULT_COUNTS[name]
    assert abs(got - expected) <= 1e-6 * expected, (got, expected)  # Apertus: 2 xIELU scalars a layer apart


@pytest.mark.parametrize("name", ["google__gemma-3-4b-it.json", "google__gemma-3-27b-it.json"])
def test_gemma3_vision_tower_counted_apart(name):
    rec = hf_config.record_from_config(_config(name), name)
    assert rec["vision_params"] == REFERENCE[name]["vision_params"]
    a = _arch(name)
    assert int(a.vision_params) == REFERENCE[name]["vision_params"]
    assert int(params.total_params(a)) == REFERENCE[name]["causal_lm_params"]  # the language model alone
