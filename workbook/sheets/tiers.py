"""Hardware tiers (seed 002): Learning -> Startup MVP -> Production -> Research -> Massive.

Each configuration is a two-row model range (field names over values) with its answers beside it:
parameters, inference and training memory, the cheapest catalog GPU that holds each, and the seed's
claimed figure next to ours. The seed names vocabulary, width, heads and layers only; the MLP width
(4 x d_model, GPT-2 style), LayerNorm, GELU and the context are stated assumptions (inputs).
"""

from __future__ import annotations

from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from ..layout import (COUNT, GIB, RATIO, SUBTITLE_FONT, Writer, card, list_validation, number_validation,
                      style_calc)

TITLES = ["Hardware tiers"]

# (tier, vocab, d_model, heads, layers, seed's VRAM claim low, high (GB), seed's GPU options)
TIERS = [
    ("Learning", 1000, 128, 4, 2, 1, 2, "RTX 3060, RTX 4060, GTX 1080 ($200-400)"),
    ("Startup MVP", 5000, 256, 8, 4, 4, 6, "RTX 3070, RTX 4070 ($400-600)"),
    ("Production", 15000, 512, 8, 6, 12, 16, "RTX 3090, RTX 4080, V100 ($800-1500)"),
    ("Research", 50000, 1024, 16, 12, 32, 80, "A100, H100 ($5000-15000)"),
    ("Massive", 100000, 2048, 32, 24, 30.9, 30.9, "A100/H100 required ($10K+)"),
]


def build(wb) -> None:
    widths = {c: 11 for c in "BCDEFGHI"} | {c: 16 for c in "JKLMNOPQRS"}   # J..L: the card's answers
    w = Writer(wb, "Hardware tiers", widths={"A": 22, **widths})
    w.heading("Hardware tiers (seed 002): memory and the cheapest GPU per configuration",
              "Seed configurations with the assumptions the seed left out as inputs. Memory in GiB; the seed's "
              "claims are in GB (10^9 bytes) as written. Cheapest = lowest catalog purchase price (GPUs sheet).")
    w.header(["Assumption", "Value", "Unit", "Note"])
    w.input("Context length", "tier_context", 2048, "tokens", "Seed 003's baseline context (seed 002 gives none)",
            COUNT, number_validation(1, 10_000_000, "Context", whole=True))
    w.input("Inference batch", "tier_batch", 1, "sequences", "One request at a time",
            COUNT, number_validation(1, 100_000, "Batch", whole=True))
    w.input("Inference precision", "tier_precision", "bf16", "format", "Weights and activations in 16 bits",
            validation=list_validation("PrecisionNames", "precision"))
    w.input("Training micro-batch", "tier_train_batch", 8, "sequences", "Per GPU per step",
            COUNT, number_validation(1, 100_000, "Micro-batch", whole=True))
    w.input("Training precision", "tier_train_precision", "bf16", "format", "Mixed-precision AdamW (16 bytes/param)",
            validation=list_validation("PrecisionNames", "precision"))
    w.section("Configurations")
    searches = []          # (cheapest-GPU cell, the memory it must hold, label): filled natively below
    for tier, vocab, d, heads, layers, lo, hi, options in TIERS:
        fields = {"n_layers": layers, "d_model": d, "n_heads": heads, "vocab_size": vocab, "d_ff": 4 * d,
                  "ffn_type": "gelu", "norm_type": "layernorm", "max_context": 2048}
        refs = card(w, tier, fields, [
            ("Parameters (count)", "=LLM_PARAMS({model})", COUNT),
            ("Inference (GiB)", "=LLM_INFER_VRAM_GIB({model},tier_precision,tier_context,tier_batch)", GIB, "output"),
            ("Training per GPU (GiB)",
             "=LLM_TRAIN_VRAM_GIB({model},tier_train_precision,tier_context,tier_train_batch)", GIB, "output"),
        ])
        inf, trn = refs["Inference (GiB)"], refs["Training per GPU (GiB)"]
        w.row -= 3  # continue the card's rows to the right
        hdr, val = w.row, w.row + 1
        start = 13
        searches += [(f"{get_column_letter(start)}{val}", inf, f"{tier} inference"),
                     (f"{get_column_letter(start + 1)}{val}", trn, f"{tier} training")]
        extra = [
            ("Cheapest GPU, inference", None, None),
            ("Cheapest GPU, training", None, None),
            ("Seed's VRAM claim, low (GB)", lo, "claim"),
            ("Seed's VRAM claim, high (GB)", hi, "claim"),
            ("Our training memory (GB)", f"={trn}*eng_bytes_per_gib/eng_bytes_per_gb", GIB),
            ("Seed high / ours", f"=P{val}/Q{val}", RATIO),
        ]
        from ..layout import HEADER_FILL, HEADER_FONT, style_calc
        from openpyxl.styles import Alignment
        for k, (header, value, fmt) in enumerate(extra):
            h = w.ws.cell(hdr, start + k, header)
            h.fill, h.font = HEADER_FILL, HEADER_FONT
            h.alignment = Alignment(wrap_text=True, vertical="center")
            c = w.ws.cell(val, start + k, value)
            if fmt == "claim":
                c.style = "Note"
                c.number_format = "#,##0.0"
            else:
                style_calc(c, fmt or "General")
        w.ws.cell(val + 1, 1, f"Seed's GPU options: {options}").font = SUBTITLE_FONT
        w.row += 3
    w.section("Reading the table")
    w.paragraph("The seed's formula (vocab x d_model + layers x heads x d_model^2) multiplies by the head count and "
                "leaves out the MLP; a real layer has about 12 x d_model^2 weights whatever the head count. Tiny "
                "models are dominated by the 1 GiB runtime overhead (Methodology), so their inference need is "
                "about 1 GiB. See the Seed check sheet and docs/seed-corrections.md.", 12, 45)
    w.freeze("A4")
    w.finish()
    _cheapest_workings(w, searches)


