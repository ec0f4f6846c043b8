"""Training scale (seed 003): Tiny -> XL with params, tokens, A100 GPU-hours, memory, training and serving cost.

The seed gives only parameter counts and a baseline (hidden 512, 6 layers, 8 heads, context 2048), which
is exactly Pythia-70M's shape; each scale is therefore computed with the closest Pythia model as its
architecture (an input: choose another model from the Models sheet).
"""

from __future__ import annotations

from openpyxl.styles import Alignment

from udfs.core import catalog

from ..layout import (catalog_row, cell_on, CHECKPOINTING_CHOICES, choice_validation, BIG, COUNT, GIB, HEADER_FILL, HEADER_FONT, MONEY, MONEY4, RATIO, Writer, list_validation,
                      number_validation, style_calc, style_input, validate)

TITLES = ["Training scale"]

# scale, seed params, proxy, seed samples, seed GPU-hours, seed model memory GB, seed activation GB, seed total GB,
# seed training cost USD, seed inference USD per 1M tokens
SCALES = [
    ("Tiny", 10e6, "pythia-70m", 1e6, 10, 0.04, 2, 3, None, None),
    ("Small", 100e6, "pythia-160m", 10e6, 100, 0.4, 8, 10, 500, 0.01),
    ("Medium", 500e6, "pythia-410m", 50e6, 500, 2, 20, 24, 2500, 0.05),
    ("Large", 1e9, "pythia-1b", 100e6, 1000, 4, 40, 48, 10000, 0.10),
    ("XL", 3e9, "pythia-2.8b", 300e6, 3000, 12, 60, 80, 30000, 0.30),
]


