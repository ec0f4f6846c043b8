"""Latency and throughput by the roofline model (Williams et al. 2009; applied to LLM inference by
Pope et al. 2022 and Kim et al. 2023, "Full Stack Optimization of Transformer Inference").

A step takes the longer of its compute time and its memory time:
    compute_s = FLOPs / (gpus * peak FLOP/s * compute efficiency * scaling)
    memory_s  = bytes read / (gpus * peak bandwidth * bandwidth efficiency * scaling)
    scaling   = multi_gpu_scaling_efficiency ^ log2(gpus)          (assumptions.csv)
Prefill (time to first token) reads the weights once and is usually compute-bound.
A decode step reads the weights touched by the batch plus every sequence's KV cache and computes one token
per sequence: batch-1 decode is bandwidth-bound. For mixture-of-experts, a batch of b tokens touches on
average E * (1 - (1 - k/E)^b) distinct routed experts (uniform routing), so batch-1 reads only k of E.
"""

from __future__ import annotations

import numpy as np

from . import flops as F
from . import memory as M
from . import params as P
from .architecture import Architecture
from .catalog import GPU, Precision, assumption
from .training import peak_flops
from .units import GB


def scaling_efficiency(gpus) -> np.ndarray:
    """Throughput kept when a model is split over ``gpus`` GPUs (1.0 for one GPU)."""
    g = np.asarray(gpus, dtype=np.float64)
    return assumption("multi_gpu_scaling_efficiency") ** np.log2(g)


def _rates(gpu: GPU, p: Precision, gpus, compute_eff):
    g = np.asarray(gpus, dtype=np.float64)
    scale = g * scaling_efficiency(g)
    flop_s = peak_flops(gpu, p) * compute_eff * scale
    byte_s = gpu.bandwidth_gb_s * GB * assumption("decode_bandwidth_efficiency") * scale
    return flop_s, byte_s


def ttft_s(a: Architecture, gpu: GPU, p: Precision, prompt_tokens, batch=1, gpus=1) -> np.ndarray:
    """Time to first token: prefill of ``batch`` prompts, the longer of compute and weight-read time."""
    flop_s, byte_s = _rates(gpu, p, gpus, assumption("prefill_mfu"))
    compute = F.prefill_flops(a, prompt_tokens, batch) / flop_s
    memory = M.weight_bytes(a, p) / byte_s
    return np.maximum(compute, memory)


def decode_weight_bytes_touched(a: Architecture, p: Precision, batch) -> np.ndarray:
    """Weight bytes one decode step reads: all but the routed experts no token of the batch uses."""
    b = np.asarray(batch, dtype=np.float64)
    routed_bytes = P.param_breakdown(a)["mlp/routed_experts"] * p.bits / 8
    E = np.maximum(a.n_experts, 1)
    touched = np.where(a.n_experts > 0, 1 - (1 - a.experts_per_token / E) ** b, 1.0)
    return M.weight_bytes(a, p) - routed_bytes * (1 - touched)


def decode_step_s(a: Architecture, gpu: GPU, p: Precision, context, batch=1, gpus=1,
                  kv: Precision | None = None) -> np.ndarray:
    """Seconds for one decode step producing one token for each of ``batch`` sequences at ``context``."""
    kv = p if kv is None else kv
    flop_s, byte_s = _rates(gpu, p, gpus, assumption("decode_compute_efficiency"))
    b = np.asarray(batch, dtype=np.float64)
    compute = b * F.forward_flops_per_token(a, context) / flop_s
    bytes_read = decode_weight_bytes_touched(a, p, b) + M.kv_cache_bytes(a, context, b, kv)
    return np.maximum(compute, bytes_read / byte_s)


def decode_tokens_per_s(a, gpu, p, context, batch=1, gpus=1, kv=None) -> np.ndarray:
    """Generated tokens per second for the whole batch."""
    return np.asarray(batch, dtype=np.float64) / decode_step_s(a, gpu, p, context, batch, gpus, kv)


def latency_s(a, gpu, p, prompt_tokens, output_tokens, batch=1, gpus=1, kv=None) -> np.ndarray:
    """TTFT + output_tokens x step time at the mean context (prompt + output/2); step time grows
    linearly with context, so the mean step equals the step at the midpoint."""
    out = np.asarray(output_tokens, dtype=np.float64)
    mid_context = np.asarray(prompt_tokens, dtype=np.float64) + out / 2
    return ttft_s(a, gpu, p, prompt_tokens, batch, gpus) + out * decode_step_s(a, gpu, p, mid_context, batch, gpus, kv)
