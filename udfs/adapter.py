"""The only module that knows Excel's shapes.

What xlwings passes (with ``ndim=2`` and ``err_to_str=True`` on every argument, as udfs declares): a list
of rows for any range (a single cell too), ``None`` for a blank, ``bool`` for TRUE/FALSE, ``datetime``
for a date, and the error text (``"#N/A"``) for an error cell. Called as plain Python, a function also
accepts scalars, flat lists (read as a column) and numpy arrays.

``evaluate`` parses each argument at its own shape (numbers vectorised, names once per distinct value),
lines the arguments up like Excel's array arithmetic (a single cell, row or column repeats; where ranges
of different sizes overlap only partly, the cells outside a range get ``#shape: ...``, as Excel gives #N/A
there), calls the core once for all valid cells and puts ``#argument: message`` text in the cells whose
inputs are bad, so one bad row does not blank the column. When the core rejects a combination it can only
judge whole (e.g. ``gpus`` not a multiple of ``tensor_parallel``), the valid cells are split in halves
until the error is pinned to its cells. Nothing raises out of here: an unexpected failure becomes text.
"""

from __future__ import annotations

from collections import OrderedDict

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
MAX_SPLITS = 4096  # extra core calls spent pinning a core error to its cells; past it a chunk shares the error
_NUMBER_TYPES = frozenset({int, float, np.float64, np.float32, np.int64, np.int32})


# --------------------------------------------------------------------------------- argument kinds
@dataclass(frozen=True)
class Arg:
    """How one Excel argument is read.

    ``kind``: number, model, gpu, precision, kv_precision or choice. ``default``: used for a blank cell
    (REQUIRED if none; a callable is called). ``rule``: bounds of a number. ``parse``: value -> clean value for a choice
    (raises ScalesheetError). ``check``: extra test of a resolved name (e.g. a training precision).
    """

    name: str
    kind: str
    default: Any = REQUIRED
    rule: Rule | None = None
    parse: Callable | None = None
    check: Callable | None = None


def default_of(arg: Arg):
    """The value a blank takes (a callable default is read when needed, so catalogs load lazily)."""
    return arg.default() if callable(arg.default) else arg.default


LOOKUPS = {"model": catalog.models, "gpu": catalog.gpus, "precision": catalog.precisions,
           "kv_precision": catalog.kv_precisions}
RANGE_MARKERS = {"model": {"n_layers", "d_model"}, "gpu": {"memory_gib", "bandwidth_gb_s"}}


# ------------------------------------------------------------------------------------ parsing shapes
def to_grid(value) -> np.ndarray:
    """Any xlwings value as a 2-D array: scalar -> 1x1, flat list -> column, rows -> rows.

    Numeric numpy arrays keep their dtype; everything else becomes an object array.
    """
    if isinstance(value, np.ndarray):
        arr = value if value.dtype.kind in "fiuO" else value.astype(object)
        return arr.reshape(1, 1) if arr.ndim == 0 else (arr.reshape(-1, 1) if arr.ndim == 1 else arr)
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return np.empty((0, 1), dtype=object)
        arr = np.array(value, dtype=object)
        if arr.ndim == 2:
            return arr
        if arr.ndim == 1 and not any(isinstance(v, (list, tuple)) for v in value):
            return arr.reshape(-1, 1)
        raise ScalesheetError("shape", "a range is rows of cells, all rows of the same length")
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
    if grid.dtype != object:
        return None

    def lowered(cells):
        return [str(c).strip().lower() if isinstance(c, str) else None for c in cells]
    if grid.shape[0] == 2 and grid.shape[1] >= 2 and markers & set(lowered(grid[0])):
        return {k: v for k, v in zip(lowered(grid[0]), grid[1]) if k}
    if grid.shape[1] == 2 and grid.shape[0] >= 2 and markers & set(lowered(grid[:, 0])):
        return {k: v for k, v in zip(lowered(grid[:, 0]), grid[:, 1]) if k}
    return None


