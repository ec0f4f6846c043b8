"""Start: what the workbook answers, how to enable the functions, the colour legend, version and sources."""

from __future__ import annotations

import udfs

from ..layout import Writer, style_calc, style_input

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
    for name, what in SHEETS:
        w.text(name, what, bold=True)
    w.section("Enable the functions (xlwings, Windows Excel)")
    for i, step in enumerate([
        "Install Python and this package (pip install scalesheet from the project folder), then run: xlwings addin install",
        "Open this workbook and save it as a macro-enabled workbook (.xlsm).",
        "In the xlwings ribbon tab, set UDF Modules to: udfs",
        "Click Import Functions. The Scalesheet functions (LLM_*, GPU_SPEC, PLAN_*) appear in the function wizard.",
        "Press Ctrl+Alt+F9 to recalculate. Until then, cells calling the functions show #NAME?.",
    ], start=1):
        w.text(f"Step {i}", step)
    w.section("xlwings Lite (Excel 365 add-in, no local Python)")
    w.text("Lite", "Build the Lite wheel (python -m udfs.lite dist), add it to Lite's requirements.txt and "
                   "import the functions in main.py, as docs/lite.md describes; the same functions load unchanged.")
    w.section("Sharing with people without Python")
    w.text("scalesheet share", "Run: scalesheet share Scalesheet.xlsx -o Shared.xlsx. The copy has every function "
                               "call replaced by its value and keeps native formulas live, so it works in Excel, "
                               "LibreOffice and Google Sheets with no #NAME? errors.")
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
