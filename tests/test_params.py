"""Parameter counts from architecture against the official counts written beside each catalog model."""

import numpy as np
import pytest

from udfs.core import catalog, hf_config, params

MODELS = catalog.model_names()


def test_catalog_has_at_least_30_models_across_families():
    rows = catalog.model_table().rows
    assert len(rows) >= 30
    families = {r["family"] for r in rows}
    assert len(families) >= 10, families
    assert all(r["params_source"].strip() and r["config_source"].strip() for r in rows)


@pytest.mark.parametrize("name", MODELS)
def test_params_match_official_count_to_0_1_percent(name):
    row = catalog.model_row(name)
    official = float(row["official_params"])
    computed = float(params.total_params(catalog.models(name)))
    assert abs(computed - official) / official < 1e-3, (computed, official)


def test_most_counts_are_exact():
    rows = catalog.model_table().rows
    exact = sum(int(params.total_params(catalog.models(r["name"]))) == int(r["official_params"]) for r in rows)
    assert exact >= 0.8 * len(rows)


@pytest.mark.parametrize("name", [r["name"] for r in catalog.model_table().rows if r["official_active_params"].strip()])
def test_moe_active_params_near_official(name):
    """Vendors state active counts rounded (12.9B, 37B, 3B) and under one of three conventions: embeddings and
    head counted (Mixtral), output head but not the input embedding (DeepSeek-V3, gpt-oss), or neither
    (Qwen3-Next, GLM-5). One of them is within one unit of the last significant figure stated."""
    row = catalog.model_row(name)
    official = float(row["official_active_params"])
    a = catalog.models(name)
    incl = float(params.active_params(a))
    conventions = [incl, incl - float(params.param_breakdown(a)["embedding/tokens"]),
                   float(params.active_params_excluding_embeddings(a))]
    digits = len(f"{official:.6e}".split("e")[0].replace(".", "").rstrip("0"))
    unit = 10 ** (int(f"{official:e}".split("e")[1]) - (digits - 1))
    assert min(abs(c - official) for c in conventions) <= unit, (official, conventions)


def test_breakdown_sums_to_total_and_vectorises():
    a = catalog.models(np.array(MODELS))
    total = params.total_params(a)
    assert total.shape == (len(MODELS),)
    for i, name in enumerate(MODELS):
        assert total[i] == params.total_params(catalog.models(name))


def test_llama2_7b_by_hand():
    # 32 layers x (4 x 4096^2 attention + 3 x 4096 x 11008 MLP + 2 x 4096 norms) + 2 x 32000 x 4096 + 4096
    by_hand = 32 * (4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096) + 2 * 32000 * 4096 + 4096
    assert by_hand == 6738415616
    assert params.total_params(catalog.models("llama-2-7b")) == by_hand


def test_gpt2_learned_positions_and_tied_head():
    # GPT-2 124M: 12 x (attention 4h^2+4h, MLP 8h^2+5h, 2 LN x 2h) + wte 50257h + wpe 1024h + final LN 2h
    h = 768
    by_hand = 12 * (4 * h * h + 4 * h + 8 * h * h + 5 * h + 4 * h) + 50257 * h + 1024 * h + 2 * h
    assert params.total_params(catalog.models("gpt2")) == by_hand == 124439808


def test_mixtral_active_is_two_of_eight_experts():
    a = catalog.models("mixtral-8x7b")
    b = params.param_breakdown(a)
    assert params.active_params(a) == pytest.approx(params.total_params(a) - b["mlp/routed_experts"] * 6 / 8)


def test_names_are_case_insensitive_and_aliases_work():
    assert params.total_params(catalog.models("LLAMA-3-8B")) == params.total_params(catalog.models("llama-3-8b"))


CONFIGS = {
    "llama-2-7b": {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32,
                   "num_hidden_layers": 32, "num_key_value_heads": 32, "vocab_size": 32000,
                   "max_position_embeddings": 4096, "tie_word_embeddings": False},
    "gpt2": {"model_type": "gpt2", "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024, "vocab_size": 50257},
    "falcon-7b": {"model_type": "falcon", "hidden_size": 4544, "num_attention_heads": 71, "num_hidden_layers": 32,
                  "multi_query": True, "parallel_attn": True, "bias": False, "vocab_size": 65024,
                  "new_decoder_architecture": False},
    "pythia-1b": {"model_type": "gpt_neox", "hidden_size": 2048, "intermediate_size": 8192, "num_attention_heads": 8,
                  "num_hidden_layers": 16, "vocab_size": 50304, "max_position_embeddings": 2048,
                  "tie_word_embeddings": False},
    "mixtral-8x7b": {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336,
                     "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
                     "num_local_experts": 8, "num_experts_per_tok": 2, "vocab_size": 32000,
                     "max_position_embeddings": 32768, "tie_word_embeddings": False},
    "phi-2": {"model_type": "phi", "hidden_size": 2560, "intermediate_size": 10240, "num_attention_heads": 32,
              "num_hidden_layers": 32, "vocab_size": 51200, "max_position_embeddings": 2048,
              "tie_word_embeddings": False},
    "gemma-7b": {"model_type": "gemma", "hidden_size": 3072, "intermediate_size": 24576, "num_attention_heads": 16,
                 "num_hidden_layers": 28, "num_key_value_heads": 16, "head_dim": 256, "vocab_size": 256000,
                 "max_position_embeddings": 8192},
    "qwen2.5-7b": {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_attention_heads": 28,
                   "num_hidden_layers": 28, "num_key_value_heads": 4, "vocab_size": 152064,
                   "max_position_embeddings": 131072, "tie_word_embeddings": False, "use_sliding_window": False,
                   "sliding_window": 131072},
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_hf_config_import_matches_preset(name):
    a = hf_config.architecture_from_config(CONFIGS[name])
    assert params.total_params(a) == params.total_params(catalog.models(name))


def test_hf_config_rejects_unknown_family():
    from udfs.core.errors import ScalesheetError
    with pytest.raises(ScalesheetError) as e:
        hf_config.record_from_config({"model_type": "t5"})
    assert e.value.argument == "config" and "supported" in e.value.message
