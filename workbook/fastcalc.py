"""A small Excel formula evaluator for the part of Excel that planning workbooks use; ``engine.evaluate`` tries it
first and falls back to the ``formulas`` package for anything it does not handle.

It works on the book ``engine.prepare`` builds (sheets already renamed ``SXi``, defined names ``_SSN_k``,
external formulas already replaced by their cached values). Each formula is tokenised and compiled once into
a tree of Python closures; cells are evaluated once each, precedents first (an order found from the static
dependency graph, so a long chain of cells costs no recursion), and every value is kept.

What it supports is decided while compiling, before anything is evaluated: a formula that uses any function,
operator or syntax outside the list below raises ``Unsupported`` and the whole workbook goes to ``formulas``
(so do circular references, array (Ctrl+Shift+Enter) formulas, whole-column references, references to missing
sheets and the reference operators). A few things can only be seen while evaluating (a multi-cell range
where Excel would intersect implicitly, a function of ours that raises); they raise ``Unsupported`` then, and
``formulas`` evaluates the workbook from the start.

Excel semantics followed (Microsoft's function reference, https://support.microsoft.com/excel, read 2026-11):
blanks are 0 in arithmetic and "" in text; text that reads as a number is a number in arithmetic ("3"+1 = 4,
"x"+1 = #VALUE!); unary minus binds tighter than ``^`` (-2^2 = 4) and ``^`` is left-associative; the first
error in operand order wins; comparisons order numbers < text < logicals and compare text case-insensitively;
a number becomes text with up to 15 significant digits (1/3&"" = "0.333333333333333"); division by zero is
#DIV/0!; IF, IFERROR, IFNA and CHOOSE evaluate only the branch they return; INDEX with 0 returns a whole row
or column; MATCH 0 is case-insensitive with ``*``, ``?`` and ``~`` wildcards.
"""

from __future__ import annotations

import bisect
import datetime
import math
import re

import numpy as np

from .engine import _IDENT, ExcelError

__all__ = ["Unsupported", "evaluate", "tokens", "references", "FUNCTIONS"]


class Unsupported(Exception):
    """The workbook uses something this evaluator does not handle: evaluate it with ``formulas``."""


ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!",
               "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!")
ERR = {c: ExcelError(c) for c in ERROR_CODES}
E_DIV0, E_VALUE, E_REF, E_NUM, E_NA, E_NAME = (ERR[c] for c in ("#DIV/0!", "#VALUE!", "#REF!", "#NUM!", "#N/A",
                                                                 "#NAME?"))
MAX_ROW, MAX_COL = 1_048_576, 16_384

# ------------------------------------------------------------------------------------------ tokens

