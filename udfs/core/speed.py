"""Latency and throughput from a step-time model with physical terms (issue 13).

A decode step (one token for each of ``batch`` sequences) on ``t`` tensor-parallel GPUs takes

    step = max(memory_s, compute_s) + overhead_s + allreduce_s
    memory_s    = (weights touched + KV cache read + recurrent state read and written + one embedding row
                   per token) / (t x achieved bandwidth)
    compute_s   = batch x FLOPs per token / (t x peak FLOP/s x decode_mfu)
    overhead_s  = step_overhead_s + n_layers x layer_overhead_s          (kernel launches, scheduler)
    allreduce_s = 2 x n_layers x (allreduce_latency_s + 2 (t-1)/t x message / interconnect bandwidth)
                  message = batch x d_model x 2 bytes (fp16 activations; Megatron-LM's two all-reduces per
                  layer, Shoeybi et al. 2019 sec. 3; ring all-reduce moves 2(t-1)/t of the message)

achieved bandwidth = catalog bandwidth x ``bw_eff`` of the engine (``bw_eff_apple`` on Apple GPUs, whose
Metal kernels reach other fractions of bandwidth and of peak, ``prefill_mfu_apple``, and pay more per layer
for command encoding, ``layer_overhead_apple_s``) x
``quant_bw_factor`` for block-quantized formats (GGUF, GPTQ/AWQ-style integer; any format below 8 bits) (dequantisation costs the kernels bandwidth;
in prefill it costs compute: ``quant_prefill_factor``).
Engines that split layers over GPUs (llama.cpp ``--split-mode layer``, transformers ``device_map``) run
the GPUs one after another at batch 1: memory time is that of one GPU reading everything, plus a hand-off
per extra GPU (``allreduce_latency_s``). Pipeline parallelism (``pp`` stages) is the same sequence for one
token; with enough sequences in flight stages overlap, so throughput divides by the stages while the
per-token time does not (bubble fraction (pp-1)/(micro-batches+pp-1), Huang et al. 2019 GPipe sec. 2.2).

Expert parallelism (``expert_parallel``, MoE only): each GPU keeps attention and dense weights whole and
1/g of the routed experts, serves b/g sequences' attention, and pays two all-to-alls per MoE layer instead
of the tensor-parallel all-reduces (DeepSeek-V3 serving layout, arXiv:2412.19437 sec. 3.4).

Prefill (time to first token) of ``batch`` prompts:

    ttft = max((matmul FLOPs + attention FLOPs / attention_factor) / (t x peak x prefill_mfu x moe factor),
               weight bytes / (t x bandwidth) x chunks)
           + allreduce (message = prompt tokens x d_model x 2 bytes) + n_layers x layer_overhead_s
           + prefill_floor_s

Attention FLOPs run at ``attention_factor`` of the GEMM rate: FlashAttention-2 reaches 50-73 % of A100
peak where GEMMs reach 80 % (Dao 2023, arXiv:2307.08691 Fig. 4-6: about 0.7 of the GEMM rate); llama.cpp's
attention (fitted) much less. Pipeline stages overlap prompt micro-batches (GPipe bubble, below).
GeForce cards run llama.cpp's fp16 GEMMs at the fp16-accumulate rate (twice the fp32-accumulate rate the
datasheet lists as 'FP16 tensor'; NVIDIA Ada / Ampere GA102 whitepapers, Appendix A); the catalog column
``fp16_acc16_tflops`` when present, else 2 x the fp16 column on GeForce cards.
Mixture-of-experts prefill: grouped expert GEMMs run below dense-GEMM efficiency (``moe_compute_factor``;
MegaBlocks, Gale et al. 2022, Fig. 1 and issue 13: Mixtral prefill measured 3x below a dense roofline).

Every term's default is an engine preset (data/engines.csv, each sourced); ``engine`` blank = auto
(llama.cpp for GGUF formats, Apple and GeForce GPUs; vLLM otherwise). ``calibration`` (default 1) divides every
time by a factor measured on the user's own system (LLM_CALIBRATE_DECODE).
"""

from __future__ import annotations

import functools

import numpy as np

from . import flops as F
from . import memory as M
from . import params as P
from .architecture import Architecture
from .catalog import GPU, Precision, _read_csv, gpu_table, precision_table
from .errors import ScalesheetError
from .training import peak_flops
from .units import GB, TERA

