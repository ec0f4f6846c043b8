"""Training: per-GPU memory under ZeRO / tensor / pipeline parallelism, compute and time.

Model states per parameter (mixed-precision AdamW, ZeRO paper, Rajbhandari et al. 2020, sec. 3.1):
    weights w bytes (2 in bf16/fp16) + gradients w bytes + optimizer master_weight_bytes (4) +
    adam_state_bytes (8)                                  = 16 bytes per parameter in bf16
    pure fp32 training keeps no master copy:  4 + 4 + 8  = 16 bytes per parameter
Parallelism: tensor (t) and pipeline (p) parallel split the parameters over t * p GPUs; the remaining
data-parallel degree dp = gpus / (t * p) shards optimizer states (ZeRO-1), also gradients (ZeRO-2) and
also the weights (ZeRO-3).

Activations per layer per micro-batch (Korthikanti et al. 2022, sec. 4.1, eq. 1-2, generalised to
GQA, gated MLPs and optional dropout), with s sequence length, b micro-batch, h = d_model, a = 2 bytes:
    norm inputs          2 norms * a*s*b*h
    attention            a*s*b*h (QKV input) + a*s*b*(H + 2K)*Q (q, k, v) + a*s*b*H*Q (output-proj input)
                         + s*b*h (dropout mask, if dropout)
    scores (no FlashAttention)  H*s^2*b * (a + (1 + a) if dropout)   (softmax output, mask, dropout output)
    MLP                  a*s*b*h (input) + (3 if gated else 2)*a*s*b*F + s*b*h (dropout mask, if dropout)
  For GPT-3 (MHA, F = 4h, dropout, no FlashAttention) this is exactly 34*s*b*h + 5*H*s^2*b.
  Tensor parallelism with sequence parallelism divides all terms by t. Selective recomputation drops the
  score term; full checkpointing keeps only each layer's input (a*s*b*h) plus one layer's full set for the
  recomputation. With 1F1B pipelining the first stage holds p micro-batches of L/p layers = L layers.
  Output logits in fp32 (logit_bytes * s * b * V / t) are added.

Time: GPU-hours = training FLOPs / (peak FLOP/s * MFU) / 3600 (MFU as defined by PaLM, Appendix B).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import params as P
from .architecture import Architecture
from .catalog import COMPUTE_COLUMNS, Precision, assumption
from .errors import ScalesheetError
from .units import BITS_PER_BYTE, GIB, HOUR_S, TERA

CHECKPOINTING = {"none": 0, "selective": 1, "full": 2}
TRAINING_FORMATS = {"fp32": 32.0, "tf32": 32.0, "bf16": 16.0, "fp16": 16.0}


def checkpointing_code(value, argument: str = "checkpointing") -> int:
    """none / selective / full; TRUE means full, FALSE or blank means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, (bool, np.bool_)):
        return 2 if value else 0
    key = str(value).strip().lower()
    if key in ("true", "yes", "1"):
        return 2
    if key in ("false", "no", "0"):
        return 0
    if key not in CHECKPOINTING:
        raise ScalesheetError(argument, f"{value!r} is not allowed; use none, selective, full (or TRUE/FALSE)")
    return CHECKPOINTING[key]


def require_training_precision(p: Precision, argument: str = "precision") -> None:
    names = np.asarray(p.name, dtype=object).ravel()
    for n in names:
        if str(n) not in TRAINING_FORMATS:
            raise ScalesheetError(argument, f"'{n}' is not a training format; use bf16, fp16 or fp32 "
                                            "(mixed-precision AdamW)")


def model_state_bytes_per_param(p: Precision) -> dict[str, np.ndarray]:
    """Bytes per parameter of weights, gradients and optimizer states (ZeRO paper sec. 3.1)."""
    w = p.bits / BITS_PER_BYTE
    mixed = p.bits < 32
    return {
        "weights": w,
        "gradients": w,
        "optimizer": np.where(mixed, assumption("master_weight_bytes"), 0.0) + assumption("adam_state_bytes"),
    }


