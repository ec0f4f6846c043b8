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
from .architecture import Architecture
from .catalog import assumption
from .errors import ScalesheetError

DEFAULT_PRECISION = V.DEFAULT_PRECISION  # "bf16"
DEFAULT_KV_PRECISION = V.DEFAULT_KV_PRECISION  # "fp16"
DEFAULT_CONTEXT = V.DEFAULT_CONTEXT  # 4096 tokens; documented in docs/methodology.md (a typical prompt + answer)


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


def train_total_bytes_one(model, precision=None, seq_len=None, micro_batch=None, gpus=None, zero_stage=None,
                          checkpointing=None, tensor_parallel=None, pipeline_parallel=None):
    """``train_breakdown(...)["total_bytes"]`` for one cell (one model and precision record, numbers as Python
    floats) in plain floats (training.total_bytes_one, the same bits); None for anything else or anything the
    general form would refuse, which then answers with its message."""
    try:
        numbers = [2048.0 if seq_len is None else seq_len, 1.0 if micro_batch is None else micro_batch,
                   1.0 if gpus is None else gpus, 0.0 if zero_stage is None else zero_stage,
                   1.0 if tensor_parallel is None else tensor_parallel,
                   1.0 if pipeline_parallel is None else pipeline_parallel]
        rules = (V.POSITIVE_TOKENS, V.BATCH, V.GPUS, V.ZERO_STAGE, V.PARALLEL, V.PARALLEL)
        for x, rule in zip(numbers, rules):
            if type(x) is not float or V.check(x, rule) is not None:
                return None
        if not isinstance(model, Architecture) or np.ndim(model.d_model) or checkpointing is not None and \
                type(checkpointing) is not str:
            return None
        p = _p(precision)
        if np.ndim(p.bits):
            return None
        training.require_training_precision(p)
        code = training.checkpointing_code(checkpointing)
        s, mb, g, z, tp, pp = numbers
        return training.total_bytes_one(model, p, s, mb, g, z, code, tp, pp)
    except (ScalesheetError, ValueError, TypeError, OverflowError):
        return None


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


def ttft_s(model, gpu, prompt_tokens, precision=None, batch=None, gpus=None, engine=None, band=None,
           calibration=None):
    prompt = V.require(prompt_tokens, "prompt_tokens", V.POSITIVE_TOKENS)
    g, p = resolve.gpu(gpu), _p(precision)
    return speed.ttft_s(resolve.model(model), g, p, prompt, _batch(batch), _gpus(gpus), _engine(engine, g),
                        _speed_factor(calibration, band, "time"))


def decode_tokps(model, gpu, precision=None, context=None, batch=None, gpus=None, kv_precision=None, engine=None,
                 band=None, calibration=None):
    g = resolve.gpu(gpu)
    return speed.decode_tokens_per_s(resolve.model(model), g, _p(precision), _ctx(context),
                                     _batch(batch), _gpus(gpus), _kv(kv_precision), _engine(engine, g),
                                     _speed_factor(calibration, band, "speed"))


def latency_s(model, gpu, prompt_tokens, output_tokens, precision=None, batch=None, gpus=None, kv_precision=None,
              engine=None, band=None, calibration=None):
    prompt = V.require(prompt_tokens, "prompt_tokens", V.POSITIVE_TOKENS)
    out = V.require(output_tokens, "output_tokens", V.CONTEXT)
    g = resolve.gpu(gpu)
    return speed.latency_s(resolve.model(model), g, _p(precision), prompt, out, _batch(batch),
                           _gpus(gpus), _kv(kv_precision), _engine(engine, g), _speed_factor(calibration, band, "time"))


def chinchilla_tokens(params_count):
    return training.chinchilla_tokens(V.require(params_count, "params", V.PARAMS))


def _mfu(mfu, gpu=None):
    """mfu as given; blank (None or NaN cells) = the GPU generation's typical MFU (training.default_mfu)."""
    if mfu is None and gpu is None:
        return V.require(assumption("train_mfu"), "mfu", V.FRACTION)
    if mfu is None:
        return training.default_mfu(gpu)
    arr = np.asarray(mfu, dtype=np.float64)
    if gpu is not None and np.any(np.isnan(arr)):
        arr = np.where(np.isnan(arr), training.default_mfu(gpu), arr)
    return V.require(arr, "mfu", V.FRACTION)


