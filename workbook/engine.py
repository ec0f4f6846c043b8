"""Headless evaluation of a workbook: the ``formulas`` package with every ``udfs`` function registered.

``evaluate(package)`` hands ``formulas`` an in-memory copy of the workbook built from the cells that
``xlsxpatch.Package`` read, never the file itself:

- every sheet is renamed to an alias (``SX0``, ``SX1``, ...) and every formula's sheet references are
  rewritten to it, so quotes, brackets, non-ASCII and names that collide under Python's upper-casing
  (``Straße`` / ``STRASSE``, two sheets in Excel) mean what they mean in Excel;
- defined names (global and sheet-scoped) get aliases too, so a formula finds the name Excel would find;
- calls stored with a prefix (``_xldudf_LLM_PARAMS``, ``_xludf.LLM_PARAMS``) or a namespace
  (``XLWINGS.LLM_PARAMS``, any ``NS.LLM_PARAMS``) call the function itself;
- a formula that refers to another workbook (``[1]Sheet1!A1``, ``'C:\\x\\[a.xlsx]S'!A1``, a name that does)
  or to a table (``Table1[Col]``) is not evaluated: it keeps the value cached in the file. The model
  refuses to load any book but the in-memory one, so no file outside the input is ever read;
- shared formulas are expanded into each cell; array (Ctrl+Shift+Enter) formulas give every cell of their
  range a value.

Two upstream bugs are worked around here (see docs/upstream-notes.md): a range ending on the last row or
column (``A3:A1048576``) evaluated as its first cell, and a single cell on the last row was ``#REF!``.
Circular references are found from the dependency graph and reported, never given a value.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import io
import re
import signal
import sys
import threading
import types
import warnings
from dataclasses import dataclass, field

import numpy as np

import udfs
from udfs.core.errors import ScalesheetError

from . import safeio as limits
from .xlsxpatch import ErrorText, Package, col_index, col_letters, excel_upper, split_ref

UDF_NAMES = sorted(n for n in dir(udfs) if re.fullmatch(r"[A-Z][A-Z0-9_]+", n) and callable(getattr(udfs, n)))
UDF_SET = frozenset(UDF_NAMES)
UDF_FAMILY = re.compile(r"^(LLM|GPU|PLAN)_[A-Z0-9_]+$")   # our naming: an unknown one is a call we cannot resolve
UDF_CALL = re.compile(r"(?<![A-Za-z0-9_])(?:_xldudf_|_xludf\.|(?:[A-Za-z_][\w]*\.)+)?(" + "|".join(UDF_NAMES)
                      + r")\s*\(", re.IGNORECASE)
BOOK_KEY = "BOOK.XLSX"
# Functions that fetch from outside the workbook: a formula calling one keeps its cached value, never runs.
EXTERNAL_FUNCTIONS = frozenset({"WEBSERVICE", "_XLFN.WEBSERVICE", "RTD", "CALL", "REGISTER.ID", "SQL.REQUEST",
                                "FILTERXML", "_XLFN.FILTERXML", "IMAGE", "_XLFN.IMAGE", "STOCKHISTORY",
                                "_XLFN.STOCKHISTORY"})


@dataclass(frozen=True)
class ExcelError:
    code: str  # e.g. "#N/A"

    def __str__(self):
        return self.code


# Every function name starts with one of these prefixes: a formula without one calls none (a quick first test).
UDF_PREFIXES = tuple(sorted({n.split("_")[0] + "_" for n in UDF_NAMES}))
UDF_HINT = re.compile("|".join(map(re.escape, UDF_PREFIXES)), re.IGNORECASE)


def uses_udf(formula: str) -> bool:
    """The formula text calls one of the functions (plain, prefixed or namespaced)."""
    if not formula or not UDF_HINT.search(formula):
        return False
    return bool(UDF_CALL.search(_strip_strings(formula)))


def _strip_strings(text: str) -> str:
    return re.sub(r'"(?:[^"]|"")*"', '""', text) if '"' in text else text


# ------------------------------------------------------------------------------------ formula translation

# Identifier characters: what Excel's grammar allows, ASCII word characters, ".", "$", "?", "\\" and every
# character from U+00A1 to U+FFFF (and Python's word characters beyond). Written as one class
# ``[\w.$?\\\u00a1-\uffff]`` the range costs re's compiler a Python loop over 65,000 characters, about 10 ms per
# pattern and 3 patterns at every share/recalc start; _HIGH is the same range as a negated class (compiled in
# 0.1 ms), joined by alternation, and an identifier's tail takes runs of word characters at a time
# (tests/test_workbook.py holds every pattern to the one-class form, token for token).
_HIGH = r"[^\x00-\xa0\U00010000-\U0010ffff]"                 # U+00A1 to U+FFFF
_ID_CHAR = rf"(?:[\w.$?\\]|{_HIGH})"                         # one identifier character
_IDENT = rf"\$?(?:[A-Za-z_\\]|{_HIGH})(?:[\w.$?\\]+|{_HIGH})*"    # an identifier (or a reference, a name)


_TOKEN = re.compile(r"""
  (?P<str>"(?:[^"]|"")*"?)
