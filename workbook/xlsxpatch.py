"""Read the cells of an .xlsx and rewrite its formula cells at the XML level, leaving every other part untouched.

``Package`` reads a (checked, see ``safeio``) workbook: sheet names and parts, shared strings, defined names
and every cell of every worksheet with its formula and cached value. Sheet XML is first normalised so that
every later step sees one form: comments and CDATA removed, ``r=`` added to rows and cells that lack it
(their position follows the previous one, as the format defines). Element prefixes (``<x:c>``) are allowed
everywhere.

``rewrite`` applies one :class:`Edit` per formula cell: keep the formula and cache a value (``recalc``,
live formulas of ``share``), replace it by a value (``share`` freezes calls to the Python functions), or
write a new formula text (the hook for a live share copy). Every string written is XML-safe: characters
XML 1.0 cannot hold (control characters, lone surrogates) are written as Excel's ``_xHHHH_`` escapes, and a
literal ``_xHHHH_`` in a text is itself escaped as ``_x005F_xHHHH_``. ``validate`` re-reads the written
package before anything replaces a file.
"""

from __future__ import annotations

import copy
import functools
import html
import io
import math
import posixpath
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import defusedxml.ElementTree as SafeET

from udfs.core.errors import ScalesheetError

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
MACRO_CT = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_CT = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MAIN_CTS = (PLAIN_CT, MACRO_CT, b"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
            b"application/vnd.ms-excel.template.macroEnabled.main+xml")
EXCEL_MAX_CHARS = 32_767  # characters a cell can hold (Excel specifications and limits)
ERROR_CODES = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!",
               "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!", "#PYTHON!"}

_P = rb"(?P<p>(?:[A-Za-z_][\w.\-]*:)?)"


def _element(name: bytes) -> re.Pattern:
    return re.compile(rb"<" + _P + name + rb"(?=[\s/>])(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</(?P=p)" + name
                      + rb"\s*>)", re.S)


CELL = _element(rb"c")
# The cells Excel and openpyxl write most: <c r="B3" s="1" t="s"><f>...</f><v>...</v></c>, attributes in that
# order, no namespace prefix, no white space between elements, <f> without attributes. _CELLS tries this form
# first and falls back to CELL's at the same position; where the fast form matches, CELL matches the same span
# (the fast body holds no "<" but its own <f>/<v> tags, so the first "</c>" ends both), so the two read alike.
_FAST_CELL = (rb'<c r="(?P<fcol>[A-Z]{1,3})(?P<frow>[1-9][0-9]{0,6})"(?: s="(?P<fs>[0-9]+)")?(?: t="(?P<ft>[a-z]+)")?'
              rb'(?:/>|>(?:<f>(?P<ff>[^<]*)</f>)?(?:<v>(?P<fv>[^<]*)</v>)?</c>)')
_FAST_INLINE = (rb'<c r="(?P<icol>[A-Z]{1,3})(?P<irow>[1-9][0-9]{0,6})"(?: s="[0-9]+")? t="inlineStr">'
                rb'<is><t(?: xml:space="preserve")?>(?P<itext>[^<]*)</t></is></c>')   # a text typed in a cell
_CELLS = re.compile(_FAST_CELL + rb"|" + _FAST_INLINE + rb"|" + CELL.pattern, re.S)
_FCOL, _FROW, _FS, _FT, _FF, _FV, _ICOL, _IROW, _ITEXT = (_CELLS.groupindex[n] - 1 for n in (
    "fcol", "frow", "fs", "ft", "ff", "fv", "icol", "irow", "itext"))    # their places in Match.groups()
ROW = _element(rb"row")
FORMULA = _element(rb"f")
VALUE = _element(rb"v")
TEXT = _element(rb"t")
PHONETIC = _element(rb"rPh")
INLINE = _element(rb"is")
SHARED_ITEM = _element(rb"si")
SHEET_DATA = _element(rb"sheetData")
_SHEET_DATA_START = re.compile(rb"<" + _P + rb"sheetData(?=[\s/>])(?P<attrs>[^>]*?)(?P<close>/?)>")
_END_TAG_REST = re.compile(rb"\s*>")


