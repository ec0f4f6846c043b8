"""Builds hostile and odd workbooks at test time (no committed binaries) for tests/test_hostile.py.

Every workbook is written from raw XML parts, so each case can hold exactly the oddity it tests: names
with quotes, external links, control characters, array and shared formulas, prefixed XML, cells without
``r=``, huge used ranges, circular references, macros, broken containers. ``CASES`` maps a case name to a
function ``(folder) -> path of the input``; some cases also write files beside the input (a "secret"
workbook an external link points at) to prove that nothing outside the input is read.
"""

from __future__ import annotations

import os
import zipfile
from xml.sax.saxutils import escape, quoteattr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_MACRO = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_EXTLINK = "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"
REL_SHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
REL_EXTLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink"
REL_EXTPATH = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
SECRET = 31337.0  # the value kept in a workbook beside the input that no command may read


def c(ref: str | None, formula: str | None = None, value=None, t: str | None = None, fattrs: str = "",
      prefix: str = "") -> str:
    """One <c> element; ``ref`` None writes a cell without r=."""
    p = prefix
    attrs = (f" r={quoteattr(ref)}" if ref else "") + (f' t="{t}"' if t else "")
    body = ""
    if formula is not None or fattrs:
        body += f"<{p}f{fattrs}>{escape(formula)}</{p}f>" if formula is not None else f"<{p}f{fattrs}/>"
    if value is not None:
        if t == "inlineStr":
            body += f"<{p}is><{p}t>{escape(str(value))}</{p}t></{p}is>"
        else:
            body += f"<{p}v>{escape(str(value))}</{p}v>"
    return f"<{p}c{attrs}>{body}</{p}c>"


def sheet(rows: dict[int | None, list[str]], prefix: str = "", extra: str = "") -> str:
    p = prefix
    xmlns = f'xmlns:{p[:-1]}="{MAIN}"' if p else f'xmlns="{MAIN}"'
    body = "".join((f'<{p}row r="{r}">' if r else f"<{p}row>") + "".join(cells) + f"</{p}row>"
                   for r, cells in rows.items())
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {xmlns} xmlns:r="{REL}">'
            f"<{p}sheetData>{body}</{p}sheetData>{extra}</{p}worksheet>")


def book(path: str, sheets: list[tuple[str, str]], names: list[tuple[str, str, int | None]] = (),
         extra_parts: dict[str, bytes | str] | None = None, extra_rels: list[tuple[str, str, str, str]] = (),
         extra_ct: list[tuple[str, str]] = (), workbook_extra: str = "", main_ct: str = CT_MAIN,
         sheet_rels: dict[int, str] | None = None) -> str:
    """Write an .xlsx with the given (name, sheet XML) pairs; names are (name, text, localSheetId)."""
    wb_sheets = "".join(f"<sheet name={quoteattr(n)} sheetId=\"{i + 1}\" r:id=\"rId{i + 1}\"/>"
                        for i, (n, _) in enumerate(sheets))
    dn = ""
    if names:
        dn = "<definedNames>" + "".join(
            f"<definedName name={quoteattr(n)}" + (f' localSheetId="{loc}"' if loc is not None else "")
            + f">{escape(text)}</definedName>" for n, text, loc in names) + "</definedNames>"
    workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" '
                f'xmlns:r="{REL}"><sheets>{wb_sheets}</sheets>{workbook_extra}{dn}<calcPr calcId="191029"/>'
                f"</workbook>")
    rels = "".join(f'<Relationship Id="rId{i + 1}" Type="{REL_SHEET}" Target="worksheets/sheet{i + 1}.xml"/>'
                   for i in range(len(sheets)))
    rels += "".join(f'<Relationship Id="{rid}" Type="{typ}" Target={quoteattr(tgt)}{mode}/>'
                    for rid, typ, tgt, mode in extra_rels)
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          f'<Override PartName="/xl/workbook.xml" ContentType="{main_ct}"/>'
          + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="{CT_SHEET}"/>'
                    for i in range(len(sheets)))
          + "".join(f'<Override PartName="{part}" ContentType="{typ}"/>' for part, typ in extra_ct)
          + "</Types>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PKG}">'
                                   f'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                                   f'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                                   f"</Relationships>")
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels",
                    f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PKG}">{rels}</Relationships>')
        for i, (_, xml) in enumerate(sheets):
            zf.writestr(f"xl/worksheets/sheet{i + 1}.xml", xml)
        for i, xml in (sheet_rels or {}).items():
            zf.writestr(f"xl/worksheets/_rels/sheet{i + 1}.xml.rels",
                        f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PKG}">{xml}</Relationships>')
        for name, data in (extra_parts or {}).items():
            zf.writestr(name, data)
    return path