ENGINE_NUMERIC = ["bw_eff", "bw_eff_apple", "quant_bw_factor", "prefill_mfu", "prefill_mfu_apple",
                  "attention_factor", "quant_prefill_factor", "decode_mfu",
                  "fp16_acc16",
                  "step_overhead_s", "layer_overhead_s", "layer_overhead_apple_s", "prefill_floor_s", "allreduce_latency_s",
                  "moe_compute_factor", "gpu_memory_utilization", "cuda_graph_gib", "kv_block_tokens",
                  "max_num_seqs", "layer_split"]
ACTIVATION_BYTES = 2  # fp16/bf16 activations exchanged by the all-reduces
LLAMA_CPP_UBATCH = 512.0  # llama.cpp n_ubatch default (common/common.h), the pipeline micro-batch
PREFILL_CHUNK = 8192.0    # tokens per prefill pass of a server (vLLM max_num_batched_tokens, assumptions.csv)
PCIE_GB_S = 64.0       # PCIe 4.0 x16, both directions (PCI-SIG: 16 GT/s x 16 lanes ~ 32 GB/s each way)
PCIE_MAX_GB_S = 128.0  # an interconnect figure at or below PCIe 5.0 x16 means no GPU-to-GPU link
PCIE_LATENCY_FACTOR = 2.0  # NCCL over PCIe / host bridges: about twice the NVLink small-message latency
                           # (nccl-tests all_reduce_perf small-message times, NVIDIA; vLLM disables its
                           # custom all-reduce without NVLink/P2P: vllm custom_all_reduce.py)


# ------------------------------------------------------------------------------------------ engines
@functools.lru_cache(maxsize=None)
def engine_rows() -> list[dict]:
    return _read_csv("engines.csv")


@functools.lru_cache(maxsize=None)
def _engine_index() -> dict[str, int]:
    idx = {}
    for i, r in enumerate(engine_rows()):
        for n in [r["name"]] + [x for x in (r.get("aliases") or "").split(";") if x]:
            idx[n.strip().lower()] = i
    return idx


def engine_names() -> list[str]:
    return [r["name"] for r in engine_rows()]


