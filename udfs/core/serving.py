"""Serving at concurrency: continuous batching, KV-limited concurrency, queueing, SLO sizing, cost per token.

Model (one replica = ``gpus`` GPUs holding one copy of the model, tensor parallel or layer split by engine):

* KV capacity (vLLM's accounting, vllm/worker/gpu_worker.py determine_num_available_blocks): each GPU
  offers memory_gib x gpu_memory_utilization, minus the runtime overhead (assumptions.csv), the engine's
  CUDA-graph pool and the activation peak of one prefill chunk; what the weights leave is KV cache, in
  blocks of ``kv_block_tokens``. Max concurrency at a context = KV pool / (KV of the context rounded up to
  blocks + the recurrent state of Mamba / linear-attention layers per sequence), capped by max_num_seqs.
* Continuous batching (Orca, Yu et al. OSDI 2022; vLLM): at concurrency n every step decodes one token for
  each of n sequences at their mean context (prompt + output/2). In steady state n/output sequences finish
  per step, so n/output prompts must be prefilled per step; that prefill compute is added to the step
  (chunked prefill mixes it in): inter-token latency = decode_step(n) + n/output x prefill_compute(prompt).
  This is the prefill/decode interference; at a few dozen sequences it makes ITL 1.3-1.8x the pure decode
  step, the range vLLM and Sarathi-Serve (Agrawal et al. OSDI 2024, Fig. 1) report.
  Per-user tokens/s = 1 / ITL; output throughput = n / ITL; requests/s = n / (TTFT + output x ITL).
* TTFT with queueing at a request rate: arrivals are Poisson (many independent users); a prompt of fixed
  length takes a deterministic prefill time s; a replica's scheduler admits prompts first-come-first-served,
  so each replica is an M/D/1 queue (Pollaczek-Khinchine: mean wait = rho s / (2 (1 - rho))). rho = the
  request rate over the replica's request capacity at its operating concurrency. Requests are spread
  evenly over replicas (round robin makes the queue no worse than M/D/1 per replica, so this errs safe).
  The p-th percentile of the wait uses the heavy-traffic exponential tail (Kingman): P(W > t) =
  rho exp(-t rho / W_mean), so t_p = (W_mean / rho) ln(rho / (1 - p)) when rho > 1 - p, else 0.
  M/D/1 rather than M/M/c: prompt lengths in a plan are fixed, so service is deterministic, and the batch
  scheduler serves one prefill queue per replica.
* GPUs for an SLO: for each replica size (1, 2, 4, 8 GPUs, where the model fits), the largest concurrency
  whose per-user speed meets the target and whose KV fits; the replicas needed so that the p95 TTFT meets
  its target at the request rate; the replica size with the fewest GPUs wins.
* Cost per 1M tokens, input and output apart: a replica's GPU-seconds are split between prefill (the
  prompt's compute) and decode (the rest of each step), divided by the tokens each produced.
"""

from __future__ import annotations

import math

import numpy as np

from . import memory as M
from . import speed
from .architecture import Architecture
from .catalog import GPU, Precision, assumption
from .errors import ScalesheetError
from .units import GIB, HOUR_S

REPLICA_SIZES = (1, 2, 4, 8)  # GPUs per replica tried by the SLO sizing (one NVLink node at most)


def _f(x):
    return np.asarray(x, dtype=np.float64)


def kv_budget_bytes(a: Architecture, gpu: GPU, p: Precision, gpus=1, engine=None, reserved_gib=None):
    """Bytes left for KV cache on ``gpus`` GPUs after weights, engine reserve and activation peak."""
    e = speed.engine_params(engine, gpu, p)
    g = _f(gpus)
    if reserved_gib is None:
        per_gpu_reserved = (assumption("runtime_overhead_gib") + e["cuda_graph_gib"]) * GIB
        per_gpu = gpu.memory_gib * GIB * e["gpu_memory_utilization"] - per_gpu_reserved
        activations = M.inference_activation_bytes(a, assumption("prefill_chunk_tokens"), 1)
    else:
        per_gpu = gpu.memory_gib * GIB - _f(reserved_gib) * GIB
        activations = 0.0
    return g * per_gpu - M.weight_bytes(a, p) - activations