def train_gpu_hours(model, tokens, gpu, precision=None, mfu=None, seq_len=None):
    p = _p(precision)
    training.require_training_precision(p)
    total = train_flops(model, tokens, seq_len)
    g = resolve.gpu(gpu)
    return training.gpu_hours(total, training.peak_flops(g, p), _mfu(mfu, g))


def train_cost(model, tokens, gpu, price_per_gpu_hour, precision=None, mfu=None, seq_len=None):
    price = V.require(price_per_gpu_hour, "price_per_gpu_hour", V.MONEY)
    return train_gpu_hours(model, tokens, gpu, precision, mfu, seq_len) * price


def cost_per_mtok(model, gpu, price_per_gpu_hour, precision=None, context=None, batch=None, gpus=None,
                  kv_precision=None, engine=None, band=None, calibration=None):
    price = V.require(price_per_gpu_hour, "price_per_gpu_hour", V.MONEY)
    tokps = decode_tokps(model, gpu, precision, context, batch, gpus, kv_precision, engine, band, calibration)
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


def batch_cost_per_mtok_io(model, gpu, price_per_gpu_hour, input_tokens, output_tokens, part=None, precision=None,
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
    one = _fleet_pv_floats(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps,
                           gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month,
                           energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, base_replicas,
                           residual_share, life_years)
    if one is not None:
        return one
    args = _plan_args(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps,
                      gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month,
                      energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, residual_share, life_years)
    _check_replicas(args)
    cap = None if base_replicas is None else V.require(base_replicas, "base_replicas", REPLICAS)
    if cap is not None and np.any(cap >= 1e9):
        cap = None
    hours = assumption("hours_per_month")
    shape = np.broadcast_shapes(*(np.shape(a) for a in args), np.shape(cap) if cap is not None else ())
    cells = _each_cell(args if cap is None else [*args, cap], shape)
    out = np.empty(len(cells))
    for k, a in enumerate(cells):
        b = None if cap is None else a[14]
        pv = economics.fleet_pv_one(*a[:12], b, a[12], a[13], hours)  # plain floats: the same bits, faster
        out[k] = economics.fleet_plan(*a[:12], b, a[12], a[13], hours)["pv"] if pv is None else pv
    return out.reshape(shape)


_PLAN_RULES = None


def _fleet_pv_floats(*values):
    """fleet_pv of one plan given as Python floats (a spreadsheet cell's arguments) with the checks in plain
    Python: the same tests as _plan_args, _check_replicas and the base_replicas check, then
    economics.fleet_pv_one. None when an argument is anything else, breaks its rule, or the plan is
    refused: the general path answers (and words the message)."""
    global _PLAN_RULES
    if _PLAN_RULES is None:
        _PLAN_RULES = (TOKENS_PER_DAY, GROWTH, PEAK, HORIZON, TOKPS, V.GPUS, REPLICAS, V.MONEY, V.MONEY, V.MONEY,
                       COST_PER_MTOK, RATE, REPLICAS, SHARE, V.YEARS)
    *plan, base, residual, life = values
    if residual is None:
        residual = 0.0
    if life is None:
        life = economics.finance_default("useful_life_years")
    vals = [*plan, base, residual, life]
    for i, (v, rule) in enumerate(zip(vals, _PLAN_RULES)):
        if v is None and i == 12:  # a blank base: enough for the peak
            continue
        if type(v) is not float or V.check(v, rule) is not None:
            return None
    tpd, g, p, h, cap = plan[:5]
    top = p * tpd * float(np.power(1.0 + (g if g > 0.0 else 0.0), h - 1.0)) / 86400.0 / cap
    if top > 1e5:  # _check_replicas refuses it (as the same 0-d numpy operations would)
        return None
    if base is not None and base >= 1e9:
        base = None
    pv = economics.fleet_pv_one(*plan, base, residual, float(life) * 12.0, assumption("hours_per_month"))
    return None if pv is None else np.array(pv)


def _each_cell(arrays, shape) -> list[list[float]]:
    """The arguments' values cell by cell over the broadcast ``shape``, as floats (one list per cell)."""
    if shape == ():  # every argument one value: no broadcasting
        return [[float(x) for x in arrays]]
    flat = [np.broadcast_to(a, shape).ravel() for a in arrays]
    return [[float(x[k]) for x in flat] for k in range(flat[0].size)]


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
    cells = _each_cell(args, shape)
    out = np.empty(len(cells))
    for k, a in enumerate(cells):
        b, pv = economics.cheapest_mix(*a[:12], a[12], a[13], hours)
        out[k] = pv if result == "pv" else b
    return out.reshape(shape)


# ------------------------------------------------------------------ engines, bands, calibration (issue 13)
BANDS = ("low", "base", "high")
CALIBRATION = V.CALIBRATION  # factor (measured / predicted speed), 0.01-100


def engine_choice(value):
    """Canonical engine name of one cell (blank = auto)."""
    return speed.engine_name(value)


def band_choice(value):
    """low / base / high (blank = base)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "base"
    key = str(value).strip().lower()
    if isinstance(value, (bool, np.bool_)) or key not in BANDS:
        raise ScalesheetError("band", f"{value!r} is not a band; use low, base or high")
    return key


def _engine(engine, gpu=None):
    if engine is None:
        return None
    arr = np.asarray(engine, dtype=object)
    if arr.ndim == 0:  # one cell (as np.vectorize would give it: a 0-d object array)
        names = np.array(engine_choice(arr.item()), dtype=object)
    else:
        names = np.vectorize(engine_choice, otypes=[object])(arr) if arr.size else arr
    if gpu is not None:
        speed.check_engine_for_gpu(names, gpu)
    return names


def band_ratio(band_name: str) -> float:
    """Measured / predicted speed at the band's percentile of the held-out validation (assumptions.csv)."""
    return {"low": assumption("speed_band_low"), "base": 1.0, "high": assumption("speed_band_high")}[band_name]


def _speed_factor(calibration, band, kind: str):
    """Calibration x band as a divisor of every time. ``kind`` is the quantity the caller returns: for a
    speed the low band is the slow end; for a time (TTFT, latency) the low band is the short end."""
    c = 1.0 if calibration is None else V.require(calibration, "calibration", CALIBRATION)
    if band is None:
        return None if calibration is None else c
    names = np.asarray(band, dtype=object)
    if names.ndim == 0:  # one cell: the same choice and swap on Python values
        name = band_choice(names.item())
        if kind == "time":
            name = {"low": "high", "high": "low"}.get(name, name)
        return c * np.array(band_ratio(name), dtype=np.float64)
    names = np.vectorize(band_choice, otypes=[object])(names)
    if kind == "time":
        names = np.where(names == "low", "high", np.where(names == "high", "low", names))
    r = np.vectorize(band_ratio, otypes=[np.float64])(names)
    return c * r


# --------------------------------------------------------------------------- serving at concurrency
REQUESTS_PER_S = V.REQUESTS_PER_S  # requests per second, 0-1e9
SECONDS = V.SECONDS  # seconds, > 0 and <= 1e6
TOKPS = V.TOKPS  # tokens/s, > 0 and <= 1e9
PERCENTILE = V.PERCENTILE  # fraction 0.5-0.999
RESERVED_GIB = V.RESERVED_GIB  # GiB, 0-1e6
DIRECTIONS = ("input", "output")


def direction_choice(value):
    if value is None or (isinstance(value, str) and not value.strip()):
        return "output"
    key = str(value).strip().lower()
    if isinstance(value, (bool, np.bool_)) or key not in DIRECTIONS:
        raise ScalesheetError("direction", f"{value!r} is not allowed; use input or output")
    return key


def _serving_args(model, gpu, precision, kv_precision, engine):
    from . import serving  # noqa: F401  (imported here: api loads no serving code until asked)
    g = resolve.gpu(gpu)
    return resolve.model(model), g, _p(precision), _kv(kv_precision), _engine(engine, g)


def kv_capacity_tokens(model, gpu, precision=None, gpus=None, kv_precision=None, engine=None, reserved_gib=None):
    from . import serving
    a, g, p, kv, e = _serving_args(model, gpu, precision, kv_precision, engine)
    r = None if _blank(reserved_gib) is None else V.require(reserved_gib, "reserved_gib", RESERVED_GIB)
    return serving.kv_capacity_tokens(a, g, p, kv, _gpus(gpus), e, r)


def max_concurrency(model, gpu, context, precision=None, gpus=None, kv_precision=None, engine=None,
                    reserved_gib=None):
    from . import serving
    a, g, p, kv, e = _serving_args(model, gpu, precision, kv_precision, engine)
    c = V.require(context, "context", V.POSITIVE_TOKENS)
    r = None if _blank(reserved_gib) is None else V.require(reserved_gib, "reserved_gib", RESERVED_GIB)
    return serving.max_concurrency(a, g, p, kv, c, _gpus(gpus), e, r)


def _blank(x):
    """None for a missing optional number (None, or NaN cells from Excel blanks)."""
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.float64)
    return None if np.all(np.isnan(arr)) else arr