def _cheapest_workings(w: Writer, searches: list[tuple[str, str, str]]) -> None:
    """The cheapest GPU of each configuration as native formulas over the GPUs sheet, so a price, a memory
    size or a GPU row a user edits or adds reaches the answer (in the template and in a shared copy).

    One workings column per search, one row per GPUs-sheet row (to the catalogs' last named row): the
    row's purchase price where its memory less the runtime overhead holds the need, else blank (and the need
    itself where that is a refusal or an error, so no workings cell reads as an answer then). The answer
    is the first row with the lowest price, as ``LLM_CHEAPEST_GPU(need)`` (udfs/core/sizing.cheapest_gpu:
    one GPU, price_usd, the catalog's order) picks it; a refusal of the memory formula passes through."""
    from ..layout import LAST_DATA_ROW, FIRST_DATA_ROW
    from openpyxl.styles import Font

    ws = w.ws
    top, first_col = 5, 21                       # column U, right of the printed area
    ws.cell(top - 2, first_col, "Workings for the cheapest GPU: purchase price (USD) of each GPUs-sheet row "
                                "whose memory less the runtime overhead holds the configuration's memory; blank "
                                "otherwise").font = Font(italic=True)
    n = LAST_DATA_ROW - FIRST_DATA_ROW + 1
    for k, (target, need, label) in enumerate(searches):
        col = get_column_letter(first_col + k)
        h = ws.cell(top - 1, first_col + k, label)
        h.font = Font(bold=True)
        h.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[col].width = 12
        for i in range(n):
            src = FIRST_DATA_ROW + i
            mem, price = _gpu_cell("memory_gib", src), _gpu_cell("price_usd", src)
            c = ws.cell(top + i, first_col + k,
                        f'=IF(ISNUMBER({need}),IF(AND(ISNUMBER({mem}),ISNUMBER({price})),'
                        f'IF(AND({price}>0,{mem}-eng_runtime_overhead_gib>={need}),{price},""),""),{need})')
            style_calc(c, "#,##0")
        rng = f"${col}${top}:${col}${top + n - 1}"
        style_calc(ws[target], "General")
        ws[target] = (f'=IF(ISNUMBER({need}),IF(COUNT({rng})=0,"{NONE_FITS}",INDEX(GPUNames,MATCH(MIN({rng}),'
                      f'{rng},0))),{need})')


NONE_FITS = ("#required_gib: no catalog GPU with a price holds that much memory on that many GPUs; raise gpus")


def _gpu_cell(field_name: str, row: int) -> str:
    """The GPUs sheet's cell of one field on one row (the column found from the catalog's field order)."""
    from udfs.core import catalog

    col = list(catalog.gpu_table().rows[0].keys()).index(field_name) + 1
    return f"GPUs!${get_column_letter(col)}{row}"     # row relative: the column is one formula copied down
