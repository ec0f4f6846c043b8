"""xlsxpatch.Package reads cells through a fast pattern for the form Excel and openpyxl write most, and the
general pattern for everything else; both must read every cell alike. Each workbook here is read twice, once
with the fast pattern disabled, and the cells compared: the template, every hostile case, and random sheets
whose cells mix the fast form with forms only the general pattern reads."""

from __future__ import annotations

import html
import io
import os
import random
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
import hostile  # noqa: E402

from udfs.core.errors import ScalesheetError  # noqa: E402
from workbook import xlsxpatch  # noqa: E402

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "templates", "Scalesheet.xlsx")
GENERAL_ONLY = re.compile(rb"(?!)(?P<fcol>)(?P<frow>)(?P<fs>)(?P<ft>)(?P<ff>)(?P<fv>)(?P<icol>)(?P<irow>)(?P<itext>)|"
                          + xlsxpatch.CELL.pattern, re.S)


def cells_of(data: bytes, general: bool, monkeypatch) -> object:
    with monkeypatch.context() as m:
        if general:
            m.setattr(xlsxpatch, "_CELLS", GENERAL_ONLY)
        try:
            pkg = xlsxpatch.Package(data)
        except ScalesheetError as exc:
            return ("refused", str(exc))
    return [(s.name, s.max_row, s.max_col,
             {ref: (c.ref, c.formula, c.fattrs, type(c.value).__name__, c.value) for ref, c in s.cells.items()})
            for s in pkg.sheets]


def test_the_template_reads_alike(monkeypatch):
    data = open(TEMPLATE, "rb").read()
    fast = cells_of(data, False, monkeypatch)
    assert sum(len(s[3]) for s in fast) > 10_000
    assert fast == cells_of(data, True, monkeypatch)


@pytest.mark.parametrize("case", sorted(hostile.CASES))
def test_hostile_workbooks_read_alike(case, tmp_path, monkeypatch):
    path = hostile.CASES[case](str(tmp_path))
    if not os.path.isfile(path) or not zipfile.is_zipfile(path):
        return                                   # not a workbook: nothing for the reader
    data = open(path, "rb").read()
    assert cells_of(data, False, monkeypatch) == cells_of(data, True, monkeypatch)


def _random_cell(rnd: random.Random, ref: str, off_grid: bool) -> str:
    """One <c> element, in the fast form or in one of the forms around it."""
    value = rnd.choice(["0", "1.5", "-2E-3", "", "abc", "1e400", "3", "x&amp;y", "_x000D_z", "#N/A", "true"])
    formula = rnd.choice([None, None, "A1+1", "=B2", "", "SUM(A1:A3)&amp;&quot;x&quot;", "IF(A1&lt;2,1,0)"])
    t = rnd.choice([None, None, "s", "str", "b", "e", "n", "inlineStr", "d", "weird"])
    s = rnd.choice(["", ' s="3"', ' s=""', " s='1'"])
    r = rnd.choice([ref] * 30 + [ref.lower(), "$" + ref, ref[0] + "0" + ref[1:], ""])
    if off_grid and rnd.random() < 0.01:
        r = rnd.choice(["XFE1", "A1048577"])
    attrs = (f' r="{r}"' if r else "") + s + (f' t="{t}"' if t else "")
    if rnd.random() < 0.1:
        attrs = (f' t="{t}"' if t else "") + (f' r="{r}"' if r else "") + s      # another attribute order
    if rnd.random() < 0.05:
        attrs += ' cm="1"'
    f = "" if formula is None else rnd.choice([f"<f>{formula}</f>", f'<f t="shared" si="0">{formula}</f>',
                                               "<f/>", f"<f>{formula}</f>"])
    if t == "inlineStr" and rnd.random() < 0.5:
        v = rnd.choice([f"<is><t>{value}</t></is>", f'<is><t xml:space="preserve">{value}</t></is>',
                        f"<is><t>{value}</t><t>2</t></is>", f"<is><r><t>{value}</t></r></is>",
                        f"<is><t>{value}</t><rPh><t>x</t></rPh></is>"])
    else:
        v = rnd.choice([f"<v>{value}</v>", "", "<v/>", f"<v>{value}</v>"])
    gap = rnd.choice(["", "", "", " ", "\n"])
    if rnd.random() < 0.1:
        return f"<c{attrs}/>"
    return f"<c{attrs}>{f}{gap}{v}</c>"