def kv_capacity_tokens(a, gpu, p, kv, gpus=1, engine=None, reserved_gib=None):
    """Tokens the KV cache holds (whole blocks), 0 when the weights do not fit."""
    e = speed.engine_params(engine, gpu, p)
    per_token = M.kv_bytes_per_token(a, kv)
    if np.any(per_token <= 0):
        raise ScalesheetError("model", "keeps no attention KV cache (recurrent state only); use LLM_MAX_CONCURRENCY")
    tokens = np.floor(np.maximum(kv_budget_bytes(a, gpu, p, gpus, engine, reserved_gib), 0) / per_token)
    block = np.maximum(e["kv_block_tokens"], 1)
    return np.floor(tokens / block) * block


def max_concurrency(a, gpu, p, kv, context, gpus=1, engine=None, reserved_gib=None, cap=True):
    """Sequences of ``context`` tokens that fit in the KV cache at once (whole number; engine cap)."""
    e = speed.engine_params(engine, gpu, p)
    block = np.maximum(e["kv_block_tokens"], 1)
    ctx = np.maximum(np.ceil(_f(context) / block) * block, block)
    budget = np.maximum(kv_budget_bytes(a, gpu, p, gpus, engine, reserved_gib), 0)
    per_token = M.kv_bytes_per_token(a, kv)
    whole_blocks = np.where(per_token > 0, np.floor(budget / np.maximum(per_token, 1e-300) / block) * block
                            * per_token, budget)  # the KV pool is whole blocks
    per_seq = M.kv_cache_bytes(a, ctx, 1, kv) + M.state_bytes(a, 1)  # windows cap some layers; recurrent state
    n = np.floor(whole_blocks / np.maximum(per_seq, 1.0))
    return np.minimum(n, e["max_num_seqs"]) if cap else n


def itl_s(a, gpu, p, kv, concurrency, prompt, output, gpus=1, engine=None, calibration=None, prefill_s=None):
    """Inter-token latency at a concurrency: decode step at the mean context + the prefill share.

    ``prefill_s``: prefill_compute_s of the same prompt, GPUs, engine and calibration, when the caller has
    computed it (cost_per_mtok_io). A call whose arguments are all single values is remembered (the last
    256): Excel asks for a replica's total and per-user speed, or its input and output cost, with the same
    arguments."""
    key = _call_key((a, gpu, p, kv), engine, (concurrency, prompt, output, gpus, calibration))
    if key is not None and key in _ITL_MEMO:
        return _ITL_MEMO[key]
    n = _f(concurrency)
    out = np.maximum(_f(output), 1)
    mid = _f(prompt) + out / 2
    step = speed.decode_step_s(a, gpu, p, mid, n, gpus, kv, engine, calibration)
    pre = speed.prefill_compute_s(a, gpu, p, prompt, gpus, engine, calibration) if prefill_s is None else prefill_s
    share = n / out * pre
    itl = step + share
    if key is not None and type(itl) is np.float64:  # an immutable number: safe to hand out again
        _remember(_ITL_MEMO, key, itl)
    return itl


_ITL_MEMO: dict = {}


def _remember(memo: dict, key, value, size=256):
    """Store ``value`` under ``key``, forgetting the oldest entry beyond ``size``."""
    if len(memo) >= size:
        memo.pop(next(iter(memo)))
    memo[key] = value


def serve_tokps(a, gpu, p, kv, concurrency, prompt, output, gpus=1, engine=None, calibration=None,
                per_user=False):
    """Output tokens/s of a replica at a concurrency (or per user)."""
    itl = itl_s(a, gpu, p, kv, concurrency, prompt, output, gpus, engine, calibration)
    return 1 / itl if per_user else _f(concurrency) / itl