def engine_name(value, argument: str = "engine") -> str:
    """Canonical engine name of a cell (blank = auto); raises ScalesheetError naming the known engines."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "auto"
    key = str(value).strip().lower()
    if isinstance(value, (bool, np.bool_)) or key not in _engine_index():
        raise ScalesheetError(argument, f"{value!r} is not an engine; use {', '.join(engine_names())} "
                                        "(blank = auto)")
    return engine_rows()[_engine_index()[key]]["name"]


@functools.lru_cache(maxsize=None)
def _engine_table() -> dict[str, dict[str, float]]:
    out = {}
    for r in engine_rows():
        if r["name"] == "auto":
            continue
        vals = {k: float(r[k]) for k in ENGINE_NUMERIC if k != "layer_split"}
        vals["layer_split"] = 1.0 if r["multi_gpu"].strip() == "layer" else 0.0
        out[r["name"]] = vals
    return out


@functools.lru_cache(maxsize=None)
def _precision_kinds() -> dict:
    return {r["name"]: r.get("kind", "").strip() for r in precision_table().rows}


_LINK_KINDS = {"nvlink": 1.0, "xgmi": 1.0, "ici": 1.0, "pcie": 0.0, "none": 0.0, "roce": 0.0}
_GPU_FACTS: list = [None, {}]  # [the gpu_table they were read from, {name: (apple, geforce, acc16, link)}]


def _gpu_facts(name: str) -> tuple[bool, bool, float, float]:
    """(Apple, GeForce, fp16-accumulate TFLOPS, link kind) of a GPU name from its catalog row (defaults for a
    name not in the catalog), read once per name and per loaded catalog."""
    table = gpu_table()
    if _GPU_FACTS[0] is not table:
        _GPU_FACTS[:] = [table, {}]
    facts = _GPU_FACTS[1]
    if name in facts:
        return facts[name]
    r = next((row for row in table.rows if row["name"] == name), {})
    kind_ic = (r.get("interconnect_kind") or "").strip().lower()
    link = _LINK_KINDS.get(kind_ic, -1.0)
    vendor = (r.get("vendor") or "").strip().lower()
    is_apple = vendor == "apple" or name.lower().startswith("apple")
    is_geforce = name.lower().startswith(("rtx-", "gtx-")) and not name.lower().startswith(("rtx-a", "rtx-pro", "rtx-6000"))
    kind = (r.get("form_factor") or "").lower()
    is_geforce = is_geforce or ("geforce" in (r.get("display_name") or "").lower())
    try:
        a16 = float(r.get("fp16_acc16_tflops") or "nan")
    except ValueError:
        a16 = float("nan")
    facts[name] = (is_apple, is_geforce and "workstation" not in kind, a16, link)
    return facts[name]


def _per_name(names, value, dtype):
    """Array of ``value(name)`` over an array of names, computed once per distinct name."""
    names = np.asarray(names, dtype=object)
    if names.size == 1:  # one cell (of any shape): no np.unique
        return np.full(names.shape, value(str(names.flat[0])), dtype=dtype)
    uniq, inv = np.unique(names.astype(str).ravel(), return_inverse=True)
    return np.array([value(n) for n in uniq], dtype=dtype)[inv].reshape(names.shape)


def gpu_flags(gpu: GPU) -> dict[str, np.ndarray]:
    """Per-GPU facts the catalog row holds beyond the GPU record: Apple, GeForce, fp16-accumulate rate."""
    names = np.asarray(gpu.name, dtype=object)
    if names.size == 1:  # one cell (of any shape): no np.unique
        apple, geforce, a16, link = _gpu_facts(str(names.flat[0]))
        shape = names.shape
        return {"apple": np.full(shape, apple, dtype=bool), "geforce": np.full(shape, geforce, dtype=bool),
                "acc16_tflops": np.full(shape, a16, dtype=np.float64),
                "gpu_link": np.full(shape, link, dtype=np.float64)}
    uniq, inv = np.unique(names.astype(str).ravel(), return_inverse=True)
    facts = [_gpu_facts(n) for n in uniq]
    shape = names.shape
    return {"apple": np.array([f[0] for f in facts], dtype=bool)[inv].reshape(shape),
            "geforce": np.array([f[1] for f in facts], dtype=bool)[inv].reshape(shape),
            "acc16_tflops": np.array([f[2] for f in facts], dtype=np.float64)[inv].reshape(shape),
            "gpu_link": np.array([f[3] for f in facts], dtype=np.float64)[inv].reshape(shape)}  # 1 NVLink-class, 0 PCIe, -1 unknown


def engine_params(engine, gpu: GPU, p: Precision) -> dict[str, np.ndarray]:
    """Arrays of every engine field, broadcast over engine x GPU x precision; auto resolved per cell. Given
    such a dict (resolved once by a caller that evaluates many steps of the same GPU and precision, e.g.
    serving.slo_plan), returns it as it is."""
    if isinstance(engine, dict):
        return engine
    eng = np.asarray("auto" if engine is None else engine, dtype=object)
    if eng.ndim == 0 and np.ndim(gpu.name) == 0 and np.ndim(p.name) == 0 and np.ndim(p.bits) == 0:
        return _engine_cell(str(eng.item()), gpu, p)
    flags = gpu_flags(gpu)
    kinds = _precision_kinds()
    pkind = _per_name(p.name, lambda n: kinds.get(n, ""), object)
    gguf = pkind == "gguf"
    shape = np.broadcast_shapes(eng.shape, flags["apple"].shape, gguf.shape)
    eng, apple, gguf, geforce = (np.broadcast_to(x, shape) for x in (eng, flags["apple"], gguf, flags["geforce"]))
    local = apple | gguf | geforce
    names = np.where(eng == "auto", np.where(local, "llama.cpp", "vllm"), eng).astype(object)
    table = _engine_table()
    if names.size == 1:  # one cell (of any shape): no np.unique
        row = table[str(names.flat[0])]
        out = {k: np.full(shape, row[k], dtype=np.float64) for k in ENGINE_NUMERIC}
    else:
        uniq, inv = np.unique(names.astype(str).ravel(), return_inverse=True)
        out = {}
        for k in ENGINE_NUMERIC:
            vals = np.array([table[u][k] for u in uniq], dtype=np.float64)
            out[k] = vals[inv].reshape(shape)
    out["name"] = names
    out["flags"] = flags  # the GPU facts, computed once per call
    block = (pkind == "gguf") | (pkind == "int")
    quantized = block | (np.asarray(p.bits) < 8)  # GGUF / integer block formats (Q8_0 too), or few bits
    bw = np.where(apple, out["bw_eff_apple"], out["bw_eff"])
    out["bw_fraction"] = bw * np.where(quantized, out["quant_bw_factor"], 1.0)
    out["prefill_fraction"] = (np.where(apple, out["prefill_mfu_apple"], out["prefill_mfu"])
                               * np.where(quantized, out["quant_prefill_factor"], 1.0))
    out["layer_s"] = np.where(apple, out["layer_overhead_apple_s"], out["layer_overhead_s"])
    return out


def _engine_cell(engine: str, gpu: GPU, p: Precision) -> dict:
    """engine_params of one engine, GPU and precision: the same rules on Python values (the same numbers
    and types as the array path: 0-d arrays, the two fractions as products of them)."""
    flags = gpu_flags(gpu)
    apple, geforce = bool(flags["apple"]), bool(flags["geforce"])
    pkind = _precision_kinds().get(str(np.asarray(p.name).item()), "")
    if engine == "auto":
        engine = "llama.cpp" if (apple or pkind == "gguf" or geforce) else "vllm"
    row = _engine_table()[engine]
    out = {k: np.array(row[k], dtype=np.float64) for k in ENGINE_NUMERIC}
    out["name"] = np.array(engine, dtype=object)
    out["flags"] = flags
    quantized = pkind in ("gguf", "int") or bool(np.asarray(p.bits) < 8)
    pick = (lambda a_, other: out[a_] if apple else out[other])  # noqa: E731
    out["bw_fraction"] = pick("bw_eff_apple", "bw_eff") * (out["quant_bw_factor"] if quantized else np.array(1.0))
    out["prefill_fraction"] = (pick("prefill_mfu_apple", "prefill_mfu")
                               * (out["quant_prefill_factor"] if quantized else np.array(1.0)))
    out["layer_s"] = pick("layer_overhead_apple_s", "layer_overhead_s").copy()
    return out


# ------------------------------------------------------------------------------------------ rates
def _compute_peak(gpu: GPU, p: Precision, e: dict) -> np.ndarray:
    """Peak FLOP/s for the precision; GeForce at the fp16-accumulate rate where the engine uses it."""
    peak = peak_flops(gpu, p)
    flags = e["flags"]
    acc16 = np.where(flags["acc16_tflops"] > 0, flags["acc16_tflops"] * TERA, 2 * peak)
    c = np.asarray(p.compute)
    half = (c == 2) | (c == 3)  # fp16 / bf16 compute (quantized formats dequantize to fp16)
    use = flags["geforce"] & half & (e["fp16_acc16"] > 0)
    return np.where(use, np.maximum(acc16, peak), peak)


def embedding_lookup_bytes(a: Architecture, p: Precision) -> np.ndarray:
    """Bytes of the input-embedding table that a decode step does NOT read (it reads one row per token).
    A tied table is read whole anyway as the output head, so nothing is saved then."""
    b = P.param_breakdown(a)
    untied = 1 - np.asarray(a.tied_embeddings, dtype=np.float64)
    return (b["embedding/tokens"] * untied + b["embedding/positions"]) * p.embed_bits / 8


def decode_weight_bytes_touched(a: Architecture, p: Precision, batch) -> np.ndarray:
    """Weight bytes one decode step reads: all weights except the routed experts no token of the batch
    uses and the rows of the input-embedding table no token looks up.

    For mixture-of-experts, a batch of b tokens touches on average E (1 - (1 - k/E)^b) distinct routed
    experts (uniform routing), so batch 1 reads k of E.
    """
    b = np.asarray(batch, dtype=np.float64)
    routed_bytes = P.routed_expert_params(a) * p.expert_bits / 8  # per-group formats: experts at their own bits
    E = np.maximum(a.n_experts, 1)
    touched = np.where(a.n_experts > 0, 1 - (1 - a.experts_per_token / E) ** b, 1.0)
    table = embedding_lookup_bytes(a, p)
    rows = np.minimum(b / np.maximum(a.vocab_size, 1), 1.0) * table
    return M.weight_bytes(a, p) - routed_bytes * (1 - touched) - table + rows


def _parallel(gpus, e, tp=None, pp=None):
    """(tensor-parallel degree, sequential stages) from gpus and the engine's multi-GPU mode."""
    g = np.asarray(gpus, dtype=np.float64)
    split = e["layer_split"] > 0
    t = np.where(split, 1.0, g) if tp is None else np.asarray(tp, dtype=np.float64)
    stages = np.where(split, g, 1.0) if pp is None else np.asarray(pp, dtype=np.float64)
    return t, stages


