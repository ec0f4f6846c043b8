"""Sensitivity (seed 002): what doubling each dimension does to memory, and a +/-25 % tornado.

The base is the seed's "Production (nib scale)" configuration as a card (a two-row range of field names
over values that the functions take as a model). Each variant is another card whose values are formulas
on the base card (Calculation style), so changing the base moves every variant. The seed's claimed ratios
sit beside ours with a verdict.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from ..layout import (CHECKPOINTING_CHOICES, choice_validation, COUNT, GIB, PCT, RATIO, SUBTITLE_FONT, Writer, card, define, list_validation,
                      number_validation, style_calc, style_input, validate)

TITLES = ["Sensitivity"]
TITLE = TITLES[0]
GIB3 = "#,##0.000"        # small models: a GiB to three decimals (about 1 MiB)
PARAMS = '[>=1000000000]#,##0.0,,,"B";[>=1000000]#,##0.0,,"M";#,##0'
HEADER_HEIGHT = 58        # four wrapped lines
PRINT_LAST_COL = 15       # O: the verdict column
FIELDS = ["vocab_size", "d_model", "n_heads", "n_layers", "d_ff"]


def _fix_card(w: Writer, out: dict, fields: dict, names: dict | None = None) -> None:
    """card() styles every field as an input: formulas become Calculation cells; literal inputs get a validation
    and a defined name (``names``: field -> (defined name, validation))."""
    hdr = int(out["model"].split("$")[2].rstrip(":"))
    val = hdr + 1
    for j, (k, v) in enumerate(fields.items(), start=2):
        c = w.ws.cell(val, j)
        if isinstance(v, str) and v.startswith("="):
            style_calc(c, COUNT)
        else:
            style_input(c, COUNT)
            name, dv = names[k]
            validate(w.ws, dv, c.coordinate)
            define(w.wb, name, w.title, f"${get_column_letter(j)}${val}")


def _results(base: dict | None = None) -> list[tuple]:
    """Result columns of a card; ratios refer to the base card's results."""
    infer = "=LLM_INFER_VRAM_GIB({model},sn_precision,sn_context,sn_batch,sn_kv_precision)"
    train = ("=LLM_TRAIN_VRAM_GIB({model},sn_train_precision,sn_context,sn_micro_batch,sn_train_gpus,sn_zero,"
             "sn_ckpt)")
    rows = [("Parameters", "=LLM_PARAMS({model})", PARAMS),
            ("Inference memory (GiB)", infer, GIB3),
            ("Model memory, no overhead (GiB)", infer + "-eng_runtime_overhead_gib", GIB3),
            ("Training memory per GPU (GiB)", train, GIB3)]
    return rows


RATIOS = [("Parameters", "Parameters ratio"),
          ("Model memory, no overhead (GiB)", "Model memory ratio"),
          ("Training memory per GPU (GiB)", "Training memory ratio")]


def _ratio_cols(w: Writer, out: dict, base: dict, col: int) -> dict:
    """Ratio-to-base cells for the results that move, written right of the card; returns their refs."""
    hdr = int(out["model"].split("$")[2].rstrip(":"))
    refs = {}
    for key, label in RATIOS:
        _header_cell(w, hdr, col, label)
        c = w.ws.cell(hdr + 1, col, f"={out[key]}/{base[key]}")
        style_calc(c, RATIO, output=(label == "Training memory ratio"))
        refs[label] = c.coordinate
        col += 1
    w.ws.row_dimensions[hdr].height = HEADER_HEIGHT
    return refs


def _hdr_style():
    from ..layout import HEADER_FILL, HEADER_FONT
    return HEADER_FONT, HEADER_FILL


def _header_cell(w: Writer, row: int, col: int, text: str) -> None:
    from openpyxl.styles import Alignment
    h = w.ws.cell(row, col, text)
    h.font, h.fill = _hdr_style()
    h.alignment = Alignment(wrap_text=True, vertical="center")