| (?P<err>\#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!|BLOCKED!|UNKNOWN!|CONNECT!|BUSY!))
| (?P<qsheet>'(?:[^']|'')*'!)
| (?P<bracket>\[[^\]]*\])
| (?P<num>(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?(?![A-Za-z_]))
| (?P<ident>""" + _IDENT + r""")
| (?P<other>.)
""", re.X | re.S)


_MISSING_SHEET = "NO_SUCH_SHEET"         # what a reference to a missing sheet names (no alias looks like it)
_NEXT = re.compile(r"\s*(.?)", re.S)     # the next character that is not white space


@dataclass
class Translation:
    text: str
    udf: bool = False
    external: bool = False                    # refers to another workbook or a table: not evaluated
    names: set = field(default_factory=set)   # defined-name keys used
    unresolved: set = field(default_factory=set)   # calls that look like ours (or another add-in's) but are unknown


def _function_name(raw: str) -> tuple[str, bool]:
    """(canonical name, was a prefixed/namespaced add-in call) for a function token."""
    up = raw.upper()
    for prefix in ("_XLDUDF_", "_XLUDF."):
        if up.startswith(prefix):
            return up[len(prefix):], True
    if "." in up and not up.startswith(("_XLFN.", "_XLWS.", "_XLPM.")):
        return up.rsplit(".", 1)[1], True
    return up, False


# A formula's shape: its text with every cell reference replaced by the reference's offset from the formula's
# cell, so formulas copied along a row or a column share one shape (and one translation, and one compiled tree
# in fastcalc). _SHAPE finds, left to right, the tokens that can hide a reference (strings, quoted sheet names,
# error constants: _TOKEN's own patterns, each of which can only start a token) and the identifiers that are
# exactly an A1 reference: not preceded or followed by a character an identifier or a number continues with,
# so A1B, LOG10, x.A1 or 1E5 never yield one. A text that either tokenizer could read differently gets no shape
# (``unsure``): a bracket, an identifier right after an error constant that ends in a letter or "?" (#N/A1 is
# #N/A then 1, #N/AA1 is #N/A then A1), "$A1" right after a number, a reference followed by " !".
_REF = rf"\$?[A-Za-z]{{1,3}}\$?[0-9]{{1,7}}(?!{_ID_CHAR})"
_SHAPE = re.compile(
    r'(?P<lit>"(?:[^"]|"")*"?'
    r"|'(?:[^']|'')*'!"
    r"|\#(?:NULL!|DIV/0!|VALUE!|REF!|NUM!|SPILL!|CALC!|FIELD!|BLOCKED!|UNKNOWN!|CONNECT!|BUSY!))"
    r"|(?P<unsure>\[|\#(?:N/A|NAME\?|GETTING_DATA)|(?<=[0-9.])\$)"
    rf"|(?<!{_ID_CHAR})(\$?)([A-Za-z]{{1,3}})(\$?)([0-9]{{1,7}})(?!{_ID_CHAR})(?=(\s*)([(!]?))", re.S)


def shape(text: str, row: int, col: int, ref_names=frozenset()):
    """(literal pieces, reference texts, offsets) of a formula in the cell at ``row``, ``col``, or None where
    the text is one the shape could misread (see _SHAPE). The text is pieces[0] + refs[0] + pieces[1] + ...;
    each offset is (row anchored, row or row offset, column anchored, column or column offset). References off
    Excel's grid and identifiers followed by "(" or "!" stay literal text (both tokenizers read them as names,
    functions or sheets, whatever the cell); a defined name in ``ref_names`` (upper-cased; names that look like
    references, which Excel forbids but a file may hold) makes the text unsure."""
    pieces, refs, offsets = [], [], []
    start = 0
    for m in _SHAPE.finditer(text):
        kind = m.lastindex
        if kind == 1:                        # a string, a quoted sheet name or an error constant
            continue
        if kind == 2:
            return None
        ca, letters, ra, digits, space, follower = m.groups()[2:]
        r = int(digits)
        c = col_index(letters)
        if r > 1_048_576 or r < 1 or c > 16_384:
            continue
        if follower:
            if space and follower == "!":
                return None                  # "A1 !": a sheet to the translator, a reference to fastcalc
            continue
        tok = m.group(0)
        if ref_names and tok.upper() in ref_names:
            return None
        pieces.append(text[start:m.start()])
        start = m.end()
        refs.append(tok)
        offsets.append((ra == "$", r if ra else r - row, ca == "$", c if ca else c - col))
    pieces.append(text[start:])
    return pieces, refs, offsets


def _refs_at(key, row: int, col: int) -> list[str] | None:
    """The reference texts of shape ``key`` written for the cell ``row``, ``col`` (upper-case, as Excel writes
    a copied formula), or None where one falls off the grid."""
    out = []
    for ra, r, ca, c in key[2]:
        if not ra:
            r += row
        if not ca:
            c += col
        if r < 1 or r > 1_048_576 or c < 1 or c > 16_384:
            return None
        out.append(f"{'$' if ca else ''}{col_letters(c)}{'$' if ra else ''}{r}")
    return out


def _template(pieces) -> str:
    """A %-format of a shape's pieces: ``_template(pieces) % tuple(refs)`` is the text with those references
    (pieces[0] + refs[0] + pieces[1] + ...), in one call."""
    return "%s".join(p.replace("%", "%%") for p in pieces)


class Translator:
    def __init__(self, pkg: Package):
        self.pkg = pkg
        self.sheet_by_key = {excel_upper(s.name): i for i, s in enumerate(pkg.sheets)}
        self.name_alias: dict[tuple[str, int | None], str] = {}
        for k, n in enumerate(pkg.names):
            if n.name.lower().startswith("_xlnm."):
                continue
            self.name_alias.setdefault((excel_upper(n.name), n.local), f"_SSN_{k}")
        ref = re.compile(_REF)
        self.ref_names = frozenset(k for k, _ in self.name_alias if ref.fullmatch(k))
        self._ids: dict = {}              # shape key -> its number (False: a shape whose translation moves a reference)
        self._shapes: list = []           # number -> (key, its %-format, the translation's %-format, the translation)
        self._cell_shapes: dict = {}      # (sheet, row, col) -> the number of the shape of the formula there

    def key_of(self, shape_id: int) -> tuple:
        """The shape key (sheet, pieces, offsets) of a shape number ``translate_cell`` gave."""
        return self._shapes[shape_id][0]

    def translate_cell(self, text: str, sheet: int, row: int, col: int) -> tuple[Translation, int | None]:
        """(``translate(text, sheet)``, the number of the formula's shape or None). Formulas of one shape (one
        key, see ``shape``; numbered so that a look-up hashes an int, not the key) on one sheet are translated
        once: the others get the first one's translation with their own references put back in its reference
        slots (translation never changes a reference, only names, sheets and functions).

        A formula copied from the cell above or to the left is recognised without reading it: the neighbour's
        shape, with its references written for this cell, gives this text exactly (checked by comparing the
        texts; references written lower-case or off the grid, or a workbook with reference-like names, read
        the text instead)."""
        sid = refs = None
        if not self.ref_names:
            for neighbour in ((sheet, row - 1, col), (sheet, row, col - 1)):
                known = self._cell_shapes.get(neighbour)
                if known is None:
                    continue
                key, template = self._shapes[known][:2]
                # (the text must start and end as the neighbour's does: a cheap test before writing its references)
                if text.startswith(key[1][0]) and text.endswith(key[1][-1]):
                    refs = _refs_at(key, row, col)
                    if refs is not None and template % tuple(refs) == text:
                        sid = known
                        break
        if sid is None:
            found = shape(text, row, col, self.ref_names)
            if found is None:
                return self.translate(text, sheet), None
            pieces, refs, offsets = found
            key = (sheet, tuple(pieces), tuple(offsets))
            sid = self._ids.get(key)
            if sid is None:
                t = self.translate(text, sheet)
                again = shape(t.text, row, col, self.ref_names)
                # the translated text must hold the same references at the same offsets, in the same order
                if again and again[1:] == (refs, offsets):
                    sid = self._ids[key] = len(self._shapes)
                    self._shapes.append((key, _template(key[1]), _template(again[0]), t))
                    self._cell_shapes[(sheet, row, col)] = sid
                    return t, sid
                self._ids[key] = False
                return t, None
            if sid is False:
                return self.translate(text, sheet), None
        self._cell_shapes[(sheet, row, col)] = sid
        _, _, translated, first = self._shapes[sid]
        return Translation(translated % tuple(refs), first.udf, first.external, first.names, first.unresolved), sid

    def sheet_ref(self, name: str) -> tuple[str | None, bool]:
        """('SXi' alias or None, external) for a sheet reference's text."""
        i = self.sheet_by_key.get(excel_upper(name))
        if i is not None:                 # a sheet of this workbook, whatever its characters
            return f"SX{i}", False
        return None, "[" in name          # [1]Sheet1, C:\\x\\[a.xlsx]Sheet1: another workbook

    def name_key(self, ident: str, sheet: int | None) -> tuple[str, int | None] | None:
        key = excel_upper(ident)
        if sheet is not None and (key, sheet) in self.name_alias:
            return key, sheet
        if (key, None) in self.name_alias:
            return key, None
        return None

    def translate(self, text: str, sheet: int | None) -> Translation:
        out: list[str] = []
        tr = Translation("")
        toks = list(_TOKEN.finditer(text))
        qualified: int | None = None       # the sheet a preceding "Sheet!" named
        for j, m in enumerate(toks):
            kind, tok = m.lastgroup, m.group(0)
            nxt = _NEXT.match(text, m.end()).group(1) if kind == "ident" else ""
            if kind in ("qsheet", "ident") and (kind == "qsheet" or nxt == "!"):
                raw = tok[1:-2].replace("''", "'") if kind == "qsheet" else tok
                alias, external = self.sheet_ref(raw)
                if external or ":" in raw:   # another workbook, or a 3-D reference across sheets
                    tr.external = True
                    out.append(tok)
                    continue
                if alias is None:       # no such sheet: the engine answers #REF!, as Excel does
                    # (a missing sheet named like an alias, SX1, must not become the workbook's second sheet)
                    out.append(f"'{_MISSING_SHEET}'!" if kind == "qsheet" else _MISSING_SHEET)
                    qualified = -1
                    continue
                qualified = int(alias[2:])
                out.append(f"'{alias}'!" if kind == "qsheet" else f"'{alias}'")
                continue
            if kind == "other" and tok == "!" and qualified is not None:
                out.append("!")
                continue
            if kind == "bracket":
                tr.external = True        # [1]Sheet!A1, [file.xlsx]..., Table1[Col]: not evaluated here
                out.append(tok)
                qualified = None
                continue
            if kind == "ident":
                if nxt == "(":
                    name, prefixed = _function_name(tok)
                    if tok.upper() in EXTERNAL_FUNCTIONS:
                        tr.external = True
                    if name in UDF_SET:
                        tr.udf = True
                        out.append(name)
                    else:
                        if prefixed or UDF_FAMILY.match(name):
                            tr.unresolved.add(tok)
                        out.append(tok)
                    qualified = None
                    continue
                scope = qualified if qualified is not None else sheet
                key = self.name_key(tok, scope if qualified is None or qualified >= 0 else None)
                if key is not None and not tok.startswith("$"):
                    tr.names.add(key)
                    out.append(self.name_alias[key])
                else:
                    out.append(tok)
                qualified = None
                continue
            qualified = None
            out.append(tok)
        tr.text = "".join(out)
        return tr