@pytest.mark.parametrize("seed", range(40))
def test_random_sheets_read_alike(seed, tmp_path, monkeypatch):
    rnd = random.Random(seed)
    rows = {}
    for r in range(1, 30):
        rows[r] = [_random_cell(rnd, f"{xlsxpatch.col_letters(c)}{r}", seed % 10 == 9)
                   for c in range(1, rnd.randint(1, 12))]
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="' + hostile.MAIN + '">'
               + "".join(f"<si><t>s{i}</t></si>" for i in range(5)) + "</sst>")
    path = hostile.book(str(tmp_path / "r.xlsx"), [("S", hostile.sheet(rows))],
                        extra_parts={"xl/sharedStrings.xml": strings},
                        extra_rels=[("rIdS", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                                     "sharedStrings", "sharedStrings.xml", "")])
    data = open(path, "rb").read()
    fast = cells_of(data, False, monkeypatch)
    assert fast == cells_of(data, True, monkeypatch)
    assert seed % 10 == 9 or fast[0] != "refused"      # most sheets read, so their cells are compared


@pytest.mark.parametrize("seed", range(20))
def test_random_sheets_patch_alike(seed, tmp_path, monkeypatch):
    """xlsxpatch.apply rewrites cells through the same two patterns: the written bytes must not depend on
    which one read a cell (edits of every kind: keep the formula, freeze, rewrite; cells without edits)."""
    rnd = random.Random(1000 + seed)
    rows = {r: [_random_cell(rnd, f"{xlsxpatch.col_letters(c)}{r}", False) for c in range(1, rnd.randint(1, 12))]
            for r in range(1, 30)}
    path = hostile.book(str(tmp_path / "p.xlsx"), [("S", hostile.sheet(rows))])
    data = open(path, "rb").read()
    try:
        pkg = xlsxpatch.Package(data)
    except ScalesheetError:
        return
    edits = {}
    for ref in pkg.sheets[0].cells:
        kind = rnd.random()
        if kind < 0.2:
            continue
        formula = xlsxpatch.KEEP if kind < 0.6 else None if kind < 0.8 else "1+2&\"<x>\""
        edits[(0, ref)] = xlsxpatch.Edit(rnd.choice([1.5, "t<x>", True, None, xlsxpatch.ErrorText("#N/A")]), formula)
    assert edits
    fast = xlsxpatch.apply(xlsxpatch.Package(data), edits, macros=False)
    with monkeypatch.context() as m:
        m.setattr(xlsxpatch, "_CELLS", GENERAL_ONLY)
        general = xlsxpatch.apply(xlsxpatch.Package(data), edits, macros=False)
    assert fast[1] == general[1]
    a, b = zipfile.ZipFile(io.BytesIO(fast[0])), zipfile.ZipFile(io.BytesIO(general[0]))
    assert [(n, a.read(n)) for n in a.namelist()] == [(n, b.read(n)) for n in b.namelist()]


@pytest.mark.parametrize("spelled, caught", [("LLM_PARAMS(1)", True), ("&#76;LM_PARAMS(1)", True),
                                             ("_x004C_LM_PARAMS(1)", True), ("llm_params(1)", True),
                                             ("xlwings.LLM_PARAMS(1)", True), ('"LLM_PARAMS("&amp;1', False),
                                             ("SUM(1)", False)])
@pytest.mark.parametrize("neighbour", [None, "INDEX(GPU_memory_gib,1)+LLM_x"])
def test_the_share_copy_check_finds_a_function_call_however_spelled(spelled, caught, neighbour, tmp_path):
    """share re-reads what it wrote and refuses a copy that still calls the functions; the check skips sheets
    and formulas that name no function, so a call spelled with character references or _xHHHH_ escapes must
    still count (``neighbour``: another formula of the sheet names the functions' prefixes without a call)."""
    from workbook import commands

    other = f'<c r="B1"><f>{neighbour}</f><v>2</v></c>' if neighbour else '<c r="B1"><v>2</v></c>'
    xml = hostile.sheet({1: [f'<c r="A1"><f>{spelled}</f><v>1</v></c>', other]})
    data = open(hostile.book(str(tmp_path / "w.xlsx"), [("S", xml)]), "rb").read()
    if caught:
        with pytest.raises(ScalesheetError, match="still calls the functions"):
            commands._validated(data, True)
    else:
        commands._validated(data, True)


