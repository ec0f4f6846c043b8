"""The questions a planner asks, as plain functions of names and numbers (the façade over the core).

Arguments take the same values as the Excel functions: preset names or field/value mappings for ``model``
and ``gpu``, precision names or bits, and numbers or numpy arrays that broadcast. Results are in bytes,
FLOPs, seconds, tokens/s and currency; the Excel adapter converts bytes to GiB at the edge.
Every function checks its inputs and raises ScalesheetError naming the bad argument.
"""

from __future__ import annotations

import numpy as np

from . import economics, flops, memory, params, resolve, sizing, speed, training
from . import validate as V
from .catalog import assumption

DEFAULT_PRECISION = "bf16"
DEFAULT_KV_PRECISION = "fp16"
DEFAULT_CONTEXT = 4096  # tokens; documented in docs/methodology.md (a typical prompt + answer)


def _ctx(context):
    return V.require(DEFAULT_CONTEXT if context is None else context, "context", V.CONTEXT)


def _batch(batch):
    return V.require(1 if batch is None else batch, "batch", V.BATCH)


def _gpus(gpus):
    return V.require(1 if gpus is None else gpus, "gpus", V.GPUS)


def _p(precision):
    return resolve.precision(DEFAULT_PRECISION if precision is None else precision)


def _kv(kv_precision):
    return resolve.kv_precision(DEFAULT_KV_PRECISION if kv_precision is None else kv_precision)


def params_total(model):
    return params.total_params(resolve.model(model))


def params_active(model):
    return params.active_params(resolve.model(model))


def weights_bytes(model, precision=None):
    return memory.weight_bytes(resolve.model(model), _p(precision))


def kv_cache_bytes(model, context, batch=None, kv_precision=None):
    c = V.require(context, "context", V.CONTEXT)
    return memory.kv_cache_bytes(resolve.model(model), c, _batch(batch), _kv(kv_precision))


def state_bytes(model, batch=None, state_precision=None):
    bits = None if state_precision is None else resolve.kv_precision(state_precision, "state_precision").bits
    return memory.state_bytes(resolve.model(model), _batch(batch), bits)


def infer_breakdown(model, precision=None, context=None, batch=None, kv_precision=None):
    """Whole-deployment inference memory on one GPU's runtime: weights, KV, activations, overhead."""
    return memory.inference_breakdown(resolve.model(model), _p(precision), _ctx(context), _batch(batch),
                                      _kv(kv_precision))


def infer_vram_bytes(model, precision=None, context=None, batch=None, kv_precision=None):
    return infer_breakdown(model, precision, context, batch, kv_precision)["total_bytes"]


def train_breakdown(model, precision=None, seq_len=None, micro_batch=None, gpus=None, zero_stage=None,
                    checkpointing=None, tensor_parallel=None, pipeline_parallel=None):
    p = _p(precision)
    training.require_training_precision(p)
    s = V.require(2048 if seq_len is None else seq_len, "seq_len", V.POSITIVE_TOKENS)
    mb = V.require(1 if micro_batch is None else micro_batch, "micro_batch", V.BATCH)
    z = V.require(0 if zero_stage is None else zero_stage, "zero_stage", V.ZERO_STAGE)
    tp = V.require(1 if tensor_parallel is None else tensor_parallel, "tensor_parallel", V.PARALLEL)
    pp = V.require(1 if pipeline_parallel is None else pipeline_parallel, "pipeline_parallel", V.PARALLEL)
    code = np.vectorize(training.checkpointing_code, otypes=[int])(np.asarray(checkpointing, dtype=object))
    return training.training_memory_breakdown(resolve.model(model), p, s, mb, _gpus(gpus), z, code, tp, pp)


def flops_per_token(model, context=None):
    return flops.forward_flops_per_token(resolve.model(model), _ctx(context))


def train_flops(model, tokens, seq_len=None):
    t = V.require(tokens, "tokens", V.TOKENS_TOTAL)
    s = V.require(assumption("train_seq_len") if seq_len is None else seq_len, "seq_len", V.POSITIVE_TOKENS)
    return flops.training_flops(resolve.model(model), t, s)


def gpus_needed(model, gpu, precision=None, context=None, batch=None, kv_precision=None):
    return sizing.gpus_needed(resolve.model(model), resolve.gpu(gpu), _p(precision), _ctx(context),
                              _batch(batch), _kv(kv_precision))


def fits(model, gpu, precision=None, context=None, batch=None, gpus=None, kv_precision=None):
    return sizing.fits(resolve.model(model), resolve.gpu(gpu), _p(precision), _ctx(context), _batch(batch),
                       _kv(kv_precision), _gpus(gpus))


def max_context(model, gpu, precision=None, batch=None, gpus=None, kv_precision=None):
    return sizing.max_context(resolve.model(model), resolve.gpu(gpu), _p(precision), _batch(batch),
                              _kv(kv_precision), _gpus(gpus))


def max_params(gpu, precision=None, gpus=None):
    return sizing.max_dense_params(resolve.gpu(gpu), _p(precision), _gpus(gpus))


def ttft_s(model, gpu, prompt_tokens, precision=None, batch=None, gpus=None):
    prompt = V.require(prompt_tokens, "prompt_tokens", V.POSITIVE_TOKENS)
    return speed.ttft_s(resolve.model(model), resolve.gpu(gpu), _p(precision), prompt, _batch(batch), _gpus(gpus))


def decode_tokps(model, gpu, precision=None, context=None, batch=None, gpus=None, kv_precision=None):
    return speed.decode_tokens_per_s(resolve.model(model), resolve.gpu(gpu), _p(precision), _ctx(context),
                                     _batch(batch), _gpus(gpus), _kv(kv_precision))