# ------------------------------------------------------------------------ the in-memory book for formulas

class _Cell:
    __slots__ = ("coordinate", "value", "data_type", "row", "column", "shape")

    def __init__(self, row, col, value, data_type, shape=None, coordinate=None):
        self.row, self.column = row, col
        self.coordinate = coordinate or f"{col_letters(col)}{row}"     # "B3" (the package's cell names are these)
        self.value, self.data_type = value, data_type
        self.shape = shape      # the number of a formula's shape (Translator.translate_cell), shared by its copies


class _Sheet:
    """What ``formulas`` reads of an openpyxl worksheet; rows iterate over stored cells only, so a far-away
    cell costs nothing and a whole-column range costs what the column holds."""

    def __init__(self, title):
        self.title = title
        self._rows: dict[int, dict[int, _Cell]] = {}
        self.array_formulae: dict[str, str] = {}
        self.max_row = self.max_column = 1
        self._sorted = None

    def add(self, cell: _Cell):
        row, col = cell.row, cell.column
        self._rows.setdefault(row, {})[col] = cell
        if row > self.max_row:
            self.max_row = row
        if col > self.max_column:
            self.max_column = col
        self._sorted = None

    def iter_rows(self, *bounds):
        """With no bounds (``formulas`` pushing a sheet): the formula cells only; value cells are compiled
        when a formula refers to them. With bounds (a referenced range): the stored cells inside it."""
        if not bounds:
            yield from ((c,) for row in self._rows.values() for c in row.values() if c.data_type == "f")
            return
        min_row, max_row, min_col, max_col = bounds
        if self._sorted is None:
            self._sorted = (sorted(self._rows), {r: sorted(c) for r, c in self._rows.items()})
        rows, cols = self._sorted
        lo = bisect.bisect_left(rows, min_row or 1)
        hi = bisect.bisect_right(rows, max_row or 1_048_576)
        for r in rows[lo:hi]:
            cs = cols[r]
            a = bisect.bisect_left(cs, min_col or 1)
            b = bisect.bisect_right(cs, max_col or 16_384)
            yield tuple(self._rows[r][c] for c in cs[a:b])