class _SheetData:
    """Where SHEET_DATA would match, found with bytes.find for the end tag instead of a lazy scan (the lazy
    ``.*?`` tested the end pattern at every byte of a sheet, 4 times per share: about 0.2 s on the template).
    Same span: the first ``</p:sheetData`` after the start tag that ``\\s*>`` completes."""
    __slots__ = ("_body",)

    def __init__(self, body):
        self._body = body              # (start, end, bytes) of the body

    @staticmethod
    def search(xml: bytes):
        m = _SHEET_DATA_START.search(xml)
        while m is not None:
            if m.group("close"):
                return _SheetData((-1, -1, None))       # <sheetData/>: no body, as the regex
            end_tag = b"</" + m.group("p") + b"sheetData"
            pos = m.end()
            while True:
                k = xml.find(end_tag, pos)
                if k < 0:
                    break
                rest = _END_TAG_REST.match(xml, k + len(end_tag))
                if rest:
                    return _SheetData((m.end(), k, xml[m.end():k]))
                pos = k + 1
            m = _SHEET_DATA_START.search(xml, m.start() + 1)   # unclosed: as the regex, try a later start
        return None

    def group(self, name):
        return self._body[2]

    def start(self, name):
        return self._body[0]

    def end(self, name):
        return self._body[1]
DEFINED_NAME = _element(rb"definedName")
ATTR = re.compile(rb"""\s(?P<k>[\w:.\-]+)\s*=\s*(?P<q>["'])(?P<v>.*?)(?P=q)""", re.S)
COMMENT = re.compile(rb"<!--.*?-->", re.S)
CDATA = re.compile(rb"<!\[CDATA\[(?P<text>.*?)\]\]>", re.S)
REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_X_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


# --------------------------------------------------------------------------------------------- text coding

def xml_unescape(text: str) -> str:
    """Text with XML's five predefined entities and its character references resolved. A part that passed
    ``safeio.check_xml`` holds no other entity, so without a character reference five ``str.replace`` calls do it
    (about 4x faster than ``html.unescape``'s regex with a Python call per entity, which a formula full of
    ``&quot;`` keeps busy); ``&amp;`` goes last, so ``&amp;lt;`` stays the text ``&lt;``."""
    if "&#" in text:
        return html.unescape(text)
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


def decode_text(raw: bytes) -> str:
    """XML element text (entities resolved) with Excel's ``_xHHHH_`` escapes decoded."""
    text = xml_unescape(raw.decode("utf-8", "replace")) if b"&" in raw else raw.decode("utf-8", "replace")
    return _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def encode_text(text: str) -> bytes:
    """A Python string as XML element text that Excel reads back as the same string."""
    text = re.sub(r"_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", text)
    text = _XML_ILLEGAL.sub(lambda m: "_x%04X_" % ord(m.group(0)), text)
    return html.escape(text, quote=False).encode("utf-8")


@functools.lru_cache(maxsize=4096)
def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


@functools.lru_cache(maxsize=4096)
def col_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def split_ref(ref: str) -> tuple[int, int]:
    m = REF.match(ref)
    if not m:
        raise ValueError(ref)
    return int(m.group(2)), col_index(m.group(1))


def attrs_of(raw: bytes | None) -> dict[bytes, bytes]:
    return {m.group("k"): m.group("v") for m in ATTR.finditer(b" " + (raw or b""))}


# --------------------------------------------------------------------------------------------- reading

_NO_ATTRS = MappingProxyType({})    # a cell's <f> without attributes (shared, read-only: never a dict per cell)


class Cell:
    """One stored cell (a plain slotted class: a workbook holds up to 250,000 of them)."""

    __slots__ = ("ref", "formula", "fattrs", "value", "row", "col")

    def __init__(self, ref: str, formula: str | None = None, fattrs: Mapping = _NO_ATTRS, value: object = None,
                 row: int = 0, col: int = 0):
        self.ref = ref                # "B3"
        self.formula = formula        # formula text without "=", None for a value cell (shared children: expanded later)
        self.fattrs = fattrs          # attributes of <f>: t (array/shared), ref, si (replaced, never changed in place)
        self.value = value            # cached value: float, bool, str, ExcelErrorText, or None
        self.row, self.col = row, col  # the reference's row and column numbers (0: not given, read ``ref``)

    def __eq__(self, other):
        if type(other) is not Cell:
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self):
        return "Cell(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"


