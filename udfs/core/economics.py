"""Money: cost per token, training cost, ROI, payback and the cloud-versus-owned break-even.

    cost per 1M tokens   = price per GPU-hour * gpus / (tokens per second * 3600) * 10^6
    ROI                  = (gain - cost) / cost                 (return on the cost, not on revenue)
    payback months       = investment / monthly net gain        (net gain = revenue - running costs)
    break-even GPU-hours = purchase price / (cloud price per hour - power_kw * energy price per kWh)
        Owning costs the purchase up front plus electricity per hour of use; renting costs the cloud price
        per hour. Beyond the break-even, owning is cheaper. If the hardware wears out first (lifetime_years
        of round-the-clock use), or electricity costs at least the cloud price, owning never breaks even.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .errors import ScalesheetError
from .units import HOUR_S, HOURS_PER_YEAR, MILLION


def cost_per_million_tokens(price_per_gpu_hour, gpus, tokens_per_s) -> np.ndarray:
    gpu_hours_per_token = np.asarray(gpus, dtype=np.float64) / (np.asarray(tokens_per_s) * HOUR_S)
    return np.asarray(price_per_gpu_hour, dtype=np.float64) * gpu_hours_per_token * MILLION


def roi(gain, cost) -> np.ndarray:
    cost = np.asarray(cost, dtype=np.float64)
    if np.any(cost <= 0):
        raise ScalesheetError("cost", "must be > 0 (currency): ROI divides by it")
    return (np.asarray(gain, dtype=np.float64) - cost) / cost


def payback_months(investment, monthly_net_gain) -> np.ndarray:
    gain = np.asarray(monthly_net_gain, dtype=np.float64)
    if np.any(gain <= 0):
        raise ScalesheetError("monthly_net_gain", "must be > 0 (currency per month); with no net gain the "
                                                  "investment never pays back")
    return np.asarray(investment, dtype=np.float64) / gain


def breakeven_hours(purchase_price, cloud_price_per_hour, power_kw=0.0, energy_price_per_kwh=0.0,
                    lifetime_years=None) -> np.ndarray:
    saving_per_hour = np.asarray(cloud_price_per_hour, dtype=np.float64) - (
        np.asarray(power_kw, dtype=np.float64) * np.asarray(energy_price_per_kwh, dtype=np.float64))
    if np.any(saving_per_hour <= 0):
        raise ScalesheetError("cloud_price_per_hour", "must exceed the owned GPU's electricity cost per hour "
                                                      "(power_kw x energy_price_per_kwh); otherwise owning never breaks even")
    hours = np.asarray(purchase_price, dtype=np.float64) / saving_per_hour
    if lifetime_years is not None:
        lifetime_hours = np.asarray(lifetime_years, dtype=np.float64) * HOURS_PER_YEAR
        if np.any(hours > lifetime_hours):
            raise ScalesheetError("lifetime_years", "the break-even lies beyond the hardware's lifetime of "
                                                    "round-the-clock use; owning never breaks even")
    return hours


def cumulative_cash(investments, monthly_net_gains) -> np.ndarray:
    """Cumulative cash by month for a multi-phase plan: -investment at each phase start + net gains."""
    inv = np.asarray(investments, dtype=np.float64)
    gain = np.asarray(monthly_net_gains, dtype=np.float64)
    return np.cumsum(gain - inv)


# ================================================================================= buy, rent or API
# Finance-grade economics (docs/economics.md has every formula with a worked example). Defaults are dated
# and sourced in data/finance_defaults.csv; hosted-API prices in data/api_prices.csv. Conventions:
#   * a month is hours_per_month (730) hours; money in the currency of the prices given;
#   * cash flows of month m (1..H) fall in period m: Excel's NPV(rate, flows) discounts them the same way;
#   * the monthly discount rate is (1 + annual rate)^(1/12) - 1.

def finance_rows() -> list[dict]:
    from .catalog import _read_csv
    return _read_csv("finance_defaults.csv")


def finance_default(name: str) -> float:
    """A dated, sourced default from data/finance_defaults.csv (PUE, colocation, useful life...)."""
    values = _finance_values()
    if name not in values:
        raise KeyError(name)
    return float(values[name])


@functools.lru_cache(maxsize=None)
def _finance_values() -> dict[str, str]:
    """finance_defaults.csv as name -> value text, read once (the first row of a name, as a scan finds it)."""
    out: dict[str, str] = {}
    for row in finance_rows():
        out.setdefault(row["name"], row["value"])
    return out


def api_price_rows() -> list[dict]:
    from .catalog import _read_csv
    return _read_csv("api_prices.csv")


def api_price(name: str, side: str) -> float:
    """Hosted-API price per 1M tokens of a reference model (data/api_prices.csv); side: input or output."""
    key = str(name).strip().lower()
    for row in api_price_rows():
        if row["name"].lower() == key:
            return float(row[f"usd_per_mtok_{side}"])
    names = ", ".join(r["name"] for r in api_price_rows())
    raise ScalesheetError("api", f"'{name}' is not in the API price list; use one of {names}")


def monthly_rate(annual_rate) -> np.ndarray:
    """Monthly discount rate equivalent to an annual rate: (1 + r)^(1/12) - 1."""
    return np.power(1.0 + np.asarray(annual_rate, dtype=np.float64), 1.0 / 12.0) - 1.0


OWNED_PARTS = ("depreciation", "energy", "colocation", "maintenance", "staff")


def owned_monthly_cost(purchase_price, power_kw, utilisation, server_share, life_years, pue, energy_price,
                       colo_per_kw_month, maintenance_share, staff_per_gpu_month, hours_per_month) -> dict:
    """Monthly cost of one owned GPU with its share of the server (accounting view, straight-line).

        capex        = purchase_price x (1 + server_share)
        depreciation = capex / (life_years x 12)                       (Excel: SLN(capex, 0, life x 12))
        energy       = power_kw x utilisation x PUE x hours_per_month x energy_price
        colocation   = power_kw x colo_per_kw_month                   (contracted IT kW, cooling in the rent)
        maintenance  = capex x maintenance_share / 12
        staff        = staff_per_gpu_month
    ``power_kw`` is the IT power of the GPU with its share of the server at full load.
    """
    capex = np.asarray(purchase_price, dtype=np.float64) * (1.0 + np.asarray(server_share, dtype=np.float64))
    kw = np.asarray(power_kw, dtype=np.float64)
    parts = {
        "depreciation": capex / (np.asarray(life_years, dtype=np.float64) * 12.0),
        "energy": kw * np.asarray(utilisation, dtype=np.float64) * np.asarray(pue, dtype=np.float64)
        * hours_per_month * np.asarray(energy_price, dtype=np.float64),
        "colocation": kw * np.asarray(colo_per_kw_month, dtype=np.float64),
        "maintenance": capex * np.asarray(maintenance_share, dtype=np.float64) / 12.0,
        "staff": np.asarray(staff_per_gpu_month, dtype=np.float64) + 0.0 * capex,
    }
    parts["total"] = sum(parts[k] for k in OWNED_PARTS)
    parts["capex"] = capex
    return parts


def breakeven_utilisation(fixed_per_month, energy_full_per_month, rent_price_per_hour, hours_per_month) -> np.ndarray:
    """Utilisation (share of the month's hours busy) at which owning one GPU costs the same as renting it
    on demand for the busy hours only:

        fixed + u x energy_full = u x hours_per_month x rent   =>   u* = fixed / (hours x rent - energy_full)

    ``fixed`` is depreciation + colocation + maintenance + staff per month, ``energy_full`` the energy at
    100 % utilisation. Above u* owning is cheaper. No u* in (0, 1] means owning never pays."""
    fixed = np.asarray(fixed_per_month, dtype=np.float64)
    margin = np.asarray(rent_price_per_hour, dtype=np.float64) * hours_per_month - np.asarray(
        energy_full_per_month, dtype=np.float64)
    if np.any(margin <= 0):
        raise ScalesheetError("rent_price_per_hour", "renting for the busy hours costs no more than the owned GPU's "
                                                     "electricity; owning never breaks even")
    u = fixed / margin
    if np.any(u > 1):
        raise ScalesheetError("rent_price_per_hour", "owning costs more than renting even at 100 % utilisation; "
                                                     "owning never breaks even")
    return u


def api_cost_per_mtok(price_input, price_output, output_share) -> np.ndarray:
    """Blended API price per 1M tokens when a share of the tokens are output: (1-s) x in + s x out."""
    s = np.asarray(output_share, dtype=np.float64)
    return (1.0 - s) * np.asarray(price_input, dtype=np.float64) + s * np.asarray(price_output, dtype=np.float64)


def serving_cost_per_mtok_io(price_per_gpu_hour, gpus, batch, input_tokens, output_tokens, ttft_s, latency_s,
                             part: str = "blended") -> np.ndarray:
    """Serving cost per 1M tokens from one replica's request timing (a batch of requests at once):

        input  = price x gpus x TTFT / 3600 / (batch x input_tokens) x 10^6           (prefill time)
        output = price x gpus x (latency - TTFT) / 3600 / (batch x output_tokens) x 10^6   (decode time)
        blended = price x gpus x latency / 3600 / (batch x (input + output)) x 10^6
    Comparable with a hosted API's separate input and output prices."""
    hourly = np.asarray(price_per_gpu_hour, dtype=np.float64) * np.asarray(gpus, dtype=np.float64)
    b = np.asarray(batch, dtype=np.float64)
    i = np.asarray(input_tokens, dtype=np.float64)
    o = np.asarray(output_tokens, dtype=np.float64)
    t1, t = np.asarray(ttft_s, dtype=np.float64), np.asarray(latency_s, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if part == "input":
            return hourly * t1 / 3600.0 / (b * i) * 1e6
        if part == "output":
            return hourly * (t - t1) / 3600.0 / (b * o) * 1e6
        return hourly * t / 3600.0 / (b * (i + o)) * 1e6


def overflow_tokps(average, peak_to_average, capacity) -> np.ndarray:
    """Average tokens/s of a day's load above a capacity, for a linear load-duration curve.

    The day's load sorted from highest to lowest is a straight line from the peak P = p x A down, with
    average A: for p <= 2 to the trough T = (2 - p) x A at the end of the day (slope s = 2 (p - 1) A per
    day); for p > 2 to zero after a share 2/p of the day (s = p^2 A / 2). The load above a capacity C is

        A - C                 if C < T      (the capacity is below the trough: all day)
        (P - C)^2 / (2 s)     if T <= C < P
        0                     if C >= P
    (Excel: =IF(C>=P,0,IF(C<T,A-C,(P-C)^2/(2*s))).) It falls as C rises and is A at C = 0."""
    a = np.asarray(average, dtype=np.float64)
    p = np.asarray(peak_to_average, dtype=np.float64)
    c = np.asarray(capacity, dtype=np.float64)
    peak = p * a
    trough = np.maximum(2.0 - p, 0.0) * a
    slope = np.where(p <= 2.0, 2.0 * (p - 1.0) * a, p * p * a / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mid = (peak - c) ** 2 / (2.0 * slope)
    return np.where(c >= peak, 0.0, np.where(c < trough, a - c, mid))



def fleet_plan(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
               reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
               annual_discount_rate, base_replicas=None, residual_share=0.0, life_months=60.0,
               hours_per_month=730.0) -> dict:
    """Month-by-month cost of a base fleet (owned or committed) capped at ``base_replicas`` plus burst.

    For month m = 1..H (scalars in, arrays of H months out):
        demand D_m = tokens_per_day x (1 + g)^(m-1); average A_m = D_m / 86400 tokens/s; peak P_m = p x A_m
        replicas for the peak R_m = ceil(P_m / replica_tokps)
        base replicas O_m = max(O_(m-1), min(B, R_m)); GPUs G_m = (O_m + reserve if O_m > 0) x gpus_per_replica
        capex_m = (G_m - G_(m-1)) x capex_per_gpu         (bought when first needed, kept)
        overflow X_m = overflow_tokps(A_m, p, O_m x replica_tokps)   (load-duration curve, see above)
        utilisation u_m = (A_m - X_m) / (G_m / gpus_per_replica x replica_tokps)   (reserve replicas idle)
        running_m = G_m x (fixed + u_m x energy_full)
        burst_m = X_m x 3600 x hours_per_month / 10^6 x burst_cost_per_mtok
        cost_m = capex_m + running_m + burst_m - residual (month H only: residual_share x book value)
    ``base_replicas`` None: enough for every month's peak (the pure base option); an array of sizes gives
    one row per size. Present value of the costs at the monthly rate equals Excel's NPV(rate_m, cost_1..H).
    """
    H = int(horizon_months)
    m = np.arange(1, H + 1, dtype=np.float64)
    demand = float(tokens_per_day) * np.power(1.0 + float(growth_per_month), m - 1.0)
    avg = demand / 86400.0
    cap = float(replica_tokps)
    need = np.ceil(float(peak_to_average) * avg / cap - 1e-9)
    limit = np.array([[need.max()]]) if base_replicas is None else np.reshape(
        np.asarray(base_replicas, dtype=np.float64), (-1, 1))
    base = np.maximum.accumulate(np.minimum(limit, need[None, :]), axis=1)
    g = float(gpus_per_replica)
    gpus = np.where(base > 0, base + float(reserve_replicas), 0.0) * g
    capex = np.diff(gpus, axis=1, prepend=0.0) * float(capex_per_gpu)
    over = overflow_tokps(avg[None, :], peak_to_average, base * cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(gpus > 0, (avg[None, :] - over) / (gpus / g * cap), 0.0)
    running = gpus * (float(fixed_per_gpu_month) + util * float(energy_full_per_gpu_month))
    burst = over * 3600.0 * hours_per_month / 1e6 * float(burst_cost_per_mtok)
    residual = np.zeros_like(capex)
    if H and float(residual_share) > 0:
        age = H - m + 1.0                     # months of use by the end of month H
        book = capex * np.maximum(0.0, 1.0 - age / float(life_months))
        residual[:, -1] = float(residual_share) * book.sum(axis=1)
    cost = capex + running + burst - residual
    r = float(monthly_rate(annual_discount_rate))
    pv = np.sum(cost / np.power(1.0 + r, m), axis=1)
    rows = {"base_replicas": base, "gpus": gpus, "capex": capex, "overflow_tokps": over, "utilisation": util,
            "running": running, "burst": burst, "residual": residual, "cost": cost}
    if base_replicas is None or np.ndim(base_replicas) == 0:
        rows = {k: v[0] for k, v in rows.items()}
        pv = float(pv[0])
    return {"month": m, "tokens_per_day": demand, "average_tokps": avg, "replicas_needed": need, "pv": pv, **rows}


def fleet_pv_one(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
                 reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
                 annual_discount_rate, base_replicas=None, residual_share=0.0, life_months=60.0,
                 hours_per_month=730.0) -> float | None:
    """``fleet_plan(...)["pv"]`` for one plan of Python floats (one base size or None), month by month in plain
    floats: the same operations in the same order as fleet_plan's arrays, so the same bits (a spreadsheet's
    PLAN_FLEET_PV cells are single plans; numpy's per-call cost on 36-month vectors was most of their time).
    The powers and the sums stay numpy's (their last bit may differ from ``math`` and from a plain loop).
    None when an intermediate is not finite: fleet_plan answers then (tests/test_udf_recalc_fast.py holds the
    two to the last bit)."""
    H = int(horizon_months)
    if H < 1:
        return None
    m = np.arange(1, H + 1, dtype=np.float64)
    tpd, p, cap = float(tokens_per_day), float(peak_to_average), float(replica_tokps)
    growth = np.power(1.0 + float(growth_per_month), m - 1.0).tolist()
    need, avg = [], []
    ceil, copysign = math.ceil, math.copysign
    try:
        for f in growth:
            a = tpd * f / 86400.0
            avg.append(a)
            x = p * a / cap - 1e-9
            c = float(ceil(x))  # np.ceil of one float: the sign of a zero kept (ceil(-0.5) is -0.0, as numpy
            # gives); inf or NaN raises here, and fleet_plan answers
            need.append(copysign(c, x) if c == 0.0 else c)
    except (OverflowError, ValueError):
        return None
    if base_replicas is None:
        limit = max(need)
    else:
        limit = float(base_replicas)
    if not (math.isfinite(limit) and math.isfinite(tpd * growth[-1])):
        return None
    g, reserve = float(gpus_per_replica), float(reserve_replicas)
    capex_gpu, fixed, energy = float(capex_per_gpu), float(fixed_per_gpu_month), float(energy_full_per_gpu_month)
    burst_cost = float(burst_cost_per_mtok)
    trough_share = 2.0 - p if 2.0 - p > 0.0 else 0.0  # np.maximum(2 - p, 0); a tie is +0.0 either way
    low = p <= 2.0
    costs, capex = [], []
    base = prev = None
    prev_gpus = 0.0
    for a, n in zip(avg, need):
        x = limit if limit < n else n  # np.minimum (no NaN here; a tie picks equal values)
        base = x if prev is None or x > prev else prev  # np.maximum.accumulate
        prev = base
        gpus = (base + reserve if base > 0 else 0.0) * g
        cx = (gpus - prev_gpus) * capex_gpu
        prev_gpus = gpus
        c = base * cap
        peak = p * a
        if c >= peak:
            over = 0.0
        elif c < trough_share * a:
            over = a - c
        else:
            slope = 2.0 * (p - 1.0) * a if low else p * p * a / 2.0
            d = peak - c
            if slope == 0.0:
                return None
            over = d * d / (2.0 * slope)  # numpy's x ** 2 is x * x
        util = (a - over) / (gpus / g * cap) if gpus > 0 else 0.0
        running = gpus * (fixed + util * energy)
        burst = over * 3600.0 * hours_per_month / 1e6 * burst_cost
        capex.append(cx)
        costs.append(cx + running + burst)
    cost = np.array([costs])
    if float(residual_share) > 0:
        age = H - m + 1.0
        book = np.array([capex]) * np.maximum(0.0, 1.0 - age / float(life_months))
        residual = float(residual_share) * book.sum(axis=1)
        cost[:, -1] = cost[:, -1] - residual
    r = float(monthly_rate(annual_discount_rate))
    pv = float(np.sum(cost / np.power(1.0 + r, m), axis=1)[0])
    return pv if math.isfinite(pv) else None


def cheapest_mix(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
                 reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
                 annual_discount_rate, residual_share=0.0, life_months=60.0, hours_per_month=730.0) -> tuple[int, float]:
    """The base size B (replicas, 0 .. the largest peak need) whose plan has the lowest present cost.

    B = 0 is all burst (the cheaper of rent and API per token); B = the largest need is the pure base
    option; so the cheapest mix is never dearer than either. Ties go to the smaller B. Returns (B, PV)."""
    args = (tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
            reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
            annual_discount_rate)
    top = int(fleet_plan(*args, None, residual_share, life_months, hours_per_month)["replicas_needed"].max())
    best_b, best_pv = 0, np.inf
    for lo in range(0, top + 1, 2048):
        sizes = np.arange(lo, min(top, lo + 2047) + 1, dtype=np.float64)
        pv = fleet_plan(*args, sizes, residual_share, life_months, hours_per_month)["pv"]
        k = int(np.argmin(pv))
        if pv[k] < best_pv - 1e-9 * max(1.0, abs(pv[k])):
            best_b, best_pv = int(sizes[k]), float(pv[k])
    return best_b, best_pv


def npv(annual_rate_or_monthly, flows, monthly: bool = True) -> float:
    """Excel's NPV: sum of flows_t / (1 + r)^t for t = 1..n (r per period)."""
    f = np.asarray(flows, dtype=np.float64)
    r = float(annual_rate_or_monthly)
    return float(np.sum(f / np.power(1.0 + r, np.arange(1, f.size + 1))))


def irr(flows, guess: float = 0.01) -> float:
    """Internal rate of return per period (Excel's IRR): the r with sum flows_t / (1 + r)^t = 0, t = 0..n-1.

    Bisection on the sign change of the NPV between -99.99 % and 1000 % per period; raises
    ScalesheetError when the flows do not change sign (no IRR exists)."""
    f = np.asarray(flows, dtype=np.float64)
    if not (np.any(f < 0) and np.any(f > 0)):
        raise ScalesheetError("flows", "need both negative and positive cash flows for an IRR")
    t = np.arange(f.size)

    def value(r):
        return float(np.sum(f / np.power(1.0 + r, t)))
    lo, hi = -0.9999, 10.0
    vlo, vhi = value(lo), value(hi)
    if vlo * vhi > 0:
        raise ScalesheetError("flows", "no IRR between -99.99 % and 1000 % per period")
    for _ in range(200):
        mid = (lo + hi) / 2
        vm = value(mid)
        if vm == 0 or (hi - lo) < 1e-13:
            return mid
        if (vm > 0) == (vlo > 0):
            lo, vlo = mid, vm
        else:
            hi = mid
    return (lo + hi) / 2


def payback_month(flows) -> float:
    """First month (1-based) from which the cumulative flow stays >= 0; NaN if never within the flows."""
    cum = np.cumsum(np.asarray(flows, dtype=np.float64))
    bad = np.flatnonzero(cum < 0)
    if bad.size == 0:
        return 1.0
    if bad[-1] == cum.size - 1:
        return float("nan")
    return float(bad[-1] + 2)
