"""The only module that knows Excel's shapes.

What xlwings passes (with ``ndim=2`` and ``err_to_str=True`` on every argument, as udfs declares): a list
of rows for any range (a single cell too: ``[[v]]``), ``None`` for a blank, ``bool`` for TRUE/FALSE,
``datetime`` for a date, and the error text (``"#N/A"``) for an error cell. xlwings classic converts only
the seven classic errors to text; the newer ones (``#SPILL!``, ``#CALC!``, ``#FIELD!``, ``#BLOCKED!``,
``#CONNECT!``, ``#UNKNOWN!``, ``#GETTING_DATA``, ``#BUSY!`` ...) reach Python as the COM error code, a large
negative ``int`` (0x800A0000 + the XlCVError number as a signed 32-bit value). Excel passes every number as a
``float``, so such an ``int`` can only be an error and is read as one. Called as plain Python, a function
also accepts scalars, flat lists (read as a column) and numpy arrays.

Three paths, one answer (the tests hold them to exact equality):

* **A single cell** (every argument a scalar or a 1x1 range) is answered from a memo (the last 4,096 distinct
  calls) when the same arguments were seen before, else parsed as scalars: catalog names resolve once per distinct
  name for the life of the process, numbers are checked against their rule in plain Python, and the
  function's plan (``udfs.core.plan``, per-combination constants) or its core function is called on them.
  Anything unusual (an error cell, a blank required argument, a range for a model) goes to the array path,
  which writes the message. The memo key is the cell values themselves (``[[v]]`` unwrapped when every
  argument is a 1x1 list of text, a float or a blank), so a repeated cell costs one dict look-up; for the hot
  questions the Excel function itself does that look-up before its body runs (``memo_first``: straight-line
  code generated with the function's own signature). The hot questions (VRAM, decode, GPUs needed) are
  ``Site`` objects: once a cell's names are resolved and its
  combination's constants kept (``udfs.core.rows.CACHE``), a new context or batch goes straight to the
  plan's one-cell row formula (``_fast``); the first time, the names and constants are read from
  ``data/plan_parts.csv`` (``udfs.core.quick``), so neither numpy nor the catalog parser is needed for a
  cell of catalog names (numpy, the catalogs and the core load when something else first needs them).
* **A custom model or GPU range with single cells** (a two-row block of field names over values, as a sheet's
  catalog-row block passes to every cell that uses it) is read by the single-cell path too: the block is parsed
  once per distinct content (cells and their types) into the record the array path builds (``_Block``), the
  call is remembered like a single cell's, and a plan keeps the block's constants under a key of its own. A
  core without a plan is called as the array path calls it for one cell (``_one_cell``: one-item arrays, so
  numpy takes the same loops), as is a single cell whose optional number is blank with the core's own
  default (None, read as NaN). A block the array path would reject, or any other range, goes to the array
  path, which writes the message.
* **Ranges** are parsed at their own shape: a column of one-item rows is flattened without building object
  arrays, numbers are converted in one pass, names are coded through a dict (one resolution per distinct
  name). The arguments are lined up like Excel's array arithmetic (a single cell, row or column repeats;
  where ranges of different sizes overlap only partly, the cells outside a range get ``#shape: ...``, as
  Excel gives #N/A there), the plan or core runs once for all valid cells and ``#argument: message`` text
  goes in the cells whose inputs are bad, so one bad row does not blank the column. When the core rejects
  a combination it can only judge whole (e.g. ``gpus`` not a multiple of ``tensor_parallel``), the valid
  cells are split in halves until the error is pinned to its cells. The garbage collector is paused while
  the input and result lists are built (a million one-item lists would wake it dozens of times). "Every row
  a list" and "every cell a float" are counted (``operator.countOf``) before any set of types is built, and
  the error texts are made only when a cell has an error.
* Nothing raises out of here: an unexpected failure becomes text. Text results are cut to fit a cell.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import struct
from collections import OrderedDict, defaultdict
from itertools import chain, count
from operator import countOf, itemgetter

from ._lazy import lazy
from .core import quick, rows
from .core.errors import ScalesheetError
from .core.validate import Rule, check

# Imported when first needed (a range, a custom model, a name the plan-parts file does not know ...): a cell
# of catalog names is answered without numpy (udfs.core.quick, udfs.core.rows), so `import udfs` stays cheap.
np = lazy("numpy", globals(), "np")
architecture = lazy("udfs.core.architecture", globals(), "architecture")
catalog = lazy("udfs.core.catalog", globals(), "catalog")
plan = lazy("udfs.core.plan", globals(), "plan")

EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#DATA!",
                "#EXTERNAL!", "#PYTHON!"}
# Excel's cell errors as COM passes them: 0x800A0000 + XlCVError (signed 32-bit). XlCVError numbers from
# Microsoft's VBA reference "XlCVError enumeration (Excel)", learn.microsoft.com/office/vba/api/excel.xlcverror
# (read 2026-11-28); xlwings classic (conversion in xlwings/_xlwindows.py, `cell_errors`, 0.37) turns only
# the first seven into text. Other codes of the facility (e.g. #BUSY!, which has no VBA constant) are still
# errors and are named by their number.
COM_ERROR_BASE = -2146828288  # 0x800A0000 - 2**32
XL_ERRORS = {2000: "#NULL!", 2007: "#DIV/0!", 2015: "#VALUE!", 2023: "#REF!", 2029: "#NAME?", 2036: "#NUM!",
             2042: "#N/A", 2043: "#GETTING_DATA", 2045: "#SPILL!", 2046: "#CONNECT!", 2047: "#BLOCKED!",
             2048: "#UNKNOWN!", 2049: "#FIELD!", 2050: "#CALC!"}
_COM_LO, _COM_HI = COM_ERROR_BASE, COM_ERROR_BASE + 0xFFFF
MAX_CELL_TEXT = 32767  # Excel's limit on the characters of one cell (Excel specifications and limits)
MAX_ERROR_TEXT = 1024  # an error text longer than this is cut (it quotes the input, which may be huge)
REQUIRED = object()  # marks an argument without a default
MAX_SPLITS = 4096  # extra core calls spent pinning a core error to its cells; past it a chunk shares the error
LITE_ZERO_HINT = ("; if the cell is blank, note that xlwings Lite may pass a blank cell as 0: leave the "
                  "argument out of the formula to use its default")


def com_error_text(value) -> str | None:
    """The Excel error an ``int`` COM error code stands for (None for any other value)."""
    if type(value) is int and _COM_LO <= value <= _COM_HI:
        code = value - COM_ERROR_BASE
        return XL_ERRORS.get(code, f"#ERROR({code})")
    return None


# --------------------------------------------------------------------------------- argument kinds
class Arg:
    """How one Excel argument is read.

    ``kind``: number, model, gpu, precision, kv_precision or choice. ``default``: used for a blank cell
    (REQUIRED if none; a callable is called). ``rule``: bounds of a number. ``parse``: value -> clean value for a choice
    (raises ScalesheetError). ``check``: extra test of a resolved name (e.g. a training precision).

    Args are interned: the same fields give the same object, even when a function builds its Arg inline on
    every call. The memo keys calls by the Arg objects (identity: the fastest hash), so that is what lets
    such a function's repeated cells be remembered too. Immutable (written out rather than a dataclass, whose
    module imports ``inspect``: a fifth of ``import udfs``).
    """

    __slots__ = ("name", "kind", "default", "rule", "parse", "check", "__weakref__")
    _FIELDS = ("name", "kind", "default", "rule", "parse", "check")

    def __new__(cls, *args, **kwargs):
        # The interning key: the arguments as given (a call site always gives them in one order) and their
        # types (TRUE is not 1). Fields are set only when the Arg is made: the functions build their Arg lists
        # on every call, so a second __init__ pass would cost as much as the look-up (no __init__ is defined;
        # object's accepts the arguments since __new__ is overridden).
        key = (args, tuple(kwargs.items()), tuple(map(type, args)), tuple(map(type, kwargs.values())))
        try:
            return _INTERNED[key]
        except KeyError:
            arg = _INTERNED[key] = cls._made(*args, **kwargs)
            return arg
        except TypeError:  # an unhashable default: not interned
            return cls._made(*args, **kwargs)

    @classmethod
    def _made(cls, name: str, kind: str, default=REQUIRED, rule: Rule | None = None, parse=None, check=None):
        arg = super().__new__(cls)
        for field, value in zip(cls._FIELDS, (name, kind, default, rule, parse, check)):
            object.__setattr__(arg, field, value)
        return arg

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")

    def __repr__(self):
        return "Arg(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self._FIELDS) + ")"


_INTERNED: dict = {}


def default_of(arg: Arg):
    """The value a blank takes (a callable default is read when needed, so catalogs load lazily)."""
    return arg.default() if callable(arg.default) else arg.default


def _models(names, argument="model"):
    return catalog.models(names, argument)


def _gpus(names, argument="gpu"):
    return catalog.gpus(names, argument)


def _precisions(values, argument="precision"):
    return catalog.precisions(values, argument)


def _kv_precisions(values, argument="kv_precision"):
    return catalog.kv_precisions(values, argument)


LOOKUPS = {"model": _models, "gpu": _gpus, "precision": _precisions, "kv_precision": _kv_precisions}
RANGE_MARKERS = {"model": {"n_layers", "d_model"}, "gpu": {"memory_gib", "bandwidth_gb_s"}}


# ------------------------------------------------------------------------------------ parsing shapes
class Cells:
    """One argument's cells: a flat list in row-major order and a shape, or a numeric numpy array.

    A column of one-item rows (what xlwings passes for a column range) is flattened in one pass, without
    the nested-list discovery of ``np.array(rows, dtype=object)``; the object array is built only when a
    caller asks for it.
    """

    __slots__ = ("flat", "shape", "arr", "_types")

    def __init__(self, flat=None, shape=(1, 1), arr=None):
        self.flat, self.shape, self.arr, self._types = flat, shape, arr, None

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def types(self) -> set:
        if self._types is None:
            self._types = set(map(type, self.flat))
        return self._types

    def objects(self) -> np.ndarray:
        if self.arr is not None:
            return self.arr
        out = np.empty(len(self.flat), dtype=object)
        try:
            out[:] = self.flat
        except (ValueError, TypeError):  # a list inside a cell: numpy would read it as a sequence
            for i, v in enumerate(self.flat):
                out[i] = v
        return out.reshape(self.shape)


def cells_of(value) -> Cells:
    """Any xlwings value as Cells: scalar -> 1x1, flat list -> column, rows -> rows."""
    if isinstance(value, np.ndarray):
        arr = value if value.dtype.kind in "fiuO" else value.astype(object)
        arr = arr.reshape(1, 1) if arr.ndim == 0 else (arr.reshape(-1, 1) if arr.ndim == 1 else arr)
        if arr.ndim != 2:
            raise ScalesheetError("shape", "a range is rows of cells, all rows of the same length")
        if arr.dtype.kind in "fiu":
            return Cells(None, arr.shape, arr)
        return Cells(arr.ravel().tolist(), arr.shape)
    if isinstance(value, (list, tuple)):
        n = len(value)
        if n == 0:
            return Cells([], (0, 1))
        # Every row a list (what xlwings passes): counting them costs half of collecting the set of row types.
        row_types = {list} if countOf(map(type, value), list) == n else set(map(type, value))
        if not row_types & {list, tuple}:
            return Cells(list(value), (n, 1))  # a flat list: a column
        ragged = ScalesheetError("shape", "a range is rows of cells, all rows of the same length")
        if not row_types <= {list, tuple}:
            raise ragged
        try:
            return Cells([v for (v,) in value], (n, 1))  # one-item rows: the common column, one pass
        except ValueError:
            width = len(value[0])
            if any(len(r) != width for r in value):
                raise ragged from None
            return Cells([v for r in value for v in r], (n, width))
    return Cells([value], (1, 1))


def to_grid(value) -> np.ndarray:
    """Any xlwings value as a 2-D array: scalar -> 1x1, flat list -> column, rows -> rows."""
    return cells_of(value).objects()


def is_blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def excel_error(v) -> str | None:
    """The Excel error a cell holds (xlwings err_to_str, or a COM error code), or our own '#...' text."""
    if isinstance(v, str) and v.startswith("#"):
        return v.strip()
    return com_error_text(v)


def _input_error(v) -> str:
    err = excel_error(v)
    code = err if err in EXCEL_ERRORS or err.startswith("#ERROR(") else (err[:60] + ("…" if len(err) > 60 else ""))
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


def _rule_ok(x: float, rule: Rule) -> bool:
    """The scalar form of ``_rule_mask`` (same comparisons)."""
    if not math.isfinite(x):
        return False
    lo = rule.minimum
    if lo is not None and (x < lo if rule.min_inclusive else x <= lo):
        return False
    if rule.maximum is not None and x > rule.maximum:
        return False
    return not (rule.integer and math.floor(x) != x)


def _number_message(v, arg: Arg) -> str:
    rule = arg.rule
    if is_blank(v):
        return f"is blank; use {rule.describe()}"
    if excel_error(v):
        return _input_error(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return f"a date is not allowed; use {rule.describe()}"
    if isinstance(v, str):
        return f"'{v[:40]}' is text; use {rule.describe()}"
    try:
        msg = check(v, rule) or f"{v!r} is not a number; use {rule.describe()}"
    except OverflowError:  # an int beyond float range
        return f"{str(v)[:12]}... is too large; use {rule.describe()}"
    if arg.default is not REQUIRED and type(v) in (int, float) and v == 0:
        msg += LITE_ZERO_HINT
    return msg


_FLOATISH = frozenset({float, int})


def _number_grid(cells: Cells, arg: Arg):
    """(float values, error texts or None) for a numeric argument, vectorised for plain numbers."""
    shape = cells.shape
    if cells.arr is not None:
        numeric = None
        vals = cells.arr.astype(np.float64)
    elif countOf(map(type, cells.flat), float) == cells.size:  # every cell a float (what Excel passes)
        numeric = None
        vals = _floats(cells.flat).reshape(shape)
    else:
        types = cells.types()
        plain = types <= _FLOATISH and not (int in types and any(
            _COM_LO <= v <= _COM_HI for v in cells.flat if type(v) is int))
        if plain:
            numeric = None
            try:
                vals = np.fromiter(cells.flat, np.float64, len(cells.flat)).reshape(shape)
            except OverflowError:  # a Python int beyond float range
                plain = False
        if not plain:
            grid = cells.objects()
            number_types = {int, float, np.float64, np.float32, np.int64, np.int32}
            numeric = np.fromiter((t in number_types and com_error_text(v) is None
                                   for t, v in zip(map(type, cells.flat), cells.flat)), bool, cells.size)
            numeric = numeric.reshape(shape)
            vals = np.zeros(shape)
            try:
                vals[numeric] = grid[numeric].astype(np.float64)
            except OverflowError:
                vals[numeric] = [float(v) if abs(v) < 1e308 else np.inf for v in grid[numeric]]
    look = _rule_mask(vals, arg.rule)
    if numeric is not None:
        look |= ~numeric
    if not look.any():
        return vals, None
    # The flagged cells: a blank takes the default, anything else gets its message, once per distinct value (a
    # column of one text or one out-of-range number is one message, not a million).
    at = np.flatnonzero(look)
    uniques, inv = _codes(cells.objects().reshape(-1)[at].tolist())
    blank = [is_blank(v) and arg.default is not REQUIRED for v in uniques]
    fixes = _objects([default_of(arg) if b else f"#{arg.name}: {_number_message(v, arg)}"
                      for v, b in zip(uniques, blank)])
    is_default = np.array(blank, dtype=bool)[inv]
    if is_default.any():
        np.put(vals, at[is_default], fixes[inv[is_default]].astype(np.float64))  # C-order places, any layout
    if is_default.all():
        return vals, None
    errs = np.full(shape, None, dtype=object)
    np.put(errs, at[~is_default], fixes[inv[~is_default]])
    return vals, errs


def _floats(flat: list) -> np.ndarray:
    """A list of Python floats (the caller has checked every type) as a read-only float64 array: ``struct`` packs
    them in one C loop, about 1.2-1.5x faster than ``np.fromiter``'s per-item setter for a 1M-row column."""
    return np.frombuffer(struct.Struct(f"{len(flat)}d").pack(*flat), np.float64)


