"""Seed check: each claim of the five planning documents, our figure (a live formula), the ratio, a verdict.

Rows come from workbook/seed_claims.csv (claim, claimed value and unit, the Excel formula that computes our
figure in the same unit, verdict, explanation); the reasoning is in docs/seed-corrections.md.
"""

from __future__ import annotations

import csv
import os
import re

from openpyxl.styles import Alignment

from ..layout import (HEADER_FILL, HEADER_FONT, RATIO, Writer, catalog_row, gpu_field, ratio_or_blank,
                      style_calc)

TITLES = ["Seed check"]
CLAIMS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "seed_claims.csv")


def claims() -> list[dict]:
    if not os.path.exists(CLAIMS):
        return []
    with open(CLAIMS, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


_LITERAL = re.compile(r'"((?:[^"]|"")*)"')


def catalog_rows_for_names(wb, formula: str) -> str:
    """The formula with each quoted catalog GPU or model name replaced by that catalog row (a two-row block on
    the Catalog rows sheet read live from the GPUs / Models sheets), so an edit of the row reaches the
    figure. Other text (precisions, choices) stays as written."""
    from udfs.core import catalog
    from udfs.core.errors import ScalesheetError

    def swap(m):
        text = m.group(1)
        if m.string.startswith(",GPUNames", m.end()):       # the key of a native lookup
            return m.group(0)
        for kind, row_of in (("gpu", catalog.gpu_row), ("model", catalog.model_row)):
            try:
                name = row_of(text)["name"]
            except ScalesheetError:
                continue
            return catalog_row(wb, kind, '"' + name + '"')
        return m.group(0)

    def native_spec(m):            # GPU_SPEC("name","field") is a lookup on the GPUs sheet: native
        try:
            name = catalog.gpu_row(m.group(1).replace('""', '"'))["name"]
        except ScalesheetError:
            return m.group(0)
        return gpu_field(f'"{name}"', m.group(2))

    # GPU_SPEC alone is a lookup: native. Beside another function call it reads the catalog row instead, so a
    # shared copy can guard the cell on that row's sentinel (a native lookup would make the cell depend on
    # whole catalog columns, too many cells to guard).
    if not _OTHER_CALL.search(_GPU_SPEC.sub("", formula)):
        formula = _GPU_SPEC.sub(native_spec, formula)
    return _LITERAL.sub(swap, formula)


_OTHER_CALL = re.compile(r"(?<![A-Z0-9_])(?:LLM|PLAN|GPU)_[A-Z0-9_]+\(")
_GPU_SPEC = re.compile(r'GPU_SPEC\("((?:[^"]|"")*)","([a-z0-9_]+)"\)')


def build(wb) -> None:
    w = Writer(wb, "Seed check", widths={"A": 10, "B": 6, "C": 36, "D": 18, "E": 14, "F": 18, "G": 20, "H": 11,
                                         "I": 24, "J": 80})
    w.heading("Seed check: the planning documents' claims against our figures",
              "Ratio = claimed / ours (1.00x = agrees). Our figure is a live formula in the claim's unit. "
              "Reasoning: docs/seed-corrections.md.")
    cols = ["#", "Seed", "Claim", "Claimed", "Unit", "Our figure", "Unit", "Claimed / ours", "Verdict", "Why"]
    for j, name in enumerate(cols, start=1):
        c = w.ws.cell(w.row, j, name)
        c.fill, c.font = HEADER_FILL, HEADER_FONT
    w.row += 1
    rows = claims()
    if not rows:
        w.text("No claims file (workbook/seed_claims.csv) was found when this workbook was built.")
    for r in rows:
        i = w.row
        w.ws.cell(i, 1, r.get("id"))
        w.ws.cell(i, 2, r.get("seed_file", "")[:3])
        w.ws.cell(i, 3, r.get("claim")).alignment = Alignment(wrap_text=True, vertical="top")
        try:
            claimed = float(r.get("claimed_value"))
        except (TypeError, ValueError):
            claimed = r.get("claimed_value")
        c = w.ws.cell(i, 4, claimed)
        c.style = "Note"
        c.number_format = "General"
        w.ws.cell(i, 5, r.get("claimed_unit"))
        formula = catalog_rows_for_names(wb, (r.get("excel_formula") or "").strip())
        style_calc(w.ws.cell(i, 6, formula if formula.startswith("=") else None), "General", output=True)
        w.ws.cell(i, 7, r.get("our_unit"))
        style_calc(w.ws.cell(i, 8, ratio_or_blank(f"D{i}", f"F{i}")), RATIO)
        w.ws.cell(i, 9, r.get("verdict")).alignment = Alignment(wrap_text=True, vertical="top")
        w.ws.cell(i, 10, r.get("explanation")).alignment = Alignment(wrap_text=True, vertical="top")
        w.ws.row_dimensions[i].height = max(30, 15 * (1 + len(r.get("explanation") or "") // 95))
        w.row += 1
    w.freeze("A4")
    w.finish()