class _Name:
    def __init__(self, name, value):
        self.name, self.value, self.hidden, self.localSheetId = name, value, False, None


class _Book:
    def __init__(self, sheets, names):
        self.worksheets = sheets
        self.sheetnames = [s.title for s in sheets]
        self._by = {s.title: s for s in sheets}
        self.defined_names = {n.name: n for n in names}
        self._external_links = []

    def __getitem__(self, name):
        return self._by[name]


# --------------------------------------------------------------------------------------------- evaluation

@dataclass
class Evaluation:
    values: dict = field(default_factory=dict)        # (sheet index, "A1") -> value
    names: dict = field(default_factory=dict)         # (NAME, local) -> value
    formula_cells: set = field(default_factory=set)   # (i, ref) of every formula cell
    udf_cells: set = field(default_factory=set)       # call a function, directly or through a name
    external_cells: set = field(default_factory=set)  # refer to another workbook or a table: value kept
    circular: set = field(default_factory=set)
    uncomputed: set = field(default_factory=set)      # formula cells the engine gave no value
    unresolved: dict = field(default_factory=dict)    # (i, ref) or ("name", NAME) -> call text
    udf_names: set = field(default_factory=set)       # (NAME, local) keys whose definition calls a function
    array_cells: dict = field(default_factory=dict)   # (i, master ref) -> [(i, ref) of the range]
    formulas: dict = field(default_factory=dict)      # (i, ref) -> formula text as in the file (expanded)


