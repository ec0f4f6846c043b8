"""Build the planning workbook: sheets in order, deterministic bytes (fixed timestamps, stable order)."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import re
import zipfile

from openpyxl import Workbook

from .sheets import (catalogs, cloud, cluster, methodology, phases, scenario, seed_check, sensitivity, serving, start,
                     tiers, training_scale)

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)

# Order of the tabs a planner sees; catalogs are built first because the others refer to their names.
from openpyxl.utils import get_column_letter  # noqa: E402

from .layout import CATALOG_ROWS  # noqa: E402

SHEETS = [start, scenario, tiers, training_scale, cluster, phases, sensitivity, cloud, serving, seed_check, methodology,
          catalogs]
SHEETS.insert(SHEETS.index(cloud) + 1, importlib.import_module(".sheets.buy_rent_api", __package__))


def build_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    catalogs.build(wb)          # defines ModelNames, GPUNames, ... used by validations elsewhere
    for module in SHEETS:
        if module is not catalogs:
            module.build(wb)
    if CATALOG_ROWS in wb.sheetnames:       # filled by whichever sheets asked for catalog rows
        rows = wb[CATALOG_ROWS]
        last = get_column_letter(rows.max_column)
        rows.print_area = f"A1:{last}{rows.max_row}"
    order = [s for m in SHEETS for s in getattr(m, "TITLES", [])]
    wb._sheets.sort(key=lambda ws: order.index(ws.title) if ws.title in order else len(order))
    wb.active = 0
    protect(wb)
    wb.properties.creator = "Scalesheet"
    wb.properties.title = "Scalesheet planning workbook"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    # No full recalculation on load: the file carries the values computed at build time (build_bytes), which
    # a reader without the functions should see instead of #NAME?. Excel 365's calculation engine id, so
    # Excel does not treat the file as saved by an older version (which also forces a full recalculation).
    wb.calculation.fullCalcOnLoad = False
    wb.calculation.calcId = 191029
    return wb


EDITABLE = {"Models", "GPUs", "Precisions"}     # catalogs: a user adds and edits rows


def protect(wb) -> None:
    """Protect every sheet but the catalogs, without a password: formulas are locked, the orange inputs (unlocked)
    stay editable, and Review > Unprotect Sheet lifts it."""
    for ws in wb.worksheets:
        if ws.title in EDITABLE:
            continue
        ws.protection.sheet = True
        ws.protection.selectLockedCells = False
        ws.protection.selectUnlockedCells = False
        ws.protection.formatColumns = False      # False = allowed: widen a column to read a number
        ws.protection.formatRows = False


def build_bytes(cached: bool = True) -> bytes:
    """The workbook's bytes; with ``cached``, every formula carries the value the engine computes for it
    (what ``scalesheet recalc`` writes), so the file opens with numbers without the functions."""
    buf = io.BytesIO()
    build_workbook().save(buf)
    data = normalise(buf.getvalue())
    return normalise(with_cached_values(data)) if cached else data


def with_cached_values(data: bytes) -> bytes:
    import os
    import tempfile

    from . import engine, xlsxpatch
    from .sheets.start import BUILD_STATUS, STATUS_NAME

    fd, path = tempfile.mkstemp(suffix=".xlsx")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        values = engine.calculate(path)
    finally:
        os.unlink(path)
    status = _named_cell(data, STATUS_NAME)
    if status:
        values[status] = BUILD_STATUS       # computed by the engine as "Loaded"; a reader may have no functions
    out, _ = xlsxpatch.rewrite(data, values, freeze_udfs=False, drop_macros=False)
    return re.sub(rb'\s+fullCalcOnLoad="1"', b"", out)


def _named_cell(data: bytes, name: str):
    m = re.search(rb'<definedName name="' + name.encode() + rb'"[^>]*>([^<]+)</definedName>',
                  zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml"))
    if not m:
        return None
    sheet, ref = m.group(1).decode().rsplit("!", 1)
    return sheet.strip("'").replace("''", "'").upper(), ref.replace("$", "")


def normalise(data: bytes) -> bytes:
    """Fixed zip timestamps and document dates, so two builds give the same bytes."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, body)
    return out.getvalue()
