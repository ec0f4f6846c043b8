"""Cluster sizing (seed 001): a 120B model at 2-bit on one H100 at 8k/32k/128k context; a 1T model on N x H100.

The seed's model ("RTH-LM", a temporal convolutional network) publishes no architecture, so each size is
computed with a stated transformer stand-in (inputs): for 120B the published shape of Mistral Large 2
(123B, mistralai/Mistral-Large-Instruct-2407 config.json), for 1T a GPT-3-like dense shape scaled to 1T
parameters with grouped-query attention. Seed claims are in GB (10^9 bytes) as written.
"""

from __future__ import annotations

from openpyxl.styles import Alignment

from ..layout import (catalog_row, gpu_field, COUNT, GIB, HEADER_FILL, HEADER_FONT, RATIO, Writer, card, list_validation,
                      number_validation, style_calc, style_input, validate)

TITLES = ["Cluster sizing"]

MODEL_120B = {"n_layers": 88, "d_model": 12288, "n_heads": 96, "n_kv_heads": 8, "head_dim": 128, "d_ff": 28672,
              "vocab_size": 32768, "ffn_type": "swiglu", "norm_type": "rmsnorm", "max_context": 131072}
MODEL_1T = {"n_layers": 150, "d_model": 25600, "n_heads": 200, "n_kv_heads": 8, "head_dim": 128, "d_ff": 102400,
            "vocab_size": 128256, "ffn_type": "gelu", "norm_type": "rmsnorm", "max_context": 131072}


def _table(w: Writer, header: list[str], rows: list[list], formats: list) -> None:
    for j, name in enumerate(header, start=1):
        c = w.ws.cell(w.row, j, name)
        c.fill, c.font = HEADER_FILL, HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="center")
    w.ws.row_dimensions[w.row].height = 44
    w.row += 1
    for row in rows:
        for j, (value, fmt) in enumerate(zip(row, formats), start=1):
            c = w.ws.cell(w.row, j, value)
            if fmt == "input":
                style_input(c, COUNT)
                validate(w.ws, number_validation(1, 10_000_000, "Context", whole=True), c.coordinate)
            elif fmt == "seed":
                c.style = "Note"
                c.number_format = "#,##0.0"
            elif fmt:
                style_calc(c, fmt, output=(j == len(row) - 1))
        w.row += 1