def _allreduce_s(a: Architecture, gpu: GPU, e, t, tokens):
    """Two all-reduces per layer over ``t`` GPUs of ``tokens`` x d_model activations."""
    ic = np.where(gpu.interconnect_gb_s > 0, gpu.interconnect_gb_s, PCIE_GB_S)
    link = ic / 2 * GB  # catalog figures are bidirectional (NVLink 4: 900 GB/s = 450 each way)
    kind = e["flags"]["gpu_link"]  # catalog interconnect_kind; by bandwidth where the row has none
    pcie = np.where(kind >= 0, kind == 0, ic <= PCIE_MAX_GB_S)  # collectives through the host's PCIe switch
    msg = np.asarray(tokens, dtype=np.float64) * a.d_model * ACTIVATION_BYTES
    latency = e["allreduce_latency_s"] * np.where(pcie, PCIE_LATENCY_FACTOR, 1.0)
    per = latency + 2 * (t - 1) / np.maximum(t, 1) * msg / link
    return np.where(t > 1, 2 * a.n_layers * per, 0.0)


def _calib(calibration):
    return 1.0 if calibration is None else np.asarray(calibration, dtype=np.float64)


def _moe_layers(a: Architecture) -> np.ndarray:
    return a.n_mlp_moe  # the MoE layers of the stack (interleaved ones too: Llama 4 Maverick)


