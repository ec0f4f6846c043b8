"""The live share copy: what a cell that calls a Python function becomes when the workbook is shared.

A colleague without Python edits the inputs of a shared copy and expects every answer to follow. A cell
whose formula calls a ``udfs`` function cannot recompute there, so ``share`` replaces it with one of two
native formulas (Excel 2016+, LibreOffice, Google Sheets, the ``formulas`` package; no LET/LAMBDA/XLOOKUP):

* **native**: the call rewritten into plain arithmetic (``PLAN_ROI``, ``PLAN_PAYBACK_MONTHS``,
  ``PLAN_BREAKEVEN_HOURS``, ``LLM_CHINCHILLA_TOKENS``), live for every input inside the function's
  domain, and guarded (below) outside it, where the function would answer with a ``#argument`` text;
* **guarded**: the value computed at share time, shown only while every direct precedent of the formula
  (each cell of each referenced range, names resolved) still holds the value it had at share time:

      =IF(IFERROR(AND(<precedent>=<value at share time>, ...), FALSE), <value>, "#frozen: ...")

  Numbers are compared with a relative tolerance (a native precedent recomputed by another engine may
  differ in the last bits), text with EXACT, blanks with ISBLANK. Because precedents are compared by value,
  the check is transitive: a guarded cell whose own inputs moved shows the refusal text, so every cell that
  reads it fails its comparison too. A formula with more precedent cells than ``MAX_GUARD_CELLS`` or a
  formula text past Excel's 8,192 characters cannot be guarded and is reported as such by ``share``.

The refusal text starts with ``#`` like every Scalesheet error, so native guards that pass errors through
(``IF(ISNUMBER(x), ..., x)``) pass it through as well.
"""

from __future__ import annotations

import functools
import io
import math
import re

from udfs.core.units import HOURS_PER_YEAR

from .engine import ExcelError

REFUSAL = "#frozen: inputs changed since this copy was shared; recalculate with Python (scalesheet recalc)"
MAX_GUARD_CELLS = 400          # precedent cells one guard compares, beyond which the cell is left frozen
MAX_FORMULA_CHARS = 8000       # Excel's limit is 8,192 characters
MAX_FUNCTION_ARGS = 200        # Excel allows 255 arguments per function: AND(...) is nested in chunks
REL_TOL = 1e-9                 # numbers: share-time value vs now, relative

_ERROR_EXPR = {"#N/A": "NA()", "#DIV/0!": "1/0", "#NUM!": "SQRT(-1)", "#VALUE!": '("x"+0)', "#NULL!": "NA()",
               "#REF!": "NA()", "#NAME?": "NA()"}


# ------------------------------------------------------------------------------------------ literals
def number(value: float) -> str:
    """An Excel numeric literal that round-trips the double (17 significant digits, upper-case E)."""
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value)).upper()


def string(text: str) -> str:
    """An Excel string literal; Excel limits a literal to 255 characters, so longer text is concatenated."""
    parts = [text[i:i + 250] for i in range(0, len(text), 250)] or [""]
    return "&".join('"' + p.replace('"', '""') + '"' for p in parts)


def literal(value) -> str:
    """The formula text that yields ``value`` (a share-time value)."""
    if isinstance(value, ExcelError):
        return _ERROR_EXPR.get(value.code, "NA()")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return number(value) if math.isfinite(value) else "SQRT(-1)"
    if value is None:
        return '""'
    return string(str(value))


# ------------------------------------------------------------------------------------------ references
_A1 = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]+)(?::\$?([A-Z]{1,3})\$?([0-9]+))?$")


from .xlsxpatch import col_index as _col, col_letters as _letters  # noqa: E402  (one column-letter codec)


def quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