def _default_concurrency(concurrency, a, g, p, kv, prompt, out, gpus, e):
    from . import serving
    given = _blank(concurrency)
    n = serving.max_concurrency(a, g, p, kv, np.asarray(prompt) + np.asarray(out), gpus, e)
    n = np.maximum(n, 1)  # at least one sequence: whether it fits is LLM_FITS's question, as for decode speed
    if given is not None:
        filled = np.where(np.isnan(given), n, given)
        return V.require(filled, "concurrency", V.BATCH)
    return n


def serve_tokps(model, gpu, concurrency, prompt_tokens, output_tokens, per_user=None, precision=None, gpus=None,
                kv_precision=None, engine=None, band=None, calibration=None):
    from . import serving
    a, g, p, kv, e = _serving_args(model, gpu, precision, kv_precision, engine)
    n = V.require(concurrency, "concurrency", V.BATCH)
    prompt = V.require(prompt_tokens, "prompt_tokens", V.POSITIVE_TOKENS)
    out = V.require(output_tokens, "output_tokens", V.CONTEXT)
    pu = bool(np.all(np.asarray(per_user if per_user is not None else False, dtype=bool)))
    return serving.serve_tokps(a, g, p, kv, n, prompt, out, _gpus(gpus), e, _speed_factor(calibration, band, "speed"),
                               per_user=pu)


