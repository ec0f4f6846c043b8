"""Scalesheet's Excel functions (xlwings UDFs). Set xlwings' "UDF Modules" to ``udfs``.

Every function: UPPER_SNAKE name = Excel name; accepts a cell or a range wherever it takes a value and
returns the broadcast shape; bad input gives ``#argument: what is allowed`` text in that cell only.
Memory in GiB (2^30 bytes), time in seconds, throughput in tokens/s, money in the currency of the prices
given. Called from Python (or off Windows) the xlwings decorators change nothing, so these are plain
functions; in xlwings Lite the same decorators register them (docs/lite.md). docs/functions.md is generated
from this module by ``python -m udfs.reference``.
"""

from __future__ import annotations

import math
import os
import sys

from ._lazy import lazy


def _xlwings():
    """xlwings, where its decorators do something; None where they would return each function unchanged.

    xlwings' own ``func``/``arg``/``ret`` register functions only in classic Excel on Windows (its COM server
    imports xlwings before it imports this module), in xlwings Lite (Pyodide, ``sys.platform`` emscripten)
    and on an xlwings server (``XLWINGS_ON_SERVER=true``); everywhere else they are identity decorators
    (xlwings/__init__.py, 0.37). Importing xlwings costs about 100 ms, most of ``import udfs`` off Excel, so
    it is imported only where it matters, or when something imported it already (udfs.reference, the tests).
    """
    if ("xlwings" in sys.modules or sys.platform.startswith(("win", "emscripten"))
            or os.environ.get("XLWINGS_ON_SERVER") == "true"):
        import xlwings
        return xlwings
    return None


xw = _xlwings()
# The core, numpy and the catalogs load when a function first needs them: a cell of catalog names is answered
# without them (udfs.adapter.Site, udfs.core.quick), so `import udfs` costs little.
np = lazy("numpy", globals(), "np")
api = lazy("udfs.core.api", globals(), "api")
catalog = lazy("udfs.core.catalog", globals(), "catalog")
sizing = lazy("udfs.core.sizing", globals(), "sizing")
training = lazy("udfs.core.training", globals(), "training")


def _require_training_precision(record):
    return training.require_training_precision(record)


def _engine_choice(value):
    return api.engine_choice(value)


def _band_choice(value):
    return api.band_choice(value)

from .adapter import REQUIRED, Arg, Site, evaluate, memo_first
from .core import validate as V
from .core.errors import ScalesheetError
from .core.units import GIB

__version__ = "0.1.0"

MEM = "Scalesheet Memory"
COMPUTE = "Scalesheet Compute"
SPEED = "Scalesheet Speed"
TRAIN = "Scalesheet Training"
COST = "Scalesheet Cost"
CATALOG = "Scalesheet Catalog"

# Argument docs shown in Excel's function wizard (each <= 255 characters, units included).
DOC = {
    "model": "Model preset name (e.g. llama-3-8b; see the Models sheet), or a 2-row/2-column range of field "
             "names and values describing a custom model.",
    "gpu": "GPU catalog name (e.g. h100-sxm, rtx-4090; see the GPUs sheet), or a 2-row/2-column range of field "
           "names and values.",
    "precision": "Weight format: fp32 bf16 fp16 fp8 int8 int4 nf4 int2, GGUF q8_0 q6_k q5_k_m q4_k_m q4_0 "
                 "q3_k_m q2_k, or bits per weight (4.5). Scales included. Blank = bf16.",
    "kv_precision": "KV-cache element format: fp16 bf16 fp8 int8 fp32 q8_0 q4_0 or bits. Blank = fp16.",
    "state_precision": "Element format of the recurrent state of Mamba/linear-attention layers: fp32 fp16 bf16 "
                       "fp8 or bits. Blank = fp32 (engines keep SSM state in fp32).",
    "context": "Tokens in the context window per sequence (prompt + generated), >= 0. Blank = 4096 tokens.",
    "batch": "Concurrent sequences, whole number >= 1. Blank = 1.",
    "gpus": "Number of GPUs the model is split over (tensor parallel), whole number >= 1. Blank = 1.",
    "seq_len": "Training sequence length in tokens, >= 1. Blank = 2048 tokens.",
    "micro_batch": "Sequences per GPU per step (micro-batch), >= 1. Blank = 1.",
    "zero_stage": "DeepSpeed ZeRO stage 0-3: 1 shards optimizer states, 2 also gradients, 3 also weights "
                  "across data-parallel GPUs. Blank = 0.",
    "checkpointing": "Activation checkpointing: none, selective or full (TRUE = full, FALSE = none). Blank = none.",
    "tensor_parallel": "Tensor-parallel degree (GPUs sharing each layer), >= 1. Blank = 1.",
    "pipeline_parallel": "Pipeline-parallel stages, >= 1. Blank = 1. gpus must be a multiple of "
                         "tensor_parallel x pipeline_parallel.",
    "tokens": "Training tokens (count, e.g. 2E12), >= 0.",
    "prompt_tokens": "Prompt length in tokens, whole number >= 1.",
    "output_tokens": "Generated tokens per sequence, whole number >= 0.",
    "params": "Model parameters (count, e.g. 7E9), > 0.",
    "price_per_gpu_hour": "Price of one GPU for one hour (currency per GPU-hour), >= 0.",
    "mfu": "Model FLOPs utilisation, fraction of peak 0-1 (e.g. 0.4). Blank = typical for the GPU's generation: "
           "A100 0.47 (LLaMA-1/2), H100 0.40 (Llama 3), V100 0.30, TPU v4 0.46, MI250X 0.35, else 0.40.",
    "field": "GPU catalog column, e.g. memory_gib (GiB), bandwidth_gb_s (GB/s), bf16_tflops, fp4_tflops, "
             "interconnect_gb_s (GB/s), generation, tdp_w, price_usd, spot_usd_per_hour, source.",
    "gain": "Total gain over the period (currency), e.g. revenue minus running costs.",
    "cost": "Total cost (investment) over the same period (currency), > 0.",
    "investment": "Up-front investment (currency), >= 0.",
    "monthly_net_gain": "Net gain per month: revenue minus running costs (currency per month), > 0.",
    "purchase_price": "Purchase price of the owned GPU or server (currency), >= 0.",
    "cloud_price_per_hour": "Cloud rental price per GPU-hour (currency per hour), > 0.",
    "power_kw": "Power draw of the owned GPU in kW, including cooling if you wish (e.g. 0.7). Blank = 0.",
    "energy_price_per_kwh": "Electricity price (currency per kWh). Blank = 0.",
    "lifetime_years": "Useful life of the owned hardware in years, 0-100; if break-even needs longer at 24/7 "
                      "use, the answer is an error text. Blank = 100 years.",
}
DOC.update({  # issue 13: engines, bands, calibration (optional trailing arguments)
    "engine": "Serving engine: vllm, sglang, tensorrt-llm, llama.cpp, mlx, transformers. Blank = auto (llama.cpp "
              "for GGUF formats, Apple and GeForce GPUs; vLLM otherwise).",
    "band": "low, base or high: the 10th / 50th / 90th percentile of our held-out validation error (low = the "
            "smaller answer). Blank = base.",
    "calibration": "Measured / predicted speed on your own system (from LLM_CALIBRATE_DECODE), 0.01-100; every "
                   "time is divided by it. Blank = 1.",
})