class Workbook:
    """What a guard needs to know about the workbook being shared: its cells, names and computed values."""

    def __init__(self, src, values: dict, udf_keys=None):
        """``src``: the workbook's bytes, or the ``xlsxpatch.Package`` already read from them. ``udf_keys``: the
        (SHEET UPPER, "A1") of the formulas that call a function, where the caller knows them (the engine's
        ``udf_cells``); None: every formula is looked at."""
        from .engine import _expand_shared
        from .xlsxpatch import ErrorText, Package

        pkg = src if isinstance(src, Package) else Package(src)
        texts = _expand_shared(pkg)
        sheets = [(i, s) for i, s in enumerate(pkg.sheets) if s.worksheet]
        self.sheets = {s.name.upper(): s.name for _, s in sheets}
        self.names: dict[str, tuple[str, str]] = {}
        for n in pkg.names:                  # workbook-scoped names that point at one range
            if n.local is None and not n.name.lower().startswith("_xlnm."):
                dest = _destination(n.text)
                if dest:
                    self.names[n.name.upper()] = dest
        self.cells: dict[tuple[str, str], object] = {}      # constants
        self.formulas: set[tuple[str, str]] = set()
        self.texts: dict[tuple[str, str], str] = {}
        self._sentinels = None
        self._groups: dict = {}
        self._checks: dict = {}
        self._current = None               # the cell being guarded (it cannot be its own sentinel)
        self._udf_keys = udf_keys
        self._frozen: dict = {}            # id(group list) -> (the list, its frozenset): groups are remembered
        for i, s in sheets:
            title = s.name.upper()
            for ref, c in s.cells.items():
                key = (title, ref)
                text = texts.get((i, ref))
                if text is not None:
                    self.formulas.add(key)
                    if c.fattrs.get("t") != "array":     # an array formula's text is never rewritten
                        self.texts[key] = "=" + text
                elif c.value is not None:
                    self.cells[key] = ExcelError(c.value.code) if isinstance(c.value, ErrorText) else c.value
        self.values = values

    # ------------------------------------------------------------------ precedents
    def groups(self, sheet: str, formula: str) -> list[list[tuple[str, str]]] | None:
        """The cells of each reference in the formula, one list per reference (names resolved), as
        (SHEET UPPER, "A1"); None when a reference cannot be resolved. Remembered per (sheet, formula): the
        sentinels and the guard of one cell both ask (the caller must not change the lists)."""
        key = (sheet, formula.lstrip("="))
        if key not in self._groups:
            self._groups[key] = self._find_groups(sheet, formula)
        return self._groups[key]

    def _find_groups(self, sheet: str, formula: str):
        from .fastcalc import Unsupported, references

        try:
            refs = references(formula.lstrip("="))
        except Unsupported:
            return None
        out: list[list[tuple[str, str]]] = []
        for kind, qualifier, ref in refs:
            if kind == "ref":                                  # an A1 reference or range
                target = qualifier.upper() if qualifier else sheet.upper()
            else:                                              # a defined name
                dest = self.names.get(ref.upper()) if qualifier is None else None
                if not dest:
                    return None
                target, ref = dest[0].upper(), dest[1]
            if target not in self.sheets:
                return None
            cells = _expand(ref)
            if cells is None:
                return None
            out.append([(target, c) for c in cells])
        return out

    def precedents(self, sheet: str, formula: str) -> list[tuple[str, str]] | None:
        """(SHEET UPPER, "A1") of every cell the formula refers to; None when a reference cannot be resolved."""
        groups = self.groups(sheet, formula)
        if groups is None:
            return None
        seen: set = set()
        out = [c for g in groups for c in g if not (c in seen or seen.add(c))]
        return out if len(out) <= MAX_GUARD_CELLS else None

    def sentinels(self) -> dict[frozenset, tuple[str, str]]:
        """Range -> a cell that calls a function on that range alone (e.g. =LLM_PARAMS(block)).

        Such a cell is guarded on every cell of the range, so another guard may check that one cell instead
        of the whole range (a catalog row is 100+ cells): if any cell of the range changed, the sentinel
        shows the refusal text and no longer equals its share-time value.
        """
        if self._sentinels is None:
            from .engine import uses_udf

            self._sentinels = {}
            keys = self.formulas if self._udf_keys is None else self.formulas & self._udf_keys
            for key in sorted(keys):
                text = self.texts.get(key, "")
                if not uses_udf(text) or all(name in native_table() for name, _, _, _ in _calls(text)):
                    continue                  # a live native cell would not show that its range changed
                groups = self.groups(self.sheets[key[0]], text)
                if groups and len({frozenset(g) for g in groups}) == 1 and len(groups[0]) > 1:
                    self._sentinels.setdefault(frozenset(groups[0]), key)
        return self._sentinels

    def value(self, key: tuple[str, str]):
        if key in self.formulas:
            return self.values.get(key, _MISSING)
        return self.cells.get(key)

    # ------------------------------------------------------------------ the guard
    def check(self, here: str, key: tuple[str, str]) -> str | None:
        """A native condition that is TRUE while the cell ``key`` holds its share-time value (remembered: many
        guards check the same input cells)."""
        memo = (here, key)
        if memo not in self._checks:
            self._checks[memo] = self._check(here, key)
        return self._checks[memo]

    def _check(self, here: str, key: tuple[str, str]) -> str | None:
        sheet, cell = key
        ref = cell if sheet == here.upper() else f"{quote(self.sheets[sheet])}!{cell}"
        v = self.value(key)
        is_formula = key in self.formulas
        if v is _MISSING:
            return None
        if isinstance(v, ExcelError):
            return f"ISERROR({ref})"
        if isinstance(v, bool):
            return f"{ref}={'TRUE' if v else 'FALSE'}"
        if isinstance(v, (int, float)):
            if not math.isfinite(v):
                return None
            if not is_formula and v == int(v) and abs(v) < 1e15 and v != 0:
                return f"{ref}={number(v)}"
            if v == 0:
                return f"AND(ISNUMBER({ref}),{ref}=0)"
            return f"AND(ISNUMBER({ref}),ABS({ref}-{number(v)})<={number(abs(v) * REL_TOL)})"
        if v is None:
            return f"OR({ref}=0,{ref}=\"\")" if is_formula else f"ISBLANK({ref})"
        if hasattr(v, "isoformat"):          # a date typed into a cell: compare its serial number
            return None
        return f"EXACT({ref},{string(str(v))})"

    def _frozenset(self, g: list) -> frozenset:
        """frozenset(g) for a group list of ``groups`` (kept with its list, so its id stays its own)."""
        hit = self._frozen.get(id(g))
        if hit is None:
            hit = self._frozen[id(g)] = (g, frozenset(g))
        return hit[1]

    def guard(self, sheet: str, formula: str, value) -> str | None:
        """The guarded replacement of a formula (text without '='), or None if it cannot be guarded."""
        groups = self.groups(sheet, formula)
        if groups is None:
            return None
        here = (sheet.upper(), self_ref) if (self_ref := self._current) else None
        cells: list[tuple[str, str]] = []
        sentinels = self.sentinels()
        for g in groups:
            sentinel = sentinels.get(self._frozenset(g)) if len(g) > 1 else None
            cells.extend([sentinel] if sentinel and sentinel != here else g)
        seen: set = set()
        cells = [c for c in cells if not (c in seen or seen.add(c))]
        if len(cells) > MAX_GUARD_CELLS:
            return None
        checks = []
        for key in cells:
            c = self.check(sheet, key)
            if c is None:
                return None
            checks.append(c)
        shown = literal(value)
        if not checks:                        # constants only: the value cannot change
            text = shown
        else:
            text = f"IF(IFERROR({_and(checks)},FALSE),{shown},{string(REFUSAL)})"
        return text if len(text) <= MAX_FORMULA_CHARS else None


