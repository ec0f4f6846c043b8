"""Phase plan & ROI (seed 000): RTX 2080 Super today, then 1, 2 and 4 x H200, with a 36-month cash flow.

Phases are columns; each row holds one formula written the same way in every phase column. The seed's
figures (parameters, tokens/s, hardware cost, revenue, ROI) are inputs or shown beside our computed ones,
so a planner sees where the seed and the physics part. The cash-flow table is native Excel (COUNTIF,
INDEX, SUMPRODUCT, SUM); ROI is on profit (revenue minus running costs), with the seed's revenue-as-gain
ROI beside it.
"""

from __future__ import annotations

from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from ..layout import (catalog_row, cell_on, gpu_field, COUNT, GIB, MONEY, PCT, RATE, RATIO, SUBTITLE_FONT, Writer, define, list_validation,
                      number_validation, style_calc, style_input, validate)

TITLES = ["Phase plan & ROI"]
TITLE = TITLES[0]

PHASES = ["Current", "Phase 1", "Phase 2", "Phase 3"]
FIRST, LAST = 2, 5                       # phase columns B..E
UNIT_COL, NOTE_COL = 6, 7                # F unit, G note
PRINT_LAST_COL = 10                      # notes overflow into H..J
MONTHS = 36                              # rows of the cash-flow table
# A planner reads parameter counts as 8.0M / 9.4B.
PARAMS = '[>=1000000000]#,##0.0,,,"B";[>=1000000]#,##0.0,,"M";#,##0'


def _cols():
    return [get_column_letter(c) for c in range(FIRST, LAST + 1)]


def _range(row: int) -> str:
    return f"${get_column_letter(FIRST)}${row}:${get_column_letter(LAST)}${row}"


def _label(w: Writer, label: str, unit: str, note: str) -> None:
    w.ws.cell(w.row, 1, label).alignment = Alignment(wrap_text=True, vertical="top")
    w.ws.cell(w.row, UNIT_COL, unit)
    w.ws.cell(w.row, NOTE_COL, note)


def _inputs(w: Writer, label: str, name: str, values: list, unit: str, note: str, fmt: str, dv) -> str:
    """One input per phase; the row range gets the defined name; returns the row number as text."""
    _label(w, label, unit, note)
    for col, v in zip(range(FIRST, LAST + 1), values):
        style_input(w.ws.cell(w.row, col, v), fmt)
    validate(w.ws, dv, f"{get_column_letter(FIRST)}{w.row}:{get_column_letter(LAST)}{w.row}")
    define(w.wb, name, w.title, _range(w.row))
    w.row += 1
    return str(w.row - 1)


def _calc(w: Writer, label: str, template: str, unit: str, note: str, fmt: str, name: str | None = None,
          output: bool = False, rows: dict | None = None) -> str:
    """One formula per row: ``{c}`` is replaced by each phase column's letter; ``rows`` maps a placeholder
    such as ``{gpu_row}`` to (catalog kind, row of the names): the catalog row named in that column."""
    _label(w, label, unit, note)
    for col in _cols():
        style_calc(w.ws[f"{col}{w.row}"], fmt, output)
        text = template.replace("{c}", col)
        for placeholder, (kind, row) in (rows or {}).items():
            text = text.replace(placeholder, catalog_row(w.wb, kind, cell_on(w.title, f"{col}{row}")))
        w.ws[f"{col}{w.row}"] = text
    if name:
        define(w.wb, name, w.title, _range(w.row))
    w.row += 1
    return str(w.row - 1)