@dataclass(frozen=True)
class ErrorText:
    """A cached Excel error value read from the file (#N/A, ...)."""
    code: str

    def __str__(self):
        return self.code


@dataclass
class Sheet:
    name: str
    part: str
    xml: bytes = b""             # normalised part
    cells: dict = field(default_factory=dict)   # ref -> Cell
    max_row: int = 0
    max_col: int = 0
    worksheet: bool = True


@dataclass
class Name:
    name: str
    text: str
    local: int | None = None      # sheet index for a sheet-scoped name
    hidden: bool = False


# A row or cell tag without an r= attribute (Excel always writes one; other writers may not).
_UNNUMBERED = re.compile(rb"<(?:[\w.\-]+:)?(?:c|row)(?=[\s/>])(?![^>]*\sr\s*=)")


def _numbered(body: bytes) -> bool:
    """True where every row and cell tag of sheetData is unprefixed and starts with r=, as Excel writes them (so
    _UNNUMBERED finds nothing; counting is a few ms where the pattern scans the part for tens); False: look."""
    return (b":c" not in body and b":row" not in body and body.count(b"<c") == body.count(b'<c r="')
            and body.count(b"<row") == body.count(b'<row r="'))


def _normalise_sheet(xml: bytes) -> bytes:
    """Comments dropped, CDATA as escaped text, and ``r=`` on every row and cell of sheetData."""
    if b"<!--" in xml:
        xml = COMMENT.sub(b"", xml)
    if b"<![CDATA[" in xml:
        xml = CDATA.sub(lambda m: html.escape(m.group("text").decode("utf-8", "replace"), quote=False).encode(), xml)
    sd = _SheetData.search(xml)
    if not sd or not sd.group("body"):
        return xml
    body = sd.group("body")
    if _numbered(body) or not _UNNUMBERED.search(body):
        return xml
    row_no = 0

    def fix_row(m: re.Match) -> bytes:
        nonlocal row_no
        a = attrs_of(m.group("attrs"))
        row_no = int(a[b"r"]) if b"r" in a and a[b"r"].isdigit() else row_no + 1
        col = 0

        def fix_cell(c: re.Match) -> bytes:
            nonlocal col
            ca = attrs_of(c.group("attrs"))
            if b"r" in ca:
                try:
                    col = split_ref(ca[b"r"].decode())[1]
                except ValueError:
                    col += 1
                return c.group(0)
            col += 1
            return c.group(0).replace(b"<" + c.group("p") + b"c", b"<" + c.group("p") + b'c r="%s%d"'
                                      % (col_letters(col).encode(), row_no), 1)

        head = m.group(0)[: m.start("attrs") - m.start(0)] + m.group("attrs")
        if b"r" not in a:
            head = head.replace(b"<" + m.group("p") + b"row", b"<" + m.group("p") + b'row r="%d"' % row_no, 1)
        if m.group("body") is None:
            return head + b"/>"
        return head + b">" + CELL.sub(fix_cell, m.group("body")) + b"</" + m.group("p") + b"row>"

    return xml[: sd.start("body")] + ROW.sub(fix_row, body) + xml[sd.end("body"):]


def _plain_value(t: bytes | None, raw: bytes | None, strings: list[str]):
    """The cached value of a cell whose <v> holds ``raw`` (None: no <v>), as _cell_value reads it."""
    if t == b"inlineStr":               # its text is in <is>, which the fast form never holds
        return ""
    if raw is None:
        return None
    return _typed_value(t, raw, strings)


def _cell_value(t: bytes | None, body: bytes, strings: list[str]):
    if t == b"inlineStr":
        is_ = INLINE.search(body)
        inner = PHONETIC.sub(b"", is_.group("body") or b"") if is_ else b""
        return "".join(decode_text(m.group("body") or b"") for m in TEXT.finditer(inner))
    v = VALUE.search(body)
    if not v:
        return None
    return _typed_value(t, v.group("body") or b"", strings)