def excel(category: str, *names: str, docs: dict = DOC):
    """Apply xlwings' decorators: a category, and for every argument ndim=2, err_to_str=True and its doc.

    The docstring becomes the wizard's description, so its line breaks and indentation are folded first.
    Other modules of udfs may use it too (``from . import excel``).
    """
    def wrap(f):
        f.__doc__ = " ".join(f.__doc__.split())
        if xw is None:  # xlwings would leave the function as it is (see _xlwings)
            return f
        for name in names:
            f = xw.arg(name, ndim=2, err_to_str=True, doc=docs[name])(f)
        return xw.func(category=category)(f)
    return wrap


def _assumption(name: str):
    return lambda: catalog.assumption(name)  # read when a blank needs it: `import udfs` loads no catalog


def _checkpointing(value):
    return ["none", "selective", "full"][training.checkpointing_code(value)]


def _gpu_column(value):
    """A GPUs-sheet column name, lower-cased (raises ScalesheetError naming what is allowed)."""
    columns = list(catalog.gpu_table().rows[0])
    if value is None:
        raise ScalesheetError("field", "is blank; give a GPU field such as memory_gib")
    key = "TRUE/FALSE" if isinstance(value, (bool, np.bool_)) else str(value).strip().lower()
    if key not in columns:
        import difflib
        close = difflib.get_close_matches(key, columns, n=3)
        hint = (f"did you mean {', '.join(close)}?" if close
                else "use a column of the GPUs sheet, e.g. memory_gib, bandwidth_gb_s, bf16_tflops")
        raise ScalesheetError("field", f"'{value}' is not a GPU field; {hint}")
    return key


def _blank_args(*values) -> bool:
    """True when every value is a blank cell (or a range of blanks): the function's plain form answers."""
    def blank(v):
        if v is None or (isinstance(v, str) and not v.strip()):
            return True
        if isinstance(v, (list, tuple)):
            return all(blank(x) for x in v)
        if isinstance(v, np.ndarray) and v.dtype == object:
            return all(blank(x) for x in v.ravel())
        return False
    return all(blank(v) for v in values)


MODEL = Arg("model", "model")
GPU = Arg("gpu", "gpu")
PREC = Arg("precision", "precision", V.DEFAULT_PRECISION)
TRAIN_PREC = Arg("precision", "precision", V.DEFAULT_PRECISION, check=_require_training_precision)
KVP = Arg("kv_precision", "kv_precision", V.DEFAULT_KV_PRECISION)
CTX = Arg("context", "number", V.DEFAULT_CONTEXT, V.CONTEXT)
BATCH = Arg("batch", "number", 1, V.BATCH)
GPUS = Arg("gpus", "number", 1, V.GPUS)
PRICE = Arg("price_per_gpu_hour", "number", REQUIRED, V.MONEY)
PROMPT = Arg("prompt_tokens", "number", REQUIRED, V.POSITIVE_TOKENS)
TOKENS = Arg("tokens", "number", REQUIRED, V.TOKENS_TOTAL)
SEQ_LEN = Arg("seq_len", "number", _assumption("train_seq_len"), V.POSITIVE_TOKENS)
MFU = Arg("mfu", "number", None, V.FRACTION)  # blank: the GPU generation's typical MFU (api._mfu)
ENGINE = Arg("engine", "choice", "auto", parse=_engine_choice)
BAND = Arg("band", "choice", "base", parse=_band_choice)
CALIB = Arg("calibration", "number", 1.0, V.CALIBRATION)
# The hot questions of a planning sheet, as Sites (udfs.adapter.Site: same answers as evaluate, cheaper memo).
_vram_site = Site("infer_vram_bytes", [MODEL, PREC, CTX, BATCH, KVP], scale=1 / GIB, plan="infer_vram_bytes")
_gpus_needed_site = Site("gpus_needed", [MODEL, GPU, PREC, CTX, BATCH, KVP], plan="gpus_needed")
_decode_site = Site("decode_tokps", [MODEL, GPU, PREC, CTX, BATCH, GPUS, KVP], plan="decode_tokps")
MONTHLY_GAIN = V.Rule("currency per month", minimum=0, min_inclusive=False, maximum=1e15)


# ------------------------------------------------------------------------------------------ params
@excel(COMPUTE, "model")
def LLM_PARAMS(model):
    """Total parameters of a model (count), computed from its architecture (embeddings included, tied once)."""
    return evaluate(api.params_total, [MODEL], [model])


@excel(COMPUTE, "model")
def LLM_ACTIVE_PARAMS(model):
    """Parameters used per token (count): all of a dense model; for mixture-of-experts, shared layers plus the
    top-k routed experts."""
    return evaluate(api.params_active, [MODEL], [model])


# ------------------------------------------------------------------------------------------ memory
@excel(MEM, "model", "precision")
def LLM_WEIGHTS_GIB(model, precision=None):
    """Weight memory in GiB (2^30 bytes) at a precision, including quantization scales."""
    return evaluate(api.weights_bytes, [MODEL, PREC], [model, precision], scale=1 / GIB)


@excel(MEM, "model", "context", "batch", "kv_precision")
def LLM_KV_CACHE_GIB(model, context, batch=None, kv_precision=None):
    """KV cache in GiB (2^30 bytes) for batch sequences of context tokens (GQA/MQA and sliding windows
    included)."""
    return evaluate(api.kv_cache_bytes, [MODEL, Arg("context", "number", REQUIRED, V.CONTEXT), BATCH, KVP],
                    [model, context, batch, kv_precision], scale=1 / GIB)


@excel(MEM, "model", "batch", "state_precision")
def LLM_STATE_GIB(model, batch=None, state_precision=None):
    """Recurrent state in GiB (2^30 bytes) of the Mamba and linear-attention (Gated DeltaNet) layers for
    batch sequences: SSM state plus the causal-conv window; independent of context; 0 for attention-only
    models."""
    return evaluate(api.state_bytes, [MODEL, BATCH, Arg("state_precision", "kv_precision", "fp32")],
                    [model, batch, state_precision], scale=1 / GIB)


@excel(MEM, "model", "precision", "context", "batch", "kv_precision", "engine", "gpus")
@memo_first(_vram_site, when_omitted=("engine", "gpus"))  # a repeated cell: one memo look-up
def LLM_INFER_VRAM_GIB(model, precision=None, context=None, batch=None, kv_precision=None, engine=None, gpus=None):
    """Inference memory in GiB (2^30 bytes): weights + KV cache + recurrent state (fp32) + activations + 1 GiB
    runtime overhead, whole deployment; with an engine also its CUDA-graph pool per GPU, over its
    gpu_memory_utilization."""
    if (engine is None and gpus is None) or _blank_args(engine, gpus):
        return _vram_site([model, precision, context, batch, kv_precision])
    return evaluate(api.infer_vram_engine_bytes, [MODEL, PREC, CTX, BATCH, KVP,
                                                  Arg("engine", "choice", None, parse=_engine_or_none), GPUS],
                    [model, precision, context, batch, kv_precision, engine, gpus], scale=1 / GIB)


def _engine_or_none(value):
    return None if value is None else api.engine_choice(value)


def _train_total_bytes(**kw):
    one = api.train_total_bytes_one(**kw)  # one cell in plain floats (the same bits), else the general form
    return api.train_breakdown(**kw)["total_bytes"] if one is None else one


@excel(MEM, "model", "precision", "seq_len", "micro_batch", "gpus", "zero_stage", "checkpointing",
        "tensor_parallel", "pipeline_parallel")
