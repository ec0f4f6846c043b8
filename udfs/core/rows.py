"""The plans' per-cell arithmetic without numpy: one cell's row formulas, and the assembly of a combination's
constants from its parts (per model, per model and precision, per GPU and precision, ...).

udfs.core.plan computes the parts with the core's functions (numpy) and assembles them here, for one
combination or a column's arrays alike; udfs.core.quick assembles the same parts, read from the file
``data/plan_parts.csv`` that ``python -m udfs.core.plan`` writes, so that the first Excel call of a session
needs neither numpy nor the catalog parser. The same expressions on the same doubles give the same bits
(tests/test_quick.py compares the two over every catalog model, precision and GPU).

Nothing here imports numpy: ``import udfs`` and a cell of a catalog combination stay cheap.
"""

from __future__ import annotations

import math

from .units import BITS_PER_BYTE

SPANS = ("full", "window", "chunk")  # memory.kv_elements_per_token / span_limits, in the core's order

# Which parts each plan's constants are made of, and the fields of each part (the order of data/plan_parts.csv).
PART_FIELDS = {
    "model": ("state_elements", "working_set", "vocab", "kv_full", "kv_window", "kv_chunk", "limit_full",
              "limit_window", "limit_chunk", "flops_full", "flops_window", "flops_chunk", "layers", "d_model",
              "matmul_flops", "moe", "expert_share", "routed_params"),
    "model_precision": ("weights", "table"),
    "precision": ("expert_bits",),
    "kv_precision": ("kv_bits",),
    "gpu": ("usable", "link"),  # usable: sizing.usable_bytes_per_gpu; link: half the interconnect, bytes/s
    "gpu_precision": ("peak_rate", "byte_rate", "step_overhead_s", "layer_s", "split", "latency", "ar_latency"),
    "global": ("state_bits", "chunk", "activation_bytes", "logit_bytes", "overhead", "msg_bytes"),
}
MEMORY_FIELDS = ("state_elements", "working_set", "vocab", "kv_full", "kv_window", "kv_chunk", "limit_full",
                 "limit_window", "limit_chunk")
GLOBAL_MEMORY = ("state_bits", "chunk", "activation_bytes", "logit_bytes", "overhead")


def memory_constants(m, mp, kv, g):
    """VRAM plan: parts of the model ``m``, of the model at its precision ``mp``, of the KV precision and
    the global ones, as one mapping (floats or arrays)."""
    out = {"weights": mp["weights"], "kv_bits": kv["kv_bits"]}
    for k in MEMORY_FIELDS:
        out[k] = m[k]
    for k in GLOBAL_MEMORY:
        out[k] = g[k]
    return out


def gpus_constants(m, mp, kv, g, gpu):
    out = memory_constants(m, mp, kv, g)
    out["usable"] = gpu["usable"]
    return out


def decode_constants(m, mp, p, kv, g, gpu, gp):
    out = memory_constants(m, mp, kv, g)
    for k in ("flops_full", "flops_window", "flops_chunk", "layers", "d_model", "matmul_flops", "moe",
              "expert_share"):
        out[k] = m[k]
    out.update({
        "peak_rate": gp["peak_rate"],
        "byte_rate": gp["byte_rate"],
        "overhead_s": gp["step_overhead_s"] + m["layers"] * gp["layer_s"],
        "split": gp["split"],
        "latency": gp["latency"],
        "ar_latency": gp["ar_latency"],
        "link": gpu["link"],
        "table": mp["table"],
        "routed_bytes": m["routed_params"] * p["expert_bits"] / 8,
        "msg_bytes": g["msg_bytes"],
    })
    return out


def scalar_constants(arrays: dict) -> dict:
    """One combination's constants as floats, with the spans whose amount is not 0 listed for _span_sum."""
    c = {k: float(v) for k, v in arrays.items()}
    for prefix in ("kv_", "flops_"):
        c["spans_" + prefix] = tuple((c[prefix + span], c["limit_" + span]) for span in SPANS
                                     if prefix + span in c and c[prefix + span] != 0)
    return c


# Kept constants of each plan, by the catalog keys of its combination (udfs.core.plan and udfs.core.quick
# fill them; the adapter's fast path reads them).
CACHE: dict = {"infer_vram_bytes": {}, "gpus_needed": {}, "decode_tokps": {}}


# ------------------------------------------------------------------------------ one cell's rows
# udfs.core.plan's row formulas with xp = SCALAR substituted by hand (min, max, math.ceil, the span sum and
# _untouched called directly): same expressions, same order, hence the same bits (tests/test_plan.py
# compares them with the column form over random catalog combinations).
def untouched(moe: float, share: float, batch: float) -> float:
    """Fraction of the routed experts' bytes no token of a batch reads (speed.decode_weight_bytes_touched)."""
    touched = 1 - (1 - share) ** batch if moe > 0 else 1.0
    return 1 - touched


def span_sum(spans, context):
    total = 0.0
    for amount, limit in spans:
        total = total + amount * (context if context < limit else limit)
    return total


def _model_bytes_1(c, context, batch):
    state = batch * c["state_elements"] * c["state_bits"] / BITS_PER_BYTE
    tokens = min(batch * max(context, 1.0), c["chunk"])
    activations = tokens * c["working_set"] * c["activation_bytes"] + batch * c["vocab"] * c["logit_bytes"]
    kv = batch * span_sum(c["spans_kv_"], context) * c["kv_bits"] / BITS_PER_BYTE
    return c["weights"] + kv + state + activations


def vram_1(c, context, batch):
    return _model_bytes_1(c, context, batch) + c["overhead"]


def gpus_1(c, context, batch):
    return max(float(math.ceil(_model_bytes_1(c, context, batch) / c["usable"])), 1.0)


def decode_1(c, context, batch, gpus):
    split = c["split"]
    t = split + (1 - split) * gpus
    stages = split * gpus + (1 - split)
    flops_per_token = c["matmul_flops"] + span_sum(c["spans_flops_"], context)
    compute = batch * flops_per_token / (t * c["peak_rate"])
    rows = min(batch / max(c["vocab"], 1), 1.0) * c["table"]
    weights_read = c["weights"] - c["routed_bytes"] * untouched(c["moe"], c["expert_share"], batch) - c["table"] \
        + rows
    state = batch * c["state_elements"] * c["state_bits"] / BITS_PER_BYTE
    kv = batch * span_sum(c["spans_kv_"], context) * c["kv_bits"] / BITS_PER_BYTE
    bytes_read = weights_read + kv + 2 * state
    memory_s = bytes_read / (t * c["byte_rate"])
    msg = batch * c["d_model"] * c["msg_bytes"]
    per = c["ar_latency"] + 2 * (t - 1) / max(t, 1) * msg / c["link"]
    comm = (t > 1) * (2 * c["layers"] * per) + (stages - 1) * c["latency"] * 4
    step = (max(memory_s, compute) + c["overhead_s"] + comm) / 1.0
    return batch / step


# plan name -> (catalog arguments, numeric arguments, one cell's row)
PLANS = {
    "infer_vram_bytes": (("model", "precision", "kv_precision"), ("context", "batch"), vram_1),
    "gpus_needed": (("model", "gpu", "precision", "kv_precision"), ("context", "batch"), gpus_1),
    "decode_tokps": (("model", "gpu", "precision", "kv_precision"), ("context", "batch", "gpus"), decode_1),
}
