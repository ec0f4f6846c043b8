"""Independent parameter counts for the released configs in tests/data/hf_configs.

NOT part of the test suite (pytest does not collect tests/tools/, and the package must not depend on
torch).  It builds every model on the meta device with Hugging Face transformers, so no weights are
downloaded and no memory is allocated, and writes tests/data/hf_configs/reference_counts.json, which
the project's tests compare against.

How to run (a throwaway virtual environment outside the repository)::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install torch transformers      # CPU torch is enough
    /tmp/tfvenv/bin/python tests/tools/count_params_transformers.py [config.json ...]

With no argument it counts every tests/data/hf_configs/*.json and rewrites reference_counts.json;
with arguments it counts only those files and merges them into the existing reference file.

What is counted, per config file:

- ``causal_lm_params``: the language model alone, i.e. ``AutoModelForCausalLM`` built from the text
  config (``config.get_text_config()``), counted with ``model.parameters()``, which counts a tied
  input/output embedding once.
- ``full_params``: for a multimodal release (the config has a ``vision_config``), the whole
  ``...ForConditionalGeneration`` named in ``architectures``; otherwise null.
- ``vision_params``: the parameters of the full model outside its language model (names without
  ``language_model`` and not ``lm_head``): vision tower + projector; null for text-only releases.
  ``full_tied_embeddings`` says whether the full model ties its output projection to the input
  embedding (it can differ from ``tied_embeddings`` when the top-level config carries, or defaults,
  ``tie_word_embeddings`` differently from ``text_config``); then
  ``full_params != causal_lm_params + vision_params``.
- ``distinct_layers``: for the first decoder layer of each distinct structure (same parameter names
  and shapes, and same ``layer_types`` entry where the config has one, so the first sliding and the
  first full attention layer both appear), ``{parameter name: numel}``; the key says which layer it is
  and what it holds (mixer = attention / linear_attn / mamba / none, mlp = dense / moe / none).
- ``embed_params``, ``lm_head_params`` (numel of the output projection even when it is tied),
  ``final_norm_params``, ``tied_embeddings``.
- ``mtp_layers_in_config`` / ``mtp_instantiated``: DeepSeek-V3-style next-token-prediction layers
  (``num_nextn_predict_layers``, ``mtp_num_hidden_layers`` ...) are in the released checkpoints but
  transformers does not build them; they are therefore NOT in ``causal_lm_params``.
- ``official_total`` / ``official_active`` / ``official_source``: what the model card states
  (transcribed by hand into OFFICIAL below; null where the card states nothing).

``model_type`` values that transformers does not know are mapped to the class the checkpoint's own
``architectures`` names (e.g. ``kimi_k2`` -> ``deepseek_v3``: Kimi-K2's config names
``DeepseekV3ForCausalLM``); the mapping is recorded as ``loaded_as``.
"""

from __future__ import annotations

import datetime
import json
import sys
import traceback
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

HERE = Path(__file__).resolve().parent
CONFIG_DIR = HERE.parent / "data" / "hf_configs"
OUT = CONFIG_DIR / "reference_counts.json"

# model_type in the released config -> model_type transformers knows, with the reason.
ALIASES = {
    "kimi_k2": ("deepseek_v3", "Kimi-K2's config.json names DeepseekV3ForCausalLM and ships "
                               "DeepSeek-V3's modelling code; transformers has no kimi_k2 type"),
}