def LLM_TRAIN_VRAM_GIB(model, precision=None, seq_len=None, micro_batch=None, gpus=None, zero_stage=None,
                       checkpointing=None, tensor_parallel=None, pipeline_parallel=None):
    """Training memory per GPU in GiB (2^30 bytes): mixed-precision AdamW states (16 bytes/param, ZeRO
    sharded) + activations (Korthikanti 2022) + overhead."""
    return evaluate(_train_total_bytes,
                    [MODEL, TRAIN_PREC, SEQ_LEN, Arg("micro_batch", "number", 1, V.BATCH), GPUS,
                     Arg("zero_stage", "number", 0, V.ZERO_STAGE),
                     Arg("checkpointing", "choice", "none", parse=_checkpointing),
                     Arg("tensor_parallel", "number", 1, V.PARALLEL),
                     Arg("pipeline_parallel", "number", 1, V.PARALLEL)],
                    [model, precision, seq_len, micro_batch, gpus, zero_stage, checkpointing, tensor_parallel,
                     pipeline_parallel], scale=1 / GIB)


# ------------------------------------------------------------------------------------------ compute
@excel(COMPUTE, "model", "context")
def LLM_FLOPS_PER_TOKEN(model, context=None):
    """Forward FLOPs to generate one token at a context (FLOPs): 2 x matmul parameters + attention
    4 x layers x heads x head_dim x context."""
    return evaluate(api.flops_per_token, [MODEL, CTX], [model, context])


@excel(COMPUTE, "model", "tokens", "seq_len")
def LLM_TRAIN_FLOPS(model, tokens, seq_len=None):
    """Training FLOPs (forward + backward): 6 x params x tokens + attention 12 x layers x width x seq_len x
    tokens (PaLM appendix B)."""
    return evaluate(api.train_flops, [MODEL, TOKENS, SEQ_LEN], [model, tokens, seq_len])


# ------------------------------------------------------------------------------------------ sizing
@excel(MEM, "model", "gpu", "precision", "context", "batch", "kv_precision", "engine")
@memo_first(_gpus_needed_site, when_omitted=("engine",))
def LLM_GPUS_NEEDED(model, gpu, precision=None, context=None, batch=None, kv_precision=None, engine=None):
    """Whole GPUs needed to hold weights + KV cache + activations (count), each GPU keeping 1 GiB runtime
    overhead; with an engine, each GPU offers its gpu_memory_utilization less the CUDA-graph pool."""
    if engine is None or _blank_args(engine):
        return _gpus_needed_site([model, gpu, precision, context, batch, kv_precision])
    return evaluate(api.gpus_needed_engine, [MODEL, GPU, PREC, CTX, BATCH, KVP,
                                             Arg("engine", "choice", None, parse=_engine_or_none)],
                    [model, gpu, precision, context, batch, kv_precision, engine])


@excel(MEM, "model", "gpu", "precision", "context", "batch", "gpus", "kv_precision", "engine")
def LLM_FITS(model, gpu, precision=None, context=None, batch=None, gpus=None, kv_precision=None, engine=None):
    """TRUE if the deployment (weights + KV cache + activations + overhead) fits in gpus GPUs' memory,
    else FALSE; with an engine, within its gpu_memory_utilization less the CUDA-graph pool."""
    return evaluate(api.fits_engine, [MODEL, GPU, PREC, CTX, BATCH, GPUS, KVP,
                                      Arg("engine", "choice", None, parse=_engine_or_none)],
                    [model, gpu, precision, context, batch, gpus, kv_precision, engine], kind="bool")


@excel(MEM, "model", "gpu", "precision", "batch", "gpus", "kv_precision")
def LLM_MAX_CONTEXT(model, gpu, precision=None, batch=None, gpus=None, kv_precision=None):
    """Longest context in tokens that fits (capped at the model's trained context; 0 if the weights alone
    do not fit)."""
    return evaluate(api.max_context, [MODEL, GPU, PREC, BATCH, GPUS, KVP],
                    [model, gpu, precision, batch, gpus, kv_precision])


@excel(MEM, "gpu", "precision", "gpus")
def LLM_MAX_PARAMS(gpu, precision=None, gpus=None):
    """Largest dense model (parameters) whose weights fit in gpus GPUs after 1 GiB runtime overhead each (no
    KV cache)."""
    return evaluate(api.max_params, [GPU, PREC, GPUS], [gpu, precision, gpus])


# ------------------------------------------------------------------------------------------ speed
@excel(SPEED, "model", "gpu", "prompt_tokens", "precision", "batch", "gpus", "engine", "band", "calibration")
def LLM_TTFT_S(model, gpu, prompt_tokens, precision=None, batch=None, gpus=None, engine=None, band=None,
               calibration=None):
    """Time to first token in seconds: prefill of the prompt, the longer of compute time (at the engine's
    prefill MFU) and weight-read time, plus all-reduces, per-layer overhead and the engine's floor."""
    return evaluate(api.ttft_s, [MODEL, GPU, PROMPT, PREC, BATCH, GPUS, ENGINE, BAND, CALIB],
                    [model, gpu, prompt_tokens, precision, batch, gpus, engine, band, calibration])


@excel(SPEED, "model", "gpu", "precision", "context", "batch", "gpus", "kv_precision", "engine", "band",
       "calibration")
@memo_first(_decode_site, when_omitted=("engine", "band", "calibration"))
def LLM_DECODE_TOKPS(model, gpu, precision=None, context=None, batch=None, gpus=None, kv_precision=None,
                     engine=None, band=None, calibration=None):
    """Generated tokens per second for the whole batch (tokens/s): weight + KV reads at the engine's achieved
    bandwidth vs compute, plus launch overhead and tensor-parallel all-reduces."""
    if (engine is None and band is None and calibration is None) or _blank_args(engine, band, calibration):  # the per-combination plan (udfs.core.plan) answers
        return _decode_site([model, gpu, precision, context, batch, gpus, kv_precision])
    return evaluate(_decode_tokps_with, [MODEL, GPU, PREC, CTX, BATCH, GPUS, KVP, ENGINE, BAND, CALIB],
                    [model, gpu, precision, context, batch, gpus, kv_precision, engine, band, calibration])


def _decode_tokps_with(**kw):
    """api.decode_tokps with engine, band or calibration given (the general path)."""
    return api.decode_tokps(**kw)


@excel(SPEED, "model", "gpu", "prompt_tokens", "output_tokens", "precision", "batch", "gpus", "kv_precision",
       "engine", "band", "calibration")
def LLM_LATENCY_S(model, gpu, prompt_tokens, output_tokens, precision=None, batch=None, gpus=None,
                  kv_precision=None, engine=None, band=None, calibration=None):
    """End-to-end seconds for a request: time to first token + output_tokens x time per generated token."""
    return evaluate(api.latency_s, [MODEL, GPU, PROMPT, Arg("output_tokens", "number", REQUIRED, V.CONTEXT),
                                    PREC, BATCH, GPUS, KVP, ENGINE, BAND, CALIB],
                    [model, gpu, prompt_tokens, output_tokens, precision, batch, gpus, kv_precision, engine, band,
                     calibration])


# ------------------------------------------------------------------------------------------ training
@excel(TRAIN, "params")
def LLM_CHINCHILLA_TOKENS(params):
    """Compute-optimal training tokens (count): 20 per parameter (Hoffmann et al. 2022)."""
    return evaluate(_chinchilla_tokens, [Arg("params", "number", REQUIRED, V.PARAMS)], [params])


def _chinchilla_tokens(params):
    return api.chinchilla_tokens(params)


@excel(TRAIN, "model", "tokens", "gpu", "precision", "mfu", "seq_len")
def LLM_TRAIN_GPU_HOURS(model, tokens, gpu, precision=None, mfu=None, seq_len=None):
    """GPU-hours to train on tokens at an MFU: training FLOPs (6ND + attention at seq_len) / (peak FLOP/s x MFU)
    / 3600."""
    return evaluate(api.train_gpu_hours, [MODEL, TOKENS, GPU, TRAIN_PREC, MFU, SEQ_LEN],
                    [model, tokens, gpu, precision, mfu, seq_len])


