"""Write models.csv rows for released configs: ``python tests/tools/catalog_rows.py`` appends (or refreshes)
the 2025-26 presets listed in PRESETS, imported from tests/data/hf_configs/ with udfs.core.hf_config, with
the transformers meta-device count (reference_counts.json) as ``official_params`` and the model card's
rounded total/active count in the notes. Run it after adding a config; the catalog stays a data file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from udfs.core import hf_config, params  # noqa: E402
from udfs.core.architecture import record_to_numbers  # noqa: E402

CONFIGS = os.path.join(ROOT, "tests", "data", "hf_configs")
MODELS = os.path.join(ROOT, "udfs", "core", "data", "models.csv")
# preset name: (config file, display name, family, aliases)
PRESETS = {
    "deepseek-v3": ("deepseek-ai__DeepSeek-V3.json", "DeepSeek-V3", "deepseek-v3", "deepseek-ai/DeepSeek-V3"),
    "deepseek-r1": ("deepseek-ai__DeepSeek-R1.json", "DeepSeek-R1", "deepseek-v3", "deepseek-ai/DeepSeek-R1"),
    "deepseek-v3.2": ("deepseek-ai__DeepSeek-V3.2.json", "DeepSeek-V3.2", "deepseek-v3", "deepseek-ai/DeepSeek-V3.2"),
    "kimi-k2": ("moonshotai__Kimi-K2-Instruct.json", "Kimi-K2-Instruct", "kimi-k2", "moonshotai/Kimi-K2-Instruct;kimi-k2-instruct"),
    "kimi-k2.5": ("moonshotai__Kimi-K2.5.json", "Kimi-K2.5", "kimi-k2", "moonshotai/Kimi-K2.5"),
    "qwen3-0.6b": ("Qwen__Qwen3-0.6B.json", "Qwen3 0.6B", "qwen3", "Qwen/Qwen3-0.6B"),
    "qwen3-1.7b": ("Qwen__Qwen3-1.7B.json", "Qwen3 1.7B", "qwen3", "Qwen/Qwen3-1.7B"),
    "qwen3-8b": ("Qwen__Qwen3-8B.json", "Qwen3 8B", "qwen3", "Qwen/Qwen3-8B"),
    "qwen3-32b": ("Qwen__Qwen3-32B.json", "Qwen3 32B", "qwen3", "Qwen/Qwen3-32B"),
    "qwen3-30b-a3b": ("Qwen__Qwen3-30B-A3B.json", "Qwen3 30B-A3B", "qwen3-moe", "Qwen/Qwen3-30B-A3B"),
    "qwen3-235b-a22b": ("Qwen__Qwen3-235B-A22B.json", "Qwen3 235B-A22B", "qwen3-moe", "Qwen/Qwen3-235B-A22B"),
    "qwen3-coder-480b-a35b": ("Qwen__Qwen3-Coder-480B-A35B-Instruct.json", "Qwen3-Coder 480B-A35B", "qwen3-moe",
                              "Qwen/Qwen3-Coder-480B-A35B-Instruct"),
    "qwen3-next-80b-a3b": ("Qwen__Qwen3-Next-80B-A3B-Thinking.json", "Qwen3-Next 80B-A3B", "qwen3-next",
                           "Qwen/Qwen3-Next-80B-A3B-Thinking;Qwen/Qwen3-Next-80B-A3B-Instruct"),
    "qwen3.5-27b": ("Qwen__Qwen3.5-27B.json", "Qwen3.5 27B", "qwen3.5", "Qwen/Qwen3.5-27B"),
    "qwen3.5-35b-a3b": ("Qwen__Qwen3.5-35B-A3B.json", "Qwen3.5 35B-A3B", "qwen3.5", "Qwen/Qwen3.5-35B-A3B"),
    "qwen3.5-122b-a10b": ("Qwen__Qwen3.5-122B-A10B.json", "Qwen3.5 122B-A10B", "qwen3.5", "Qwen/Qwen3.5-122B-A10B"),
    "qwen3.5-397b-a17b": ("Qwen__Qwen3.5-397B-A17B.json", "Qwen3.5 397B-A17B", "qwen3.5", "Qwen/Qwen3.5-397B-A17B"),
    "gpt-oss-20b": ("openai__gpt-oss-20b.json", "gpt-oss-20b", "gpt-oss", "openai/gpt-oss-20b"),
    "gpt-oss-120b": ("openai__gpt-oss-120b.json", "gpt-oss-120b", "gpt-oss", "openai/gpt-oss-120b"),
    "llama-4-scout": ("meta-llama__Llama-4-Scout-17B-16E-Instruct.json", "Llama 4 Scout 17B-16E", "llama-4",
                      "meta-llama/Llama-4-Scout-17B-16E-Instruct;llama-4-scout-17b-16e"),
    "llama-4-maverick": ("meta-llama__Llama-4-Maverick-17B-128E-Instruct.json", "Llama 4 Maverick 17B-128E",
                         "llama-4", "meta-llama/Llama-4-Maverick-17B-128E-Instruct;llama-4-maverick-17b-128e"),
    "llama-3.3-70b": ("meta-llama__Llama-3.3-70B-Instruct.json", "Llama 3.3 70B", "llama-3.3",
                      "meta-llama/Llama-3.3-70B-Instruct"),
    "gemma-3-1b": ("google__gemma-3-1b-it.json", "Gemma 3 1B", "gemma-3", "google/gemma-3-1b-it"),
    "gemma-3-4b": ("google__gemma-3-4b-it.json", "Gemma 3 4B", "gemma-3", "google/gemma-3-4b-it"),
    "gemma-3-27b": ("google__gemma-3-27b-it.json", "Gemma 3 27B", "gemma-3", "google/gemma-3-27b-it"),
    "gemma-4-26b-a4b": ("google__gemma-4-26B-A4B.json", "Gemma 4 26B-A4B", "gemma-4", "google/gemma-4-26B-A4B"),
    "mistral-small-3.1": ("mistralai__Mistral-Small-3.1-24B-Instruct-2503.json", "Mistral Small 3.1 24B",
                          "mistral-small-3", "mistralai/Mistral-Small-3.1-24B-Instruct-2503"),
    "phi-4": ("microsoft__phi-4.json", "Phi-4 14B", "phi-4", "microsoft/phi-4"),
    "glm-4.7": ("zai-org__GLM-4.7.json", "GLM-4.7", "glm-4", "zai-org/GLM-4.7"),
    "glm-5": ("zai-org__GLM-5.json", "GLM-5", "glm-5", "zai-org/GLM-5"),
    "nemotron-h-56b": ("nvidia__Nemotron-H-56B-Base-8K.json", "Nemotron-H 56B", "nemotron-h",
                       "nvidia/Nemotron-H-56B-Base-8K"),
    "nemotron-3-nano-30b-a3b": ("nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.json", "Nemotron 3 Nano 30B-A3B",
                                "nemotron-3", "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16"),
    "nemotron-3-super-120b-a12b": ("nvidia__NVIDIA-Nemotron-3-Super-120B-A12B-FP8.json", "Nemotron 3 Super 120B-A12B",
                                   "nemotron-3", "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-FP8"),
    "jamba-mini-1.5": ("ai21labs__AI21-Jamba-Mini-1.5.json", "Jamba Mini 1.5", "jamba", "ai21labs/AI21-Jamba-Mini-1.5"),
    "intellect-3": ("PrimeIntellect__INTELLECT-3-Base.json", "INTELLECT-3", "glm-4", "PrimeIntellect/INTELLECT-3-Base"),
}


def rows() -> list[dict]:
    ref = json.load(open(os.path.join(CONFIGS, "reference_counts.json"), encoding="utf-8"))
    out = []
    for name, (file, display, family, aliases) in PRESETS.items():
        if file not in ref["models"] or not os.path.exists(os.path.join(CONFIGS, file)):
            print(f"skipped {name}: {file} or its reference count is not in tests/data/hf_configs")
            continue
        cfg = json.load(open(os.path.join(CONFIGS, file), encoding="utf-8"))
        rec = hf_config.record_from_config(cfg, name)
        record_to_numbers(rec)  # validates
        r = ref["models"][file]
        count = int(r["causal_lm_params"])
        assert int(params.total_params(hf_config.architecture_from_config(cfg, name))) == count, name
        card = r.get("official_total")
        active = r.get("official_active")
        org_repo = file[:-5].replace("__", "/")
        notes = [f"Model card: {r.get('official_source') or 'https://huggingface.co/' + org_repo}."]
        if r.get("vision_params"):
            notes.append(f"Vision tower + projector {r['vision_params']:,} parameters (transformers count), reported "
                         "as vision_params and not part of the language-model count.")
        rec.update({
            "name": name, "aliases": aliases, "display_name": display, "family": family,
            "hf_model_type": (cfg.get("text_config") or {}).get("model_type") or cfg.get("model_type"),
            "official_params": count, "official_active_params": int(active) if active else "",
            "params_source": f"transformers {ref['transformers_version']} meta-device count of the released "
                             f"config (tests/data/hf_configs/{file}); model card states "
                             f"{card / 1e9:g}B" if card else
                             f"transformers {ref['transformers_version']} meta-device count of the released config "
                             f"(tests/data/hf_configs/{file})",
            "config_source": f"https://huggingface.co/{org_repo}/blob/main/config.json",
            "as_of": ref["date"], "notes": " ".join(notes),
            "vision_params": int(r.get("vision_params") or 0),
        })
        rec.pop("vision_note", None)
        out.append(rec)
    return out


def main() -> None:
    with open(MODELS, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, existing = list(reader.fieldnames), list(reader)
    new = rows()
    for r in new:
        for k in r:
            if k not in fields:
                fields.insert(fields.index("official_params"), k)
    keep = [r for r in existing if r["name"] not in {r["name"] for r in new}]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in keep + new:
        w.writerow({k: ("true" if v is True else "false" if v is False else v) for k, v in r.items()})
    with open(MODELS, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
    print(f"{len(keep)} existing + {len(new)} presets from configs -> {MODELS}")


if __name__ == "__main__":
    main()