# Official totals/actives as stated on model cards (parameters, not rounded further than the card).
OFFICIAL: dict[str, tuple[float | None, float | None, str]] = {
    "deepseek-ai__DeepSeek-V3.json": (671e9, 37e9,
        "https://huggingface.co/deepseek-ai/DeepSeek-V3 (671B total, 37B activated; 685B incl. 14B MTP module)"),
    "deepseek-ai__DeepSeek-R1.json": (671e9, 37e9,
        "https://huggingface.co/deepseek-ai/DeepSeek-R1 (671B total, 37B activated)"),
    "deepseek-ai__DeepSeek-V3.2.json": (None, None,
        "https://huggingface.co/deepseek-ai/DeepSeek-V3.2 (card gives no count; safetensors index 685B incl. MTP)"),
    "deepseek-ai__DeepSeek-V2-Lite.json": (15.7e9, 2.4e9,
        "https://huggingface.co/deepseek-ai/DeepSeek-V2-Lite (15.7B total, 2.4B activated)"),
    "moonshotai__Kimi-K2-Instruct.json": (1.0e12, 32e9,
        "https://huggingface.co/moonshotai/Kimi-K2-Instruct (1T total, 32B activated)"),
    "Qwen__Qwen3-0.6B.json": (0.6e9, None,
        "https://huggingface.co/Qwen/Qwen3-0.6B (0.6B; 0.44B non-embedding)"),
    "Qwen__Qwen3-1.7B.json": (1.7e9, None,
        "https://huggingface.co/Qwen/Qwen3-1.7B (1.7B; 1.4B non-embedding)"),
    "Qwen__Qwen3-4B.json": (4.0e9, None,
        "https://huggingface.co/Qwen/Qwen3-4B (4.0B; 3.6B non-embedding)"),
    "Qwen__Qwen3-8B.json": (8.2e9, None,
        "https://huggingface.co/Qwen/Qwen3-8B (8.2B; 6.95B non-embedding)"),
    "Qwen__Qwen3-14B.json": (14.8e9, None,
        "https://huggingface.co/Qwen/Qwen3-14B (14.8B; 13.2B non-embedding)"),
    "Qwen__Qwen3-32B.json": (32.8e9, None,
        "https://huggingface.co/Qwen/Qwen3-32B (32.8B; 31.2B non-embedding)"),
    "Qwen__Qwen3-30B-A3B.json": (30.5e9, 3.3e9,
        "https://huggingface.co/Qwen/Qwen3-30B-A3B (30.5B total, 3.3B activated; 29.9B non-embedding)"),
    "Qwen__Qwen3-235B-A22B.json": (235e9, 22e9,
        "https://huggingface.co/Qwen/Qwen3-235B-A22B (235B total, 22B activated; 234B non-embedding)"),
    "Qwen__Qwen3-Coder-480B-A35B-Instruct.json": (480e9, 35e9,
        "https://huggingface.co/Qwen/Qwen3-Coder-480B-A35B-Instruct (480B total, 35B activated)"),
    "Qwen__Qwen3-Next-80B-A3B-Thinking.json": (80e9, 3e9,
        "https://huggingface.co/Qwen/Qwen3-Next-80B-A3B-Thinking (80B total, 3B activated)"),
    "Qwen__Qwen3-Next-80B-A3B-Instruct.json": (80e9, 3e9,
        "https://huggingface.co/Qwen/Qwen3-Next-80B-A3B-Instruct (80B total, 3B activated)"),
    "Qwen__Qwen3.5-27B.json": (27e9, None, "https://huggingface.co/Qwen/Qwen3.5-27B (27B, name)"),
    "Qwen__Qwen3.5-35B-A3B.json": (35e9, 3e9, "https://huggingface.co/Qwen/Qwen3.5-35B-A3B (35B total, 3B activated)"),
    "Qwen__Qwen3.5-397B-A17B.json": (397e9, 17e9, "https://huggingface.co/Qwen/Qwen3.5-397B-A17B (397B total, 17B activated)"),
    "openai__gpt-oss-20b.json": (21e9, 3.6e9,
        "https://huggingface.co/openai/gpt-oss-20b (21B, 3.6B active); model card arXiv:2508.10925 table 1: 20.91B total, 3.61B active"),
    "openai__gpt-oss-120b.json": (117e9, 5.1e9,
        "https://huggingface.co/openai/gpt-oss-120b (117B, 5.1B active); model card arXiv:2508.10925 table 1: 116.83B total, 5.13B active"),
    "meta-llama__Llama-4-Scout-17B-16E-Instruct.json": (109e9, 17e9,
        "https://huggingface.co/meta-llama/Llama-4-Scout-17B-16E-Instruct (109B total, 17B activated)"),
    "meta-llama__Llama-4-Maverick-17B-128E-Instruct.json": (400e9, 17e9,
        "https://huggingface.co/meta-llama/Llama-4-Maverick-17B-128E-Instruct (400B total, 17B activated)"),
    "meta-llama__Llama-3.3-70B-Instruct.json": (70e9, None,
        "https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct (70B)"),
    "google__gemma-3-1b-it.json": (1e9, None, "https://huggingface.co/google/gemma-3-1b-it (1B)"),
    "google__gemma-3-4b-it.json": (4e9, None, "https://huggingface.co/google/gemma-3-4b-it (4B)"),
    "google__gemma-3-12b-it.json": (12e9, None, "https://huggingface.co/google/gemma-3-12b-it (12B)"),
    "google__gemma-3-27b-it.json": (27e9, None, "https://huggingface.co/google/gemma-3-27b-it (27B)"),
    "google__gemma-4-26B-A4B.json": (26e9, 4e9, "https://huggingface.co/google/gemma-4-26B-A4B (name: 26B total, 4B active)"),
    "mistralai__Mistral-Small-3.1-24B-Instruct-2503.json": (24e9, None,
        "https://huggingface.co/mistralai/Mistral-Small-3.1-24B-Instruct-2503 (24B)"),
    "mistralai__Mistral-Small-3.2-24B-Instruct-2506.json": (24e9, None,
        "https://huggingface.co/mistralai/Mistral-Small-3.2-24B-Instruct-2506 (24B)"),
    "microsoft__phi-4.json": (14e9, None, "https://huggingface.co/microsoft/phi-4 (14B)"),
    "zai-org__GLM-4.5.json": (355e9, 32e9, "https://huggingface.co/zai-org/GLM-4.5 (355B total, 32B active)"),
    "zai-org__GLM-4.5-Air.json": (106e9, 12e9, "https://huggingface.co/zai-org/GLM-4.5-Air (106B total, 12B active)"),
    "zai-org__GLM-5.json": (744e9, 40e9, "https://huggingface.co/zai-org/GLM-5 (744B total, 40B active)"),
    "nvidia__Nemotron-H-8B-Base-8K.json": (8e9, None, "https://huggingface.co/nvidia/Nemotron-H-8B-Base-8K (8B)"),
    "nvidia__Nemotron-H-47B-Base-8K.json": (47e9, None, "https://huggingface.co/nvidia/Nemotron-H-47B-Base-8K (47B)"),
    "nvidia__Nemotron-H-56B-Base-8K.json": (56e9, None, "https://huggingface.co/nvidia/Nemotron-H-56B-Base-8K (56B)"),
    "nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.json": (31.6e9, 3.2e9,
        "https://huggingface.co/nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16 (31.6B total, ~3.2B active; 3.6B incl. embeddings)"),
    "ai21labs__AI21-Jamba-Mini-1.5.json": (52e9, 12e9, "https://huggingface.co/ai21labs/AI21-Jamba-Mini-1.5 (52B total, 12B active)"),
    "ai21labs__Jamba-v0.1.json": (52e9, 12e9, "https://huggingface.co/ai21labs/Jamba-v0.1 (52B total, 12B active)"),
    "tiiuae__Falcon-H1-0.5B-Instruct.json": (0.5e9, None, "https://huggingface.co/tiiuae/Falcon-H1-0.5B-Instruct (0.5B)"),
    "tiiuae__Falcon-H1-1.5B-Instruct.json": (1.5e9, None, "https://huggingface.co/tiiuae/Falcon-H1-1.5B-Instruct (1.5B)"),
    "tiiuae__Falcon-H1-7B-Instruct.json": (7e9, None, "https://huggingface.co/tiiuae/Falcon-H1-7B-Instruct (7B)"),
    "tiiuae__Falcon-H1-34B-Instruct.json": (34e9, None, "https://huggingface.co/tiiuae/Falcon-H1-34B-Instruct (34B)"),
    "ibm-granite__granite-4.0-h-tiny.json": (7e9, 1e9, "https://huggingface.co/ibm-granite/granite-4.0-h-tiny (7B total, 1B active)"),
    "ibm-granite__granite-4.0-h-small.json": (32e9, 9e9, "https://huggingface.co/ibm-granite/granite-4.0-h-small (32B total, 9B active)"),
    "MiniMaxAI__MiniMax-M2.5.json": (230e9, 10e9, "https://huggingface.co/MiniMaxAI/MiniMax-M2.5 (230B total, 10B active)"),
    "XiaomiMiMo__MiMo-V2-Flash.json": (309e9, 15e9, "https://huggingface.co/XiaomiMiMo/MiMo-V2-Flash (309B total, 15B active)"),
    "Qwen__Qwen3.5-122B-A10B.json": (122e9, 10e9, "https://huggingface.co/Qwen/Qwen3.5-122B-A10B (name: 122B total, 10B activated)"),
    "moonshotai__Kimi-K2.5.json": (1.0e12, 32e9, "https://huggingface.co/moonshotai/Kimi-K2.5 (1T total, 32B activated, language model)"),
    "deepseek-ai__DeepSeek-V4-Flash.json": (None, None, "https://huggingface.co/deepseek-ai/DeepSeek-V4-Flash (no count transcribed)"),
    "deepseek-ai__DeepSeek-V4-Pro.json": (None, None, "https://huggingface.co/deepseek-ai/DeepSeek-V4-Pro (no count transcribed)"),
    "zai-org__GLM-5.1.json": (None, None, "https://huggingface.co/zai-org/GLM-5.1 (no count transcribed; same shape as GLM-5)"),
    "nvidia__NVIDIA-Nemotron-3-Super-120B-A12B-FP8.json": (120e9, 12e9,
        "https://huggingface.co/nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-FP8 (name: 120B total, 12B active)"),
    "nvidia__NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16.json": (550e9, 55e9,
        "https://huggingface.co/nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16 (name: 550B total, 55B active)"),

    "zai-org__GLM-4.7.json": (355e9, 32e9, "https://huggingface.co/zai-org/GLM-4.7 (GLM-4.5 architecture: 355B total, 32B active, per the GLM-4.5 card)"),
    "PrimeIntellect__INTELLECT-3-Base.json": (106e9, 12e9,
        "https://huggingface.co/PrimeIntellect/INTELLECT-3 (trained from GLM-4.5-Air-Base: 106B total, 12B active)"),
}