@excel(TRAIN, "model", "tokens", "gpu", "price_per_gpu_hour", "precision", "mfu", "seq_len")
def LLM_TRAIN_COST(model, tokens, gpu, price_per_gpu_hour, precision=None, mfu=None, seq_len=None):
    """Training cost (currency): GPU-hours x price per GPU-hour."""
    return evaluate(api.train_cost, [MODEL, TOKENS, GPU, PRICE, TRAIN_PREC, MFU, SEQ_LEN],
                    [model, tokens, gpu, price_per_gpu_hour, precision, mfu, seq_len])


# ------------------------------------------------------------------------------------------ cost
@excel(COST, "model", "gpu", "price_per_gpu_hour", "precision", "context", "batch", "gpus", "kv_precision",
       "engine", "band", "calibration")
def LLM_COST_PER_MTOK(model, gpu, price_per_gpu_hour, precision=None, context=None, batch=None, gpus=None,
                      kv_precision=None, engine=None, band=None, calibration=None):
    """Cost per 1,000,000 generated tokens (currency): price x gpus / (decode tokens/s x 3600) x 10^6."""
    return evaluate(api.cost_per_mtok, [MODEL, GPU, PRICE, PREC, CTX, BATCH, GPUS, KVP, ENGINE, BAND, CALIB],
                    [model, gpu, price_per_gpu_hour, precision, context, batch, gpus, kv_precision, engine, band,
                     calibration])


@excel(CATALOG, "gpu", "field")
def GPU_SPEC(gpu, field):
    """A GPU catalog field: memory_gib (GiB), bandwidth_gb_s (GB/s), *_tflops (TFLOPS, dense), interconnect_gb_s
    (GB/s, both directions), generation, tdp_w (W), price_usd (USD), cloud_usd_per_hour, spot_usd_per_hour (USD
    per GPU-hour), or a text column."""
    block = _gpu_block(gpu)
    if block is not None:           # a GPUs-sheet row passed as a range: read the field from that row itself
        return _block_field(block, field)
    return evaluate(_gpu_field, [GPU, Arg("field", "choice", parse=_gpu_column)], [gpu, field], kind="any")


def _gpu_block(gpu) -> dict | None:
    """A GPU row passed as a two-row range (field names over values) as a mapping, else None."""
    from .adapter import field_range, to_grid

    if not isinstance(gpu, (list, tuple)):     # a name: the catalog's row
        return None
    try:
        return field_range(to_grid(gpu), {"name"})
    except Exception:
        return None


def _block_field(block: dict, field):
    """GPU_SPEC on a range: the row's own value (an edited or added GPUs-sheet row is read as it stands)."""
    from .adapter import cell_text, excel_error

    while isinstance(field, (list, tuple)):
        if len(field) != 1:
            return cell_text(ScalesheetError("field", "give one field name, not a range").excel_text())
        field = field[0]
    try:
        key = _gpu_column(field)
    except ScalesheetError as exc:
        return cell_text(exc.excel_text())
    raw = block.get(key)
    if isinstance(raw, str) and excel_error(raw):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "#field: not catalogued for this GPU"
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        try:
            return float(raw)
        except (TypeError, ValueError):
            return raw
    return float(raw) if math.isfinite(raw) else "#field: not catalogued for this GPU"


def _gpu_field(gpu, field):
    """Catalog values element-wise: numbers as numbers, text as text, '#field: ...' where not catalogued."""
    names = np.broadcast_to(np.asarray(gpu.name, dtype=object), np.shape(field))
    out = np.empty(np.shape(field), dtype=object)
    for idx in np.ndindex(out.shape):
        try:
            raw = catalog.gpu_row(names[idx])[field[idx]]
        except ScalesheetError:
            raise ScalesheetError("gpu", "GPU_SPEC reads the GPU catalog; give a catalog name, not a range")
        try:
            out[idx] = float(raw)
        except (TypeError, ValueError):
            out[idx] = raw
        if out[idx] == "" or (isinstance(out[idx], float) and not np.isfinite(out[idx])):
            out[idx] = "#field: not catalogued for this GPU"
    return out


@excel(COST, "gain", "cost")
def PLAN_ROI(gain, cost):
    """Return on investment as a fraction: (gain - cost) / cost. Use profit (revenue minus running costs) as
    the gain, not revenue."""
    return evaluate(api.roi, [Arg("gain", "number", REQUIRED, V.MONEY_SIGNED),
                              Arg("cost", "number", REQUIRED, V.MONEY_POSITIVE)], [gain, cost])


@excel(COST, "investment", "monthly_net_gain")
def PLAN_PAYBACK_MONTHS(investment, monthly_net_gain):
    """Months until cumulative net gain repays the investment: investment / monthly net gain."""
    return evaluate(api.payback_months, [Arg("investment", "number", REQUIRED, V.MONEY),
                                         Arg("monthly_net_gain", "number", REQUIRED, MONTHLY_GAIN)],
                    [investment, monthly_net_gain])


@excel(COST, "purchase_price", "cloud_price_per_hour", "power_kw", "energy_price_per_kwh", "lifetime_years")
def PLAN_BREAKEVEN_HOURS(purchase_price, cloud_price_per_hour, power_kw=None, energy_price_per_kwh=None,
                         lifetime_years=None):
    """GPU-hours of use after which owning beats renting: purchase price / (cloud price per hour - power x
    energy price)."""
    return evaluate(api.breakeven_hours,
                    [Arg("purchase_price", "number", REQUIRED, V.MONEY),
                     Arg("cloud_price_per_hour", "number", REQUIRED, V.MONEY_POSITIVE),
                     Arg("power_kw", "number", 0.0, V.POWER_KW),
                     Arg("energy_price_per_kwh", "number", 0.0, V.ENERGY_PRICE),
                     Arg("lifetime_years", "number", V.YEARS.maximum, V.YEARS)],
                    [purchase_price, cloud_price_per_hour, power_kw, energy_price_per_kwh, lifetime_years])


# ------------------------------------------------------------------- beyond the contract: planning helpers
DOC.update({
    "required_gib": "Memory the deployment needs in GiB (2^30 bytes), e.g. from LLM_INFER_VRAM_GIB, >= 0.",
    "price_field": "Price to minimise: price_usd (purchase, USD) or cloud_usd_per_hour (USD per GPU-hour). "
                   "Blank = price_usd.",
})


def _price_field(value):
    key = str(value).strip().lower()
    if key not in ("price_usd", "cloud_usd_per_hour"):
        raise ScalesheetError("price_field", f"'{value}' is not allowed; use price_usd or cloud_usd_per_hour")
    return key


def _cheapest(required_gib, gpus, price_field):
    """Cheapest GPU per cell; each distinct price field is looked up on its own cells."""
    need = np.asarray(required_gib, dtype=np.float64) * GIB
    fields = np.broadcast_to(np.asarray(price_field, dtype=object), np.broadcast_shapes(need.shape, np.shape(gpus),
                                                                                        np.shape(price_field)))
    out = np.empty(fields.shape, dtype=object)
    for f in set(fields.ravel().tolist()):
        mask = fields == f
        out[mask] = np.broadcast_to(sizing.cheapest_gpu(need, gpus, f), fields.shape)[mask]
    if np.any(out == ""):
        raise ScalesheetError("required_gib", "no catalog GPU with a price holds that much memory on that many "
                                              "GPUs; raise gpus")
    return out