def build(wb) -> None:
    w = Writer(wb, "Training scale", widths={"A": 30, "B": 16, "C": 16, "D": 16})
    w.heading("Training scale (seed 003): compute-optimal tokens, A100 GPU-hours, memory and cost",
              "GPU-hours = training FLOPs (6ND + attention) / (peak bf16 FLOP/s x MFU) / 3600. Seed figures in grey.")
    w.header(["Assumption", "Value", "Unit", "Note"])
    w.input("GPU", "ts_gpu", "a100-sxm-80gb", "name", "Seed 003: NVIDIA A100 80GB",
            validation=list_validation("GPUNames", "GPU"))
    w.input("Precision", "ts_precision", "bf16", "format", "Seed 003: BF16", validation=list_validation("PrecisionNames", "precision"))
    w.input("Model FLOPs utilisation", "ts_mfu", catalog.assumption("train_mfu"), "fraction",
            "Llama 3 paper 38-43%; LLaMA-1's A100 runs imply ~47% (docs/validation.md)", "0.0%",
            number_validation(0.01, 1, "MFU"))
    w.input("Sequence length", "ts_seq_len", 2048, "tokens", "Seed 003", COUNT,
            number_validation(1, 10_000_000, "Sequence length", whole=True))
    w.input("Micro-batch per GPU", "ts_micro_batch", 32, "sequences", "Seed 003: batch size 32 per GPU", COUNT,
            number_validation(1, 100_000, "Micro-batch", whole=True))
    w.input("Training GPUs per run", "ts_gpus", 1, "GPUs", "Memory is per GPU; 1 = no sharding", COUNT,
            number_validation(1, 1_000_000, "GPUs", whole=True))
    w.input("ZeRO stage", "ts_zero", 0, "0-3", "0 = each GPU holds all model states", COUNT,
            number_validation(0, 3, "ZeRO stage", whole=True))
    w.input("Activation checkpointing", "ts_ckpt", "full", "none/selective/full",
            "Needed for batch 32 x 2048 tokens to fit in 80 GiB beyond the smallest scales",
            validation=choice_validation(CHECKPOINTING_CHOICES, "Checkpointing"))
    a100_cloud = float(catalog.gpu_row("a100-sxm-80gb")["cloud_usd_per_hour"] or 0)
    w.input("Price per GPU-hour", "ts_price", a100_cloud, "USD/GPU-hour",
            f"Catalog on-demand A100 80GB price ({catalog.gpu_row('a100-sxm-80gb')['cloud_price_date']}); replace with yours",
            "#,##0.00", number_validation(0, 1e6, "Price"))
    w.input("Serving batch", "ts_serve_batch", 32, "sequences", "Concurrent requests when serving", COUNT,
            number_validation(1, 100_000, "Batch", whole=True))
    w.input("Serving context", "ts_serve_context", 2048, "tokens", "Context per request when serving", COUNT,
            number_validation(1, 10_000_000, "Context", whole=True))
    w.section("Scales")
    cols = ["Scale", "Seed params", "Architecture (Models sheet)", "Our params", "Seed samples",
            "Seed tokens (samples x seq)", "Chinchilla tokens (20/param)", "A100 GPU-hours at Chinchilla tokens",
            "A100 GPU-hours at seed tokens", "Seed GPU-hours", "Seed / ours (seed tokens)",
            "Training memory per GPU (GiB)", "Seed total memory (GB)", "Training cost at Chinchilla tokens (USD)",
            "Seed training cost (USD)", "Serving cost per 1M tokens (USD)", "Seed serving cost per 1M (USD)"]
    widths = [24, 12, 16, 14, 12, 14, 14, 14, 14, 11, 11, 13, 11, 14, 11, 13, 11]
    from openpyxl.utils import get_column_letter
    for i, wd in enumerate(widths, start=1):
        w.ws.column_dimensions[get_column_letter(i)].width = max(wd, 16) if i <= 4 else wd
    hdr = w.row
    for j, name in enumerate(cols, start=1):
        c = w.ws.cell(hdr, j, name)
        c.fill, c.font = HEADER_FILL, HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="center")
    w.ws.row_dimensions[hdr].height = 58
    w.row += 1
    g = catalog_row(wb, "gpu", "ts_gpu")
    for scale, p, proxy, samples, hours, _mm, _act, total, cost, infer in SCALES:
        r = w.row
        m = catalog_row(wb, "model", cell_on(w.title, f"C{r}"))
        cells = [
            (scale, None), (p, "seed"), (proxy, "input"),
            (f"=LLM_PARAMS({m})", COUNT), (samples, "seed"), (f"=E{r}*ts_seq_len", BIG),
            (f"=LLM_CHINCHILLA_TOKENS(D{r})", BIG),
            (f"=LLM_TRAIN_GPU_HOURS({m},G{r},{g},ts_precision,ts_mfu,ts_seq_len)", COUNT),
            (f"=LLM_TRAIN_GPU_HOURS({m},F{r},{g},ts_precision,ts_mfu,ts_seq_len)", "#,##0.0"),
            (hours, "seed"), (f"=J{r}/I{r}", RATIO),
            (f"=LLM_TRAIN_VRAM_GIB({m},ts_precision,ts_seq_len,ts_micro_batch,ts_gpus,ts_zero,ts_ckpt)", GIB),
            (total, "seed"),
            (f"=LLM_TRAIN_COST({m},G{r},{g},ts_price,ts_precision,ts_mfu,ts_seq_len)", MONEY),
            (cost, "seed"),
            (f"=LLM_COST_PER_MTOK({m},{g},ts_price,ts_precision,ts_serve_context,ts_serve_batch)", MONEY4),
            (infer, "seed"),
        ]
        for j, (value, kind) in enumerate(cells, start=1):
            c = w.ws.cell(r, j, value)
            if kind == "seed":
                c.style = "Note"
                c.number_format = "#,##0.00" if isinstance(value, float) and value < 1 else "#,##0"
            elif kind == "input":
                style_input(c)
                validate(w.ws, list_validation("ModelNames", "model"), c.coordinate)
            elif kind:
                style_calc(c, kind, output=j in (8, 14))
        w.row += 1
    w.section("Reading the table")
    w.paragraph("Seed 003's baseline (hidden 512, 6 layers, 8 heads, context 2048) is Pythia-70M's shape: 19M "
                "parameters in the layers plus 51M in the 50k-token embedding and output matrices, not 10M. Its "
                "'training samples' of 2048 tokens are 100x fewer tokens than compute-optimal (Chinchilla: 20 per "
                "parameter), so its GPU-hours describe under-trained models. The seed's memory table assumes fp32 "
                "weights (4 bytes/param) although it states BF16 training, and leaves out gradients and the 12 "
                "bytes/param of AdamW states.", 12, 60)
    w.freeze("B4")
    w.finish()