MTP_KEYS = ("num_nextn_predict_layers", "mtp_num_hidden_layers", "num_mtp_layers", "mtp_num_layers")


def numel(module) -> int:
    return sum(p.numel() for p in module.parameters()) if module is not None else 0


def build_config(raw: dict):
    model_type = raw.get("model_type")
    loaded_as = None
    if model_type in ALIASES:
        target, why = ALIASES[model_type]
        loaded_as = f"{target} ({why})"
        model_type = target
    kwargs = {k: v for k, v in raw.items() if k not in ("model_type", "auto_map")}
    cfg = AutoConfig.for_model(model_type, **kwargs)
    return cfg, loaded_as


def find_layers(model):
    """The ModuleList of decoder layers (the longest ModuleList named layers/h/blocks)."""
    best = None
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and name.split(".")[-1] in ("layers", "h", "blocks"):
            if best is None or len(mod) > len(best[1]):
                best = (name, mod)
    return best


def describe_layer(index: int, names: list[str]) -> str:
    joined = " ".join(names)
    if "mamba" in joined or "mixer.A_log" in joined or ".ssm" in joined:
        mixer = "mamba"
    elif "linear_attn" in joined:
        mixer = "linear_attn"
    elif "self_attn" in joined or "attention" in joined or "attn" in joined:
        mixer = "attention"
    else:
        mixer = "none"
    if "experts" in joined:
        mlp = "moe"
    elif "mlp" in joined or "feed_forward" in joined or "ffn" in joined:
        mlp = "dense"
    else:
        mlp = "none"
    # Nemotron-H style blocks carry their kind in a single "mixer"
    if mixer == "none" and "mixer." in joined:
        if "experts" in joined:
            mixer, mlp = "none", "moe"
        elif "q_proj" in joined:
            mixer = "attention"
        elif "up_proj" in joined:
            mlp = "dense"
    return f"layer {index}: mixer={mixer}, mlp={mlp}"