@excel(MEM, "required_gib", "gpus", "price_field")
def LLM_CHEAPEST_GPU(required_gib, gpus=None, price_field=None):
    """Name of the cheapest catalog GPU (purchase or cloud price x gpus) whose memory, less 1 GiB runtime overhead
    each, holds required_gib (GiB)."""
    return evaluate(_cheapest, [Arg("required_gib", "number", REQUIRED, V.Rule("GiB", minimum=0, maximum=1e9)),
                                GPUS, Arg("price_field", "choice", "price_usd", parse=_price_field)],
                    [required_gib, gpus, price_field], kind="any")

# ---------------------------------------------------------- serving at concurrency, SLOs, calibration (issue 13)
SERVE = "Scalesheet Serving"
DOC.update({
    "concurrency": "Sequences decoded together (continuous batching), whole number >= 1. Blank = the most the KV "
                   "cache holds at prompt + output tokens (capped by the engine's max_num_seqs).",
    "per_user": "TRUE = tokens/s each user sees (1 / inter-token latency); FALSE or blank = output tokens/s of "
                "the whole replica.",
    "requests_per_s": "Arriving requests per second (Poisson arrivals), >= 0.",
    "replicas": "Copies of the model serving the load, each on gpus GPUs, whole number >= 1. Blank = 1.",
    "percentile": "TTFT percentile, 0.5-0.999 (e.g. 0.95). Blank = the mean.",
    "ttft_s": "Target time to first token in seconds at the 95th percentile (or percentile), > 0.",
    "tokens_per_s_per_user": "Target generated tokens/s each user sees, > 0 (e.g. 20).",
    "direction": "input (prompt tokens) or output (generated tokens). Blank = output.",
    "budget_per_month": "Money per month for GPUs (currency per month), >= 0.",
    "rent_per_gpu_hour": "Rent of one GPU for one hour (currency per GPU-hour), > 0.",
    "requests_per_user_per_hour": "Requests one user sends per hour, > 0.",
    "measured_tokps": "Decode tokens/s you measured on your system, for the same model/GPU/precision/context/"
                      "batch/gpus/engine, > 0.",
    "vllm_line": "KV-cache size in tokens, or vLLM's startup line 'GPU KV cache size: N tokens' or 'Maximum "
                 "concurrency for X tokens per request: Yx' pasted as text.",
    "reserved_gib": "GiB per GPU the engine keeps outside weights and KV cache (from LLM_CALIBRATE_KV). Blank = "
                    "from the engine preset: memory x (1 - gpu_memory_utilization) + overhead + CUDA graphs + "
                    "activations.",
    "gpus_per_replica": "GPUs holding one copy of the model (tensor parallel or layer split by engine), >= 1. "
                        "Blank = 1.",
})
KV_OUT = Arg("output_tokens", "number", REQUIRED, V.CONTEXT)
RESERVED = Arg("reserved_gib", "number", None, V.RESERVED_GIB)
REQ_RATE = Arg("requests_per_s", "number", REQUIRED, V.REQUESTS_PER_S)
SLO_ARGS = [MODEL, GPU, REQ_RATE, PROMPT, KV_OUT, Arg("ttft_s", "number", REQUIRED, V.SECONDS),
            Arg("tokens_per_s_per_user", "number", REQUIRED, V.TOKPS), PREC, KVP, ENGINE, BAND, CALIB,
            Arg("percentile", "number", 0.95, V.PERCENTILE)]


def _opt_number(name, rule):
    return Arg(name, "number", None, rule)


@excel(SERVE, "model", "gpu", "precision", "gpus", "kv_precision", "engine", "reserved_gib")
def LLM_KV_CAPACITY_TOKENS(model, gpu, precision=None, gpus=None, kv_precision=None, engine=None, reserved_gib=None):
    """Tokens the KV cache holds (count, whole blocks) after weights, the engine's reserve and activations."""
    return evaluate(api.kv_capacity_tokens, [MODEL, GPU, PREC, GPUS, KVP, ENGINE, RESERVED],
                    [model, gpu, precision, gpus, kv_precision, engine, reserved_gib])


@excel(SERVE, "model", "gpu", "context", "precision", "gpus", "kv_precision", "engine", "reserved_gib")
def LLM_MAX_CONCURRENCY(model, gpu, context, precision=None, gpus=None, kv_precision=None, engine=None,
                        reserved_gib=None):
    """Sequences of context tokens served at once (count): KV-cache tokens / tokens per sequence (rounded up
    to KV blocks), capped by the engine's max_num_seqs."""
    return evaluate(api.max_concurrency, [MODEL, GPU, Arg("context", "number", REQUIRED, V.POSITIVE_TOKENS), PREC,
                                          GPUS, KVP, ENGINE, RESERVED],
                    [model, gpu, context, precision, gpus, kv_precision, engine, reserved_gib])


@excel(SERVE, "model", "gpu", "concurrency", "prompt_tokens", "output_tokens", "per_user", "precision", "gpus",
       "kv_precision", "engine", "band", "calibration")
def LLM_SERVE_TOKPS(model, gpu, concurrency, prompt_tokens, output_tokens, per_user=None, precision=None, gpus=None,
                    kv_precision=None, engine=None, band=None, calibration=None):
    """Output tokens/s of one replica under continuous batching at a concurrency (or per user): decode step at
    the mean context plus the prefill work of the prompts that arrive meanwhile."""
    return evaluate(_serve_per_user_cells, [MODEL, GPU, Arg("concurrency", "number", REQUIRED, V.BATCH), PROMPT, KV_OUT,
                                      Arg("per_user", "choice", False, parse=_bool), PREC, GPUS, KVP, ENGINE, BAND,
                                      CALIB],
                    [model, gpu, concurrency, prompt_tokens, output_tokens, per_user, precision, gpus, kv_precision,
                     engine, band, calibration])


def _bool(value):
    if value is None or isinstance(value, (bool, np.bool_)):
        return bool(value)
    key = str(value).strip().lower()
    if key in ("true", "1", "yes"):
        return True
    if key in ("false", "0", "no", ""):
        return False
    raise ScalesheetError("per_user", f"{value!r} is not TRUE or FALSE")


def _serve_per_user_cells(**kw):
    """per_user may differ per cell: evaluate both and pick."""
    pu = np.asarray(kw.pop("per_user"), dtype=bool)
    if pu.ndim == 0:  # one choice for every cell: only that form (both share every step but the last division)
        return api.serve_tokps(per_user=bool(pu), **kw)
    total = api.serve_tokps(per_user=False, **kw)
    user = api.serve_tokps(per_user=True, **kw)
    return np.where(pu, user, total)


@excel(SERVE, "model", "gpu", "requests_per_s", "prompt_tokens", "output_tokens", "concurrency", "replicas",
       "percentile", "precision", "gpus", "kv_precision", "engine", "band", "calibration")
def LLM_TTFT_AT_RATE_S(model, gpu, requests_per_s, prompt_tokens, output_tokens, concurrency=None, replicas=None,
                       percentile=None, precision=None, gpus=None, kv_precision=None, engine=None, band=None,
                       calibration=None):
    """Time to first token in seconds with queueing at a request rate: prefill time + M/D/1 wait per replica
    (mean, or the percentile); #NUM! text-free: returns a very large number when the load exceeds capacity."""
    return evaluate(_ttft_at_rate, [MODEL, GPU, REQ_RATE, PROMPT, KV_OUT, _opt_number("concurrency", V.BATCH),
                                    Arg("replicas", "number", 1, V.GPUS), _opt_number("percentile", V.PERCENTILE), PREC, GPUS, KVP,
                                    ENGINE, BAND, CALIB],
                    [model, gpu, requests_per_s, prompt_tokens, output_tokens, concurrency, replicas, percentile,
                     precision, gpus, kv_precision, engine, band, calibration])