def ttft_at_rate_s(model, gpu, requests_per_s, prompt_tokens, output_tokens, concurrency=None, replicas=None,
                   percentile=None, precision=None, gpus=None, kv_precision=None, engine=None, band=None,
                   calibration=None):
    from . import serving
    a, g, p, kv, e = _serving_args(model, gpu, precision, kv_precision, engine)
    lam = V.require(requests_per_s, "requests_per_s", REQUESTS_PER_S)
    prompt = V.require(prompt_tokens, "prompt_tokens", V.POSITIVE_TOKENS)
    out = V.require(output_tokens, "output_tokens", V.CONTEXT)
    gg = _gpus(gpus)
    n = _default_concurrency(concurrency, a, g, p, kv, prompt, out, gg, e)
    reps = V.require(1 if replicas is None else replicas, "replicas", V.GPUS)
    pct = None if _blank(percentile) is None else V.require(percentile, "percentile", PERCENTILE)
    return serving.ttft_at_rate_s(a, g, p, kv, lam, prompt, out, n, gg, reps, e,
                                  _speed_factor(calibration, band, "time"), pct)


def slo_plan(model, gpu, requests_per_s, prompt_tokens, output_tokens, ttft_s, tokens_per_s_per_user,
             precision=None, kv_precision=None, engine=None, band=None, calibration=None, percentile=None) -> dict:
    from . import serving
    a, g, p, kv, e = _serving_args(model, gpu, precision, kv_precision, engine)
    lam = V.require(requests_per_s, "requests_per_s", REQUESTS_PER_S)
    prompt = V.require(prompt_tokens, "prompt_tokens", V.POSITIVE_TOKENS)
    out = V.require(output_tokens, "output_tokens", V.CONTEXT)
    t = V.require(ttft_s, "ttft_s", SECONDS)
    u = V.require(tokens_per_s_per_user, "tokens_per_s_per_user", TOKPS)
    pct = 0.95 if percentile is None else V.require(percentile, "percentile", PERCENTILE)
    return serving.slo_plan(a, g, p, kv, lam, prompt, out, t, u, e, _speed_factor(calibration, band, "time"), pct)


def _finite(x, argument="ttft_s"):
    x = np.asarray(x, dtype=np.float64)
    if np.any(~np.isfinite(x)):
        raise ScalesheetError(argument, "no replica of 1-8 GPUs meets these targets (TTFT below the bare "
                                        "prefill time, per-user speed above batch-1 speed, or the model does not "
                                        "fit); relax the targets or choose a faster GPU")
    return x


def gpus_for_slo(*args, **kw):
    return _finite(slo_plan(*args, **kw)["gpus"])


def replicas_for_slo(*args, **kw):
    return _finite(slo_plan(*args, **kw)["replicas"])


