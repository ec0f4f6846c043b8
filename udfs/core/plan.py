"""Per-combination plans of the hot questions: what depends only on the (model, precision, KV precision, GPU)
combination is computed once by the core's own functions and kept; each cell then adds, in a few float
operations, what depends on its numbers (context, batch, GPU count).

Why: a spreadsheet asks the same few combinations thousands of times with different contexts and batches.
The plain core path rebuilds a model record per cell (27 fields) and recomputes the parameter breakdown;
a plan does that once per combination (cached by catalog position for the life of the process) and, for a
column, once per distinct combination of the column, with only row-sized arrays of the numbers and of the
few constants a formula needs.

The row formulas below restate, for the part that varies per cell, the core's own formulas
(memory.inference_breakdown, sizing.gpus_needed, speed.decode_step_s with a blank engine), from the per-model quantities the
core exposes (memory.kv_elements_per_token, span_limits, state_elements_per_sequence,
flops.attention_flops_per_pair, params.matmul_params, ...). tests/test_plan.py proves with
hypothesis that every plan equals the plain core path (``udfs.core.api``) within 1e-12 relative over
random catalog models, precisions, KV precisions, GPUs, contexts, batches and GPU counts, and that the scalar
and the column form of a plan give bit-identical results (Excel's cell-by-cell and range answers agree).

Each row formula is written once, for Python floats and numpy arrays alike (``xp`` supplies min, max and
ceil); powers and logarithms, whose last bit may differ between ``math`` and numpy's vector loops, are
evaluated per distinct value with the same Python expression in both forms.
"""

from __future__ import annotations

import math

import numpy as np

from . import api, flops, memory, params, rows, sizing, speed
from .catalog import assumption
from .units import BITS_PER_BYTE, GB


class _Scalar:
    """Operations on one cell's Python floats."""

    minimum = staticmethod(min)
    maximum = staticmethod(max)

    @staticmethod
    def ceil(x):
        return float(math.ceil(x))

    @staticmethod
    def untouched(c, batch):
        return _untouched(c["moe"], c["expert_share"], batch)

    @staticmethod
    def per_span(c, prefix, context):
        """_per_span with the spans whose amount is 0 left out (their terms are exactly +0.0)."""
        total = 0.0
        for amount, limit in c["spans_" + prefix]:
            total = total + amount * (context if context < limit else limit)
        return total


