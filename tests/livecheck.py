"""The differential check of a share copy (used by tests/test_live_share.py and tests/test_libreoffice.py).

Edit unlocked inputs at random (seeded) in the template and in its share copy alike, recalculate the
template with the engine (``formulas`` + the Python functions: the truth) and the copy with an engine that
has no Python functions, and sort every formula cell of the template into: equal, refused (the share copy
shows the ``#frozen`` text or an error value) or stale (any other value that differs: the failure).
"""

from __future__ import annotations

import math
import random
import re

import openpyxl
from openpyxl.utils import range_boundaries

from workbook import engine, live


def _cells(sqref) -> list[str]:
    out = []
    for rng in str(sqref).split():
        c1, r1, c2, r2 = range_boundaries(rng)
        out += [f"{openpyxl.utils.get_column_letter(c)}{r}" for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
    return out


def _list_values(book, formula1: str) -> list:
    f = formula1.lstrip("=")
    if f.startswith('"'):
        return [x for x in f.strip('"').split(",") if x]
    dn = book.defined_names.get(f)
    out = []
    for sheet, ref in dn.destinations:
        for row in book[sheet][ref.replace("$", "")]:
            for c in (row if isinstance(row, tuple) else (row,)):
                if c.value not in (None, ""):
                    out.append(c.value)
    return out


def inputs(path: str) -> list[tuple[str, str, object, object]]:
    """(sheet, cell, current value, validation) of every unlocked input cell with a validation rule."""
    book = openpyxl.load_workbook(path)
    out = []
    for ws in book.worksheets:
        rules = {}
        for dv in ws.data_validations.dataValidation:
            for c in _cells(dv.sqref):
                rules[c] = dv
        for coord, dv in rules.items():
            cell = ws[coord]
            if cell.protection.locked is False and not (isinstance(cell.value, str) and cell.value.startswith("=")):
                out.append((ws.title, coord, cell.value, dv))
    return out


def random_value(rng: random.Random, book, current, dv):
    if dv.type == "list":
        options = [o for o in _list_values(book, dv.formula1) if o != current]
        return rng.choice(options) if options else current
    if dv.type in ("whole", "decimal"):
        lo, hi = float(dv.formula1), float(dv.formula2)
        base = current if isinstance(current, (int, float)) and not isinstance(current, bool) and current else \
            (lo + hi) / 2 if hi < 1e6 else max(lo, 1)
        v = base * math.exp(rng.uniform(-1.2, 1.2)) if base > 0 else rng.uniform(lo, min(hi, lo + 10))
        v = min(max(v, lo), hi)
        if dv.type == "whole":
            v = int(round(v))
            v = int(min(max(v, math.ceil(lo)), math.floor(hi)))
        else:
            v = float(f"{v:.4g}")
        return v
    return current


def edits(template: str, seed: int, n: int) -> list[tuple[str, str, object]]:
    rng = random.Random(seed)
    book = openpyxl.load_workbook(template)
    chosen = rng.sample(inputs(template), n)
    return [(s, c, random_value(rng, book, v, dv)) for s, c, v, dv in chosen]


def apply(path: str, out: str, changes) -> None:
    book = openpyxl.load_workbook(path)
    for sheet, cell, value in changes:
        book[sheet][cell].value = value
    book.save(out)


def formula_cells(path: str) -> list[tuple[str, str]]:
    book = openpyxl.load_workbook(path)
    return [(ws.title.upper(), c.coordinate) for ws in book.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=")]


def same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if engine.is_error(a) and engine.is_error(b):
        return str(a) == str(b) or str(a).startswith("#") and str(b).startswith("#")
    if a in (None, "") and b in (None, "", 0):
        return True
    return a == b


def refused(v) -> bool:
    return isinstance(v, engine.ExcelError) or (isinstance(v, str) and v.startswith(live.REFUSAL[:8]))


def classify(cells, truth: dict, shared: dict) -> dict[str, list]:
    out = {"equal": [], "refused": [], "stale": []}
    for key in cells:
        t, s = truth.get(key), shared.get(key)
        if same(t, s):
            out["equal"].append(key)
        elif refused(s):
            out["refused"].append(key)
        else:
            out["stale"].append((key, t, s))
    return out


def normalise_lo(v):
    """A value read back from LibreOffice's xlsx (openpyxl data_only) in the engine's terms."""
    if isinstance(v, str) and re.fullmatch(r"#[A-Z/0-9!?]+", v):
        return engine.ExcelError(v)
    return v