def _expert_parallel_parts(a, gpu, p, kv, context, b, g, e, bw, peak):
    """Expert parallelism over ``g`` GPUs with data-parallel attention (DeepSeek-V3 serving layout,
    DeepSeek-AI 2024, arXiv:2412.19437 sec. 3.4): each GPU holds the attention and dense weights whole and
    1/g of the routed experts, serves b/g sequences' attention, and two all-to-alls per MoE layer (dispatch,
    combine) move each token's activation to its k experts and back."""
    routed = P.routed_expert_params(a) * p.expert_bits / 8
    E = np.maximum(a.n_experts, 1)
    touched = np.where(a.n_experts > 0, 1 - (1 - a.experts_per_token / E) ** b, 1.0)
    other = decode_weight_bytes_touched(a, p, b) - routed * touched
    per_gpu = other + routed * touched / g + M.kv_cache_bytes(a, context, b / g, kv) + 2 * M.state_bytes(a, b / g)
    memory = per_gpu / bw
    compute = b / g * F.forward_flops_per_token(a, context) / (peak * e["decode_mfu"])
    link = np.where(gpu.interconnect_gb_s > 0, gpu.interconnect_gb_s, PCIE_GB_S) / 2 * GB
    msg = b / g * a.experts_per_token * a.d_model * ACTIVATION_BYTES * (g - 1) / g
    comm = np.where(g > 1, 2 * _moe_layers(a) * (e["allreduce_latency_s"] + msg / link), 0.0)
    return memory, compute, comm


def decode_parts(a: Architecture, gpu: GPU, p: Precision, context, batch=1, gpus=1, kv: Precision | None = None,
                 engine=None, tp=None, pp=None, expert_parallel=False) -> dict[str, np.ndarray]:
    """The terms of one decode step in seconds (before calibration): memory, compute, overhead, comm.

    ``tp`` / ``pp``: tensor-parallel degree and pipeline stages (default from ``gpus`` and the engine's
    multi-GPU mode). ``expert_parallel``: MoE experts spread over ``gpus`` with data-parallel attention
    (a dense model is unaffected)."""
    kv = p if kv is None else kv
    e = engine_params(engine, gpu, p)
    t, stages = _parallel(gpus, e, tp, pp)
    b = np.asarray(batch, dtype=np.float64)
    bw = gpu.bandwidth_gb_s * GB * e["bw_fraction"]
    peak = _compute_peak(gpu, p, e)
    bytes_read = (decode_weight_bytes_touched(a, p, b) + M.kv_cache_bytes(a, context, b, kv)
                  + 2 * M.state_bytes(a, b))  # recurrent state read and written back each step
    memory = bytes_read / (t * bw)  # layer-split stages each read their share, one after another
    compute = b * F.forward_flops_per_token(a, context) / (t * peak * e["decode_mfu"])
    overhead = e["step_overhead_s"] + a.n_layers * e["layer_s"]
    comm = _allreduce_s(a, gpu, e, t, b) + (stages - 1) * e["allreduce_latency_s"] * 4
    if expert_parallel:
        g = np.asarray(gpus, dtype=np.float64)
        ep_mem, ep_compute, ep_comm = _expert_parallel_parts(a, gpu, p, kv, context, b, g, e, bw, peak)
        moe = (a.n_experts > 0) & (g > 1)
        memory, compute = np.where(moe, ep_mem, memory), np.where(moe, ep_compute, compute)
        comm = np.where(moe, ep_comm, comm)
    return {"memory_s": memory, "compute_s": compute, "overhead_s": overhead + 0 * memory, "comm_s": comm,
            "stages": stages, "tp": t}