def build(wb) -> None:
    w = Writer(wb, TITLE, widths={"A": 50, "B": 16, "C": 16, "D": 16, "E": 16, "F": 14, "G": 16, "H": 16,
                                  "I": 16, "J": 16})
    w.heading("Phase plan & ROI: RTX 2080 Super to 4 x H200 (seed 000)",
              "Orange cells are inputs (the seed's figures by default); every other number is a formula. "
              "Money in USD, memory in GiB (2^30 bytes), parameters in M (10^6) / B (10^9).")

    # ------------------------------------------------------------------ single-valued assumptions
    w.section("Assumptions for every phase")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("Weight precision for serving", "ph_precision", "fp16", "format",
            "fp16: the RTX 2080 Super (Turing) has no bf16; H200 runs fp16 at the bf16 rate",
            validation=list_validation("PrecisionNames", "precision"))
    w.input("Context per sequence (decode speed)", "ph_context", 2048, "tokens",
            "Seed 000 does not say; 2048 is a common small-model context", COUNT,
            number_validation(1, 10_000_000, "Context", whole=True))
    w.input("Concurrent sequences (batch)", "ph_batch", 1, "sequences",
            "1 = one user's speed, as the seed's tokens/s figures read", COUNT,
            number_validation(1, 100_000, "Batch", whole=True))
    w.input("Electricity price", "ph_energy_price", 0.15, "USD/kWh",
            "Assumption to replace with your tariff (the seed gives none)", "0.000",
            number_validation(0, 10, "Electricity price"))
    w.input("GPU utilisation (share of hours at TDP)", "ph_utilisation", 0.7, "fraction",
            "Assumption: average draw as a share of TDP around the clock", PCT,
            number_validation(0, 1, "Utilisation"))
    w.input("Training weight bytes (bf16)", "ph_weight_bytes", 2, "bytes/parameter",
            "Mixed-precision training keeps 16-bit working weights (ZeRO paper sec. 3.1)", COUNT,
            number_validation(1, 8, "Weight bytes"))
    w.input("Training gradient bytes (bf16)", "ph_grad_bytes", 2, "bytes/parameter",
            "16-bit gradients (ZeRO paper sec. 3.1)", COUNT, number_validation(1, 8, "Gradient bytes"))
    train_bytes = w.calc("Training bytes per parameter (AdamW, mixed precision)",
                         "=ph_weight_bytes+ph_grad_bytes+eng_master_weight_bytes+eng_adam_state_bytes",
                         "bytes/parameter", "weights + gradients + fp32 master + Adam m and v (Methodology)", COUNT,
                         name="ph_train_bytes")

    # ------------------------------------------------------------------ the phase table
    w.section("Phases (one column per phase; rows are the same formula across)")
    hdr = w.header(["Item"] + PHASES + ["Unit", "Source / note"])
    define(wb, "ph_phase_names", w.title, _range(hdr))
    ws = w.ws
    gpu = _inputs(w, "GPU", "ph_gpu", ["rtx-2080-super", "h200-sxm", "h200-sxm", "h200-sxm"], "name",
                  "GPUs sheet names; the seed: RTX 2080 Super, then H200", "General",
                  list_validation("GPUNames", "GPU"))
    gpus = _inputs(w, "GPUs in the phase", "ph_gpus", [1, 1, 2, 4], "GPUs", "Seed: 1, 1, 2 and 4 x H200", COUNT,
                   number_validation(1, 100_000, "GPUs", whole=True))
    inv = _inputs(w, "Incremental investment when the phase starts", "ph_invest", [700, 30000, 30000, 60000], "USD",
                  "Seed: $700, $30K, +$30K, +$60K (hardware only)", MONEY, number_validation(0, 1e12, "Investment"))
    _calc(w, "Catalog price per GPU", f"={gpu_field('{c}' + gpu, 'price_usd')}", "USD/GPU",
          "GPUs sheet (dated); the seed assumes $30,000 per H200", MONEY)
    _calc(w, "Catalog value of the phase's GPUs", f"={gpu_field('{c}' + gpu, 'price_usd')}*{{c}}{gpus}", "USD",
          "Price x GPUs; compare with the seed's cost below", MONEY)
    hw_seed = _inputs(w, "Seed's hardware cost of the configuration", "ph_seed_hw", [700, 30000, 60000, 120000],
                      "USD", "Seed 'hardware_costs'; its ROI leaves out the RTX 2080 Super", MONEY,
                      number_validation(0, 1e12, "Seed hardware cost"))
    start = _inputs(w, "Phase start month", "ph_start", [0, 3, 6, 12], "month",
                    f"Seed: 3-6, 6-12, 12-18 months; ascending, 0 to {MONTHS - 1}", COUNT, number_validation(0, MONTHS - 1, "Start month", whole=True))
    mem = _calc(w, "Memory per GPU", f"={gpu_field('{c}' + gpu, 'memory_gib')}", "GiB", "GPUs sheet", GIB)

    w.section("Capacity: largest model and speed")
    _calc(w, "Largest dense model for inference (weights only)", "=LLM_MAX_PARAMS({gpu_row},ph_precision,{c}" + gpus + ")",
          "parameters", "Weights in all memory but 1 GiB per GPU; no KV cache", PARAMS, output=True,
          rows={"{gpu_row}": ("gpu", gpu)})
    trn = _calc(w, "Largest model trainable with AdamW (states only)",
                f"={{c}}{gpus}*({{c}}{mem}-eng_runtime_overhead_gib)*eng_bytes_per_gib/{train_bytes}",
                "parameters", "Upper bound: activations excluded (add them per sequence)", PARAMS,
                output=True)
    seed_p = _inputs(w, "Seed's claimed parameters", "ph_seed_params", [8e6, 400e6, 800e6, 1.6e9], "parameters",
                     "Seed 'performance_scaling' (with its '50% VRAM' methods)", PARAMS,
                     number_validation(1, 1e15, "Parameters"))
    _calc(w, "Trainable (ours) / seed's claim", f"={{c}}{trn}/{{c}}{seed_p}", "ratio",
          "Above 1: the seed under-uses the GPUs it buys", RATIO)
    proxy = _inputs(w, "Proxy model of the seed's size class", "ph_proxy", ["gpt2", "pythia-410m", "gpt2-large", "gpt2-xl"],
                    "name", "No 8M model in the catalog: gpt2 (124M) is the smallest",
                    "General", list_validation("ModelNames", "model"))
    _calc(w, "Proxy parameters", "=LLM_PARAMS({model_row})", "parameters", "Computed from the architecture", PARAMS,
          rows={"{model_row}": ("model", proxy)})
    tok = _calc(w, "Decode speed of the proxy", "=LLM_DECODE_TOKPS({model_row},{gpu_row},ph_precision,ph_context,"
                f"ph_batch,{{c}}{gpus})", "tokens/s", "Whole batch; roofline of weight + KV reads vs compute", RATE,
                output=True, rows={"{model_row}": ("model", proxy), "{gpu_row}": ("gpu", gpu)})
    seed_t = _inputs(w, "Seed's claimed tokens/s", "ph_seed_tokps", [25, 60, 100, 150], "tokens/s",
                     "Seed 000 'performance_scaling'", RATE, number_validation(0, 1e9, "Tokens/s"))
    _calc(w, "Ours / seed's claim", f"={{c}}{tok}/{{c}}{seed_t}", "ratio",
          "The seed's speeds are far below the bandwidth limit", RATIO)

    w.section("Money per month while the phase is active")
    ann = _inputs(w, "Annual revenue (seed's low end, unverified)", "ph_revenue_year", [100e3, 500e3, 1e6, 2e6],
                  "USD/year", "Seed 'revenue_scaling' low ends: unverified; replace",
                  MONEY, number_validation(0, 1e13, "Revenue"))
    rev = _calc(w, "Revenue per month", f"={{c}}{ann}/eng_months_per_year", "USD/month", "Annual / 12", MONEY,
          name="ph_revenue")
    tdp = _calc(w, "TDP per GPU", f"={gpu_field('{c}' + gpu, 'tdp_w')}", "W", "GPUs sheet", COUNT)
    power = _calc(w, "Electricity", f"={{c}}{gpus}*{{c}}{tdp}/eng_watts_per_kw*eng_hours_per_month*ph_energy_price"
                  f"*ph_utilisation", "USD/month", "GPUs x kW x hours/month x price x utilisation", MONEY)
    other = _inputs(w, "Other running costs (PLACEHOLDER)", "ph_other_costs", [5000, 5000, 5000, 5000], "USD/month",
                    "Not from the seed: staff, hosting, network; replace", MONEY,
                    number_validation(0, 1e12, "Running costs"))
    run = _calc(w, "Running costs per month", f"={{c}}{power}+{{c}}{other}", "USD/month", "Electricity + other", MONEY,
          name="ph_running")
    _calc(w, "Net per month (before investment)", f"={{c}}{rev}-{{c}}{run}", "USD/month",
          "Revenue - running costs", MONEY)

    w.section("The seed's ROI, recomputed its way")
    high = _inputs(w, "Seed's annual revenue, high end", "ph_seed_revenue_high", [500e3, 2e6, 5e6, 10e6], "USD/year",
                   "Seed 'revenue_scaling' high ends (its ROI uses them)", MONEY, number_validation(0, 1e13, "Revenue"))
    _calc(w, "Seed's ROI: (annual revenue - hardware) / hardware", f"=PLAN_ROI({{c}}{high},{{c}}{hw_seed})",
          "fraction", "Revenue as gain: no running costs, one year", PCT)
    ws.cell(w.row, 1, "Seed's claimed ROI")
    ws.cell(w.row, FIRST, "not stated").font = SUBTITLE_FONT
    for col, v in zip(range(FIRST + 1, LAST + 1), [65.67, 82.33, 82.33]):
        style_input(ws.cell(w.row, col, v), PCT)
    validate(ws, number_validation(-1e6, 1e6, "ROI"),
             f"{get_column_letter(FIRST + 1)}{w.row}:{get_column_letter(LAST)}{w.row}")
    define(wb, "ph_seed_roi", w.title, f"${get_column_letter(FIRST + 1)}${w.row}:${get_column_letter(LAST)}${w.row}")
    ws.cell(w.row, UNIT_COL, "fraction")
    ws.cell(w.row, NOTE_COL, "Seed: 6,567%, 8,233%, 8,233%: reproduced above")
    w.row += 1

    # ------------------------------------------------------------------ horizon results (refer to the table below)
    ws.row_breaks.append(Break(id=w.row))
    w.section(f"Results over the {MONTHS}-month horizon")
    w.header(["Result", "Value", "Unit", "Formula / note"])
    horizon = w.calc("Horizon", "=COUNT(ph_cf_month)", "months", "Rows of the cash-flow table below", COUNT)
    tot_inv = w.calc("Total investment", "=SUM(ph_cf_invest)", "USD", "Phases starting within the horizon", MONEY)
    tot_rev = w.calc("Total revenue", "=SUM(ph_cf_revenue)", "USD", "Seed's low-end revenue by active phase", MONEY)
    tot_run = w.calc("Total running costs", "=SUM(ph_cf_running)", "USD", "Electricity + other", MONEY)
    profit = w.calc("Profit before investment", f"={tot_rev}-{tot_run}", "USD", "Revenue - running costs", MONEY)
    roi = w.calc("ROI on profit", f"=PLAN_ROI({profit},{tot_inv})", "fraction",
                 "(profit - investment) / investment: the gain is profit, not revenue", PCT, output=True)
    seed_roi = w.calc("ROI the seed's way (revenue as gain)", f"=PLAN_ROI({tot_rev},{tot_inv})", "fraction",
                      "(revenue - investment) / investment: ignores running costs", PCT)
    w.calc("Seed's way overstates ROI by", f"={seed_roi}-{roi}", "fraction points", "Difference of the two above",
           PCT)
    w.calc("Cumulative cash at the end of the horizon", f"=INDEX(ph_cf_cum,{horizon})", "USD",
           "Last row of the cash-flow table", MONEY, output=True)
    w.calc("Payback month (cumulative cash stays >= 0 from then on)",
           '=IF(COUNT(ph_cf_paid)=0,"not within horizon",MIN(ph_cf_paid))', "month",
           "Never below 0 again after it (later investments counted); 0 = first month", COUNT, output=True)
    avg = w.calc("Average monthly net before investment", f"={profit}/{horizon}", "USD/month", "Profit / horizon",
                 MONEY)
    w.calc("PLAN_PAYBACK_MONTHS(total investment, average net)", f"=PLAN_PAYBACK_MONTHS({tot_inv},{avg})", "months",
           "As if all investment were made at once", "#,##0.0")

    # ------------------------------------------------------------------ monthly cash flow
    w.section("Monthly cash flow (month 0 = plan start)")
    names = ["Month", "Stage (1 = Current)", "Active phase", "Investment (USD)", "Revenue (USD)",
             "Running costs (USD)", "Net cash (USD)", "Cumulative cash (USD)", "Paid back for good (month)"]
    cf = w.header(names)
    ws.row_dimensions[cf].height = 32
    first, last = cf + 1, cf + MONTHS
    fmts = [COUNT, COUNT, "General", MONEY, MONEY, MONEY, MONEY, MONEY, COUNT]
    for r in range(first, last + 1):
        month = "=MIN(ph_start)" if r == first else f"=A{r - 1}+1"
        row = [month,
               f'=COUNTIF(ph_start,"<="&A{r})',
               f"=INDEX(ph_phase_names,1,B{r})",
               f"=SUMPRODUCT((ph_start=A{r})*ph_invest)",
               f"=INDEX(ph_revenue,1,B{r})",
               f"=INDEX(ph_running,1,B{r})",
               f"=E{r}-F{r}-D{r}",
               f"=SUM($G${first}:G{r})",
               f'=IF(COUNTIF(H{r}:$H${last},"<0")=0,A{r},"")']
        for j, (f, fmt) in enumerate(zip(row, fmts), start=1):
            c = ws.cell(r, j, f)
            style_calc(c, fmt, output=(j == 8))
    for j, nm in enumerate(["month", "stage", "phase", "invest", "revenue", "running", "net", "cum", "paid"],
                           start=1):
        col = get_column_letter(j)
        define(wb, f"ph_cf_{nm}", w.title, f"${col}${first}:${col}${last}")
    ws.cell(last + 1, 1, "Stage counts the phases started by that month, so start months must be ascending. "
                         "The first month is the earliest start month.").font = SUBTITLE_FONT
    w.row = last + 3
    ws.row_breaks.append(Break(id=w.row - 1))

    chart = LineChart()
    chart.title = "Cumulative cash by month (USD)"
    chart.y_axis.title = "USD"
    chart.x_axis.title = "Month"
    chart.y_axis.numFmt = "#,##0"
    chart.add_data(Reference(ws, min_col=8, min_row=cf, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.legend = None
    chart.height, chart.width = 12, 30
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    w.row += 1
    ws.add_chart(chart, f"A{w.row}")
    w.row += 26
    ws.cell(w.row, 1, "End of sheet").font = Font(size=8, color="BFBFBF")

    w.freeze("B4")
    w.finish(last_col=get_column_letter(PRINT_LAST_COL), last_row=w.row)
