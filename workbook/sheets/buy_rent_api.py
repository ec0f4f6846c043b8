"""Buy, rent or API: owned GPUs vs 1- and 3-year committed rent vs on-demand vs spot vs a hosted API, and the
cheapest mix of an owned (or committed) base with burst, month by month over a horizon.

Everything month by month is native Excel (the month table below the results), so the sheet stays live in a
share copy; NPV, IRR, SLN are Excel's own. Python functions are used only where Excel has no formula: the
engine's serving speed (LLM_GPUS_NEEDED, LLM_LATENCY_S), the cheapest base size (PLAN_CHEAPEST_MIX) and the
re-evaluation of the whole plan for the tornado (PLAN_FLEET_PV). Defaults are dated and sourced in
udfs/core/data/finance_defaults.csv and api_prices.csv; docs/economics.md works the example by hand.
"""

from __future__ import annotations

import re

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break

from udfs.core import economics

from ..layout import (COUNT, HEADER_FILL, HEADER_FONT, MONEY, MONEY2, MONEY4, PCT, RATE, SUBTITLE_FONT, Writer,
                      choice_validation, define, gpu_field, list_validation, number_validation, string, style_calc,
                      style_input, validate)

TITLES = ["Buy, rent or API"]
TITLE = TITLES[0]
MONTHS = 48                 # rows of the month table; the horizon input may be shorter (later rows are zero)
BIG = '#,##0'
TOKENS = '[>=1000000000]#,##0.00,,,"B";[>=1000000]#,##0.0,,"M";#,##0'
FIN = {r["name"]: r for r in economics.finance_rows()}
BASE_KINDS = ["owned", "committed 1y", "committed 3y"]

# The worked example of docs/economics.md (inputs a planner replaces).
EXAMPLE = {"model": "llama-3.1-70b", "gpu": "h100-sxm", "precision": "fp8", "kv_precision": "fp16", "batch": 32,
           "input_tokens": 1000, "output_tokens": 250, "tokens_per_day": 50e6, "growth": 0.08, "peak": 2,
           "reserve": 1, "horizon": 36, "api": "llama-3.3-70b-wandb", "discount_rate": 0.10, "staff_fte_per_gpu": 0.02,
           "finetune_tokens": 1e8, "finetune_mfu": 0.4}


def _fin(name: str) -> float:
    return float(FIN[name]["value"])


def _src(name: str) -> str:
    r = FIN[name]
    return f"{r['source']} ({r['date']})"


def _optional_number(lo, hi, what) -> DataValidation:
    dv = number_validation(lo, hi, what)
    dv.allow_blank = True
    return dv