def cost_per_mtok_io(model, gpu, price_per_gpu_hour, prompt_tokens, output_tokens, direction=None, concurrency=None,
                     precision=None, gpus=None, kv_precision=None, engine=None, band=None, calibration=None):
    from . import serving
    a, g, p, kv, e = _serving_args(model, gpu, precision, kv_precision, engine)
    price = V.require(price_per_gpu_hour, "price_per_gpu_hour", V.MONEY)
    prompt = V.require(prompt_tokens, "prompt_tokens", V.POSITIVE_TOKENS)
    out = V.require(output_tokens, "output_tokens", V.CONTEXT)
    d = np.vectorize(direction_choice, otypes=[object])(np.asarray(direction, dtype=object))
    gg = _gpus(gpus)
    n = _default_concurrency(concurrency, a, g, p, kv, prompt, out, gg, e)
    return serving.cost_per_mtok_io(a, g, p, kv, price, prompt, out, n, gg, e,
                                    _speed_factor(calibration, band, "time"), d)


def users_for_budget(model, gpu, budget_per_month, rent_per_gpu_hour, requests_per_user_per_hour, prompt_tokens,
                     output_tokens, ttft_s, tokens_per_s_per_user, precision=None, kv_precision=None, engine=None,
                     band=None, calibration=None):
    """Most users a monthly budget serves at the SLO: the GPUs it buys, as whole replicas of the best size,
    times each replica's request capacity (at the utilisation the TTFT target allows) / requests per user."""
    from . import serving
    budget = V.require(budget_per_month, "budget_per_month", V.MONEY)
    price = V.require(rent_per_gpu_hour, "rent_per_gpu_hour", V.MONEY_POSITIVE)
    per_user = V.require(requests_per_user_per_hour, "requests_per_user_per_hour", V.MONEY_POSITIVE) / HOUR
    plan = slo_plan(model, gpu, 1.0, prompt_tokens, output_tokens, ttft_s, tokens_per_s_per_user, precision,
                    kv_precision, engine, band, calibration)
    t = _finite(plan["gpus_per_replica"])
    a, g, p, kv, e = _serving_args(model, gpu, precision, kv_precision, engine)
    s = serving.speed.ttft_s(a, g, p, prompt_tokens, 1, t, e, _speed_factor(calibration, band, "time"))
    rho = serving._rho_for_wait(s, np.asarray(ttft_s, dtype=np.float64) - s, 0.95)
    gpus_affordable = np.floor(budget / (price * assumption("hours_per_month")))
    replicas = np.floor(gpus_affordable / t)
    return np.floor(replicas * rho * plan["capacity"] / per_user)


HOUR = 3600.0


def calibrate_decode(model, gpu, measured_tokps, precision=None, context=None, batch=None, gpus=None,
                     kv_precision=None, engine=None):
    """Measured / predicted decode speed: the factor to pass as ``calibration`` to the speed functions."""
    m = V.require(measured_tokps, "measured_tokps", TOKPS)
    return m / decode_tokps(model, gpu, precision, context, batch, gpus, kv_precision, engine)


_KV_LINE = __import__("re").compile(r"GPU KV cache size:\s*([\d,]+)\s*tokens", __import__("re").I)
_CONC_LINE = __import__("re").compile(r"Maximum concurrency for\s*([\d,]+)\s*tokens per request:\s*([\d.]+)",
                                      __import__("re").I)


def kv_tokens_choice(value):
    """A number of KV-cache tokens, or a vLLM startup line that states it."""
    hint = ("give the KV-cache size in tokens or paste vLLM's line 'GPU KV cache size: N tokens' or 'Maximum "
            "concurrency for X tokens per request: Yx'")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ScalesheetError("vllm_line", "is blank; " + hint)
    if isinstance(value, (bool, np.bool_)):
        raise ScalesheetError("vllm_line", "TRUE/FALSE is not allowed; " + hint)
    if isinstance(value, str):
        m = _KV_LINE.search(value)
        if m:
            return _kv_tokens_number(float(m.group(1).replace(",", "")))
        m = _CONC_LINE.search(value)
        if m:
            return _kv_tokens_number(float(m.group(1).replace(",", "")) * float(m.group(2)))
        try:
            value = float(value.replace(",", ""))
        except ValueError:
            raise ScalesheetError("vllm_line", "found no KV-cache size in the text; " + hint)
    return _kv_tokens_number(value)