@pytest.mark.parametrize("xml", [
    b"<worksheet><sheetData><row r='1'/></sheetData></worksheet>", b"<sheetData/>", b"<sheetData></sheetData>",
    b"<x:sheetData a='1'><x:row/></x:sheetData >", b"<sheetData><row/></sheetDataX></sheetData>",
    b"<sheetData><row/>", b"<sheetData><row/></x:sheetData></sheetData>", b"<sheetDataX/><sheetData>1</sheetData>",
    b"<sheetData a='x/'>2</sheetData>", b"no sheet data", b"<sheetData>a</sheetData><sheetData>b</sheetData>",
    b"<sheetData>\n</sheetData\n>", b"<sheetData><sheetData/></sheetData>"])
def test_sheet_data_is_found_as_the_pattern_finds_it(xml):
    a, b = xlsxpatch.SHEET_DATA.search(xml), xlsxpatch._SheetData.search(xml)
    assert (a is None) == (b is None)
    if a is not None:
        assert (a.group("body"), a.start("body"), a.end("body")) == (b.group("body"), b.start("body"), b.end("body"))


def test_sheet_data_of_every_template_sheet_is_found_alike():
    with zipfile.ZipFile(TEMPLATE) as z:
        for n in z.namelist():
            if re.fullmatch(r"xl/worksheets/sheet[0-9]+\.xml", n):
                xml = z.read(n)
                a, b = xlsxpatch.SHEET_DATA.search(xml), xlsxpatch._SheetData.search(xml)
                assert a.group("body") == b.group("body") and len(a.group("body")) > 0


def _formulas_read_whole(sheet, hint):
    """formula_texts with a hint, as first written: every formula read, then kept where its stored text matches the
    hint or holds a character reference or an _xHHHH_ escape."""
    for m in xlsxpatch._FORMULA_TEXT.finditer(sheet.xml):
        raw = m.group(1)
        if hint.search(raw) or b"&#" in raw or b"_x" in raw:
            yield m.group(0), xlsxpatch.decode_text(raw)


def test_formulas_found_from_the_hint_are_those_reading_every_formula_finds():
    """The written copy's check finds the formulas to look at from where the hint matches in the part; on random
    sheets (hint in formulas, values, strings and attributes, escapes, prefixed and attributed <f>) and on every
    sheet of a shared template it yields exactly what reading every formula and filtering yields."""
    from workbook import engine

    hint = re.compile(engine.UDF_HINT.pattern.encode(), re.IGNORECASE)
    words = tuple(w.encode() for w in engine.UDF_PREFIXES)
    texts = ["LLM_PARAMS(A1)", "SUM(B1)", "Llm_x(1)", "_X004C_LM_X(1)", "&#76;LM_X(1)", "_x004C_LM_X(1)", "gpu_memory+1", "plan_roi(1,2)",
             "&quot;LLM_&quot;&amp;1", "A1&amp;&quot;_x&quot;", "1+2"]
    rnd = random.Random(3)
    for _ in range(300):
        cells = []
        for k in range(rnd.randint(1, 12)):
            ref = f"A{k + 1}"
            attr = rnd.choice(["", ' t="shared" si="0"', ' ref="LLM_A1:B2"', ' ca="1"'])
            pre = rnd.choice(["", "x:"])
            kind = rnd.random()
            if kind < 0.6:
                cells.append(f'<c r="{ref}"><{pre}f{attr}>{rnd.choice(texts)}</{pre}f><v>1</v></c>')
            elif kind < 0.8:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{rnd.choice(texts)}</t></is></c>')
            else:
                cells.append(f'<c r="{ref}"><f{attr}/><v>{rnd.choice(["LLM_", "_x", "2"])}</v></c>')
        sheet = xlsxpatch.Sheet("S", "xl/worksheets/sheet1.xml", hostile.sheet({1: cells}).encode())
        assert list(xlsxpatch.formula_texts(sheet, words)) == list(_formulas_read_whole(sheet, hint))
    shared = xlsxpatch.Package(_shared_template(), cells=False)
    found = 0
    for s in shared.sheets:
        got = list(xlsxpatch.formula_texts(s, words))
        assert got == list(_formulas_read_whole(s, hint))
        found += len(got)
    assert found > 50


def _shared_template() -> bytes:
    import tempfile

    from workbook import commands

    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "shared.xlsx")
        commands.share(TEMPLATE, out, force=False)
        with open(out, "rb") as fh:
            return fh.read()


