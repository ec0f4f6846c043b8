"""Start: what the workbook answers, how to enable the functions, the colour legend, version and sources."""

from __future__ import annotations

import udfs

from openpyxl.styles import Alignment, Font
from openpyxl.utils import quote_sheetname

from .. import live
from ..layout import Writer, define, style_calc, style_input

TITLES = ["Start"]

SHEETS = [
    ("Scenario", "One model x precision x context x batch x GPU: memory, GPUs needed, speed, cost, training."),
    ("Hardware tiers", "Seed 002's five configurations from Learning to Massive: memory and the cheapest GPU."),
    ("Training scale", "Seed 003's Tiny to XL: Chinchilla tokens, A100 GPU-hours, memory, training and serving cost."),
    ("Cluster sizing", "Seed 001: a 120B model at 2-bit on one H100 at 8k-128k context; a 1T model on N x H100."),
    ("Phase plan & ROI", "Seed 000: RTX 2080 Super to 4 x H200, cash flow by month, ROI on profit, payback."),
    ("Sensitivity", "Seed 002: what doubling each dimension does to memory; +/-25 % tornado."),
    ("Cloud vs owned", "Seed 002: break-even GPU-hours and months of renting vs buying, power included."),
    ("Seed check", "Each claim of the five planning documents, our figure, the ratio and a verdict."),
    ("Methodology", "Every formula, default and source."),
    ("Models, GPUs, Precisions", "The catalogs, with sources; add a row to use your own model or GPU."),
]


STATUS_NAME = "functions_status"
# Volatile (NOW) so Excel re-evaluates it when the file opens, whatever the cached values say.
STATUS_FORMULA = ('=IF(ISERROR(LLM_PARAMS("gpt2")+0*NOW()),"NOT loaded: the numbers shown are those computed '
                  'when the file was built; edits will show #NAME? (see the steps below)",'
                  '"Loaded: every number recomputes when you change an input")')
BUILD_STATUS = ("Not checked yet: the numbers shown were computed when the file was built; Excel with the "
                "functions loaded rechecks this cell when the file opens")

CLASSIC_STEPS = [
    "Install Python 3.10+ and this package: pip install scalesheet (or pip install . in the project folder).",
    "Run: xlwings addin install   (adds the xlwings tab to Excel's ribbon).",
    "In Excel: File > Options > Trust Center > Trust Center Settings > Macro Settings: tick 'Trust access to the "
    "VBA project object model' (xlwings writes the function wrappers into the workbook's VBA project).",
    "Save this workbook as a macro-enabled workbook (.xlsm) and reopen it.",
    "Press Alt+F11 (VBA editor) > Tools > References: tick 'xlwings', OK (the wrappers call it).",
    "In the xlwings ribbon tab, set UDF Modules to: udfs",
    "Click Import Functions. The Scalesheet functions (LLM_*, GPU_SPEC, PLAN_*) appear in the function wizard.",
    "Press Ctrl+Alt+F9 to recalculate everything; the status cell above then says Loaded.",
    "Excel 2016/2019 (no dynamic arrays): a function given a range returns an array; select the output range, "
    "type the formula and press Ctrl+Shift+Enter. Excel 365 spills the array by itself.",
]
LITE_STEPS = [
    "Install xlwings Lite from the Office add-in store (Home > Add-ins) and open its task pane.",
    "In the requirements.txt tab add the line: scalesheet-udfs (or the wheel's https URL, see docs/lite.md).",
    "In the main.py tab write: from udfs import *   then click Restart. The functions appear at once.",
    "In Lite a blank cell may arrive as 0 and a date as its serial number: leave optional arguments out "
    "rather than pointing them at blank cells (docs/lite.md).",
]