def _typed_value(t: bytes | None, raw: bytes, strings: list[str]):
    if t == b"s":
        try:
            return strings[int(raw)]
        except (ValueError, IndexError):
            return None
    if t in (b"str", b"d"):
        return decode_text(raw)
    if t == b"b":
        return raw.strip() in (b"1", b"true")
    if t == b"e":
        return ErrorText(decode_text(raw).strip())
    try:
        return float(raw)
    except ValueError:
        return None


class Package:
    """The parts of a workbook that ``share`` and ``recalc`` read, from bytes already checked by ``safeio``."""

    def __init__(self, data: bytes, label: str = "input", cells: bool = True, parts: dict | None = None):
        """``cells`` False: the sheets' parts are found and normalised but their cells not read. ``parts``: the
        package's parts already unpacked ({name: bytes}, as ``safeio.read_xlsx_parts`` gives them)."""
        self.label = label
        self._expanded = None        # each formula cell's own text, once engine._expand_shared has found them
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self._parts = parts
        self.part_names = {i.filename for i in self.zip.infolist()}
        self.workbook_xml = self.read("xl/workbook.xml")
        wb = SafeET.fromstring(self.workbook_xml)
        rels_name = "xl/_rels/workbook.xml.rels"
        if rels_name not in self.part_names:
            raise ScalesheetError(label, "the workbook has no xl/_rels/workbook.xml.rels part")
        rels = SafeET.fromstring(self.read(rels_name))
        target = {r.get("Id"): (r.get("Target") or "", r.get("Type") or "", r.get("TargetMode"))
                  for r in rels.iter(f"{{{NS_PKG_REL}}}Relationship")}
        self.external_parts = [t for t, typ, mode in target.values() if typ.endswith("/externalLink")]
        self.strings = self._shared_strings(target)
        self.sheets: list[Sheet] = []
        from .safeio import MAX_CELLS, CellTally
        stored = CellTally()
        for s in wb.iter(f"{{{NS_MAIN}}}sheet"):
            name = s.get("name") or ""
            t, typ, mode = target.get(s.get(f"{{{NS_REL}}}id"), ("", "", None))
            path = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join("xl", t))
            sheet = Sheet(name, path, worksheet=typ.endswith("/worksheet"))
            if sheet.worksheet:
                if path not in self.part_names:
                    raise ScalesheetError(label, f"sheet {name!r} is listed in xl/workbook.xml but its part "
                                                 f"{path} is missing from the file")
                sheet.xml = _normalise_sheet(self.read(path))
                if stored.over(sheet.xml):
                    raise ScalesheetError(label, f"the workbook holds more than {MAX_CELLS:,} cells (the limit)")
                if cells:
                    self._read_cells(sheet)
            self.sheets.append(sheet)
        self.names: list[Name] = []
        for dn in wb.iter(f"{{{NS_MAIN}}}definedName"):
            local = dn.get("localSheetId")
            self.names.append(Name(dn.get("name") or "", dn.text or "",
                                   int(local) if local and local.isdigit() else None,
                                   (dn.get("hidden") or "").lower() in ("1", "true")))

    def read(self, name: str) -> bytes:
        """A part's unpacked bytes (from the parts given, else unpacked now)."""
        if self._parts is not None and name in self._parts:
            return self._parts[name]
        return self.zip.read(name)

    def _shared_strings(self, target) -> list[str]:
        part = next((posixpath.normpath(posixpath.join("xl", t)) for t, typ, _ in target.values()
                     if typ.endswith("/sharedStrings")), "xl/sharedStrings.xml")
        if part not in self.part_names:
            return []
        xml = self.read(part)
        out = []
        for si in SHARED_ITEM.finditer(xml):
            inner = PHONETIC.sub(b"", si.group("body") or b"")
            out.append("".join(decode_text(m.group("body") or b"") for m in TEXT.finditer(inner)))
        return out

    def _read_cells(self, sheet: Sheet) -> None:
        sd = _SheetData.search(sheet.xml)
        if not sd or not sd.group("body"):
            return
        cells, strings = sheet.cells, self.strings
        max_row = max_col = 0
        for m in _CELLS.finditer(sd.group("body")):
            g = m.groups()                        # one call, not one per group (a sheet holds thousands of cells)
            letters = g[_FCOL]
            if letters is not None:               # the common form (see _FAST_CELL)
                letters, digits = letters.decode(), g[_FROW].decode()
                row, col = int(digits), col_index(letters)
                if row > 1_048_576 or col > 16_384:
                    raise ScalesheetError(self.label, f"sheet {sheet.name!r} has a cell outside Excel's grid")
                ref = letters + digits
                cell = Cell(ref, value=_plain_value(g[_FT], g[_FV], strings), row=row, col=col)
                f = g[_FF]
                if f:
                    text = decode_text(f)
                    cell.formula = text[1:] if text.startswith("=") else text
            elif g[_ICOL] is not None:
                letters, digits = g[_ICOL].decode(), g[_IROW].decode()
                row, col = int(digits), col_index(letters)
                if row > 1_048_576 or col > 16_384:
                    raise ScalesheetError(self.label, f"sheet {sheet.name!r} has a cell outside Excel's grid")
                ref = letters + digits
                cell = Cell(ref, value=decode_text(g[_ITEXT]), row=row, col=col)
            else:
                cell, row, col = self._general_cell(sheet, m)
                ref = cell.ref
            cells[ref] = cell                     # a repeated reference: the later cell wins, as in Excel
            if row > max_row:
                max_row = row
            if col > max_col:
                max_col = col
        sheet.max_row, sheet.max_col = max(sheet.max_row, max_row), max(sheet.max_col, max_col)

    def _general_cell(self, sheet: Sheet, m: re.Match):
        a = attrs_of(m.group("attrs"))
        try:
            row, col = split_ref(a.get(b"r", b"").decode())
        except ValueError:
            raise ScalesheetError(self.label, f"sheet {sheet.name!r} has a cell with an invalid reference "
                                              f"{a.get(b'r', b'')[:20]!r}")
        if row > 1_048_576 or col > 16_384:
            raise ScalesheetError(self.label, f"sheet {sheet.name!r} has a cell outside Excel's grid")
        body = m.group("body") or b""
        cell = Cell(f"{col_letters(col)}{row}", value=_cell_value(a.get(b"t"), body, self.strings), row=row, col=col)
        fm = FORMULA.search(body)
        if fm:
            cell.fattrs = {k.decode(): v.decode() for k, v in attrs_of(fm.group("attrs")).items()}
            text = decode_text(fm.group("body") or b"") if fm.group("body") else None
            cell.formula = text[1:] if text and text.startswith("=") else text
            if cell.formula is None and cell.fattrs.get("t") != "shared":
                cell.fattrs = {}
        return cell, row, col

    def sheet_index(self, name: str) -> int | None:
        key = excel_upper(name)
        for i, s in enumerate(self.sheets):
            if excel_upper(s.name) == key:
                return i
        return None


