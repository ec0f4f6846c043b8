"""Turn what a user typed (a preset name, an array of names, a field/value mapping, a number of bits) into
the core's array records. Shared by the Excel adapter and the CLI."""

from __future__ import annotations

from collections.abc import Mapping

from . import architecture, catalog
from .architecture import Architecture
from .catalog import GPU, Precision


def model(value, argument: str = "model") -> Architecture:
    if isinstance(value, Architecture):
        return value
    if isinstance(value, Mapping):
        return architecture.from_mapping(dict(value), argument)
    return catalog.models(value, argument)


def gpu(value, argument: str = "gpu") -> GPU:
    if isinstance(value, GPU):
        return value
    if isinstance(value, Mapping):
        return catalog.gpu_from_mapping(dict(value), argument)
    return catalog.gpus(value, argument)


def precision(value, argument: str = "precision") -> Precision:
    if isinstance(value, Precision):
        return value
    return catalog.precisions(value, argument)


def kv_precision(value, argument: str = "kv_precision") -> Precision:
    if isinstance(value, Precision):
        return value
    return catalog.kv_precisions(value, argument)