def _ttft_at_rate(**kw):
    out = np.asarray(api.ttft_at_rate_s(**kw), dtype=np.float64)
    if np.any(~np.isfinite(out)):
        raise ScalesheetError("requests_per_s", "exceeds what the replicas serve at this concurrency; add "
                                                "replicas (see LLM_REPLICAS_FOR_SLO)")
    return out


@excel(SERVE, "model", "gpu", "requests_per_s", "prompt_tokens", "output_tokens", "ttft_s", "tokens_per_s_per_user",
       "precision", "kv_precision", "engine", "band", "calibration", "percentile")
def LLM_GPUS_FOR_SLO(model, gpu, requests_per_s, prompt_tokens, output_tokens, ttft_s, tokens_per_s_per_user,
                     precision=None, kv_precision=None, engine=None, band=None, calibration=None, percentile=None):
    """Fewest GPUs (count) that serve the request rate with the TTFT percentile and per-user tokens/s met:
    replicas x GPUs per replica, trying replicas of 1, 2, 4 and 8 GPUs."""
    return evaluate(api.gpus_for_slo, SLO_ARGS,
                    [model, gpu, requests_per_s, prompt_tokens, output_tokens, ttft_s, tokens_per_s_per_user,
                     precision, kv_precision, engine, band, calibration, percentile])


@excel(SERVE, "model", "gpu", "requests_per_s", "prompt_tokens", "output_tokens", "ttft_s", "tokens_per_s_per_user",
       "precision", "kv_precision", "engine", "band", "calibration", "percentile")
def LLM_REPLICAS_FOR_SLO(model, gpu, requests_per_s, prompt_tokens, output_tokens, ttft_s, tokens_per_s_per_user,
                         precision=None, kv_precision=None, engine=None, band=None, calibration=None,
                         percentile=None):
    """Replicas (count) in the plan of LLM_GPUS_FOR_SLO; GPUs per replica = LLM_GPUS_FOR_SLO / this."""
    return evaluate(api.replicas_for_slo, SLO_ARGS,
                    [model, gpu, requests_per_s, prompt_tokens, output_tokens, ttft_s, tokens_per_s_per_user,
                     precision, kv_precision, engine, band, calibration, percentile])


@excel(SERVE, "model", "gpu", "price_per_gpu_hour", "prompt_tokens", "output_tokens", "direction", "concurrency",
       "precision", "gpus", "kv_precision", "engine", "band", "calibration")
def LLM_COST_PER_MTOK_IO(model, gpu, price_per_gpu_hour, prompt_tokens, output_tokens, direction=None,
                         concurrency=None, precision=None, gpus=None, kv_precision=None, engine=None, band=None,
                         calibration=None):
    """Cost per 1,000,000 input or output tokens (currency) of a replica under continuous batching: its GPU time
    split between prompt prefill and decode, as API price lists do."""
    return evaluate(api.cost_per_mtok_io, [MODEL, GPU, PRICE, PROMPT, KV_OUT,
                                           Arg("direction", "choice", "output", parse=api.direction_choice),
                                           _opt_number("concurrency", V.BATCH), PREC, GPUS, KVP, ENGINE, BAND, CALIB],
                    [model, gpu, price_per_gpu_hour, prompt_tokens, output_tokens, direction, concurrency, precision,
                     gpus, kv_precision, engine, band, calibration])


@excel(SERVE, "model", "gpu", "budget_per_month", "rent_per_gpu_hour", "requests_per_user_per_hour",
       "prompt_tokens", "output_tokens", "ttft_s", "tokens_per_s_per_user", "precision", "kv_precision", "engine",
       "band", "calibration")
def LLM_USERS_FOR_BUDGET(model, gpu, budget_per_month, rent_per_gpu_hour, requests_per_user_per_hour,
                         prompt_tokens, output_tokens, ttft_s, tokens_per_s_per_user, precision=None,
                         kv_precision=None, engine=None, band=None, calibration=None):
    """Most users (count) a monthly GPU budget serves at the SLO: whole replicas the budget rents (730 h per
    month) x requests/s each sustains / requests per user."""
    return evaluate(api.users_for_budget,
                    [MODEL, GPU, Arg("budget_per_month", "number", REQUIRED, V.MONEY),
                     Arg("rent_per_gpu_hour", "number", REQUIRED, V.MONEY_POSITIVE),
                     Arg("requests_per_user_per_hour", "number", REQUIRED, V.MONEY_POSITIVE), PROMPT, KV_OUT,
                     Arg("ttft_s", "number", REQUIRED, V.SECONDS),
                     Arg("tokens_per_s_per_user", "number", REQUIRED, V.TOKPS), PREC, KVP, ENGINE, BAND, CALIB],
                    [model, gpu, budget_per_month, rent_per_gpu_hour, requests_per_user_per_hour, prompt_tokens,
                     output_tokens, ttft_s, tokens_per_s_per_user, precision, kv_precision, engine, band, calibration])


@excel(SERVE, "model", "gpu", "measured_tokps", "precision", "context", "batch", "gpus", "kv_precision", "engine")
def LLM_CALIBRATE_DECODE(model, gpu, measured_tokps, precision=None, context=None, batch=None, gpus=None,
                         kv_precision=None, engine=None):
    """Calibration factor (ratio): your measured decode tokens/s / ours for the same setup. Pass it as the
    calibration argument of the speed, serving and cost functions."""
    return evaluate(api.calibrate_decode, [MODEL, GPU, Arg("measured_tokps", "number", REQUIRED, V.TOKPS), PREC,
                                           CTX, BATCH, GPUS, KVP, ENGINE],
                    [model, gpu, measured_tokps, precision, context, batch, gpus, kv_precision, engine])


@excel(SERVE, "model", "gpu", "vllm_line", "precision", "gpus", "kv_precision")
def LLM_CALIBRATE_KV(model, gpu, vllm_line, precision=None, gpus=None, kv_precision=None):
    """GiB per GPU (2^30 bytes) your engine keeps outside weights and KV cache, implied by its reported KV
    capacity; pass it as reserved_gib to LLM_MAX_CONCURRENCY and LLM_KV_CAPACITY_TOKENS."""
    return evaluate(api.calibrate_kv, [MODEL, GPU, Arg("vllm_line", "choice", REQUIRED, parse=api.kv_tokens_choice),
                                       PREC, GPUS, KVP],
                    [model, gpu, vllm_line, precision, gpus, kv_precision])


# The Excel functions (what `from udfs import *` gives, e.g. in xlwings Lite's main.py).
__all__ = sorted(name for name, obj in list(globals().items()) if name.isupper() and callable(obj)
                 and str(getattr(obj, "__module__", "")).startswith(__name__))

# The first cell of a session reads its constants from udfs/core/data/plan_parts.csv once that file is checked
# against the catalogs: the check and the read happen here, with the add-in's import (about 1 ms; still no numpy)
from .core import quick as _quick  # noqa: E402

_quick.preload()


