"""Models, GPUs and Precisions: the catalogs as Excel Tables with their sources, editable.

A user may add a row below a table and use it at once: the Scenario sheet reads the selected row's fields
into a two-row range (field names over values) that the functions accept as a model or GPU.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from udfs.core import catalog

from ..layout import HEADER_FILL, HEADER_FONT, SUBTITLE_FONT, TITLE_FONT, define

TITLES = ["Models", "GPUs", "Precisions"]
FIRST_ROW = 4        # header on row 3, data from row 4
LAST_ROW = 200       # named ranges reach this far so rows a user adds (up to ~150) are picked up


def _value(text: str):
    t = (text or "").strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        f = float(t)
    except ValueError:
        return t if t else None
    return int(f) if f.is_integer() and abs(f) < 2**53 and "." not in t and "e" not in t.lower() else f


def _table(wb, title: str, subtitle: str, rows: list[dict], prefix: str, widths: dict) -> None:
    ws = wb.create_sheet(title)
    ws.cell(1, 1, title).font = TITLE_FONT
    ws.cell(2, 1, subtitle).font = SUBTITLE_FONT
    columns = list(rows[0].keys())
    for j, name in enumerate(columns, start=1):
        c = ws.cell(3, j, name)
        c.fill, c.font = HEADER_FILL, HEADER_FONT
        ws.column_dimensions[get_column_letter(j)].width = widths.get(name, 12)
    for i, row in enumerate(rows, start=FIRST_ROW):
        for j, name in enumerate(columns, start=1):
            ws.cell(i, j, _value(row[name]))
    last_col = get_column_letter(len(columns))
    last = FIRST_ROW + len(rows) - 1
    table = Table(displayName=f"{prefix}Table", ref=f"A3:{last_col}{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "B4"
    define(wb, f"{prefix}Names", title, f"$A${FIRST_ROW}:$A${LAST_ROW}")
    define(wb, f"{prefix}Header", title, f"$A$3:${last_col}$3")
    define(wb, f"{prefix}Data", title, f"$A${FIRST_ROW}:${last_col}${LAST_ROW}")
    for j, name in enumerate(columns, start=1):  # one name per column: INDEX over one column is cheap
        letter = get_column_letter(j)
        define(wb, f"{prefix}_{name}", title, f"${letter}${FIRST_ROW}:${letter}${LAST_ROW}")
    ws.print_area = f"A1:{last_col}{last}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = max(1, len(columns) // 24)     # ~24 columns a page wide; rows run on
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"


def build(wb) -> None:
    _table(wb, "Models",
           "Architectures from official config.json files; official_params is the published count, kept only as a "
           "check (the functions compute parameters from the architecture). Add a row to use your own model.",
           catalog.model_table().rows, "Model",
           {"name": 18, "aliases": 28, "display_name": 22, "notes": 60, "params_source": 50, "config_source": 50})
    _table(wb, "GPUs",
           "Datasheet figures: memory_gib as sold (GiB), bandwidth_gb_s (GB/s = 1e9 B/s), dense tensor TFLOPS per "
           "precision (no sparsity), tdp_w (W), prices in USD with dates. Add a row to use another GPU.",
           catalog.gpu_table().rows, "GPU",
           {"name": 18, "aliases": 22, "display_name": 26, "source": 60, "notes": 60, "price_source": 40,
            "cloud_price_source": 40})
    _table(wb, "Precisions",
           "Number formats: effective bits per weight including scales (GGUF mixes as published by llama.cpp); "
           "embed_bits for embedding/output matrices left unquantized; compute = the GPU throughput column used.",
           catalog.precision_table().rows, "Precision",
           {"name": 12, "aliases": 20, "description": 60, "source": 60, "notes": 60})
    ws = wb["Precisions"]
    kv = [r["name"] for r in catalog.precision_table().rows if r.get("kv_ok", "").strip().lower() == "true"]
    col = ws.max_column + 2
    c = ws.cell(3, col, "KV-cache formats")
    c.fill, c.font = HEADER_FILL, HEADER_FONT
    ws.column_dimensions[get_column_letter(col)].width = 16
    for i, name in enumerate(kv, start=FIRST_ROW):
        ws.cell(i, col, name)
    letter = get_column_letter(col)
    define(wb, "KVPrecisionNames", "Precisions", f"${letter}${FIRST_ROW}:${letter}${FIRST_ROW + len(kv) - 1}")