def _codes(flat) -> tuple[list, np.ndarray]:
    """Distinct values (first-seen order) and each cell's index into them: one dict pass, no sorting."""
    try:
        index, codes = _first_seen(flat)
        kinds = set(map(type, index))
        if not (kinds & {bool, np.bool_} or (kinds & {int, float} and (0 in index or 1 in index))) \
                or len(set(map(type, flat))) == 1:
            return list(index), codes
        index = {}  # TRUE == 1 would merge with the number 1: keep the types apart
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


def _first_seen(flat: list) -> tuple[dict, np.ndarray]:
    """(value -> its number in first-seen order, each cell's number as an intp array), in one C pass.

    ``itemgetter(*flat)`` looks every cell up in a ``defaultdict`` whose factory is a counter, so a value seen
    for the first time is numbered as it is met: one hash pass instead of ``dict.fromkeys`` and a second look-up
    pass (about half the time of a name column). Up to 256 distinct values the numbers are written as bytes
    (numpy's generic setter would convert each Python int). Raises TypeError for an unhashable cell.
    """
    index = defaultdict(count().__next__)
    if len(flat) < 2:  # itemgetter of one key gives the value, not a tuple
        return index, np.array([index[v] for v in flat], dtype=np.intp)
    codes = itemgetter(*flat)(index)
    if len(index) <= 256:
        return index, np.frombuffer(bytes(codes), np.uint8).astype(np.intp)
    return index, np.fromiter(codes, np.intp, len(codes))


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
    try:
        if arg.kind in LOOKUPS:
            record = LOOKUPS[arg.kind](v, arg.name)
            if arg.check:
                arg.check(record)
            return v
        return arg.parse(v)
    except ScalesheetError as exc:
        if arg.default is not REQUIRED and type(v) in (int, float) and v == 0:
            raise ScalesheetError(exc.argument, exc.message + LITE_ZERO_HINT) from None
        raise