def build(wb) -> None:
    w = Writer(wb, "Start", widths={"A": 30, "B": 110})
    w.heading("Scalesheet: LLM capacity and cost planning",
              f"Version {udfs.__version__}. Memory in GiB (2^30 bytes), bandwidth in GB/s (10^9 B/s), time in "
              "seconds, throughput in tokens/s, money in USD unless you enter other prices.")
    w.section("What this workbook answers")
    w.paragraph("How much GPU memory a large language model needs (weights at any precision, KV cache, activations, "
                "training states under ZeRO), how many GPUs it takes, how fast it answers (time to first token, "
                "tokens per second), what it costs per million tokens and to train, and when buying beats renting.",
                2, 48)
    w.section("Are the functions loaded?")
    status = w.ws.cell(w.row, 2, STATUS_FORMULA)
    style_calc(status, output=True)
    status.alignment = Alignment(wrap_text=True, vertical="top")
    w.fit_height(max(BUILD_STATUS, live.SHARED_STATUS, key=len), "B")
    w.ws.cell(w.row, 1, "Status").font = Font(bold=True)
    define(wb, STATUS_NAME, w.title, f"$B${w.row}")
    w.row += 1
    w.text("Cached numbers", "Every number in this file was computed when it was built (scalesheet build, the "
                             "same engine as scalesheet recalc) and is stored with it, so the file opens with "
                             "numbers. Without the functions, a cell that calls them shows #NAME? once an input "
                             "it depends on changes.")
    w.section("Sheets (click a name to go there)")
    for name, what in SHEETS:
        target = name.split(",")[0]
        w.text(name, what, bold=True)
        link = w.ws.cell(w.row - 1, 1)
        link.hyperlink = f"#{quote_sheetname(target)}!A1"
        link.font = Font(bold=True, color="0563C1", underline="single")
    w.section("Enable the functions: xlwings classic add-in (Windows Excel 2016 or later)")
    for i, step in enumerate(CLASSIC_STEPS, start=1):
        w.text(f"Step {i}", step)
    w.section("Or: xlwings Lite (Excel 365 add-in, Windows, Mac, web; no local Python)")
    for i, step in enumerate(LITE_STEPS, start=1):
        w.text(f"Lite {i}", step)
    w.section("Sharing with people without Python")
    w.text("scalesheet share", "Run: scalesheet share Scalesheet.xlsx -o Shared.xlsx. In the copy every function "
                               "call becomes a native formula (Excel, LibreOffice, Google Sheets; no Python): "
                               "live where the arithmetic is simple (ROI, payback, break-even, Chinchilla tokens), "
                               "else the value at share time, shown only while the inputs it depends on are "
                               "unchanged. Change one of those and the cell reads '#frozen: ...': open the "
                               "original with the functions, or run scalesheet recalc, for the new figure.")
    w.section("Colour legend")
    legend = [("Input", "Change these: your assumptions (orange, unlocked).", style_input),
              ("Calculation", "Formulas: workings.", lambda c: style_calc(c)),
              ("Output", "Formulas: the answers.", lambda c: style_calc(c, output=True))]
    for label, meaning, styler in legend:
        c = w.ws.cell(w.row, 1, label)
        styler(c)
        w.ws.cell(w.row, 2, meaning)
        w.row += 1
    c = w.ws.cell(w.row, 1, "Note")
    c.style = "Note"
    w.ws.cell(w.row, 2, "Engine defaults and reference figures (read-only here; see Methodology).")
    w.row += 1
    w.section("Where the numbers come from")
    w.paragraph("Model architectures: official config.json files (Models sheet, config_source). GPU figures: vendor "
                "datasheets (GPUs sheet, source). Formulas: Kaplan et al. 2020, Hoffmann et al. 2022 (Chinchilla), "
                "Chowdhery et al. 2022 (PaLM MFU), Rajbhandari et al. 2020 (ZeRO), Korthikanti et al. 2022 "
                "(activations), Pope et al. 2022 (inference). Every default and its source: Methodology sheet.", 2, 62)
    w.finish()