class _Array:
    """Operations on a column's arrays; per-distinct-value parts use the scalar expressions."""

    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    ceil = staticmethod(np.ceil)

    def per_span(self, c, prefix, context):
        return _per_span(c, prefix, context, self)

    def __init__(self, inverse, per_combo):
        self.inverse, self.per_combo = inverse, per_combo

    def untouched(self, c, batch):
        moe = self.per_combo["moe"]
        if not moe.any():
            return 0.0
        share = self.per_combo["expert_share"]
        n = len(self.inverse)
        batch = np.broadcast_to(batch, (n,))
        rows = np.flatnonzero(moe[self.inverse] > 0)  # only mixture-of-experts rows read part of the experts
        bu, binv = _distinct(batch[rows])
        nb = len(bu)
        pu, pinv = _distinct(self.inverse[rows].astype(np.int64) * nb + binv)
        vals = np.array([_untouched(1.0, float(share[p // nb]), float(bu[p % nb])) for p in pu.tolist()])
        out = np.zeros(n)
        out[rows] = vals[pinv]
        return out


SCALAR = _Scalar()


class Plan:
    """One question as constants per combination (``constants``) plus a row formula (``row``).

    ``records``: the catalog arguments the constants depend on; ``numbers``: the numeric arguments the row
    formula takes, in order. ``row(c, *numbers, xp=...)`` gets the constants ``c`` (floats, or arrays over
    rows) and ``xp``, the operations for floats (SCALAR) or for a column's arrays; ``scalar_row(c, *numbers)``
    is the same formula for one cell's floats.
    """

    def __init__(self, name, records, numbers, constants, row, scalar_row=None):
        self.name, self.records, self.numbers = name, records, numbers
        self.constants, self.row = constants, row
        # One cell's form of ``row`` (floats only, no ``xp``): the same expressions in the same order, written
        # out for speed; tests/test_plan.py holds it to the last bit against the column form.
        self.scalar_row = scalar_row or (lambda c, *numbers: row(c, *numbers, xp=SCALAR))
        self._cache: dict = rows.CACHE.setdefault(name, {})  # shared with udfs.core.quick and the adapter

    def __repr__(self):
        return f"Plan({self.name})"

    def scalar(self, kw: dict, keys: dict):
        """One cell: ``kw`` maps argument names to 0-d records and floats; ``keys`` the records' catalog keys."""
        key = tuple(map(keys.get, self.records))
        c = self._cache.get(key)
        if c is None:
            c = rows.scalar_constants(self.constants(**{n: kw[n] for n in self.records}))
            if None not in key:
                if len(self._cache) > 100_000:
                    self._cache.clear()
                self._cache[key] = c
        return self.scalar_row(c, *[kw[n] for n in self.numbers])

    def column(self, columns: dict, fixed: dict):
        """Cells of a range: ``columns`` maps names to (per-cell codes, table of distinct records) for catalog
        arguments and (per-cell floats, None) for numbers; ``fixed`` maps names to one custom 0-d record."""
        codes, tables = [], []
        n = None
        for name in self.records:
            if name in fixed:
                codes.append(None)
                tables.append(fixed[name])
            else:
                flat, table = columns[name]
                codes.append(np.asarray(flat, dtype=np.intp))
                tables.append(table)
                n = len(flat)
        numbers = [np.asarray(columns[name][0], dtype=np.float64) for name in self.numbers]
        if n is None:
            n = len(numbers[0]) if numbers else 1
        numbers = [np.broadcast_to(x, (n,)) for x in numbers]
        combo, records = _combinations(codes, tables, n)
        arrays = self.constants(**dict(zip(self.records, records)))
        k = len(combo.uniques)
        per_combo = {name: np.broadcast_to(np.asarray(v, dtype=np.float64), (k,)) for name, v in arrays.items()}
        uniform = {name: float(v[0]) for name, v in per_combo.items() if np.all(v == v[0])}
        rows, back = _distinct_rows(combo.inverse, numbers)
        if rows is None:
            return self._rows(per_combo, uniform, combo.inverse, numbers)
        return self._rows(per_combo, uniform, combo.inverse[rows], [x[rows] for x in numbers])[back]

    def _rows(self, per_combo, uniform, inverse, numbers, chunk=1 << 16):
        """The row formula over rows, a chunk at a time (row-sized temporaries stay small and in cache)."""
        m = len(inverse)
        out = np.empty(m)
        for start in range(0, m, chunk):
            stop = min(start + chunk, m)
            idx = inverse[start:stop]
            c = {name: uniform[name] if name in uniform else v[idx] for name, v in per_combo.items()}
            out[start:stop] = self.row(c, *[x[start:stop] for x in numbers], xp=_Array(idx, per_combo))
        return out

    def clear(self):
        self._cache.clear()


class _Combos:
    __slots__ = ("uniques", "inverse")

    def __init__(self, uniques, inverse):
        self.uniques, self.inverse = uniques, inverse


def _combinations(codes, tables, n):
    """Distinct combinations of the catalog codes of a column and, per argument, their records."""
    sizes = [1 if c is None else int(len(t.name)) for c, t in zip(codes, tables)]
    combo = np.zeros(n, dtype=np.int64)
    for c, size in zip(codes, sizes):
        combo *= size
        if c is not None:
            combo += c
    total = math.prod(sizes)
    if total <= max(4 * n, 1 << 16):
        present = np.zeros(total, dtype=bool)
        present[combo] = True
        uniques = np.flatnonzero(present)
        remap = np.empty(total, dtype=np.intp)
        remap[uniques] = np.arange(len(uniques))
        inverse = remap[combo]
    else:
        uniques, inverse = np.unique(combo, return_inverse=True)
    records, rest = [], uniques.copy()
    parts = []
    for size in reversed(sizes):
        parts.append(rest % size)
        rest //= size
    parts.reverse()
    for c, table, part in zip(codes, tables, parts):
        records.append(table if c is None else table.take(part))
    return _Combos(uniques, inverse), records


def _distinct_rows(combo_inverse, numbers):
    """(rows to compute, index of each row among them) when a column repeats whole rows (same combination and
    numbers) often, as scenario tables do; (None, None) when computing every row is as cheap. Results are
    the same either way: the row formula is element-wise."""
    n = len(combo_inverse)
    if n < 4096:
        return None, None
    key = combo_inverse.astype(np.int64)
    size = int(key.max()) + 1 if n else 1
    for x in numbers:
        if x.strides == (0,):  # one value repeated (a single cell against a column): nothing to tell apart
            if not (0 <= x[0] < (1 << 22)):
                return None, None
            continue
        if not (x.min() >= 0 and x.max() < (1 << 22)):
            return None, None
        u, inv = _distinct(x)
        size *= len(u)
        if size > 4 * n:
            return None, None
        key = key * len(u) + inv
    present = np.zeros(size, dtype=bool)
    present[key] = True
    rows_of = np.flatnonzero(present)
    if len(rows_of) > n // 4:
        return None, None
    remap = np.empty(size, dtype=np.intp)
    remap[rows_of] = np.arange(len(rows_of))
    back = remap[key]
    first = np.empty(len(rows_of), dtype=np.intp)
    first[back[::-1]] = np.arange(n - 1, -1, -1)  # a row holding each distinct tuple (its first)
    return first, back


def _distinct(values):
    """(distinct values, index of each) without sorting when the values are small whole numbers."""
    values = np.asarray(values).reshape(-1)
    if values.size and values.min() >= 0 and values.max() < (1 << 22) and np.all(values == np.floor(values)):
        ints = values.astype(np.int64)
        present = np.zeros(int(ints.max()) + 1, dtype=bool)
        present[ints] = True
        uniques = np.flatnonzero(present)
        remap = np.empty(len(present), dtype=np.intp)
        remap[uniques] = np.arange(len(uniques))
        return uniques.astype(values.dtype), remap[ints]
    u, inv = np.unique(values, return_inverse=True)
    return u, inv.reshape(-1)


_untouched = rows.untouched  # fraction of the routed experts' bytes no token of a batch reads


# ------------------------------------------------------------------------------------------ memory
SPANS = rows.SPANS  # memory.kv_elements_per_token / span_limits, in the core's order


def _memory_constants(model, precision, kv_precision):
    a, p, kv = model, precision, kv_precision
    elements, limits = memory.kv_elements_per_token(a), memory.span_limits(a)
    if tuple(elements) != SPANS or tuple(limits) != SPANS:
        raise RuntimeError("plan: the core's KV spans changed; update udfs/core/plan.py")
    out = {
        "weights": memory.weight_bytes(a, p),
        "kv_bits": kv.bits,
        "state_elements": memory.state_elements_per_sequence(a),
        "state_bits": assumption("state_bits"),
        "working_set": memory.activation_working_set_per_token(a),
        "vocab": a.vocab_size,
        "chunk": assumption("prefill_chunk_tokens"),
        "activation_bytes": assumption("activation_bytes"),
        "logit_bytes": assumption("logit_bytes"),
        "overhead": memory.runtime_overhead_bytes(1),
    }
    for span in SPANS:
        out["kv_" + span] = elements[span]
        out["limit_" + span] = limits[span]
    return out


def _per_span(c, prefix, context, xp):
    """sum over spans of (per-pair amount) x min(context, span limit), in the core's order (a sum from 0)."""
    return (c[prefix + "full"] * xp.minimum(context, c["limit_full"])
            + c[prefix + "window"] * xp.minimum(context, c["limit_window"])
            + c[prefix + "chunk"] * xp.minimum(context, c["limit_chunk"]))


def _kv_bytes(c, context, batch, xp):
    """memory.kv_cache_bytes: batch x cached elements per sequence x KV bits / 8."""
    return batch * xp.per_span(c, "kv_", context) * c["kv_bits"] / BITS_PER_BYTE


def _model_bytes(c, context, batch, xp):
    """memory.model_bytes: weights + KV cache + recurrent state + activations."""
    state = batch * c["state_elements"] * c["state_bits"] / BITS_PER_BYTE
    tokens = xp.minimum(batch * xp.maximum(context, 1.0), c["chunk"])
    activations = tokens * c["working_set"] * c["activation_bytes"] + batch * c["vocab"] * c["logit_bytes"]
    return c["weights"] + _kv_bytes(c, context, batch, xp) + state + activations


def _vram_row(c, context, batch, *, xp):
    return _model_bytes(c, context, batch, xp) + c["overhead"]


def _gpus_constants(model, gpu, precision, kv_precision):
    out = _memory_constants(model, precision, kv_precision)
    out["usable"] = sizing.usable_bytes_per_gpu(gpu)
    return out


def _gpus_row(c, context, batch, *, xp):
    return xp.maximum(xp.ceil(_model_bytes(c, context, batch, xp) / c["usable"]), 1.0)


# ------------------------------------------------------------------------------------------ decode
def _decode_constants(model, gpu, precision, kv_precision):
    """Per combination: the step model's engine terms for a blank engine (speed.engine_params, auto)."""
    a, p = model, precision
    out = _memory_constants(a, p, kv_precision)
    pairs = flops.attention_flops_per_pair(a)
    if tuple(pairs) != SPANS:
        raise RuntimeError("plan: the core's attention spans changed; update udfs/core/plan.py")
    out.update({"flops_" + span: pairs[span] for span in SPANS})
    e = speed.engine_params(None, gpu, p)
    ic = np.where(gpu.interconnect_gb_s > 0, gpu.interconnect_gb_s, speed.PCIE_GB_S)
    kind = e["flags"]["gpu_link"]
    pcie = np.where(kind >= 0, kind == 0, ic <= speed.PCIE_MAX_GB_S)
    out.update({
        "peak_rate": speed._compute_peak(gpu, p, e) * e["decode_mfu"],
        "byte_rate": gpu.bandwidth_gb_s * GB * e["bw_fraction"],
        "overhead_s": e["step_overhead_s"] + a.n_layers * e["layer_s"],
        "split": e["layer_split"],
        "latency": e["allreduce_latency_s"],
        "ar_latency": e["allreduce_latency_s"] * np.where(pcie, speed.PCIE_LATENCY_FACTOR, 1.0),
        "link": ic / 2 * GB,
        "layers": a.n_layers,
        "d_model": a.d_model,
        "table": speed.embedding_lookup_bytes(a, p),
        "matmul_flops": 2 * params.matmul_params(a),
        "routed_bytes": params.routed_expert_params(a) * p.expert_bits / 8,
        "moe": np.where(a.n_experts > 0, 1.0, 0.0),
        "expert_share": a.experts_per_token / np.maximum(a.n_experts, 1),
        "msg_bytes": speed.ACTIVATION_BYTES,
    })
    return out


def _decode_row(c, context, batch, gpus, *, xp):
    """speed.decode_tokens_per_s with a blank engine: batch / (max(memory, compute) + overhead + all-reduces)."""
    t = c["split"] + (1 - c["split"]) * gpus              # tensor-parallel degree (speed._parallel)
    stages = c["split"] * gpus + (1 - c["split"])         # layer-split stages
    flops_per_token = c["matmul_flops"] + xp.per_span(c, "flops_", context)  # flops.forward_flops_per_token
    compute = batch * flops_per_token / (t * c["peak_rate"])
    rows = xp.minimum(batch / xp.maximum(c["vocab"], 1), 1.0) * c["table"]
    weights_read = c["weights"] - c["routed_bytes"] * xp.untouched(c, batch) - c["table"] + rows
    state = batch * c["state_elements"] * c["state_bits"] / BITS_PER_BYTE
    bytes_read = weights_read + _kv_bytes(c, context, batch, xp) + 2 * state
    memory_s = bytes_read / (t * c["byte_rate"])
    msg = batch * c["d_model"] * speed.ACTIVATION_BYTES
    per = c["ar_latency"] + 2 * (t - 1) / xp.maximum(t, 1) * msg / c["link"]
    comm = (t > 1) * (2 * c["layers"] * per) + (stages - 1) * c["latency"] * 4
    step = (xp.maximum(memory_s, compute) + c["overhead_s"] + comm) / 1.0
    return batch / step


VRAM = Plan("infer_vram_bytes", ("model", "precision", "kv_precision"), ("context", "batch"),
            _memory_constants, _vram_row, rows.vram_1)
GPUS_NEEDED = Plan("gpus_needed", ("model", "gpu", "precision", "kv_precision"), ("context", "batch"),
                   _gpus_constants, _gpus_row, rows.gpus_1)
DECODE = Plan("decode_tokps", ("model", "gpu", "precision", "kv_precision"), ("context", "batch", "gpus"),
              _decode_constants, _decode_row, rows.decode_1)

# The core function each plan answers for (the adapter looks plans up by the function a UDF evaluates).
PLANS = {api.infer_vram_bytes: VRAM, api.gpus_needed: GPUS_NEEDED, api.decode_tokps: DECODE}


def clear_caches() -> None:
    for plan in PLANS.values():
        plan.clear()