def decode_step_s(a: Architecture, gpu: GPU, p: Precision, context, batch=1, gpus=1,
                  kv: Precision | None = None, engine=None, calibration=None, tp=None, pp=None,
                  expert_parallel=False) -> np.ndarray:
    """Seconds for one decode step producing one token for each of ``batch`` sequences at ``context``."""
    d = decode_parts(a, gpu, p, context, batch, gpus, kv, engine, tp, pp, expert_parallel)
    return (np.maximum(d["memory_s"], d["compute_s"]) + d["overhead_s"] + d["comm_s"]) / _calib(calibration)


def decode_tokens_per_s(a, gpu, p, context, batch=1, gpus=1, kv=None, engine=None, calibration=None, tp=None,
                        pp=None, expert_parallel=False) -> np.ndarray:
    """Generated tokens per second for the whole batch.

    With ``pp`` pipeline stages (an explicit pipeline, as vLLM's pipeline_parallel_size) the batch runs as
    m = min(batch, pp) micro-batches that occupy different stages at once: continuous decoding keeps the
    pipeline full (1F1B steady state without a flush, Narayanan et al. 2021 sec. 2.2), so throughput =
    batch / step(batch / m). One sequence (m = 1) gains nothing, as with llama.cpp's layer split."""
    b = np.asarray(batch, dtype=np.float64)
    m = 1.0 if pp is None else np.minimum(b, np.asarray(pp, dtype=np.float64))
    return b / decode_step_s(a, gpu, p, context, b / m, gpus, kv, engine, calibration, tp, pp, expert_parallel)


def prefill_parts(a: Architecture, gpu: GPU, p: Precision, prompt_tokens, batch=1, gpus=1, engine=None,
                  tp=None, pp=None) -> dict[str, np.ndarray]:
    e = engine_params(engine, gpu, p)
    t, stages = _parallel(gpus, e, tp, pp)
    prompt = np.asarray(prompt_tokens, dtype=np.float64)
    b = np.asarray(batch, dtype=np.float64)
    moe = np.where(a.n_experts > 0, e["moe_compute_factor"], 1.0)
    flop_s = t * _compute_peak(gpu, p, e) * e["prefill_fraction"] * moe
    # Stages hold 1/stages of the layers each. The prompt runs as m micro-batches (llama.cpp: n_ubatch 512;
    # servers: one prefill chunk): the first passes every stage in turn, the rest follow one stage behind
    # (GPipe, Huang et al. 2019): time = all-layer time / m x (m + stages - 1) / stages.
    tokens = b * prompt
    ubatch = np.where(e["layer_split"] > 0, LLAMA_CPP_UBATCH, PREFILL_CHUNK)
    m = np.maximum(np.ceil(tokens / ubatch), 1.0)
    matmul = 2 * P.matmul_params(a) * tokens
    attention = F.prefill_flops(a, prompt, b) - matmul  # causal attention runs below GEMM efficiency
    compute = (matmul + attention / e["attention_factor"]) / flop_s / m * (m + stages - 1) / stages
    chunks = np.maximum(np.ceil(tokens / PREFILL_CHUNK), 1.0)
    memory = M.weight_bytes(a, p) / (t * gpu.bandwidth_gb_s * GB * e["bw_fraction"]) * chunks
    link = np.where(gpu.interconnect_gb_s > 0, gpu.interconnect_gb_s, PCIE_GB_S) / 2 * GB
    hand_off = (stages - 1) * (e["allreduce_latency_s"] * 4 + np.minimum(tokens, ubatch) * a.d_model
                               * ACTIVATION_BYTES / link)
    comm = _allreduce_s(a, gpu, e, t, tokens) + hand_off
    fixed = e["prefill_floor_s"] + a.n_layers * e["layer_s"]
    return {"compute_s": compute, "memory_s": memory, "comm_s": comm, "fixed_s": fixed + 0 * compute}