def build(wb) -> None:
    w = Writer(wb, TITLE, widths={"A": 50, "B": 16, "C": 18, "D": 40, "E": 16, "F": 16})
    ws = w.ws
    w.heading("Buy, rent or API: the cheapest way to serve a growing demand",
              "Orange cells are inputs (defaults dated and sourced in the notes); every other number is a formula. "
              "Money in USD, tokens are input + output tokens, months of 730 hours. docs/economics.md works this "
              "example by hand.")

    # ------------------------------------------------------------------ demand and model
    w.section("Demand and model")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("Model", "br_model", EXAMPLE["model"], "name",
            "Models sheet; Llama-3.3-70B has the architecture of llama-3.1-70b (same config.json shapes)",
            validation=list_validation("ModelNames", "model"))
    w.input("GPU", "br_gpu", EXAMPLE["gpu"], "name", "GPUs sheet (price, TDP and on-demand price from there)",
            validation=list_validation("GPUNames", "GPU"))
    w.input("Weight precision", "br_precision", EXAMPLE["precision"], "format", "fp8 serving (H100 has FP8 tensor cores)",
            validation=list_validation("PrecisionNames", "precision"))
    w.input("KV-cache precision", "br_kv_precision", EXAMPLE["kv_precision"], "format", "",
            validation=list_validation("KVPrecisionNames", "KV-cache format"))
    w.input("Concurrent requests per replica (batch)", "br_batch", EXAMPLE["batch"], "requests",
            "Your SLO sets it: larger batches give more tokens/s per GPU and slower answers", COUNT,
            number_validation(1, 100_000, "Batch", whole=True))
    w.input("Input (prompt) tokens per request", "br_input_tokens", EXAMPLE["input_tokens"], "tokens",
            "Illustrative request shape; replace with your traffic's", COUNT,
            number_validation(1, 10_000_000, "Input tokens", whole=True))
    w.input("Output (generated) tokens per request", "br_output_tokens", EXAMPLE["output_tokens"], "tokens",
            "Illustrative request shape; replace with your traffic's", COUNT,
            number_validation(1, 10_000_000, "Output tokens", whole=True))
    w.input("Demand in the first month", "br_tokens_per_day", EXAMPLE["tokens_per_day"], "tokens/day",
            "Input + output tokens per day (worked example: 50 M)", TOKENS,
            number_validation(0, 1e15, "Tokens per day"))
    w.input("Demand growth", "br_growth", EXAMPLE["growth"], "fraction per month",
            "Compound: month m has tokens/day x (1 + growth)^(m-1) (worked example: 8 %/month)", PCT,
            number_validation(-0.99, 10, "Growth"))
    w.input("Peak-to-average ratio of the day", "br_peak", EXAMPLE["peak"], "x average",
            "Assumption: the busiest hour runs at this multiple of the day's average (linear load-duration curve)",
            "0.00", number_validation(1, 1000, "Peak-to-average"))
    w.input("Spare replicas (N+1 reserve)", "br_reserve", EXAMPLE["reserve"], "replicas",
            "Idle replicas kept for failures in a fixed (owned or committed) fleet; 1 = N+1", COUNT,
            number_validation(0, 1000, "Reserve", whole=True))
    w.input("Horizon", "br_horizon", EXAMPLE["horizon"], "months", f"1 to {MONTHS} (rows of the month table)", COUNT,
            number_validation(1, MONTHS, "Horizon", whole=True))

    w.section("Serving capacity (the engine's answer; the serving sheet can override it)")
    w.header(["Item", "Value", "Unit", "Note"])
    ctx = w.calc("Context per request", "=br_input_tokens+br_output_tokens", "tokens", "Input + output", COUNT,
                 name="br_context")
    w.calc("GPUs per replica", "=LLM_GPUS_NEEDED(br_model,br_gpu,br_precision,br_context,br_batch,br_kv_precision)",
           "GPUs", "Whole GPUs holding weights + KV cache for the batch", COUNT, name="br_gpus_engine")
    w.calc("Request time at that batch", "=LLM_LATENCY_S(br_model,br_gpu,br_input_tokens,br_output_tokens,"
           "br_precision,br_batch,br_gpus_engine)", "s", "TTFT + output tokens x time per step (engine)", "0.00",
           name="br_latency")
    w.calc("Replica throughput (engine)", "=br_batch*br_context/br_latency", "tokens/s",
           "Input + output tokens per second of one replica: batch x tokens per request / request time", RATE,
           name="br_tokps_engine")
    w.input("Replica throughput from the serving sheet (blank = engine)", "br_tokps_override", None, "tokens/s",
            "Link here the serving-at-concurrency answer for your SLO when it exists; blank uses the engine's",
            RATE, _optional_number(0.001, 1e12, "Throughput"))
    w.input("GPUs per replica from the serving sheet (blank = engine)", "br_gpus_override", None, "GPUs",
            "Link here with the throughput above", COUNT, _optional_number(1, 100_000, "GPUs"))
    w.calc("Replica throughput used", "=IF(ISBLANK(br_tokps_override),br_tokps_engine,br_tokps_override)",
           "tokens/s", "", RATE, name="br_tokps", output=True)
    w.calc("GPUs per replica used", "=IF(ISBLANK(br_gpus_override),br_gpus_engine,br_gpus_override)", "GPUs", "",
           COUNT, name="br_gpr", output=True)

    # ------------------------------------------------------------------ prices
    w.section("Prices")
    w.header(["Input", "Value", "Unit", "Note"])
    cat_price = w.calc("Catalog purchase price of the GPU", "=" + gpu_field("br_gpu", "price_usd"), "USD/GPU",
                       "GPUs sheet (dated)", MONEY)
    w.input("Purchase price override (blank = catalog)", "br_price_override", None, "USD/GPU", "Your quote", MONEY,
            _optional_number(0, 1e9, "Price"))
    w.calc("Purchase price used", f"=IF(ISBLANK(br_price_override),{cat_price},br_price_override)", "USD/GPU", "",
           MONEY, name="br_gpu_price")
    cat_od = w.calc("Catalog on-demand price", "=" + gpu_field("br_gpu", "cloud_usd_per_hour"), "USD/GPU-hour",
                    "GPUs sheet (dated on-demand price)", MONEY2)
    w.input("On-demand price override (blank = catalog)", "br_od_override", None, "USD/GPU-hour", "Your quote",
            MONEY2, _optional_number(0.0001, 1e6, "Price"))
    w.calc("On-demand price used", f"=IF(ISBLANK(br_od_override),{cat_od},br_od_override)", "USD/GPU-hour", "",
           MONEY2, name="br_od_price")
    for key, name, label in [("committed_1y_discount", "br_c1_discount", "1-year committed discount"),
                             ("committed_3y_discount", "br_c3_discount", "3-year committed discount"),
                             ("spot_discount", "br_spot_discount", "Spot (interruptible) discount")]:
        w.input(label, name, _fin(key), "fraction off on-demand",
                _src(key) + "; used when no override is given below", PCT,
                number_validation(0, 0.99, label))
    for label, field, disc, name in [("1-year committed", "cloud_1y_usd_per_hour", "br_c1_discount", "br_c1"),
                                     ("3-year committed", "cloud_3y_usd_per_hour", "br_c3_discount", "br_c3"),
                                     ("Spot", "spot_usd_per_hour", "br_spot_discount", "br_spot")]:
        cat = gpu_field("br_gpu", field)
        w.calc(f"{label} price in the GPUs sheet", f'=IF(LEN({cat})=0,"not catalogued",{cat})', "USD/GPU-hour",
               "Catalog (dated; its provider may differ from the on-demand price's: see the GPUs sheet source)",
               MONEY2)
        w.input(f"{label} price override (blank = on-demand x (1 - discount))", f"{name}_override", None,
                "USD/GPU-hour", "Your quote, or the catalog price above", MONEY2, _optional_number(0, 1e6, "Price"))
        w.calc(f"{label} price used", f"=IF(ISBLANK({name}_override),br_od_price*(1-{disc}),{name}_override)",
               "USD/GPU-hour", "Paid for every hour" if "committed" in label else "Can be reclaimed at short notice",
               MONEY2, name=f"{name}_price")
    w.input("Rented replicas always on", "br_min_on", 1, "replicas",
            "Assumption: a rented-only service keeps this many replicas up around the clock so requests never wait "
            "for a cold start; load above them is rented per busy hour", COUNT,
            number_validation(0, 1000, "Replicas always on", whole=True))
    w.input("Burst rented per busy hour (serverless)", "br_serverless", True, "TRUE/FALSE",
            "TRUE: overflow above the base may be rented by the second and scaled to zero (serverless GPUs, "
            "cold starts); FALSE: overflow goes to the API (or spot)",
            validation=choice_validation(["TRUE", "FALSE"], "Serverless burst"))
    w.input("Allow spot for burst", "br_allow_spot", False, "TRUE/FALSE",
            "Spot suits interruptible batch work, not an interactive SLO",
            validation=choice_validation(["TRUE", "FALSE"], "Allow spot"))
    w.input("Hosted API", "br_api", EXAMPLE["api"], "name", "From the API price list below (dated, sourced)",
            validation=DataValidation(type="list", formula1="=br_api_names", allow_blank=False,
                                      showErrorMessage=True, error="Choose an API from the list below."))
    w.calc("API price per 1M input tokens", "=INDEX(br_api_in,MATCH(br_api,br_api_names,0))", "USD per 1M tokens",
           "", MONEY2, name="br_api_in_price")
    w.calc("API price per 1M output tokens", "=INDEX(br_api_out,MATCH(br_api,br_api_names,0))", "USD per 1M tokens",
           "", MONEY2, name="br_api_out_price")

    # ------------------------------------------------------------------ owning
    w.section("Owning: rates and their sources")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("Power usage effectiveness (PUE)", "br_pue", _fin("pue"), "x", _src("pue"), "0.00",
            number_validation(1, 5, "PUE"))
    w.input("Electricity price", "br_energy_price", _fin("energy_usd_per_kwh"), "USD/kWh", _src("energy_usd_per_kwh"),
            "0.0000", number_validation(0, 10, "Electricity price"))
    w.input("Colocation", "br_colo", _fin("colo_usd_per_kw_month"), "USD per kW-month", _src("colo_usd_per_kw_month"),
            MONEY2, number_validation(0, 10_000, "Colocation"))
    w.input("Maintenance", "br_maintenance", _fin("maintenance_share_per_year"), "fraction of capex per year",
            _src("maintenance_share_per_year"), PCT, number_validation(0, 1, "Maintenance"))
    w.input("Rest of the server per GPU", "br_server_share", _fin("server_share_of_gpu_price"),
            "fraction of GPU price", _src("server_share_of_gpu_price"), PCT, number_validation(0, 10, "Server share"))
    w.input("Server power per GPU", "br_server_power", _fin("server_power_factor"), "x GPU TDP",
            _src("server_power_factor"), "0.00", number_validation(1, 10, "Server power factor"))
    w.input("Useful life (straight-line depreciation)", "br_life", _fin("useful_life_years"), "years",
            _src("useful_life_years"), "0.0", number_validation(1, 20, "Useful life"))
    w.input("Staff per owned GPU", "br_staff_fte", EXAMPLE["staff_fte_per_gpu"], "FTE per GPU",
            "PLACEHOLDER assumption (no public ratio): 0.02 = one engineer per 50 GPUs; replace", "0.000",
            number_validation(0, 10, "Staff"))
    w.input("Staff cost", "br_staff_salary", _fin("staff_usd_per_fte_year"), "USD per FTE-year",
            _src("staff_usd_per_fte_year"), MONEY, number_validation(0, 1e7, "Staff cost"))
    w.input("Discount rate (cost of capital)", "br_rate", EXAMPLE["discount_rate"], "fraction per year",
            "Planning assumption, no source: use your company's cost of capital (WACC)", PCT,
            number_validation(-0.5, 2, "Discount rate"))
    w.input("Resale at the horizon's end", "br_residual", 0, "fraction of book value",
            "0 = no resale value counted (conservative); 1 = sold at straight-line book value", PCT,
            number_validation(0, 1, "Resale"))

    w.section("Constants")
    w.header(["Constant", "Value", "Unit", "Note"])
    for label, name, value, unit in [("Seconds per hour", "br_s_per_hour", 3600, "s"),
                                     ("Tokens per million", "br_mtok", 1_000_000, "tokens"),
                                     ("Base replicas of an all-burst option", "br_no_base", 0, "replicas"),
                                     ("Base replicas cap of a pure base option (no cap)", "br_all_base", 10_000_000,
                                      "replicas")]:
        ws.cell(w.row, 1, label)
        c = ws.cell(w.row, 2, value)
        c.style = "Note"
        c.number_format = BIG
        ws.cell(w.row, 3, unit)
        define(wb, name, TITLE, f"$B${w.row}")
        w.row += 1

    # ------------------------------------------------------------------ per GPU
    w.section("One owned GPU with its share of the server")
    w.header(["Item", "Value", "Unit", "Formula / note"])
    w.calc("Power per GPU with its server share", f"={gpu_field('br_gpu', 'tdp_w')}/eng_watts_per_kw*br_server_power",
           "kW", "TDP x server power factor (IT power at full load)", "0.000", name="br_kw")
    w.calc("Capex per GPU", "=br_gpu_price*(1+br_server_share)", "USD", "GPU + its share of the server", MONEY,
           name="br_capex")
    w.calc("Depreciation", "=SLN(br_capex,0,br_life*eng_months_per_year)", "USD/month",
           "Excel SLN: capex / (life x 12), no salvage", MONEY2, name="br_dep")
    w.calc("Colocation", "=br_kw*br_colo", "USD/month", "Contracted kW x rate per kW-month", MONEY2, name="br_colo_m")
    w.calc("Maintenance", "=br_capex*br_maintenance/eng_months_per_year", "USD/month", "Capex x share / 12", MONEY2,
           name="br_maint_m")
    w.calc("Staff", "=br_staff_fte*br_staff_salary/eng_months_per_year", "USD/month", "FTE per GPU x cost / 12",
           MONEY2, name="br_staff_m")
    w.calc("Energy at 100 % utilisation", "=br_kw*br_pue*eng_hours_per_month*br_energy_price", "USD/month",
           "kW x PUE x 730 h x price; scales with utilisation", MONEY2, name="br_energy_full")
    w.calc("Fixed cash cost per GPU-month", "=br_colo_m+br_maint_m+br_staff_m", "USD/month",
           "Colocation + maintenance + staff (capex is paid when bought)", MONEY2, name="br_fixed")
    w.input("Utilisation for the monthly cost below", "br_util", 0.6, "fraction",
            "Share of the month busy (the month table computes each month's own)", PCT,
            number_validation(0, 1, "Utilisation"))
    w.calc("Monthly cost of one owned GPU (accounting)", "=br_dep+br_fixed+br_util*br_energy_full", "USD/month",
           "Depreciation + fixed + utilisation x energy at 100 %", MONEY2, name="br_owned_month_native", output=True)
    w.calc("PLAN_OWNED_MONTHLY_COST (the function, same inputs)",
           "=PLAN_OWNED_MONTHLY_COST(br_gpu_price,br_kw,br_util,br_pue,br_energy_price,br_colo,br_maintenance,"
           "br_server_share,br_life,br_staff_m)", "USD/month", "Equals the line above", MONEY2,
           name="br_owned_month_udf")
    w.calc("Break-even utilisation vs on-demand", "=PLAN_BREAKEVEN_UTILISATION(br_gpu_price,br_kw,br_od_price,br_pue,"
           "br_energy_price,br_colo,br_maintenance,br_server_share,br_life,br_staff_m)", "fraction",
           "Busier than this, owning beats renting the busy hours on demand", PCT, name="br_breakeven_util",
           output=True)

    # ------------------------------------------------------------------ cost per 1M tokens
    w.section("Cost per 1M tokens by option (one replica busy at the engine's throughput)")
    w.header(["Option", "Value", "Unit", "Formula / note"])
    per_mtok = "/(br_tokps*br_s_per_hour)*br_mtok"
    w.calc("Owned, 100 % busy", f"=(br_dep+br_fixed+br_energy_full)*br_gpr/eng_hours_per_month{per_mtok}",
           "USD per 1M tokens", "Monthly cost per GPU x GPUs / 730 h / tokens per hour", MONEY4, name="br_mtok_owned")
    w.calc("On-demand rent", f"=br_od_price*br_gpr{per_mtok}", "USD per 1M tokens", "Pay only for busy hours",
           MONEY4, name="br_mtok_od")
    w.calc("1-year committed, 100 % busy", f"=br_c1_price*br_gpr{per_mtok}", "USD per 1M tokens", "", MONEY4,
           name="br_mtok_c1")
    w.calc("3-year committed, 100 % busy", f"=br_c3_price*br_gpr{per_mtok}", "USD per 1M tokens", "", MONEY4,
           name="br_mtok_c3")
    w.calc("Spot", f"=br_spot_price*br_gpr{per_mtok}", "USD per 1M tokens", "", MONEY4, name="br_mtok_spot")
    w.calc("Hosted API, blended", "=(br_input_tokens*br_api_in_price+br_output_tokens*br_api_out_price)/br_context",
           "USD per 1M tokens", "Input and output priced separately, weighted by the request shape", MONEY4,
           name="br_mtok_api")
    w.calc("On-demand, per 1M input tokens (prefill time)",
           "=LLM_BATCH_COST_PER_MTOK_IO(br_model,br_gpu,br_od_price,br_input_tokens,br_output_tokens,\"input\","
           "br_precision,br_batch,br_gpus_engine,br_kv_precision)", "USD per 1M tokens",
           "Compare with the API's input price", MONEY4)
    w.calc("On-demand, per 1M output tokens (decode time)",
           "=LLM_BATCH_COST_PER_MTOK_IO(br_model,br_gpu,br_od_price,br_input_tokens,br_output_tokens,\"output\","
           "br_precision,br_batch,br_gpus_engine,br_kv_precision)", "USD per 1M tokens",
           "Compare with the API's output price", MONEY4)
    w.calc("On-demand rent per GPU-month", "=br_od_price*eng_hours_per_month", "USD/month", "Price x 730 h",
           MONEY2, name="br_od_month")
    w.calc("Spot rent per GPU-month", "=br_spot_price*eng_hours_per_month", "USD/month", "Price x 730 h", MONEY2,
           name="br_spot_month")
    burst = ["IF(br_serverless,br_mtok_od,br_mtok_api)", "br_mtok_api", "IF(br_allow_spot,br_mtok_spot,br_mtok_api)"]
    w.calc("Burst (overflow) cost", "=" + numbers_or_refusal(burst, f"MIN({','.join(burst)})"),
           "USD per 1M tokens", "Cheapest elastic option: API, on demand per busy hour (if allowed), spot (if allowed)",
           MONEY4,
           name="br_mtok_burst", output=True)
    w.calc("Monthly discount rate", "=(1+br_rate)^(1/eng_months_per_year)-1", "fraction per month",
           "(1 + annual)^(1/12) - 1", "0.0000%", name="br_rate_m")

    # ------------------------------------------------------------------ the cheapest mix
    w.section("Cheapest mix: a fixed base (owned or committed) plus burst (PLAN_CHEAPEST_MIX)")
    hdr = w.header(["Base kind", "Capex per GPU (USD)", "Fixed per GPU-month (USD)", "Energy per GPU-month at 100 % (USD)",
                    "Cheapest base (replicas)", "Present cost (USD)"])
    ws.row_dimensions[hdr].height = 32
    first_kind = w.row
    plan_args = "br_tokens_per_day,br_growth,br_peak,br_horizon,br_tokps,br_gpr,br_reserve"
    for kind, capex, fixed, energy in [("owned", "=br_capex", "=br_fixed", "=br_energy_full"),
                                       ("committed 1y", "=br_no_base", "=br_c1_price*eng_hours_per_month",
                                        "=br_no_base"),
                                       ("committed 3y", "=br_no_base", "=br_c3_price*eng_hours_per_month",
                                        "=br_no_base")]:
        r = w.row
        ws.cell(r, 1, kind)
        for col, f in [(2, capex), (3, fixed), (4, energy)]:
            style_calc(ws.cell(r, col, f), MONEY)
        args = f"{plan_args},B{r},C{r},D{r},br_mtok_burst,br_rate,br_residual,br_life"
        style_calc(ws.cell(r, 5, f"=PLAN_CHEAPEST_MIX({args})"), COUNT)
        style_calc(ws.cell(r, 6, f'=PLAN_CHEAPEST_MIX({args},"pv")'), MONEY)
        w.row += 1
    last_kind = w.row - 1
    define(wb, "br_kind_names", TITLE, f"$A${first_kind}:$A${last_kind}")
    for col, nm in [(2, "capex"), (3, "fixed"), (4, "energy"), (5, "base"), (6, "pv")]:
        define(wb, f"br_kind_{nm}", TITLE, f"${get_column_letter(col)}${first_kind}:${get_column_letter(col)}${last_kind}")
    w.calc("Largest peak need over the horizon", "=MAX(br_m_need)", "replicas", "Size of a pure base fleet", COUNT,
           name="br_need_max")
    age = "(1-(br_horizon-br_m_month+1)/(br_life*eng_months_per_year))"
    for label, key, nm in [("Owned", "owned", "br_resale_owned"), ("Mix", "cheapest_mix", "br_resale_mix")]:
        w.calc(f"{label}: resale at the end", f"=br_residual*SUMPRODUCT(br_m_capex_{key},{age}*({age}>0)*br_m_on)",
               "USD", "Resale share x straight-line book value left at month H (credited in month H)", MONEY,
               name=nm)
    kinds = [f"INDEX(br_kind_pv,{k})" for k in (1, 2, 3)]
    w.calc("Cheapest base kind", "=" + numbers_or_refusal(kinds, "MATCH(MIN(br_kind_pv),br_kind_pv,0)"), "1-3", "1 owned, 2 committed 1y, 3 committed 3y",
           COUNT, name="br_mix_kind")
    w.calc("Base kind of the mix", "=INDEX(br_kind_names,br_mix_kind)", "", "", "General", output=True)
    w.calc("Base replicas of the mix", "=INDEX(br_kind_base,br_mix_kind)", "replicas",
           "Bought or committed as demand reaches them; the rest of each day's load goes to burst", COUNT,
           name="br_mix_base", output=True)
    w.calc("Capex per base GPU (mix)", "=INDEX(br_kind_capex,br_mix_kind)", "USD", "", MONEY, name="br_mix_capex")
    w.calc("Fixed per base GPU-month (mix)", "=INDEX(br_kind_fixed,br_mix_kind)", "USD/month", "", MONEY2,
           name="br_mix_fixed")
    w.calc("Energy per base GPU-month at 100 % (mix)", "=INDEX(br_kind_energy,br_mix_kind)", "USD/month", "", MONEY2,
           name="br_mix_energy")

    # ------------------------------------------------------------------ results
    res_row = w.row + 1
    table_hdr = res_row + 170      # results, appraisal, lifecycle, tornado, API list and chart fit above
    _results_and_table(w, res_row, table_hdr)
    w.freeze("B4")
    w.finish(last_col="F")