_MISSING = object()
_DESTINATION = re.compile(r"^(?:'(?P<q>(?:[^']|'')+)'|(?P<u>[^'!\s]+))!(?P<ref>\$?[A-Za-z]{1,3}\$?[0-9]+"
                          r"(?::\$?[A-Za-z]{1,3}\$?[0-9]+)?)$")


def _destination(text: str) -> tuple[str, str] | None:
    """(sheet name, "A1" or "A1:B2") of a name that points at one range of one sheet, else None."""
    m = _DESTINATION.match(text.strip().lstrip("="))
    if not m:
        return None
    return (m.group("q").replace("''", "'") if m.group("q") is not None else m.group("u")), m.group("ref")


@functools.lru_cache(maxsize=4096)
def _expand(ref: str) -> list[str] | None:
    """The cells of an A1 reference or range, row by row (remembered: the caller must not change the list)."""
    m = _A1.match(ref.replace("$", "").upper())
    if not m:
        return None
    c1, r1 = _col(m.group(1)), int(m.group(2))
    c2, r2 = (_col(m.group(3)), int(m.group(4))) if m.group(3) else (c1, r1)
    if (c2 - c1 + 1) * (r2 - r1 + 1) > MAX_GUARD_CELLS:
        return None
    return [f"{_letters(c)}{r}" for r in range(min(r1, r2), max(r1, r2) + 1) for c in range(min(c1, c2), max(c1, c2) + 1)]


