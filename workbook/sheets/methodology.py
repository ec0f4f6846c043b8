"""Methodology (seed 004): every formula, assumption and default, with sources.

The engine defaults are listed from udfs/core/data/assumptions.csv and given defined names (eng_*), so the
few native formulas that need them (headroom, days) use the same numbers as the functions. The formula
text is each core module's docstring: one source, so the sheet cannot drift from the code.
"""

from __future__ import annotations

import inspect

from openpyxl.styles import Alignment

from udfs.core import catalog, economics, flops, memory, params, sizing, speed, training

from ..layout import GENERAL, Writer, define

TITLES = ["Methodology"]
CALENDAR = [
    ("hours_per_day", 24, "hours", "Hours in a day", "Calendar"),
    ("bytes_per_gib", 2**30, "bytes", "One GiB (IEC binary prefix)", "IEC 80000-13"),
    ("bytes_per_gb", 10**9, "bytes", "One GB (SI prefix), as GPU bandwidth and vendor 'GB' use", "SI"),
    ("bytes_per_kb", 10**3, "bytes", "One kB (SI prefix)", "SI"),
    ("watts_per_kw", 1000, "W", "One kW (SI prefix)", "SI"),
    ("months_per_year", 12, "months", "Months in a year", "Calendar"),
]


def build(wb) -> None:
    w = Writer(wb, "Methodology", widths={"A": 34, "B": 14, "C": 20, "D": 70, "E": 90})
    w.heading("Methodology: formulas, defaults and sources",
              "How every number is computed. Change an engine default in udfs/core/data/assumptions.csv (the "
              "functions read it there); the cells below show the values in force.")
    w.section("Engine defaults")
    w.header(["Name", "Value", "Unit", "Meaning", "Source"])
    for r in catalog.assumption_rows() + [dict(zip(["name", "value", "unit", "description", "source"], c))
                                          for c in CALENDAR]:
        ws = w.ws
        ws.cell(w.row, 1, r["name"])
        v = ws.cell(w.row, 2, float(r["value"]))
        v.style = "Note"
        v.number_format = GENERAL
        ws.cell(w.row, 3, r["unit"])
        ws.cell(w.row, 4, r["description"]).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(w.row, 5, r["source"]).alignment = Alignment(wrap_text=True, vertical="top")
        lines = max(1 + len(r["description"]) // 68, 1 + len(r["source"]) // 88)
        ws.row_dimensions[w.row].height = 13 * lines + 3
        define(wb, f"eng_{r['name']}", w.title, f"$B${w.row}")
        w.row += 1
    w.section("Formulas (from the calculation core; each module's documentation)")
    for module in [params, memory, flops, training, speed, sizing, economics]:
        w.header([module.__name__.split(".")[-1], "", "", "", ""])
        for para in inspect.getdoc(module).split("\n\n"):
            c = w.ws.cell(w.row, 1, para)
            c.alignment = Alignment(wrap_text=True, vertical="top")
            w.ws.merge_cells(start_row=w.row, start_column=1, end_row=w.row, end_column=5)
            lines = sum(1 + len(line) // 180 for line in para.splitlines())
            w.ws.row_dimensions[w.row].height = 15 * lines + 4
            w.row += 1
    w.finish()
