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