def _and(checks: list[str]) -> str:
    if len(checks) == 1:
        return checks[0]
    while len(checks) > MAX_FUNCTION_ARGS:
        checks = [f"AND({','.join(checks[i:i + MAX_FUNCTION_ARGS])})" for i in range(0, len(checks), MAX_FUNCTION_ARGS)]
    return f"AND({','.join(checks)})"


# ------------------------------------------------------------------------------------------ the hook
STATUS_NAME = "functions_status"      # the Start sheet's "are the functions loaded?" cell
SHARED_STATUS = ("Shared copy: no Python functions needed. Cells that need them show the value computed at share "
                 "time while their inputs are unchanged, and #frozen when an input changes")


class Sharer:
    """Called by ``xlsxpatch.rewrite`` for each formula cell that calls a function: returns the native
    formula (without '=') that replaces it, or None to leave a plain value (counted as ``unguarded``)."""

    def __init__(self, src: bytes, values: dict, udf_keys=None):
        self.book = Workbook(src, values, udf_keys)
        self.counts = {"native": 0, "guarded": 0, "unguarded": 0}
        self.unguarded: list[str] = []

    def summary(self) -> str:
        """One line for ``share`` to print."""
        c = self.counts
        text = (f"{c['native']} function calls rewritten as live native formulas, {c['guarded']} frozen and "
                f"guarded (shown while their inputs are unchanged, else #frozen)")
        if c["unguarded"]:
            text += f", {c['unguarded']} left as bare values (cannot be guarded: {', '.join(self.unguarded[:5])})"
        return text

    def _is_status(self, sheet: str, ref: str) -> bool:
        dest = self.book.names.get(STATUS_NAME.upper())
        return bool(dest) and dest[0].upper() == sheet.upper() and dest[1].replace("$", "") == ref

    def replace(self, sheet: str, ref: str, formula: str, value):
        """The native formula text (without '='), or (text, the value it shows) where that differs from
        ``value``, or None."""
        text = formula.lstrip("=")
        self.book._current = ref
        if self._is_status(sheet, ref):
            self.counts["native"] += 1
            return string(SHARED_STATUS), SHARED_STATUS
        live = native_rewrite(self.book, sheet, text, value)
        if live is not None:
            self.counts["native"] += 1
            return live
        guarded = self.book.guard(sheet, text, value)
        if guarded is None:
            self.counts["unguarded"] += 1
            self.unguarded.append(f"{sheet}!{ref}")
            return None
        self.counts["guarded"] += 1
        return guarded


def native_rewrite(book: Workbook, sheet: str, formula: str, value) -> str | None:
    """A live native formula equal to ``formula`` wherever its function calls are inside their domain, or None.

    Handles formulas whose every call is one of ``NATIVE`` with plain (function-free, single-cell)
    arguments. Outside the domain (a blank, text, a number out of range: where the function would answer
    with a '#argument' text), the cell falls back to the guarded share-time value.
    """
    calls = list(_calls(formula))
    table = native_table()
    if not calls or any(name not in table for name, _, _, _ in calls):
        return None
    domains, out, last = [], [], 0
    for name, start, end, args in calls:
        rules, expr = table[name]
        if len(args) != len(rules) or any(_has_call(a) or ":" in a or not a.strip() for a in args):
            return None
        for a, rule in zip(args, rules):
            domains.append(_domain(a, rule))
        out.append(formula[last:start] + "(" + expr(*[f"({a})" for a in args]) + ")")
        last = end
    live_text = "".join(out) + formula[last:]
    fallback = book.guard(sheet, formula, value) or string(REFUSAL)
    text = f"IF(IFERROR({_and(domains)},FALSE),{live_text},{fallback})"
    return text if len(text) <= MAX_FORMULA_CHARS else None