def _error(value):
    return ExcelError(value.code) if isinstance(value, ErrorText) else value


def _expand_shared(pkg: Package) -> dict[tuple[int, str], str]:
    """Each cell's own formula text, shared formulas expanded relative to their master (found once per package:
    the engine and the share's guards both read it; callers must not change it)."""
    out = getattr(pkg, "_expanded", None)
    if out is not None:
        return out
    out = pkg._expanded = {}
    for i, s in enumerate(pkg.sheets):
        masters = {}
        for ref, c in s.cells.items():
            if c.fattrs.get("t") == "shared" and c.formula is not None and "si" in c.fattrs:
                masters[c.fattrs["si"]] = (ref, c.formula)
        for ref, c in s.cells.items():
            if c.formula is not None:
                out[(i, ref)] = c.formula
            elif c.fattrs.get("t") == "shared":
                m = masters.get(c.fattrs.get("si"))
                if m is None:
                    raise ScalesheetError("input", f"{s.name}!{ref} belongs to a shared formula whose first cell "
                                                   "is missing (a damaged file)")
                from openpyxl.formula.translate import Translator as Shift   # only when a file has them (0.3 s)

                try:
                    out[(i, ref)] = Shift("=" + m[1], origin=m[0]).translate_formula(ref)[1:]
                except Exception:
                    raise ScalesheetError("input", f"{s.name}!{ref}: its shared formula cannot be expanded")
    return out


def prepare(pkg: Package) -> tuple[Evaluation, _Book]:
    """Translate every formula and build the in-memory book, without evaluating."""
    ev = Evaluation()
    tr = Translator(pkg)
    # defined names: which call a function (directly or through other names), which are external
    name_tr = {}
    for n in pkg.names:
        key = (excel_upper(n.name), n.local)
        if key in tr.name_alias and key not in name_tr:
            name_tr[key] = tr.translate(n.text.lstrip("="), n.local)
    changed = True
    udf_names = {k for k, t in name_tr.items() if t.udf}
    ext_names = {k for k, t in name_tr.items() if t.external}
    while changed:
        changed = False
        for k, t in name_tr.items():
            if k not in udf_names and t.names & udf_names:
                udf_names.add(k)
                changed = True
            if k not in ext_names and t.names & ext_names:
                ext_names.add(k)
                changed = True
    ev.udf_names = udf_names
    for k, t in name_tr.items():
        for call in t.unresolved:
            ev.unresolved[("name", k[0])] = call
    names = [_Name(tr.name_alias[k], "#REF!" if k in ext_names else (t.text or "#REF!"))
             for k, t in name_tr.items()]

    texts = _expand_shared(pkg)
    ev.formulas = texts
    sheets = []
    for i, s in enumerate(pkg.sheets):
        fs = _Sheet(f"SX{i}")
        covered = set()
        for ref, c in s.cells.items():
            if c.fattrs.get("t") == "array" and (i, ref) in texts:
                rng = c.fattrs.get("ref", ref)
                cells = _range_cells(rng) or [ref]
                ev.array_cells[(i, ref)] = [(i, r) for r in cells]
                covered.update(r for r in cells if r != ref)
        for ref, c in s.cells.items():
            row, col = (c.row, c.col) if c.row else split_ref(ref)
            key = (i, ref)
            text = texts.get(key)
            if text is not None:
                ev.formula_cells.add(key)
                t, shape_key = tr.translate_cell(text, i, row, col)
                if t.udf or t.names & udf_names:
                    ev.udf_cells.add(key)
                for call in t.unresolved:
                    ev.unresolved[key] = call
                if t.external or t.names & ext_names:
                    ev.external_cells.add(key)
                    fs.add(_value_cell(row, col, c.value, ref))
                    continue
                fs.add(_Cell(row, col, "=" + t.text, "f", shape_key, ref))
                if key in ev.array_cells:
                    fs.array_formulae[ref] = c.fattrs.get("ref", ref)
            elif ref in covered:
                continue
            elif c.value is not None:      # an empty (styled) cell is no cell to the engine
                fs.add(_value_cell(row, col, c.value, ref))
        sheets.append(fs)
    return ev, _Book(sheets, names)