_TOKEN = re.compile(r"""
  (?P<ws>\s+)
| (?P<str>"(?:[^"]|"")*")
| (?P<err>\#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!|BLOCKED!|UNKNOWN!|CONNECT!|BUSY!))
| (?P<qsheet>'(?:[^']|'')+'!)
| (?P<num>(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?(?![\w.]))
| (?P<ident>""" + _IDENT + r""")
| (?P<op><>|<=|>=|[-+*/^&=<>%(),:;{}!@\[\]#])
| (?P<bad>.)
""", re.X | re.S)
_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def cell_ref(text: str):
    """(row, col) of an A1 cell reference, or None when the text is not one (a name, a function)."""
    m = _CELL.match(text)
    if not m:
        return None
    r, c = int(m.group(2)), col_number(m.group(1))
    if not (1 <= r <= MAX_ROW and 1 <= c <= MAX_COL):
        return None
    return r, c


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) of each token of a formula (without its leading '='); kinds: str err sheet num ident op, and
    ws for white space. Raises Unsupported on a character the tokenizer does not know."""
    out = []
    bang = False                      # the "!" after an unquoted sheet name, already in its token
    for m in _TOKEN.finditer(text):   # contiguous: every character is some token, "bad" at worst
        kind, tok = m.lastgroup, m.group()
        if bang:
            bang = False
            continue
        if kind == "bad":
            raise Unsupported(f"cannot read {text[m.start():m.start() + 10]!r}")
        if kind == "qsheet":
            out.append(("sheet", tok[1:-2].replace("''", "'")))
        elif kind == "ident" and text.startswith("!", m.end()):
            out.append(("sheet", tok))
            bang = True
        else:
            out.append((kind, tok))
    return out


def references(text: str):
    """The references of a formula, in order: ("ref", sheet or None, "A1" or "A1:B2") and ("name", sheet or None,
    NAME). Raises Unsupported for what it cannot read (a reference to another workbook or a table)."""
    toks = [t for t in tokens(text) if t[0] != "ws"]
    out, i, n = [], 0, len(toks)
    while i < n:
        kind, tok = toks[i]
        sheet = None
        if kind == "sheet":
            sheet = tok
            i += 1
            if i >= n or toks[i][0] != "ident":
                raise Unsupported("a sheet name without a reference")
            kind, tok = toks[i]
        if kind == "op" and tok in ("[", "]", ":", "!"):
            raise Unsupported("a reference this reader does not resolve (another workbook, a table, a column or "
                              "row range, a range operator)")
        if kind == "ident":
            nxt = toks[i + 1] if i + 1 < n else ("", "")
            if nxt == ("op", "(") and sheet is None:
                i += 1
                continue
            if cell_ref(tok):
                if nxt == ("op", ":") and i + 2 < n and toks[i + 2][0] == "ident" and cell_ref(toks[i + 2][1]):
                    out.append(("ref", sheet, tok + ":" + toks[i + 2][1]))
                    i += 3
                    continue
                out.append(("ref", sheet, tok))
            elif tok.upper() not in ("TRUE", "FALSE"):
                out.append(("name", sheet, tok))
        i += 1
    return out


# ------------------------------------------------------------------------------------------ parser
# Nodes: ("num", x) ("str", s) ("bool", b) ("err", code) ("ref", sheet, r1, c1, r2, c2) ("name", NAME)
#        ("neg", a) ("pct", a) ("bin", op, a, b) ("call", NAME, [args])

_ANCHOR = re.compile(r"^(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7})$")


def _cell_token(tok: str, origin):
    """A cell reference as (row anchored, row, column anchored, column), relative to ``origin`` (row, col)
    where not anchored with '$'; None when ``tok`` is not a cell reference."""
    m = _ANCHOR.match(tok)
    if not m:
        return None
    r, c = int(m.group(4)), col_number(m.group(2))
    if not (1 <= r <= MAX_ROW and 1 <= c <= MAX_COL):
        return None
    ra, ca = bool(m.group(3)), bool(m.group(1))
    if origin is None:
        if not (ra and ca):
            raise Unsupported("a relative reference in a defined name")
        return (True, r, True, c)
    return (ra, r if ra else r - origin[0], ca, c if ca else c - origin[1])


def normalised(text: str, origin):
    """The formula's tokens (white space dropped) with cell references relative to ``origin``: formulas that
    differ only by where they are copied to have the same tokens (and share one syntax tree)."""
    toks = [t for t in tokens(text) if t[0] != "ws"]
    out = []
    for j, (kind, tok) in enumerate(toks):
        if kind == "ident" and not (j + 1 < len(toks) and toks[j + 1] == ("op", "(")):
            cell = _cell_token(tok, origin)
            if cell is not None:
                out.append(("cell", cell))
                continue
        out.append((kind, tok))
    return tuple(out)


_END = ("end", "")
# Binary operators and their precedence (Excel's, lowest first); all are left-associative, "^" included.
_BINARY = {"=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1, "&": 2, "+": 3, "-": 3, "*": 4, "/": 4, "^": 5}


class _Parser:
    def __init__(self, toks, sheet_index):
        self.toks = list(toks)
        self.n = len(self.toks)
        self.toks.append(_END)               # so peek needs no bounds check
        self.i = 0
        self.sheet_index = sheet_index       # sheet name -> index, or None (unsupported)

    def peek(self):
        return self.toks[self.i]

    def take(self):
        t = self.toks[self.i]
        if self.i < self.n:
            self.i += 1
        return t

    def expect(self, tok):
        if self.take() != ("op", tok):
            raise Unsupported(f"expected {tok!r}")

    def parse(self):
        node = self.expression()
        if self.i != self.n:
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return node

    def expression(self, least=1):
        """Operators of precedence ``least`` or higher, by precedence climbing: ``a op b`` with ``b`` holding
        only operators that bind tighter (so every operator is left-associative)."""
        a = self.unary()
        toks = self.toks
        while True:
            kind, tok = toks[self.i]
            if kind != "op":
                return a
            p = _BINARY.get(tok)
            if p is None or p < least:
                return a
            self.i += 1
            a = ("bin", tok, a, self.expression(p + 1))

    def unary(self):
        t = self.peek()
        if t == ("op", "-"):
            self.take()
            return ("neg", self.unary())
        if t == ("op", "+"):
            self.take()
            return self.unary()
        a = self.primary()
        while self.peek() == ("op", "%"):
            self.take()
            a = ("pct", a)
        return a

    def primary(self):
        kind, tok = self.take()
        if kind == "num":
            return ("num", float(tok))
        if kind == "str":
            return ("str", tok[1:-1].replace('""', '"'))
        if kind == "err":
            return ("err", tok)
        if kind == "op" and tok == "(":
            node = self.expression()
            self.expect(")")
            return node
        sheet = None
        if kind == "sheet":
            if self.sheet_index is None:
                raise Unsupported("sheet reference")
            sheet = self.sheet_index(tok)
            kind, tok = self.take()
            if kind not in ("ident", "cell"):
                raise Unsupported("sheet name without a cell")
        if kind not in ("ident", "cell"):
            raise Unsupported(f"unexpected {tok!r}")
        if kind == "ident" and sheet is None and self.peek() == ("op", "("):
            self.take()
            name = tok.upper()
            args = []
            if self.peek() == ("op", ")"):
                self.take()
                return ("call", name, args)
            while True:
                if self.peek()[0] == "op" and self.peek()[1] in (",", ")"):
                    raise Unsupported("an empty argument")
                args.append(self.expression())
                t = self.take()
                if t == ("op", ")"):
                    return ("call", name, args)
                if t != ("op", ","):
                    raise Unsupported(f"unexpected {t[1]!r} in an argument list")
        if kind == "cell":
            a = b = tok
            if self.peek() == ("op", ":"):
                self.take()
                k2, t2 = self.take()
                if k2 != "cell":
                    raise Unsupported("a range that is not A1:B2")
                b = t2
            return ("ref", sheet, a, b)
        if kind != "ident":
            raise Unsupported(f"unexpected {tok!r}")
        if sheet is not None:
            raise Unsupported("a sheet-qualified name")
        up = tok.upper()
        if up in ("TRUE", "FALSE"):
            return ("bool", up == "TRUE")
        if self.peek() == ("op", ":"):
            raise Unsupported("the range operator on a name")
        return ("name", tok)


def parse(text: str, sheet_index=None, origin=None):
    """The syntax tree of a formula (text without '=') written in the cell ``origin`` (row, col; None for a
    defined name); ``sheet_index(name)`` maps a sheet name to its index. References are
    ("ref", sheet, (row anchored, row, col anchored, col) x 2), relative to ``origin`` where not anchored."""
    return _Parser(normalised(text, origin), sheet_index).parse()


# ------------------------------------------------------------------------------------------ values

class Ref:
    """A rectangular reference on one sheet (1-based, inclusive)."""
    __slots__ = ("s", "r1", "c1", "r2", "c2")

    def __init__(self, s, r1, c1, r2, c2):
        self.s, self.r1, self.c1, self.r2, self.c2 = s, r1, c1, r2, c2

    @property
    def key(self):
        return (self.s, self.r1, self.c1, self.r2, self.c2)

    @property
    def rows(self):
        return self.r2 - self.r1 + 1

    @property
    def cols(self):
        return self.c2 - self.c1 + 1


_NUMBER = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")
_PERCENT = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*%\s*$")


def text_number(s: str):
    """A text as Excel reads it in arithmetic: a float, or None when it is not a number. Other texts with digits
    (dates, times, currency, which Excel may read as numbers) raise Unsupported: the workbook goes to
    ``formulas``."""
    if _NUMBER.match(s):
        return float(s)
    m = _PERCENT.match(s)
    if m:
        return float(m.group(1)) / 100
    if re.search(r"\d", s):          # "1-2", "3 Jan", "1/2/2020", "$1,000", "10:30": dates, times and currency
        raise Unsupported("a text with digits read as a number (Excel may read a date, a time or money)")
    return None


def num(v):
    """A scalar as a number for arithmetic: float, or an ExcelError."""
    t = type(v)
    if t is float:
        return v
    if v is None:
        return 0.0
    if t is bool:
        return 1.0 if v else 0.0
    if t is int:
        return float(v)
    if t is str:
        x = text_number(v)
        return E_VALUE if x is None else x
    if t is ExcelError:
        return v
    if isinstance(v, float):
        return float(v)
    raise Unsupported(f"a value of type {t.__name__}")


def fmt_number(x: float) -> str:
    """A number as Excel turns it into text (General format, up to 15 significant digits)."""
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    s = "%.15g" % x
    if "e" in s:
        mant, exp = s.split("e")
        e = int(exp)
        return f"{mant}E{'+' if e >= 0 else '-'}{abs(e):02d}"
    return s


def text(v):
    """A scalar as text: str or an ExcelError."""
    t = type(v)
    if t is str:
        return v
    if v is None:
        return ""
    if t is bool:
        return "TRUE" if v else "FALSE"
    if t is float or t is int:
        return fmt_number(float(v))
    if t is ExcelError:
        return v
    raise Unsupported(f"a value of type {t.__name__}")


def logical(v):
    t = type(v)
    if t is bool:
        return v
    if t is float or t is int:
        return v != 0
    if v is None:
        return False
    if t is str:
        u = v.upper()
        if u == "TRUE":
            return True
        if u == "FALSE":
            return False
        return E_VALUE
    if t is ExcelError:
        return v
    raise Unsupported(f"a value of type {t.__name__}")


def _rank(v):
    """(type rank, comparable) as Excel orders values: numbers < text < logicals."""
    t = type(v)
    if t is float or t is int:
        return 0, v
    if t is str:
        return 1, v.upper()
    if t is bool:
        return 2, v
    raise Unsupported(f"a value of type {t.__name__}")


def compare(op, a, b):
    if type(a) is ExcelError:
        return a
    if type(b) is ExcelError:
        return b
    if a is None:
        a = "" if type(b) is str else (False if type(b) is bool else 0.0)
    if b is None:
        b = "" if type(a) is str else (False if type(a) is bool else 0.0)
    ka, kb = _rank(a), _rank(b)
    if op == "=":
        return ka == kb
    if op == "<>":
        return ka != kb
    if op == "<":
        return ka < kb
    if op == ">":
        return ka > kb
    if op == "<=":
        return ka <= kb
    return ka >= kb


def _finite(x):
    return x if x == x and x not in (math.inf, -math.inf) else E_NUM


def arith(op, a, b):
    a = num(a)
    if type(a) is ExcelError:
        return a
    b = num(b)
    if type(b) is ExcelError:
        return b
    if op == "+":
        return _finite(a + b)
    if op == "-":
        return _finite(a - b)
    if op == "*":
        return _finite(a * b)
    if op == "/":
        return E_DIV0 if b == 0 else _finite(a / b)
    # ^
    if a == 0 and b == 0:
        return E_NUM
    if a == 0 and b < 0:
        return E_DIV0
    if a < 0 and b != int(b):
        return E_NUM
    try:
        return _finite(a ** b)
    except OverflowError:
        return E_NUM


def concat(a, b):
    a = text(a)
    if type(a) is ExcelError:
        return a
    b = text(b)
    if type(b) is ExcelError:
        return b
    return a + b


def binary(op, a, b):
    if op == "&":
        return concat(a, b)
    if op in ("+", "-", "*", "/", "^"):
        return arith(op, a, b)
    return compare(op, a, b)


def is_error(v):
    return type(v) is ExcelError


# ------------------------------------------------------------------------------------------ the evaluator

class Book:
    """Cells (constants and computed values) of the prepared book, and the ranges read from it."""

    def __init__(self):
        self.cells: dict = {}                 # (sheet, row, col) -> value (None: blank)
        self._grids: dict = {}
        self._index: dict = {}

    def value(self, s, r, c):
        return self.cells.get((s, r, c))

    def grid(self, ref: Ref):
        """The values of a range as a list of rows (cached: ranges are read after all their cells are final)."""
        key = ref.key
        g = self._grids.get(key)
        if g is None:
            cells, s = self.cells, ref.s
            if ref.rows * ref.cols > 5_000_000:
                raise Unsupported("a very large range")
            g = [[cells.get((s, r, c)) for c in range(ref.c1, ref.c2 + 1)] for r in range(ref.r1, ref.r2 + 1)]
            self._grids[key] = g
        return g

    def vector(self, ref: Ref):
        g = self.grid(ref)
        if ref.rows == 1:
            return g[0]
        if ref.cols == 1:
            return [row[0] for row in g]
        return None

    def exact_index(self, ref: Ref, vec):
        """Normalised value -> first position (exact MATCH)."""
        idx = self._index.get(ref.key)
        if idx is None:
            idx = {}
            for i, v in enumerate(vec):
                k = _match_key(v)
                if k is not None and k not in idx:
                    idx[k] = i
            self._index[ref.key] = idx
        return idx


def _match_key(v):
    t = type(v)
    if t is float or t is int:
        return (0, float(v))
    if t is str:
        return (1, v.upper())
    if t is bool:
        return (2, v)
    return None


def deref(book, v):
    """A value in a scalar context: a one-cell reference is its value; a multi-cell one is Excel's implicit
    intersection, which this evaluator does not do."""
    if type(v) is Ref:
        if v.r1 == v.r2 and v.c1 == v.c2:
            return book.cells.get((v.s, v.r1, v.c1))
        raise Unsupported("a range used as a single value")
    if type(v) is list:
        if len(v) == 1 and len(v[0]) == 1:
            return v[0][0]
        raise Unsupported("an array used as a single value")
    return v


def as_grid(book, v):
    """A value in an array context: a list of rows, or a scalar."""
    if type(v) is Ref:
        return book.grid(v)
    return v


def values_of(book, v):
    """Every value a reference or array argument holds, flattened; (values, from_reference)."""
    if type(v) is Ref:
        return [x for row in book.grid(v) for x in row], True
    if type(v) is list:
        return [x for row in v for x in row], True
    return [v], False


def broadcast(fn, a, b):
    """An element-wise operation on two arrays or scalars (same shape, or one row/column/cell stretched)."""
    la, lb = type(a) is list, type(b) is list
    if not la and not lb:
        return fn(a, b)
    ra, ca = (len(a), len(a[0])) if la else (1, 1)
    rb, cb = (len(b), len(b[0])) if lb else (1, 1)
    rows = ra if rb == 1 else rb if ra == 1 else (ra if ra == rb else None)
    cols = ca if cb == 1 else cb if ca == 1 else (ca if ca == cb else None)
    if rows is None or cols is None:
        raise Unsupported("arrays of different sizes")
    out = []
    for r in range(rows):
        xa = a[r if ra > 1 else 0] if la else None
        xb = b[r if rb > 1 else 0] if lb else None
        out.append([fn(xa[c if ca > 1 else 0] if la else a, xb[c if cb > 1 else 0] if lb else b)
                    for c in range(cols)])
    return out


def amap(fn, a):
    if type(a) is list:
        return [[fn(x) for x in row] for row in a]
    return fn(a)


class Compiler:
    """Turns syntax trees into closures over a ``Book``. Modes: "v" a scalar value, "r" raw (references kept
    as ``Ref``), "a" array (references read as lists of rows, operators element-wise)."""

    def __init__(self, book: Book, names: dict, sheet_count: int, udfs_module=None, udf_names=frozenset()):
        self.book = book
        self.names = names                 # alias -> syntax tree (or None: #REF!)
        self.sheet_count = sheet_count
        self.udfs = udfs_module
        self.udf_names = udf_names
        self.refs: list = []                # static references of the formula being compiled
        self._name_stack: list = []
        self._trees: dict = {}
        self._compiled: dict = {}
        self._by_shape: dict = {}
        self._sheet_aliases = {f"SX{i}": i for i in range(sheet_count)}     # engine.Translator's sheet names
        self.ctx = [0, 0]                    # the cell a shared closure is evaluated for (row, col)
        self.origin = None
        self.volatile = False

    def sheet_index(self, name):
        i = self._sheet_aliases.get(name)
        if i is None:
            raise Unsupported(f"a reference to a sheet that is not in the workbook ({name})")
        return i

    def formula(self, text: str, sheet: int, origin, shape=None):
        """(closure giving the cell's value, static references as Ref keys) of the formula in cell ``origin``.
        Formulas copied across cells (the same tokens relative to their cell) share one closure, which reads
        its cell from ``self.ctx`` (set by the caller before each call). ``shape``: the shape number
        ``engine.Translator.translate_cell`` gave the formula (formulas of one shape on one sheet have the same
        tokens relative to their cells), so a copy is neither tokenised nor looked up by its tokens again."""
        entry = self._by_shape.get(shape) if shape is not None else None
        if entry is None:
            toks = normalised(text, origin)
            entry = self._compiled.get((toks, sheet))
        if entry is None:
            tree = self._trees.get(toks)
            if tree is None:
                tree = self._trees[toks] = _Parser(toks, self.sheet_index).parse()
            shared = _translatable(tree)
            self.refs = []
            self.origin = _RUNTIME if shared else origin
            fn = self.compile(tree, sheet, "r")
            book = self.book

            def cell():
                v = deref(book, fn())
                return 0.0 if v is None else v      # a formula that reads a blank shows 0 (Excel, formulas)
            entry = (cell, self.refs, shared)
            if shared:
                self._compiled[(toks, sheet)] = entry
        if shape is not None and entry[2]:
            self._by_shape[shape] = entry
        cell, descs, shared = entry
        refs = []
        for d in descs:
            if d[0] == "rel":
                _, s, ra, r1, ca, c1, rb, r2, cb, c2 = d
                r1, c1 = (r1 if ra else origin[0] + r1), (c1 if ca else origin[1] + c1)
                r2, c2 = (r2 if rb else origin[0] + r2), (c2 if cb else origin[1] + c2)
                if not (1 <= r1 <= MAX_ROW and 1 <= r2 <= MAX_ROW and 1 <= c1 <= MAX_COL and 1 <= c2 <= MAX_COL):
                    raise Unsupported("a reference off the grid")
                if r1 > r2:
                    r1, r2 = r2, r1
                if c1 > c2:
                    c1, c2 = c2, c1
                refs.append((s, r1, c1, r2, c2))
            else:
                refs.append(d)
        return cell, refs

    def compile(self, node, sheet, mode):
        kind = node[0]
        book = self.book
        if kind in ("num", "str", "bool", "err"):
            v = ERR.get(node[1], None) if kind == "err" else node[1]
            if kind == "err" and v is None:
                raise Unsupported(node[1])
            return lambda: v
        if kind == "ref":
            s = sheet if node[1] is None else node[1]
            if s is None:
                raise Unsupported("a defined name with a reference relative to the cell using it")
            (ra, r1, ca, c1), (rb, r2, cb, c2) = node[2], node[3]
            o = self.origin
            if o is _RUNTIME and not (ra and ca and rb and cb):
                return self._relative(s, ra, r1, ca, c1, rb, r2, cb, c2, mode)
            if not (ra and ca and rb and cb):
                if o is None:
                    raise Unsupported("a relative reference in a defined name")
                r1, c1 = (r1 if ra else o[0] + r1), (c1 if ca else o[1] + c1)
                r2, c2 = (r2 if rb else o[0] + r2), (c2 if cb else o[1] + c2)
                if not (1 <= r1 <= MAX_ROW and 1 <= r2 <= MAX_ROW and 1 <= c1 <= MAX_COL and 1 <= c2 <= MAX_COL):
                    raise Unsupported("a reference off the grid")
            ref = Ref(s, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))
            self.refs.append(ref.key)
            single = ref.r1 == ref.r2 and ref.c1 == ref.c2
            if mode == "v":
                if not single:
                    raise Unsupported("a range used as a single value")
                key = (s, ref.r1, ref.c1)
                cells = book.cells
                return lambda: cells.get(key)
            if mode == "a":
                return lambda: book.grid(ref)
            return lambda: ref
        if kind == "name":
            alias = node[1]
            if alias not in self.names:
                raise Unsupported(f"an unknown name {alias}")
            tree = self.names[alias]
            if tree is None:
                return lambda: E_REF
            if alias in self._name_stack:
                raise Unsupported("a name defined through itself")
            self._name_stack.append(alias)
            origin, self.origin = self.origin, None
            try:
                return self.compile(tree, None, mode)
            finally:
                self._name_stack.pop()
                self.origin = origin
        if kind == "neg":
            a = self.compile(node[1], sheet, "a" if mode == "a" else "v")
            if mode == "a":
                return lambda: amap(_neg, a())
            return lambda: _neg(a())
        if kind == "pct":
            a = self.compile(node[1], sheet, "a" if mode == "a" else "v")
            if mode == "a":
                return lambda: amap(_pct, a())
            return lambda: _pct(a())
        if kind == "bin":
            op = node[1]
            sub = "a" if mode == "a" else "v"
            a = self.compile(node[2], sheet, sub)
            b = self.compile(node[3], sheet, sub)
            if op == "&":
                f = concat
            elif op in ("+", "-", "*", "/", "^"):
                f = _ARITH[op]
            else:
                f = _COMPARE[op]
            if mode == "a":
                return lambda: broadcast(f, a(), b())
            return lambda: f(a(), b())
        if kind == "call":
            name = node[1]
            args = node[2]
            if name in self.udf_names:
                return self._udf(name, args, sheet)
            spec = FUNCTIONS.get(name)
            if spec is None:
                raise Unsupported(f"the function {name}")
            lo, hi, modes, build = spec
            if not lo <= len(args) <= hi:
                raise Unsupported(f"{name} with {len(args)} arguments")
            if name in ("NOW", "TODAY", "RAND"):
                self.volatile = True
            fs = [self.compile(a, sheet, modes[min(i, len(modes) - 1)] if modes != "same" else
                               ("r" if mode == "r" else mode)) for i, a in enumerate(args)]
            fn = build(book, fs)
            if mode == "v":
                return lambda: deref(book, fn())
            if mode == "a":
                return lambda: as_grid(book, fn())
            return fn
        raise Unsupported(kind)

    def _relative(self, s, ra, r1, ca, c1, rb, r2, cb, c2, mode):
        """A reference with relative parts in a shared closure: its cells follow ``self.ctx`` (row, col).
        Only for references whose two corners are anchored alike (``_translatable``), so the shape is fixed."""
        self.refs.append(("rel", s, ra, r1, ca, c1, rb, r2, cb, c2))
        ctx, book, cells = self.ctx, self.book, self.book.cells
        single = r1 == r2 and c1 == c2
        if mode == "v":
            if not single:
                raise Unsupported("a range used as a single value")
            if ra:
                return lambda: cells.get((s, r1, ctx[1] + c1))
            if ca:
                return lambda: cells.get((s, ctx[0] + r1, c1))
            return lambda: cells.get((s, ctx[0] + r1, ctx[1] + c1))

        def ref():
            a1, b1 = (r1 if ra else ctx[0] + r1), (c1 if ca else ctx[1] + c1)
            a2, b2 = (r2 if rb else ctx[0] + r2), (c2 if cb else ctx[1] + c2)
            return Ref(s, min(a1, a2), min(b1, b2), max(a1, a2), max(b1, b2))
        if mode == "a":
            return lambda: book.grid(ref())
        return ref

    def _udf(self, name, args, sheet):
        fn = getattr(self.udfs, name)
        fs = [self.compile(a, sheet, "r") for a in args]
        book = self.book

        def call():
            xs = [_to_xlwings(book, f()) for f in fs]
            try:
                out = fn(*xs)
            except Exception as exc:       # the formulas path would decide what this becomes
                raise Unsupported(f"{name} raised {type(exc).__name__}") from exc
            return _from_udf(out)
        return call


_RUNTIME = object()     # Compiler.origin while compiling a closure shared by copies of a formula


def _translatable(node) -> bool:
    """Every reference in the tree has both corners anchored alike, so copies keep its shape."""
    kind = node[0]
    if kind == "ref":
        (ra, _, ca, _), (rb, _, cb, _) = node[2], node[3]
        return ra == rb and ca == cb
    if kind in ("neg", "pct"):
        return _translatable(node[1])
    if kind == "bin":
        return _translatable(node[2]) and _translatable(node[3])
    if kind == "call":
        return all(_translatable(a) for a in node[2])
    return True


def _neg(x):
    x = num(x)
    return x if type(x) is ExcelError else -x


def _pct(x):
    x = num(x)
    return x if type(x) is ExcelError else x / 100.0


_ARITH = {op: (lambda op: lambda a, b: arith(op, a, b))(op) for op in "+-*/^"}
_COMPARE = {op: (lambda op: lambda a, b: compare(op, a, b))(op) for op in ("=", "<>", "<", ">", "<=", ">=")}


def _to_xlwings(book, v):
    """An argument as xlwings passes it: scalars, or lists of rows with None for blanks, errors as their text."""
    if type(v) is Ref:
        if v.r1 == v.r2 and v.c1 == v.c2:
            v = book.cells.get((v.s, v.r1, v.c1))
        else:
            return [[x.code if type(x) is ExcelError else x for x in row] for row in book.grid(v)]
    if type(v) is list:
        rows = [[x.code if type(x) is ExcelError else x for x in row] for row in v]
        return rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows
    if type(v) is ExcelError:
        return v.code
    return v


def _from_udf(out):
    if isinstance(out, list):
        rows = [r if isinstance(r, list) else [r] for r in out]
        if not rows or not rows[0]:
            raise Unsupported("an empty array result")
        return [[_from_udf(x) for x in row] for row in rows]
    if out is None or type(out) in (float, str, bool, int):
        return out
    if hasattr(out, "item"):
        return out.item()
    if isinstance(out, (int, float, str)):
        return out
    raise Unsupported(f"a result of type {type(out).__name__}")


# ------------------------------------------------------------------------------------------ functions
# name -> (min args, max args, argument modes (last repeats), builder(book, [closures]) -> closure)

FUNCTIONS: dict = {}


def _fn(names, lo, hi, modes):
    def deco(build):
        for n in names.split():
            FUNCTIONS[n] = (lo, hi, modes, build)
        return build
    return deco


@_fn("IF", 1, 3, "same")
def _if(book, fs):
    c = fs[0]
    a = fs[1] if len(fs) > 1 else (lambda: True)
    b = fs[2] if len(fs) > 2 else (lambda: False)

    def f():
        x = logical(deref(book, c()))
        if type(x) is ExcelError:
            return x
        return a() if x else b()
    return f


FUNCTIONS["IF"] = (2, 3, "same", _if)


@_fn("IFERROR", 2, 2, "same")
def _iferror(book, fs):
    a, b = fs

    def f():
        x = a()
        v = deref(book, x) if type(x) is Ref else x
        return b() if type(v) is ExcelError else x
    return f


@_fn("IFNA _XLFN.IFNA", 2, 2, "same")
def _ifna(book, fs):
    a, b = fs

    def f():
        x = a()
        v = deref(book, x) if type(x) is Ref else x
        return b() if v is E_NA else x
    return f


@_fn("CHOOSE", 2, 254, "vr")
def _choose(book, fs):
    idx, opts = fs[0], fs[1:]

    def f():
        i = num(idx())
        if type(i) is ExcelError:
            return i
        i = int(i)
        if not 1 <= i <= len(opts):
            return E_VALUE
        return opts[i - 1]()
    return f


def _is(test):
    def build(book, fs):
        a = fs[0]
        return lambda: test(deref(book, a()))
    return build


_fn("ISERROR", 1, 1, "r")(_is(lambda v: type(v) is ExcelError))
_fn("ISERR", 1, 1, "r")(_is(lambda v: type(v) is ExcelError and v is not E_NA))
_fn("ISNA", 1, 1, "r")(_is(lambda v: v is E_NA))
_fn("ISNUMBER", 1, 1, "r")(_is(lambda v: type(v) in (float, int)))
_fn("ISTEXT", 1, 1, "r")(_is(lambda v: type(v) is str))
_fn("ISNONTEXT", 1, 1, "r")(_is(lambda v: type(v) is not str))
_fn("ISLOGICAL", 1, 1, "r")(_is(lambda v: type(v) is bool))


@_fn("ISBLANK", 1, 1, "r")
def _isblank(book, fs):
    a = fs[0]

    def f():
        x = a()
        if type(x) is Ref:
            return deref(book, x) is None
        return False            # a value that is not a reference is never blank
    return f


def _logicals(book, fs, name):
    """The logical values AND/OR read: references skip text and blanks; direct text is #VALUE!."""
    out = []
    for f in fs:
        x = f()
        vals, from_ref = values_of(book, x)
        for v in vals:
            if type(v) is ExcelError:
                return v
            if from_ref:
                if type(v) in (bool, float, int):
                    out.append(bool(v))
                continue
            b = logical(v)
            if type(b) is ExcelError:
                # AND("a"): Microsoft's reference does not settle a direct text argument (formulas skips it)
                raise Unsupported(f"{name} of a text argument")
            out.append(b)
    if not out:
        return E_VALUE
    return out


def _logical_fn(name: str, combine):
    """AND / OR: ``combine`` (all / any) of the arguments' logical values; the first error passes through."""
    @_fn(name, 1, 255, "r")
    def build(book, fs):
        def f():
            xs = _logicals(book, fs, name)
            return xs if type(xs) is ExcelError else combine(xs)
        return f
    return build


_and = _logical_fn("AND", all)
_or = _logical_fn("OR", any)


@_fn("NOT", 1, 1, "v")
def _not(book, fs):
    a = fs[0]

    def f():
        x = logical(a())
        return x if type(x) is ExcelError else not x
    return f


@_fn("TRUE", 0, 0, "v")
def _true(book, fs):
    return lambda: True


@_fn("FALSE", 0, 0, "v")
def _false(book, fs):
    return lambda: False


@_fn("NA", 0, 0, "v")
def _na(book, fs):
    return lambda: E_NA


def _numbers(book, fs):
    """The numbers SUM/MAX/MIN/COUNT... read: references and arrays give their numbers (text, logicals and
    blanks skipped), direct arguments are converted (text that is no number: #VALUE!); the first error wins."""
    out = []
    for f in fs:
        x = f()
        if type(x) is Ref or type(x) is list:
            vals, _ = values_of(book, x)
            for v in vals:
                t = type(v)
                if t is float or t is int:
                    out.append(v)
                elif t is ExcelError:
                    return v
            continue
        v = num(x)
        if type(v) is ExcelError:
            return v
        out.append(v)
    return out


def _aggregate(fn):
    def build(book, fs):
        def f():
            xs = _numbers(book, fs)
            if type(xs) is ExcelError:
                return xs
            return fn(xs)
        return f
    return build


def _sum(xs):
    """numpy's pairwise sum, as the formulas package adds (the same bits where both agree)."""
    return _finite(float(np.sum(np.asarray(xs, dtype=np.float64)))) if xs else 0.0


_fn("SUM", 1, 255, "r")(_aggregate(_sum))
_fn("MAX", 1, 255, "r")(_aggregate(lambda xs: float(max(xs)) if xs else 0.0))
_fn("MIN", 1, 255, "r")(_aggregate(lambda xs: float(min(xs)) if xs else 0.0))
_fn("AVERAGE", 1, 255, "r")(_aggregate(lambda xs: math.fsum(xs) / len(xs) if xs else E_DIV0))
_fn("PRODUCT", 1, 255, "r")(_aggregate(lambda xs: _finite(math.prod(xs)) if xs else 0.0))


@_fn("COUNT", 1, 255, "r")
def _count(book, fs):
    def f():
        n = 0
        for g in fs:
            x = g()
            vals, from_ref = values_of(book, x)
            for v in vals:
                t = type(v)
                if t is float or t is int:
                    n += 1
                elif not from_ref and (t is bool or (t is str and text_number(v) is not None)):
                    n += 1
        return float(n)
    return f


@_fn("COUNTA", 1, 255, "r")
def _counta(book, fs):
    def f():
        n = 0
        for g in fs:
            vals, from_ref = values_of(book, g())
            n += sum(1 for v in vals if v is not None)
        return float(n)
    return f


def _scalar_fn(n_args, fn, modes="v"):
    """A function of scalar numbers: errors first, then conversion."""
    def build(book, fs):
        def f():
            xs = []
            for g in fs:
                x = num(g())
                if type(x) is ExcelError:
                    return x
                xs.append(x)
            try:
                return fn(*xs)
            except (ValueError, OverflowError, ZeroDivisionError):
                return E_NUM
        return f
    return build


def _round_half_away(x, digits):
    d = int(digits)
    m = 10.0 ** d
    y = abs(x) * m
    # Excel rounds the decimal it shows (15 significant digits): 2.675 rounds to 2.68
    y = float("%.15g" % y)
    r = math.floor(y + 0.5)
    return math.copysign(r / m, x) if r else 0.0


def _roundup(x, digits):
    d = int(digits)
    m = 10.0 ** d
    y = float("%.15g" % (abs(x) * m))
    r = math.ceil(y)
    return math.copysign(r / m, x) if r else 0.0


def _rounddown(x, digits):
    d = int(digits)
    m = 10.0 ** d
    y = float("%.15g" % (abs(x) * m))
    r = math.floor(y)
    return math.copysign(r / m, x) if r else 0.0


_fn("ROUND", 2, 2, "v")(_scalar_fn(2, _round_half_away))
_fn("ROUNDUP", 2, 2, "v")(_scalar_fn(2, _roundup))
_fn("ROUNDDOWN", 2, 2, "v")(_scalar_fn(2, _rounddown))
_fn("INT", 1, 1, "v")(_scalar_fn(1, lambda x: float(math.floor(x))))
_fn("ABS", 1, 1, "v")(_scalar_fn(1, abs))
_fn("SIGN", 1, 1, "v")(_scalar_fn(1, lambda x: float((x > 0) - (x < 0))))
_fn("SQRT", 1, 1, "v")(_scalar_fn(1, lambda x: math.sqrt(x) if x >= 0 else E_NUM))
_fn("EXP", 1, 1, "v")(_scalar_fn(1, lambda x: _finite(math.exp(x))))
_fn("LN", 1, 1, "v")(_scalar_fn(1, lambda x: math.log(x) if x > 0 else E_NUM))
_fn("LOG10", 1, 1, "v")(_scalar_fn(1, lambda x: math.log10(x) if x > 0 else E_NUM))
_fn("MOD", 2, 2, "v")(_scalar_fn(2, lambda x, y: E_DIV0 if y == 0 else x - y * math.floor(x / y)))
_fn("POWER", 2, 2, "v")(_scalar_fn(2, lambda x, y: arith("^", x, y)))


@_fn("SLN", 3, 3, "v")
def _sln(book, fs):
    return _scalar_fn(3, lambda cost, salvage, life: E_DIV0 if life == 0 else (cost - salvage) / life)(book, fs)


@_fn("NPV", 2, 255, "r")
def _npv(book, fs):
    rate_f, rest = fs[0], fs[1:]

    def f():
        rate = num(deref(book, rate_f()))
        if type(rate) is ExcelError:
            return rate
        xs = _numbers(book, rest)
        if type(xs) is ExcelError:
            return xs
        if rate == -1:
            return E_DIV0
        if not xs:
            return 0.0
        v = np.asarray(xs, dtype=np.float64)
        return _finite(float((v / np.power(1 + rate, np.arange(1, len(xs) + 1))).sum()))
    return f


@_fn("IRR", 1, 2, "r")
def _irr(book, fs):
    def f():
        vals, from_ref = values_of(book, fs[0]())
        xs = []
        for v in vals:
            if type(v) is ExcelError:
                return v
            if type(v) in (float, int):
                xs.append(float(v))
        guess = 0.1
        if len(fs) > 1:
            guess = num(deref(book, fs[1]()))
            if type(guess) is ExcelError:
                return guess
        if not any(x > 0 for x in xs) or not any(x < 0 for x in xs):
            return E_NUM
        return _irr_solve(xs, guess)
    return f


def _irr_solve(xs, guess):
    """The rate where NPV of the flows (first at t=0) is 0: Newton's method from ``guess`` (Excel iterates up
    to 20 times to 0.00001 %; this iterates to full precision)."""
    r = guess
    for _ in range(200):
        if r <= -1:
            return E_NUM
        npv = sum(x / (1 + r) ** i for i, x in enumerate(xs))
        d = sum(-i * x / (1 + r) ** (i + 1) for i, x in enumerate(xs))
        if d == 0:
            return E_NUM
        step = npv / d
        r -= step
        if abs(step) <= 1e-15 * max(1.0, abs(r)):
            return r
    raise Unsupported("IRR did not converge")


def _text_fn(fn, modes="v"):
    def build(book, fs):
        def f():
            xs = [g() for g in fs]
            for x in xs:
                if type(x) is ExcelError:
                    return x
            return fn(*xs)
        return f
    return build


def _count_arg(x, default=None):
    v = num(x)
    if type(v) is ExcelError:
        return v
    return int(v)


def _left(s, n=1.0):
    s, n = text(s), _count_arg(n)
    if type(n) is ExcelError:
        return n
    return E_VALUE if n < 0 else s[:n]


def _right(s, n=1.0):
    s, n = text(s), _count_arg(n)
    if type(n) is ExcelError:
        return n
    return E_VALUE if n < 0 else (s[len(s) - n:] if n else "")


def _mid(s, start, n):
    s, a, n = text(s), _count_arg(start), _count_arg(n)
    for x in (a, n):
        if type(x) is ExcelError:
            return x
    if a < 1 or n < 0:
        return E_VALUE
    return s[a - 1:a - 1 + n]


def _search(find, within, start=1.0, case=False):
    find, within, a = text(find), text(within), _count_arg(start)
    if type(a) is ExcelError:
        return a
    if a < 1 or a > len(within) + 1:
        return E_VALUE
    if case:
        i = within.find(find, a - 1)
    else:
        m = re.compile(_wildcard(find), re.I | re.S).search(within, a - 1)
        i = m.start() if m else -1
    return E_VALUE if i < 0 else float(i + 1)


def _wildcard(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "~" and i + 1 < len(pattern) and pattern[i + 1] in "*?~":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return "".join(out)


_fn("LEFT", 1, 2, "v")(_text_fn(_left))
_fn("RIGHT", 1, 2, "v")(_text_fn(_right))
_fn("MID", 3, 3, "v")(_text_fn(_mid))
_fn("LEN", 1, 1, "v")(_text_fn(lambda s: float(len(text(s)))))
_fn("SEARCH", 2, 3, "v")(_text_fn(_search))
_fn("FIND", 2, 3, "v")(_text_fn(lambda f, w, s=1.0: _search(f, w, s, case=True)))
_fn("EXACT", 2, 2, "v")(_text_fn(lambda a, b: text(a) == text(b)))
_fn("UPPER", 1, 1, "v")(_text_fn(lambda s: text(s).upper()))
_fn("LOWER", 1, 1, "v")(_text_fn(lambda s: text(s).lower()))
_fn("TRIM", 1, 1, "v")(_text_fn(lambda s: re.sub(" +", " ", text(s)).strip(" ")))
_fn("CONCATENATE", 1, 255, "v")(_text_fn(lambda *xs: "".join(text(x) for x in xs)))


@_fn("NOW", 0, 0, "v")
def _now(book, fs):
    def f():
        now = datetime.datetime.now()
        delta = now - datetime.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    return f


@_fn("TODAY", 0, 0, "v")
def _today(book, fs):
    return lambda: float((datetime.date.today() - datetime.date(1899, 12, 30)).days)


def _index_arg(book, f):
    x = num(deref(book, f()))
    if type(x) is ExcelError:
        return x
    if x < 0:
        return E_VALUE
    return int(x)


@_fn("INDEX", 2, 3, "r")
def _index(book, fs):
    arr_f, row_f = fs[0], fs[1]
    col_f = fs[2] if len(fs) > 2 else None

    def f():
        a = arr_f()
        r = _index_arg(book, row_f)
        if type(r) is ExcelError:
            return r
        if col_f is not None:
            c = _index_arg(book, col_f)
            if type(c) is ExcelError:
                return c
        if type(a) is Ref:
            rows, cols = a.rows, a.cols
            if col_f is None:
                if rows == 1:                    # one index into a single row: a column number
                    r, c = 1, r
                elif cols == 1:
                    c = 1
                else:
                    raise Unsupported("INDEX of a 2-D range with one index")
            if r > rows or c > cols:
                return E_REF
            r1, r2 = (a.r1, a.r2) if r == 0 else (a.r1 + r - 1, a.r1 + r - 1)
            c1, c2 = (a.c1, a.c2) if c == 0 else (a.c1 + c - 1, a.c1 + c - 1)
            return Ref(a.s, r1, c1, r2, c2)
        if type(a) is ExcelError:
            return a
        raise Unsupported("INDEX of a value that is not a reference")
    return f


@_fn("MATCH", 2, 3, "r")
def _match(book, fs):
    val_f, arr_f = fs[0], fs[1]
    type_f = fs[2] if len(fs) > 2 else None

    def f():
        v = deref(book, val_f())
        if type(v) is ExcelError:
            return v
        a = arr_f()
        mt = 1.0
        if type_f is not None:
            mt = num(deref(book, type_f()))
            if type(mt) is ExcelError:
                return mt
        if type(a) is ExcelError:
            return a
        if type(a) is not Ref:
            raise Unsupported("MATCH in a value that is not a reference")
        vec = book.vector(a)
        if vec is None:
            return E_NA
        if v is None:
            return E_NA
        if mt == 0:
            if type(v) is str and re.search(r"[*?~]", v):
                rx = re.compile(_wildcard(v) + r"\Z", re.I | re.S)
                for i, x in enumerate(vec):
                    if type(x) is str and rx.match(x):
                        return float(i + 1)
                return E_NA
            k = _match_key(v)
            i = book.exact_index(a, vec).get(k)
            return E_NA if i is None else float(i + 1)
        raise Unsupported("approximate MATCH")
    return f


def _criterion(c):
    """A COUNTIF criterion as a test of one value."""
    if type(c) is ExcelError:
        return c
    if c is None:
        c = 0.0
    if type(c) in (float, int, bool):
        k = _match_key(c)
        return lambda v: _match_key(v) == k
    op = "="
    for o in (">=", "<=", "<>", "=", "<", ">"):
        if c.startswith(o):
            op, c = o, c[len(o):]
            break
    n = text_number(c)
    if n is None and c.upper() in ("TRUE", "FALSE"):
        b = c.upper() == "TRUE"
        k = (2, b)
        if op == "=":
            return lambda v: _match_key(v) == k
        if op == "<>":
            return lambda v: _match_key(v) != k
        raise Unsupported("an ordered logical criterion")
    if n is not None:
        def test(v):
            if type(v) not in (float, int):
                return op == "<>"
            return compare(op, float(v), n)
        return test
    if op in ("=", "<>"):
        if c == "":
            return (lambda v: v is None or v == "") if op == "=" else (lambda v: not (v is None or v == ""))
        rx = re.compile(_wildcard(c) + r"\Z", re.I | re.S)
        if op == "=":
            return lambda v: type(v) is str and rx.match(v) is not None
        return lambda v: not (type(v) is str and rx.match(v) is not None)
    u = c.upper()
    return lambda v: type(v) is str and compare(op, v.upper(), u)


@_fn("COUNTIF", 2, 2, "r")
def _countif(book, fs):
    def f():
        a = fs[0]()
        crit = _criterion(deref(book, fs[1]()))
        if type(crit) is ExcelError:
            return crit
        if type(a) is not Ref:
            raise Unsupported("COUNTIF of a value that is not a reference")
        return float(sum(1 for row in book.grid(a) for v in row if crit(v)))
    return f


@_fn("SUMIF", 2, 3, "r")
def _sumif(book, fs):
    def f():
        a = fs[0]()
        crit = _criterion(deref(book, fs[1]()))
        if type(crit) is ExcelError:
            return crit
        s = fs[2]() if len(fs) > 2 else a
        if type(a) is not Ref or type(s) is not Ref or (a.rows, a.cols) != (s.rows, s.cols):
            raise Unsupported("SUMIF of ranges of different shapes")
        total = 0.0
        for ra, rs in zip(book.grid(a), book.grid(s)):
            for v, w in zip(ra, rs):
                if crit(v):
                    if type(w) is ExcelError:
                        return w
                    if type(w) in (float, int):
                        total += w
        return total
    return f


@_fn("SUMPRODUCT", 1, 255, "a")
def _sumproduct(book, fs):
    def f():
        arrays = []
        for g in fs:
            x = g()
            if type(x) is not list:
                x = [[x]]
            arrays.append(x)
        shape = (len(arrays[0]), len(arrays[0][0]))
        for x in arrays:
            if (len(x), len(x[0])) != shape:
                return E_VALUE
        for x in arrays:
            for row in x:
                for v in row:
                    if type(v) is ExcelError:
                        return v
        products = []
        for r in range(shape[0]):
            for c in range(shape[1]):
                p = 1.0
                blank = False
                for x in arrays:
                    v = x[r][c]
                    if v is None:
                        blank = True
                        break
                    if type(v) is float or type(v) is int:
                        p *= v
                    else:
                        p = 0.0
                if not blank:           # formulas drops positions with a blank; Excel counts them as 0
                    products.append(p)
        total = float(np.sum(np.asarray(products, dtype=np.float64))) if products else 0.0
        return _finite(total)
    return f


# ------------------------------------------------------------------------------------------ evaluate

def _order(deps: dict):
    """Formula cells, precedents first (depth-first, each cell after the cells it reads); raises Unsupported on
    a cycle, a cell met again while its own precedents are being ordered (the ``formulas`` path finds and
    reports circular cells)."""
    state: dict = {}                    # cell -> 1 while its precedents are being ordered, 2 once it is ordered
    order: list = []
    for root in deps:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(deps[root]))]
        while stack:
            cell, precedents = stack[-1]
            for p in precedents:
                seen = state.get(p)
                if seen is None:
                    state[p] = 1
                    stack.append((p, iter(deps[p])))
                    break
                if seen == 1:
                    raise Unsupported("circular references")
            else:
                stack.pop()
                state[cell] = 2
                order.append(cell)
    return order