def build(wb) -> None:
    widths = {"A": 40, "B": 10, "C": 15, "D": 9, "E": 9, "F": 9}
    widths.update({get_column_letter(c): 12 for c in range(7, PRINT_LAST_COL + 1)})
    widths[get_column_letter(PRINT_LAST_COL)] = 17
    w = Writer(wb, TITLE, widths=widths)
    w.heading("Sensitivity: what each dimension does to memory (seed 002)",
              "Orange cells are inputs; grey-bordered cells are formulas. Memory in GiB (2^30 bytes); the seed "
              "writes GB (10^9 bytes), converted where compared.")

    w.section("Assumptions")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("Context per sequence", "sn_context", 2048, "tokens",
            "The seed states neither context nor d_ff; 2048 is assumed here", COUNT,
            number_validation(1, 10_000_000, "Context", whole=True))
    w.input("FFN width multiple (d_ff / d_model)", "sn_ffn_mult", 4, "x d_model",
            "Assumed: the classic 4 x d_model (the seed does not say)", COUNT,
            number_validation(1, 64, "FFN multiple"))
    w.input("Weight precision (inference)", "sn_precision", "bf16", "format", "16-bit weights",
            validation=list_validation("PrecisionNames", "precision"))
    w.input("KV-cache precision", "sn_kv_precision", "fp16", "format", "16-bit KV cache",
            validation=list_validation("KVPrecisionNames", "KV-cache format"))
    w.input("Concurrent sequences (inference)", "sn_batch", 1, "sequences", "One sequence, as the seed's examples",
            COUNT, number_validation(1, 100_000, "Batch", whole=True))
    w.input("Training precision", "sn_train_precision", "bf16", "format", "Mixed precision AdamW (16 bytes/param)",
            validation=list_validation("PrecisionNames", "precision"))
    w.input("Training micro-batch per GPU", "sn_micro_batch", 1, "sequences", "Sequences of the context length",
            COUNT, number_validation(1, 100_000, "Micro-batch", whole=True))
    w.input("Training GPUs", "sn_train_gpus", 1, "GPUs", "One GPU, as the seed's tiers", COUNT,
            number_validation(1, 1_000_000, "GPUs", whole=True))
    w.input("ZeRO stage", "sn_zero", 0, "0-3", "0 = no sharding (one GPU)", COUNT,
            number_validation(0, 3, "ZeRO stage", whole=True))
    w.input("Activation checkpointing", "sn_ckpt", "none", "none/selective/full", "none keeps all activations",
            validation=choice_validation(CHECKPOINTING_CHOICES, "Checkpointing"))
    w.input("Doubling factor", "sn_double", 2, "x", "The seed doubles each dimension", COUNT,
            number_validation(1, 100, "Factor"))
    w.input("Tolerance for 'about right'", "sn_tolerance", 0.1, "fraction", "Seed ratio within this of ours", PCT,
            number_validation(0, 10, "Tolerance"))

    # ------------------------------------------------------------------ base and doubled cards
    w.section("Doubling each dimension (seed 002, 'The Scaling Bottlenecks')")
    w.ws.cell(w.row, 1, "Each card is a model: field names over values (the functions read the two rows). "
                        "Variant values are formulas on the base card.").font = SUBTITLE_FONT
    w.row += 1
    base_fields = {"vocab_size": 15000, "d_model": 512, "n_heads": 8, "n_layers": 6, "d_ff": None}
    # d_ff refers to the d_model cell of the same card (column C of its value row).
    val_row = w.row + 1
    base_fields["d_ff"] = f"=sn_ffn_mult*C{val_row}"
    base = card(w, "Base: seed's Production (nib scale)", base_fields, _results())
    _fix_card(w, base, base_fields, {
        "vocab_size": ("sn_vocab", number_validation(1, 10_000_000, "vocab_size", whole=True)),
        "d_model": ("sn_d_model", number_validation(1, 1_000_000, "d_model", whole=True)),
        "n_heads": ("sn_n_heads", number_validation(1, 10_000, "n_heads", whole=True)),
        "n_layers": ("sn_n_layers", number_validation(1, 10_000, "n_layers", whole=True))})
    define(wb, "sn_base", w.title, base["model"])
    ratio_col = 2 + len(FIELDS) + len(_results())
    _ratio_cols(w, base, base, ratio_col)

    seed_ratios = {"vocab_size": 1.1, "n_heads": 1.7, "n_layers": 1.9, "d_model": 1.6}
    why = {"vocab_size": "Embedding and output matrices grow (2 x vocab x d_model, untied)",
           "n_heads": "No parameter changes: head_dim halves (d_model / n_heads); the seed says 1.7x",
           "n_layers": "Every layer's weights, KV cache and activations double; embeddings do not",
           "d_model": "Layer weights grow 4x (d_model^2), embeddings 2x: parameters about 3x"}
    seed_col = ratio_col + len(RATIOS)
    verdicts = []
    for dim in ["vocab_size", "n_heads", "n_layers", "d_model"]:
        val_row = w.row + 1
        fields = {}
        for j, k in enumerate(FIELDS, start=2):
            base_cell = f"${get_column_letter(j)}${int(base['model'].split('$')[2].rstrip(':')) + 1}"
            fields[k] = f"=sn_double*{base_cell}" if k == dim else f"={base_cell}"
        fields["d_ff"] = f"=sn_ffn_mult*C{val_row}"
        out = card(w, f"{dim} x 2", fields, _results())
        _fix_card(w, out, fields)
        ratios = _ratio_cols(w, out, base, ratio_col)
        hdr = val_row - 1
        _header_cell(w, hdr, seed_col, "Seed's claimed ratio")
        s = w.ws.cell(val_row, seed_col, seed_ratios[dim])
        style_input(s, RATIO)
        validate(w.ws, number_validation(0, 1000, "Seed ratio"), s.coordinate)
        define(wb, f"sn_seed_ratio_{dim}", w.title, f"${get_column_letter(seed_col)}${val_row}")
        _header_cell(w, hdr, seed_col + 1, "Verdict (training memory)")
        ours = ratios["Training memory ratio"]
        v = w.ws.cell(val_row, seed_col + 1,
                      f'=IF(ABS({s.coordinate}/{ours}-1)<=sn_tolerance,"seed about right",'
                      f'IF({s.coordinate}>{ours},"seed overstates","seed understates"))')
        style_calc(v, "General", output=True)
        verdicts.append(v.coordinate)
        w.ws.cell(val_row + 1, 2, "Why: " + why[dim]).font = SUBTITLE_FONT
    w.paragraph("Key truth: doubling n_heads at a fixed d_model changes no parameter and no KV cache, because "
                "head_dim = d_model / n_heads halves; the seed's 1.7x is wrong. Doubling d_model roughly triples "
                "the parameters of this small model (layers grow as d_model^2, the 15K x 512 embeddings only "
                "linearly). Memory ratios are smaller than parameter ratios here because the fixed 1 GiB runtime "
                "overhead and the activations dominate a 34M-parameter model.", PRINT_LAST_COL, 45)

    # ------------------------------------------------------------------ the seed's absolute figures
    w.section("The seed's memory figures for the Production config, beside ours")
    hdr = w.header(["Seed's claim", "Seed", "Ours", "Ours / seed", "Unit", "Note"])
    w.ws.row_dimensions[hdr].height = 30
    ws = w.ws
    claims = [("Calculator: 'VRAM needed (with training)'", "sn_seed_calc_train", 2.2,
               "Training memory per GPU (GiB)"),
              ("nib production: inference", "sn_seed_nib_infer", 3, "Inference memory (GiB)"),
              ("nib production: training", "sn_seed_nib_train", 9, "Training memory per GPU (GiB)"),
              ("GPU tier 'Production': low end", "sn_seed_tier", 12, "Training memory per GPU (GiB)")]
    for label, name, value, key in claims:
        r = w.row
        ws.cell(r, 1, label)
        c = ws.cell(r, 2, value)
        style_input(c, "#,##0.0")
        validate(ws, number_validation(0, 1e6, "Seed GB"), c.coordinate)
        define(wb, name, w.title, f"$B${r}")
        style_calc(ws.cell(r, 3, f"={base[key]}*eng_bytes_per_gib/eng_bytes_per_gb"), "#,##0.00")
        style_calc(ws.cell(r, 4, f"=C{r}/B{r}"), RATIO)
        ws.cell(r, 5, "GB")
        ws.cell(r, 6, f"Ours: {key.replace(' (GiB)', '').lower()} of the base card, in GB (10^9 bytes)")
        w.row += 1
    ws.cell(w.row, 1, "The seed's own figures for one config disagree (2.2, 3/9 and 12-16 GB).").font = SUBTITLE_FONT
    w.row += 1

    # ------------------------------------------------------------------ tornado
    ws.row_breaks.append(Break(id=w.row))
    w.section("Tornado: each input at x0.75 and x1.25 of the base (inference memory)")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("Low factor", "sn_low", 0.75, "x", "Each dimension times this, rounded to a whole valid value", "0.00",
            number_validation(0.01, 1, "Low factor"))
    w.input("High factor", "sn_high", 1.25, "x", "d_model is rounded to a multiple of n_heads (whole head_dim)",
            "0.00", number_validation(1, 100, "High factor"))
    w.input("Batch for the tornado base", "sn_tornado_batch", 8, "sequences",
            "Batch 1 cannot move by 25 % in whole sequences; the tornado uses this base batch", COUNT,
            number_validation(1, 100_000, "Batch", whole=True))
    tb = w.calc("Base inference memory (tornado)",
                "=LLM_INFER_VRAM_GIB(sn_base,sn_precision,sn_context,sn_tornado_batch,sn_kv_precision)", "GiB",
                "Base card at the tornado batch", GIB3, name="sn_tornado_base")
    w.calc("Base model memory (no runtime overhead)", f"={tb}-eng_runtime_overhead_gib", "GiB",
           "The part that the dimensions move", GIB3, name="sn_tornado_base_model")
    names = ["Dimension", "Base value", "Low value", "High value", "Low change of the input", "High change of the input",
             "Memory at low (GiB)", "Memory at high (GiB)", "Low: change of inference memory",
             "High: change of inference memory", "Low: change of model memory", "High: change of model memory"]
    t_hdr = w.header(names)
    ws.row_dimensions[t_hdr].height = HEADER_HEIGHT
    dims = ["vocab_size", "d_model", "n_layers", "context", "batch"]
    t_first = w.row
    workings = t_first + len(dims) + 26        # the variant cards go below the chart
    # Rows of the variant cards, two per model dimension (low, high); 3 rows each.
    card_rows = {}
    r = workings + 2
    for dim in ["vocab_size", "d_model", "n_layers"]:
        for side in ["low", "high"]:
            card_rows[(dim, side)] = r
            r += 3
    base_val = {k: f"${get_column_letter(j)}${int(base['model'].split('$')[2].rstrip(':')) + 1}"
                for j, k in enumerate(FIELDS, start=2)}
    base_val.update({"context": "sn_context", "batch": "sn_tornado_batch"})
    infer = "LLM_INFER_VRAM_GIB({m},sn_precision,{ctx},{b},sn_kv_precision)"
    for dim in dims:
        rr = w.row
        ws.cell(rr, 1, dim)
        style_calc(ws.cell(rr, 2, f"={base_val[dim]}"), COUNT)
        for col, factor in [(3, "sn_low"), (4, "sn_high")]:
            if dim == "d_model":
                f = f"=MAX({base_val['n_heads']},ROUND({base_val[dim]}*{factor}/{base_val['n_heads']},0)*{base_val['n_heads']})"
            else:
                f = f"=MAX(1,ROUND({base_val[dim]}*{factor},0))"
            style_calc(ws.cell(rr, col, f), COUNT)
        style_calc(ws.cell(rr, 5, f"=C{rr}/B{rr}-1"), PCT)
        style_calc(ws.cell(rr, 6, f"=D{rr}/B{rr}-1"), PCT)
        for col, side, vcol in [(7, "low", "C"), (8, "high", "D")]:
            if dim in ("context", "batch"):
                args = {"m": "sn_base", "ctx": "sn_context", "b": "sn_tornado_batch"}
                args["ctx" if dim == "context" else "b"] = f"{vcol}{rr}"
            else:
                cr = card_rows[(dim, side)]
                args = {"m": f"$B${cr}:${get_column_letter(1 + len(FIELDS))}${cr + 1}", "ctx": "sn_context",
                        "b": "sn_tornado_batch"}
            style_calc(ws.cell(rr, col, "=" + infer.format(**args)), GIB3)
        style_calc(ws.cell(rr, 9, f"=G{rr}/sn_tornado_base-1"), PCT)
        style_calc(ws.cell(rr, 10, f"=H{rr}/sn_tornado_base-1"), PCT)
        style_calc(ws.cell(rr, 11, f"=(G{rr}-eng_runtime_overhead_gib)/sn_tornado_base_model-1"), PCT, output=True)
        style_calc(ws.cell(rr, 12, f"=(H{rr}-eng_runtime_overhead_gib)/sn_tornado_base_model-1"), PCT, output=True)
        w.row += 1
    t_last = w.row - 1
    ws.cell(w.row, 1, "Inputs are rounded to whole values, so n_layers moves by -17 % / +33 % (6 -> 5 / 8); "
                      "the change-of-input columns show the real steps.").font = SUBTITLE_FONT
    w.row += 2

    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "clustered"
    chart.overlap = 100
    chart.gapWidth = 40
    chart.title = "Tornado: change of model memory (no runtime overhead)"
    chart.add_data(Reference(ws, min_col=11, max_col=12, min_row=t_hdr, max_row=t_last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=t_first, max_row=t_last))
    chart.x_axis.title = "Input"
    chart.y_axis.title = "Change of memory"
    chart.y_axis.numFmt = "0%"
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.tickLblPos = "low"
    chart.x_axis.scaling.orientation = "maxMin"     # table order, top to bottom
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    chart.dataLabels.showSerName = False
    chart.dataLabels.showCatName = False
    chart.dataLabels.showLegendKey = False
    chart.dataLabels.showPercent = False
    chart.legend.position = "b"
    chart.dataLabels.numFmt = "0%"
    chart.height, chart.width = 10, 26
    ws.add_chart(chart, f"A{w.row}")

    # ------------------------------------------------------------------ workings: the variant cards
    w.row = workings
    ws.row_breaks.append(Break(id=w.row - 1))
    ws.cell(w.row, 1, "Workings: the tornado's model variants (values are formulas on the base card)").font = \
        Font(bold=True, size=11, color="1F3864")
    w.row += 2
    for dim in ["vocab_size", "d_model", "n_layers"]:
        for side, col in [("low", "C"), ("high", "D")]:
            assert w.row == card_rows[(dim, side)]
            trow = t_first + dims.index(dim)
            val_row = w.row + 1
            fields = {k: (f"=${col}${trow}" if k == dim else f"={base_val[k]}") for k in FIELDS}
            fields["d_ff"] = f"=sn_ffn_mult*C{val_row}"
            out = card(w, f"{dim} {side}", fields, [("Parameters", "=LLM_PARAMS({model})", PARAMS)])
            _fix_card(w, out, fields)
    ws.cell(w.row, 1, "End of sheet").font = Font(size=8, color="BFBFBF")

    w.freeze("B4")
    w.finish(last_col=get_column_letter(PRINT_LAST_COL), last_row=w.row)
    _ = (GIB, verdicts)

