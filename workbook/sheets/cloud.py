"""Cloud vs owned (seed 002): break-even GPU-hours and months of renting vs buying, electricity included.

One row per GPU that the catalog prices both ways (purchase and on-demand cloud). The GPU names are inputs;
prices and power come from the GPUs sheet by INDEX/MATCH, so a row a user adds there is priced at once.
PLAN_BREAKEVEN_HOURS returns a '#...' text where owning never breaks even within the lifetime: the sheet
shows it and says "never" in months.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.pagebreak import Break

from udfs.core import catalog

from ..layout import (gpu_field, per_or_never, COUNT, MONEY, MONEY2, MONEY4, SUBTITLE_FONT, Writer, define, list_validation,
                      number_validation, style_calc, style_input, validate)

TITLES = ["Cloud vs owned"]
TITLE = TITLES[0]
MONTHS_FMT = "#,##0.0"
FIRST_GPUS = ["rtx-4090", "rtx-3090", "l40s", "a100-sxm-80gb", "h100-sxm", "h200-sxm"]


def _priced_both_ways() -> list[str]:
    """The GPUs to list: the seed's and ours first, then every other catalog GPU with both prices."""
    both = [r["name"] for r in catalog.gpu_table().rows
            if (r.get("price_usd") or "").strip() and (r.get("cloud_usd_per_hour") or "").strip()]
    return [g for g in FIRST_GPUS if g in both] + [g for g in both if g not in FIRST_GPUS]


