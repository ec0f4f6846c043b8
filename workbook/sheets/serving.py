"""Serving plan (issue 13): users, request rate, prompt/output lengths, SLOs, engine and candidate GPUs ->
GPUs and replicas needed (low / base / high band), cost per month and per 1M input / output tokens beside a
hosted-API price typed in; a chart of replica throughput vs per-user speed as concurrency grows.

Every number is a formula over the inputs: LLM_GPUS_FOR_SLO / LLM_REPLICAS_FOR_SLO (M/D/1 TTFT queueing,
continuous batching with prefill interference), LLM_COST_PER_MTOK_IO for the input/output split of GPU time,
LLM_SERVE_TOKPS for the chart. Cost per token is at the planned load (idle capacity included): monthly cost
x the GPU-time share of prefill (or decode) / tokens served per month.
"""

from __future__ import annotations

from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.pagebreak import Break

from udfs.core import speed

from ..layout import (COUNT, MONEY, MONEY2, RATE, RATIO, SECONDS, SUBTITLE_FONT, Writer, choice_validation, define,
                      gpu_field, list_validation, number_validation, style_calc, style_input, validate)

TITLES = ["Serving plan"]
TITLE = TITLES[0]
CANDIDATES = ["h100-sxm", "h200-sxm", "b200", "a100-sxm-80gb", "l40s", "rtx-4090"]
CONCURRENCY = [1, 2, 4, 8, 16, 32, 64, 128, 256]



def _passed(col: str, r: int) -> str:
    """What a cell shows when its source is not a number: the source's own '#' text (a refusal, such as a
    share copy's #frozen) or error, passed through so it is never hidden behind "-"; else "-"."""
    src = f"{col}{r}"
    return f'IF(ISERROR({src}),{src},IF(LEFT({src}&"")="#",{src},"-"))'

