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


CATALOG_FIELDS = {"GPUs": ["memory_gib", "bandwidth_gb_s", "bf16_tflops", "tdp_w", "price_usd", "cloud_usd_per_hour"],
                  "Models": ["n_layers", "d_model", "d_ff", "vocab_size", "n_kv_heads"]}


def catalog_cells(template: str) -> list[tuple[str, str, object]]:
    """(sheet, cell, value) of the numeric catalog fields of the models and GPUs the inputs name."""
    book = openpyxl.load_workbook(template)
    named = {str(v).lower() for _, _, v, _ in inputs(template) if isinstance(v, str)}
    out = []
    for sheet, fields in CATALOG_FIELDS.items():
        ws = book[sheet]
        header = {c.value: c.column for c in ws[3]}
        for row in ws.iter_rows(min_row=4):
            if str(row[0].value).lower() in named:
                for f in fields:
                    cell = ws.cell(row[0].row, header[f])
                    if isinstance(cell.value, (int, float)) and cell.value:
                        out.append((sheet, cell.coordinate, cell.value))
    return out


def edits(template: str, seed: int, n: int, catalog: int = 1) -> list[tuple[str, str, object]]:
    """``n`` random edits of unlocked inputs and ``catalog`` of catalog fields (x0.5 to x2, whole numbers)."""
    rng = random.Random(seed)
    book = openpyxl.load_workbook(template)
    chosen = rng.sample(inputs(template), n)
    out = [(s, c, random_value(rng, book, v, dv)) for s, c, v, dv in chosen]
    for sheet, cell, value in rng.sample(catalog_cells(template), catalog):
        new = value * rng.choice([0.5, 0.8, 1.25, 2])
        out.append((sheet, cell, int(round(new)) if isinstance(value, int) else new))
    return out


def apply(path: str, out: str, changes) -> None:
    book = openpyxl.load_workbook(path)
    for sheet, cell, value in changes:
        book[sheet][cell].value = value
    book.save(out)


def formula_cells(path: str) -> list[tuple[str, str]]:
    """The answer cells: every formula but the Start sheet's status cell (it says which copy this is)."""
    book = openpyxl.load_workbook(path)
    status = set()
    if live.STATUS_NAME in book.defined_names:
        status = {(s.upper(), r.replace("$", "")) for s, r in book.defined_names[live.STATUS_NAME].destinations}
    return [(ws.title.upper(), c.coordinate) for ws in book.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=") and (ws.title.upper(), c.coordinate) not in status]


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