def _rule_mask(vals: np.ndarray, rule: Rule) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(vals)
        if rule.minimum is not None:
            bad |= (vals < rule.minimum) if rule.min_inclusive else (vals <= rule.minimum)
        if rule.maximum is not None:
            bad |= vals > rule.maximum
        if rule.integer:
            bad |= np.floor(vals) != vals
    return bad


def _number_message(v, rule: Rule) -> str:
    if is_blank(v):
        return f"is blank; use {rule.describe()}"
    if excel_error(v):
        return _input_error(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return f"a date is not allowed; use {rule.describe()}"
    if isinstance(v, str):
        return f"'{v[:40]}' is text; use {rule.describe()}"
    try:
        return check(v, rule) or f"{v!r} is not a number; use {rule.describe()}"
    except OverflowError:  # an int beyond float range
        return f"{str(v)[:12]}... is too large; use {rule.describe()}"


def _number_grid(grid: np.ndarray, arg: Arg):
    """(float values, error texts or None) for a numeric argument, vectorised for plain numbers."""
    if grid.dtype.kind in "fiu":
        numeric = np.ones(grid.shape, dtype=bool)
        vals = grid.astype(np.float64)
    else:
        numeric = np.fromiter(map(_NUMBER_TYPES.__contains__, map(type, grid.flat)), bool, grid.size)
        numeric = numeric.reshape(grid.shape)
        vals = np.zeros(grid.shape)
        try:
            vals[numeric] = grid[numeric].astype(np.float64)
        except OverflowError:  # a Python int beyond float range
            vals[numeric] = [float(v) if abs(v) < 1e308 else np.inf for v in grid[numeric]]
    look = ~numeric | _rule_mask(vals, arg.rule)
    if not look.any():
        return vals, None
    errs = np.full(grid.shape, None, dtype=object)
    for idx in zip(*np.nonzero(look)):
        v = grid[idx]
        if is_blank(v) and arg.default is not REQUIRED:
            vals[idx] = default_of(arg)
        else:
            errs[idx] = f"#{arg.name}: {_number_message(v, arg.rule)}"
    return vals, (errs if (errs != None).any() else None)  # noqa: E711


def _codes(flat) -> tuple[list, np.ndarray]:
    """Distinct values (first-seen order) and each cell's index into them: dict passes, no sorting."""
    types = set(map(type, flat))
    try:
        if len(types) == 1 or not types & {bool, np.bool_}:  # TRUE == 1 would merge: keep types apart then
            index = {v: i for i, v in enumerate(dict.fromkeys(flat))}
            return list(index), np.fromiter(map(index.__getitem__, flat), np.intp, len(flat))
        index = {}
        inv = np.fromiter((index.setdefault((v.__class__, v), len(index)) for v in flat), np.intp, len(flat))
        return [k[1] for k in index], inv
    except TypeError:  # an unhashable cell: slower keys
        index, uniques = {}, []
        inv = np.empty(len(flat), dtype=np.intp)
        for i, v in enumerate(flat):
            key = repr((type(v), v))
            if key not in index:
                index[key] = len(uniques)
                uniques.append(v)
            inv[i] = index[key]
        return uniques, inv


def _parse_one(v, arg: Arg):
    """The clean value of one distinct cell of a name or choice argument (raises ScalesheetError)."""
    what = arg.kind.replace("_", " ") + " name" if arg.kind in LOOKUPS else "value"
    if excel_error(v):
        raise ScalesheetError(arg.name, _input_error(v))
    if is_blank(v):
        if arg.default is REQUIRED:
            if arg.parse:
                return arg.parse(None)  # a choice's own message for a blank
            raise ScalesheetError(arg.name, f"is blank; give a {what}")
        v = default_of(arg)
    elif isinstance(v, (bool, np.bool_)):
        if arg.kind in LOOKUPS:
            raise ScalesheetError(arg.name, f"TRUE/FALSE is not allowed; give a {what}")
    elif isinstance(v, (dt.date, dt.datetime)):
        raise ScalesheetError(arg.name, f"a date is not allowed; give a {what}")
    if arg.kind in LOOKUPS:
        record = LOOKUPS[arg.kind](v, arg.name)
        if arg.check:
            arg.check(record)
        return v
    return arg.parse(v)


def _distinct_grid(grid: np.ndarray, arg: Arg):
    """(values, error texts or None, table): names resolved once per distinct value.

    For catalog kinds ``values`` are row indices into ``table`` (the resolved records); for a choice they
    are the parsed values and ``table`` is None.
    """
    uniques, inv = _codes(grid.ravel())
    clean, msgs = [], []
    for v in uniques:
        try:
            clean.append(_parse_one(v, arg))
            msgs.append(None)
        except ScalesheetError as exc:
            clean.append(None)
            msgs.append(f"#{arg.name}: {exc.message}")
    ok = [i for i, m in enumerate(msgs) if m is None]
    table = None
    if arg.kind in LOOKUPS:
        pos = np.zeros(len(uniques), dtype=np.intp)
        pos[ok] = np.arange(len(ok))
        values = pos[inv].reshape(grid.shape)
        if ok:
            table = LOOKUPS[arg.kind](_objects([clean[i] for i in ok]), arg.name)
    else:
        values = _objects(clean)[inv].reshape(grid.shape)
    errs = _objects(msgs)[inv].reshape(grid.shape) if len(ok) < len(uniques) else None
    return values, errs, table


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        out[i] = v
    return out


def _fit(arr: np.ndarray, shape: tuple, fill) -> np.ndarray:
    """``arr`` over ``shape``: a 1-long axis repeats (broadcast); a shorter axis is padded with ``fill``."""
    (r, c), (R, C) = arr.shape, shape
    if r in (1, R) and c in (1, C):
        return np.broadcast_to(arr, shape)
    out = np.full(shape, fill, dtype=arr.dtype)
    rr, cc = (R if r == 1 else r), (C if c == 1 else c)
    out[:rr, :cc] = np.broadcast_to(arr, (rr, cc))
    return out


# ------------------------------------------------------------------------------------- evaluation
SCALAR_TYPES = (str, float, int, bool, type(None))
SCALAR_MEMO_SIZE = 4096
_scalar_memo: OrderedDict = OrderedDict()


def evaluate(core: Callable, args: list[Arg], values: list, *, scale: float = 1.0, kind: str = "number"):
    """Call ``core(**resolved)`` over the broadcast of ``values``; see the module docstring.

    ``kind``: number (scaled by ``scale``), bool, or any (numbers or text from the core).
    Returns a scalar for a 1x1 result, else a list of rows.

    A call whose arguments are all single values is remembered (least-recently-used, SCALAR_MEMO_SIZE
    entries): Excel recalculates cells with unchanged arguments again and again, and the answer depends on
    nothing but the arguments and the catalogs, which do not change while Python runs.
    """
    key = None
    if all(type(v) in SCALAR_TYPES for v in values):
        key = (getattr(core, "__module__", ""), getattr(core, "__qualname__", repr(core)),
               tuple((a.name, a.kind, repr(a.default)) for a in args),
               tuple((type(v).__name__, v) for v in values), scale, kind)
        hit = _scalar_memo.get(key)
        if hit is not None:
            _scalar_memo.move_to_end(key)
            return hit
    try:
        result = _evaluate(core, args, values, scale, kind)
    except ScalesheetError as exc:
        result = exc.excel_text()
    except Exception as exc:  # never a traceback in a cell
        result = f"#error: unexpected {type(exc).__name__}: {str(exc)[:150]}"
    if key is not None and not isinstance(result, list):
        _scalar_memo[key] = result
        if len(_scalar_memo) > SCALAR_MEMO_SIZE:
            _scalar_memo.popitem(last=False)
    return result


def _evaluate(core, args, values, scale, kind):
    fixed, whole_error, parsed = {}, None, {}
    for arg, value in zip(args, values):
        if arg.kind in RANGE_MARKERS and isinstance(value, dict):
            mapping = value
        else:
            grid = to_grid(value)
            mapping = field_range(grid, RANGE_MARKERS[arg.kind]) if arg.kind in RANGE_MARKERS else None
        if mapping is not None:  # one custom model/GPU for the whole call
            try:
                fixed[arg.name] = (architecture.from_mapping(mapping, arg.name) if arg.kind == "model"
                                   else catalog.gpu_from_mapping(mapping, arg.name))
            except ScalesheetError as exc:
                whole_error = whole_error or exc.excel_text()
            continue
        if grid.size == 0:
            raise ScalesheetError(arg.name, "is an empty range")
        if arg.kind == "number":
            parsed[arg.name] = _number_grid(grid, arg) + (None,)
        else:
            parsed[arg.name] = _distinct_grid(grid, arg)

    shape = tuple(max([p[0].shape[d] for p in parsed.values()], default=1) for d in (0, 1))
    errors = np.full(shape, whole_error, dtype=object)
    bad = np.full(shape, whole_error is not None)
    flats = {}
    for name, (vals, errs, table) in parsed.items():
        r, c = vals.shape
        if not (r in (1, shape[0]) and c in (1, shape[1])):
            sizes = ", ".join(f"{n} is {p[0].shape[0]}x{p[0].shape[1]}" for n, p in parsed.items())
            errs = np.full((r, c), None, dtype=object) if errs is None else errs
            msg = (f"#shape: this cell is outside the {r}x{c} range given for {name} ({sizes}); use ranges "
                   "of the same shape, a row against a column, or single cells")
            cell_bad = _fit(errs != None, shape, True)  # noqa: E711
            texts = _fit(errs, shape, msg)
        elif errs is not None:
            cell_bad, texts = _fit(errs != None, shape, True), _fit(errs, shape, None)  # noqa: E711
        else:
            cell_bad = None
        if cell_bad is not None:
            new = cell_bad & ~bad
            errors[new] = texts[new]
            bad |= cell_bad
        flats[name] = (_fit(vals, shape, vals.flat[0]).ravel(), table)

    def call_args(idx):
        out = dict(fixed)
        for name, (flat, table) in flats.items():
            out[name] = flat[idx] if table is None else table.take(flat[idx])
        return out

    dtype = {"number": np.float64, "bool": bool}.get(kind, object)
    result = np.zeros(shape[0] * shape[1], dtype=dtype)
    errors_flat = errors.ravel()
    valid = np.flatnonzero(~bad.ravel())
    if valid.size:
        _run(core, call_args, valid, result, errors_flat, [MAX_SPLITS])
    return _finish(result.reshape(shape), errors_flat.reshape(shape), scale, kind)


def _run(core, call_args, idx, result, errors_flat, budget):
    """Core over the cells ``idx``; on a core error, halve until it is pinned to its cells (or out of budget)."""
    try:
        result[idx] = np.broadcast_to(np.asarray(core(**call_args(idx))), idx.shape)
        return
    except ScalesheetError as exc:
        text = exc.excel_text()
    except Exception as exc:  # a core bug: keep it to the cells that trigger it
        text = f"#error: unexpected {type(exc).__name__}: {str(exc)[:150]}"
    if idx.size == 1 or budget[0] <= 0:
        errors_flat[idx] = text
        return
    budget[0] -= 1
    half = idx.size // 2
    _run(core, call_args, idx[:half], result, errors_flat, budget)
    _run(core, call_args, idx[half:], result, errors_flat, budget)


def _finish(result, errors, scale, kind):
    if kind == "number":
        values = result * scale
        bad = ~np.isfinite(values)
        if bad.any():
            fill = bad & (errors == None)  # noqa: E711
            errors = errors.copy()
            errors[fill] = "#result: not a finite number; check the magnitudes of the inputs"
    else:
        values = result
    mask = errors != None  # noqa: E711
    if mask.any():
        values = values.astype(object)
        values[mask] = errors[mask]
    if values.shape == (1, 1):
        return values.item() if values.dtype != object else values[0, 0]
    return values.tolist()
