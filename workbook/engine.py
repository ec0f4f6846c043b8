"""Headless evaluation of a workbook: the ``formulas`` package with every ``udfs`` function registered.

``calculate(path)`` returns {(sheet name, "A1"): value} for every formula cell. Values are Python
floats/bools/str, or :class:`ExcelError` for Excel error values (#N/A, #VALUE!, ...).
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from dataclasses import dataclass

import numpy as np

import udfs

UDF_NAMES = sorted(n for n in dir(udfs) if re.fullmatch(r"[A-Z][A-Z0-9_]+", n) and callable(getattr(udfs, n)))
UDF_CALL = re.compile(r"(?<![A-Za-z0-9_.])(" + "|".join(UDF_NAMES) + r")\s*\(", re.IGNORECASE)


@dataclass(frozen=True)
class ExcelError:
    code: str  # e.g. "#N/A"

    def __str__(self):
        return self.code


def uses_udf(formula: str) -> bool:
    return bool(UDF_CALL.search(formula or ""))


def _to_xlwings(value):
    """A `formulas` argument as xlwings would pass it: scalars, or lists of rows with None for blanks."""
    import schedula as sh
    from formulas.tokens.operand import XlError

    raw = getattr(value, "value", value)
    if isinstance(raw, np.ndarray):
        def cell(v):
            if v is sh.EMPTY:
                return None
            if isinstance(v, XlError):
                return str(v)
            return v.item() if isinstance(v, np.generic) else v
        rows = [[cell(v) for v in row] for row in np.atleast_2d(raw)]
        return rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows
    if raw is sh.EMPTY:
        return None
    if isinstance(raw, XlError):
        return str(raw)
    return raw.item() if isinstance(raw, np.generic) else raw


def _wrap(fn):
    def call(*args):
        result = fn(*[_to_xlwings(a) for a in args])
        if isinstance(result, list):
            return np.asarray(result, dtype=object)
        return result
    call.__name__ = fn.__name__
    return call


@functools.lru_cache(maxsize=None)
def register_udfs() -> None:
    """Make every udfs function callable from formulas evaluated by the `formulas` package."""
    import formulas

    table = formulas.get_functions()
    for name in UDF_NAMES:
        table[name] = _wrap(getattr(udfs, name))


def _plain(value):
    from formulas.tokens.operand import XlError

    raw = getattr(value, "value", value)
    if isinstance(raw, np.ndarray):
        raw = raw.ravel()[0] if raw.size else None
    if isinstance(raw, XlError):
        return ExcelError(str(raw))
    if isinstance(raw, np.generic):
        raw = raw.item()
    import schedula as sh
    if raw is sh.EMPTY:
        return None
    return raw


_CELL_KEY = re.compile(r"^'?\[(?P<book>[^\]]+)\](?P<sheet>.+?)'?!(?P<cell>\$?[A-Z]+\$?[0-9]+)$")


def calculate(path: str) -> dict[tuple[str, str], object]:
    """Evaluate every formula of the workbook at ``path``; keys are (SHEET NAME UPPER-CASED, "B3")."""
    import formulas

    register_udfs()
    with warnings.catch_warnings(), _quiet():
        warnings.simplefilter("ignore")
        model = formulas.ExcelModel().loads(path).finish()
        solution = model.calculate()
    out: dict[tuple[str, str], object] = {}
    for key, value in solution.items():
        m = _CELL_KEY.match(key)
        if m:
            sheet = m.group("sheet").replace("''", "'")
            out[(sheet.upper(), m.group("cell").replace("$", ""))] = _plain(value)
    return out


class _quiet:
    """Silence the progress bars `formulas` prints on stderr."""

    def __enter__(self):
        import contextlib
        self._ctx = contextlib.redirect_stderr(io.StringIO())
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def is_error(value) -> bool:
    """An Excel error value, or a Scalesheet '#argument: message' text."""
    return isinstance(value, ExcelError) or (isinstance(value, str) and value.startswith("#"))