def _domain(arg: str, rule) -> str:
    parts = [f"ISNUMBER({arg})"]
    if rule.minimum is not None:
        parts.append(f"({arg}){'>=' if rule.min_inclusive else '>'}{number(rule.minimum)}")
    if rule.maximum is not None:
        parts.append(f"({arg})<={number(rule.maximum)}")
    if rule.integer:
        parts.append(f"({arg})=INT({arg})")
    return "AND(" + ",".join(parts) + ")"


def _breakeven(p: str, c: str, kw: str, e: str, life: str) -> str:
    """PLAN_BREAKEVEN_HOURS as udfs/core/economics.breakeven_hours computes it, its two refusals included."""
    saving = f"({c}-{kw}*{e})"
    return (f"IF({saving}<=0,{string(_message('saving'))},IF({p}/{saving}>{life}*{number(HOURS_PER_YEAR)},"
            f"{string(_message('lifetime'))},{p}/{saving}))")


def _message(which: str) -> str:
    """The function's own '#argument: ...' text for the two ways owning never breaks even."""
    import udfs

    if which == "saving":       # electricity per hour costs as much as the cloud price
        return str(udfs.PLAN_BREAKEVEN_HOURS(1, 1, 1, 1, 1))
    return str(udfs.PLAN_BREAKEVEN_HOURS(1e6, 1, 0, 0, 0.01))


def _natives() -> dict:
    import udfs
    from udfs.core import validate as V
    from udfs.core.catalog import assumption

    ratio = number(assumption("chinchilla_tokens_per_param"))
    return {
        "PLAN_ROI": ([V.MONEY_SIGNED, V.MONEY_POSITIVE], lambda g, c: f"({g}-{c})/{c}"),
        "PLAN_PAYBACK_MONTHS": ([V.MONEY, udfs.MONTHLY_GAIN], lambda i, g: f"{i}/{g}"),
        "LLM_CHINCHILLA_TOKENS": ([V.PARAMS], lambda p: f"{p}*{ratio}"),
        "PLAN_BREAKEVEN_HOURS": ([V.MONEY, V.MONEY_POSITIVE, V.POWER_KW, V.ENERGY_PRICE, V.YEARS], _breakeven),
    }


@functools.lru_cache(maxsize=None)
def native_table() -> dict:
    """Function name -> (argument rules, native expression builder)."""
    return _natives()



_NAME = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_.]*)\s*\(")


def _has_call(text: str) -> bool:
    from .engine import uses_udf
    return uses_udf(text)


_SPECIAL = re.compile(r'["(),]')     # the characters that end or split a call's argument text


def _calls(formula: str):
    """(NAME, start, end, [argument texts]) of each top-level call of a udfs function in the formula."""
    from .engine import UDF_CALL

    pos = 0
    while True:
        m = UDF_CALL.search(formula, pos)
        if not m:
            return
        if _in_string(formula, m.start()):
            pos = m.end()
            continue
        depth, args, start, quoted, end = 1, [], m.end(), False, len(formula)   # end: an unclosed call's
        for s in _SPECIAL.finditer(formula, m.end()):
            ch = s.group()
            if ch == '"':
                quoted = not quoted
            elif quoted:
                continue
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    end = s.start()
                    break
            elif depth == 1:                  # a comma between this call's arguments
                args.append(formula[start:s.start()])
                start = s.end()
        args.append(formula[start:end])
        yield m.group(1).upper(), m.start(), end + 1, [a.strip() for a in args]
        pos = end + 1


def _in_string(text: str, index: int) -> bool:
    return text[:index].count('"') % 2 == 1
