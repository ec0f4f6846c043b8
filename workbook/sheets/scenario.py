"""Scenario: one model x precision x context x batch x GPU x prices, every answer of the contract beside it.

The selected model's and GPU's catalog rows are copied (by INDEX/MATCH) into two-row blocks at the
bottom of the sheet (field names over values); the functions take those blocks, so a row a user adds to
the Models or GPUs sheet works at once.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from udfs.core import catalog

from ..layout import (sentinel, CHECKPOINTING_CHOICES, choice_validation, gpu_field, BIG, FLOPS, COUNT, FIELD_FONT, GIB, MONEY, MONEY2, MONEY4, PCT, RATE, SECONDS, Writer, define,
                      list_validation, number_validation)

TITLES = ["Scenario"]


def _block(w: Writer, label: str, name: str, sheet: str, names_name: str, choice: str, ncols: int) -> None:
    """Two-row range: the catalog's field names over the chosen row's values (one column looked up per cell)."""
    from ..sheets.catalogs import FIRST_ROW, LAST_ROW

    w.section(label, "")
    hdr, val = w.row, w.row + 1
    w.ws.cell(hdr - 1, ncols + 1, "")
    match = w.ws.cell(val, ncols + 1, f"=MATCH({choice},{names_name},0)")
    match.style = "Calculation"
    w.ws.cell(hdr, ncols + 1, "row").font = FIELD_FONT
    for k in range(1, ncols + 1):
        col = get_column_letter(k)
        h = w.ws.cell(hdr, k, f"='{sheet}'!{col}$3")
        h.font = FIELD_FONT
        # relative where a copy across the block keeps them (one formula copied: one shape for share/recalc)
        pick = f"INDEX('{sheet}'!{col}${FIRST_ROW}:{col}${LAST_ROW},${get_column_letter(ncols + 1)}{val})"
        v = w.ws.cell(val, k, f'=IF({pick}="","",{pick})')      # a blank field stays blank (Excel: 0)
        v.style = "Calculation"
    define(w.wb, name, w.title, f"$A${hdr}:${get_column_letter(ncols)}${val}")
    sentinel(w.ws, hdr, ncols + 2, "model" if sheet == "Models" else "gpu", name)
    w.row += 2


def build(wb) -> None:
    w = Writer(wb, "Scenario")
    w.heading("Scenario: size and price one deployment",
              "Change the orange input cells; every other number is a formula. Memory in GiB (2^30 bytes), "
              "time in seconds, money in the currency of the prices you enter.")
    w.header(["Input", "Value", "Unit", "What it means / allowed values"])
    w.input("Model", "sc_model", "llama-3-70b", "name", "A name from the Models sheet (add rows there)",
            validation=list_validation("ModelNames", "model"))
    w.input("Weight precision", "sc_precision", "int4", "format",
            "fp32 bf16 fp16 fp8 int8 int4 nf4 int2, GGUF q8_0 ... q2_k (Precisions sheet) or bits per weight",
            validation=list_validation("PrecisionNames", "precision"))
    w.input("KV-cache precision", "sc_kv_precision", "fp16", "format", "fp16 bf16 fp8 int8 q8_0 q4_0",
            validation=list_validation("KVPrecisionNames", "KV-cache format"))
    w.input("Context per sequence", "sc_context", 32768, "tokens", "Prompt + generated tokens held in the KV cache",
            COUNT, number_validation(0, 10_000_000, "Context", whole=True))
    w.input("Concurrent sequences (batch)", "sc_batch", 8, "sequences", "Requests served at once",
            COUNT, number_validation(1, 100_000, "Batch", whole=True))
    w.input("GPU", "sc_gpu", "h100-sxm", "name", "A name from the GPUs sheet (add rows there)",
            validation=list_validation("GPUNames", "GPU"))
    w.input("GPUs serving the model", "sc_gpus", 2, "GPUs", "Tensor-parallel group size",
            COUNT, number_validation(1, 100_000, "GPUs", whole=True))
    w.input("Prompt length", "sc_prompt", 2048, "tokens", "For time to first token and latency",
            COUNT, number_validation(1, 10_000_000, "Prompt", whole=True))
    w.input("Generated tokens per request", "sc_output", 512, "tokens", "For end-to-end latency",
            COUNT, number_validation(0, 10_000_000, "Output", whole=True))
    w.input("Price per GPU-hour (blank = catalog cloud price)", "sc_price_override", None, "USD/GPU-hour",
            "Leave blank to use the GPU's catalogued on-demand price", MONEY2, number_validation(0, 1e6, "Price"))
    w.section("Training inputs")
    w.input("Training tokens", "sc_train_tokens", 2e12, "tokens", "Total tokens seen in training", BIG,
            number_validation(0, 1e18, "Tokens"))
    w.input("Training precision", "sc_train_precision", "bf16", "format", "bf16, fp16 (mixed precision) or fp32",
            validation=list_validation("PrecisionNames", "precision"))
    w.input("Model FLOPs utilisation (MFU)", "sc_mfu", catalog.assumption("train_mfu"), "fraction",
            "Llama 3 paper: 38-43% on H100; PaLM: 46.2% on TPU v4", PCT, number_validation(0.01, 1, "MFU"))
    w.input("Training GPUs", "sc_train_gpus", 64, "GPUs", "Data x tensor x pipeline parallel GPUs",
            COUNT, number_validation(1, 1_000_000, "GPUs", whole=True))
    w.input("Sequence length (training)", "sc_seq_len", 4096, "tokens", "Tokens per training sequence",
            COUNT, number_validation(1, 10_000_000, "Sequence length", whole=True))
    w.input("Micro-batch per GPU", "sc_micro_batch", 1, "sequences", "Sequences per GPU per step",
            COUNT, number_validation(1, 100_000, "Micro-batch", whole=True))
    w.input("ZeRO stage", "sc_zero", 3, "0-3", "1 shards optimizer states, 2 + gradients, 3 + weights",
            COUNT, number_validation(0, 3, "ZeRO stage", whole=True))
    w.input("Activation checkpointing", "sc_ckpt", "full", "none/selective/full", "full keeps only layer inputs",
            validation=choice_validation(CHECKPOINTING_CHOICES, "Checkpointing"))
    w.input("Tensor-parallel degree (training)", "sc_tp", 1, "GPUs", "GPUs sharing each layer",
            COUNT, number_validation(1, 1024, "Tensor parallel", whole=True))

    w.section("Answers: memory")
    w.header(["Answer", "Value", "Unit", "Formula / note"])
    m, g = "sel_model", "sel_gpu"
    args = "sc_precision,sc_context,sc_batch,sc_kv_precision"
    params = w.calc("Parameters", f"=LLM_PARAMS({m})", "count", "From the architecture (Models sheet)", COUNT,
                    output=True)
    w.calc("Active parameters per token", f"=LLM_ACTIVE_PARAMS({m})", "count", "MoE: shared + top-k experts", COUNT)
    w.calc("Weights", f"=LLM_WEIGHTS_GIB({m},sc_precision)", "GiB", "Scales and metadata included", GIB)
    w.calc("KV cache", f"=LLM_KV_CACHE_GIB({m},sc_context,sc_batch,sc_kv_precision)", "GiB",
           "Attention layers: 2 x KV heads x head dim (MLA: latent + rope key) x bytes x cached tokens x batch", GIB)
    w.calc("Recurrent state", f"=LLM_STATE_GIB({m},sc_batch)", "GiB",
           "Mamba / linear-attention layers: fp32 state per sequence x batch, independent of context", GIB)
    vram = w.calc("Inference memory, whole deployment", f"=LLM_INFER_VRAM_GIB({m},{args})", "GiB",
                  "Weights + KV + recurrent state + activations + one runtime overhead", GIB, output=True)
    mem = w.calc("GPU memory (each)", "=" + gpu_field("sc_gpu", "memory_gib"),
                 "GiB", "From the GPUs sheet", GIB)
    w.calc("GPUs needed", f"=LLM_GPUS_NEEDED({m},{g},{args})", "GPUs", "Whole GPUs, each keeping its runtime overhead",
           COUNT, output=True)
    w.calc("Fits on the GPUs chosen",
           f'=IF(LLM_FITS({m},{g},sc_precision,sc_context,sc_batch,sc_gpus,sc_kv_precision),"yes","no")',
           "yes/no", "", output=True)
    w.calc("Headroom on the GPUs chosen",
           f"=sc_gpus*({mem}-eng_runtime_overhead_gib)-({vram}-eng_runtime_overhead_gib)", "GiB",
           "Negative = does not fit", GIB)
    w.calc("Longest context that fits", f"=LLM_MAX_CONTEXT({m},{g},sc_precision,sc_batch,sc_gpus,sc_kv_precision)",
           "tokens", "Capped at the model's trained context", COUNT)
    w.calc("Largest dense model on these GPUs", f"=LLM_MAX_PARAMS({g},sc_precision,sc_gpus)", "parameters",
           "Weights only, no KV cache; M = 10^6, B = 10^9", BIG)

    w.section("Answers: speed and cost")
    w.header(["Answer", "Value", "Unit", "Formula / note"])
    w.calc("Forward FLOPs per token", f"=LLM_FLOPS_PER_TOKEN({m},sc_context)", "FLOPs", "2 x params + attention; B = 10^9", FLOPS)
    w.calc("Time to first token", f"=LLM_TTFT_S({m},{g},sc_prompt,sc_precision,sc_batch,sc_gpus)", "s",
           "Prefill: compute-bound", SECONDS, output=True)
    tokps = w.calc("Decode throughput (whole batch)",
                   f"=LLM_DECODE_TOKPS({m},{g},sc_precision,sc_context,sc_batch,sc_gpus,sc_kv_precision)", "tokens/s",
                   "Roofline of weight + KV reads vs compute", RATE, output=True)
    w.calc("Decode speed per sequence", f"={tokps}/sc_batch", "tokens/s", "What one user sees", RATE)
    w.calc("Request latency", f"=LLM_LATENCY_S({m},{g},sc_prompt,sc_output,sc_precision,sc_batch,sc_gpus)", "s",
           "TTFT + output x time per token", SECONDS, output=True)
    cloud = w.calc("Catalog cloud price", "=" + gpu_field("sc_gpu", "cloud_usd_per_hour"),
                   "USD/GPU-hour", "GPUs sheet (dated on-demand price)", MONEY2)
    price = w.calc("Price per GPU-hour used", f"=IF(ISBLANK(sc_price_override),{cloud},sc_price_override)",
                   "USD/GPU-hour", "Your price if entered, else the catalog's", MONEY2, name="sc_price")
    w.calc("Cost per 1M generated tokens",
           f"=LLM_COST_PER_MTOK({m},{g},{price},sc_precision,sc_context,sc_batch,sc_gpus)", "USD per 1M tokens",
           "price x GPUs / (tokens/s x 3600) x 1e6", MONEY4, output=True)

    w.section("Answers: training")
    w.header(["Answer", "Value", "Unit", "Formula / note"])
    w.calc("Training memory per GPU",
           f"=LLM_TRAIN_VRAM_GIB({m},sc_train_precision,sc_seq_len,sc_micro_batch,sc_train_gpus,sc_zero,sc_ckpt,sc_tp)",
           "GiB", "AdamW mixed precision, ZeRO sharded, Korthikanti activations", GIB, output=True)
    w.calc("Compute-optimal tokens (Chinchilla)", f"=LLM_CHINCHILLA_TOKENS({params})", "tokens",
           "20 tokens per parameter", BIG)
    w.calc("Training FLOPs", f"=LLM_TRAIN_FLOPS({m},sc_train_tokens,sc_seq_len)", "FLOPs", "6ND + attention; T = 10^12, E = 10^18", FLOPS)
    hours = w.calc("Training GPU-hours", f"=LLM_TRAIN_GPU_HOURS({m},sc_train_tokens,{g},sc_train_precision,sc_mfu,sc_seq_len)",
                   "GPU-hours", "FLOPs / (peak x MFU) / 3600", COUNT, output=True)
    w.calc("Training days on the training GPUs", f"={hours}/sc_train_gpus/eng_hours_per_day", "days",
           "Wall-clock, assuming perfect scaling at the MFU", RATE)
    w.calc("Training cost", f"=LLM_TRAIN_COST({m},sc_train_tokens,{g},{price},sc_train_precision,sc_mfu,sc_seq_len)", "USD",
           "GPU-hours x price", MONEY, output=True)

    w.row += 1
    answers_end = w.row - 1
    _block(w, "Selected model's catalog row (field names over values; the functions above read this block)",
           "sel_model", "Models", "ModelNames", "sc_model", len(catalog.model_table().rows[0]))
    _block(w, "Selected GPU's catalog row", "sel_gpu", "GPUs", "GPUNames", "sc_gpu", len(catalog.gpu_table().rows[0]))
    w.freeze("A5")
    w.finish(last_col="D", last_row=answers_end)


