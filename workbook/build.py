"""Build the planning workbook: sheets in order, deterministic bytes (fixed timestamps, stable order)."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import re
import zipfile

from openpyxl import Workbook

from .sheets import (catalogs, cloud, cluster, methodology, phases, scenario, seed_check, sensitivity, start,
                     tiers, training_scale)

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)

# Order of the tabs a planner sees; catalogs are built first because the others refer to their names.
SHEETS = [start, scenario, tiers, training_scale, cluster, phases, sensitivity, cloud, seed_check, methodology,
          catalogs]
SHEETS.insert(SHEETS.index(cloud) + 1, importlib.import_module(".sheets.buy_rent_api", __package__))


def build_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    catalogs.build(wb)          # defines ModelNames, GPUNames, ... used by validations elsewhere
    for module in SHEETS:
        if module is not catalogs:
            module.build(wb)
    order = [s for m in SHEETS for s in getattr(m, "TITLES", [])]
    wb._sheets.sort(key=lambda ws: order.index(ws.title) if ws.title in order else len(order))
    wb.active = 0
    wb.properties.creator = "Scalesheet"
    wb.properties.title = "Scalesheet planning workbook"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.calculation.fullCalcOnLoad = True
    return wb


def build_bytes() -> bytes:
    buf = io.BytesIO()
    build_workbook().save(buf)
    return normalise(buf.getvalue())


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