# =============================================================================== month table and results
OPTIONS = ["Owned", "Committed 1y", "Committed 3y", "On-demand", "Spot", "Hosted API", "Cheapest mix"]


def _results_and_table(w: Writer, res_row: int, table_hdr: int) -> None:
    wb, ws = w.wb, w.ws
    first, last = table_hdr + 1, table_hdr + MONTHS
    cols = _month_table(w, table_hdr, first, last)

    def rng(key):
        c = cols[key]
        return f"${c}${first}:${c}${last}"

    # ------------------------------------------------------------------ results per option
    w.row = res_row
    w.section("Results per option over the horizon")
    hdr = w.header(["Option", "Present cost (USD, Excel NPV)", "Total cost (USD)", "Cost per 1M tokens (USD)",
                    "Present cost by the function (USD)", "Cheapest"])
    ws.row_dimensions[hdr].height = 32
    r0 = w.row
    fleet = "br_tokens_per_day,br_growth,br_peak,br_horizon,br_tokps,br_gpr,br_reserve"
    rented = "br_tokens_per_day,br_growth,br_peak,br_horizon,br_tokps,br_gpr,br_no_base"   # no spare replicas
    fn = {"Owned": f"=PLAN_FLEET_PV({fleet},br_capex,br_fixed,br_energy_full,br_mtok_burst,br_rate,br_all_base,br_residual,br_life)",
          "Committed 1y": f"=PLAN_FLEET_PV({fleet},br_no_base,$C${r0 + 7},br_no_base,br_mtok_burst,br_rate)",
          "Committed 3y": f"=PLAN_FLEET_PV({fleet},br_no_base,$C${r0 + 8},br_no_base,br_mtok_burst,br_rate)",
          "On-demand": f"=PLAN_FLEET_PV({rented},br_no_base,br_od_month,br_no_base,br_mtok_od,br_rate,br_min_on)",
          "Spot": f"=PLAN_FLEET_PV({rented},br_no_base,br_spot_month,br_no_base,br_mtok_spot,br_rate,br_min_on)",
          "Hosted API": f"=PLAN_FLEET_PV({fleet},br_no_base,br_no_base,br_no_base,br_mtok_api,br_rate,br_no_base)",
          "Cheapest mix": f"=PLAN_FLEET_PV({fleet},br_mix_capex,br_mix_fixed,br_mix_energy,br_mtok_burst,br_rate,"
                          "br_mix_base,br_residual,br_life)"}
    allowed = [f"$B${r0 + k}" for k in range(4)] + [f"IF(br_allow_spot,$B${r0 + 4},$B${r0 + 3})", f"$B${r0 + 5}"]
    allowed_min = numbers_or_refusal(allowed, f"MIN({','.join(allowed)})")
    for i, opt in enumerate(OPTIONS):
        r = w.row
        ws.cell(r, 1, opt)
        style_calc(ws.cell(r, 2, f"=NPV(br_rate_m,{rng('cost_' + opt)})"), MONEY, output=True)
        style_calc(ws.cell(r, 3, f"=SUM({rng('cost_' + opt)})"), MONEY)
        style_calc(ws.cell(r, 4, f"=C{r}/(SUM({rng('tpd')})*eng_hours_per_month/eng_hours_per_day)*br_mtok"), MONEY4)
        style_calc(ws.cell(r, 5, fn[opt]), MONEY)
        style_calc(ws.cell(r, 6, f'=IF(B{r}={allowed_min},"cheapest pure","")' if opt != "Cheapest mix" else
                   f'=IF(B{r}<={allowed_min}+1E-6*ABS(B{r}),"never dearer","CHECK")'), "General")
        define(wb, "br_pv_" + opt.lower().replace(" ", "_").replace("-", "_"), TITLE, f"$B${r}")
        w.row += 1
    define(wb, "br_option_names", TITLE, f"$A${r0}:$A${r0 + len(OPTIONS) - 1}")
    define(wb, "br_option_pv", TITLE, f"$B${r0}:$B${r0 + len(OPTIONS) - 1}")
    define(wb, "br_option_pv_fn", TITLE, f"$E${r0}:$E${r0 + len(OPTIONS) - 1}")
    # committed monthly fixed cost per GPU (read by the function column above)
    for r, name in [(r0 + 7, "br_c1_price"), (r0 + 8, "br_c3_price")]:
        ws.cell(r, 1, f"Committed rent per GPU-month ({name[3:5]})")
        style_calc(ws.cell(r, 3, f"={name}*eng_hours_per_month"), MONEY2)
        ws.cell(r, 4, "USD/month: price x 730 h")
    w.row = r0 + 9
    w.calc("Cheapest pure option", f"=INDEX(br_option_names,MATCH({allowed_min},$B${r0}:$B${r0 + 5},0))",
           "", "Lowest present cost without mixing (spot only when allowed)", "General", output=True)
    w.calc("Mix saves against it", f"={allowed_min}-br_pv_cheapest_mix", "USD (present value)",
           "Never below zero: the mix family contains every pure option", MONEY, output=True, name="br_mix_saving")

    # ------------------------------------------------------------------ appraisal: own vs best alternative
    w.section("Investment appraisal: owning (pure) against the cheapest option that owns nothing")
    w.header(["Result", "Value", "Unit", "Formula / note"])
    alternatives = ["br_pv_committed_1y", "br_pv_committed_3y", "br_pv_on_demand",
                    "IF(br_allow_spot,br_pv_spot,br_pv_on_demand)", "br_pv_hosted_api"]
    w.calc("Cheapest alternative", "=" + numbers_or_refusal(
           alternatives, f"INDEX(br_option_names,1+MATCH(MIN({','.join(alternatives)}),$B${r0 + 1}:$B${r0 + 5},0))"), "", "Spot counts only when allowed", "General", name="br_alt_name")
    w.calc("NPV of owning", f"=NPV(br_rate_m,{rng('incr')})", "USD",
           "Excel NPV of (alternative's cost - owned cost) by month: > 0 means buy", MONEY, name="br_npv_own",
           output=True)
    w.calc("IRR of owning, per month", f'=IF(SUM({rng("incr")})<=0,"below 0: owning never recovers its cost",'
           f'IFERROR(IRR({rng("incr")}),"no IRR: flows do not change sign"))',
           "fraction per month", "Excel IRR of the same flows (zeros after the horizon change no IRR)", "0.00%",
           name="br_irr_m")
    w.calc("IRR of owning, per year", '=IF(ISNUMBER(br_irr_m),(1+br_irr_m)^eng_months_per_year-1,br_irr_m)',
           "fraction per year", "(1 + monthly)^12 - 1", PCT, name="br_irr_y", output=True)
    w.calc("Payback month of owning", f'=IF(ISERROR(SUM({rng("paid")})),SUM({rng("paid")}),IF(COUNT({rng("paid")})=0,"not within the horizon",MIN({rng("paid")})))',
           "month", "First month from which the cumulative saving stays >= 0", COUNT, name="br_payback", output=True)
    w.calc("Owned GPUs at the end", f"=INDEX({rng('gpus_Owned')},br_horizon)", "GPUs", "Including the reserve",
           COUNT)
    w.calc("Average utilisation of the owned fleet", f"=SUMPRODUCT({rng('util_Owned')},{rng('gpus_Owned')},"
           f"{rng('on')})/SUMPRODUCT({rng('gpus_Owned')},{rng('on')})", "fraction", "GPU-month weighted; compare with the break-even above", PCT,
           name="br_owned_util")

    # ------------------------------------------------------------------ lifecycle (seed 000)
    w.section("Lifecycle: fine-tune, then serve with the cheapest mix, against a revenue or savings line (seed 000)")
    w.header(["Input / result", "Value", "Unit", "Formula / note"])
    w.input("Fine-tuning tokens", "br_ft_tokens", EXAMPLE["finetune_tokens"], "tokens",
            "PLACEHOLDER assumption: one pass over 100 M tokens of your data; replace", TOKENS,
            number_validation(0, 1e15, "Tokens"))
    w.input("Fine-tuning MFU", "br_ft_mfu", EXAMPLE["finetune_mfu"], "fraction",
            "Llama 3 paper: 38-43 % BF16 MFU on H100", PCT, number_validation(0.01, 1, "MFU"))
    w.calc("Fine-tuning GPU-hours", "=LLM_TRAIN_GPU_HOURS(br_model,br_ft_tokens,br_gpu,\"bf16\",br_ft_mfu)",
           "GPU-hours", "Engine: 6ND + attention at the MFU, bf16", COUNT, name="br_ft_hours")
    w.calc("Fine-tuning cost (rented on demand)", "=br_ft_hours*br_od_price", "USD", "Paid in month 1", MONEY,
           name="br_ft_cost")
    w.input("Revenue or savings per 1M tokens (blank = the API price avoided)", "br_revenue_override", None,
            "USD per 1M tokens", "What serving earns, or what it saves against calling the API", MONEY4,
            _optional_number(0, 1e6, "Revenue"))
    w.calc("Revenue or savings per 1M tokens used", "=IF(ISBLANK(br_revenue_override),br_mtok_api,br_revenue_override)",
           "USD per 1M tokens", "", MONEY4, name="br_revenue")
    w.calc("Lifecycle NPV", f"=NPV(br_rate_m,{rng('life')})", "USD", "Revenue - mix serving cost - fine-tuning",
           MONEY, output=True, name="br_life_npv")
    w.calc("Lifecycle IRR, per year", f'=IF(SUM({rng("life")})<=0,"below 0: never recovers its cost",'
           f'IFERROR((1+IRR({rng("life")}))^eng_months_per_year-1,'
           '"no IRR: flows do not change sign"))', "fraction per year", "Excel IRR of the monthly flows", PCT)
    w.calc("Lifecycle payback month", f'=IF(ISERROR(SUM({rng("life_paid")})),SUM({rng("life_paid")}),'
           f'IF(COUNT({rng("life_paid")})=0,"not within the horizon",MIN({rng("life_paid")})))', "month", "Cumulative cash stays >= 0 from then on", COUNT, output=True)

    # ------------------------------------------------------------------ tornado
    _tornado(w)

    # ------------------------------------------------------------------ API price list
    w.section("Hosted-API price list (edit or add rows; dated and sourced)")
    w.header(["API", "USD per 1M input tokens", "USD per 1M output tokens", "Date and source"])
    a0 = w.row
    for row in economics.api_price_rows():
        r = w.row
        style_input(ws.cell(r, 1, row["name"]))
        style_input(ws.cell(r, 2, float(row["usd_per_mtok_input"])), MONEY2)
        style_input(ws.cell(r, 3, float(row["usd_per_mtok_output"])), MONEY2)
        ws.cell(r, 4, f"{row['provider']} {row['model']}, {row['date']}: {row['source']}")
        w.row += 1
    a_last = a0 + 11     # room for a few rows a user adds
    validate(ws, DataValidation(type="textLength", operator="between", formula1="1", formula2="100",
                                allow_blank=True), f"A{a0}:A{a_last}")
    validate(ws, _optional_number(0, 1e6, "API price"), f"B{a0}:C{a_last}")
    for r in range(w.row, a_last + 1):
        for c in (1, 2, 3):
            style_input(ws.cell(r, c), MONEY2 if c > 1 else "General")
    define(wb, "br_api_names", TITLE, f"$A${a0}:$A${a_last}")
    define(wb, "br_api_in", TITLE, f"$B${a0}:$B${a_last}")
    define(wb, "br_api_out", TITLE, f"$C${a0}:$C${a_last}")
    w.row = a_last + 2
    assert w.row < table_hdr - 30, (w.row, table_hdr)   # room for the chart

    # ------------------------------------------------------------------ chart of cumulative cost
    ws.row_breaks.append(Break(id=w.row - 1))
    chart = LineChart()
    chart.title = "Cumulative cost by option (USD)"
    chart.y_axis.title = "USD"
    chart.x_axis.title = "Month"
    chart.y_axis.numFmt = "#,##0"
    for opt in OPTIONS:
        c = cols["cum_" + opt]
        col = ws[f"{c}{table_hdr}"].column
        chart.add_data(Reference(ws, min_col=col, min_row=table_hdr, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    for series in chart.series:
        series.smooth = False
    chart.height, chart.width = 12, 30
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    ws.add_chart(chart, f"A{w.row}")
    ws.row_breaks.append(Break(id=table_hdr - 2))
    ws.cell(last + 2, 1, "Month table: cash flows of month m fall in period m (Excel NPV). Rows past the horizon "
                         "are zero.").font = SUBTITLE_FONT
    ws.cell(last + 3, 1, "End of sheet").font = Font(size=8, color="BFBFBF")


def _month_table(w: Writer, hdr: int, first: int, last: int) -> dict:
    """The native month-by-month table; returns {key: column letter}."""
    ws, wb = w.ws, w.wb
    ws.cell(hdr - 1, 1, "Month by month (native Excel; one row per month)").font = Font(bold=True, size=11,
                                                                                      color="1F3864")
    cols: dict[str, str] = {}
    spec: list[tuple[str, str, str, str]] = []   # (key, header, formula template with {r} and {p}, format)

    def add(key, header, formula, fmt=MONEY):
        spec.append((key, header, formula, fmt))
        cols[key] = get_column_letter(len(spec))

    def c(key):
        return cols[key]
    add("month", "Month", "={month}{rp}+1", COUNT)
    add("on", "In horizon (1/0)", "=IF({month}{r}<=br_horizon,1,0)", COUNT)
    add("tpd", "Tokens per day", "=br_tokens_per_day*(1+br_growth)^({month}{r}-1)*{on}{r}", TOKENS)
    add("avg", "Average tokens/s", "={tpd}{r}/(eng_hours_per_day*br_s_per_hour)", RATE)
    add("need", "Replicas for the peak", "=ROUNDUP(br_peak*{avg}{r}/br_tokps-1E-9,0)", COUNT)
    peak_t = "br_peak*{avg}{r}"
    trough = "MAX(2-br_peak,0)*{avg}{r}"
    slope = "IF(br_peak<=2,2*(br_peak-1)*{avg}{r},br_peak^2*{avg}{r}/2)"
    month_hours = "br_s_per_hour*eng_hours_per_month/br_mtok"
    pure = "br_need_max"
    for name, fixed in [("Committed 1y", "br_c1_price*eng_hours_per_month"),
                        ("Committed 3y", "br_c3_price*eng_hours_per_month")]:
        # committed for every month's peak: no capex, no energy, no overflow; rent paid for every hour
        add(f"gpus_{name}", f"{name}: GPUs",
            f"=IF({{need}}{{r}}>0,MAX(IF({{month}}{{r}}=1,0,{{gpus_{name}}}{{rp}}),({{need}}{{r}}+br_reserve)*br_gpr),"
            f"IF({{month}}{{r}}=1,0,{{gpus_{name}}}{{rp}}))*{{on}}{{r}}", COUNT)
        add(f"cost_{name}", f"{name}: cost", f"={{gpus_{name}}}{{r}}*{fixed}")
    for name, cap, capex, fixed, energy, full in [
            ("Owned", pure, "br_capex", "br_fixed", "br_energy_full", False),
            ("Cheapest mix", "br_mix_base", "br_mix_capex", "br_mix_fixed", "br_mix_energy", True)]:
        k = name
        add(f"base_{k}", f"{name}: base replicas",
            f"=MAX(IF({{month}}{{r}}=1,0,{{base_{k}}}{{rp}}),MIN({cap},{{need}}{{r}}))", COUNT)
        add(f"gpus_{k}", f"{name}: GPUs", f"=IF({{base_{k}}}{{r}}>0,{{base_{k}}}{{r}}+br_reserve,0)*br_gpr", COUNT)
        add(f"capex_{k}", f"{name}: capex", f"=({{gpus_{k}}}{{r}}-IF({{month}}{{r}}=1,0,{{gpus_{k}}}{{rp}}))*{capex}")
        served = "{avg}{r}"
        if full:
            capy = f"{{base_{k}}}{{r}}*br_tokps"
            add(f"over_{k}", f"{name}: overflow tokens/s",
                f"=IF({capy}>={peak_t},0,IF({capy}<{trough},{{avg}}{{r}}-{capy},({peak_t}-{capy})^2/(2*{slope})))",
                RATE)
            served = f"({{avg}}{{r}}-{{over_{k}}}{{r}})"
        add(f"util_{k}", f"{name}: utilisation",
            f"=IF({{gpus_{k}}}{{r}}>0,{served}/({{gpus_{k}}}{{r}}/br_gpr*br_tokps),0)", PCT)
        burst = f"+{{over_{k}}}{{r}}*{month_hours}*br_mtok_burst" if full else ""
        add(f"run_{k}", f"{name}: running + burst cost",
            f"={{gpus_{k}}}{{r}}*({fixed}+{{util_{k}}}{{r}}*{energy})*{{on}}{{r}}{burst}")
        add(f"cost_{k}", f"{name}: cost",
            f"={{capex_{k}}}{{r}}+{{run_{k}}}{{r}}-IF({{month}}{{r}}=br_horizon,br_resale_{k.split()[-1].lower()},0)")
    add("minon", "Rented: replicas always on", "=MAX(IF({month}{r}=1,0,{minon}{rp}),MIN(br_min_on,{need}{r}))", COUNT)
    capm = "{minon}{r}*br_tokps"
    add("over_minon", "Rented: load above them (tokens/s)",
        f"=IF({capm}>={peak_t},0,IF({capm}<{trough},{{avg}}{{r}}-{capm},({peak_t}-{capm})^2/(2*{slope})))", RATE)
    for name, month_price, mtok in [("On-demand", "br_od_month", "br_mtok_od"), ("Spot", "br_spot_month", "br_mtok_spot")]:
        add(f"cost_{name}", f"{name}: cost",
            f"={{minon}}{{r}}*br_gpr*{month_price}*{{on}}{{r}}+{{over_minon}}{{r}}*{month_hours}*{mtok}")
    add("cost_Hosted API", "Hosted API: cost", f"={{avg}}{{r}}*{month_hours}*br_mtok_api")
    for name in OPTIONS:
        add(f"cum_{name}", name, f"={{cum_{name}}}{{rp}}+{{cost_{name}}}{{r}}")
    alt_col = ("CHOOSE(MATCH(br_alt_name,br_option_names,0)-1,{cost_Committed 1y}{r},{cost_Committed 3y}{r},"
               "{cost_On-demand}{r},{cost_Spot}{r},{cost_Hosted API}{r})")
    add("alt", "Cheapest alternative: cost", "=" + alt_col)
    add("incr", "Owning saves (alternative - owned)", "={alt}{r}-{cost_Owned}{r}")
    add("cum_incr", "Cumulative saving of owning", "={cum_incr}{rp}+{incr}{r}")
    add("min_incr", "Lowest cumulative saving from this month on", f"=IF(ROW()={last},{{cum_incr}}{{r}},"
        "MIN({cum_incr}{r},{min_incr}{rn}))")
    add("paid", "Owning paid back for good (month)", '=IF(AND({on}{r}=1,{min_incr}{r}>=0),{month}{r},"")', COUNT)
    add("life", "Lifecycle net cash",
        "={tpd}{r}*eng_hours_per_month/eng_hours_per_day/br_mtok*br_revenue-{cost_Cheapest mix}{r}"
        "-IF({month}{r}=1,br_ft_cost,0)")
    add("cum_life", "Lifecycle cumulative cash", "={cum_life}{rp}+{life}{r}")
    add("min_life", "Lowest cumulative cash from this month on", f"=IF(ROW()={last},{{cum_life}}{{r}},"
        "MIN({cum_life}{r},{min_life}{rn}))")
    add("life_paid", "Lifecycle paid back for good (month)", '=IF(AND({on}{r}=1,{min_life}{r}>=0),{month}{r},"")',
        COUNT)

    for j, (key, header, formula, fmt) in enumerate(spec, start=1):
        h = ws.cell(hdr, j, header)
        h.fill, h.font = HEADER_FILL, HEADER_FONT
        h.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(j)].width = max(ws.column_dimensions[get_column_letter(j)].width or 0, 13)
        for r in range(first, last + 1):
            text = formula
            for kk, col in sorted(cols.items(), key=lambda kv: -len(kv[0])):
                text = text.replace("{" + kk + "}", col)
            if r == first:   # the row above is the header: the previous month is 0 (month 1 for "Month")
                text = re.sub(r"\$?[A-Z]{1,3}\{rp\}", "0", text)
                text = re.sub(r"IF\(([A-Z]{1,3})\{r\}=1,0,0\)", "0", text)
                text = re.sub(r"^=0\+", "=", text).replace("-0)", ")").replace("MAX(0,MIN(", "(MIN(")
            if r == last:    # no row below: the running minimum starts here
                text = re.sub(r"IF\(ROW\(\)=\d+,([A-Z]{1,3}\d+|[A-Z]{1,3}\{r\}),MIN\([^)]*\)\)", r"\1", text)
            text = re.sub(r"IF\(ROW\(\)=\d+,([A-Z]{1,3}\{r\}),(MIN\([^)]*\))\)", r"\2", text)
            text = text.replace("{r}", str(r)).replace("{rp}", str(r - 1)).replace("{rn}", str(r + 1))
            style_calc(ws.cell(r, j, text), fmt, output=key.startswith("cost_"))
        define(wb, "br_m_" + key.lower().replace(" ", "_").replace("-", "_"), TITLE,
               f"${get_column_letter(j)}${first}:${get_column_letter(j)}${last}")
    ws.row_dimensions[hdr].height = 58
    return cols


# ================================================================================== tornado of the NPV
DRIVERS = [  # (label, what moves)
    ("GPU purchase price", "price"), ("On-demand and committed price", "od"), ("API price", "api"),
    ("Demand (tokens/day)", "tpd"), ("Demand growth", "growth"), ("Peak-to-average", "peak"),
    ("Replica throughput", "tokps"), ("Electricity price", "energy"), ("Discount rate", "rate"),
]


def _tornado(w: Writer) -> None:
    """NPV of owning at each driver x low and x high, every other input at its base value.

    Each variant is one row of workings: the moved inputs, the per-GPU and per-token costs derived from them
    (native), then the present costs of owning and of every alternative (PLAN_FLEET_PV)."""
    ws, wb = w.ws, w.wb
    w.section("Tornado: NPV of owning when one driver moves (the others at base)")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("Low factor", "br_low", 0.8, "x", "Each driver times this", "0.00", number_validation(0.01, 1, "Low"))
    w.input("High factor", "br_high", 1.2, "x", "Each driver times this", "0.00", number_validation(1, 100, "High"))
    names = ["Driver", "Low: NPV of owning (USD)", "High: NPV of owning (USD)", "Low - base (USD)", "High - base (USD)",
             "Swing (USD)"]
    t_hdr = w.header(names)
    ws.row_dimensions[t_hdr].height = 32
    t_first = w.row
    # workings columns H.. on the tornado rows: two variants (low, high) per driver + the base
    wcols = ["factor", "price", "od", "api_in", "api_out", "tpd", "growth", "peak", "tokps", "energy", "rate",
             "capex", "fixed", "energy_full", "mtok_od", "mtok_api", "mtok_spot", "burst", "c1_fixed", "c3_fixed",
             "od_month", "spot_month",
             "pv_owned", "pv_c1", "pv_c3", "pv_od", "pv_spot", "pv_api", "npv"]
    W0 = 8
    col = {k: get_column_letter(W0 + i) for i, k in enumerate(wcols)}
    work_hdr = t_hdr
    for k in wcols:
        h = ws.cell(work_hdr, W0 + wcols.index(k), "w: " + k)
        h.fill, h.font = HEADER_FILL, HEADER_FONT
    base_ref = {"price": "br_gpu_price", "od": "br_od_price", "api_in": "br_api_in_price",
                "api_out": "br_api_out_price", "tpd": "br_tokens_per_day", "growth": "br_growth", "peak": "br_peak",
                "tokps": "br_tokps", "energy": "br_energy_price", "rate": "br_rate"}
    moves = {"price": ["price"], "od": ["od"], "api": ["api_in", "api_out"], "tpd": ["tpd"], "growth": ["growth"],
             "peak": ["peak"], "tokps": ["tokps"], "energy": ["energy"], "rate": ["rate"]}
    fleet = "{tpd}{r},{growth}{r},{peak}{r},br_horizon,{tokps}{r},br_gpr,br_reserve"
    rented = "{tpd}{r},{growth}{r},{peak}{r},br_horizon,{tokps}{r},br_gpr,br_no_base"
    derived = {
        "capex": "={price}{r}*(1+br_server_share)",
        "fixed": "=br_colo_m+{capex}{r}*br_maintenance/eng_months_per_year+br_staff_m",
        "energy_full": "=br_kw*br_pue*eng_hours_per_month*{energy}{r}",
        "mtok_od": "={od}{r}*br_gpr/({tokps}{r}*br_s_per_hour)*br_mtok",
        "mtok_api": "=(br_input_tokens*{api_in}{r}+br_output_tokens*{api_out}{r})/br_context",
        "mtok_spot": "={spot_month}{r}/eng_hours_per_month*br_gpr/({tokps}{r}*br_s_per_hour)*br_mtok",
        "burst": "=" + numbers_or_refusal(_ROW_BURST, f"MIN({','.join(_ROW_BURST)})"),
        "c1_fixed": "=br_c1_price*{od}{r}/br_od_price*eng_hours_per_month",
        "c3_fixed": "=br_c3_price*{od}{r}/br_od_price*eng_hours_per_month",
        "od_month": "={od}{r}*eng_hours_per_month",
        "spot_month": "=br_spot_price*{od}{r}/br_od_price*eng_hours_per_month",
        "pv_owned": f"=PLAN_FLEET_PV({fleet},{{capex}}{{r}},{{fixed}}{{r}},{{energy_full}}{{r}},{{burst}}{{r}},"
                    "{rate}{r},br_all_base,br_residual,br_life)",
        "pv_c1": f"=PLAN_FLEET_PV({fleet},br_no_base,{{c1_fixed}}{{r}},br_no_base,{{burst}}{{r}},{{rate}}{{r}})",
        "pv_c3": f"=PLAN_FLEET_PV({fleet},br_no_base,{{c3_fixed}}{{r}},br_no_base,{{burst}}{{r}},{{rate}}{{r}})",
        "pv_od": f"=PLAN_FLEET_PV({rented},br_no_base,{{od_month}}{{r}},br_no_base,{{mtok_od}}{{r}},{{rate}}{{r}},"
                 "br_min_on)",
        "pv_spot": f"=PLAN_FLEET_PV({rented},br_no_base,{{spot_month}}{{r}},br_no_base,{{mtok_spot}}{{r}},{{rate}}{{r}},"
                   "br_min_on)",
        "pv_api": f"=PLAN_FLEET_PV({fleet},br_no_base,br_no_base,br_no_base,{{mtok_api}}{{r}},{{rate}}{{r}},"
                  "br_no_base)",
        "npv": "=" + numbers_or_refusal(_ROW_PVS, f"MIN({','.join(_ROW_PVS)})-{{pv_owned}}{{r}}"),
    }

    def fill(text, r):
        for k in sorted(col, key=len, reverse=True):
            text = text.replace("{" + k + "}", col[k])
        return text.replace("{r}", str(r))

    def work_row(r, moved, factor):
        style_calc(ws.cell(r, W0, f"={factor}"), "0.00")
        for k, ref in base_ref.items():
            f = f"={ref}*{col['factor']}{r}" if k in moved else f"={ref}"
            style_calc(ws.cell(r, W0 + wcols.index(k), f), MONEY4)
        for k, f in derived.items():
            style_calc(ws.cell(r, W0 + wcols.index(k), fill(f, r)), MONEY4)

    # rows: one per driver on the tornado (low in this row's workings, high in the row below the table)
    n = len(DRIVERS)
    base_row = t_first + n + 1
    high_first = base_row + 1
    for i, (label, key) in enumerate(DRIVERS):
        r = t_first + i
        ws.cell(r, 1, label)
        work_row(r, moves[key], "br_low")
        work_row(high_first + i, moves[key], "br_high")
        ws.cell(high_first + i, W0 - 1, label + " (high)").font = SUBTITLE_FONT
        style_calc(ws.cell(r, 2, f"={col['npv']}{r}"), MONEY)
        style_calc(ws.cell(r, 3, f"={col['npv']}{high_first + i}"), MONEY)
        style_calc(ws.cell(r, 4, f"=B{r}-br_tornado_base"), MONEY, output=True)
        style_calc(ws.cell(r, 5, f"=C{r}-br_tornado_base"), MONEY, output=True)
        style_calc(ws.cell(r, 6, f"=ABS(C{r}-B{r})"), MONEY)
    t_last = t_first + n - 1
    ws.cell(base_row, W0 - 1, "Base (every driver x 1)").font = SUBTITLE_FONT
    work_row(base_row, [], "1")
    define(wb, "br_tornado_base", TITLE, f"${col['npv']}${base_row}")
    w.row = t_last + 1
    w.calc("NPV of owning at base (workings)", f"=br_tornado_base", "USD", "Equals the Excel NPV above", MONEY,
           name="br_tornado_base_shown")
    w.calc("Driver that moves the NPV most", f"=INDEX($A${t_first}:$A${t_last},MATCH(MAX($F${t_first}:$F${t_last}),"
           f"$F${t_first}:$F${t_last},0))", "", "Largest swing between its low and high", "General", output=True,
           name="br_top_driver")

    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "clustered"
    chart.overlap = 100
    chart.gapWidth = 40
    chart.title = "Tornado: change of the NPV of owning (USD)"
    chart.add_data(Reference(ws, min_col=4, max_col=5, min_row=t_hdr, max_row=t_last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=t_first, max_row=t_last))
    chart.y_axis.numFmt = "#,##0"
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.tickLblPos = "low"
    chart.x_axis.scaling.orientation = "maxMin"
    chart.legend.position = "b"
    chart.height, chart.width = 9, 22
    w.row += 1
    ws.add_chart(chart, f"A{w.row}")
    w.row = max(w.row + 24, high_first + n + 1)
    _ = string


_ROW_BURST = ["IF(br_serverless,{mtok_od}{r},{mtok_api}{r})", "{mtok_api}{r}", "IF(br_allow_spot,{mtok_spot}{r},{mtok_api}{r})"]
_ROW_PVS = ["{pv_c1}{r}", "{pv_c3}{r}", "{pv_od}{r}", "IF(br_allow_spot,{pv_spot}{r},{pv_od}{r})", "{pv_api}{r}"]


def numbers_or_refusal(operands: list[str], answer: str) -> str:
    """``answer`` (a MIN, MAX or MATCH over ``operands``) where every operand is a number; else the first operand
    that is not: MIN and MAX skip text, so a refused ('#...') or missing figure would otherwise drop out of the
    comparison and the answer would read as if it had been compared."""
    text = answer
    for op in reversed(operands):
        text = f"IF(ISNUMBER({op}),{text},{op})"
    return text