def excel_upper(name: str) -> str:
    """Sheet and defined names compare as Excel compares them: case-insensitively, one character at a time
    (simple case mapping), so 'Straße' and 'STRASSE' are two different sheets, as they are in Excel."""
    if name.isascii():                  # every ASCII letter maps to one letter: the same result, faster
        return name.upper()
    return "".join(ch.upper() if len(ch.upper()) == 1 else ch for ch in name)


# --------------------------------------------------------------------------------------------- writing

KEEP = object()   # Edit.formula: keep the cell's own <f> element


@dataclass
class Edit:
    """What one formula (or array-range) cell becomes: ``formula`` KEEP (keep <f>, cache ``value``), None
    (a plain value, frozen) or a new formula text (without "=") cached with ``value``."""
    value: object
    formula: object = KEEP


def value_xml(value, p: bytes, formula: bytes | None) -> tuple[bytes, bytes]:
    """(type attribute, inner XML) for a value; ``formula`` is the <f> element written before <v>."""
    f = formula or b""
    v0, v1 = b"<" + p + b"v>", b"</" + p + b"v>"
    code = getattr(value, "code", None)
    if code is not None:
        code = code if code in ERROR_CODES else "#N/A"
        return b' t="e"', f + v0 + code.encode() + v1
    if isinstance(value, bool):
        return b' t="b"', f + v0 + (b"1" if value else b"0") + v1
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return b' t="e"', f + v0 + b"#NUM!" + v1
        return b"", f + v0 + repr(float(value)).encode() + v1
    if value is None:
        return (b"", f) if formula else (b"", b"")
    text = str(value)[:EXCEL_MAX_CHARS]
    if formula:
        return b' t="str"', f + v0 + encode_text(text) + v1
    return (b' t="inlineStr"', b"<" + p + b'is><' + p + b't xml:space="preserve">' + encode_text(text)
            + b"</" + p + b"t></" + p + b"is>")


