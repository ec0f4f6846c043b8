"""Rewrite formula cells of an .xlsx at the XML level, leaving every other part untouched.

``share``: cells whose formula calls a ``udfs`` function become plain values; native formulas stay live
and get their computed value cached, so the copy shows every number before any recalculation.
``recalc``: every formula stays and gets its computed value cached.
Charts, styles, validations and names survive because only <c> elements of sheet parts change.
"""

from __future__ import annotations

import html
import io
import math
import posixpath
import re
import zipfile

import defusedxml.ElementTree as SafeET

from .engine import ExcelError, uses_udf

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CELL = re.compile(rb"<c\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</c>)", re.S)
FORMULA = re.compile(rb"<f\b(?P<fattrs>[^>]*?)(?:/>|>(?P<ftext>.*?)</f>)", re.S)
ATTR = re.compile(rb'\s(?P<k>[A-Za-z:]+)="(?P<v>[^"]*)"')
MACRO_CT = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_CT = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip part path, from xl/workbook.xml and its relationships."""
    wb = SafeET.fromstring(zf.read("xl/workbook.xml"))
    rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{NS_PKG_REL}}}Relationship")}
    out = {}
    for s in wb.iter(f"{{{NS_MAIN}}}sheet"):
        t = target.get(s.get(f"{{{NS_REL}}}id"), "")
        path = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join("xl", t))
        out[s.get("name")] = path
    return out


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group("k"): m.group("v") for m in ATTR.finditer(b" " + raw)}


def _keep(attrs: dict[bytes, bytes]) -> bytes:
    return b"".join(b' %s="%s"' % (k, attrs[k]) for k in (b"r", b"s") if k in attrs)


def _value_xml(value, with_formula: bytes | None) -> tuple[bytes, bytes]:
    """(type attribute, inner XML) for a value; with_formula keeps the <f> element before <v>."""
    f = with_formula or b""
    if isinstance(value, ExcelError):
        return b' t="e"', f + b"<v>" + html.escape(value.code).encode() + b"</v>"
    if isinstance(value, bool):
        return b' t="b"', f + (b"<v>1</v>" if value else b"<v>0</v>")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return b' t="e"', f + b"<v>#NUM!</v>"
        return b"", f + b"<v>" + repr(float(value)).encode() + b"</v>"
    if value is None:
        return (b"", f) if with_formula else (b' t="inlineStr"', b"<is><t></t></is>")
    text = html.escape(str(value), quote=False).encode()
    if with_formula:
        return b' t="str"', f + b"<v>" + text + b"</v>"
    return b' t="inlineStr"', b'<is><t xml:space="preserve">' + text + b"</t></is>"


def patch_sheet(xml: bytes, values: dict[str, object], freeze_udfs: bool, live=None,
                sheet: str = "") -> tuple[bytes, int, int]:
    """Return (new xml, cells frozen to values, formulas given cached values)."""
    udf_groups: set[bytes] = set()
    for m in CELL.finditer(xml):
        fm = FORMULA.search(m.group("body") or b"")
        if fm and fm.group("ftext") and uses_udf(html.unescape(fm.group("ftext").decode())):
            fa = _attrs(fm.group("fattrs"))
            if fa.get(b"t") == b"shared" and b"si" in fa:
                udf_groups.add(fa[b"si"])
    frozen = cached = 0

    def replace(m: re.Match) -> bytes:
        nonlocal frozen, cached
        body = m.group("body") or b""
        fm = FORMULA.search(body)
        if not fm:
            return m.group(0)
        attrs = _attrs(m.group("attrs"))
        ref = attrs.get(b"r", b"").decode()
        if ref not in values:
            return m.group(0)
        value = values[ref]
        fa = _attrs(fm.group("fattrs"))
        text = html.unescape((fm.group("ftext") or b"").decode())
        is_udf = uses_udf(text) or (fa.get(b"t") == b"shared" and fa.get(b"si") in udf_groups)
        if freeze_udfs and is_udf:
            frozen += 1
            # live.py: the native formula that replaces the call (live or guarded), or None for a bare value
            native = live.replace(sheet, ref, text, value) if live is not None and text else None
            if isinstance(native, tuple):       # (formula, the value it shows)
                native, value = native
            f = b"<f>" + html.escape(native, quote=False).encode() + b"</f>" if native else None
            t, inner = _value_xml(value, f)
        else:
            cached += 1
            t, inner = _value_xml(value, fm.group(0))
        return b"<c" + _keep(attrs) + t + b">" + inner + b"</c>"

    return CELL.sub(replace, xml), frozen, cached


def formula_cells(src: bytes) -> set[tuple[str, str]]:
    """(SHEET NAME UPPER-CASED, "A1") of every cell that holds a formula."""
    zin = zipfile.ZipFile(io.BytesIO(src))
    out = set()
    for name, part in sheet_parts(zin).items():
        for m in CELL.finditer(zin.read(part)):
            if m.group("body") and FORMULA.search(m.group("body")):
                ref = _attrs(m.group("attrs")).get(b"r", b"").decode()
                out.add((name.upper(), ref))
    return out


def _drop_parts(ct: bytes, rels: bytes, names: set[str]) -> tuple[bytes, bytes]:
    for name in names:
        ct = re.sub(rb'<Override[^>]*PartName="/' + re.escape(name.encode()) + rb'"[^>]*/>', b"", ct)
        base = posixpath.basename(name).encode()
        rels = re.sub(rb'<Relationship[^>]*Target="[^"]*' + re.escape(base) + rb'"[^>]*/>', b"", rels)
    return ct, rels


def rewrite(src: bytes, values: dict[tuple[str, str], object], freeze_udfs: bool,
            drop_macros: bool = True) -> tuple[bytes, dict]:
    """Return the rewritten workbook bytes and counts; ``values`` keyed by (SHEET UPPER, "A1")."""
    zin = zipfile.ZipFile(io.BytesIO(src))
    parts = {name.upper(): path for name, path in sheet_parts(zin).items()}
    by_part: dict[str, dict[str, object]] = {}
    for (sheet, cell), v in values.items():
        if sheet in parts:
            by_part.setdefault(parts[sheet], {})[cell] = v
    names = {i.filename for i in zin.infolist()}
    drop = {n for n in names if n == "xl/calcChain.xml"}
    if drop_macros:
        drop |= {n for n in names if n.endswith("vbaProject.bin") or n.endswith("vbaProjectSignature.bin")}
    stats = {"frozen": 0, "cached": 0}
    sharer = None
    if freeze_udfs:
        from .live import Sharer
        sharer = Sharer(src, values)
    names_of = {path: name for name, path in sheet_parts(zin).items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if info.filename in by_part:
                data, f, c = patch_sheet(data, by_part[info.filename], freeze_udfs, sharer,
                                         names_of.get(info.filename, ""))
                stats["frozen"] += f
                stats["cached"] += c
            elif info.filename == "[Content_Types].xml":
                data, _ = _drop_parts(data, b"", drop)
                if drop_macros:
                    data = data.replace(MACRO_CT, PLAIN_CT)
            elif info.filename == "xl/_rels/workbook.xml.rels":
                _, data = _drop_parts(b"", data, drop)
            elif info.filename == "xl/workbook.xml":
                data = _full_calc_on_load(data)
            zout.writestr(info, data)
    if sharer is not None:
        stats.update(sharer.counts, summary=sharer.summary())
    return out.getvalue(), stats


def _full_calc_on_load(xml: bytes) -> bytes:
    """Ask Excel and LibreOffice to recompute native formulas when the file is opened."""
    m = re.search(rb"<calcPr\b[^>]*?/?>", xml)
    if m:
        tag = m.group(0)
        if b"fullCalcOnLoad" in tag:
            return xml
        new = tag[:-2] + b' fullCalcOnLoad="1"/>' if tag.endswith(b"/>") else tag[:-1] + b' fullCalcOnLoad="1">'
        return xml.replace(tag, new, 1)
    return xml.replace(b"</workbook>", b'<calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>', 1)