def build(wb) -> None:
    w = Writer(wb, TITLE, widths={"A": 40, "B": 14, "C": 14, "D": 14, "E": 14, "F": 14, "G": 14, "H": 15,
                                  "I": 15, "J": 15, "K": 15, "L": 15, "M": 14})
    ws = w.ws
    w.heading("Serving plan: GPUs, replicas and cost to serve your users at a TTFT and tokens/s target",
              "Orange cells are inputs. Time in seconds, speed in tokens/s, money in the currency of the GPU "
              "prices (GPUs sheet: USD). Bands: low / base / high from the validation's held-out spread.")

    w.section("Constants")
    w.header(["Name", "Value", "Unit", "Note"])
    for name, value, unit, note in [("sv_seconds_per_hour", 3600, "s", "Seconds in an hour (calendar)"),
                                    ("sv_tokens_per_mtok", 1_000_000, "tokens", "Tokens in the 1M of a price list"),
                                    ("sv_min_concurrency", 1, "sequences", "At least one sequence per replica")]:
        ws.cell(w.row, 1, name)
        c = ws.cell(w.row, 2, value)
        c.style, c.number_format = "Note", COUNT
        ws.cell(w.row, 3, unit)
        ws.cell(w.row, 4, note)
        define(wb, name, w.title, f"$B${w.row}")
        w.row += 1

    w.section("Workload and targets")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("Model", "sv_model", "llama-3.1-70b", "name", "Models sheet", validation=list_validation("ModelNames", "model"))
    w.input("Weight precision", "sv_precision", "fp8", "format", "Precisions sheet",
            validation=list_validation("PrecisionNames", "precision"))
    w.input("KV-cache precision", "sv_kv", "fp16", "format", "fp8 halves the cache: more users per GPU",
            validation=list_validation("KVPrecisionNames", "KV-cache format"))
    engines = [n for n in speed.engine_names()]
    w.input("Engine", "sv_engine", "vllm", "name",
            "vllm, sglang, tensorrt-llm, llama.cpp, mlx, transformers; auto = by GPU and format (engines.csv)",
            validation=choice_validation(engines, "Engine"))
    w.input("Users", "sv_users", 2000, "users", "People using the service in the busy hour", COUNT,
            number_validation(1, 1e9, "Users", whole=True))
    w.input("Requests per user per hour", "sv_req_per_user", 6, "requests/hour", "In the busy hour", RATE,
            number_validation(0.001, 1e6, "Requests per user per hour"))
    rate = w.calc("Request rate", "=sv_users*sv_req_per_user/sv_seconds_per_hour", "requests/s",
                  "Users x requests per hour / 3600 (Poisson arrivals)", "#,##0.00", name="sv_rate")
    w.input("Prompt length", "sv_prompt", 1500, "tokens", "Input tokens per request (system prompt included)", COUNT,
            number_validation(1, 1e7, "Prompt tokens", whole=True))
    w.input("Output length", "sv_output", 300, "tokens", "Generated tokens per request", COUNT,
            number_validation(0, 1e7, "Output tokens", whole=True))
    w.input("Time-to-first-token target (p95)", "sv_ttft", 2, "s", "95 % of requests see their first token sooner",
            SECONDS, number_validation(0.001, 1e4, "TTFT target"))
    w.input("Speed per user target", "sv_tokps_user", 20, "tokens/s", "Reading speed is about 5-10 tokens/s",
            RATE, number_validation(0.01, 1e5, "Tokens/s per user"))
    w.input("Hosted API price, input", "sv_api_in", 0.6, "USD per 1M tokens", "Type the price list you compare with",
            MONEY2, number_validation(0, 1e6, "API input price"))
    w.input("Hosted API price, output", "sv_api_out", 0.8, "USD per 1M tokens", "Type the price list you compare with",
            MONEY2, number_validation(0, 1e6, "API output price"))
    w.calc("Input tokens per month", "=sv_rate*sv_prompt*sv_seconds_per_hour*eng_hours_per_month", "tokens",
           "At the busy-hour rate around the clock (an upper bound)", COUNT, name="sv_in_tokens")
    w.calc("Output tokens per month", "=sv_rate*sv_output*sv_seconds_per_hour*eng_hours_per_month", "tokens",
           "Same load", COUNT, name="sv_out_tokens")
    w.input("Band for the chart and the cost columns", "sv_band", "base", "band",
            "low / base / high (the GPU counts show all three)", validation=choice_validation(["low", "base", "high"], "Band"))

    # ------------------------------------------------------------------ candidate GPUs
    w.section("Candidate GPUs", "GPUs needed = replicas x GPUs per replica (1, 2, 4 or 8 per replica tried)")
    names = ["GPU", "Cloud price (USD/GPU-hour)", "GPUs needed, low", "GPUs needed, base", "GPUs needed, high",
             "Replicas (base)", "GPUs per replica", "Cost per month (USD, base)", "Cost per 1M input tokens (USD)",
             "Cost per 1M output tokens (USD)", "Output cost / API output price", "Input cost / API input price",
             "Cheapest per month"]
    hdr = w.header(names)
    ws.row_dimensions[hdr].height = 58
    first = w.row
    slo = "sv_rate,sv_prompt,sv_output,sv_ttft,sv_tokps_user,sv_precision,sv_kv,sv_engine"
    costs = f"$H${first}:$H${first + len(CANDIDATES) - 1}"
    for g in CANDIDATES:
        r = w.row
        style_input(ws.cell(r, 1, g))
        price = gpu_field(f"A{r}", "cloud_usd_per_hour")
        conc = (f"MAX(sv_min_concurrency,LLM_MAX_CONCURRENCY(sv_model,A{r},sv_prompt+sv_output,sv_precision,G{r},"
                "sv_kv,sv_engine))")
        io_args = f"A{r},B{r},sv_prompt,sv_output,{{d}},{conc},sv_precision,G{r},sv_kv,sv_engine,sv_band"
        cin = f"LLM_COST_PER_MTOK_IO(sv_model,{io_args.format(d=chr(34) + 'input' + chr(34))})"
        cout = f"LLM_COST_PER_MTOK_IO(sv_model,{io_args.format(d=chr(34) + 'output' + chr(34))})"
        share_in = f"({cin}*sv_prompt/({cin}*sv_prompt+{cout}*sv_output))"
        row = [(f"={price}", MONEY2),
               (f'=LLM_GPUS_FOR_SLO(sv_model,A{r},{slo},"low")', COUNT),
               (f'=LLM_GPUS_FOR_SLO(sv_model,A{r},{slo},"base")', COUNT),
               (f'=LLM_GPUS_FOR_SLO(sv_model,A{r},{slo},"high")', COUNT),
               (f'=LLM_REPLICAS_FOR_SLO(sv_model,A{r},{slo},"base")', COUNT),
               (f"=IF(ISNUMBER(D{r}),D{r}/F{r},{_passed('D', r)})", COUNT),
               (f"=IF(ISNUMBER(D{r}),D{r}*B{r}*eng_hours_per_month,{_passed('D', r)})", MONEY),
               (f"=IF(ISNUMBER(H{r}),H{r}*{share_in}/sv_in_tokens*sv_tokens_per_mtok,{_passed('H', r)})", MONEY2),
               (f"=IF(ISNUMBER(H{r}),H{r}*(1-{share_in})/sv_out_tokens*sv_tokens_per_mtok,{_passed('H', r)})", MONEY2),
               (f"=IF(AND(ISNUMBER(J{r}),sv_api_out>0),J{r}/sv_api_out,{_passed('J', r)})", RATIO),
               (f"=IF(AND(ISNUMBER(I{r}),sv_api_in>0),I{r}/sv_api_in,{_passed('I', r)})", RATIO),
               # the cheapest only when no other candidate's cost is refused ('#...'): MIN would skip it
               (f"=IF(ISNUMBER(H{r}),IF(COUNTIF({costs},\"#*\")>0,INDEX({costs},MATCH(\"#*\",{costs},0)),"
                f"IF(B{r}>0,IF(H{r}=MIN({costs}),\"cheapest\",\"\"),\"\")),"
                f"IF(LEFT(H{r}&\"\")=\"#\",H{r},\"\"))",
                "General")]
        for j, (f, fmt) in enumerate(row, start=2):
            style_calc(ws.cell(r, j, f), fmt, output=j in (4, 8, 10))
        w.row += 1
    last = w.row - 1
    validate(ws, list_validation("GPUNames", "GPU"), f"A{first}:A{last}")
    define(wb, "sv_gpus", w.title, f"$A${first}:$A${last}")
    for text in [
        "GPUs needed: the fewest GPUs whose replicas (1-8 GPUs each, tensor parallel within a replica) keep the p95 "
        "time to first token under the target (M/D/1 queue per replica) at a concurrency where each user still "
        "gets the target speed (continuous batching; the prefill of arriving prompts slows every step).",
        "A '#...' text means no replica of 1-8 of that GPU meets the targets (or the model does not fit). Cost per "
        "1M tokens is at your load, idle capacity included; compare it with the API prices above (ratio < 1: "
        "self-hosting is cheaper, before staff, storage and networking).",
    ]:
        ws.cell(w.row, 1, text).font = SUBTITLE_FONT
        w.row += 1

    # ------------------------------------------------------------------ concurrency sweep + chart
    w.section("Throughput vs per-user speed as concurrency grows (one replica of the first candidate)")
    w.header(["Input", "Value", "Unit", "Note"])
    w.input("GPU for the chart", "sv_chart_gpu", CANDIDATES[0], "name", "Any GPU of the GPUs sheet",
            validation=list_validation("GPUNames", "GPU"))
    w.calc("GPUs per replica for the chart", f"=IF(ISNUMBER(G{first}),G{first},IF(LEFT(G{first}&\"\")=\"#\",G{first},1))", "GPUs",
           "The first candidate's replica size", COUNT, name="sv_chart_tp")
    hdr2 = w.header(["Concurrency (sequences)", "Replica output (tokens/s)", "Per user (tokens/s)",
                     "Requests per second (replica)"])
    ws.row_dimensions[hdr2].height = 44
    top = w.row
    for n in CONCURRENCY:
        r = w.row
        c = ws.cell(r, 1, n)
        style_input(c, COUNT)
        args = f"sv_model,sv_chart_gpu,A{r},sv_prompt,sv_output,{{pu}},sv_precision,sv_chart_tp,sv_kv,sv_engine,sv_band"
        style_calc(ws.cell(r, 2, f"=LLM_SERVE_TOKPS({args.format(pu='FALSE')})"), RATE, output=True)
        style_calc(ws.cell(r, 3, f"=LLM_SERVE_TOKPS({args.format(pu='TRUE')})"), RATE)
        style_calc(ws.cell(r, 4, f"=IF(sv_output>0,B{r}/sv_output,0)"), "#,##0.00")
        w.row += 1
    bottom = w.row - 1
    validate(ws, number_validation(1, 1e6, "Concurrency", whole=True), f"A{top}:A{bottom}")
    ws.cell(w.row, 1, "Past the knee, throughput still rises while every user's speed falls; pick the largest "
                      "concurrency whose per-user speed meets the target.").font = SUBTITLE_FONT
    w.row += 1

    ws.row_breaks.append(Break(id=w.row))
    w.row += 1
    chart = ScatterChart()
    chart.title = "Replica throughput vs speed each user sees (points: concurrency 1 to 256)"
    chart.style = 13
    xs = Reference(ws, min_col=3, min_row=top, max_row=bottom)
    ys = Reference(ws, min_col=2, min_row=hdr2, max_row=bottom)
    series = Series(ys, xs, title_from_data=True)
    series.marker.symbol = "circle"
    chart.series.append(series)
    chart.x_axis.title = "Per-user speed (tokens/s)"
    chart.y_axis.title = "Replica output (tokens/s)"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend = None
    chart.height, chart.width = 12, 24
    ws.add_chart(chart, f"A{w.row}")
    w.row += 26
    ws.cell(w.row, 1, "End of sheet").font = Font(size=8, color="BFBFBF")
    ws.cell(w.row, 1).alignment = Alignment(vertical="top")
    w.freeze("B4")
    w.finish()
