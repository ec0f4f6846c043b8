"""Excel functions beyond the contract that the planning sheets use (same conventions as udfs)."""

from __future__ import annotations

import numpy as np
import xlwings as xw

from .adapter import REQUIRED, Arg, evaluate
from .core import sizing
from .core import validate as V
from .core.errors import ScalesheetError
from .core.units import GIB

PLAN_DOC = {
    "required_gib": "Memory the deployment needs in GiB (2^30 bytes), e.g. from LLM_INFER_VRAM_GIB, > 0.",
    "gpus": "Number of GPUs sharing the load, whole number >= 1. Blank = 1.",
    "price_field": "Which price to minimise: price_usd (purchase, USD) or cloud_usd_per_hour. Blank = price_usd.",
}


def _price_field(value):
    key = str(value).strip().lower()
    if key not in ("price_usd", "cloud_usd_per_hour"):
        raise ScalesheetError("price_field", f"'{value}' is not allowed; use price_usd or cloud_usd_per_hour")
    return key


def _cheapest(required_gib, gpus, price_field):
    names = sizing.cheapest_gpu(np.asarray(required_gib) * GIB, gpus, str(np.asarray(price_field).ravel()[0]))
    if np.any(names == ""):
        raise ScalesheetError("required_gib", "no catalog GPU with a price holds that much memory on that many "
                                              "GPUs; raise gpus")
    return names


@xw.func(category="Scalesheet Memory")
@xw.arg("required_gib", ndim=2, err_to_str=True, doc=PLAN_DOC["required_gib"])
@xw.arg("gpus", ndim=2, err_to_str=True, doc=PLAN_DOC["gpus"])
@xw.arg("price_field", ndim=2, err_to_str=True, doc=PLAN_DOC["price_field"])
def LLM_CHEAPEST_GPU(required_gib, gpus=None, price_field=None):
    """Name of the cheapest catalog GPU (by purchase or cloud price, x gpus) whose memory, less 1 GiB runtime
    overhead each, holds required_gib (GiB)."""
    return evaluate(_cheapest, [Arg("required_gib", "number", REQUIRED, V.Rule("GiB", minimum=0, maximum=1e9)),
                                Arg("gpus", "number", 1, V.GPUS),
                                Arg("price_field", "choice", "price_usd", parse=_price_field)],
                    [required_gib, gpus, price_field], kind="any")