def _secret_book(folder: str) -> str:
    """A workbook beside (and above) the input that holds SECRET; reading it would leak it."""
    path = os.path.join(folder, "secret.xlsx")
    book(path, [("Sheet1", sheet({1: [c("A1", value=SECRET)]}))])
    return path


def _extlink(target: str, cached: float = 1.0) -> dict:
    part = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<externalLink xmlns="{MAIN}" '
            f'xmlns:r="{REL}"><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames>'
            f'<sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>{cached}</v></cell></row>'
            f"</sheetData></sheetDataSet></externalBook></externalLink>")
    rels = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL_EXTPATH}" Target={quoteattr(target)} TargetMode="External"/></Relationships>')
    return dict(extra_parts={"xl/externalLinks/externalLink1.xml": part,
                             "xl/externalLinks/_rels/externalLink1.xml.rels": rels},
                extra_rels=[("rIdX1", REL_EXTLINK, "externalLinks/externalLink1.xml", "")],
                extra_ct=[("/xl/externalLinks/externalLink1.xml", CT_EXTLINK)],
                workbook_extra='<externalReferences><externalReference r:id="rIdX1"/></externalReferences>')


# ---------------------------------------------------------------------------------------------- the cases
# Each returns the input path. ``EXPECT`` says what a correct run shows: "ok" (exit 0, output valid) with
# checks in tests/test_hostile.py, or "refuse" (exit 2, one line).

def external_link_relative(folder):
    os.makedirs(os.path.join(folder, "a", "b"), exist_ok=True)
    _secret_book(folder)
    return book(os.path.join(folder, "a", "b", "in.xlsx"),
                [("Sheet1", sheet({1: [c("A1", "[1]Sheet1!A1*2", 2), c("B1", "PLAN_ROI([1]Sheet1!A1+1,1)", 1)]}))],
                **_extlink("../../secret.xlsx"))


def external_link_absolute(folder):
    secret = _secret_book(folder)
    return book(os.path.join(folder, "in.xlsx"),
                [("Sheet1", sheet({1: [c("A1", "[1]Sheet1!A1", 5), c("B1", "PLAN_ROI(A1,1)", 4)]}))],
                **_extlink("file:///" + secret.lstrip("/"), cached=5))


def external_book_by_name(folder):
    _secret_book(folder)
    return book(os.path.join(folder, "in.xlsx"),
                [("Sheet1", sheet({1: [c("A1", "'[secret.xlsx]Sheet1'!A1", 7), c("B1", "PLAN_ROI(A1,1)", 6)]}))])


def external_name(folder):
    _secret_book(folder)
    return book(os.path.join(folder, "in.xlsx"),
                [("Sheet1", sheet({1: [c("A1", "Far*1", 3), c("B1", "PLAN_ROI(Far,1)", 2)]}))],
                names=[("Far", "[1]Sheet1!$A$1", None)], **_extlink("secret.xlsx", cached=3))


def control_chars(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", 'CHAR(11)&"x"&CHAR(1)'), c("B1", 'PLAN_ROI(1,1)&CHAR(11)'),
            c("C1", value="a_x000B_b", t="inlineStr"), c("D1", 'LLM_PARAMS("a"&CHAR(27)&"[31m")')]}))])


def lone_surrogate(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value="x_xD800_y", t="inlineStr"), c("B1", 'A1&""'), c("C1", 'LLM_PARAMS(A1)')]}))])