def build(wb) -> None:
    w = Writer(wb, "Cluster sizing", widths={**{c: 13 for c in "ABCDEFGHIJK"}, **{c: 17 for c in "LMNOP"}})
    w.ws.column_dimensions["A"].width = 22
    w.heading("Cluster sizing (seed 001): 120B at 2-bit on one H100; 1T at 2-bit on N x H100",
              "Memory in GiB; seed claims in GB (10^9 bytes) as written; GB = GiB x 1.074.")
    w.header(["Assumption", "Value", "Unit", "Note"])
    w.input("GPU", "cl_gpu", "h100-sxm", "name", "Seed 001: NVIDIA H100 80GB",
            validation=list_validation("GPUNames", "GPU"))
    w.input("Weight precision", "cl_precision", "int2", "format",
            "2-bit with group scales (Precisions sheet); seed: QuIP#-style 2-bit", validation=list_validation("PrecisionNames", "precision"))
    w.input("KV-cache precision", "cl_kv", "fp16", "format", "Try fp8 to halve the cache",
            validation=list_validation("KVPrecisionNames", "KV-cache format"))
    w.input("Batch (single stream)", "cl_batch", 1, "sequences", "Seed 001 sizes one stream", COUNT,
            number_validation(1, 100_000, "Batch", whole=True))
    w.input("GPUs for part A", "cl_gpus_a", 1, "GPUs", "Seed 001 part A: a single GPU", COUNT,
            number_validation(1, 100_000, "GPUs", whole=True))
    w.input("Seed's KV per token", "cl_seed_kv_kb", 72, "KB/token", "Seed 001's upper bound for its non-attention state",
            "#,##0", number_validation(0, 1e9, "KV per token"))

    w.input("Tokens for the KV-per-token probe", "cl_probe_tokens", 1, "tokens",
            "KV per token = KV cache of one sequence of this many tokens / tokens", COUNT,
            number_validation(1, 1_000_000, "Tokens", whole=True))
    g = catalog_row(wb, "gpu", "cl_gpu")
    w.section("A. 120B-class model at 2-bit on one GPU", "Stand-in architecture: Mistral Large 2 shape (123B)")
    a = card(w, "120B stand-in", MODEL_120B, [
        ("Parameters (count)", "=LLM_PARAMS({model})", COUNT),
        ("Weights (GiB)", "=LLM_WEIGHTS_GIB({model},cl_precision)", GIB, "output"),
        ("Weights (GB)", "=LLM_WEIGHTS_GIB({model},cl_precision)*eng_bytes_per_gib/eng_bytes_per_gb", GIB),
        ("KV per token (KB)", "=LLM_KV_CACHE_GIB({model},cl_probe_tokens,cl_batch,cl_kv)/cl_batch/cl_probe_tokens*eng_bytes_per_gib/eng_bytes_per_kb", "#,##0"),
    ])
    m = a["model"]
    rows = []
    for ctx, seed_kv, seed_total in [(8192, 0.6, None), (32768, 2.4, None), (131072, 9.5, 57.5)]:
        r = w.row + 1 + len(rows)
        rows.append([ctx, seed_kv, f"=cl_seed_kv_kb*1000*A{r}/eng_bytes_per_gb",
                     f"=LLM_KV_CACHE_GIB({m},A{r},cl_batch,cl_kv)",
                     f"=LLM_INFER_VRAM_GIB({m},cl_precision,A{r},cl_batch,cl_kv)", seed_total,
                     f'=IF(LLM_FITS({m},{g},cl_precision,A{r},cl_batch,cl_gpus_a,cl_kv),"yes","no")',
                     f"=cl_gpus_a*{gpu_field('cl_gpu', 'memory_gib')}-E{r}"])
    _table(w, ["Context (tokens)", "Seed KV (GB)", "Seed KV recomputed: 72 KB x tokens (GB)", "Our KV cache (GiB)",
               "Our total inference memory (GiB)", "Seed total, upper (GB)", "Fits on the GPUs of part A",
               "Headroom (GiB)"],
              rows, ["input", "seed", GIB, GIB, GIB, "seed", "General", GIB])
    w.paragraph("The seed's weights arithmetic (120e9 x 2 bits / 8 = 30 GB) is right for bare 2-bit codes; group "
                "scales add ~7 % and unquantized embeddings more. Its 72 KB/token state is its own model's figure: a "
                "120B-class transformer with 8 KV heads holds about 350 KB per token in fp16, five times more, so at "
                "128k tokens the cache alone is ~44 GiB: the model still fits one 80 GB GPU, but with almost no "
                "headroom (column H) instead of the seed's >20 GB, so no room for batching. An fp8 cache halves it.",
                8, 60)

    w.section("B. 1T-parameter model at 2-bit on N GPUs", "Stand-in: dense GPT-3-like shape scaled to ~1T, GQA 8 KV heads")
    b = card(w, "1T stand-in", MODEL_1T, [
        ("Parameters (count)", "=LLM_PARAMS({model})", COUNT),
        ("Weights (GiB)", "=LLM_WEIGHTS_GIB({model},cl_precision)", GIB, "output"),
        ("Weights (GB)", "=LLM_WEIGHTS_GIB({model},cl_precision)*eng_bytes_per_gib/eng_bytes_per_gb", GIB),
    ])
    m = b["model"]
    rows = []
    for ctx in [8192, 32768, 131072]:
        r = w.row + 1 + len(rows)
        rows.append([ctx, f"=LLM_INFER_VRAM_GIB({m},cl_precision,A{r},cl_batch,cl_kv)",
                     f"=LLM_GPUS_NEEDED({m},{g},cl_precision,A{r},cl_batch,cl_kv)",
                     4, 6, "8-9", f"=C{r}/E{r}"])
    _table(w, ["Context (tokens)", "Total memory (GiB)", "GPUs needed", "Seed: theoretical minimum",
               "Seed: baseline", "Seed: production", "Ours / seed baseline"],
           rows, ["input", GIB, COUNT, "seed", "seed", None, RATIO])
    w.paragraph("GPUs needed counts whole GPUs that hold weights, KV cache and activations, each keeping its runtime "
                "overhead; replicas for throughput or redundancy (the seed's production cluster) come on top.", 8, 32)
    w.freeze("A4")
    w.finish()