# ------------------------------------------------------------------------ buy, rent or API (economics)
DOC.update({
    "power_kw_owned": "IT power of the GPU with its share of the server at full load, kW (e.g. 0.7 kW TDP x 1.82 "
                      "server factor = 1.274 kW for an H100 in a DGX), >= 0.",
    "utilisation": "Share of the month the GPU is busy, 0-1 (energy scales with it). Blank = 1.",
    "pue": "Power usage effectiveness, >= 1 (facility / IT power). Blank = 1.58 (Uptime Institute 2023 average).",
    "colo_per_kw_month": "Colocation rent per kW of IT power per month (currency). Blank = 163.44 USD (CBRE North "
                         "America H2 2023, 250-500 kW).",
    "maintenance_share": "Maintenance contract per year as a share of capex, 0-1. Blank = 0.10 (10-30 % quoted; low "
                         "end).",
    "server_share": "Rest of the server per GPU as a share of the GPU price, >= 0. Blank = 0.32 (8 x H100 server "
                    "quote, Aug 2024).",
    "life_years": "Useful life for straight-line depreciation in years. Blank = 5 (Amazon, Meta 10-K servers).",
    "staff_per_gpu_month": "Staff cost per owned GPU per month (currency). Blank = 0.",
    "energy_price_per_kwh_fin": "Electricity price (currency per kWh). Blank = 0.0895 USD (EIA 2023, Virginia "
                                "commercial).",
    "owned_part": "Which cost: total, depreciation, energy, colocation, maintenance, staff or capex (currency). "
                  "Blank = total (currency per GPU per month; capex is once).",
    "rent_price_per_hour": "On-demand rental price per GPU-hour (currency), > 0.",
    "input_tokens": "Prompt (input) tokens per request, whole number >= 1.",
    "output_tokens_io": "Generated (output) tokens per request, whole number >= 1.",
    "mtok_side": "blended (all tokens), input (prefill share per 1M input tokens) or output (decode share per 1M "
                 "output tokens). Blank = blended.",
    "tokens_per_day": "Demand in tokens per day (input + output), >= 0, in the first month.",
    "growth_per_month": "Demand growth per month as a fraction (0.08 = 8 %/month), -0.99 to 10.",
    "peak_to_average": "Peak-to-average ratio of the day's load, >= 1 (linear load-duration curve).",
    "horizon_months": "Months planned, whole number 1-600.",
    "replica_tokps": "Tokens/s (input + output) one serving replica sustains at your SLO, > 0.",
    "gpus_per_replica": "GPUs per serving replica (tensor-parallel group), whole number >= 1.",
    "reserve_replicas": "Spare replicas kept idle for failures (N+1 = 1), whole number >= 0.",
    "capex_per_gpu": "Up-front cost per base GPU (currency): GPU + server share for owned, 0 for committed rent.",
    "fixed_per_gpu_month": "Fixed cost per base GPU per month (currency): colocation + maintenance + staff, or the "
                           "committed rent.",
    "energy_full_per_gpu_month": "Energy per base GPU per month at 100 % utilisation (currency); 0 for rent.",
    "burst_cost_per_mtok": "Cost per 1M tokens of the overflow (cheaper of on-demand rent and the API), >= 0.",
    "discount_rate": "Annual discount rate (cost of capital) as a fraction, e.g. 0.1.",
    "residual_share": "Share of the book value recovered at the horizon's end, 0-1. Blank = 0.",
    "base_replicas": "Most base replicas (owned or committed) before burst takes over; blank = enough for the "
                     "peak every month.",
    "mix_result": "replicas (the cheapest base size) or pv (its present cost, currency). Blank = replicas.",
    "api": "Hosted-API reference name from the API price list, e.g. gpt-4o, claude-sonnet-4.5, deepseek-chat.",
    "api_side": "input or output: the price per 1M input or output tokens (currency, USD).",
})


def _owned_part(value):
    key = "total" if value is None else str(value).strip().lower()
    if key not in api.economics.OWNED_PARTS + ("total", "capex"):
        raise ScalesheetError("part", f"'{value}' is not allowed; use total, depreciation, energy, colocation, "
                                      "maintenance, staff or capex")
    return key


def _mtok_part(value):
    key = "blended" if value is None else str(value).strip().lower()
    if key not in api.MTOK_PARTS:
        raise ScalesheetError("side", f"'{value}' is not allowed; use blended, input or output")
    return key


_FIN_DEFAULTS: dict = {}  # name -> the function giving its default (one per name)


def _fin_default(name):
    """The default of a finance argument, read from the catalog when a cell leaves it blank: one function per
    name (Args are interned by their defaults, and the memo keys cells by the Args: a new function on every call
    would never be remembered and would intern a new Arg each time)."""
    try:
        return _FIN_DEFAULTS[name]
    except KeyError:
        return _FIN_DEFAULTS.setdefault(name, lambda: api.economics.finance_default(name))


def _fin_args():
    """The owned-cost arguments after power_kw (shared by two functions)."""
    return [Arg("pue", "number", _fin_default("pue"), api.PUE),
            Arg("energy_price_per_kwh", "number", _fin_default("energy_usd_per_kwh"), V.ENERGY_PRICE),
            Arg("colo_per_kw_month", "number", _fin_default("colo_usd_per_kw_month"), V.MONEY),
            Arg("maintenance_share", "number", _fin_default("maintenance_share_per_year"), api.SHARE),
            Arg("server_share", "number", _fin_default("server_share_of_gpu_price"),
                V.Rule("fraction of the GPU price", minimum=0, maximum=100)),
            Arg("life_years", "number", _fin_default("useful_life_years"), V.YEARS),
            Arg("staff_per_gpu_month", "number", 0.0, V.MONEY)]


_FIN_DOCS = dict(DOC, energy_price_per_kwh=DOC["energy_price_per_kwh_fin"], part=DOC["owned_part"],
                 power_kw=DOC["power_kw_owned"])


def _owned(purchase_price, power_kw, utilisation, pue, energy_price_per_kwh, colo_per_kw_month, maintenance_share,
           server_share, life_years, staff_per_gpu_month, part):
    parts = api.owned_monthly_cost(purchase_price, power_kw, utilisation, pue, energy_price_per_kwh,
                                   colo_per_kw_month, maintenance_share, server_share, life_years, staff_per_gpu_month)
    out = np.zeros(np.broadcast(*[np.asarray(v) for v in parts.values()], np.asarray(part, dtype=object)).shape)
    for key in set(np.asarray(part, dtype=object).ravel().tolist()):
        mask = np.broadcast_to(np.asarray(part, dtype=object) == key, out.shape)
        out[mask] = np.broadcast_to(parts[key], out.shape)[mask]
    return out


@excel(COST, "purchase_price", "power_kw", "utilisation", "pue", "energy_price_per_kwh", "colo_per_kw_month",
       "maintenance_share", "server_share", "life_years", "staff_per_gpu_month", "part", docs=_FIN_DOCS)
def PLAN_OWNED_MONTHLY_COST(purchase_price, power_kw, utilisation=None, pue=None, energy_price_per_kwh=None,
                            colo_per_kw_month=None, maintenance_share=None, server_share=None, life_years=None,
                            staff_per_gpu_month=None, part=None):
    """Monthly cost of one owned GPU with its share of the server (currency per month): straight-line
    depreciation + energy x utilisation x PUE + colocation per kW + maintenance + staff."""
    return evaluate(_owned, [Arg("purchase_price", "number", REQUIRED, V.MONEY),
                             Arg("power_kw", "number", REQUIRED, V.POWER_KW),
                             Arg("utilisation", "number", 1.0, api.SHARE)] + _fin_args()
                    + [Arg("part", "choice", "total", parse=_owned_part)],
                    [purchase_price, power_kw, utilisation, pue, energy_price_per_kwh, colo_per_kw_month,
                     maintenance_share, server_share, life_years, staff_per_gpu_month, part])


@excel(COST, "purchase_price", "power_kw", "rent_price_per_hour", "pue", "energy_price_per_kwh", "colo_per_kw_month",
       "maintenance_share", "server_share", "life_years", "staff_per_gpu_month", docs=_FIN_DOCS)