def latency_s(model, gpu, prompt_tokens, output_tokens, precision=None, batch=None, gpus=None, kv_precision=None):
    prompt = V.require(prompt_tokens, "prompt_tokens", V.POSITIVE_TOKENS)
    out = V.require(output_tokens, "output_tokens", V.CONTEXT)
    return speed.latency_s(resolve.model(model), resolve.gpu(gpu), _p(precision), prompt, out, _batch(batch),
                           _gpus(gpus), _kv(kv_precision))


def chinchilla_tokens(params_count):
    return training.chinchilla_tokens(V.require(params_count, "params", V.PARAMS))


def _mfu(mfu):
    return V.require(assumption("train_mfu") if mfu is None else mfu, "mfu", V.FRACTION)


def train_gpu_hours(model, tokens, gpu, precision=None, mfu=None, seq_len=None):
    p = _p(precision)
    training.require_training_precision(p)
    total = train_flops(model, tokens, seq_len)
    return training.gpu_hours(total, training.peak_flops(resolve.gpu(gpu), p), _mfu(mfu))


def train_cost(model, tokens, gpu, price_per_gpu_hour, precision=None, mfu=None, seq_len=None):
    price = V.require(price_per_gpu_hour, "price_per_gpu_hour", V.MONEY)
    return train_gpu_hours(model, tokens, gpu, precision, mfu, seq_len) * price


def cost_per_mtok(model, gpu, price_per_gpu_hour, precision=None, context=None, batch=None, gpus=None,
                  kv_precision=None):
    price = V.require(price_per_gpu_hour, "price_per_gpu_hour", V.MONEY)
    tokps = decode_tokps(model, gpu, precision, context, batch, gpus, kv_precision)
    return economics.cost_per_million_tokens(price, _gpus(gpus), tokps)


def roi(gain, cost):
    return economics.roi(V.require(gain, "gain", V.MONEY_SIGNED), V.require(cost, "cost", V.MONEY_POSITIVE))


def payback_months(investment, monthly_net_gain):
    return economics.payback_months(V.require(investment, "investment", V.MONEY),
                                    V.require(monthly_net_gain, "monthly_net_gain", V.MONEY_SIGNED))


def breakeven_hours(purchase_price, cloud_price_per_hour, power_kw=None, energy_price_per_kwh=None,
                    lifetime_years=None):
    return economics.breakeven_hours(
        V.require(purchase_price, "purchase_price", V.MONEY),
        V.require(cloud_price_per_hour, "cloud_price_per_hour", V.MONEY_POSITIVE),
        V.require(0.0 if power_kw is None else power_kw, "power_kw", V.POWER_KW),
        V.require(0.0 if energy_price_per_kwh is None else energy_price_per_kwh, "energy_price_per_kwh",
                  V.ENERGY_PRICE),
        None if lifetime_years is None else V.require(lifetime_years, "lifetime_years", V.YEARS),
    )


def context_warnings(a, context) -> list[str]:
    """A warning where ``context`` is longer than the model's trained context (max_position_embeddings)."""
    trained = float(np.asarray(a.max_context).ravel()[0])
    if float(np.max(context)) > trained:
        name = str(np.asarray(a.name).ravel()[0])
        return [f"context {int(np.max(context)):,} tokens is longer than {name}'s trained context of "
                f"{int(trained):,} tokens: quality past it is not assured, and memory is computed as asked"]
    return []


def estimate(model, precision=None, kv_precision=None, context=None, batch=None, gpu=None, gpus=None) -> dict:
    """Everything ``scalesheet estimate`` prints, as plain Python numbers (bytes, FLOPs, s, tokens/s)."""
    a = resolve.model(model)
    p, kv = _p(precision), _kv(kv_precision)
    c, b, g = _ctx(context), _batch(batch), _gpus(gpus)
    parts = memory.inference_breakdown(a, p, c, b, kv)
    out = {
        "model": str(np.asarray(a.name).ravel()[0]),
        "precision": str(np.asarray(p.name).ravel()[0]),
        "kv_precision": str(np.asarray(kv.name).ravel()[0]),
        "context": int(c), "batch": int(b),
        "params": int(params.total_params(a)),
        "active_params": int(round(float(params.active_params(a)))),
        "weights_bytes": int(round(float(parts["weights_bytes"]))),
        "kv_cache_bytes": int(round(float(parts["kv_cache_bytes"]))),
        "state_bytes": int(round(float(parts["state_bytes"]))),
        "activations_bytes": int(round(float(parts["activations_bytes"]))),
        "overhead_bytes": int(round(float(parts["overhead_bytes"]))),
        "total_bytes": int(round(float(parts["total_bytes"]))),
        "flops_per_token": float(flops.forward_flops_per_token(a, c)),
        "active_params_excluding_embeddings": int(round(float(params.active_params_excluding_embeddings(a)))),
        "vision_params": int(np.asarray(a.vision_params).ravel()[0]),
        "warnings": context_warnings(a, c),
    }
    if gpu is not None:
        gg = resolve.gpu(gpu)
        out.update({
            "gpu": str(np.asarray(gg.name).ravel()[0]), "gpus": int(g),
            "gpus_needed": int(sizing.gpus_needed(a, gg, p, c, b, kv)),
            "fits": bool(sizing.fits(a, gg, p, c, b, kv, g)),
            "decode_tokens_per_s": float(speed.decode_tokens_per_s(a, gg, p, c, b, g, kv)),
            "ttft_s": float(speed.ttft_s(a, gg, p, max(int(c), 1), b, g)),
        })
    return out