def evaluate(pkg, ev, book, deadline=None, udfs_module=None):
    """Fill ``ev`` (from ``engine.prepare``) with every formula's value, as ``engine.evaluate`` does with
    ``formulas``; raise Unsupported (before changing ``ev``) where this evaluator cannot be trusted to agree."""
    from .engine import UDF_SET, Translator, _error, split_ref

    if ev.array_cells:
        raise Unsupported("array formulas")
    if udfs_module is None:
        import udfs as udfs_module
    nsheets = len(book.worksheets)
    fb = Book()
    cells = fb.cells
    texts = {}
    for i, ws in enumerate(book.worksheets):
        src = pkg.sheets[i].cells
        for row in ws._rows.values():
            for c in row.values():
                key = (i, c.coordinate)
                if c.data_type == "f" and key in ev.formula_cells and key not in ev.external_cells:
                    texts[(i, c.row, c.column)] = (key, c.value[1:], getattr(c, "shape", None))
                elif c.data_type == "f":          # an error constant, or an external formula's cached value
                    v = src[c.coordinate].value
                    cells[(i, c.row, c.column)] = _error(v) if v is not None else None
                else:
                    v = c.value
                    if v is not None and type(v) not in (float, str, bool):
                        raise Unsupported(f"a constant of type {type(v).__name__}")
                    cells[(i, c.row, c.column)] = v
    comp = Compiler(fb, {}, nsheets, udfs_module, UDF_SET)
    names = {}
    for alias, n in book.defined_names.items():
        t = n.value
        names[alias] = None if t == "#REF!" else t
    trees = {}
    for alias, t in names.items():
        if t is None:
            trees[alias] = None
            continue
        try:
            trees[alias] = parse(t, comp.sheet_index)
        except Unsupported:
            trees[alias] = _BAD
    for alias in list(trees):
        if trees[alias] is _BAD:
            del trees[alias]          # a formula naming it fails to compile: fallback
    comp.names = trees

    compiled = {}
    refs = {}
    for pos, (key, t, shape) in texts.items():
        fn, rs = comp.formula(t, pos[0], pos[1:], shape)
        compiled[pos] = fn
        refs[pos] = rs
    # dependency graph: formula cell -> formula cells it reads
    by_sheet: dict = {}
    for (s, r, c) in compiled:
        by_sheet.setdefault(s, {}).setdefault(r, []).append(c)
    sorted_rows = {s: sorted(rows) for s, rows in by_sheet.items()}
    for rows in by_sheet.values():
        for r in rows:
            rows[r].sort()
    cache: dict = {}

    def inside(k):
        """The formula cells of a range (remembered: ranges repeat across copied formulas)."""
        got = cache.get(k)
        if got is None:
            s, r1, c1, r2, c2 = k
            got = []
            rows = by_sheet.get(s)
            if rows:
                sr = sorted_rows[s]
                for r in sr[bisect.bisect_left(sr, r1):bisect.bisect_right(sr, r2)]:
                    cs = rows[r]
                    got.extend((s, r, c) for c in cs[bisect.bisect_left(cs, c1):bisect.bisect_right(cs, c2)])
            cache[k] = got
        return got

    deps = {}
    for pos, rs in refs.items():
        d = []
        for k in rs:
            s, r1, c1, r2, c2 = k
            if r1 == r2 and c1 == c2:           # one cell (most references): no range to look through
                p = (s, r1, c1)
                if p in compiled:
                    d.append(p)
            else:
                d.extend(inside(k))
        deps[pos] = d
    order = _order(deps)

    values = {}
    n = 0
    ctx = comp.ctx
    for pos in order:
        n += 1
        if deadline is not None and deadline.fired:
            raise Unsupported("deadline")
        ctx[0], ctx[1] = pos[1], pos[2]
        try:
            v = compiled[pos]()
        except (RecursionError, ZeroDivisionError, OverflowError, TypeError, ValueError, IndexError) as exc:
            raise Unsupported(f"{type(exc).__name__} while evaluating") from exc
        if type(v) is list:
            v = v[0][0]
        cells[pos] = v
        values[texts[pos][0]] = v

    # defined names: their first value, as the formulas path reports them
    name_refs: list = []                # the cells the names read count as read (as in the formulas path)
    name_values = {}
    tr_alias = {v: k for k, v in Translator(pkg).name_alias.items()}
    for alias, tree in trees.items():
        if alias not in tr_alias:
            continue
        if tree is None:
            name_values[tr_alias[alias]] = E_REF
            continue
        try:
            comp.origin = None
            comp.refs = name_refs
            fn = comp.compile(tree, None, "r")
            x = fn()
        except Unsupported:
            continue
        if type(x) is Ref:
            x = cells.get((x.s, x.r1, x.c1))
        elif type(x) is list:
            x = x[0][0]
        name_values[tr_alias[alias]] = x
    # the constants formulas read, as the formulas path reports them (single cells, blanks as None)
    from .xlsxpatch import col_letters
    stored: dict = {}                   # sheet -> row -> sorted columns of the constants
    for (s, r, c) in cells:
        if (s, r, c) not in compiled:
            stored.setdefault(s, {}).setdefault(r, []).append(c)
    stored_rows = {s: sorted(rows) for s, rows in stored.items()}
    for rows in stored.values():
        for cs in rows.values():
            cs.sort()
    seen_ranges = set()
    seen = set(compiled)                # cells already reported (formulas) or named below
    for rs in list(refs.values()) + [name_refs]:
        for k in rs:
            s, r1, c1, r2, c2 = k
            if r1 == r2 and c1 == c2:
                p = (s, r1, c1)
                if p not in seen:
                    seen.add(p)
                    values.setdefault((s, f"{col_letters(c1)}{r1}"), cells.get(p))
                continue
            if k in seen_ranges or s not in stored:
                continue
            seen_ranges.add(k)
            rows, sr = stored[s], stored_rows[s]
            for r in sr[bisect.bisect_left(sr, r1):bisect.bisect_right(sr, r2)]:
                cs = rows[r]
                for c in cs[bisect.bisect_left(cs, c1):bisect.bisect_right(cs, c2)]:
                    p = (s, r, c)
                    if p not in seen:
                        seen.add(p)
                        values.setdefault((s, f"{col_letters(c)}{r}"), cells[p])
    # all evaluated: fill the result
    ev.values.update(values)
    ev.names.update(name_values)
    for key in ev.external_cells:
        ev.values[key] = _error(pkg.sheets[key[0]].cells[key[1]].value)
    return ev


_BAD = object()