def PLAN_BREAKEVEN_UTILISATION(purchase_price, power_kw, rent_price_per_hour, pue=None, energy_price_per_kwh=None,
                               colo_per_kw_month=None, maintenance_share=None, server_share=None, life_years=None,
                               staff_per_gpu_month=None):
    """Utilisation (fraction 0-1 of the month busy) above which owning a GPU beats renting it on demand for the
    busy hours: fixed monthly cost / (730 x rent - energy at full use)."""
    return evaluate(api.breakeven_utilisation,
                    [Arg("purchase_price", "number", REQUIRED, V.MONEY), Arg("power_kw", "number", REQUIRED, V.POWER_KW),
                     Arg("rent_price_per_hour", "number", REQUIRED, V.MONEY_POSITIVE)] + _fin_args(),
                    [purchase_price, power_kw, rent_price_per_hour, pue, energy_price_per_kwh, colo_per_kw_month,
                     maintenance_share, server_share, life_years, staff_per_gpu_month])


_IO_DOCS = dict(DOC, output_tokens=DOC["output_tokens_io"], side=DOC["mtok_side"])


def _io(side=None, **kw):
    return api.batch_cost_per_mtok_io(part=side, **kw)


@excel(COST, "model", "gpu", "price_per_gpu_hour", "input_tokens", "output_tokens", "side", "precision", "batch",
       "gpus", "kv_precision", docs=_IO_DOCS)
def LLM_BATCH_COST_PER_MTOK_IO(model, gpu, price_per_gpu_hour, input_tokens, output_tokens, side=None,
                               precision=None, batch=None, gpus=None, kv_precision=None):
    """Serving cost per 1M tokens (currency) for requests of input + output tokens, batch at a time: blended,
    or split into input (prefill time) and output (decode time), comparable with API prices."""
    return evaluate(_io,
                    [MODEL, GPU, PRICE, Arg("input_tokens", "number", REQUIRED, V.POSITIVE_TOKENS),
                     Arg("output_tokens", "number", REQUIRED, V.CONTEXT),
                     Arg("side", "choice", "blended", parse=_mtok_part), PREC, BATCH, GPUS, KVP],
                    [model, gpu, price_per_gpu_hour, input_tokens, output_tokens, side, precision, batch, gpus,
                     kv_precision])


def _api_name(value):
    if value is None or not str(value).strip():
        raise ScalesheetError("api", "is blank; give a name from the API price list, e.g. gpt-4o")
    api.economics.api_price(value, "input")  # raises with the list of names
    return str(value).strip()


def _api_side(value):
    if value is None:
        raise ScalesheetError("side", "is blank; use input or output")
    key = str(value).strip().lower()
    if key not in ("input", "output"):
        raise ScalesheetError("side", f"'{value}' is not allowed; use input or output")
    return key


def _api_prices(api_name, side):
    out = np.empty(np.broadcast(np.asarray(api_name, dtype=object), np.asarray(side, dtype=object)).shape)
    names = np.broadcast_to(np.asarray(api_name, dtype=object), out.shape)
    sides = np.broadcast_to(np.asarray(side, dtype=object), out.shape)
    for idx in np.ndindex(out.shape):
        out[idx] = api.economics.api_price(names[idx], sides[idx])
    return out


@excel(CATALOG, "api", "side", docs=dict(DOC, side=DOC["api_side"]))
def PLAN_API_PRICE(api, side):  # noqa: F811 (the argument's Excel name; the module is used outside)
    """Hosted-API price per 1M input or output tokens (USD) of a reference model, from the dated, sourced API
    price list (udfs/core/data/api_prices.csv)."""
    return evaluate(_api_price_core,
                    [Arg("api", "choice", parse=_api_name), Arg("side", "choice", parse=_api_side)], [api, side])


def _api_price_core(api, side):  # noqa: F811
    return _api_prices(api, side)


def _plan_arg_list():
    return [Arg("tokens_per_day", "number", REQUIRED, api.TOKENS_PER_DAY),
            Arg("growth_per_month", "number", REQUIRED, api.GROWTH),
            Arg("peak_to_average", "number", REQUIRED, api.PEAK),
            Arg("horizon_months", "number", REQUIRED, api.HORIZON),
            Arg("replica_tokps", "number", REQUIRED, V.TOKPS),
            Arg("gpus_per_replica", "number", REQUIRED, V.GPUS),
            Arg("reserve_replicas", "number", REQUIRED, api.REPLICAS),
            Arg("capex_per_gpu", "number", REQUIRED, V.MONEY),
            Arg("fixed_per_gpu_month", "number", REQUIRED, V.MONEY),
            Arg("energy_full_per_gpu_month", "number", REQUIRED, V.MONEY),
            Arg("burst_cost_per_mtok", "number", REQUIRED, api.COST_PER_MTOK),
            Arg("discount_rate", "number", REQUIRED, api.RATE)]


PLAN_ARGS = ("tokens_per_day", "growth_per_month", "peak_to_average", "horizon_months", "replica_tokps",
             "gpus_per_replica", "reserve_replicas", "capex_per_gpu", "fixed_per_gpu_month",
             "energy_full_per_gpu_month", "burst_cost_per_mtok", "discount_rate")


def _mix_result(value):
    key = "replicas" if value is None else str(value).strip().lower()
    if key not in ("replicas", "pv"):
        raise ScalesheetError("result", f"'{value}' is not allowed; use replicas or pv")
    return key


@excel(COST, *PLAN_ARGS, "residual_share", "life_years", "result", docs=dict(DOC, result=DOC["mix_result"]))
def PLAN_CHEAPEST_MIX(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps,
                      gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month,
                      energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, residual_share=None,
                      life_years=None, result=None):
    """Base replicas (count) of owned or committed GPUs that make base + burst cheapest in present value over the
    horizon (result=pv: that present cost, currency). 0 = all burst; the peak need = all base."""
    return evaluate(api.cheapest_mix, _plan_arg_list() + [
        Arg("residual_share", "number", 0.0, api.SHARE),
        Arg("life_years", "number", _fin_default("useful_life_years"), V.YEARS),
        Arg("result", "choice", "replicas", parse=_mix_result)],
        [tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
         reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
         discount_rate, residual_share, life_years, result])


@excel(COST, *PLAN_ARGS, "base_replicas", "residual_share", "life_years")
def PLAN_FLEET_PV(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps,
                  gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month,
                  burst_cost_per_mtok, discount_rate, base_replicas=None, residual_share=None, life_years=None):
    """Present value (currency) of a plan's monthly costs: base fleet bought or committed as demand grows, capped
    at base_replicas, overflow at burst_cost_per_mtok; equals Excel NPV of the sheet's monthly costs."""
    return evaluate(_fleet_pv_core, _plan_arg_list() + [
        Arg("base_replicas", "number", 1e9, api.REPLICAS),
        Arg("residual_share", "number", 0.0, api.SHARE),
        Arg("life_years", "number", _fin_default("useful_life_years"), V.YEARS)],
        [tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica,
         reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok,
         discount_rate, base_replicas, residual_share, life_years])


def _fleet_pv_core(base_replicas=None, **kw):  # a blank base (1e9) means: enough for the peak every month
    return api.fleet_pv(base_replicas=None if base_replicas is None or np.all(base_replicas >= 1e9) else base_replicas,
                        **kw)


__all__ = sorted(name for name, obj in list(globals().items()) if name.isupper() and callable(obj)
                 and str(getattr(obj, "__module__", "")).startswith(__name__))
