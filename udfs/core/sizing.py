"""Fleet sizing: GPUs needed, fits, longest context, largest model.

Each GPU gives its catalogued capacity (GiB, as sold) minus the runtime overhead (assumptions.csv); the
deployment's weights, KV cache and activations are spread over the GPUs (tensor parallelism).
    gpus_needed = ceil(model bytes / usable bytes per GPU)
"""

from __future__ import annotations

import numpy as np

from . import memory as M
from .architecture import Architecture
from .catalog import GPU, Precision, assumption
from .errors import ScalesheetError
from .units import BITS_PER_BYTE, GIB


def usable_bytes_per_gpu(gpu: GPU) -> np.ndarray:
    usable = gpu.memory_gib * GIB - assumption("runtime_overhead_gib") * GIB
    if np.any(usable <= 0):
        raise ScalesheetError("gpu", "has no memory left after the runtime overhead")
    return usable


def gpus_needed(a, gpu, p, context, batch, kv) -> np.ndarray:
    need = M.model_bytes(a, p, context, batch, kv)
    return np.maximum(np.ceil(need / usable_bytes_per_gpu(gpu)), 1.0)


def fits(a, gpu, p, context, batch, kv, gpus=1) -> np.ndarray:
    return M.model_bytes(a, p, context, batch, kv) <= np.asarray(gpus, dtype=np.float64) * usable_bytes_per_gpu(gpu)


def max_context(a: Architecture, gpu: GPU, p: Precision, batch, kv: Precision, gpus=1,
                cap_at_model_context=True) -> np.ndarray:
    """Longest context (tokens) that fits, found by bisection (memory grows monotonically with context).

    0 when even an empty context does not fit; capped at the model's trained context window when
    ``cap_at_model_context``.
    """
    budget = np.asarray(gpus, dtype=np.float64) * usable_bytes_per_gpu(gpu)
    hi_cap = np.where(cap_at_model_context, a.max_context, 1e9) * np.ones(np.broadcast_shapes(
        np.shape(budget), np.shape(a.max_context), np.shape(batch), np.shape(p.bits), np.shape(kv.bits)))
    fits_at = lambda c: M.model_bytes(a, p, c, batch, kv) <= budget  # noqa: E731
    lo = np.zeros_like(hi_cap)
    hi = hi_cap.copy()
    ok_hi = fits_at(hi)
    ok_zero = fits_at(lo)
    for _ in range(40):  # 2^40 > 1e9: exact to one token
        mid = np.floor((lo + hi + 1) / 2)
        ok = fits_at(mid)
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid - 1)
    return np.where(ok_hi, hi_cap, np.where(ok_zero, lo, 0.0))


def max_dense_params(gpu: GPU, p: Precision, gpus=1) -> np.ndarray:
    """Largest dense model whose weights fit in the usable memory of ``gpus`` GPUs (no KV, no batch)."""
    return np.floor(np.asarray(gpus, dtype=np.float64) * usable_bytes_per_gpu(gpu) * BITS_PER_BYTE / p.bits)


def cheapest_gpu(required_bytes, gpus=1, price_field: str = "price_usd") -> np.ndarray:
    """Name of the catalog GPU with the lowest ``price_field`` (x gpus) whose usable memory x gpus holds
    ``required_bytes``; GPUs without that price are skipped. Empty string where none fits."""
    from .catalog import _gpu_arrays, gpu_table

    if price_field not in ("price_usd", "cloud_usd_per_hour"):
        raise ScalesheetError("price_field", f"'{price_field}' is not allowed; use price_usd or cloud_usd_per_hour")
    table = _gpu_arrays()
    usable = table.memory_gib * GIB - assumption("runtime_overhead_gib") * GIB          # (n_gpus,)
    price = getattr(table, price_field)
    need = np.asarray(required_bytes, dtype=np.float64)[..., None]
    count = np.asarray(gpus, dtype=np.float64)[..., None]
    ok = (count * usable >= need) & (price > 0)
    cost = np.where(ok, price * count, np.inf)
    best = np.argmin(cost, axis=-1)
    names = np.array(gpu_table().names, dtype=object)[best]
    return np.where(np.isfinite(np.min(cost, axis=-1)), names, "")