def _distinct_grid(cells: Cells, arg: Arg):
    """(values, error texts or None, table): names resolved once per distinct value.

    For catalog kinds ``values`` are row indices into ``table`` (the resolved records); for a choice they
    are the parsed values and ``table`` is None.
    """
    uniques, inv = _codes(cells.flat if cells.flat is not None else cells.arr.ravel().tolist())
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
        values = pos[inv].reshape(cells.shape)
        if ok:
            table = LOOKUPS[arg.kind](_objects([clean[i] for i in ok]), arg.name)
    else:
        values = _objects(clean)[inv].reshape(cells.shape)
    errs = _objects(msgs)[inv].reshape(cells.shape) if len(ok) < len(uniques) else None
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


def cell_text(text: str) -> str:
    """Text that fits an Excel cell: an error text is cut at MAX_ERROR_TEXT characters, any text at 32,767."""
    limit = MAX_ERROR_TEXT if text.startswith("#") else MAX_CELL_TEXT
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ------------------------------------------------------------------------------------- evaluation
SCALAR_MEMO_SIZE = 4096
_scalar_memo: OrderedDict = OrderedDict()  # first in, first out: a hit costs one look-up
_MEMO_TYPES = frozenset({str, float, int, bool, type(None)})
_RECORDS: dict = {}  # (kind, type, value) -> (record, plan key): one resolution per distinct name per process
_RECORDS_MAX = 65536
_GENERIC = object()  # the scalar path declines: the array path answers (and writes any message)
_ARRAY_CELL = object()  # the scalar path declines: _one_cell answers as the array path would (then the array path)