def _value_cell(row, col, value, ref=None) -> _Cell:
    if isinstance(value, ErrorText):
        return _Cell(row, col, "=" + value.code, "f", None, ref)
    if isinstance(value, bool):
        return _Cell(row, col, value, "b", None, ref)
    if isinstance(value, float):
        return _Cell(row, col, value, "n", None, ref)
    if value is None:
        return _Cell(row, col, None, "n", None, ref)
    return _Cell(row, col, str(value), "s", None, ref)


def _range_cells(rng: str) -> list[str]:
    parts = rng.replace("$", "").split(":")
    try:
        (r1, c1), (r2, c2) = split_ref(parts[0]), split_ref(parts[-1])
    except ValueError:
        return []
    if (r2 - r1 + 1) * (c2 - c1 + 1) > limits.MAX_ARRAY_FORMULA_CELLS:
        raise ScalesheetError("input", f"an array formula spans {rng}; the limit is "
                                       f"{limits.MAX_ARRAY_FORMULA_CELLS:,} cells")
    return [f"{col_letters(c)}{r}" for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


@functools.lru_cache(maxsize=None)
def _patch_formulas() -> None:
    """Work around two bugs of ``formulas`` 1.3.x in naming ranges (docs/upstream-notes.md): it drops a row
    number equal to the last row (1,048,576) from any reference, so ``A3:A1048576`` became ``A3:A``, read as
    one cell, and the single cell ``A1048576`` became ``A``, an invalid reference. Here a row or column is
    left out of a name only for a whole column (``A:A``) or a whole row (``3:3``), as Excel writes them.
    And one in comparing a blank with a boolean (``_patch_blank_comparisons``)."""
    import formulas.tokens.operand as op

    def build_cel(c, r):
        return c, str(r and int(r) or "")

    def build_ref(c1, r1, c2, r2, anchor=""):
        r1, r2 = str(r1 and int(r1) or ""), str(r2 and int(r2) or "")
        if r2 == op._maxrow() and r1 == "":
            r2 = ""
        if c2 == op._maxcol() and c1 == "":
            c2 = ""
        v1, v2 = f"{c1}{r1}{anchor}", f"{c2}{r2}"
        if v1 == v2 and c1 and r1:
            return v1
        if anchor:
            raise ValueError
        return f"{v1}:{v2}"

    op._build_cel, op._build_ref = build_cel, build_ref
    op._range2parts.cache_clear()
    _patch_blank_comparisons()


def _patch_blank_comparisons() -> None:
    """A blank cell compared with TRUE or FALSE is FALSE in Excel and LibreOffice (``=A1=FALSE`` is TRUE for a blank
    A1); ``formulas`` 1.3.x reads the blank as 0, a number, which never equals a boolean and sorts below one
    (docs/upstream-notes.md). The comparison operators are rebuilt with the blank read as FALSE there, before the
    first formula is compiled (``formulas`` looks operators up in ``OPERATORS`` when it compiles one)."""
    import formulas.functions.operators as ops
    import schedula as sh

    parse = ops.logic_input_parser

    def logic_input_parser(x, y):
        if x is sh.EMPTY and isinstance(y, (bool, np.bool_)):
            x = False
        if y is sh.EMPTY and isinstance(x, (bool, np.bool_)):
            y = False
        return parse(x, y)

    wrap = functools.partial(ops.wrap_ufunc, input_parser=logic_input_parser, args_parser=lambda *a: a)
    ops.OPERATORS.update({k: wrap(v) for k, v in ops.LOGIC_OPERATORS.items()})


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


class _Deferred(types.ModuleType):
    """Stands in for a scipy module while ``formulas`` imports its statistics functions, which import
    scipy.stats, scipy.linalg and scipy.interpolate at module level (about 12 % of a ``share`` of the
    template) although a planning workbook rarely calls them. Only while that import runs is this object in
    ``sys.modules``; afterwards every attribute it hands out resolves to the real scipy on first use, so a
    workbook that does call NORM.S.INV or FORECAST gets the same answer, only later."""

    def __init__(self, name):
        super().__init__(name)
        self.__importing = True

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self.__dict__.get("_Deferred__importing"):
            name = self.__name__

            def deferred(*args, **kwargs):
                return getattr(importlib.import_module(name), attr)(*args, **kwargs)
            deferred.__name__ = attr
            return deferred
        return getattr(importlib.import_module(self.__name__), attr)


def _import_formulas_functions_without_scipy() -> None:
    names = ("scipy.stats", "scipy.linalg", "scipy.interpolate")
    if "formulas.functions.stat" in sys.modules or any(n in sys.modules for n in names):
        return
    proxies = {n: _Deferred(n) for n in names}
    sys.modules.update(proxies)
    try:
        importlib.import_module("formulas.functions.stat")
    finally:
        for n, proxy in proxies.items():
            if sys.modules.get(n) is proxy:
                del sys.modules[n]
            proxy._Deferred__importing = False


@functools.lru_cache(maxsize=None)
def register_udfs() -> None:
    """Make every udfs function callable from formulas evaluated by the `formulas` package."""
    _import_formulas_functions_without_scipy()
    import formulas

    _patch_formulas()
    table = formulas.get_functions()
    for name in UDF_NAMES:
        table[name] = _wrap(getattr(udfs, name))


def _plain(raw):
    import schedula as sh
    from formulas.tokens.operand import XlError

    if isinstance(raw, XlError):
        return ExcelError(str(raw))
    if isinstance(raw, np.generic):
        raw = raw.item()
    if raw is sh.EMPTY:
        return None
    return raw


def _first(value):
    raw = getattr(value, "value", value)
    if isinstance(raw, np.ndarray):
        raw = raw.ravel()[0] if raw.size else None
    return _plain(raw)


class _Timeout(Exception):
    pass


class _deadline:
    """Stop an evaluation that uses more than ``seconds`` of CPU time (SIGPROF, so a busy machine does not
    count against the workbook; only in the main thread). The signal repeats every 50 ms until the block
    ends, because the engine catches exceptions raised inside a formula and goes on with the next one."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.armed = self.fired = self.active = False

    def _fire(self, signum, frame):
        if not self.active:
            return
        self.fired = True
        # Raise only inside the engine's code, never in this module's own (so leaving the block and
        # disarming the timer cannot be interrupted); the next signal, 50 ms on, lands in the engine again.
        if frame is None or frame.f_globals.get("__name__") != __name__:
            raise _Timeout()

    def __enter__(self):
        if self.seconds and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            self.old = signal.signal(signal.SIGPROF, self._fire)
            self.active = self.armed = True
            signal.setitimer(signal.ITIMER_PROF, self.seconds, 0.05)
        return self

    def __exit__(self, *exc):
        self.active = False
        if self.armed:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, self.old)
            self.armed = False
        return False


_KEY = re.compile(r"^'\[(?i:book\.xlsx)\]SX(?P<i>\d+)'!(?P<a>[A-Z]+[0-9]+)(?::(?P<b>[A-Z]+[0-9]+))?$")


_NAME_KEY = re.compile(r"^(?:'\[(?i:book\.xlsx)\]'!)?(_SSN_\d+)$")


def evaluate(pkg: Package, seconds: float | None = None, *, fast: bool = True) -> Evaluation:
    """Evaluate every formula of the package (see the module's docstring); stop with a ScalesheetError after
    ``seconds`` of CPU time (None: no limit). ``fastcalc`` evaluates the workbook when it supports every formula
    in it (``fast``; the template and ordinary workbooks); anything else goes to the ``formulas`` package."""
    ev, book = prepare(pkg)
    deadline = _deadline(seconds)
    done = False
    solution = model = None
    try:
        with warnings.catch_warnings(), _quiet(), deadline:
            warnings.simplefilter("ignore")
            if fast:
                done = _fast(pkg, ev, book, deadline)
            if not done and not deadline.fired:
                solution, model = _evaluate_formulas(ev, book)
                ev.circular = _circular_cells(model)
    except _Timeout:
        deadline.fired = True
    except RecursionError:
        raise ScalesheetError("input", "the workbook's formulas nest too deeply to evaluate")
    if deadline.fired:   # raised inside the engine, which may have caught it and gone on: never use a partial result
        raise ScalesheetError("input", f"evaluating the workbook took more than {seconds:g} s of CPU time (the limit); it "
                                       "is too large or too slow for share/recalc")
    if done:
        for key in ev.formula_cells:
            if key not in ev.values:
                ev.uncomputed.add(key)
        return ev
    return _collect(pkg, ev, solution)


def _fast(pkg, ev, book, deadline) -> bool:
    """fastcalc's values in ``ev``; False (``ev`` untouched) where it does not support the workbook."""
    from . import fastcalc

    try:
        fastcalc.evaluate(pkg, ev, book, deadline)
    except (fastcalc.Unsupported, RecursionError):
        return False
    return True


def _evaluate_formulas(ev, book):
    """The ``formulas`` package's solution for the prepared book, and its model."""
    import formulas
    import formulas.excel as fx
    import schedula as sh

    register_udfs()

    class Model(formulas.ExcelModel):
        def add_book(self, book=None, context=None, data_only=False):
            name = book if isinstance(book, str) else (context or {}).get("filename", BOOK_KEY)
            if isinstance(name, str) and name.replace("\\", "/").upper().lstrip("./") != BOOK_KEY.lower().upper():
                raise LookupError("only the input workbook is read")  # formulas turns this into #REF!
            return super().add_book(book, context, data_only)

    model = Model()
    sh.get_nested_dicts(model.books, BOOK_KEY)[fx.BOOK] = book
    _, ctx = model.add_book("book.xlsx")
    model.pushes(*book.worksheets, context=ctx)
    model.finish()
    return model.calculate(), model


def _collect(pkg, ev, solution) -> Evaluation:
    arrays = {}
    for key, value in solution.items():
        if not isinstance(key, str):
            continue
        m = _KEY.match(key)
        if not m:
            n = _NAME_KEY.match(key)
            if n:
                arrays.setdefault("names", {})[n.group(1)] = value
            continue
        i = int(m.group("i"))
        if m.group("b"):
            arrays[(i, m.group("a"))] = value
        else:
            ev.values[(i, m.group("a"))] = _first(value)
    # array formulas: every cell of the range gets its element
    for (i, master), cells in ev.array_cells.items():
        value = arrays.get((i, master))
        if value is None:
            continue
        raw = np.atleast_2d(np.asarray(getattr(value, "value", value), dtype=object))
        (r1, c1) = split_ref(cells[0][1])
        for _, ref in cells:
            r, c = split_ref(ref)
            try:
                ev.values[(i, ref)] = _plain(raw[r - r1, c - c1])
            except IndexError:
                ev.values[(i, ref)] = ExcelError("#N/A")
    tr_alias = {v: k for k, v in Translator(pkg).name_alias.items()}
    for alias, value in arrays.get("names", {}).items():
        if alias in tr_alias:
            ev.names[tr_alias[alias]] = _first(value)
    for key in ev.external_cells:
        ev.values[key] = _error(pkg.sheets[key[0]].cells[key[1]].value)
    for key in ev.formula_cells:
        if key in ev.circular:
            ev.values.pop(key, None)
        elif key not in ev.values:
            ev.uncomputed.add(key)
    return ev


def _circular_cells(model) -> set[tuple[int, str]]:
    """Cells on a cycle of the dependency graph (Tarjan's strongly connected components, iteratively)."""
    from formulas.cell import InvRangesAssembler
    import schedula as sh

    nodes = model.dsp.nodes
    skip = {k for k, d in model.dsp.function_nodes.items()
            if isinstance(d.get("function"), InvRangesAssembler) or d.get("function") is sh.bypass}
    succ = {k: [n for n in v if n not in skip] for k, v in model.dsp.dmap.succ.items() if k not in skip}
    del nodes
    from .graph import components, is_cycle

    out = set()
    for comp in components(succ):
        if is_cycle(comp, succ):
            for w in comp:
                m = _KEY.match(w) if isinstance(w, str) else None
                if m and not m.group("b"):
                    out.add((int(m.group("i")), m.group("a")))
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
    return isinstance(value, (ExcelError, ErrorText)) or (isinstance(value, str) and value.startswith("#"))


def calculate(path: str) -> dict[tuple[str, str], object]:
    """Evaluate the workbook at ``path``; keys are (SHEET NAME UPPER-CASED, "B3") (kept for callers that key by
    name; ``evaluate`` keys by sheet position, which is exact)."""
    from . import safeio

    pkg = Package(safeio.read_xlsx(path))
    ev = evaluate(pkg)
    return {(pkg.sheets[i].name.upper(), ref): v for (i, ref), v in ev.values.items()}