def _patch_sheet(xml: bytes, edits: dict[str, Edit]) -> tuple[bytes, int, int, int]:
    """Apply edits to a normalised sheet: (xml, frozen, cached, rewritten)."""
    counts = [0, 0, 0]
    sd = _SheetData.search(xml)
    if not sd or not sd.group("body"):
        return xml, 0, 0, 0

    def replace(m: re.Match) -> bytes:
        g = m.groups()
        letters = g[_FCOL]
        if letters is not None:                  # the common form: no attributes or elements to parse
            ref = letters + g[_FROW]
            edit = edits.get(ref.decode())
            if edit is None:
                return m.group(0)
            p = b""
            keep = b' r="' + ref + b'"' + (b' s="' + g[_FS] + b'"' if g[_FS] else b"")
            f = g[_FF]
            f = None if f is None else b"<f>" + f + b"</f>"
        else:
            if g[_ICOL] is not None and (g[_ICOL] + g[_IROW]).decode() not in edits:
                return m.group(0)
            m = CELL.match(m.group(0))
            a = attrs_of(m.group("attrs"))
            raw = a.get(b"r", b"").decode()
            try:
                row, col = split_ref(raw)
                ref = f"{col_letters(col)}{row}"      # as Package names the cell ($A1, a1: A1)
            except ValueError:
                ref = raw
            edit = edits.get(ref)
            if edit is None:
                return m.group(0)
            p = m.group("p")
            fm = FORMULA.search(m.group("body") or b"")
            f = None if fm is None else fm.group(0)
            keep = b"".join(b' %s="%s"' % (k, a[k]) for k in (b"r", b"s") if k in a)
        if edit.formula is KEEP:
            if f is None:         # a cell inside an array formula's range: only its value changes
                t, inner = value_xml(edit.value, p, None)
            else:
                counts[1] += 1
                t, inner = value_xml(edit.value, p, f)
        elif edit.formula is None:
            counts[0] += f is not None
            t, inner = value_xml(edit.value, p, None)
        else:
            counts[2] += 1
            t, inner = value_xml(edit.value, p, b"<" + p + b"f>" + encode_text(str(edit.formula)) + b"</" + p + b"f>")
        if not inner:
            return b"<" + p + b"c" + keep + b"/>"
        return b"<" + p + b"c" + keep + t + b">" + inner + b"</" + p + b"c>"

    body = _CELLS.sub(replace, sd.group("body"))
    return xml[: sd.start("body")] + body + xml[sd.end("body"):], *counts


def name_literal(value) -> str:
    """A defined name's computed value as a formula constant."""
    code = getattr(value, "code", None)
    if code is not None:
        return code if code in ERROR_CODES else "#N/A"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(float(value)) if math.isfinite(value) else "#NUM!"
    if value is None:
        return '""'
    return '"' + str(value)[:255].replace('"', '""') + '"'


def _patch_names(xml: bytes, edits: dict[tuple[str, int | None], str]) -> bytes:
    def replace(m: re.Match) -> bytes:
        a = attrs_of(m.group("attrs"))
        local = a.get(b"localSheetId")
        key = (excel_upper(decode_text(a.get(b"name", b""))), int(local) if local and local.isdigit() else None)
        if key not in edits:
            return m.group(0)
        return (m.group(0)[: m.start("attrs") - m.start(0)] + m.group("attrs") + b">" + encode_text(edits[key])
                + b"</" + m.group("p") + b"definedName>")
    return DEFINED_NAME.sub(replace, xml)


