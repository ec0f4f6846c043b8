"""Input checks shared by the core (which raises) and the Excel adapter (which reports per element).

A :class:`Rule` says what an argument allows. ``require`` converts a value to a float array and raises a
:class:`ScalesheetError` naming the argument on the first element that breaks the rule; ``check`` returns
the message for one scalar (or None), so the adapter can mark bad cells one by one.
"""

from __future__ import annotations

import math

from .._lazy import lazy
from .errors import ScalesheetError

np = lazy("numpy", globals(), "np")  # imported on first use: Rule and the rules below need no numpy


class Rule:
    """What a numeric argument allows: bounds, integrality and the unit named in messages.

    Immutable, compared and hashed by its fields (written out rather than a dataclass: ``dataclasses``
    imports ``inspect``, a fifth of ``import udfs``).
    """

    __slots__ = ("unit", "minimum", "min_inclusive", "maximum", "integer", "_hash")

    def __init__(self, unit: str = "", minimum: float | None = None, min_inclusive: bool = True,
                 maximum: float | None = None, integer: bool = False):
        for name, value in zip(self.__slots__, (unit, minimum, min_inclusive, maximum, integer)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_hash", hash(self._fields()))  # immutable: hashed once (Arg keys hash it often)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")

    def _fields(self) -> tuple:
        return (self.unit, self.minimum, self.min_inclusive, self.maximum, self.integer)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    def __hash__(self):
        return self._hash

    def __repr__(self):
        return "Rule(" + ", ".join(f"{n}={v!r}" for n, v in zip(self.__slots__[:5], self._fields())) + ")"

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>=' if self.min_inclusive else '>'} {_fmt(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"<= {_fmt(self.maximum)}")
        bounds = " and ".join(parts)
        unit = f" ({self.unit})" if self.unit else ""
        return f"{kind}{' ' + bounds if bounds else ''}{unit}"


def _fmt(x: float) -> str:
    """A value in a message; -0 is written 0 (Excel shows both as 0, and the cell memo keys them alike)."""
    return f"{x + 0.0:g}"


# Common rules. Upper bounds keep every product finite in float64 and catch unit slips (1e308 tokens).
POSITIVE_TOKENS = Rule("tokens", minimum=1, maximum=1e9, integer=True)
CONTEXT = Rule("tokens", minimum=0, maximum=1e9, integer=True)
BATCH = Rule("sequences", minimum=1, maximum=1e7, integer=True)
GPUS = Rule("GPUs", minimum=1, maximum=1e7, integer=True)
TOKENS_TOTAL = Rule("tokens", minimum=0, maximum=1e18)
PARAMS = Rule("parameters", minimum=0, min_inclusive=False, maximum=1e16)
MONEY = Rule("currency", minimum=0, maximum=1e15)
MONEY_POSITIVE = Rule("currency", minimum=0, min_inclusive=False, maximum=1e15)
MONEY_SIGNED = Rule("currency", minimum=-1e15, maximum=1e15)
FRACTION = Rule("fraction of peak, 0-1", minimum=0, min_inclusive=False, maximum=1)
BITS = Rule("bits per weight", minimum=1, maximum=64)
ZERO_STAGE = Rule("ZeRO stage 0-3", minimum=0, maximum=3, integer=True)
POWER_KW = Rule("kW", minimum=0, maximum=1e6)
ENERGY_PRICE = Rule("currency per kWh", minimum=0, maximum=1e6)
YEARS = Rule("years", minimum=0, min_inclusive=False, maximum=100)
PARALLEL = Rule("GPUs", minimum=1, maximum=1e5, integer=True)
# Defaults and rules of udfs.core.api, defined here (no numpy) so that the Excel functions can name them at
# import; api re-exports them under the same names.
DEFAULT_PRECISION = "bf16"
DEFAULT_KV_PRECISION = "fp16"
DEFAULT_CONTEXT = 4096  # tokens; documented in docs/methodology.md (a typical prompt + answer)
CALIBRATION = Rule("factor (measured / predicted speed)", minimum=0.01, maximum=100)
REQUESTS_PER_S = Rule("requests per second", minimum=0, maximum=1e9)
SECONDS = Rule("seconds", minimum=0, min_inclusive=False, maximum=1e6)
RESERVED_GIB = Rule("GiB", minimum=0, maximum=1e6)
TOKPS = Rule("tokens/s", minimum=0, min_inclusive=False, maximum=1e9)
PERCENTILE = Rule("fraction 0.5-0.999", minimum=0.5, maximum=0.999)


def check(value, rule: Rule) -> str | None:
    """Return why one scalar breaks ``rule`` (text without the argument name), or None if it is fine."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return f"TRUE/FALSE is not allowed; use {rule.describe()}"
    try:
        x = float(value)
    except OverflowError:
        return f"{_show(value)} is too large; use {rule.describe()}"
    except (TypeError, ValueError):
        return f"{_show(value)} is not a number; use {rule.describe()}"
    if math.isnan(x) or math.isinf(x):
        return f"{_show(value)} is not a finite number; use {rule.describe()}"
    if rule.minimum is not None and (x < rule.minimum or (x == rule.minimum and not rule.min_inclusive)):
        return f"{_fmt(x)} is too small; use {rule.describe()}"
    if rule.maximum is not None and x > rule.maximum:
        return f"{_fmt(x)} is too large; use {rule.describe()}"
    if rule.integer and x != math.floor(x):
        return f"{_fmt(x)} is not whole; use {rule.describe()}"
    return None


def _show(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def require(value, name: str, rule: Rule) -> np.ndarray:
    """Return ``value`` as a float64 array, or raise ScalesheetError(name, …) on the first bad element."""
    if type(value) is float or type(value) is int:  # one number (most calls): check's test, as the arrays' below
        msg = check(value, rule)
        if msg:
            raise ScalesheetError(name, msg)
        return np.array(value, dtype=np.float64)
    if type(value) is np.ndarray and value.size == 1 and value.dtype == np.float64:  # one cell of a range
        msg = check(float(value.flat[0]), rule)
        if msg:
            raise ScalesheetError(name, msg)
        return value
    if isinstance(value, (bool, np.bool_)):
        raise ScalesheetError(name, check(value, rule))
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None:
        flat = np.asarray(value, dtype=object).ravel()
        for v in flat:
            msg = check(v, rule)
            if msg:
                raise ScalesheetError(name, msg)
        raise ScalesheetError(name, f"not numeric; use {rule.describe()}")
    if arr.dtype == np.bool_:
        raise ScalesheetError(name, check(True, rule))
    ok = np.isfinite(arr)
    if rule.minimum is not None:
        ok &= (arr >= rule.minimum) if rule.min_inclusive else (arr > rule.minimum)
    if rule.maximum is not None:
        ok &= arr <= rule.maximum
    if rule.integer:
        ok &= np.floor(np.where(np.isfinite(arr), arr, 0)) == np.where(np.isfinite(arr), arr, 0)
    if not ok.all():
        bad = arr[~ok].ravel()[0]
        raise ScalesheetError(name, check(bad, rule) or f"not allowed; use {rule.describe()}")
    return arr


def finite_result(values: np.ndarray, name: str) -> np.ndarray:
    """Guard a result: a non-finite number means the inputs were out of any meaningful range."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ScalesheetError(name, "the result is not a finite number; check the magnitudes of the inputs")
    return arr