def build(wb) -> None:
    w = Writer(wb, TITLE, widths={"A": 52, "B": 13, "C": 13, "D": 11, "E": 11, "F": 13, "G": 15, "H": 14,
                                  "I": 15, "J": 15, "K": 12, "L": 14})
    w.heading("Cloud vs owned: when buying a GPU beats renting one (seed 002)",
              "Orange cells are inputs; every other number is a formula. Money in USD; purchase and cloud prices "
              "from the GPUs sheet (dated). Owned cost counts the GPU and its electricity only.")

    w.section("Assumptions")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("Electricity price", "cv_energy_price", 0.15, "USD/kWh",
            "Assumption to replace with your tariff (the seed gives none)", "0.000",
            number_validation(0, 10, "Electricity price"))
    w.input("Power usage effectiveness (PUE)", "cv_pue", 1.3, "x",
            "Wall power / GPU power: cooling and power-supply losses (assumption; 1.0 = none)", "0.00",
            number_validation(1, 5, "PUE"))
    w.input("GPU-hours used per month", "cv_util_hours", 400, "hours/month",
            "How much you would use it (730 = round the clock); assumption", COUNT,
            number_validation(1, 744, "Hours per month"))
    w.input("Hardware lifetime", "cv_lifetime", 4, "years", "Years before the owned GPU is retired (no resale)",
            "0.0", number_validation(0.1, 20, "Lifetime"))
    life_h = w.calc("GPU-hours used over the lifetime", "=cv_util_hours*eng_months_per_year*cv_lifetime",
                    "GPU-hours", "Hours per month x 12 x years", COUNT, name="cv_life_hours")
    w.calc("Lifetime", "=cv_lifetime*eng_months_per_year", "months", "Break-even later than this: rent", COUNT,
           name="cv_life_months")

    w.section("Break-even by GPU")
    names = ["GPU", "Purchase price (USD)", "Cloud price (USD/GPU-hour)", "TDP (W)", "Power at the wall (kW)",
             "Electricity (USD/hour)", "Break-even (GPU-hours)", "Break-even (months at your use)",
             "Owned over lifetime (USD)", "Cloud over lifetime (USD)", "Cheaper at your use",
             "Saving (USD)"]
    hdr = w.header(names)
    w.ws.row_dimensions[hdr].height = 45
    ws = w.ws
    gpus = _priced_both_ways()
    first = w.row
    dv = list_validation("GPUNames", "GPU")
    for g in gpus:
        r = w.row
        style_input(ws.cell(r, 1, g))
        row = [(f"={gpu_field(f'A{r}', 'price_usd')}", MONEY),
               (f"={gpu_field(f'A{r}', 'cloud_usd_per_hour')}", MONEY2),
               (f"={gpu_field(f'A{r}', 'tdp_w')}", COUNT),
               (f"=D{r}/eng_watts_per_kw*cv_pue", "0.000"),
               (f"=E{r}*cv_energy_price", MONEY4),
               (f"=PLAN_BREAKEVEN_HOURS(B{r},C{r},E{r},cv_energy_price,cv_lifetime)", COUNT),
               (per_or_never(f"G{r}", "cv_util_hours"), MONTHS_FMT),
               (f"=B{r}+F{r}*{life_h}", MONEY),
               (f"=C{r}*{life_h}", MONEY),
               (f'=IF(I{r}<J{r},"own","rent")', "General"),
               (f"=ABS(J{r}-I{r})", MONEY)]
        for j, (f, fmt) in enumerate(row, start=2):
            style_calc(ws.cell(r, j, f), fmt, output=j in (8, 11))
        w.row += 1
    last = w.row - 1
    validate(ws, dv, f"A{first}:A{last}")
    define(wb, "cv_gpus", w.title, f"$A${first}:$A${last}")
    define(wb, "cv_breakeven_months", w.title, f"$H${first}:$H${last}")
    for text in ["Break-even GPU-hours = purchase / (cloud price per hour - electricity per hour); '#...' text: "
                 "owning never breaks even within the lifetime used round the clock.",
                 "Break-even months beyond the lifetime mean renting is cheaper at your use. Owned cost leaves out "
                 "the host machine, staff, resale value and the cost of capital; cloud prices are on-demand."]:
        ws.cell(w.row, 1, text).font = SUBTITLE_FONT
        w.row += 1

    # ------------------------------------------------------------------ the seed's examples
    w.section("The seed's examples: 'A100 (80GB): $3-5/hour' to rent, 'RTX 4090 (24GB): $1600 one-time' to own")
    w.header(["Item", "Value", "Unit", "Note"])
    w.input("GPU the seed would own", "cv_seed_own_gpu", "rtx-4090", "name", "Seed: RTX 4090 (24GB)",
            validation=list_validation("GPUNames", "GPU"))
    w.input("GPU the seed would rent", "cv_seed_rent_gpu", "a100-sxm-80gb", "name",
            "Seed: A100 (80GB); a different GPU with 3.3x the memory", validation=list_validation("GPUNames", "GPU"))
    w.input("Seed's purchase price", "cv_seed_own_price", 1600, "USD", "Seed 002, on-premise example", MONEY,
            number_validation(0, 1e9, "Price"))
    own_price = w.calc("Catalog purchase price", f"={gpu_field('cv_seed_own_gpu', 'price_usd')}", "USD", "GPUs sheet",
                       MONEY)
    w.input("Seed's cloud price, low", "cv_seed_rent_low", 3, "USD/GPU-hour", "Seed 002: $3-5/hour", MONEY2,
            number_validation(0.01, 1000, "Cloud price"))
    w.input("Seed's cloud price, high", "cv_seed_rent_high", 5, "USD/GPU-hour", "Seed 002: $3-5/hour", MONEY2,
            number_validation(0.01, 1000, "Cloud price"))
    w.calc("Catalog cloud price of the rented GPU", f"={gpu_field('cv_seed_rent_gpu', 'cloud_usd_per_hour')}",
           "USD/GPU-hour", "GPUs sheet: on-demand prices have fallen below the seed's", MONEY2)
    kw = w.calc("Power of the owned GPU at the wall", f"={gpu_field('cv_seed_own_gpu', 'tdp_w')}/eng_watts_per_kw*cv_pue",
                "kW", "TDP x PUE", "0.000")
    for label, price, note in [("at the seed's low price", "cv_seed_rent_low", "4090 bought vs A100 rented at $3/h"),
                               ("at the seed's high price", "cv_seed_rent_high", "4090 bought vs A100 rented at $5/h")]:
        h = w.calc(f"Break-even {label}",
                   f"=PLAN_BREAKEVEN_HOURS(cv_seed_own_price,{price},{kw},cv_energy_price,cv_lifetime)", "GPU-hours",
                   note + " (different GPUs: only for models that fit in 24 GiB)", COUNT, output=True)
        w.calc(f"Break-even {label}, months at your use", per_or_never(h, "cv_util_hours"), "months",
               "GPU-hours / hours per month", MONTHS_FMT)
    own_cloud = w.calc("Catalog cloud price of the owned GPU", f"={gpu_field('cv_seed_own_gpu', 'cloud_usd_per_hour')}",
                       "USD/GPU-hour", "Like for like: renting the same GPU", MONEY2)
    h = w.calc("Break-even, same GPU owned vs rented (catalog)",
               f"=PLAN_BREAKEVEN_HOURS({own_price},{own_cloud},{kw},cv_energy_price,cv_lifetime)", "GPU-hours", "The fair comparison; see the table above", COUNT, output=True)
    w.calc("Break-even, same GPU, months at your use", per_or_never(h, "cv_util_hours"), "months",
           "GPU-hours / hours per month", MONTHS_FMT)

    # ------------------------------------------------------------------ chart (own page)
    ws.row_breaks.append(Break(id=w.row))
    w.row += 1
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Break-even months of owning vs renting, at your GPU-hours per month"
    chart.add_data(Reference(ws, min_col=8, min_row=hdr, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.legend = None
    chart.y_axis.title = "Months"
    chart.y_axis.numFmt = "#,##0"
    chart.x_axis.scaling.orientation = "maxMin"     # first GPU at the top, as in the table
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.gapWidth = 40
    chart.height, chart.width = 14, 30
    ws.add_chart(chart, f"A{w.row}")
    w.row += 30
    ws.cell(w.row, 1, "End of sheet").font = Font(size=8, color="BFBFBF")
    ws.cell(w.row, 1).alignment = Alignment(vertical="top")

    w.freeze("B4")
    w.finish()