def _drop_parts(ct: bytes, rels: bytes, names: set[str]) -> tuple[bytes, bytes]:
    for name in names:
        ct = re.sub(rb'<(?:[\w.\-]+:)?Override[^>]*PartName="/' + re.escape(name.encode()) + rb'"[^>]*/>', b"", ct)
        base = posixpath.basename(name).encode()
        rels = re.sub(rb'<(?:[\w.\-]+:)?Relationship[^>]*Target="[^"]*' + re.escape(base) + rb'"[^>]*/>', b"", rels)
    return ct, rels


def _full_calc_on_load(xml: bytes) -> bytes:
    """Ask Excel and LibreOffice to recompute native formulas when the file is opened."""
    m = re.search(rb"<(?P<p>(?:[\w.\-]+:)?)calcPr\b[^>]*?/?>", xml)
    if m:
        tag = m.group(0)
        if b"fullCalcOnLoad" in tag:
            return xml
        new = tag[:-2] + b' fullCalcOnLoad="1"/>' if tag.endswith(b"/>") else tag[:-1] + b' fullCalcOnLoad="1">'
        return xml.replace(tag, new, 1)
    m = re.search(rb"</(?P<p>(?:[\w.\-]+:)?)workbook\s*>", xml)
    if not m:
        return xml
    p = m.group("p")
    return xml[: m.start()] + b"<" + p + b'calcPr calcId="191029" fullCalcOnLoad="1"/>' + xml[m.start():]


def apply(pkg: Package, edits: dict[tuple[int, str], Edit], *, macros: bool,
            name_edits: dict | None = None) -> tuple[bytes, dict]:
    """The package with ``edits`` applied, keyed (sheet index, "A1"). ``macros`` False drops a VBA project and
    writes the plain workbook content type; True keeps it and writes the macro-enabled one."""
    by_part: dict[str, dict[str, Edit]] = {}
    for (i, ref), e in edits.items():
        by_part.setdefault(pkg.sheets[i].part, {})[ref] = e
    xml_of = {s.part: s.xml for s in pkg.sheets if s.worksheet}
    names = pkg.part_names
    drop = {n for n in names if n == "xl/calcChain.xml"}
    vba = {n for n in names if n.endswith(("vbaProject.bin", "vbaProjectSignature.bin", "vbaProject.bin.rels",
                                           "vbaProjectSignatureAgile.bin", "vbaProjectSignatureV3.bin"))}
    if not macros:
        drop |= vba
    stats = {"frozen": 0, "cached": 0, "rewritten": 0, "macros_dropped": bool(vba) and not macros}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in pkg.zip.infolist():
            if info.filename in drop:
                continue
            data = xml_of.get(info.filename)
            if data is None:
                data = pkg.read(info.filename)
            if info.filename in by_part:
                data, f, c, r = _patch_sheet(data, by_part[info.filename])
                stats["frozen"] += f
                stats["cached"] += c
                stats["rewritten"] += r
            elif info.filename == "[Content_Types].xml":
                data, _ = _drop_parts(data, b"", drop)
                for ct in MAIN_CTS:
                    data = data.replace(ct, MACRO_CT if macros else PLAIN_CT)
            elif info.filename == "xl/_rels/workbook.xml.rels":
                _, data = _drop_parts(b"", data, drop)
            elif info.filename == "xl/workbook.xml":
                data = _full_calc_on_load(data)
                if name_edits:
                    data = _patch_names(data, name_edits)
            zout.writestr(copy.copy(info), data)     # writestr updates the ZipInfo it is given: not the input's
    return out.getvalue(), stats


