"""Step-time model terms, engines, serving at concurrency, queueing, SLO sizing, cost, calibration, bands
(issue 13). Each test checks a property that a wrong formula would break, not a stored number."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest

import udfs
import udfs.core.catalog
import udfs.core.training
from udfs.core import api, memory as M, params as P, resolve, serving as S, speed


def arch(name):
    return resolve.model(name)


A8, H100, BF16, KV16 = "llama-3.1-8b", "h100-sxm", "bf16", "fp16"


def _a():
    return arch(A8), resolve.gpu(H100), resolve.precision(BF16), resolve.kv_precision(KV16)


# ------------------------------------------------------------------------------------ step model
def test_decode_reads_one_embedding_row_per_token_not_the_table():
    a, p = arch(A8), resolve.precision(BF16)
    assert not bool(a.tied_embeddings)
    table = P.param_breakdown(a)["embedding/tokens"] * 2
    full = M.weight_bytes(a, p)
    got = speed.decode_weight_bytes_touched(a, p, 1)
    assert got == pytest.approx(full - table + table / a.vocab_size, rel=1e-12)
    tied = arch("llama-3.2-1b")
    assert bool(tied.tied_embeddings)  # a tied table is also the output head: read whole every step
    assert speed.decode_weight_bytes_touched(tied, p, 1) == pytest.approx(M.weight_bytes(tied, p), rel=1e-12)


def test_tensor_parallel_pays_two_allreduces_per_layer():
    a, g, p, kv = _a()
    parts = [speed.decode_parts(a, g, p, 1024, 1, t, kv, "vllm") for t in (1, 2, 8)]
    assert parts[0]["comm_s"] == 0
    e = speed.engine_params("vllm", g, p)
    assert parts[1]["comm_s"] >= 2 * a.n_layers * e["allreduce_latency_s"]
    assert parts[2]["comm_s"] > parts[1]["comm_s"]
    tok = api.decode_tokps(A8, H100, BF16, 1024, 1, [1, 8], None, "vllm")
    assert tok[1] / tok[0] < 8 * 0.9 ** 3  # below the old flat 0.9-per-doubling scaling


def test_pcie_cards_pay_more_per_collective_than_nvlink():
    a, p, kv = arch(A8), resolve.precision(BF16), resolve.kv_precision(KV16)
    pcie = speed.decode_parts(a, resolve.gpu("rtx-4090"), p, 1024, 1, 4, kv, "vllm")["comm_s"]
    nvl = speed.decode_parts(a, resolve.gpu("h100-sxm"), p, 1024, 1, 4, kv, "vllm")["comm_s"]
    assert pcie > 1.5 * nvl


def test_layer_split_runs_gpus_in_turn_at_batch_one():
    one, two, eight = api.decode_tokps(A8, "rtx-4090", "q4_k_m", 512, 1, [1, 2, 8])
    assert eight <= two <= one  # llama.cpp layer split: no speed-up, a hand-off per card


def test_geforce_prefill_uses_the_fp16_accumulate_rate_in_llama_cpp():
    g, p = resolve.gpu("rtx-4090"), resolve.precision("fp16")
    e_cpp, e_vllm = speed.engine_params("llama.cpp", g, p), speed.engine_params("vllm", g, p)
    assert speed._compute_peak(g, p, e_cpp) == pytest.approx(2 * speed._compute_peak(g, p, e_vllm), rel=0.01)
    dc = resolve.gpu("h100-sxm")
    assert speed._compute_peak(dc, p, speed.engine_params("llama.cpp", dc, p)) == \
        speed._compute_peak(dc, p, speed.engine_params("vllm", dc, p))


def test_short_prompts_have_a_floor_and_moe_prefill_is_slower_than_dense_flops_say(monkeypatch):
    t = api.ttft_s(A8, H100, [1, 8], BF16, 1, 1, "vllm")
    e = speed.engine_params("vllm", resolve.gpu(H100), resolve.precision(BF16))
    assert t[0] >= e["prefill_floor_s"] and t[1] >= t[0]
    a, g, p = arch("mixtral-8x7b"), resolve.gpu(H100), resolve.precision(BF16)
    moe = speed.prefill_parts(a, g, p, 4096, 1, 2, "vllm")["compute_s"]
    monkeypatch.setitem(speed._engine_table()["vllm"], "moe_compute_factor", 1.0)
    dense_rate = speed.prefill_parts(a, g, p, 4096, 1, 2, "vllm")["compute_s"]
    assert moe == pytest.approx(dense_rate / e["moe_compute_factor"], rel=1e-9)


def test_attention_runs_below_the_gemm_rate_in_prefill(monkeypatch):
    a, g, p = arch(A8), resolve.gpu(H100), resolve.precision(BF16)
    slow = speed.prefill_parts(a, g, p, 16384, 1, 1, "vllm")["compute_s"]
    monkeypatch.setitem(speed._engine_table()["vllm"], "attention_factor", 1.0)
    fast = speed.prefill_parts(a, g, p, 16384, 1, 1, "vllm")["compute_s"]
    assert slow > fast * 1.05  # at 16k tokens attention is a visible share


def test_auto_engine_picks_llama_cpp_for_gguf_apple_and_geforce_else_vllm():
    def name(gpu, prec):
        return str(speed.engine_params(None, resolve.gpu(gpu), resolve.precision(prec))["name"])
    assert name("h100-sxm", "bf16") == "vllm"
    assert name("h100-sxm", "q4_k_m") == "llama.cpp"
    assert name("rtx-4090", "bf16") == "llama.cpp"
    assert name("apple-m2-ultra", "bf16") == "llama.cpp"


def test_engine_catalog_rows_are_sourced_and_physical():
    rows = speed.engine_rows()
    assert {r["name"] for r in rows} >= {"vllm", "sglang", "tensorrt-llm", "llama.cpp", "mlx", "transformers", "auto"}
    for r in rows:
        assert len(r["source"]) > 40, r["name"]
        if r["name"] == "auto":
            continue
        assert 0.3 <= float(r["bw_eff"]) <= 0.95 and 0.2 <= float(r["prefill_mfu"]) <= 0.8
        assert 0.5 <= float(r["gpu_memory_utilization"]) <= 1.0
        assert r["multi_gpu"] in ("tensor", "layer")


def test_engine_argument_errors_are_clear():
    assert udfs.LLM_DECODE_TOKPS(A8, H100, engine="foo").startswith("#engine:")
    assert "Apple" in udfs.LLM_DECODE_TOKPS(A8, "apple-m2-ultra", engine="vllm")
    assert "Apple" in udfs.LLM_DECODE_TOKPS(A8, H100, engine="mlx")
    assert isinstance(udfs.LLM_DECODE_TOKPS(A8, "apple-m2-ultra", engine="mlx"), float)


# ------------------------------------------------------------------------------- bands, calibration
def test_bands_bracket_the_base_and_flip_for_times():
    lo, base, hi = (udfs.LLM_DECODE_TOKPS(A8, H100, band=b) for b in ("low", "base", "high"))
    assert lo < base < hi
    assert lo / base == pytest.approx(api.band_ratio("low"))
    t_lo, t_base, t_hi = (udfs.LLM_TTFT_S(A8, H100, 2048, band=b) for b in ("low", "base", "high"))
    assert t_lo < t_base < t_hi
    g_lo, g_hi = (udfs.LLM_GPUS_FOR_SLO("llama-3.1-70b", H100, 20, 1024, 256, 2, 20, band=b) for b in ("low", "high"))
    assert g_lo <= g_hi
    c_lo, c_hi = (udfs.LLM_COST_PER_MTOK_IO(A8, H100, 3, 1024, 256, band=b) for b in ("low", "high"))
    assert c_lo < c_hi


def test_calibration_from_a_measured_speed_reproduces_it():
    measured = 61.0
    f = udfs.LLM_CALIBRATE_DECODE(A8, "a100-sxm-40gb", measured, BF16, 1088)
    assert udfs.LLM_DECODE_TOKPS(A8, "a100-sxm-40gb", BF16, 1088, calibration=f) == pytest.approx(measured)
    base = udfs.LLM_TTFT_S(A8, H100, 1000)
    assert udfs.LLM_TTFT_S(A8, H100, 1000, calibration=2) == pytest.approx(base / 2)


def test_kv_calibration_reads_vllm_lines_and_round_trips():
    line = "INFO 12-02 [gpu_worker.py] GPU KV cache size: 23,648 tokens"
    reserved = udfs.LLM_CALIBRATE_KV(A8, "rtx-3090", line)
    assert reserved > 0
    cap = udfs.LLM_KV_CAPACITY_TOKENS(A8, "rtx-3090", engine="vllm", reserved_gib=reserved)
    assert abs(cap - 23648) <= 16  # one vLLM block
    conc = udfs.LLM_CALIBRATE_KV(A8, "rtx-3090", "Maximum concurrency for 20000 tokens per request: 1.56x")
    assert conc == pytest.approx(udfs.LLM_CALIBRATE_KV(A8, "rtx-3090", 31200))
    assert udfs.LLM_CALIBRATE_KV(A8, "rtx-3090", "no numbers here").startswith("#vllm_line:")
    assert udfs.LLM_CALIBRATE_KV(A8, "rtx-3090", 1e9).startswith("#vllm_line:")


# -------------------------------------------------------------------------------- concurrency
def test_max_concurrency_is_kv_capacity_over_blocks_per_sequence():
    a, g, p, kv = _a()
    cap = S.kv_capacity_tokens(a, g, p, kv, 1, "vllm")
    assert cap % 16 == 0
    budget = g.memory_gib * 2 ** 30 * 0.9 - (1.0 + 0.5) * 2 ** 30 - M.weight_bytes(a, p) \
        - M.inference_activation_bytes(a, 8192, 1)
    assert cap == pytest.approx(np.floor(budget / M.kv_bytes_per_token(a, kv) / 16) * 16, abs=16)
    n = S.max_concurrency(a, g, p, kv, np.array([1000, 4000, 16000]), 1, "vllm", cap=False)
    assert list(n) == [np.floor(cap / (np.ceil(c / 16) * 16)) for c in (1000, 4000, 16000)]
    assert S.max_concurrency(a, g, p, kv, 16, 1, "vllm") == 256  # engine's max_num_seqs
    more = S.max_concurrency(a, g, p, kv, 16000, 2, "vllm")
    assert more > n[2]


def test_throughput_rises_and_per_user_speed_falls_with_concurrency():
    a, g, p, kv = _a()
    n = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])
    total = S.serve_tokps(a, g, p, kv, n, 1024, 256, 1, "vllm")
    user = S.serve_tokps(a, g, p, kv, n, 1024, 256, 1, "vllm", per_user=True)
    assert np.all(np.diff(total) > 0) and np.all(np.diff(user) < 0)
    assert total[-1] > 10 * total[0]


def test_prefill_interference_puts_itl_at_1_4_to_1_8x_the_pure_step_under_load():
    a, g, p, kv = _a()
    n = np.array([1, 32, 64])
    itl = S.itl_s(a, g, p, kv, n, 1024, 256, 1, "vllm")
    pure = speed.decode_step_s(a, g, p, 1024 + 128, n, 1, kv, "vllm")
    ratio = itl / pure
    assert ratio[0] < 1.05
    assert 1.3 <= ratio[1] <= 1.9 and 1.3 <= ratio[2] <= 1.9


def _simulate_md1(rho, service, n=200_000, seed=0):
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(service / rho, n))
    start = np.empty(n)
    free = 0.0
    for i, t in enumerate(arrivals):
        start[i] = max(t, free)
        free = start[i] + service
    return start - arrivals


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_md1_wait_matches_a_simulated_queue(rho):
    waits = _simulate_md1(rho, 0.2)
    assert S.md1_wait(rho, 0.2) == pytest.approx(waits.mean(), rel=0.08)
    assert S.md1_wait(rho, 0.2, 0.95) == pytest.approx(np.percentile(waits, 95), rel=0.25)
    assert np.isinf(S.md1_wait(1.0, 0.2))


def test_slo_plan_meets_its_targets_and_one_replica_fewer_does_not():
    a, g, p, kv = arch("llama-3.1-70b"), resolve.gpu(H100), resolve.precision(BF16), resolve.kv_precision(KV16)
    lam, P_, O, ttft, ups = 20.0, 1024, 256, 2.0, 20.0
    plan = S.slo_plan(a, g, p, kv, lam, P_, O, ttft, ups, "vllm")
    t, reps, n = float(plan["gpus_per_replica"]), float(plan["replicas"]), float(plan["concurrency"])
    assert plan["gpus"] == t * reps and reps >= 1
    assert S.serve_tokps(a, g, p, kv, n, P_, O, t, "vllm", per_user=True) >= ups
    assert S.ttft_at_rate_s(a, g, p, kv, lam, P_, O, n, t, reps, "vllm", None, 0.95) <= ttft + 1e-9
    if reps > 1:
        assert S.ttft_at_rate_s(a, g, p, kv, lam, P_, O, n, t, reps - 1, "vllm", None, 0.95) > ttft
    more = udfs.LLM_GPUS_FOR_SLO("llama-3.1-70b", H100, [[5], [20], [80]], 1024, 256, 2, 20)
    assert more[0][0] <= more[1][0] <= more[2][0]


def test_impossible_targets_say_so():
    out = udfs.LLM_GPUS_FOR_SLO(A8, H100, 1, 1024, 256, 0.0001, 20)
    assert out.startswith("#ttft_s:")
    out = udfs.LLM_TTFT_AT_RATE_S(A8, H100, 1e6, 1024, 256)
    assert out.startswith("#requests_per_s:")


def test_cost_per_mtok_splits_input_and_output_and_scales_with_price():
    i1, o1 = (udfs.LLM_COST_PER_MTOK_IO(A8, H100, 2.0, 1024, 256, d, 64) for d in ("input", "output"))
    i2, o2 = (udfs.LLM_COST_PER_MTOK_IO(A8, H100, 4.0, 1024, 256, d, 64) for d in ("input", "output"))
    assert 0 < i1 < o1
    assert i2 == pytest.approx(2 * i1) and o2 == pytest.approx(2 * o1)
    # the replica's GPU-seconds are all accounted for: input + output cost = price x time
    a, g, p, kv = _a()
    itl = S.itl_s(a, g, p, kv, 64, 1024, 256, 1, None)
    per_request_s = 256 * itl / 64  # replica-seconds per request at concurrency 64
    assert (i1 * 1024 + o1 * 256) / 1e6 == pytest.approx(2.0 / 3600 * per_request_s, rel=1e-6)


def test_users_for_budget_grows_with_the_budget():
    u = [udfs.LLM_USERS_FOR_BUDGET(A8, H100, b, 3.0, 10, 1024, 256, 2, 20) for b in (0, 5000, 20000, 80000)]
    assert u[0] == 0 and u[1] <= u[2] <= u[3] and u[3] > 0


def test_serving_functions_are_vectorised_and_fast():
    col = [[x] for x in np.linspace(0.5, 50, 300)]
    t0 = time.perf_counter()
    out = udfs.LLM_GPUS_FOR_SLO("llama-3.1-70b", H100, col, 1024, 256, 2, 20)
    took = time.perf_counter() - t0
    assert len(out) == 300 and all(isinstance(r[0], float) for r in out)
    assert out[10][0] == udfs.LLM_GPUS_FOR_SLO("llama-3.1-70b", H100, col[10][0], 1024, 256, 2, 20)
    assert took < 10, took


def test_blank_mfu_takes_the_gpu_generation_value():
    rows = {r["generation"]: float(r["mfu"]) for r in csv.DictReader(open(
        udfs.core.training.__file__.replace("training.py", "data/mfu_by_generation.csv"), encoding="utf-8"))}
    h_a100 = udfs.LLM_TRAIN_GPU_HOURS("llama-2-7b", 2e12, "a100-sxm-80gb")
    assert h_a100 == pytest.approx(udfs.LLM_TRAIN_GPU_HOURS("llama-2-7b", 2e12, "a100-sxm-80gb", None, rows["Ampere"]))
    h_h100 = udfs.LLM_TRAIN_GPU_HOURS("llama-2-7b", 2e12, "h100-sxm")
    assert h_h100 == pytest.approx(udfs.LLM_TRAIN_GPU_HOURS("llama-2-7b", 2e12, "h100-sxm", None, rows["Hopper"]))


def test_serving_plan_sheet_is_registered_with_its_formulas_and_chart():
    import io

    import openpyxl

    from workbook import build
    wb = openpyxl.load_workbook(io.BytesIO(build.build_bytes()))
    ws = wb["Serving plan"]
    formulas = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    for fn in ("LLM_GPUS_FOR_SLO", "LLM_REPLICAS_FOR_SLO", "LLM_COST_PER_MTOK_IO", "LLM_SERVE_TOKPS"):
        assert any(fn in f for f in formulas), fn
    assert any('"low"' in f for f in formulas) and any('"high"' in f for f in formulas)
    assert len(ws._charts) == 1
    for name in ("sv_users", "sv_rate", "sv_ttft", "sv_tokps_user", "sv_api_in", "sv_api_out", "sv_engine"):
        assert name in wb.defined_names, name


def test_pipeline_stages_overlap_only_with_several_sequences():
    a, g, p, kv = arch("llama-3.1-70b"), resolve.gpu(H100), resolve.precision(BF16), resolve.kv_precision(KV16)
    one = speed.decode_tokens_per_s(a, g, p, 1024, 1, 4, kv, "vllm", tp=1, pp=4)
    assert one == pytest.approx(1 / speed.decode_step_s(a, g, p, 1024, 1, 4, kv, "vllm", tp=1, pp=4))
    # compute-bound (large batch, short context): four micro-batches keep four GPUs busy
    many = speed.decode_tokens_per_s(a, g, p, 64, 1024, 4, kv, "vllm", tp=1, pp=4)
    no_overlap = 1024 / speed.decode_step_s(a, g, p, 64, 1024, 4, kv, "vllm", tp=1, pp=4)
    assert 3 < many / no_overlap <= 4
    # memory-bound: batching already shares each weight read, so overlapping stages gains little
    mem = speed.decode_tokens_per_s(a, g, p, 1024, 16, 4, kv, "vllm", tp=1, pp=4)
    assert mem / (16 / speed.decode_step_s(a, g, p, 1024, 16, 4, kv, "vllm", tp=1, pp=4)) < 1.3


def test_expert_parallel_reads_a_share_of_the_experts_and_pays_all_to_alls():
    a, g, p, kv = arch("mixtral-8x7b"), resolve.gpu(H100), resolve.precision(BF16), resolve.kv_precision(KV16)
    tp = speed.decode_parts(a, g, p, 1024, 64, 8, kv, "vllm")
    ep = speed.decode_parts(a, g, p, 1024, 64, 8, kv, "vllm", expert_parallel=True)
    routed = P.param_breakdown(a)["mlp/routed_experts"] * 2
    assert ep["memory_s"] > tp["memory_s"]  # attention and dense weights are whole on every GPU
    e = speed.engine_params("vllm", g, p)
    assert ep["comm_s"] >= 2 * (a.n_layers - a.first_dense_layers) * e["allreduce_latency_s"]
    dense = arch(A8)
    same = speed.decode_parts(dense, g, p, 1024, 64, 8, kv, "vllm", expert_parallel=True)
    assert same["memory_s"] == speed.decode_parts(dense, g, p, 1024, 64, 8, kv, "vllm")["memory_s"]
    assert routed > 0


def test_engine_reserve_in_gpus_needed_and_fits():
    a, g, p, kv = _a()
    need = M.model_bytes(arch("llama-3.1-70b"), p, 8192, 8, kv)
    usable = 80 * 2 ** 30 * 0.9 - (1.0 + 0.5) * 2 ** 30  # vLLM: 0.9 of the card, runtime + CUDA graphs
    assert udfs.LLM_GPUS_NEEDED("llama-3.1-70b", H100, BF16, 8192, 8, None, "vllm") == np.ceil(need / usable)
    assert udfs.LLM_GPUS_NEEDED("llama-3.1-70b", H100, BF16, 8192, 8, None, "vllm") >= \
        udfs.LLM_GPUS_NEEDED("llama-3.1-70b", H100, BF16, 8192, 8)
    # a deployment that fills the card fits without an engine reserve and not within vLLM's 90 %
    ctx = udfs.LLM_MAX_CONTEXT(A8, "rtx-4090", BF16, 1, 1)
    assert ctx > 1000
    assert udfs.LLM_FITS(A8, "rtx-4090", BF16, ctx, 1, 1) is True
    assert udfs.LLM_FITS(A8, "rtx-4090", BF16, ctx, 1, 1, None, "vllm") is False