def apostrophe_sheet(folder):
    return book(os.path.join(folder, "in.xlsx"), [
        ("Bob's plan", sheet({1: [c("A1", value="pythia-70m", t="inlineStr"), c("B1", "LLM_PARAMS(A1)")]})),
        ("Other", sheet({1: [c("A1", "LLM_PARAMS('Bob''s plan'!A1)")]}))])


def bracket_filename(folder):
    return book(os.path.join(folder, "plan [v2].xlsx"), [
        ("Sheet1", sheet({1: [c("A1", value="pythia-70m", t="inlineStr"), c("B1", "LLM_PARAMS(A1)")]}))])


def straße_sheets(folder):
    return book(os.path.join(folder, "in.xlsx"), [
        ("Straße", sheet({1: [c("A1", value=3), c("B1", "PLAN_ROI(A1,1)")]})),
        ("STRASSE", sheet({1: [c("A1", value=5), c("B1", "PLAN_ROI(A1,1)"), c("C1", "Straße!A1*10")]}))])


def non_ascii_and_brackets_sheet(folder):
    return book(os.path.join(folder, "in.xlsx"), [
        ("Données (2024) é!,;", sheet({1: [c("A1", value=4), c("B1", "PLAN_ROI(A1,1)")]})),
        ("Sheet2", sheet({1: [c("A1", "PLAN_ROI('Données (2024) é!,;'!A1,2)")]}))])


def last_row_sum(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("B1", "PLAN_ROI(SUM(A3:A1048576),100)")], 2: [c("B2", "SUM(A:A)")],
        3: [c("A3", value=100)], 4: [c("A4", value=200)], 5: [c("A5", value=700)]}))])


def array_formula(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value=1), c("B1", "PLAN_ROI(A1:A3,1)", 0, fattrs=' t="array" ref="B1:B3"')],
        2: [c("A2", value=2), c("B2", value=0)], 3: [c("A3", value=3), c("B3", value=0)]}))])


def shared_formula(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value=1), c("B1", "PLAN_ROI(A1,1)", fattrs=' t="shared" ref="B1:B3" si="0"')],
        2: [c("A2", value=2), c("B2", fattrs=' t="shared" si="0"')],
        3: [c("A3", value=3), c("B3", fattrs=' t="shared" si="0"')]}))])


def defined_name_calls(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value=3), c("B1", "Roi*2"), c("C1", "Local+1")]}))],
        names=[("Roi", "PLAN_ROI(Sheet1!$A$1,1)", None), ("Local", "PLAN_ROI(Sheet1!$A$1,2)", 0)])


def prefixed_xml(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value=3, prefix="x:"), c("B1", "PLAN_ROI(A1,1)", prefix="x:"), c("C1", "A1*2", prefix="x:")]},
        prefix="x:"))])


def cells_without_r(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        None: [c(None, value=3), c(None, "PLAN_ROI(A1,1)"), c(None, "A1*2")],
        3: [c(None, value=5), c("C3", "PLAN_ROI(A3,1)")]}))])


def prefixed_calls(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value=3), c("B1", "_xldudf_PLAN_ROI(A1,1)"), c("C1", "XLWINGS.PLAN_ROI(A1,2)"),
            c("D1", "_xludf.PLAN_ROI(A1,3)"), c("E1", "my.addin.PLAN_ROI(A1,4)")]}))])


def unknown_function(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value=3), c("B1", "LLM_NOT_A_FUNCTION(A1)"), c("C1", "PLAN_ROI(A1,1)")]}))])


def huge_used_range(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value=3), c("B1", "PLAN_ROI(A1,1)")], 1048576: [c("XFD1048576", value=1)]}))])


def last_row_cell(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("B1", "PLAN_ROI(SUM(A:A),1)")], 1048576: [c("A1048576", value=9)]}))])


def circular(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", "B1+1"), c("B1", "A1+1"), c("C1", "PLAN_ROI(A1,1)"), c("D1", "PLAN_ROI(2,1)")]}))])


def missing_sheet_part(folder):
    path = book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({1: [c("A1", "PLAN_ROI(2,1)")]})),
                                                 ("Sheet2", sheet({1: [c("A1", value=1)]}))])
    _rewrite_zip(path, drop={"xl/worksheets/sheet2.xml"})
    return path