def validate(data: bytes, label: str = "output") -> Package:
    """Re-read a written package: a zip whose every part reads back (CRC), every XML part parses, every
    sheet listed exists; returns it as a Package whose sheets' cells are not read (``formula_texts`` reads
    their formulas). Raises ScalesheetError naming what is wrong."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        parts = {}
        for info in zf.infolist():
            try:
                parts[info.filename] = zf.read(info)      # read to its end: its CRC is checked
            except zipfile.BadZipFile:
                raise ScalesheetError(label, f"the written file failed its own check (part {info.filename} does "
                                             "not read back); nothing was written")
        from .safeio import check_xml

        for name, part in parts.items():
            if name.endswith((".xml", ".rels", ".vml")):
                check_xml(part)
        return Package(data, label, cells=False, parts=parts)
    except ScalesheetError:
        raise
    except Exception as exc:
        raise ScalesheetError(label, f"the written file failed its own check ({type(exc).__name__}: "
                                     f"{str(exc)[:120]}); nothing was written")


def formula_texts(sheet: Sheet, words: tuple[bytes, ...] | None = None):
    """(the <f> element up to its text's end, formula text) of each formula of a sheet read without its cells
    (``cells=False``), in order. With ``words`` (ASCII bytes), only the formulas whose stored text holds one of
    them in any case, or a character reference or an _xHHHH_ escape (which could spell one), found from those
    places in the part (tests/test_reading.py checks this against reading every formula)."""
    xml = sheet.xml
    if words is None:
        for m in _FORMULA_TEXT.finditer(xml):
            yield m.group(0), decode_text(m.group(1))
        return
    places = set()
    low = xml.lower()
    for text, word in [(low, w.lower()) for w in words] + [(xml, b"&#"), (xml, b"_x")]:
        i = text.find(word)
        while i >= 0:
            places.add(i)
            i = text.find(word, i + 1)
    done = set()
    for p in sorted(places):
        lt = xml.rfind(b"<", 0, p)                  # the tag before the place: an <f> whose text holds it?
        if lt < 0 or lt in done:
            continue
        m = _FORMULA_OPEN.match(xml, lt)
        if m is None or m.end() > p:                # not an <f>, or the place is inside the tag itself
            continue
        end = xml.find(b"<", m.end())
        if end < 0:
            continue
        done.add(lt)
        yield xml[lt:end + 1], decode_text(xml[m.end():end])


# The text of an <f> element (no child elements; comments and CDATA are gone after _normalise_sheet).
_FORMULA_TEXT = re.compile(rb"<(?:[\w.\-]+:)?f(?:\s[^>]*)?>([^<]+)<")
_FORMULA_OPEN = re.compile(rb"<(?:[\w.\-]+:)?f(?:\s[^>]*)?>")


# ------------------------------------------------------------------------------- compatibility wrappers

def formula_cells(src: bytes) -> set[tuple[str, str]]:
    """(SHEET NAME UPPER-CASED, "A1") of every cell that holds a formula (shared children included)."""
    pkg = Package(src)
    return {(s.name.upper(), ref) for s in pkg.sheets for ref, c in s.cells.items()
            if c.formula is not None or c.fattrs.get("t") == "shared"}


def rewrite(src: bytes, values: dict[tuple[str, str], object], freeze_udfs: bool,
            drop_macros: bool = True) -> tuple[bytes, dict]:
    """Older interface: ``values`` keyed (SHEET UPPER, "A1"); calls to the functions frozen when ``freeze_udfs``."""
    from .engine import uses_udf

    pkg = Package(src)
    sharer = None
    if freeze_udfs:
        from .live import Sharer

        sharer = Sharer(src, values)
    edits = {}
    for i, s in enumerate(pkg.sheets):
        for ref, c in s.cells.items():
            key = (s.name.upper(), ref)
            if key in values and (c.formula is not None or c.fattrs.get("t") == "shared"):
                value, formula = values[key], KEEP
                if freeze_udfs and uses_udf(c.formula or ""):
                    native = sharer.replace(s.name, ref, c.formula, value)  # live or guarded (live.py)
                    if isinstance(native, tuple):
                        native, value = native
                    formula = native or None
                edits[(i, ref)] = Edit(value, formula)
    data, stats = apply(pkg, edits, macros=not drop_macros)
    if sharer is not None:
        stats["frozen"] += stats["rewritten"]  # every call replaced: live native, guarded or a bare value
        stats.update(sharer.counts, summary=sharer.summary())
    return data, stats
