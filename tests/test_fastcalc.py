"""fastcalc (workbook/fastcalc.py): the same values as the ``formulas`` package on every workbook it accepts
(the template's every formula cell, the hostile workbooks, random workbooks), Excel's documented semantics,
and a fallback to ``formulas`` for what it does not support."""

from __future__ import annotations

import io
import math
import os
import sys

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402

from udfs.core.errors import ScalesheetError  # noqa: E402
from workbook import engine, fastcalc, safeio, xlsxpatch  # noqa: E402
from workbook.engine import ExcelError  # noqa: E402

TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates", "Scalesheet.xlsx")


def same(a, b) -> bool:
    """Numbers within 1e-9 relative; everything else (text, logicals, error codes, blanks) exactly."""
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return type(a) is type(b) and a == b


def fast(pkg):
    """fastcalc's Evaluation (it must support the workbook)."""
    ev, book = engine.prepare(pkg)
    fastcalc.evaluate(pkg, ev, book)
    for key in ev.formula_cells:
        if key not in ev.values:
            ev.uncomputed.add(key)
    return ev


def differences(pkg, ev_fast, ev_slow) -> list[str]:
    out = []
    for key in sorted(ev_slow.formula_cells):
        a, b = ev_slow.values.get(key, "<none>"), ev_fast.values.get(key, "<none>")
        if not same(a, b):
            out.append(f"{pkg.sheets[key[0]].name}!{key[1]} {ev_slow.formulas.get(key)!r}: formulas {a!r}, "
                       f"fastcalc {b!r}")
    for key in sorted(set(ev_slow.names) | set(ev_fast.names), key=str):
        a, b = ev_slow.names.get(key, "<none>"), ev_fast.names.get(key, "<none>")
        if not same(a, b):
            out.append(f"name {key}: formulas {a!r}, fastcalc {b!r}")
    for attr in ("circular", "uncomputed", "formula_cells", "udf_cells", "external_cells", "udf_names"):
        if getattr(ev_slow, attr) != getattr(ev_fast, attr):
            out.append(f"{attr} differ")
    return out


# ------------------------------------------------------------------------------------------ differential

def test_template_every_formula_cell_equals_the_formulas_package():
    pkg = xlsxpatch.Package(safeio.read_xlsx(TEMPLATE))
    ev_fast = fast(pkg)                           # supported as a whole: no fallback on the template
    ev_slow = engine.evaluate(pkg, fast=False)
    assert len(ev_slow.formula_cells) > 5000
    assert set(ev_fast.values) >= ev_slow.formula_cells
    assert differences(pkg, ev_fast, ev_slow) == []
    assert not ev_fast.uncomputed and not ev_fast.circular


@pytest.mark.parametrize("case", sorted(hostile.CASES))
def test_hostile_workbooks_evaluate_as_with_formulas(case, tmp_path):
    """engine.evaluate (fastcalc where it supports the workbook, else formulas) equals the formulas path."""
    src = hostile.CASES[case](str(tmp_path))
    try:
        pkg = xlsxpatch.Package(safeio.read_xlsx(src))
        ev_slow = engine.evaluate(xlsxpatch.Package(safeio.read_xlsx(src)), fast=False)
    except ScalesheetError:
        return                                    # refused before evaluation (not a workbook, too large, ...)
    ev = engine.evaluate(pkg)
    assert differences(pkg, ev, ev_slow) == []


# random workbooks: constants in A1:C4, formulas in E1:E6 drawn from the supported grammar -------------------

CONSTANTS = st.one_of(st.none(), st.integers(-5, 5).map(float), st.sampled_from([0.5, -2.25, 1e-3, 3.0]),
                      # no numeric text in cells: formulas adds "3" in a range, Excel skips text there (a unit
                      # test below checks Excel's rule)
                      st.sampled_from(["a", "B", "", "x y", "b*"]), st.booleans())
REFS = st.sampled_from([f"{c}{r}" for c in "ABC" for r in range(1, 5)])
RANGES = st.sampled_from(["A1:A4", "B1:B4", "A1:C1", "A2:C4", "C1:C4"])
VECTORS = st.sampled_from(["A1:A4", "B1:B4", "A1:C1", "C1:C4", "B2:B3"])   # MATCH: Excel wants one row or column


