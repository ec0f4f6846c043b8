"""The only module that knows Excel's shapes.

What xlwings passes (with ``ndim=2`` and ``err_to_str=True`` on every argument, as udfs declares): a list
of rows for any range (a single cell too), ``None`` for a blank, ``bool`` for TRUE/FALSE, ``datetime``
for a date, and the error text (``"#N/A"``) for an error cell. Called as plain Python, a function also
accepts scalars and flat lists (read as a column).

``evaluate`` parses every argument per element, broadcasts them like Excel's array arithmetic, calls the
core once for all valid elements and puts ``#argument: message`` text in the cells whose inputs are bad,
so one bad row does not blank the column. Nothing raises out of here: an unexpected failure becomes text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .core import architecture, catalog
from .core.errors import ScalesheetError
from .core.validate import Rule, check

EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"}
REQUIRED = object()  # marks an argument without a default
MAX_ELEMENTWISE_RETRY = 20000  # cells re-evaluated one by one to locate an error raised for a whole column


# ------------------------------------------------------------------------------------ parsing shapes
def to_grid(value) -> np.ndarray:
    """Any xlwings value as a 2-D object array: scalar -> 1x1, flat list -> column, rows -> rows."""
    if isinstance(value, np.ndarray):
        arr = value.astype(object) if value.dtype != object else value
        return arr.reshape(1, 1) if arr.ndim == 0 else (arr.reshape(-1, 1) if arr.ndim == 1 else arr)
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return np.empty((0, 1), dtype=object)
        if all(isinstance(r, (list, tuple)) for r in value):
            width = len(value[0])
            if any(len(r) != width for r in value):
                raise ScalesheetError("shape", "rows of a range must all have the same length")
            out = np.empty((len(value), width), dtype=object)
            for i, r in enumerate(value):
                out[i, :] = list(r)
            return out
        out = np.empty((len(value), 1), dtype=object)
        out[:, 0] = list(value)
        return out
    out = np.empty((1, 1), dtype=object)
    out[0, 0] = value
    return out


def is_blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def excel_error(v) -> str | None:
    """The Excel error a cell holds (xlwings err_to_str), or our own '#...' text from another function."""
    if isinstance(v, str) and v.startswith("#"):
        return v.strip()
    return None


def _input_error(v) -> str:
    err = excel_error(v)
    code = err if err in EXCEL_ERRORS else (err[:60] + ("…" if len(err) > 60 else ""))
    return f"the input cell holds the error {code}"


def field_range(grid: np.ndarray, markers: set[str]) -> dict | None:
    """A two-row (names over values) or two-column (names beside values) range as a mapping, else None."""
    def lowered(cells):
        return [str(c).strip().lower() if isinstance(c, str) else None for c in cells]
    if grid.shape[0] == 2 and grid.shape[1] >= 2 and markers & set(lowered(grid[0])):
        return {k: v for k, v in zip(lowered(grid[0]), grid[1]) if k}
    if grid.shape[1] == 2 and grid.shape[0] >= 2 and markers & set(lowered(grid[:, 0])):
        return {k: v for k, v in zip(lowered(grid[:, 0]), grid[:, 1]) if k}
    return None


# --------------------------------------------------------------------------------- argument kinds
@dataclass(frozen=True)
class Arg:
    """How one Excel argument is read. ``kind``: number, model, gpu, precision, kv_precision, choice,
    text. ``rule`` for numbers, ``default`` (REQUIRED if none), ``choices`` for choice."""

    name: str
    kind: str
    default: Any = REQUIRED
    rule: Rule | None = None
    parse: Callable | None = None  # choice: value -> code (raises ScalesheetError)


def _number_grid(grid: np.ndarray, arg: Arg):
    """Clean float grid and error grid (None where fine) for a numeric argument."""
    errors = np.full(grid.shape, None, dtype=object)
    flat = grid.ravel()
    fast = all(type(v) in (float, int) for v in flat) if flat.size < 64 else None
    if fast is None:  # big range: try numpy's conversion first
        try:
            vals = np.array(flat, dtype=np.float64) if not any(isinstance(v, (bool, str, type(None), dt.date))
                                                                for v in flat[:64]) else None
        except (TypeError, ValueError):
            vals = None
        fast = vals is not None and not np.any(np.isnan(vals))
        if fast:
            bad = _rule_mask(vals, arg.rule)
            if not bad.any():
                return vals.reshape(grid.shape), errors
    out = np.empty(flat.size, dtype=np.float64)
    err_flat = errors.ravel()
    fallback = None if arg.default is REQUIRED else arg.default
    for i, v in enumerate(flat):
        msg = None
        if is_blank(v):
            if arg.default is REQUIRED:
                msg = f"is blank; use {arg.rule.describe()}"
            else:
                out[i] = arg.default
                continue
        elif excel_error(v):
            msg = _input_error(v)
        elif isinstance(v, (dt.date, dt.datetime)):
            msg = f"a date is not allowed; use {arg.rule.describe()}"
        elif isinstance(v, str):
            msg = f"'{v[:40]}' is text; use {arg.rule.describe()}"
        else:
            msg = check(v, arg.rule)
        if msg:
            err_flat[i] = f"#{arg.name}: {msg}"
            out[i] = np.nan
        else:
            out[i] = float(v)
            if fallback is None:
                fallback = float(v)
    out[np.isnan(out)] = fallback if fallback is not None else 0.0
    return out.reshape(grid.shape), err_flat.reshape(grid.shape)


def _rule_mask(vals: np.ndarray, rule: Rule) -> np.ndarray:
    bad = ~np.isfinite(vals)
    if rule.minimum is not None:
        bad |= (vals < rule.minimum) if rule.min_inclusive else (vals <= rule.minimum)
    if rule.maximum is not None:
        bad |= vals > rule.maximum
    if rule.integer:
        bad |= np.floor(vals) != vals
    return bad


def _name_grid(grid: np.ndarray, arg: Arg, lookup: Callable[[Any], Any]):
    """Resolve names per unique value; returns (clean grid of names, error grid)."""
    errors = np.full(grid.shape, None, dtype=object)
    flat = grid.ravel()
    cache: dict = {}
    clean = np.empty(flat.size, dtype=object)
    fallback = None
    err_flat = errors.ravel()
    for i, v in enumerate(flat):
        key = (type(v).__name__, v) if not isinstance(v, (list, dict)) else repr(v)
        if key not in cache:
            try:
                if is_blank(v):
                    if arg.default is REQUIRED:
                        raise ScalesheetError(arg.name, f"is blank; give a {arg.kind.replace('_', ' ')} name")
                    val = arg.default
                elif excel_error(v):
                    raise ScalesheetError(arg.name, _input_error(v))
                elif isinstance(v, (bool, np.bool_)) or isinstance(v, (dt.date, dt.datetime)):
                    raise ScalesheetError(arg.name, f"{v!r} is not allowed; give a {arg.kind.replace('_', ' ')} name")
                else:
                    val = v
                lookup(val)  # raises ScalesheetError for unknown names / bad numbers
                cache[key] = (val, None)
            except ScalesheetError as exc:
                cache[key] = (None, f"#{arg.name}: {exc.message}")
        val, msg = cache[key]
        if msg:
            err_flat[i] = msg
        else:
            clean[i] = val
            if fallback is None:
                fallback = val
    for i in range(flat.size):
        if err_flat[i] is not None:
            clean[i] = fallback
    return clean.reshape(grid.shape), err_flat.reshape(grid.shape), fallback is not None


def _choice_grid(grid: np.ndarray, arg: Arg):
    errors = np.full(grid.shape, None, dtype=object)
    flat = grid.ravel()
    clean = np.empty(flat.size, dtype=object)
    err_flat = errors.ravel()
    for i, v in enumerate(flat):
        if excel_error(v):
            err_flat[i] = f"#{arg.name}: {_input_error(v)}"
            clean[i] = arg.default
            continue
        try:
            clean[i] = arg.parse(arg.default if is_blank(v) else v)
        except ScalesheetError as exc:
            err_flat[i] = f"#{arg.name}: {exc.message}"
            clean[i] = arg.parse(arg.default)
    return clean.reshape(grid.shape), err_flat.reshape(grid.shape)


LOOKUPS = {
    "model": lambda v: catalog.models(v),
    "gpu": lambda v: catalog.gpus(v),
    "precision": lambda v: catalog.precisions(v),
    "kv_precision": lambda v: catalog.kv_precisions(v),
}
RANGE_MARKERS = {
    "model": {"n_layers", "d_model"},
    "gpu": {"memory_gib", "bandwidth_gb_s"},
}


def _resolve_range(kind: str, mapping: dict, name: str):
    if kind == "model":
        return architecture.from_mapping(mapping, name)
    return catalog.gpu_from_mapping(mapping, name)


def _resolve_grid(kind: str, clean: np.ndarray, name: str):
    if kind == "model":
        return catalog.models(clean, name)
    if kind == "gpu":
        return catalog.gpus(clean, name)
    if kind == "precision":
        return catalog.precisions(clean, name)
    if kind == "kv_precision":
        return catalog.kv_precisions(clean, name)
    return clean


# ------------------------------------------------------------------------------------- evaluation
def evaluate(core: Callable, args: list[Arg], values: list, *, scale: float = 1.0, kind: str = "number"):
    """Call ``core(**resolved)`` over the broadcast of ``values``; see the module docstring.

    ``kind``: number (scaled by ``scale``), bool, or any (numbers or text from the core).
    Returns a scalar for a 1x1 result, else a list of rows.
    """
    try:
        return _evaluate(core, args, values, scale, kind)
    except ScalesheetError as exc:
        return exc.excel_text()
    except Exception as exc:  # never a traceback in a cell
        return f"#error: unexpected {type(exc).__name__}: {str(exc)[:150]}"


def _evaluate(core, args, values, scale, kind):
    fixed: dict = {}       # argument -> already-resolved single object (model/GPU range)
    grids: dict = {}
    for arg, value in zip(args, values):
        if arg.kind in ("model", "gpu") and not isinstance(value, dict):
            grid = to_grid(value)
            mapping = field_range(grid, RANGE_MARKERS[arg.kind])
            if mapping is not None:
                fixed[arg.name] = _resolve_range(arg.kind, mapping, arg.name)
                continue
            grids[arg.name] = grid
        elif isinstance(value, dict):
            fixed[arg.name] = _resolve_range(arg.kind, value, arg.name)
        else:
            grids[arg.name] = to_grid(value)
    try:
        shape = np.broadcast_shapes(*(g.shape for g in grids.values())) if grids else (1, 1)
    except ValueError:
        desc = ", ".join(f"{n} is {g.shape[0]}x{g.shape[1]}" for n, g in grids.items() if g.size != 1)
        raise ScalesheetError("shape", f"ranges do not line up ({desc}); use ranges of the same shape, "
                                       "a row against a column, or single cells")
    if 0 in shape:
        raise ScalesheetError("shape", "an argument is an empty range")
    errors = np.full(shape, None, dtype=object)
    resolved: dict = dict(fixed)
    any_valid = True
    for arg in args:
        if arg.name not in grids:
            continue
        grid = np.broadcast_to(grids[arg.name], shape)
        if arg.kind == "number":
            clean, errs = _number_grid(grid, arg)
        elif arg.kind in LOOKUPS:
            clean, errs, ok = _name_grid(grid, arg, LOOKUPS[arg.kind])
            any_valid &= ok
        elif arg.kind == "choice":
            clean, errs = _choice_grid(grid, arg)
        else:
            clean, errs = grid, np.full(shape, None, dtype=object)
        fill = (errors == None) & (errs != None)  # noqa: E711  (first error per cell wins)
        errors[fill] = errs[fill]
        resolved[arg.name] = clean
    if not any_valid or all(e is not None for e in errors.ravel()):
        return _finish(np.zeros(shape), errors, 1.0, kind)
    try:
        call_args = {n: (_resolve_grid(next(a.kind for a in args if a.name == n), v, n)
                         if n not in fixed else v) for n, v in resolved.items()}
        result = core(**call_args)
        result = np.broadcast_to(np.asarray(result), shape)
    except ScalesheetError:
        if errors.size > MAX_ELEMENTWISE_RETRY:
            raise
        result = _elementwise(core, args, resolved, fixed, errors, shape)
    return _finish(result, errors, scale, kind)


def _elementwise(core, args, resolved, fixed, errors, shape):
    """Evaluate cell by cell to attach an error the core raised for the whole column to its cells."""
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        if errors[idx] is not None:
            out[idx] = 0.0
            continue
        try:
            call_args = {}
            for a in args:
                if a.name not in resolved:
                    continue
                v = resolved[a.name]
                call_args[a.name] = v if a.name in fixed else _resolve_grid(a.kind, _cell(v, idx), a.name)
            out[idx] = np.asarray(core(**call_args)).ravel()[0]
        except ScalesheetError as exc:
            errors[idx] = exc.excel_text()
            out[idx] = 0.0
    return out


def _cell(grid, idx):
    arr = np.empty((1, 1), dtype=object if grid.dtype == object else grid.dtype)
    arr[0, 0] = grid[idx]
    return arr if grid.dtype == object else arr.astype(grid.dtype)


def _finish(result, errors, scale, kind):
    shape = errors.shape
    if kind == "bool":
        values = np.asarray(result).astype(bool).astype(object)
    elif kind == "any":
        values = np.asarray(result, dtype=object)
    else:
        numbers = np.asarray(result, dtype=np.float64) * scale
        bad = ~np.isfinite(numbers)
        if bad.any():
            fill = bad & (errors == None)  # noqa: E711
            errors = errors.copy()
            errors[fill] = "#result: not a finite number; check the magnitudes of the inputs"
            numbers = np.where(bad, 0.0, numbers)
        values = numbers
    if (errors == None).all():  # noqa: E711
        out = values.tolist()
    else:
        obj = np.asarray(values, dtype=object).copy()
        mask = errors != None  # noqa: E711
        obj[mask] = errors[mask]
        out = obj.tolist()
    if shape == (1, 1):
        v = out[0][0]
        return v
    return out