def _kv_tokens_number(x) -> float:
    x = float(x)
    if not np.isfinite(x):
        raise ScalesheetError("vllm_line", f"{x} is not a finite number of tokens")
    if x < 1:
        raise ScalesheetError("vllm_line", f"{x:g} is too small; KV-cache tokens must be >= 1")
    if x > 1e10:
        raise ScalesheetError("vllm_line", f"{x:g} is too large; at most 1e10 tokens")
    return x


def calibrate_kv(model, gpu, vllm_line, precision=None, gpus=None, kv_precision=None):
    """GiB per GPU the engine reserved (outside weights and KV), implied by its KV capacity: pass it as
    ``reserved_gib`` to LLM_MAX_CONCURRENCY / LLM_KV_CAPACITY_TOKENS."""
    from . import serving
    a, g, p, kv, _ = _serving_args(model, gpu, precision, kv_precision, None)
    tokens = np.vectorize(kv_tokens_choice, otypes=[np.float64])(np.asarray(vllm_line, dtype=object))
    return serving.calibrate_kv(a, g, p, kv, tokens, _gpus(gpus))


def infer_vram_engine_bytes(model, precision=None, context=None, batch=None, kv_precision=None, engine=None, gpus=None):
    """Inference memory with the engine's own reserve: + CUDA-graph pool per GPU, and the total divided by
    the fraction of each GPU the engine lets itself use (gpu_memory_utilization)."""
    base = infer_vram_bytes(model, precision, context, batch, kv_precision)
    raw = np.asarray(engine, dtype=object)
    none = np.vectorize(lambda v: v is None, otypes=[bool])(raw) if raw.size else np.ones(raw.shape, bool)
    if engine is None or np.all(none):
        return base
    from . import speed as S
    names = _engine(np.where(none, "auto", raw))
    dummy = resolve.gpu("h100-sxm")  # engine fields do not depend on the GPU; auto = vLLM here (GGUF: llama.cpp)
    e = S.engine_params(names, dummy, _p(precision))
    g = _gpus(gpus)
    with_engine = (base + g * e["cuda_graph_gib"] * GIB_BYTES) / e["gpu_memory_utilization"]
    return np.where(none, base, with_engine)


GIB_BYTES = float(2 ** 30)


def _engine_cells(engine):
    """(canonical names with blank cells as auto, mask of blank cells) or (None, None) when all blank."""
    if engine is None:
        return None, None
    raw = np.asarray(engine, dtype=object)
    none = np.vectorize(lambda v: v is None, otypes=[bool])(raw) if raw.size else np.ones(raw.shape, bool)
    if np.all(none):
        return None, None
    return _engine(np.where(none, "auto", raw)), none


def _engine_usable_bytes(g, p, names):
    """Per-GPU bytes an engine leaves for the model: memory x gpu_memory_utilization - runtime overhead - CUDA
    graphs (speed.engine_params; auto = by GPU and format)."""
    from . import speed as S
    e = S.engine_params(names, g, p)
    return g.memory_gib * GIB_BYTES * e["gpu_memory_utilization"] - (
        assumption("runtime_overhead_gib") + e["cuda_graph_gib"]) * GIB_BYTES


def gpus_needed_engine(model, gpu, precision=None, context=None, batch=None, kv_precision=None, engine=None):
    base = gpus_needed(model, gpu, precision, context, batch, kv_precision)
    names, none = _engine_cells(engine)
    if names is None:
        return base
    a, g, p = resolve.model(model), resolve.gpu(gpu), _p(precision)
    usable = _engine_usable_bytes(g, p, names)
    if np.any(usable <= 0):
        raise ScalesheetError("gpu", "has no memory left after the engine's reserve")
    need = memory.model_bytes(a, p, _ctx(context), _batch(batch), _kv(kv_precision))
    return np.where(none, base, np.maximum(np.ceil(need / usable), 1.0))


def fits_engine(model, gpu, precision=None, context=None, batch=None, gpus=None, kv_precision=None, engine=None):
    base = fits(model, gpu, precision, context, batch, gpus, kv_precision)
    names, none = _engine_cells(engine)
    if names is None:
        return base
    a, g, p = resolve.model(model), resolve.gpu(gpu), _p(precision)
    need = memory.model_bytes(a, p, _ctx(context), _batch(batch), _kv(kv_precision))
    return np.where(none, base, need <= _gpus(gpus) * _engine_usable_bytes(g, p, names))
