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
from .errors import ScalesheetError

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




# ------------------------------------------------------------------------------ buy, rent or API
SHARE = V.Rule("fraction 0-1", minimum=0, maximum=1)
PUE = V.Rule("x, facility power / IT power", minimum=1, maximum=10)
TOKENS_PER_DAY = V.Rule("tokens per day", minimum=0, maximum=1e15)
GROWTH = V.Rule("fraction per month, e.g. 0.08", minimum=-0.99, maximum=10)
PEAK = V.Rule("x average", minimum=1, maximum=1000)
HORIZON = V.Rule("months", minimum=1, maximum=600, integer=True)
TOKPS = V.Rule("tokens/s", minimum=0, min_inclusive=False, maximum=1e12)
REPLICAS = V.Rule("replicas", minimum=0, maximum=1e7, integer=True)
RATE = V.Rule("fraction per year, e.g. 0.1", minimum=-0.99, maximum=10)
COST_PER_MTOK = V.Rule("currency per 1M tokens", minimum=0, maximum=1e9)
MTOK_PARTS = ("blended", "input", "output")


def _fin(value, name, rule, default_name=None, default=None):
    if value is None:
        value = economics.finance_default(default_name) if default_name else default
    return V.require(value, name, rule)


def owned_monthly_cost(purchase_price, power_kw, utilisation=None, pue=None, energy_price_per_kwh=None,
                       colo_per_kw_month=None, maintenance_share=None, server_share=None, life_years=None,
                       staff_per_gpu_month=None) -> dict:
    """Monthly cost parts of one owned GPU with its server share (see economics.owned_monthly_cost)."""
    return economics.owned_monthly_cost(
        V.require(purchase_price, "purchase_price", V.MONEY), V.require(power_kw, "power_kw", V.POWER_KW),
        _fin(utilisation, "utilisation", SHARE, default=1.0), _fin(server_share, "server_share", V.Rule(
            "fraction of the GPU price", minimum=0, maximum=100), "server_share_of_gpu_price"),
        _fin(life_years, "life_years", V.YEARS, "useful_life_years"), _fin(pue, "pue", PUE, "pue"),
        _fin(energy_price_per_kwh, "energy_price_per_kwh", V.ENERGY_PRICE, "energy_usd_per_kwh"),
        _fin(colo_per_kw_month, "colo_per_kw_month", V.MONEY, "colo_usd_per_kw_month"),
        _fin(maintenance_share, "maintenance_share", SHARE, "maintenance_share_per_year"),
        _fin(staff_per_gpu_month, "staff_per_gpu_month", V.MONEY, default=0.0), assumption("hours_per_month"))


def breakeven_utilisation(purchase_price, power_kw, rent_price_per_hour, pue=None, energy_price_per_kwh=None,
                          colo_per_kw_month=None, maintenance_share=None, server_share=None, life_years=None,
                          staff_per_gpu_month=None):
    parts = owned_monthly_cost(purchase_price, power_kw, 1.0, pue, energy_price_per_kwh, colo_per_kw_month,
                               maintenance_share, server_share, life_years, staff_per_gpu_month)
    fixed = parts["total"] - parts["energy"]
    return economics.breakeven_utilisation(fixed, parts["energy"],
                                           V.require(rent_price_per_hour, "rent_price_per_hour", V.MONEY_POSITIVE),
                                           assumption("hours_per_month"))


def cost_per_mtok_io(model, gpu, price_per_gpu_hour, input_tokens, output_tokens, part=None, precision=None,
                     batch=None, gpus=None, kv_precision=None):
    """Serving cost per 1M tokens (blended, input or output) from the engine's TTFT and latency."""
    price = V.require(price_per_gpu_hour, "price_per_gpu_hour", V.MONEY)
    i = V.require(input_tokens, "input_tokens", V.POSITIVE_TOKENS)
    o = V.require(output_tokens, "output_tokens", V.CONTEXT)
    t1 = ttft_s(model, gpu, i, precision, batch, gpus)
    t = latency_s(model, gpu, i, o, precision, batch, gpus, kv_precision)
    which = "blended" if part is None else part
    return economics.serving_cost_per_mtok_io(price, _gpus(gpus), _batch(batch), i, o, t1, t, which)