def _expr(depth: int, earlier: list[str]):
    refs = st.sampled_from(earlier) if earlier else REFS
    # no numeric text literal: formulas says ISNUMBER("3") is TRUE (Excel: FALSE; a unit test below)
    leaf = st.one_of(REFS, refs, st.integers(-3, 9).map(str), st.sampled_from(['"a"', '""', "TRUE", "0.5"]))
    if depth <= 0:
        return leaf
    sub = _expr(depth - 1, earlier)
    return st.one_of(
        leaf,
        # no ^: formulas says 0^0 is 1 (Excel: #NUM!; a unit test below)
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "=", "<>", "<", ">=", "&"]), sub).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})" if t[1] != "&" else f"({_int_text(t[0])}&{_int_text(t[2])})"),
        sub.map(lambda a: f"-(0+{a})"),      # formulas negates text as text (-"a" is "a"); Excel: #VALUE!
        st.tuples(sub, sub, sub).map(lambda t: f"IF({t[0]},{t[1]},{t[2]})"),
        st.tuples(sub, sub).map(lambda t: f"IFERROR({t[0]},{t[1]})"),
        # no ISNUMBER/ISBLANK of an IF or IFERROR: formulas turns the blank cell they return into 0 (ISNUMBER
        # TRUE), where Excel (IF passes the reference; IFERROR reads a blank as "") and LibreOffice say FALSE
        st.sampled_from(["ISNUMBER", "ISERROR", "ISBLANK", "NOT", "ABS", "INT"]).flatmap(
            lambda f: sub.filter(lambda a: f == "ISERROR" or not a.startswith("IF")).map(lambda a: f"{f}({a})")),
        # a direct argument that is a number: formulas skips a text one that an IFERROR returns, Excel says #VALUE!
        st.tuples(st.sampled_from(["SUM", "MAX", "MIN", "AND", "OR"]), RANGES, sub).map(
            lambda t: f"{t[0]}({t[1]},0+{t[2]})"),
        # COUNT of ranges only: formulas answers COUNT(range,"a") with #VALUE!, Excel skips the text
        st.tuples(RANGES, RANGES).map(lambda t: f"COUNT({t[0]},{t[1]})"),
        st.tuples(RANGES, st.integers(0, 4)).map(lambda t: f"INDEX({t[0]},{t[1]})"),
        # no blank lookup value: formulas finds a blank (or 0) for it, Excel and LibreOffice say #N/A (unit test)
        st.tuples(st.sampled_from(['"a"', '"b*"', "3", "1", "TRUE", "(0+A1)"]), VECTORS).map(
            lambda t: f"MATCH({t[0]},{t[1]},0)"),
        # no "<>" criteria: formulas counts "<>" on blanks and skips blanks for "<>a" (Excel does the reverse);
        # no comparison criteria (">0", "<=2"): formulas (and LibreOffice) count a TRUE cell as 1 there, Excel
        # matches numbers only (unit tests below)
        st.tuples(RANGES, st.sampled_from(['"a"', "3", '""'])).map(
            lambda t: f"COUNTIF({t[0]},{t[1]})"),
        st.sampled_from(["SUMPRODUCT((A1:A4>0)*B1:B4)", "SUMPRODUCT(A1:A4,C1:C4)", "ROUND(A1*1.5,0)",
                         'LEN(B1&"")', "CHOOSE(2,A1,B1,C1)"]),
    )


def _int_text(e: str) -> str:
    """Concatenation operands that are text or whole numbers: the formulas package writes 0.1 as
    '0.1' but 1/3 as '0.3333333333333333' (Python's repr) where Excel writes '0.333333333333333'."""
    return f"INT({e})" if not e.startswith('"') else e


@st.composite
def workbooks(draw):
    """({cell: constant}, [formula of E1, E2, ...])."""
    constants = {f"{c}{r}": draw(CONSTANTS) for c in "ABC" for r in range(1, 5)}
    formulas = [draw(_expr(2, [f"E{k}" for k in range(1, r)])) for r in range(1, 7)]
    return {k: v for k, v in constants.items() if v is not None}, formulas