def ttft_s(a: Architecture, gpu: GPU, p: Precision, prompt_tokens, batch=1, gpus=1, engine=None,
           calibration=None, tp=None, pp=None) -> np.ndarray:
    """Time to first token: prefill of ``batch`` prompts (see module docstring)."""
    return _ttft_of(prefill_parts(a, gpu, p, prompt_tokens, batch, gpus, engine, tp, pp), calibration)


def _ttft_of(d: dict, calibration) -> np.ndarray:
    return (np.maximum(d["compute_s"], d["memory_s"]) + d["comm_s"] + d["fixed_s"]) / _calib(calibration)


def prefill_compute_s(a, gpu, p, prompt_tokens, gpus=1, engine=None, calibration=None) -> np.ndarray:
    """Compute-only seconds of one prompt's prefill, the share a prefill adds to a running decode batch
    (its weights are read by that step anyway)."""
    return _prefill_compute_of(prefill_parts(a, gpu, p, prompt_tokens, 1, gpus, engine), calibration)


def _prefill_compute_of(d: dict, calibration) -> np.ndarray:
    return (d["compute_s"] + d["comm_s"]) / _calib(calibration)


def prefill_times(a, gpu, p, prompt_tokens, gpus=1, engine=None, calibration=None) -> tuple:
    """(ttft_s, prefill_compute_s) of one prompt from one evaluation of the prefill terms."""
    d = prefill_parts(a, gpu, p, prompt_tokens, 1, gpus, engine)
    return _ttft_of(d, calibration), _prefill_compute_of(d, calibration)


def latency_s(a, gpu, p, prompt_tokens, output_tokens, batch=1, gpus=1, kv=None, engine=None,
              calibration=None) -> np.ndarray:
    """TTFT + output_tokens x step time at the mean context (prompt + output/2); step time grows
    linearly with context, so the mean step equals the step at the midpoint."""
    out = np.asarray(output_tokens, dtype=np.float64)
    mid_context = np.asarray(prompt_tokens, dtype=np.float64) + out / 2
    return (ttft_s(a, gpu, p, prompt_tokens, batch, gpus, engine, calibration)
            + out * decode_step_s(a, gpu, p, mid_context, batch, gpus, kv, engine, calibration))


def check_engine_for_gpu(engine, gpu: GPU, argument: str = "engine") -> None:
    """MLX runs on Apple GPUs only; TensorRT-LLM and vLLM do not run on Apple GPUs."""
    eng = np.asarray(engine, dtype=object)
    if eng.ndim == 0 and np.ndim(gpu.name) == 0 and isinstance(eng.item(), str):  # one cell: Python values
        e, apple = eng.item(), _gpu_facts(str(np.asarray(gpu.name).item()))[0]
        if e == "mlx" and not apple:
            raise ScalesheetError(argument, "mlx runs on Apple GPUs only; use llama.cpp, vllm, sglang, "
                                            "tensorrt-llm or transformers")
        if e in ("vllm", "sglang", "tensorrt-llm") and apple:
            raise ScalesheetError(argument, "vllm, sglang and tensorrt-llm do not run on Apple GPUs; use "
                                            "llama.cpp or mlx")
        return
    apple = gpu_flags(gpu)["apple"]
    eng, apple = np.broadcast_arrays(eng, apple)
    if np.any((eng == "mlx") & ~apple):
        raise ScalesheetError(argument, "mlx runs on Apple GPUs only; use llama.cpp, vllm, sglang, "
                                        "tensorrt-llm or transformers")
    if np.any(np.isin(eng, ["vllm", "sglang", "tensorrt-llm"]) & apple):
        raise ScalesheetError(argument, "vllm, sglang and tensorrt-llm do not run on Apple GPUs; use "
                                        "llama.cpp or mlx")