def final_norm(model):
    inner = getattr(model, "model", None) or getattr(model, "transformer", None) or getattr(model, "backbone", None)
    if inner is None:
        return None
    for attr in ("norm", "final_layernorm", "norm_f", "ln_f", "final_norm"):
        mod = getattr(inner, attr, None)
        if isinstance(mod, torch.nn.Module):
            return mod
    return None


def count(path: Path) -> dict:
    raw = json.loads(path.read_text())
    cfg, loaded_as = build_config(raw)
    text_cfg = cfg.get_text_config()
    entry: dict = {"model_type": raw.get("model_type"), "text_model_type": getattr(text_cfg, "model_type", None)}
    if loaded_as:
        entry["loaded_as"] = loaded_as
    with torch.device("meta"):
        lm = AutoModelForCausalLM.from_config(text_cfg)
    entry["class"] = type(lm).__name__
    entry["causal_lm_params"] = sum(p.numel() for p in lm.parameters())
    inp, out = lm.get_input_embeddings(), lm.get_output_embeddings()
    entry["tied_embeddings"] = bool(out is not None and inp is not None and out.weight is inp.weight)
    entry["embed_params"] = numel(inp)
    entry["lm_head_params"] = out.weight.numel() if out is not None else 0
    entry["final_norm_params"] = numel(final_norm(lm))
    layers = find_layers(lm)
    distinct: dict = {}
    seen = []
    if layers is not None:
        entry["num_layers_instantiated"] = len(layers[1])
        layer_types = getattr(text_cfg, "layer_types", None)
        for i, layer in enumerate(layers[1]):
            kind = layer_types[i] if layer_types and i < len(layer_types) else None
            shapes = tuple((n, tuple(p.shape)) for n, p in layer.named_parameters())
            sig = (kind, shapes)
            if sig in seen:
                continue
            seen.append(sig)
            key = describe_layer(i, [n for n, _ in shapes])
            if kind:
                key += f", layer_types={kind}"
            distinct[key] = {n: p.numel() for n, p in layer.named_parameters()}
    entry["distinct_layers"] = distinct
    mtp = {k: raw.get(k, (raw.get("text_config") or {}).get(k)) for k in MTP_KEYS}
    mtp = {k: v for k, v in mtp.items() if v}
    entry["mtp_layers_in_config"] = mtp or None
    n_cfg_layers = getattr(text_cfg, "num_hidden_layers", None)
    entry["mtp_instantiated"] = bool(mtp) and layers is not None and len(layers[1]) > (n_cfg_layers or 0)
    entry["full_params"] = None
    entry["vision_params"] = None
    if "vision_config" in raw:
        arch = (raw.get("architectures") or [None])[0]
        cls = getattr(transformers, arch, None) if arch else None
        try:
            with torch.device("meta"):
                if cls is not None:
                    full = cls(cfg)
                else:
                    entry["full_note"] = (f"transformers {transformers.__version__} has no class {arch};"
                                          " built with AutoModelForImageTextToText")
                    full = transformers.AutoModelForImageTextToText.from_config(cfg)
            entry["full_class"] = type(full).__name__
            entry["full_params"] = sum(p.numel() for p in full.parameters())
            # vision tower + projector (+ anything else outside the language model), by name
            entry["vision_params"] = sum(
                p.numel() for n, p in full.named_parameters()
                if "language_model" not in n and not n.startswith("lm_head"))
            f_in, f_out = full.get_input_embeddings(), full.get_output_embeddings()
            entry["full_tied_embeddings"] = bool(f_out is not None and f_out.weight is f_in.weight)
        except Exception as exc:  # record, don't hide
            entry["full_error"] = f"{type(exc).__name__}: {exc}"
    total, active, source = OFFICIAL.get(path.name, (None, None, None))
    entry["official_total"] = total
    entry["official_active"] = active
    entry["official_source"] = source
    return entry


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] if argv else sorted(
        p for p in CONFIG_DIR.glob("*.json") if p.name != OUT.name)
    result = {"models": {}}
    if argv and OUT.exists():
        result = json.loads(OUT.read_text())
    result["transformers_version"] = transformers.__version__
    result["torch_version"] = torch.__version__
    result["date"] = datetime.date.today().isoformat()
    failed = 0
    for path in files:
        try:
            entry = count(path)
            print(f"{path.name:60s} {entry['class']:40s} {entry['causal_lm_params']:>16,d}"
                  f" full={entry['full_params']}", flush=True)
        except Exception as exc:
            failed += 1
            entry = {"error": f"{type(exc).__name__}: {exc}"}
            total, active, source = OFFICIAL.get(path.name, (None, None, None))
            entry.update(official_total=total, official_active=active, official_source=source)
            print(f"{path.name:60s} FAILED {entry['error']}", flush=True)
            traceback.print_exc()
        result["models"][path.name] = entry
    result["models"] = dict(sorted(result["models"].items()))
    ordered = {k: result[k] for k in ("transformers_version", "torch_version", "date", "models")}
    OUT.write_text(json.dumps(ordered, indent=1) + "\n")
    print(f"wrote {OUT} ({len(result['models'])} models, {failed} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