def bad_crc_media(folder):
    path = book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({1: [c("A1", "PLAN_ROI(2,1)")]}))],
                extra_parts={"xl/media/image1.png": b"\x89PNG" + b"z" * 4000})
    data = bytearray(open(path, "rb").read())
    i = data.find(b"zzzz", data.find(b"xl/media/image1.png") + 20)
    if i < 0:  # stored compressed: damage the compressed bytes after the local header
        i = data.find(b"xl/media/image1.png") + 40
    data[i] ^= 0xFF
    open(path, "wb").write(bytes(data))
    return path


def xlsm_with_vba(folder):
    return book(os.path.join(folder, "in.xlsm"), [("Sheet1", sheet({1: [c("A1", "PLAN_ROI(2,1)")]}))],
                main_ct=CT_MACRO, extra_parts={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0VBAPROJECT" + b"\0" * 100},
                extra_rels=[("rIdV", REL_VBA, "vbaProject.bin", "")],
                extra_ct=[("/xl/vbaProject.bin", "application/vnd.ms-office.vbaProject")])


def terminal_escapes(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", 'LLM_PARAMS(CHAR(27)&"]0;pwned"&CHAR(7)&CHAR(27)&"[2J")'),
            c("B1", 'CHAR(27)&"[31m"&(1/0)'), c("C1", value="\u202eevil", t="inlineStr")]}))])


def long_name(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value="m" * 32767, t="inlineStr"), c("B1", "LLM_PARAMS(A1)")]}))])


def many_cells(folder):
    rows = {r: [c(f"A{r}", value=r)] for r in range(1, 260_002)}  # just past safeio.MAX_CELLS
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet(rows))])


def duplicate_cells(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", value=3), c("A1", "PLAN_ROI(2,1)")]}))])


def sheet_named_like_a_cell(folder):
    return book(os.path.join(folder, "in.xlsx"), [
        ("A1", sheet({1: [c("A1", value=3)]})), ("TRUE", sheet({1: [c("A1", value=4)]})),
        ("Sheet3", sheet({1: [c("A1", "PLAN_ROI('A1'!A1+'TRUE'!A1,1)")]}))])


def webservice(folder):
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", 'WEBSERVICE("http://127.0.0.1:9/x")', "cached", t="str"),
            c("B1", 'PLAN_ROI(LEN(A1),1)'), c("C1", 'INDIRECT("[secret.xlsx]Sheet1!A1")')]}))])


def statistics_functions(folder):
    """Functions whose implementation imports scipy lazily: the same answers as an eager import."""
    return book(os.path.join(folder, "in.xlsx"), [("Sheet1", sheet({
        1: [c("A1", "_xlfn.NORM.S.INV(0.975)"), c("B1", "PLAN_ROI(A1,1)"), c("C1", "KURT(1,2,3,4,9)")]}))])


def not_a_zip(folder):
    path = os.path.join(folder, "in.xlsx")
    open(path, "wb").write(b"hello")
    return path


def directory_input(folder):
    path = os.path.join(folder, "in.xlsx")
    os.makedirs(path, exist_ok=True)
    return path


def _rewrite_zip(path: str, drop=frozenset(), replace=None):
    with zipfile.ZipFile(path) as zf:
        parts = [(i, zf.read(i.filename)) for i in zf.infolist() if i.filename not in drop]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            zf.writestr(info, (replace or {}).get(info.filename, data))


CASES = {f.__name__: f for f in [
    external_link_relative, external_link_absolute, external_book_by_name, external_name, control_chars,
    lone_surrogate, apostrophe_sheet, bracket_filename, straße_sheets, non_ascii_and_brackets_sheet,
    last_row_sum, array_formula, shared_formula, defined_name_calls, prefixed_xml, cells_without_r,
    prefixed_calls, unknown_function, huge_used_range, last_row_cell, circular, missing_sheet_part,
    bad_crc_media, xlsm_with_vba, terminal_escapes, long_name, many_cells, duplicate_cells,
    sheet_named_like_a_cell, webservice, statistics_functions, not_a_zip, directory_input]}