def request_capacity(a, gpu, p, kv, concurrency, prompt, output, gpus=1, engine=None, calibration=None):
    """Requests per second one replica completes at a concurrency."""
    ttft0 = speed.ttft_s(a, gpu, p, prompt, 1, gpus, engine, calibration)
    itl = itl_s(a, gpu, p, kv, concurrency, prompt, output, gpus, engine, calibration)
    return _f(concurrency) / (ttft0 + _f(output) * itl)


def md1_wait(rho, service_s, percentile=None):
    """Waiting time of an M/D/1 queue: mean (Pollaczek-Khinchine) or a percentile (Kingman tail)."""
    rho = np.clip(_f(rho), 0, None)
    s = _f(service_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(rho < 1, rho * s / (2 * (1 - rho)), np.inf)
        if percentile is None:
            return mean
        q = 1 - _f(percentile)
        tail = np.where(rho > q, mean / np.maximum(rho, 1e-300) * np.log(np.maximum(rho, q) / q), 0.0)
        return np.where(rho < 1, tail, np.inf)


def ttft_at_rate_s(a, gpu, p, kv, requests_per_s, prompt, output, concurrency, gpus=1, replicas=1, engine=None,
                   calibration=None, percentile=None):
    """TTFT including queueing (M/D/1 per replica); inf when the replicas cannot keep up."""
    s = speed.ttft_s(a, gpu, p, prompt, 1, gpus, engine, calibration)
    cap = request_capacity(a, gpu, p, kv, concurrency, prompt, output, gpus, engine, calibration)
    rho = _f(requests_per_s) / _f(replicas) / cap
    return s + md1_wait(rho, s, percentile)


def _rho_for_wait(service_s, budget_s, percentile):
    """Largest utilisation whose percentile wait stays within ``budget_s`` (bisection, vectorised).

    The wait is md1_wait's, written out for rho in [0, 0.999] (below 1, so neither the clip nor the
    rho >= 1 branch applies): mean = rho s / (2 (1 - rho)); percentile: (mean / rho) ln(rho / q) when
    rho > q, else 0. The same operations in the same order give md1_wait's numbers bit for bit; a few cells
    (one plan's replica sizes) take the same steps on Python floats (IEEE arithmetic as numpy's; the
    logarithm still numpy's), which is several times faster than 40 rounds of small-array operations."""
    s = _f(service_s)
    budget = _f(budget_s)
    q = None if percentile is None else 1 - _f(percentile)
    shape = np.broadcast_shapes(s.shape, budget.shape, np.shape(q))
    if np.prod(shape) <= 16 and (q is None or np.all(q > 0)):
        return _rho_for_wait_cells(s, budget, q, shape)
    lo = np.zeros(np.shape(budget_s))
    hi = np.full(np.shape(budget_s), 0.999)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(40):
            mid = (lo + hi) / 2
            wait = mid * s / (2 * (1 - mid))
            if q is not None:
                wait = np.where(mid > q, wait / np.maximum(mid, 1e-300) * np.log(np.maximum(mid, q) / q), 0.0)
            ok = wait <= budget
            lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return np.where(budget_s >= 0, lo, 0.0)


def _rho_for_wait_cells(s, budget, q, shape):
    """_rho_for_wait cell by cell on Python floats (q > 0, so no division by zero; 1 - mid >= 0.001)."""
    cols = [np.broadcast_to(x, shape).ravel().tolist() for x in (s, budget, 0.0 if q is None else q)]
    log = np.log
    out = []
    for si, bi, qi in zip(*cols):
        lo, hi = 0.0, 0.999
        for _ in range(40):
            mid = (lo + hi) / 2
            wait = mid * si / (2 * (1 - mid))
            if q is not None:
                wait = wait / mid * float(log(mid / qi)) if mid > qi else 0.0  # mid > qi > 0: the max()es are mid
            if wait <= bi:
                lo = mid
            else:
                hi = mid
        out.append(lo if bi >= 0 else 0.0)
    return np.array(out, dtype=np.float64).reshape(shape)


_CANDIDATE_CELLS = 200_000  # largest (candidate concurrencies x replica sizes x cells) tabulated at once
_TABLE_CELLS = 64  # most (replica sizes x cells) searched through a table, cell by cell


def _largest_fast(fast: list, nmax: float) -> float:
    """slo_plan's bisection for one cell on Python values: the largest n in 1..nmax with fast[n - 1] (per-user
    speed at n meets the target), 0 when n = 1 is too slow or nothing fits; the same 12 steps as the arrays'."""
    lo, hi = 0.0, nmax
    for _ in range(12):
        mid = max(float(math.floor((lo + hi + 1) / 2)), 1.0)
        if fast[int(mid) - 1]:
            if mid <= hi:
                lo = max(lo, mid)
        else:
            hi = min(hi, mid - 1)
    return max(lo, 1.0) if fast[0] and nmax >= 1 else 0.0


_SLO_MEMO: dict = {}
_SLO_MEMO_SIZE = 256


_RECORD_KEYS: dict = {}  # id(record) -> (record, key): a recalculation passes the same few records again and again


def _record_key(r):
    """Hashable value of a catalog record whose fields are all single values (GPU.peak_tflops: one row);
    None otherwise. Numbers by their bytes, so that a NaN field (no figure) equals itself; an
    Architecture's ``cache`` of derived arrays is not part of its value. Records are frozen, so the value of
    one seen before is looked up by identity (the entry holds the record, so its id is not reused)."""
    hit = _RECORD_KEYS.get(id(r))
    if hit is not None and hit[0] is r:
        return hit[1]
    key = _record_value(r)
    _remember(_RECORD_KEYS, id(r), (r, key))
    return key


def _record_value(r):
    out = [type(r).__name__]
    for name, v in r.__dict__.items():
        if type(v) is np.float64:  # most fields: one number
            out.append(v.tobytes())
            continue
        if name == "cache":
            continue
        v = np.asarray(v)
        if v.dtype.kind in "OUS":
            if v.ndim:
                return None
            out.append(str(v.item()))
        elif v.ndim == 0 or (v.ndim == 1 and v.size <= 16):
            out.append((v.dtype.str, v.shape, v.tobytes()))
        else:
            return None
    return tuple(out)


def _call_key(records, engine, numbers, extra=()):
    """Memo key of a call whose every argument is one value (records, engine name, numbers); None for arrays
    or anything else (not memoised)."""
    keys = [_record_key(r) for r in records]
    if any(k is None for k in keys):
        return None
    if isinstance(engine, dict):
        return None
    flat = []
    for x in numbers:
        if x is None:
            flat.append(None)
            continue
        x = np.asarray(x)
        if x.ndim or x.dtype.kind not in "biuf":
            return None
        flat.append(np.float64(x).tobytes())
    eng = None if engine is None else np.asarray(engine)
    if eng is not None and eng.ndim:
        return None
    return (*keys, None if eng is None else str(eng.item()), *flat, *extra, *_catalog_state())


def _catalog_state() -> tuple:
    """What a remembered answer depends on besides its arguments: the loaded GPU and precision catalogs (by
    identity) and the engine table's values (tests and users may change them in place)."""
    from .catalog import gpu_table, precision_table
    table = speed._engine_table()
    return (gpu_table(), precision_table(), tuple(tuple(row.values()) for row in table.values()))


def _slo_key(a, gpu, p, kv, engine, calibration, numbers, sizes):
    """Memo key of one slo_plan call whose every argument is one value; None for arrays (not memoised)."""
    return _call_key((a, gpu, p, kv), engine, (calibration, *numbers), (tuple(sizes),))


def slo_plan(a, gpu, p, kv, requests_per_s, prompt, output, ttft_target_s, tokps_per_user, engine=None,
             calibration=None, percentile=0.95, sizes=REPLICA_SIZES) -> dict:
    """Fewest GPUs (replicas x GPUs per replica) meeting the TTFT percentile and per-user speed targets.

    For each replica size t (GPUs per replica): nmax = max_concurrency(prompt + output, t); the concurrency
    n is the largest n <= nmax whose per-user speed 1 / itl_s(n, t) meets the target (per-user speed falls
    with n, so a bisection on n); the request capacity per replica cap = n / (ttft_s(t) + output x itl_s(n, t))
    (request_capacity); the utilisation rho that keeps the percentile TTFT wait within ttft target - ttft_s(t)
    (_rho_for_wait); replicas = ceil(requests_per_s / (rho x cap)); GPUs = replicas x t. The size with the
    fewest GPUs wins (the smaller size on a tie).

    Returns arrays: gpus, replicas, gpus_per_replica, concurrency (per replica), capacity (requests/s per
    replica); gpus is inf where no replica size up to 8 GPUs meets the targets.

    Speed: the replica sizes are one axis of the arrays, and the prefill share of itl_s is computed once per
    size. For a few cells (a plan's four sizes) itl_s is evaluated once at every concurrency the bisection can
    visit (1..max nmax, at most the engine's max_num_seqs) and the bisection runs cell by cell on that table;
    more cells run the same bisection on arrays, evaluating itl_s at each step. A call whose arguments are
    all single values is remembered (Excel asks for the GPUs and the replicas of the same plan). Same numbers
    as evaluating serve_tokps / request_capacity at every step (tests/test_serving_fast.py).
    """
    lam, P_, O = _f(requests_per_s), _f(prompt), _f(output)
    key = _slo_key(a, gpu, p, kv, engine, calibration, (requests_per_s, prompt, output, ttft_target_s,
                                                        tokps_per_user, percentile), sizes)
    if key is not None and key in _SLO_MEMO:
        return {k: v.copy() for k, v in _SLO_MEMO[key].items()}
    engine = speed.engine_params(engine, gpu, p)    # once: the search below evaluates many steps
    shape = np.broadcast_shapes(lam.shape, P_.shape, O.shape, _f(ttft_target_s).shape, _f(tokps_per_user).shape,
                                np.shape(gpu.memory_gib), np.shape(a.n_layers), np.shape(p.bits))
    T = np.asarray(sizes, dtype=np.float64).reshape((len(sizes),) + (1,) * len(shape))  # sizes axis first
    full = (len(sizes),) + shape
    target = _f(tokps_per_user)
    nmax = np.broadcast_to(max_concurrency(a, gpu, p, kv, P_ + O, T, engine), full).astype(np.float64)
    # itl_s(n) = decode_step_s(mid context, n) + n / output x prefill_compute_s: the prefill part per size once
    out = np.maximum(O, 1)
    mid_ctx = P_ + out / 2
    s, pre = speed.prefill_times(a, gpu, p, P_, T, engine, calibration)  # ttft_s and prefill_compute_s per size

    def itl(n):
        return speed.decode_step_s(a, gpu, p, mid_ctx, n, T, kv, engine, calibration) + n / out * pre

    top = float(np.max(nmax, initial=0)) if np.all(np.isfinite(nmax)) else np.inf
    top = max(top, 1.0)
    cells = int(np.prod(full))
    if cells <= _TABLE_CELLS and top * cells <= _CANDIDATE_CELLS:
        # itl_s at every concurrency the bisection can visit (1..top), then the bisection cell by cell
        cand = np.arange(1, top + 1).reshape((-1,) + (1,) * len(full))  # concurrencies 1..top, axis 0
        table = np.broadcast_to(itl(cand), (len(cand),) + full).reshape(len(cand), -1)
        fast = (1 / table >= np.broadcast_to(target, full).reshape(1, -1)).T.tolist()
        n = np.array([_largest_fast(row, nm) for row, nm in zip(fast, nmax.ravel().tolist())]).reshape(full)
        index = np.arange(cells)

        def itl_at(n):  # n: whole numbers in 1..top
            return table[n.astype(np.intp).ravel() - 1, index].reshape(full)
    else:  # many cells: the same bisection on arrays, itl_s evaluated at each step
        itl_at = itl
        ok1 = 1 / itl_at(np.ones(full)) >= target
        # largest n <= nmax with per-user speed >= target: speed falls with n, so bisect on n
        lo, hi = np.zeros(full), nmax
        for _ in range(12):
            mid = np.maximum(np.floor((lo + hi + 1) / 2), 1)
            fast = 1 / itl_at(mid) >= target
            lo = np.where(fast & (mid <= hi), np.maximum(lo, mid), lo)
            hi = np.where(fast, hi, np.minimum(hi, mid - 1))
        n = np.where(ok1 & (nmax >= 1), np.maximum(lo, 1), 0)
    n1 = np.maximum(n, 1)
    cap = np.where(n >= 1, n1 / (s + O * itl_at(n1)), 0)  # request_capacity at n (its ttft0 is s)
    rho = _rho_for_wait(np.broadcast_to(s, full), _f(ttft_target_s) - s, percentile)
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = np.where((n >= 1) & (rho > 0) & (cap > 0), np.maximum(np.ceil(lam / (rho * cap) - 1e-9), 1), np.inf)
    best = {k: np.full(shape, np.inf) for k in ("gpus", "replicas", "gpus_per_replica", "concurrency", "capacity")}
    for i, t in enumerate(sizes):
        total = reps[i] * t
        better = total < best["gpus"]
        for k, v in (("gpus", total), ("replicas", reps[i]), ("gpus_per_replica", np.full(shape, float(t))),
                     ("concurrency", n[i]), ("capacity", cap[i])):
            best[k] = np.where(better, v, best[k])
    if key is not None:
        _remember(_SLO_MEMO, key, {k: v.copy() for k, v in best.items()}, _SLO_MEMO_SIZE)
    return best


def cost_per_mtok_io(a, gpu, p, kv, price_per_gpu_hour, prompt, output, concurrency, gpus=1, engine=None,
                     calibration=None, direction="output"):
    """Currency per 1M input (prompt) or output tokens of a replica running at ``concurrency``."""
    n = _f(concurrency)
    O = np.maximum(_f(output), 1)
    pre1 = speed.prefill_compute_s(a, gpu, p, prompt, gpus, engine, calibration)
    pre = pre1 + 0 * n  # per request
    itl = itl_s(a, gpu, p, kv, n, prompt, O, gpus, engine, calibration, prefill_s=pre1)
    decode_per_token = itl / n - pre / O  # replica-seconds per output token, prefill share removed
    gpu_hour = _f(price_per_gpu_hour) * _f(gpus) / HOUR_S  # currency per replica-second
    per_input = pre / np.maximum(_f(prompt), 1) * gpu_hour * 1e6
    per_output = decode_per_token * gpu_hour * 1e6
    d = np.asarray(direction, dtype=object)
    return np.where(d == "input", per_input, per_output)


def calibrate_kv(a, gpu, p, kv, kv_cache_tokens, gpus=1):
    """GiB per GPU the engine kept outside weights and KV cache, implied by its reported KV capacity."""
    kv_bytes = _f(kv_cache_tokens) * M.kv_bytes_per_token(a, kv)
    used = (M.weight_bytes(a, p) + kv_bytes) / _f(gpus)
    reserved = gpu.memory_gib - used / GIB
    if np.any(reserved < 0):
        raise ScalesheetError("vllm_line", "more KV cache than the GPUs can hold next to the weights; "
                                                 "check the model, precision and gpus")
    return reserved