def activation_bytes_per_layer(a: Architecture, seq_len, micro_batch, *, tensor_parallel=1,
                               checkpointing=0, flash_attention=True, dropout=False,
                               element_bytes=None) -> np.ndarray:
    """Activation bytes stored by one layer for one micro-batch (see module docstring).

    ``element_bytes``: bytes per activation value (default activation_bytes = 2, mixed precision; pure fp32
    training keeps 4)."""
    s = np.asarray(seq_len, dtype=np.float64)
    b = np.asarray(micro_batch, dtype=np.float64)
    t = np.asarray(tensor_parallel, dtype=np.float64)
    act = assumption("activation_bytes") if element_bytes is None else np.asarray(element_bytes, dtype=np.float64)
    h, H, K, Q = a.d_model, a.n_heads, a.n_kv_heads, a.head_dim
    drop = 1.0 if dropout else 0.0
    sbh = s * b * h
    norms = 2 * act * sbh
    attention = act * sbh + act * s * b * (H + 2 * K) * Q + act * s * b * H * Q + drop * sbh
    mlp_width = np.where(a.n_experts > 0,
                         a.experts_per_token * a.d_ff_expert + a.n_shared_experts * a.d_ff_shared_expert,
                         a.d_ff)
    mlp = act * sbh + np.where(a.gated_ffn > 0, 3.0, 2.0) * act * s * b * mlp_width + drop * sbh
    scores = 0.0 if flash_attention else H * s * s * b * (act + drop * (1 + act))
    full = (norms + attention + mlp + scores) / t
    selective = (norms + attention + mlp) / t
    checkpointed = act * sbh / t
    code = np.asarray(checkpointing)
    return np.where(code == 2, checkpointed, np.where(code == 1, selective, full))


def total_bytes_one(a: Architecture, p: Precision, seq_len: float, micro_batch: float, gpus: float,
                    zero_stage: float, code: int, tensor_parallel: float, pipeline_parallel: float) -> float | None:
    """``training_memory_breakdown(...)["total_bytes"]`` (flash attention) for one model record, one precision
    and Python floats: the same operations in the same order on plain floats (IEEE, as numpy's), without
    numpy's cost per operation on single values. None when the GPU count is not a whole multiple of the
    parallel degrees: the general form raises its message. tests/test_udf_recalc_fast.py holds the two to
    the last bit."""
    s, b, gpus = float(seq_len), float(micro_batch), float(gpus)
    t, pp = float(tensor_parallel), float(pipeline_parallel)
    model_parallel = t * pp
    dp = gpus / model_parallel
    if dp < 1 or dp != math.floor(dp):
        return None
    zero = float(zero_stage)
    bits = float(p.bits)
    params_per_gpu = float(P.total_params(a)) / model_parallel
    w = bits / BITS_PER_BYTE
    optimizer = (assumption("master_weight_bytes") if bits < 32 else 0.0) + assumption("adam_state_bytes")
    act = 4.0 if bits >= 32 else float(assumption("activation_bytes"))
    h, H, K, Q = float(a.d_model), float(a.n_heads), float(a.n_kv_heads), float(a.head_dim)
    drop = 0.0
    sbh = s * b * h
    norms = 2 * act * sbh
    attention = act * sbh + act * s * b * (H + 2 * K) * Q + act * s * b * H * Q + drop * sbh
    mlp_width = (float(a.experts_per_token) * float(a.d_ff_expert)
                 + float(a.n_shared_experts) * float(a.d_ff_shared_expert)) if a.n_experts > 0 else float(a.d_ff)
    mlp = act * sbh + (3.0 if a.gated_ffn > 0 else 2.0) * act * s * b * mlp_width + drop * sbh
    full = (norms + attention + mlp + 0.0) / t
    if code == 2:
        kept, recompute = act * sbh / t, full
    else:
        kept, recompute = (norms + attention + mlp) / t if code == 1 else full, 0.0
    logits = assumption("logit_bytes") * s * b * float(a.vocab_size) / t
    parts = [params_per_gpu * w / (dp if zero >= 3 else 1.0),
             params_per_gpu * w / (dp if zero >= 2 else 1.0),
             params_per_gpu * optimizer / (dp if zero >= 1 else 1.0),
             float(a.n_layers) * kept + recompute + logits,
             float(assumption("runtime_overhead_gib") * GIB)]
    return sum(parts)