def _xlsx(constants: dict, formulas: list[str]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for ref, v in constants.items():
        ws[ref] = v
    for r, f in enumerate(formulas, 1):
        ws[f"E{r}"] = "=" + f
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(workbooks())
@example(({"C2": False}, ["A1", "A1", "A1", "A1", "A1", "(A1=C2)"]))  # a blank against FALSE (found 2026-11-29)
def test_random_workbooks_equal_the_formulas_package(book):
    constants, formulas = book
    data = _xlsx(constants, formulas)
    pkg = xlsxpatch.Package(data)
    try:
        ev_fast = fast(pkg)
    except fastcalc.Unsupported:
        return                                       # engine.evaluate falls back: nothing to compare
    ev_slow = engine.evaluate(xlsxpatch.Package(data), fast=False)
    # Two errors count as equal whatever their codes: formulas lets an error operand win over a text that
    # cannot be a number ("a"+#N/A is #N/A there; #VALUE! in Excel, LibreOffice and fastcalc, which convert
    # the first operand first). The codes are checked against Excel by the semantics tests below.
    for key in ev_slow.formula_cells:
        a, b = ev_slow.values.get(key), ev_fast.values.get(key)
        if isinstance(a, ExcelError) and isinstance(b, ExcelError):
            ev_fast.values[key] = a
    assert differences(pkg, ev_fast, ev_slow) == [], formulas


def test_the_formulas_path_compares_a_blank_with_a_boolean_as_excel():
    """A blank cell next to TRUE/FALSE reads as FALSE in a comparison (Excel; LibreOffice gives the same), on both
    paths: formulas 1.3.4 read it as 0 (docs/upstream-notes.md; engine._patch_blank_comparisons)."""
    cells = {"C2": False, "C3": True}
    formulas = {"E1": ("=A1=C2", True), "E2": ("=A1<>C2", False), "E3": ("=C2=A1", True), "E4": ("=A1<C2", False),
                "E5": ("=A1=C3", False), "E6": ("=A1<C3", True), "E7": ("=A1=0", True), "E8": ('=A1=""', True)}
    wb = openpyxl.Workbook()
    ws = wb.active
    for ref, v in cells.items():
        ws[ref] = v
    for ref, (f, _) in formulas.items():
        ws[ref] = f
    buf = io.BytesIO()
    wb.save(buf)
    for fast_path in (True, False):
        ev = engine.evaluate(xlsxpatch.Package(buf.getvalue()), fast=fast_path)
        assert {ref: ev.values[(0, ref)] for ref in formulas} == {ref: want for ref, (_, want) in formulas.items()}


# ------------------------------------------------------------------------------------------ Excel semantics

def value(formula: str, cells: dict | None = None):
    """The value fastcalc gives ``formula`` in Sheet1!Z1 with ``cells`` ({"A1": value}) as constants."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for ref, v in (cells or {}).items():
        ws[ref] = v
    ws["Z1"] = formula
    buf = io.BytesIO()
    wb.save(buf)
    ev = fast(xlsxpatch.Package(buf.getvalue()))
    return ev.values[(0, "Z1")]


E = {c: ExcelError(c) for c in ("#DIV/0!", "#VALUE!", "#N/A", "#NUM!", "#REF!")}


@pytest.mark.parametrize("formula, cells, expected", [
    # operators and precedence (Excel: "Calculation operators and precedence")
    ("=-2^2", None, 4.0), ("=2^3^2", None, 64.0), ("=1+2*3-4/2", None, 5.0), ("=50%", None, 0.5),
    ("=2*-3", None, -6.0), ("=(-8)^(1/3)", None, E["#NUM!"]), ("=0^0", None, E["#NUM!"]), ("=0^-1", None, E["#DIV/0!"]),
    # coercion: blanks are 0 and "", text numbers are numbers in arithmetic
    ("=A1", None, 0.0), ("=INDEX(A1:A2,2)", None, 0.0), ("=A1+1", None, 1.0), ('=A1&"x"', None, "x"), ('="3"+1', None, 4.0), ('="x"+1', None, E["#VALUE!"]),
    ("=TRUE+1", None, 2.0), ('=-"a"', None, E["#VALUE!"]), ('=-"2"', None, -2.0), ('=" 2 "*2', None, 4.0), ("=1/0", None, E["#DIV/0!"]), ("=A1/A2", None, E["#DIV/0!"]),
    # the first error in operand order wins
    ("=NA()+1/0", None, E["#N/A"]), ("=1/0+NA()", None, E["#DIV/0!"]), ('=NA()&"x"', None, E["#N/A"]),
    # number to text: up to 15 significant digits, integers without a decimal point
    ('=1/3&""', None, "0.333333333333333"), ('=0.1+0.2&""', None, "0.3"), ('=2&""', None, "2"),
    ('=1E+20&""', None, "1E+20"), ('=TRUE&""', None, "TRUE"), ('=-0.5&""', None, "-0.5"),
    # comparisons: numbers < text < logicals, text case-insensitive, blank as 0 or ""
    ('="a"="A"', None, True), ('=1<"a"', None, True), ('="z"<TRUE', None, True), ("=A1=0", None, True),
    ('=A1=""', None, True), ('="b">"A"', None, True),
    # logical functions
    ("=IF(TRUE,1,1/0)", None, 1.0), ("=IF(0,1)", None, False), ('=IF("x",1,2)', None, E["#VALUE!"]),
    ('=IFERROR(1/0,"e")', None, "e"), ("=IFERROR(5,1/0)", None, 5.0), ("=AND(1,TRUE)", None, True),
    ("=OR(FALSE,0)", None, False), ("=NOT(0)", None, True), ("=AND(A1:A2)", {"A1": "t", "A2": True}, True),
    ("=ISBLANK(A1)", None, True), ('=ISBLANK(A1)', {"A1": "x"}, False), ("=ISNUMBER(A1)", {"A1": "3"}, False), ('=ISNUMBER("3")', None, False),
    ("=ISERROR(NA())", None, True), ("=ISNUMBER(1/0)", None, False),
    # a blank through IF (the reference) or IFERROR ("If value ... is an empty cell, IFERROR treats it as an empty
    # string value", Microsoft's IfError reference) is no number; LibreOffice agrees (formulas says TRUE)
    ("=ISNUMBER(IFERROR(A1,A1))", None, False), ("=ISNUMBER(IF(TRUE,A1,1))", None, False),
    # aggregates: references skip text, logicals and blanks; direct arguments are converted
    ("=SUM(A1:A3)", {"A1": 1, "A2": "5", "A3": True}, 1.0), ('=SUM(1,"5",TRUE)', None, 7.0), ('=SUM(1,"a")', None, E["#VALUE!"]),
    ("=MAX(A1:A3)", {"A1": -1, "A2": "9"}, -1.0), ("=MIN(A1:A2)", None, 0.0), ("=COUNT(A1:A3,1)", {"A1": 1, "A2": "x"}, 2.0),
    ('=COUNT(A1:A2,"a")', {"A1": 0}, 1.0),
    ("=SUM(A1:A2)", {"A1": 1, "A2": "#N/A"}, E["#N/A"]),   # openpyxl stores "#N/A" as the error value
    # rounding (half away from zero) and integers
    ("=ROUND(2.5,0)", None, 3.0), ("=ROUND(-2.5,0)", None, -3.0), ("=ROUND(2.675,2)", None, 2.68),
    ("=ROUNDUP(3.2,0)", None, 4.0), ("=ROUNDUP(-3.2,0)", None, -4.0), ("=INT(-3.5)", None, -4.0),
    ("=SQRT(-1)", None, E["#NUM!"]), ("=ABS(-2)", None, 2.0),
    # text
    ('=LEFT("abc",2)', None, "ab"), ('=LEFT("abc")', None, "a"), ('=LEN("abc")', None, 3.0),
    ('=SEARCH("C","abc")', None, 3.0), ('=SEARCH("b?","abc")', None, 2.0), ('=SEARCH("z","abc")', None, E["#VALUE!"]),
    ('=EXACT("a","A")', None, False), ('=LEFT(12.5,2)', None, "12"),
    # lookup
    ("=INDEX(A1:A3,2)", {"A2": 7}, 7.0), ("=INDEX(A1:C1,3)", {"C1": "c"}, "c"), ("=INDEX(A1:B2,2,2)", {"B2": 4}, 4.0),
    ("=SUM(INDEX(A1:B2,0,2))", {"B1": 1, "B2": 2}, 3.0), ("=SUM(INDEX(A1:B2,2,0))", {"A2": 1, "B2": 2}, 3.0),
    ("=INDEX(A1:A3,4)", None, E["#REF!"]), ('=MATCH("B",A1:A3,0)', {"A1": "a", "A2": "b"}, 2.0),
    ('=MATCH("b*",A1:A3,0)', {"A1": "a", "A3": "Bee"}, 3.0), ("=MATCH(2,A1:A3,0)", {"A1": "2", "A2": 2}, 2.0),
    ("=A1+NA()", {"A1": "a"}, E["#VALUE!"]), ('=MATCH("z",A1:A3,0)', None, E["#N/A"]), ("=MATCH(A1,B1:B3,0)", {"B2": 0}, E["#N/A"]), ("=MATCH(1,A1:B2,0)", {"B2": 1}, E["#N/A"]), ('=COUNTIF(A1:A4,">1")', {"A1": 1, "A2": 2, "A3": "3", "A4": 5}, 2.0),
    ('=COUNTIF(A1:A3,">0")', {"A1": 1, "A2": True, "A3": 3}, 2.0), ('=COUNTIF(A1:A3,"<=2")', {"A2": True}, 0.0),
    ('=COUNTIF(A1:A3,"a*")', {"A1": "Ab", "A2": "b"}, 1.0), ('=COUNTIF(A1:A3,"")', {"A1": 1}, 2.0), ('=COUNTIF(A1:A3,"<>")', {"A1": 1}, 1.0),
    ('=COUNTIF(A1:A4,"<>a")', {"A4": 0, "A2": "A"}, 3.0),
    ("=CHOOSE(2,1/0,5)", None, 5.0), ("=CHOOSE(3,1,2)", None, E["#VALUE!"]),
    ("=SUMPRODUCT((A1:A3>1)*B1:B3)", {"A1": 1, "A2": 2, "A3": 3, "B1": 10, "B2": 20, "B3": 30}, 50.0),
    ("=SUMPRODUCT(A1:A2,B1:B2)", {"A1": 2, "A2": "x", "B1": 3, "B2": 4}, 6.0),
    # the rest of the supported functions, values from Microsoft's function reference
    ("=MOD(-3,2)", None, 1.0), ("=MOD(3,-2)", None, -1.0), ("=MOD(1,0)", None, E["#DIV/0!"]),
    ('=RIGHT("abc",2)', None, "bc"), ('=MID("abcdef",2,3)', None, "bcd"), ('=FIND("B","abcB")', None, 4.0),
    ('=TRIM("  a   b ")', None, "a b"), ('=CONCATENATE("a",1,TRUE)', None, "a1TRUE"), ('=UPPER("aB")', None, "AB"),
    ('=LOWER("aB")', None, "ab"), ("=AVERAGE(1,2,3)", None, 2.0), ("=AVERAGE(A1:A2)", None, E["#DIV/0!"]),
    ("=PRODUCT(2,3)", None, 6.0), ("=ROUNDDOWN(-3.7,0)", None, -3.0), ("=SIGN(-2)", None, -1.0), ("=LN(1)", None, 0.0),
    ("=LOG10(1000)", None, 3.0), ("=POWER(2,10)", None, 1024.0), ("=LN(0)", None, E["#NUM!"]),
    ("=COUNTA(A1:A3)", {"A1": 1, "A2": "x"}, 2.0), ('=SUMIF(A1:A3,">1")', {"A1": 1, "A2": 2, "A3": 3}, 5.0),
    ('=SUMIF(A1:A3,"a",B1:B3)', {"A1": "A", "A3": "a", "B1": 1, "B2": 2, "B3": 4}, 5.0),
    ("=IFNA(NA(),5)", None, 5.0), ("=IFNA(1/0,5)", None, E["#DIV/0!"]), ("=ISERR(NA())", None, False),
    ("=ISNA(NA())", None, True), ('=ISTEXT("a")', None, True), ("=ISLOGICAL(TRUE)", None, True),
    # financial (Excel's definitions: NPV discounts the first value one period, IRR solves NPV = 0)
    ("=NPV(0.1,110,121)", None, 200.0), ("=IRR(A1:A2)", {"A1": -100, "A2": 110}, 0.1), ("=SLN(100,10,9)", None, 10.0),
])
def test_excel_semantics(formula, cells, expected):
    got = value(formula, cells)
    assert same(got, expected), (formula, got, expected)


def test_and_of_direct_text_goes_to_formulas():
    with pytest.raises(fastcalc.Unsupported):
        value('=AND(TRUE,"a")')
    assert value('=AND(TRUE,"true")') is True


@pytest.mark.parametrize("formula", ['=INDIRECT("A1")', "=OFFSET(A1,1,0)", "=SUM(A:A)", "=SUM(1:1)",
                                    "=SUM(A1:A2 A1:B1)", "=SUM((A1,B1))", "={1,2}", "=NO_SUCH_FUNCTION(1)",
                                    "=IF(A1,,1)", "=Other!A1", "=A1:INDEX(A1:A3,2)", "=A1+A1:A3",
                                    '="1-2"+0', '="3 Jan"*1', '="$1,000"+0'])
def test_unsupported_is_refused_not_guessed(formula):
    """Syntax decided before evaluating; texts Excel may read as dates or money found while evaluating."""
    with pytest.raises(fastcalc.Unsupported):
        value(formula)


def test_unsupported_workbook_falls_back_to_formulas():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["A2"] = 2, '=INDIRECT("A1")*3'
    ws["A3"] = "=A1+1"
    buf = io.BytesIO()
    wb.save(buf)
    ev = engine.evaluate(xlsxpatch.Package(buf.getvalue()))
    assert ev.values[(0, "A2")] == 6 and ev.values[(0, "A3")] == 3


def test_circular_workbooks_fall_back_and_are_reported():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["A2"], ws["A3"] = "=A2+1", "=A1+1", "=5"
    buf = io.BytesIO()
    wb.save(buf)
    pkg = xlsxpatch.Package(buf.getvalue())
    with pytest.raises(fastcalc.Unsupported):
        fast(pkg)
    ev = engine.evaluate(pkg)
    assert ev.circular == {(0, "A1"), (0, "A2")} and ev.values[(0, "A3")] == 5


def test_a_long_chain_needs_no_deep_recursion():
    """Precedents are evaluated first, in an order found without recursion: a chain of 20,000 cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = 1
    n = 20_000
    for r in range(2, n + 1):
        ws[f"A{r}"] = f"=A{r - 1}+1"
    buf = io.BytesIO()
    wb.save(buf)
    ev = fast(xlsxpatch.Package(buf.getvalue()))
    assert ev.values[(0, f"A{n}")] == n


def test_functions_get_xlwings_shaped_arguments_and_errors_as_text():
    seen = []

    class Spy:
        def __getattr__(self, name):
            def fn(*args):
                seen.append(args)
                return [[1.0, 2.0]] if name == "LLM_PARAMS" else 7
            return fn

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["A2"] = 3, "x", "=NA()"
    ws["Z1"] = "=LLM_PARAMS(A1:B1,A1,C1,A2,1/0,\"s\")+GPU_SPEC(A1:A2)"
    buf = io.BytesIO()
    wb.save(buf)
    pkg = xlsxpatch.Package(buf.getvalue())
    ev, book = engine.prepare(pkg)
    with pytest.raises(fastcalc.Unsupported):     # a 1x2 array result used as a number: Excel would intersect
        fastcalc.evaluate(pkg, ev, book, udfs_module=Spy())
    assert seen[0] == ([[3.0, "x"]], 3.0, None, "#N/A", "#DIV/0!", "s")


def test_cpu_deadline_stops_fastcalc():
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in range(1, 3001):
        ws[f"A{r}"] = f"=SUMPRODUCT((B1:B2000>{r})*C1:C2000)"
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ScalesheetError, match="CPU time"):
        engine.evaluate(xlsxpatch.Package(buf.getvalue()), 0.2)