def plans() -> dict:
    """The per-combination fast forms of core functions (udfs.core.plan)."""
    return plan.PLANS


_DISPATCH: dict = {}


def _plan_for(core, args):
    """The plan answering ``core`` for these arguments (every argument it needs given), else None."""
    key = (core, *args)
    try:
        return _DISPATCH[key]
    except KeyError:
        plan = plans().get(core)
        if plan is not None and not {*plan.records, *plan.numbers} <= {a.name for a in args}:
            plan = None
        if len(_DISPATCH) > 4096:
            _DISPATCH.clear()
        _DISPATCH[key] = plan
        return plan


def clear_caches() -> None:
    """Forget remembered answers and resolved names (benchmarks time new calls this way)."""
    _scalar_memo.clear()
    _RECORDS.clear()
    _BLOCKS.clear()
    for names in _NAMES.values():
        names.clear()
    for kept in rows.CACHE.values():  # the plans' constants (udfs.core.plan keeps them here too)
        kept.clear()


def _unwrap(v):
    """A 1x1 range (``[[v]]``, ``[v]``, a size-1 numpy array) as its value, numpy scalars as Python ones;
    a COM error code as its error text; anything else unchanged."""
    t = type(v)
    if t is list or t is tuple:
        if len(v) != 1:
            return v
        inner = v[0]
        ti = type(inner)
        if ti is list or ti is tuple:
            if len(inner) != 1 or type(inner[0]) in (list, tuple):
                return v
            v = inner[0]
        else:
            v = inner
        t = type(v)
    elif t is np.ndarray:
        if v.size != 1 or v.ndim > 2:
            return v
        v = v.reshape(()).item() if v.dtype.kind in "fiubO" else v
        t = type(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


class Site:
    """One Excel function's fixed part of an ``evaluate`` call: the core function, its Args, scale and kind.

    A function answering the same question on every call builds its Site once (a module constant) and calls
    ``site(values)``: the memo key is then the Site (hashed by identity) and the cell values, about half the
    work of hashing the core function and every Arg on each call, and the fast path's reading of the
    arguments (``_spec``) is kept on the Site. Same answers as ``evaluate(core, args, values, ...)``.
    """

    __slots__ = ("_core", "args", "scale", "kind", "plan", "spec")

    def __init__(self, core, args: list[Arg], *, scale: float = 1.0, kind: str = "number", plan: str | None = None):
        """``core``: the function, or the name of a udfs.core.api function (imported when first needed);
        ``plan``: the name of the plan answering it (udfs.core.rows.PLANS), so that a cell of catalog names
        is answered without importing the core."""
        self._core, self.args, self.scale, self.kind, self.plan = core, list(args), scale, kind, plan
        self.spec = None

    @property
    def core(self):
        core = self._core
        if isinstance(core, str):
            from .core import api
            core = self._core = getattr(api, core)
        return core

    def __repr__(self):
        return f"Site({self._core if isinstance(self._core, str) else self._core.__name__})"

    def __call__(self, values: list):
        vals = []
        append = vals.append
        try:  # as in evaluate; inlined (a helper call would add ~10 % to a memo hit, the hottest path)
            for v in values:
                if v is not None:
                    if type(v) is not list:
                        raise ValueError
                    [v] = v
                    if type(v) is not list:
                        raise ValueError
                    [v] = v
                    t = type(v)
                    if t is not str and t is not float and v is not None:
                        raise ValueError
                append(v)
        except ValueError:
            return _evaluate_cells(self.core, self.args, values, self.scale, self.kind)
        key = (self, *vals)
        hit = _scalar_memo.get(key)
        if hit is not None:
            return hit
        if self.spec is None:
            self.spec = (_spec_for(self.plan, self.args) if self.plan and self.kind == "number"
                         else _spec(self.core, self.args, self.kind))
        if self.spec:
            out = _fast(self.spec, vals, self.scale)
            if out is not None:
                return _store(key, out)
        return _remember(key, self.core, self.args, vals, self.scale, self.kind)


_FIRST_TEMPLATE = """
def make(site, get, plain, type, list, KEY_TYPES):
    def {name}({params}):
        if {when}:
            try:
{unwrap}
            except ValueError:
                return plain({params})
            hit = get((site, {values}))
            if hit is not None:
                return hit
        return plain({params})
    return {name}
"""
_FIRST_ARG = """\
                if {a} is None:
                    {v} = None
                else:
                    if type({a}) is not list:
                        raise ValueError
                    [_r] = {a}
                    if type(_r) is not list:
                        raise ValueError
                    [{v}] = _r
                    if type({v}) not in KEY_TYPES:
                        raise ValueError
"""
_KEY_TYPES = frozenset({str, float, type(None)})


def memo_first(site: Site, when_omitted: tuple = ()):
    """Decorator: the Excel function ``f`` answered from the memo before ``f`` itself runs.

    A repeated cell is the hottest path of a recalculation (every cell whose inputs did not change; issue 14:
    VRAM + decode + GPUs needed at most 5 µs). The function returned has ``f``'s name, parameters, defaults and
    docstring (so xlwings registers the same function) and, while the arguments named in ``when_omitted``
    are omitted, looks the cell up under the key Site.__call__ builds (``site``, then the cell values of the
    Site's arguments, which are named like ``f``'s parameters); anything else, and any miss, is ``f``'s call.
    Only what Site.__call__ itself keys is looked up (an omitted argument, or a list holding one list holding
    text, a float or a blank), every type checked before anything is unpacked, so a hit is exactly the
    answer ``f`` would give, and any other shape or value reaches ``f`` unchanged.

    Written out as Python source per function (as collections.namedtuple writes its methods): a loop over
    the arguments, a helper call per argument or a second function call per cell would each cost about as
    much as the look-up itself.
    """
    def wrap(f):
        code = f.__code__
        params = code.co_varnames[:code.co_argcount]
        if code.co_flags & 0x0C or code.co_kwonlyargcount or code.co_posonlyargcount:  # *args, **kwargs
            raise TypeError(f"memo_first: {f.__name__} must take plain positional-or-keyword arguments")
        if set(params) & {"make", "site", "get", "plain", "type", "list", "KEY_TYPES", "_r", "hit"} or any(
                p.startswith("_v") for p in params):
            raise TypeError(f"memo_first: a parameter of {f.__name__} has a name the generated code uses")
        names = [a.name for a in site.args]
        if not set(names) <= set(params) or not set(when_omitted) <= set(params) - set(names):
            raise TypeError(f"memo_first: {f.__name__} does not take the arguments of {site!r}")
        unwrap = "".join(_FIRST_ARG.format(a=a, v=f"_v{i}") for i, a in enumerate(names))
        source = _FIRST_TEMPLATE.format(
            name=f.__name__, params=", ".join(params), unwrap=unwrap,
            when=" and ".join(f"{a} is None" for a in when_omitted) or "True",
            values=", ".join(f"_v{i}" for i in range(len(names))))
        namespace = {}
        exec(compile(source, f"<udfs.adapter.memo_first {f.__name__}>", "exec"), namespace)
        # everything the function reads is a closure cell (cheaper to read than a global or a builtin)
        fast = namespace["make"](site, _scalar_memo.get, f, type, list, _KEY_TYPES)
        fast.__defaults__, fast.__kwdefaults__ = f.__defaults__, f.__kwdefaults__
        fast.__doc__, fast.__module__, fast.__qualname__ = f.__doc__, f.__module__, f.__qualname__
        fast.__wrapped__ = f
        return fast
    return wrap


def evaluate(core: Callable, args: list[Arg], values: list, *, scale: float = 1.0, kind: str = "number"):
    """Call ``core(**resolved)`` over the broadcast of ``values``; see the module docstring.

    ``kind``: number (scaled by ``scale``), bool, or any (numbers or text from the core).
    Returns a scalar for a 1x1 result, else a list of rows.

    A call whose arguments are all single cells is remembered (the last SCALAR_MEMO_SIZE distinct calls,
    first in first out), keyed by the core function, the Arg objects and the cell values (with their types where a
    TRUE or an int could equal a float): Excel
    recalculates cells with unchanged arguments again and again, and the answer depends on nothing but the
    arguments and the catalogs, which do not change while Python runs.
    """
    vals = []
    append = vals.append
    try:  # every argument one cell as xlwings passes it ([[v]]) or omitted: the key is the values
        for v in values:
            if v is not None:
                if type(v) is not list:
                    raise ValueError
                [v] = v
                if type(v) is not list:
                    raise ValueError
                [v] = v
                t = type(v)
                if t is not str and t is not float and v is not None:
                    raise ValueError
            append(v)
    except ValueError:
        return _evaluate_cells(core, args, values, scale, kind)
    key = (core, scale, kind, *args, *vals)
    hit = _scalar_memo.get(key)
    if hit is not None:
        return hit
    return _remember(key, core, args, vals, scale, kind)


def _evaluate_cells(core, args, values, scale, kind):
    """``evaluate`` for any other shapes and types (a range, a TRUE, an int, a numpy value ...)."""
    vals = [v[0][0] if type(v) is list and len(v) == 1 and type(v[0]) is list and len(v[0]) == 1
            else (None if v is None else _unwrap(v)) for v in values]
    types = tuple(map(type, vals))
    if _MEMO_TYPES.issuperset(types):
        if int in types:  # a COM error code arrives as an int
            vals = [com_error_text(v) or v for v in vals]
            types = tuple(map(type, vals))
        key = (core, scale, kind, *args, *vals)
        if int in types or bool in types:  # TRUE == 1 == 1.0 as keys; Excel passes numbers as floats
            key += types
        hit = _scalar_memo.get(key)
        if hit is not None:
            return hit
        return _remember(key, core, args, vals, scale, kind)
    cells = _with_blocks(args, vals, types)
    if cells is not None:  # single cells and custom model/GPU ranges (catalog-row blocks): no grids
        key = (core, scale, kind, *args, *cells)
        if int in types or bool in types:
            key += types
        hit = _scalar_memo.get(key)
        if hit is not None:
            return hit
        return _remember(key, core, args, vals, scale, kind, cells)
    return _safe_evaluate(core, args, vals, scale, kind)


def _one_cell(core, args, vals, scale, kind):
    """One cell as the array path computes it, without its grids: a cell holding a custom model/GPU range, or
    a blank optional number whose default is None (the core's own default).

    A plan answers with its one-cell form (``_scalar``; tests/test_plan.py holds it to the column form bit for
    bit, powers included). Any other core is called exactly as the array path calls it for one cell: the
    block's record, numbers as one-item float arrays (a blank as the grid fills it: None is NaN), names as
    the one-row records and choices as one-item object arrays the range machinery builds, so numpy takes
    the same loops (a power of a numpy scalar can differ in its last bit from the power of a one-item
    array). _GENERIC when anything is unusual (the array path answers and words the message)."""
    if _plan_for(core, args) is not None:
        out = _scalar(core, args, vals, scale, kind)
        if out is not _ARRAY_CELL:
            return out
    kw = {}
    for arg, v in zip(args, vals):
        k = arg.kind
        if type(v) is _Block:
            kw[arg.name] = v.record
        elif k == "number":
            t = type(v)
            if t is float or t is int:
                x = float(v)
                if not _rule_ok(x, arg.rule):
                    return _GENERIC
                kw[arg.name] = np.array([x])
            elif (v is None or (t is str and not v.strip())) and arg.default is not REQUIRED:
                out = np.zeros(1)
                out[0] = default_of(arg)  # as _number_grid fills a blank (None: NaN)
                kw[arg.name] = out
            else:
                return _GENERIC
        elif k in LOOKUPS:  # a name: as _distinct_grid reads it (the raw text, or the default for a blank)
            if v is None or (type(v) is str and not v.strip()):
                if arg.default is REQUIRED or callable(arg.default):
                    return _GENERIC
                v = arg.default
            if type(v) is not str or v.startswith("#"):
                return _GENERIC
            record = _one_row(k, v, arg.name)  # an unknown name raises: the array path writes the message
            if arg.check is not None:
                arg.check(record)
            kw[arg.name] = record
        else:
            if type(v) is bool or (type(v) is str and v.startswith("#")):
                return _GENERIC
            kw[arg.name] = _objects([_parse_one(v, arg)])  # raises: the array path writes the message
    dtype = {"number": np.float64, "bool": bool}.get(kind, object)
    result = np.zeros(1, dtype=dtype)
    result[:] = np.broadcast_to(np.asarray(core(**kw)), (1,))
    return _finish(result.reshape(1, 1), None, scale, kind)


class _Block:
    """One custom model or GPU given as a two-row (or two-column) range, parsed once per distinct content: the
    record the array path would build (``from_mapping``), and a key of its own for the plans' kept constants.
    Equal (and hashed) by content, so a call holding one can be remembered like a call of single cells."""

    __slots__ = ("content", "hash", "record", "pkey")

    def __init__(self, content, record):
        self.content, self.hash, self.record = content, hash(content), record
        self.pkey = ("range", object())  # unique to this parse: never a catalog position or a ("bits", x) key

    def __hash__(self):
        return self.hash

    def __eq__(self, other):
        return self is other or (type(other) is _Block and self.content == other.content)

    def __repr__(self):
        return f"_Block({self.content[0]}:{self.content[1]})"


def _one_row(kind, clean, argument):
    """The one-row record ``_distinct_grid`` builds for one name (``LOOKUPS[kind]`` of a one-item array).
    A catalog model or GPU name is read from its own row while its whole catalog is not built."""
    if type(clean) is str and ((kind == "model" and not catalog._model_arrays.cache_info().currsize)
                               or (kind == "gpu" and not catalog._gpu_arrays.cache_info().currsize)):
        return _row_record(kind, clean, argument)
    return LOOKUPS[kind](_objects([clean]), argument)


def _row_record(kind, name, argument):
    """A catalog model or GPU as a one-row record read from its own row, converted as the catalog's arrays
    convert every row (catalog._model_arrays, catalog._gpu_arrays); tests/test_udf_recalc_fast.py checks
    both ways give the same record for every name."""
    if kind == "model":
        table = catalog.model_table()
        row = table.rows[table.position(name, argument)]
        return architecture.from_numbers([architecture.record_to_numbers(
            row, argument=f"models.csv row {row.get('name')}")])
    table = catalog.gpu_table()
    row = table.rows[table.position(name, argument)]
    return catalog.gpus_from_numbers([catalog.gpu_record_to_numbers(row, f"gpus.csv row {row['name']}")])


_BLOCKS: dict = {}  # content -> _Block, or None where the array path must answer (not a field range, invalid)
_BLOCKS_MAX = 512
_BLOCK_CELLS = 1024  # the most cells a block may have (512 fields; the catalogs have fewer than 80)


def _with_blocks(args, vals, types):
    """``vals`` with every custom model/GPU range as its ``_Block``, when every other value is a single cell
    (a memo type); None otherwise (the array path answers)."""
    out = None
    for i, t in enumerate(types):
        if t in _MEMO_TYPES:
            continue
        arg = args[i]
        if t is not list or arg.kind not in RANGE_MARKERS:
            return None
        block = _block(vals[i], arg)
        if block is None:
            return None
        if out is None:
            out = list(vals)
        out[i] = block
    if out is not None and int in types:  # a COM error code in a single cell: as _evaluate_cells reads it
        out = [v if type(v) is _Block else (com_error_text(v) or v) for v in out]
    return out


def _block(value: list, arg: Arg):
    """The ``_Block`` of a custom model/GPU range (rows of cells as xlwings passes them), or None when the
    array path must answer: not rows of lists of one width, not a field range, an unhashable cell, or a record
    its validation rejects (the array path writes that message)."""
    n = len(value)
    if n == 0 or type(value[0]) is not list:
        return None
    width = len(value[0])
    # a field range is two rows or two columns of at most _BLOCK_CELLS cells: anything else (a column of a
    # million rows) goes to the array path at once, neither copied nor kept here
    if (n != 2 and width != 2) or n * width > _BLOCK_CELLS or countOf(map(type, value), list) != n:
        return None
    try:
        rows_ = tuple(map(tuple, value))
        flat_types = tuple(map(type, chain.from_iterable(rows_)))  # TRUE == 1 == 1.0: the types tell them apart
        table = catalog.gpu_table() if arg.kind == "gpu" else None  # gpu_from_mapping reads the catalog's columns
        content = (arg.kind, arg.name, table, rows_, flat_types)
        hit = _BLOCKS.get(content, False)
    except TypeError:  # an unhashable cell
        return None
    if hit is not False:
        return hit
    block = None
    try:
        cells = cells_of(value)  # exactly what _evaluate reads
        if cells.arr is None and 2 in cells.shape:
            mapping = field_range(cells.objects(), RANGE_MARKERS[arg.kind])
            if mapping is not None:
                block = _Block(content, architecture.from_mapping(mapping, arg.name) if arg.kind == "model"
                               else catalog.gpu_from_mapping(mapping, arg.name))
    except Exception:  # a ragged range, a record its validation rejects ...: the array path writes the message
        block = None
    if len(_BLOCKS) >= _BLOCKS_MAX:
        _BLOCKS.pop(next(iter(_BLOCKS)))
    _BLOCKS[content] = block
    return block


def _remember(key, core, args, vals, scale, kind, blocks=None):
    """Answer one cell (the scalar path, else the array path) and remember the answer under ``key``.
    ``blocks``: ``vals`` with its custom model/GPU ranges as ``_Block`` (answered as the array path answers
    one cell, ``_one_cell``)."""
    try:
        if blocks is not None:
            result = _one_cell(core, args, blocks, scale, kind)
        else:
            result = _scalar(core, args, vals, scale, kind)
            if result is _ARRAY_CELL:
                result = _one_cell(core, args, vals, scale, kind)
    except Exception:  # the array path answers, and words any error the same way
        result = _GENERIC
    if result is _GENERIC:
        result = _safe_evaluate(core, args, vals, scale, kind)
    return _store(key, result)


def _store(key, result):
    memo = _scalar_memo
    if len(memo) >= SCALAR_MEMO_SIZE:
        memo.popitem(last=False)  # the oldest entry (a plain dict's first key is found by scanning)
    memo[key] = result
    return result


def _safe_evaluate(core, args, values, scale, kind):
    enabled = gc.isenabled()
    gc.disable()  # a million one-item lists in and out would wake the collector dozens of times
    try:
        result = _evaluate(core, args, values, scale, kind)
    except ScalesheetError as exc:
        result = cell_text(exc.excel_text())
    except Exception as exc:  # never a traceback in a cell
        result = f"#error: unexpected {type(exc).__name__}: {str(exc)[:150]}"
    finally:
        if enabled:
            if type(result) is list and len(result) >= _LARGE_RESULT_ROWS:
                # The million one-item lists just built would be scanned by the next young collections and
                # then promoted anyway: move what is tracked to the oldest generation now (freeze, then
                # unfreeze), so they are scanned only by a full collection (about 6 % of a 1M-row column).
                gc.freeze()
                gc.unfreeze()
            gc.enable()
    return result


_LARGE_RESULT_ROWS = 100_000     # results of at least this many rows skip the young collections (above)


# ------------------------------------------------------------------------------------ single cells
def _record(v, arg: Arg):
    """(record, plan key) for one name cell, resolved once per distinct value; None: let the array path speak."""
    t = type(v)
    blank = v is None or (t is str and not v.strip())
    if blank:
        if arg.default is REQUIRED:
            return None
        store = (arg, t, v)  # a blank means this argument's default
        v = default_of(arg)
        t = type(v)
    elif t is bool or (t is str and v.startswith("#")):
        return None
    else:
        store = (arg.kind, t, v)
    try:
        record = _one_model(v, arg.name) if arg.kind == "model" else LOOKUPS[arg.kind](v, arg.name)
    except ScalesheetError:
        return None
    if arg.kind in ("precision", "kv_precision"):
        x = catalog._numeric_bits(v)
        pkey = ("bits", x) if x is not None else catalog.precision_table().position(v, arg.name)
    elif arg.kind == "model":
        pkey = catalog.model_table().position(v, arg.name)
    else:
        pkey = catalog.gpu_table().position(v, arg.name)
    if len(_RECORDS) >= _RECORDS_MAX:
        _RECORDS.clear()
    hit = _RECORDS[store] = (record, pkey)
    return hit


def _one_model(name, argument):
    """A catalog model as a 0-d record. Until the whole Models catalog has been built (by a range or a
    custom-model call), only the named row is parsed, the way catalog._model_arrays parses every row: the
    first call of a session then reads one model, not all of them (tests/test_plan.py checks that both ways
    give the same record for every model)."""
    if catalog._model_arrays.cache_info().currsize:
        return catalog.models(name, argument)
    table = catalog.model_table()
    row = table.rows[table.position(name, argument)]
    return architecture.one_from_numbers(architecture.record_to_numbers(
        row, argument=f"models.csv row {row.get('name')}"))


_SPECS: dict = {}  # (core, kind, *args) -> how the fast path reads such a call, or False
_NAMES: dict = {}  # Arg -> {cell value: catalog key} for the names the scalar path has resolved


def _spec(core, args, kind):
    """How the fast path reads a call of ``core`` (see ``_spec_for``), or False when it cannot."""
    plan = _plan_for(core, args)
    if plan is None or kind != "number":
        return False
    return _spec_for(plan.name, args)


def _spec_for(name, args):
    """(plan name, kept constants, one cell's row, [(slot, names, Arg)], [(slot, minimum, inclusive, maximum,
    integer, default)]) when every argument feeds the plan ``name`` (udfs.core.rows.PLANS) directly: catalog
    names without extra checks, numbers with a plain default; else False."""
    records, numbers, scalar_row = rows.PLANS[name]
    names = [a.name for a in args]
    if len(set(names)) != len(names) or set(names) != {*records, *numbers}:
        return False
    slot = {a.name: (i, a) for i, a in enumerate(args)}
    recs, nums = [], []
    for n in records:
        i, a = slot[n]
        if a.kind not in LOOKUPS or a.check is not None:
            return False
        recs.append((i, _NAMES.setdefault(a, {}), a))
    for n in numbers:
        i, a = slot[n]
        if a.kind != "number" or a.rule is None:
            return False
        d = a.default
        default = None if d is REQUIRED or callable(d) or type(d) not in (int, float) else float(d)
        r = a.rule
        nums.append((i, r.minimum, r.min_inclusive, r.maximum, r.integer, default))
    return name, rows.CACHE[name], scalar_row, recs, nums


def _quick_name(v, arg):
    """A name cell's catalog key from data/plan_parts.csv (udfs.core.quick), remembered; None: the core
    decides (and writes any message)."""
    w = v
    if w is None or (type(w) is str and not w.strip()):
        if arg.default is REQUIRED or callable(arg.default):
            return None
        w = arg.default
    k = quick.position(arg.kind, w)
    if k is not None:
        names = _NAMES[arg]
        if len(names) < _RECORDS_MAX:
            names[v] = k
    return k


def _fast(spec, vals, scale):
    """One cell of catalog names whose combination's constants are kept (or can be read from
    data/plan_parts.csv): straight to the plan's one-cell row formula, with the same constants the core's
    plan keeps, so the same bits. None: not this way (``_scalar`` or the array path answers)."""
    name, cache, scalar_row, recs, nums = spec
    key = []
    for i, names, arg in recs:
        v = vals[i]
        k = names.get(v)
        if k is None:
            k = _quick_name(v, arg)
            if k is None:
                return None
        key.append(k)
    key = tuple(key)
    c = cache.get(key)
    if c is None:
        c = quick.constants(name, key)
        if c is None:
            return None
        cache[key] = c
    xs = []
    for i, lo, inclusive, hi, integer, default in nums:
        x = vals[i]
        if type(x) is not float:
            if default is None or not (x is None or (type(x) is str and not x.strip())):
                return None
            x = default
        elif x - x != 0.0 or (lo is not None and (x < lo if inclusive else x <= lo)) \
                or (hi is not None and x > hi) or (integer and x != math.floor(x)):
            return None
        xs.append(x)
    out = float(scalar_row(c, *xs)) * scale
    if not math.isfinite(out):
        return "#result: not a finite number; check the magnitudes of the inputs"
    return out


def _scalar(core, args, vals, scale, kind):
    """One cell without grids: parsed in plain Python, then the plan or the core. _GENERIC when unusual."""
    sig = (core, kind, *args)
    spec = _SPECS.get(sig)
    if spec is None:
        spec = _SPECS[sig] = _spec(core, args, kind)
        if len(_SPECS) > 4096:
            _SPECS.clear()
    if spec:
        out = _fast(spec, vals, scale)
        if out is not None:
            return out
    kw, keys = {}, {}
    records = _RECORDS
    for arg, v in zip(args, vals):
        k = arg.kind
        if k == "number":
            t = type(v)
            if t is float or t is int:
                x = float(v)
                r = arg.rule  # _rule_ok, inline
                if x - x != 0.0 or (r.minimum is not None and (x < r.minimum if r.min_inclusive else x <= r.minimum)) \
                        or (r.maximum is not None and x > r.maximum) or (r.integer and x != math.floor(x)):
                    return _GENERIC
            elif (v is None or (t is str and not v.strip())) and arg.default is not REQUIRED:
                x = default_of(arg)
                if x is None:  # the core's own default: it reads the NaN a float grid holds, answered as a range's cell
                    return _ARRAY_CELL
                x = float(x)
            else:
                return _GENERIC
            kw[arg.name] = x
        elif k in LOOKUPS:
            if type(v) is _Block:  # a custom model/GPU range: as the array path, no extra check of the record
                kw[arg.name], keys[arg.name] = v.record, v.pkey
                continue
            hit = records.get((k, type(v), v)) or records.get((arg, type(v), v)) or _record(v, arg)
            if hit is None:
                return _GENERIC
            if arg.check is not None:
                arg.check(hit[0])  # raises: the array path writes the message
            elif v is None or type(v) is str:
                names = _NAMES.get(arg)
                if names is not None and len(names) < _RECORDS_MAX:
                    names[v] = hit[1]
            kw[arg.name], keys[arg.name] = hit
        else:
            if type(v) is str and v.startswith("#"):
                return _GENERIC
            kw[arg.name] = arg.parse(default_of(arg) if is_blank(v) and arg.default is not REQUIRED else v)
    plan = _plan_for(core, args)
    if plan is not None:
        out = plan.scalar(kw, keys)
    else:
        out = np.asarray(core(**kw))
        if out.shape != ():
            return _GENERIC
        out = out.item()
    if kind == "number":
        out = float(out) * scale
        if not math.isfinite(out):
            return "#result: not a finite number; check the magnitudes of the inputs"
        return out
    if kind == "bool":
        return bool(out)
    if isinstance(out, str):
        return cell_text(out)
    return out


# -------------------------------------------------------------------------------------------- ranges
def _evaluate(core, args, values, scale, kind):
    fixed, whole_error, parsed = {}, None, {}
    for arg, value in zip(args, values):
        if arg.kind in RANGE_MARKERS and isinstance(value, dict):
            mapping = value
        else:
            cells = cells_of(value)
            mapping = None
            if arg.kind in RANGE_MARKERS and cells.arr is None and 2 in cells.shape:
                mapping = field_range(cells.objects(), RANGE_MARKERS[arg.kind])
        if mapping is not None:  # one custom model/GPU for the whole call
            try:
                fixed[arg.name] = (architecture.from_mapping(mapping, arg.name) if arg.kind == "model"
                                   else catalog.gpu_from_mapping(mapping, arg.name))
            except ScalesheetError as exc:
                whole_error = whole_error or exc.excel_text()
            continue
        if cells.size == 0:
            raise ScalesheetError(arg.name, "is an empty range")
        if arg.kind == "number":
            parsed[arg.name] = _number_grid(cells, arg) + (None,)
        else:
            parsed[arg.name] = _distinct_grid(cells, arg)

    shape = tuple(max([p[0].shape[d] for p in parsed.values()], default=1) for d in (0, 1))
    cells = shape[0] * shape[1]
    # The error texts (object array) and the bad-cell mask are made when a cell has an error: a million-row
    # column without one is spared an object array of Nones and its comparison with None.
    errors = bad = None
    if whole_error is not None:
        errors, bad = np.full(shape, whole_error, dtype=object), np.full(shape, True)
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
            if errors is None:
                errors, bad = np.full(shape, None, dtype=object), np.zeros(shape, dtype=bool)
            new = cell_bad & ~bad
            errors[new] = texts[new]
            bad |= cell_bad
        flats[name] = (_fit(vals, shape, vals.flat[0]).reshape(-1), table)  # a single cell stays one value (a view)

    plan = _plan_for(core, args)

    def call_args(idx):
        out = dict(fixed)
        for name, (flat, table) in flats.items():
            out[name] = flat[idx] if table is None else table.take(flat[idx])
        return out

    dtype = {"number": np.float64, "bool": bool}.get(kind, object)
    result = np.zeros(cells, dtype=dtype)
    valid = np.arange(cells) if bad is None else np.flatnonzero(~bad.ravel())
    failed = []  # (cells, error text) where the core rejected them
    if valid.size:
        def pick(f, idx):
            return f if idx.size == cells else f[idx]  # every cell valid: no copy
        if plan is not None:
            _run(lambda idx: plan.column({n: (pick(f, idx), t) for n, (f, t) in flats.items()}, fixed), valid,
                 result, failed, [MAX_SPLITS])
        else:
            _run(lambda idx: core(**call_args(idx)), valid, result, failed, [MAX_SPLITS])
    if failed:
        if errors is None:
            errors = np.full(shape, None, dtype=object)
        errors_flat = errors.reshape(-1)
        for idx, text in failed:
            errors_flat[idx] = text
    return _finish(result.reshape(shape), errors, scale, kind)


def _run(compute, idx, result, failed, budget):
    """``compute`` over the cells ``idx`` (ascending); on a core error, halve until it is pinned to its cells
    (or out of budget). The cells left without an answer go to ``failed`` with the error text."""
    try:
        out = np.broadcast_to(np.asarray(compute(idx)), idx.shape)
        if idx.size == result.size:
            result[:] = out  # every cell (idx is then 0..n-1): no scatter
        else:
            result[idx] = out
        return
    except ScalesheetError as exc:
        text = exc.excel_text()
    except Exception as exc:  # a core bug: keep it to the cells that trigger it
        text = f"#error: unexpected {type(exc).__name__}: {str(exc)[:150]}"
    if idx.size == 1 or budget[0] <= 0:
        failed.append((idx, text))
        return
    budget[0] -= 1
    half = idx.size // 2
    _run(compute, idx[:half], result, failed, budget)
    _run(compute, idx[half:], result, failed, budget)


def _finish(result, errors, scale, kind):
    """The answer: a value for one cell, else rows; ``errors`` (texts where not None) may be None (no error)."""
    if kind == "number":
        values = result * scale if scale != 1.0 else result  # x * 1.0 is x, bit for bit
        bad = ~np.isfinite(values)
        if bad.any():
            if errors is None:
                errors = np.full(values.shape, None, dtype=object)
            else:
                errors = errors.copy()
            fill = bad & (errors == None)  # noqa: E711
            errors[fill] = "#result: not a finite number; check the magnitudes of the inputs"
    else:
        values = result
    mask = None if errors is None else errors != None  # noqa: E711
    if (mask is not None and mask.any()) or values.dtype == object:
        values = values.astype(object)
        if mask is not None:
            values[mask] = errors[mask]
        texts = [i for i, v in enumerate(values.flat) if isinstance(v, str) and len(v) > MAX_ERROR_TEXT]
        for i in texts:
            values.flat[i] = cell_text(values.flat[i])
    if values.shape == (1, 1):
        return values.item() if values.dtype != object else values[0, 0]
    return values.tolist()