def training_memory_breakdown(a: Architecture, p: Precision, seq_len, micro_batch, gpus=1, zero_stage=0,
                              checkpointing=0, tensor_parallel=1, pipeline_parallel=1,
                              flash_attention=True) -> dict[str, np.ndarray]:
    """Per-GPU training memory in bytes, by component, and the total."""
    gpus = np.asarray(gpus, dtype=np.float64)
    tp = np.asarray(tensor_parallel, dtype=np.float64)
    pp = np.asarray(pipeline_parallel, dtype=np.float64)
    model_parallel = tp * pp
    dp = gpus / model_parallel
    if np.any(dp < 1) or np.any(dp != np.floor(dp)):
        raise ScalesheetError("gpus", "must be a whole multiple of tensor_parallel x pipeline_parallel")
    zero = np.asarray(zero_stage, dtype=np.float64)
    params_per_gpu = P.total_params(a) / model_parallel
    per_param = model_state_bytes_per_param(p)
    shard = lambda stage: np.where(zero >= stage, dp, 1.0)  # noqa: E731
    code = np.asarray(checkpointing)
    # Activations are stored in the compute format: 16-bit under mixed precision, 4 bytes in pure fp32.
    element = np.where(p.bits >= 32, 4.0, assumption("activation_bytes"))
    layer_full = activation_bytes_per_layer(a, seq_len, micro_batch, tensor_parallel=tp, checkpointing=0,
                                            flash_attention=flash_attention, element_bytes=element)
    layer_kept = activation_bytes_per_layer(a, seq_len, micro_batch, tensor_parallel=tp,
                                            checkpointing=code, flash_attention=flash_attention, element_bytes=element)
    # Full checkpointing recomputes one layer at a time: its full activations are live once more.
    recompute = np.where(code == 2, layer_full, 0.0)
    logits = assumption("logit_bytes") * np.asarray(seq_len, dtype=np.float64) * micro_batch * a.vocab_size / tp
    parts = {
        "weights_bytes": params_per_gpu * per_param["weights"] / shard(3),
        "gradients_bytes": params_per_gpu * per_param["gradients"] / shard(2),
        "optimizer_bytes": params_per_gpu * per_param["optimizer"] / shard(1),
        "activations_bytes": a.n_layers * layer_kept + recompute + logits,
        "overhead_bytes": np.broadcast_to(assumption("runtime_overhead_gib") * GIB, np.shape(gpus)).astype(float),
    }
    parts["total_bytes"] = sum(parts.values())
    return parts


def peak_flops(gpu, p: Precision) -> np.ndarray:
    """Peak dense FLOP/s of each GPU in the compute format of each precision (fallbacks applied)."""
    if np.ndim(p.compute) == 0 and np.ndim(gpu.peak_tflops) == 1:  # one GPU, one format: one look-up
        tflops = gpu.peak_tflops[int(p.compute)]
        if not tflops > 0:
            raise ScalesheetError("gpu", "has no catalogued throughput for this precision; add its TFLOPS to the GPU row")
        return tflops * TERA
    compute = np.broadcast_to(p.compute, np.broadcast_shapes(np.shape(p.compute), gpu.memory_gib.shape))
    table = np.broadcast_to(gpu.peak_tflops, compute.shape + (len(COMPUTE_COLUMNS),))
    tflops = np.take_along_axis(table, compute[..., None], axis=-1)[..., 0]
    if np.any(~(tflops > 0)):
        raise ScalesheetError("gpu", "has no catalogued throughput for this precision; add its TFLOPS to the GPU row")
    return tflops * TERA


@functools.lru_cache(maxsize=None)
def _mfu_table() -> dict[str, float]:
    from .catalog import _read_csv
    return {_gen_key(r["generation"]): float(r["mfu"]) for r in _read_csv("mfu_by_generation.csv")}


def _gen_key(text: str) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())  # "TPU v4" = "tpu-v4", "CDNA 2" = "cdna2"


def default_mfu(gpu) -> np.ndarray:
    """Typical MFU of published large training runs on each GPU's hardware generation
    (data/mfu_by_generation.csv: Ampere 0.47 from LLaMA-1/Llama 2, Hopper 0.40 from Llama 3, ...);
    train_mfu (assumptions.csv) for a generation without a published run or a GPU typed as a range."""
    from .catalog import gpu_table
    rows = {r["name"]: r for r in gpu_table().rows}
    table, fallback = _mfu_table(), assumption("train_mfu")
    names = np.asarray(gpu.name, dtype=object)

    def one(n):
        r = rows.get(str(n), {})
        for key in (r.get("generation"), r.get("architecture")):
            if key and _gen_key(key) in table:
                return table[_gen_key(key)]
        return fallback
    return np.vectorize(one, otypes=[np.float64])(names) if names.size else np.zeros(names.shape)


def gpu_hours(flops, peak_flop_s, mfu) -> np.ndarray:
    """GPU-hours to execute ``flops`` at ``mfu`` of ``peak_flop_s``."""
    return np.asarray(flops, dtype=np.float64) / (peak_flop_s * mfu) / HOUR_S


def chinchilla_tokens(params, tokens_per_param=None) -> np.ndarray:
    """Compute-optimal training tokens, about 20 per parameter (Hoffmann et al. 2022, Table 3)."""
    ratio = assumption("chinchilla_tokens_per_param") if tokens_per_param is None else tokens_per_param
    return np.asarray(params, dtype=np.float64) * ratio