def _plan_args(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
               reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
               discount_rate, residual_share, life_years):
    return [V.require(tokens_per_day, "tokens_per_day", TOKENS_PER_DAY),
            V.require(growth_per_month, "growth_per_month", GROWTH),
            V.require(peak_to_average, "peak_to_average", PEAK),
            V.require(horizon_months, "horizon_months", HORIZON),
            V.require(replica_tokps, "replica_tokps", TOKPS),
            V.require(gpus_per_replica, "gpus_per_replica", V.GPUS),
            V.require(reserve_replicas, "reserve_replicas", REPLICAS),
            V.require(capex_per_gpu, "capex_per_gpu", V.MONEY),
            V.require(fixed_per_gpu_month, "fixed_per_gpu_month", V.MONEY),
            V.require(energy_full_per_gpu_month, "energy_full_per_gpu_month", V.MONEY),
            V.require(burst_cost_per_mtok, "burst_cost_per_mtok", COST_PER_MTOK),
            _fin(discount_rate, "discount_rate", RATE),
            _fin(residual_share, "residual_share", SHARE, default=0.0),
            _fin(life_years, "life_years", V.YEARS, "useful_life_years") * 12.0]


def _check_replicas(args):
    """Refuse plans whose fleet would need more than 10^5 replicas (a unit slip, not a plan)."""
    tpd, g, p, h, cap = (np.asarray(a, dtype=np.float64) for a in args[:5])
    top = p * tpd * np.power(1.0 + np.maximum(g, 0.0), h - 1.0) / 86400.0 / cap
    if np.any(top > 1e5):
        raise ScalesheetError("replica_tokps", "the demand needs more than 10^5 replicas at its peak; check the "
                                               "units (tokens per day, tokens/s per replica)")


def fleet_pv(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
             reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
             discount_rate, base_replicas=None, residual_share=None, life_years=None):
    """Present value of a plan's monthly costs (base fleet capped at base_replicas, blank = the peak need)."""
    args = _plan_args(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps,
                      gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month,
                      energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, residual_share, life_years)
    _check_replicas(args)
    cap = None if base_replicas is None else V.require(base_replicas, "base_replicas", REPLICAS)
    if cap is not None and np.any(cap >= 1e9):
        cap = None
    hours = assumption("hours_per_month")
    shape = np.broadcast_shapes(*(np.shape(a) for a in args), np.shape(cap) if cap is not None else ())
    flat = [np.broadcast_to(a, shape).ravel() for a in args]
    capf = None if cap is None else np.broadcast_to(cap, shape).ravel()
    out = np.empty(len(flat[0]))
    for k in range(out.size):
        a = [float(x[k]) for x in flat]
        b = None if capf is None else float(capf[k])
        out[k] = economics.fleet_plan(*a[:12], b, a[12], a[13], hours)["pv"]
    return out.reshape(shape)


def cheapest_mix(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
                 reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
                 discount_rate, residual_share=None, life_years=None, result=None):
    """The cheapest base size (replicas) or its present cost (result='pv')."""
    args = _plan_args(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps,
                      gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month,
                      energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, residual_share, life_years)
    _check_replicas(args)
    hours = assumption("hours_per_month")
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    flat = [np.broadcast_to(a, shape).ravel() for a in args]
    out = np.empty(len(flat[0]))
    for k in range(out.size):
        a = [float(x[k]) for x in flat]
        b, pv = economics.cheapest_mix(*a[:12], a[12], a[13], hours)
        out[k] = pv if result == "pv" else b
    return out.reshape(shape)