def test_a_sheet_counted_as_numbered_has_no_unnumbered_row_or_cell():
    """_numbered (counting tags) may only say True where the pattern finds no row or cell without r=; random
    bodies of numbered, unnumbered, prefixed and look-alike tags, and every template sheet."""
    parts = ['<row r="1">', "<row>", "</row>", '<c r="A1">', "<c>", '<c t="s" r="A1">', "<c/>", '<c r="B2"/>',
             '<x:c r="A1">', "<x:c>", "<x:row>", '<x:row r="2">', "<cx/>", "<col/>", "<f>A1</f>", "<v>1</v>",
             '<c\tr="A1">', "<rowz>", '<c  r="A1">', "</c>"]
    rnd = random.Random(8)
    numbered = 0
    for _ in range(5000):
        body = "".join(rnd.choice(parts) for _ in range(rnd.randint(0, 8))).encode()
        if xlsxpatch._numbered(body):
            numbered += 1
            assert xlsxpatch._UNNUMBERED.search(body) is None, body
    assert numbered > 100
    with zipfile.ZipFile(TEMPLATE) as z:
        for n in z.namelist():
            if re.fullmatch(r"xl/worksheets/sheet[0-9]+\.xml", n):
                assert xlsxpatch._numbered(xlsxpatch._SheetData.search(z.read(n)).group("body"))


@pytest.mark.parametrize("per_sheet, refused", [(70_000, False), (90_000, True)])
def test_the_cell_limit_counts_cells_not_tags(per_sheet, refused, tmp_path):
    """The input check and the reader count tags as a bound of the cells until that bound passes
    safeio.MAX_CELLS (250,000), then the cells themselves: three sheets of 70,000 cells (over 800,000 tags) are
    read, three of 90,000 refused."""
    from workbook import safeio

    rows = {r: [hostile.c(f"A{r}", value=r)] for r in range(1, per_sheet + 1)}
    xml = hostile.sheet(rows)
    path = hostile.book(str(tmp_path / "w.xlsx"), [("S1", xml), ("S2", xml), ("S3", xml)])
    data = open(path, "rb").read()
    assert xml.count("<") * 3 > safeio.MAX_CELLS
    if refused:
        with pytest.raises(ScalesheetError, match="more than 250,000 cells"):
            safeio.read_xlsx_parts(path)
        with pytest.raises(ScalesheetError, match="more than 250,000 cells"):
            xlsxpatch.Package(data, cells=False)
    else:
        data, parts = safeio.read_xlsx_parts(path)
        assert len(xlsxpatch.Package(data, cells=False, parts=parts).sheets) == 3


def test_a_written_copy_whose_part_does_not_read_back_is_refused():
    """validate reads every part of what share/recalc wrote to its end (the CRC is checked there): a part whose
    bytes changed after writing is refused, naming it, and nothing is written."""
    with zipfile.ZipFile(TEMPLATE) as z:
        parts = [(i, z.read(i)) for i in z.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for info, data in parts:
            z.writestr(info.filename, data)
    data = out.getvalue()
    xlsxpatch.validate(data)                                   # as written: reads back
    styles = dict((i.filename, d) for i, d in parts)["xl/styles.xml"]
    at = data.index(styles) + len(styles) // 2
    broken = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]
    with pytest.raises(ScalesheetError, match=r"part xl/styles.xml does not read back"):
        xlsxpatch.validate(broken)


xml_text = st.text(alphabet=st.sampled_from(list("&<>\"';#xamplgtquos0123456789 é_\u2028")), max_size=40)


@given(xml_text, st.booleans())
@settings(max_examples=300, deadline=None)
def test_xml_unescape_reads_any_escaped_text_back(text, by_reference):
    """Element text escaped as a writer may escape it (the five entities, or numeric character references for
    some characters) reads back to the text, and as an XML parser (expat) reads it; html.unescape agrees."""
    if by_reference:
        escaped = "".join(f"&#{ord(c)};" if c in "&<é" else ("&#x27;" if c == "'" else c) for c in text)
        escaped = escaped.replace(">", "&gt;").replace('"', "&quot;")
    else:
        escaped = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
                   .replace("'", "&apos;"))
    got = xlsxpatch.xml_unescape(escaped)
    assert got == text == html.unescape(escaped)
    root = ET.fromstring(f"<t>{escaped}</t>".encode())
    assert (root.text or "") == text.replace("\r", "\n")
