"""Consistency of the released-config reference data in tests/data/hf_configs/.

The data (released config.json files, their sources, and parameter counts made by
tests/tools/count_params_transformers.py with transformers on the meta device) is used by the
architecture tests as an independent reference. These checks need no torch: they make sure every
config is sourced and counted, and that each transformers count agrees with the total its model
card states (to 10 %: cards round, e.g. "4B" for 4.30B, and leave out MTP layers or not).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "hf_configs"
REFERENCE = json.loads((DATA / "reference_counts.json").read_text())
SOURCES = (DATA / "SOURCES.md").read_text()
CONFIGS = sorted(p.name for p in DATA.glob("*.json") if p.name != "reference_counts.json")


def test_there_are_at_least_30_released_configs():
    assert len(CONFIGS) >= 30


def test_reference_lists_exactly_the_config_files():
    assert sorted(REFERENCE["models"]) == CONFIGS


@pytest.mark.parametrize("name", CONFIGS)
def test_config_is_sourced_and_counted(name):
    raw = json.loads((DATA / name).read_text())
    assert isinstance(raw, dict) and raw.get("model_type"), name
    assert f"`{name}`" in SOURCES, f"{name} has no row in SOURCES.md"
    entry = REFERENCE["models"][name]
    assert "error" not in entry, entry.get("error")
    assert entry["causal_lm_params"] > 0
    if "vision_config" in raw:
        assert entry["vision_params"] and entry["vision_params"] > 0, "multimodal release without vision count"
    else:
        assert entry["vision_params"] is None
    assert entry["distinct_layers"], "no decoder layer recorded"


@pytest.mark.parametrize("name", [n for n in CONFIGS if REFERENCE["models"][n].get("official_total")])
def test_count_agrees_with_model_card(name):
    entry = REFERENCE["models"][name]
    released = entry["causal_lm_params"] + (entry["vision_params"] or 0)
    official = entry["official_total"]
    assert abs(released / official - 1) < 0.10, (name, released, official)
    if entry.get("official_active"):
        assert entry["official_active"] < official
    assert entry["official_source"].startswith("https://")