def test_tokenizer_references_for_guards():
    refs = fastcalc.references("SUM('Bob''s'!A1:B2,Sheet2!$C$3,rate)+LLM_PARAMS(x)+\"A9\"")
    assert refs == [("ref", "Bob's", "A1:B2"), ("ref", "Sheet2", "$C$3"), ("name", None, "rate"),
                    ("name", None, "x")]
    for text in ("SUM(A:A)", "[1]Sheet1!A1", "Table1[Col]", "SUM(1:2)"):
        with pytest.raises(fastcalc.Unsupported):
            fastcalc.references(text)
    assert math.isclose(value("=LN(EXP(2))"), 2.0)


def test_formulas_copied_across_cells_share_a_closure_and_keep_their_own_references():
    """Copies of a formula (same tokens relative to their cell) share one compiled closure; each reads its own
    cells, mixed anchors ($A$1:A3, whose shape changes with the row) included."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in range(1, 6):
        ws[f"A{r}"] = r
        ws[f"B{r}"] = f"=SUM($A$1:A{r})"              # running total: mixed anchors
        ws[f"C{r}"] = f"=A{r}*2+$A$1"                 # relative and absolute
        ws[f"D{r}"] = f"=SUM(A{r}:A{r + 1})+INDEX(A{r}:A{r + 1},2)"
        ws[f"E{r}"] = f"=IF(A{r}>2,C{r},-C{r})"
    buf = io.BytesIO()
    wb.save(buf)
    ev = fast(xlsxpatch.Package(buf.getvalue()))
    for r in range(1, 6):
        nxt = r + 1 if r < 5 else 0
        assert ev.values[(0, f"B{r}")] == r * (r + 1) / 2
        assert ev.values[(0, f"C{r}")] == 2 * r + 1
        assert ev.values[(0, f"D{r}")] == r + nxt + nxt
        assert ev.values[(0, f"E{r}")] == (2 * r + 1) * (1 if r > 2 else -1)


_PIECES = ["A1", "B2", "b3", "$A$1", "A$1", "$B2", "AB1", "LOG10(A1)", "LOG11(B2)", '"A1"', '"x""A2"', "'AB1'!A2",
           "AB1!B3", "Sheet1!C1", "'Sheet1'!$C$1:D2", "#N/A", "#N/A1", "#REF!", "#REF!A1", "1E5", "1E+5", "E5", "1",
           "2.5", ".5", "XFD1", "XFE1", "A0", "A1048577", "[1]Sheet1!A1", "Table1[A1]", "_xludf.A1(B1)", "SUM(",
           ")", "+", "-", "&", ",", ":", " ", "x.A1", "A1.x", "A1B", "éA1", "'", '"', "LLM_PARAMS(A1)", "name1",
           "B2", "A1 (", "A1 !", "$$A1", "?A1", "\\A1", "TRUE", "_SSN_1", "#NAME?", "#N/AA1", "#GETTING_DATA",
           "1$A1", "A1$B2", "c4", "$C4", "[", "]", "%", "50%", '"%s%%"']


def test_formulas_of_one_shape_translate_and_tokenise_alike():
    """Formulas that share a shape key (engine.Translator.translate_cell) share a translation and fastcalc's
    tokens; so every formula with the key must get exactly what translating and tokenising it alone gives.
    The corpus: random concatenations of pieces chosen to trip a reference finder (references in strings,
    quoted sheets, brackets, error constants, function names, exponents, longer identifiers, off-grid cells,
    a defined name that looks like a reference), each at random cells of a 4x4 corner so shapes collide."""
    import random

    from openpyxl.workbook.defined_name import DefinedName

    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.create_sheet("AB1")
    for n in ("name1", "B2"):
        wb.defined_names[n] = DefinedName(n, attr_text="Sheet1!$A$1")
    wb["AB1"].defined_names["C4"] = DefinedName("C4", attr_text="Sheet1!$A$2")   # local to sheet 1
    buf = io.BytesIO()
    wb.save(buf)
    pkg = xlsxpatch.Package(buf.getvalue())
    template = xlsxpatch.Package(safeio.read_xlsx(TEMPLATE))
    rnd = random.Random(14)
    corpus = [(pkg, "".join(rnd.choice(_PIECES) for _ in range(rnd.randint(1, 6))), rnd.randint(0, 1),
               rnd.randint(1, 4), rnd.randint(1, 4)) for _ in range(12000)]
    # copies down and across, as Excel writes them, some edited to differ from their neighbour
    for base in ("A1+$B$2*C$3", "SUM($A1:B2)&\"A1\"", "Z9+AA9", "'AB1'!A1/XFD1"):
        pieces, _, offsets = engine.shape(base, 1, 1)             # base written in A1, copied to row, col
        for row in range(1, 6):
            for col in range(1, 6):
                refs = engine._refs_at((0, (), tuple(offsets)), row, col)
                if refs is not None:
                    t = engine._template(pieces) % tuple(refs)
                    corpus.append((pkg, t if rnd.random() < 0.8 else t.replace("+", "-"), 0, row, col))
    corpus += [(pkg, text, sheet, row, col) for text in ("#NAME?A1", "#N/AZ1", "#GETTING_DATAB2", "1$A1", "1.$A1",
                                                         "A1 !", "Table1[A1]", "c4", "B2", "b2+1")
               for sheet in (0, 1) for row in range(1, 5) for col in range(1, 5)]
    corpus += [(template, text, i, *xlsxpatch.split_ref(ref)) for (i, ref), text in
               engine._expand_shared(template).items()]

    def tokens(text, origin):
        try:
            return fastcalc.normalised(text, origin)
        except fastcalc.Unsupported:
            return "unsupported"

    translators = {id(p): engine.Translator(p) for p in (pkg, template)}
    groups: dict = {}
    for p, text, sheet, row, col in corpus:
        tr = translators[id(p)]
        got, key = tr.translate_cell(text, sheet, row, col)
        alone = tr.translate(text, sheet)
        assert (got.text, got.udf, got.external, got.names, got.unresolved) == \
            (alone.text, alone.udf, alone.external, alone.names, alone.unresolved), text
        if key is not None:                      # recognised from a neighbour or read: the key reading gives
            direct = engine.shape(text, row, col, tr.ref_names)
            assert direct is not None and tr.key_of(key) == (sheet, tuple(direct[0]), tuple(direct[2])), text
            first = groups.setdefault((id(p), key), tokens(alone.text, (row, col)))
            assert tokens(alone.text, (row, col)) == first, (text, row, col)
    assert len(groups) < 0.6 * len(corpus)          # shapes do collide, so the check above has work to do


def test_a_missing_sheet_named_like_an_alias_is_ref_not_another_sheet():
    """Sheets become SX0, SX1, ... inside the engine; a formula naming a sheet the workbook lacks, spelled like
    an alias, must be #REF! (as in Excel), not a read of the workbook's second sheet."""
    wb = openpyxl.Workbook()
    a = wb.active
    a.title = "A"
    b = wb.create_sheet("B")
    b["A1"] = 5
    a["A1"] = "=SX1!A1"
    a["A2"] = "='SX1'!A1+1"
    a["A3"] = "=sx0!A1"
    a["A4"] = "=B!A1"
    buf = io.BytesIO()
    wb.save(buf)
    pkg = xlsxpatch.Package(buf.getvalue())
    for ev in (engine.evaluate(pkg), engine.evaluate(pkg, fast=False)):
        assert [ev.values[(0, f"A{r}")] for r in range(1, 5)] == [ExcelError("#REF!")] * 3 + [5.0]


def test_cells_are_ordered_after_what_they_read_and_cycles_refused():
    """fastcalc._order on random dependency graphs: every cell once, after each cell it reads; a graph with a
    cycle (Tarjan's components say so, self-references included) is refused, one without is not."""
    import random

    from workbook.graph import components, is_cycle

    rnd = random.Random(4)
    refused = 0
    for _ in range(600):
        n = rnd.randint(1, 40)
        nodes = [(0, r, 1) for r in range(n)]
        back = rnd.random() < 0.5                  # edges to any cell (cycles likely), else only to earlier cells
        deps = {}
        for i, v in enumerate(nodes):
            pool = nodes if back else nodes[:i]
            deps[v] = [rnd.choice(pool) for _ in range(rnd.randint(0, 3))] if pool else []
        cyclic = any(is_cycle(c, deps) for c in components(deps))
        try:
            order = fastcalc._order(deps)
        except fastcalc.Unsupported:
            assert cyclic
            refused += 1
            continue
        assert not cyclic and sorted(order) == sorted(nodes)
        at = {v: k for k, v in enumerate(order)}
        assert all(at[p] < at[v] for v, ps in deps.items() for p in ps)
    assert 50 < refused < 550
