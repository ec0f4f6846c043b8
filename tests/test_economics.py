"""Buy, rent or API: the economics core, its Excel functions and the sheet.

Property tests (hypothesis) on the core: cost rises with price and power, owning wins at high utilisation and
loses at low, the cheapest mix is never dearer than any pure option it contains, the load-duration overflow
behaves. Then the sheet: Excel's own NPV/IRR on the month table (evaluated by the `formulas` package, and by
LibreOffice headless on the share copy) equal the engine's values, and the worked example of
docs/economics.md is reproduced by the sheet, by the functions and by hand.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import udfs
from udfs.core import api, economics
from workbook import build, engine, xlsxpatch

HOURS = 730.0
SHEET = "Buy, rent or API"
money = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)
share = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def owned(price=30000.0, kw=1.274, util=0.6, server=0.32, life=5.0, pue=1.58, energy=0.0895, colo=163.44,
          maint=0.10, staff=0.0):
    return economics.owned_monthly_cost(price, kw, util, server, life, pue, energy, colo, maint, staff, HOURS)


# ================================================================================== core properties
@settings(max_examples=60, deadline=None)
@given(price=money, factor=st.floats(1.01, 10), kw=st.floats(0.01, 20), util=share)
def test_owned_cost_rises_with_price(price, factor, kw, util):
    assert owned(price * factor, kw, util)["total"] > owned(price, kw, util)["total"]


@settings(max_examples=60, deadline=None)
@given(kw=st.floats(0.01, 20), factor=st.floats(1.01, 10), util=share, energy=st.floats(0.0, 1.0))
def test_owned_cost_rises_with_power_and_never_falls_with_utilisation(kw, factor, util, energy):
    assert owned(kw=kw * factor, util=util, energy=energy)["total"] > owned(kw=kw, util=util, energy=energy)["total"]
    assert owned(kw=kw, util=min(1.0, util + 0.1), energy=energy)["total"] >= owned(kw=kw, util=util,
                                                                                     energy=energy)["total"]


def test_owned_parts_by_hand():
    p = owned(30000, 1.274, 0.6, staff=174.0)
    capex = 30000 * 1.32
    assert p["capex"] == pytest.approx(capex)
    assert p["depreciation"] == pytest.approx(capex / 60)
    assert p["energy"] == pytest.approx(1.274 * 0.6 * 1.58 * 730 * 0.0895)
    assert p["colocation"] == pytest.approx(1.274 * 163.44)
    assert p["maintenance"] == pytest.approx(capex * 0.10 / 12)
    assert p["total"] == pytest.approx(sum(p[k] for k in economics.OWNED_PARTS))


@settings(max_examples=60, deadline=None)
@given(price=st.floats(1000, 100000), rent=st.floats(0.5, 20), kw=st.floats(0.1, 3))
def test_owning_wins_above_the_breakeven_utilisation_and_loses_below(price, rent, kw):
    full = owned(price, kw, 1.0)
    fixed, energy_full = full["total"] - full["energy"], full["energy"]
    try:
        u = float(economics.breakeven_utilisation(fixed, energy_full, rent, HOURS))
    except economics.ScalesheetError:
        # never pays: even at 100 % busy, owning costs more than renting the busy hours
        assert fixed + energy_full >= rent * HOURS - 1e-6
        return
    assert 0 <= u <= 1

    def own(x):
        return fixed + x * energy_full

    def rent_cost(x):
        return x * HOURS * rent
    assert own(u) == pytest.approx(rent_cost(u), rel=1e-9, abs=1e-6)
    if u < 0.99:
        hi = (u + 1) / 2
        assert own(hi) < rent_cost(hi)
    if u > 0.01:
        lo = u / 2
        assert own(lo) > rent_cost(lo)


def test_breakeven_never_is_an_error():
    with pytest.raises(economics.ScalesheetError):
        economics.breakeven_utilisation(10000.0, 100.0, 1.0, HOURS)   # 730 USD of rent < 10,100 owned
    assert udfs.PLAN_BREAKEVEN_UTILISATION(250000, 1.3, 1.0).startswith("#rent_price_per_hour:")


@settings(max_examples=80, deadline=None)
@given(avg=st.floats(0.1, 1e6), p=st.floats(1.0, 20.0), caps=st.lists(st.floats(0, 3e7), min_size=2, max_size=6))
def test_overflow_falls_with_capacity_and_is_bounded(avg, p, caps):
    caps = sorted(caps)
    over = economics.overflow_tokps(avg, p, np.array(caps))
    assert np.all(np.diff(over) <= 1e-9 * avg)
    assert np.all(over >= -1e-12) and np.all(over <= avg * (1 + 1e-12))
    assert float(economics.overflow_tokps(avg, p, 0.0)) == pytest.approx(avg, rel=1e-9)
    assert float(economics.overflow_tokps(avg, p, p * avg)) == 0.0


@pytest.mark.parametrize("p", [1.0, 1.3, 2.0, 3.5])
def test_overflow_equals_the_integral_of_the_load_duration_curve(p):
    avg = 1000.0
    t = (np.arange(200000) + 0.5) / 200000
    if p <= 2:
        load = p * avg - 2 * (p - 1) * avg * t
    else:
        load = np.maximum(p * avg * (1 - t * p / 2), 0.0)
    assert load.mean() == pytest.approx(avg, rel=1e-6)
    for cap in [0, 300, 900, 1200, 1900, 3000]:
        want = np.maximum(load - cap, 0).mean()
        assert float(economics.overflow_tokps(avg, p, cap)) == pytest.approx(want, rel=1e-4, abs=1e-3)


plans = st.fixed_dictionaries({
    "tokens_per_day": st.floats(1e6, 5e9), "growth": st.floats(-0.05, 0.15), "peak": st.floats(1.0, 4.0),
    "horizon": st.integers(1, 48), "tokps": st.floats(200, 20000), "gpr": st.integers(1, 8),
    "reserve": st.integers(0, 2), "capex": st.floats(0, 80000), "fixed": st.floats(0, 5000),
    "energy": st.floats(0, 500), "burst": st.floats(0.01, 20), "rate": st.floats(0, 0.3)})


def _args(d):
    return (d["tokens_per_day"], d["growth"], d["peak"], d["horizon"], d["tokps"], d["gpr"], d["reserve"], d["capex"],
            d["fixed"], d["energy"], d["burst"], d["rate"])


@settings(max_examples=60, deadline=None)
@given(plans)
def test_the_mix_is_never_dearer_than_its_pure_options(d):
    args = _args(d)
    b, pv = economics.cheapest_mix(*args)
    pure_base = economics.fleet_plan(*args)["pv"]
    all_burst = economics.fleet_plan(*args, 0)["pv"]
    assert pv <= pure_base + 1e-9 * abs(pure_base) + 1e-9
    assert pv <= all_burst + 1e-9 * abs(all_burst) + 1e-9
    assert pv == pytest.approx(economics.fleet_plan(*args, b)["pv"], rel=1e-12)
    assert 0 <= b <= economics.fleet_plan(*args)["replicas_needed"].max()


@settings(max_examples=40, deadline=None)
@given(plans)
def test_plan_present_value_is_excel_npv_of_its_costs(d):
    plan = economics.fleet_plan(*_args(d))
    r = float(economics.monthly_rate(d["rate"]))
    assert plan["pv"] == pytest.approx(economics.npv(r, plan["cost"]), rel=1e-12, abs=1e-9)
    # the pure base option never overflows
    assert np.all(plan["overflow_tokps"] == 0)


def test_owning_wins_at_high_utilisation_and_loses_at_low():
    """A steady load that fills whole replicas: owning beats renting per busy hour; a small load: it loses."""
    price, rent, kw, tokps, gpr = 30000.0, 3.49, 1.274, 4000.0, 2
    full = owned(price, kw, 1.0)
    capex, energy, fixed = full["capex"], full["energy"], full["total"] - full["energy"] - full["depreciation"]
    rent_mtok = rent * gpr / (tokps * 3600) * 1e6
    for tpd, own_wins in [(4 * tokps * 86400, True), (0.05 * tokps * 86400, False)]:
        args = (tpd, 0.0, 1.0, 36, tokps, gpr, 0, capex, fixed, energy, rent_mtok, 0.0)
        own_pv = economics.fleet_plan(*args)["pv"]
        rent_pv = economics.fleet_plan(*args, 0)["pv"]
        assert (own_pv < rent_pv) == own_wins, (tpd, own_pv, rent_pv)


def test_irr_and_payback():
    flows = [-1000.0] + [100.0] * 24
    r = economics.irr(flows)
    assert sum(f / (1 + r) ** t for t, f in enumerate(flows)) == pytest.approx(0, abs=1e-6)
    assert economics.payback_month(flows) == 11      # cumulative -1000 + 100 x 10 = 0 at month 11
    assert math.isnan(economics.payback_month([-5.0, 1.0, 1.0]))
    with pytest.raises(economics.ScalesheetError):
        economics.irr([1.0, 2.0])


# ================================================================================== Excel functions
def test_functions_equal_the_core():
    args = (50e6, 0.08, 2, 36, 4645.56, 2, 1, 39600, 712.26, 131.51, 0.4174, 0.10)
    b, pv = economics.cheapest_mix(*args, 0.0, 60.0)
    assert udfs.PLAN_CHEAPEST_MIX(*args) == b
    assert udfs.PLAN_CHEAPEST_MIX(*args, None, None, "pv") == pytest.approx(pv, rel=1e-12)
    assert udfs.PLAN_FLEET_PV(*args) == pytest.approx(economics.fleet_plan(*args)["pv"], rel=1e-12)
    assert udfs.PLAN_FLEET_PV(*args, 3) == pytest.approx(economics.fleet_plan(*args, 3)["pv"], rel=1e-12)
    col = udfs.PLAN_FLEET_PV(*args[:-2], [[0.4], [0.7]], 0.1)
    assert col[1][0] == pytest.approx(udfs.PLAN_FLEET_PV(*args[:-2], 0.7, 0.1), rel=1e-12)
    assert udfs.PLAN_API_PRICE("gpt-4o", "input") == economics.api_price("gpt-4o", "input")
    assert udfs.PLAN_CHEAPEST_MIX(5e12, *args[1:]).startswith("#replica_tokps:")


def test_serving_cost_split_adds_up():
    """Input and output costs per 1M tokens, weighted by the request shape, give the blended cost."""
    i, o = 1000, 250
    blended = udfs.LLM_COST_PER_MTOK_IO("llama-3.1-70b", "h100-sxm", 3.49, i, o, None, "fp8", 32, 2)
    inp = udfs.LLM_COST_PER_MTOK_IO("llama-3.1-70b", "h100-sxm", 3.49, i, o, "input", "fp8", 32, 2)
    out = udfs.LLM_COST_PER_MTOK_IO("llama-3.1-70b", "h100-sxm", 3.49, i, o, "output", "fp8", 32, 2)
    assert (i * inp + o * out) / (i + o) == pytest.approx(blended, rel=1e-12)
    assert out > inp > 0                      # decoding a token costs more GPU time than prefilling one
    lat = api.latency_s("llama-3.1-70b", "h100-sxm", i, o, "fp8", 32, 2)
    assert blended == pytest.approx(3.49 * 2 * lat / 3600 / (32 * (i + o)) * 1e6, rel=1e-12)
    assert udfs.LLM_COST_PER_MTOK_IO("llama-3.1-70b", "h100-sxm", 3.49, i, o, "bogus").startswith("#side:")


def test_defaults_are_dated_and_sourced():
    for row in economics.finance_rows():
        assert row["source"].strip() and row["date"].strip() and row["unit"].strip(), row["name"]
        float(row["value"])
    for row in economics.api_price_rows():
        assert row["source"].strip() and row["date"].strip(), row["name"]
        assert float(row["usd_per_mtok_input"]) > 0 and float(row["usd_per_mtok_output"]) > 0


# ================================================================================== the sheet
@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    root = tmp_path_factory.mktemp("econ")
    path = root / "Scalesheet.xlsx"
    data = build.build_bytes()
    path.write_bytes(data)
    values = engine.calculate(str(path))
    book = openpyxl.load_workbook(path)
    return {"root": root, "path": path, "data": data, "values": values, "book": book}


def _ref(book, name):
    sheet_name, ref = list(book.defined_names[name].destinations)[0]
    return sheet_name, ref.replace("$", "")


def named(s, name):
    sheet_name, ref = _ref(s["book"], name)
    if ":" in ref:
        a, b = ref.split(":")
        ws = s["book"][sheet_name]
        return [s["values"].get((sheet_name.upper(), c.coordinate)) for row in ws[a:b] for c in row]
    v = s["values"].get((sheet_name.upper(), ref))
    return s["book"][sheet_name][ref].value if v is None else v


def _inputs(s):
    n = {k: named(s, "br_" + k) for k in ["tokens_per_day", "growth", "peak", "horizon", "tokps", "gpr", "reserve",
                                        "capex", "fixed", "energy_full", "mtok_burst", "rate", "residual", "life",
                                        "mtok_od", "mtok_api", "mtok_spot", "od_month", "spot_month", "min_on",
                                        "c1_price", "c3_price", "mix_base", "mix_capex", "mix_fixed",
                                        "mix_energy", "rate_m"]}
    return n


def test_sheet_evaluates_without_errors(sheet):
    cells = xlsxpatch.formula_cells(sheet["data"])
    mine = [k for k in cells if k[0] == SHEET.upper()]
    assert len(mine) > 1000
    bad = {k: sheet["values"].get(k) for k in mine if engine.is_error(sheet["values"].get(k))}
    assert not bad, sorted(bad.items())[:10]


def test_excel_npv_of_each_option_equals_the_engine(sheet):
    n = _inputs(sheet)
    fleet = (n["tokens_per_day"], n["growth"], n["peak"], n["horizon"], n["tokps"], n["gpr"])
    life = n["life"] * 12
    expected = {
        "owned": economics.fleet_plan(*fleet, n["reserve"], n["capex"], n["fixed"], n["energy_full"], n["mtok_burst"],
                                      n["rate"], None, n["residual"], life)["pv"],
        "committed_1y": economics.fleet_plan(*fleet, n["reserve"], 0, n["c1_price"] * HOURS, 0, n["mtok_burst"],
                                             n["rate"])["pv"],
        "committed_3y": economics.fleet_plan(*fleet, n["reserve"], 0, n["c3_price"] * HOURS, 0, n["mtok_burst"],
                                             n["rate"])["pv"],
        "on_demand": economics.fleet_plan(*fleet, 0, 0, n["od_month"], 0, n["mtok_od"], n["rate"], n["min_on"])["pv"],
        "spot": economics.fleet_plan(*fleet, 0, 0, n["spot_month"], 0, n["mtok_spot"], n["rate"], n["min_on"])["pv"],
        "hosted_api": economics.fleet_plan(*fleet, 0, 0, 0, 0, n["mtok_api"], n["rate"], 0)["pv"],
        "cheapest_mix": economics.fleet_plan(*fleet, n["reserve"], n["mix_capex"], n["mix_fixed"], n["mix_energy"],
                                             n["mtok_burst"], n["rate"], n["mix_base"], n["residual"], life)["pv"],
    }
    for key, pv in expected.items():
        assert named(sheet, "br_pv_" + key) == pytest.approx(pv, rel=1e-9), key
    # the function column (PLAN_FLEET_PV) agrees with the Excel NPV column
    for got, fn in zip(named(sheet, "br_option_pv"), named(sheet, "br_option_pv_fn")):
        assert got == pytest.approx(fn, rel=1e-9)
    # the mix: the function's optimum, and never dearer than a pure option it may use
    b, pv = economics.cheapest_mix(*fleet, n["reserve"], n["mix_capex"], n["mix_fixed"], n["mix_energy"],
                                   n["mtok_burst"], n["rate"], n["residual"], life)
    assert named(sheet, "br_mix_base") == b
    pures = [expected[k] for k in ["owned", "committed_1y", "committed_3y", "on_demand", "hosted_api"]]
    assert expected["cheapest_mix"] <= min(pures) * (1 + 1e-9)
    assert named(sheet, "br_mix_saving") >= -1e-6


def test_excel_irr_payback_and_tornado_equal_the_engine(sheet):
    incr = np.array(named(sheet, "br_m_incr"), dtype=float)
    r = named(sheet, "br_rate_m")
    assert named(sheet, "br_npv_own") == pytest.approx(economics.npv(r, incr), rel=1e-9)
    irr_cell = named(sheet, "br_irr_m")
    if incr.sum() <= 0:                       # a negative IRR is not asked of Excel's solver
        assert irr_cell.startswith("below 0")
        return _rest_of_checks(sheet, incr)
    try:
        irr = economics.irr(incr[: int(named(sheet, "br_horizon"))])
    except economics.ScalesheetError:
        assert isinstance(irr_cell, str)
    else:
        assert irr_cell == pytest.approx(irr, rel=1e-6, abs=1e-9)
    _rest_of_checks(sheet, incr)


def _rest_of_checks(sheet, incr):
    pay = economics.payback_month(incr[: int(named(sheet, "br_horizon"))])
    cell = named(sheet, "br_payback")
    assert (isinstance(cell, str) and math.isnan(pay)) or cell == pay
    assert named(sheet, "br_tornado_base") == pytest.approx(named(sheet, "br_npv_own"), rel=1e-9)
    assert named(sheet, "br_owned_month_native") == pytest.approx(named(sheet, "br_owned_month_udf"), rel=1e-12)


def test_worked_example_by_hand(sheet):
    """docs/economics.md, section 'Worked example': the numbers a reader checks with a calculator."""
    n = _inputs(sheet)
    assert (n["tokens_per_day"], n["growth"], n["peak"], n["horizon"]) == (50e6, 0.08, 2, 36)
    capex = 30000 * (1 + 0.32)
    kw = 700 / 1000 * 1.82
    dep, colo, maint = capex / 60, kw * 163.44, capex * 0.10 / 12
    staff = 0.02 * 104420 / 12
    energy_full = kw * 1.58 * 730 * 0.0895
    assert n["capex"] == pytest.approx(capex)
    assert named(sheet, "br_dep") == pytest.approx(dep)
    assert n["fixed"] == pytest.approx(colo + maint + staff)
    assert n["energy_full"] == pytest.approx(energy_full)
    u = (dep + colo + maint + staff) / (730 * 3.49 - energy_full)
    assert named(sheet, "br_breakeven_util") == pytest.approx(u, rel=1e-9)
    assert u == pytest.approx(0.568, abs=0.001)
    # demand: month 36 = 50 M x 1.08^35 tokens/day; peak replicas at the engine's throughput
    tpd36 = 50e6 * 1.08 ** 35
    tpd = named(sheet, "br_m_tpd")
    assert tpd[35] == pytest.approx(tpd36, rel=1e-12) and tpd[36] == 0
    assert named(sheet, "br_m_need")[35] == math.ceil(2 * tpd36 / 86400 / n["tokps"])
    # API: every token at the blended price, discounted monthly
    api_pv = sum(50e6 * 1.08 ** (m - 1) * 730 / 24 / 1e6 * 0.71 / (1 + n["rate_m"]) ** m for m in range(1, 37))
    assert named(sheet, "br_pv_hosted_api") == pytest.approx(api_pv, rel=1e-9)
    assert n["rate_m"] == pytest.approx(1.1 ** (1 / 12) - 1)
    own = economics.fleet_plan(50e6, 0.08, 2, 36, n["tokps"], n["gpr"], 1, capex, dep * 0 + n["fixed"],
                               energy_full, n["mtok_burst"], 0.1)
    assert own["gpus"][0] == 4 and own["gpus"][-1] == 10          # (1 + 1 spare) x 2, then (4 + 1) x 2
    weighted = float(np.sum(own["utilisation"] * own["gpus"]) / np.sum(own["gpus"]))
    assert named(sheet, "br_owned_util") == pytest.approx(weighted, rel=1e-9)
    assert own["utilisation"][0] == pytest.approx(50e6 / 86400 / (2 * n["tokps"]), rel=1e-12)


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def test_libreoffice_recalculates_npv_and_irr_of_the_share_copy(sheet):
    """The share copy keeps NPV, IRR and the month table live; LibreOffice recomputes them to the same values."""
    if not SOFFICE:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is not installed; .ci/run should have installed it")
        pytest.skip("LibreOffice (soffice) not installed on this machine; CI installs it")
    root = sheet["root"]
    data, _ = xlsxpatch.rewrite(sheet["data"], sheet["values"], freeze_udfs=True)
    shared = root / "Shared.xlsx"
    shared.write_bytes(data)
    profile = root / "profile" / "user"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "registrymodifications.xcu").write_text(PROFILE)
    out = root / "lo"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{root / 'profile'}", "--headless", "--convert-to", "xlsx",
                    "--outdir", str(out), str(shared)], check=True, capture_output=True, timeout=300)
    lo = openpyxl.load_workbook(out / "Shared.xlsx", data_only=True)
    live = openpyxl.load_workbook(shared)
    for name in ["br_npv_own", "br_irr_m", "br_pv_owned", "br_pv_hosted_api", "br_pv_cheapest_mix", "br_life_npv",
                 "br_payback", "br_dep"]:
        sheet_name, ref = _ref(sheet["book"], name)
        formula = live[sheet_name][ref].value
        assert isinstance(formula, str) and formula.startswith("=") and not engine.uses_udf(formula), name
        got, want = lo[sheet_name][ref].value, named(sheet, name)
        if isinstance(want, str):
            assert got == want, name
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), name


@pytest.fixture(scope="module")
def owning_wins(tmp_path_factory):
    """A variant where owning pays: 2 B tokens/day flat, a flat day, cheaper commitments, resale at book value.
    Only this sheet and the catalogs it reads are built, to keep the evaluation short."""
    from workbook.sheets import buy_rent_api, catalogs, methodology
    root = tmp_path_factory.mktemp("econ_variant")
    saved = list(build.SHEETS)
    try:
        build.SHEETS[:] = [methodology, buy_rent_api, catalogs]
        data = build.build_bytes()
    finally:
        build.SHEETS[:] = saved
    path = root / "variant.xlsx"
    path.write_bytes(data)
    book = openpyxl.load_workbook(path)
    for name, value in {"br_tokens_per_day": 2e9, "br_growth": 0.0, "br_peak": 1.0, "br_horizon": 48,
                        "br_c1_discount": 0.1, "br_c3_discount": 0.2, "br_residual": 1.0}.items():
        sheet_name, ref = _ref(book, name)
        book[sheet_name][ref].value = value
    book.save(path)
    values = engine.calculate(str(path))
    return {"root": root, "path": path, "data": path.read_bytes(), "values": values, "book": book}


def test_excel_irr_equals_the_engine_where_owning_pays(owning_wins):
    s = owning_wins
    incr = np.array(named(s, "br_m_incr"), dtype=float)
    assert incr.sum() > 0 and named(s, "br_npv_own") > 0
    assert named(s, "br_npv_own") == pytest.approx(economics.npv(named(s, "br_rate_m"), incr), rel=1e-9)
    assert named(s, "br_irr_m") == pytest.approx(economics.irr(incr[:48]), rel=1e-6)
    assert named(s, "br_payback") == economics.payback_month(incr[:48])
    resale = named(s, "br_resale_owned")
    n = _inputs(s)
    plan = economics.fleet_plan(n["tokens_per_day"], 0.0, 1.0, 48, n["tokps"], n["gpr"], n["reserve"], n["capex"],
                                n["fixed"], n["energy_full"], n["mtok_burst"], n["rate"], None, 1.0, n["life"] * 12)
    assert resale == pytest.approx(plan["residual"][-1], rel=1e-9) and resale > 0
    assert named(s, "br_pv_owned") == pytest.approx(plan["pv"], rel=1e-9)
    if not SOFFICE:
        pytest.skip("LibreOffice (soffice) not installed on this machine; CI installs it")
    data, _ = xlsxpatch.rewrite(s["data"], s["values"], freeze_udfs=True)
    shared = s["root"] / "Shared.xlsx"
    shared.write_bytes(data)
    profile = s["root"] / "profile" / "user"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "registrymodifications.xcu").write_text(PROFILE)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{s['root'] / 'profile'}", "--headless", "--convert-to",
                    "xlsx", "--outdir", str(s["root"] / "lo"), str(shared)], check=True, capture_output=True,
                   timeout=300)
    lo = openpyxl.load_workbook(s["root"] / "lo" / "Shared.xlsx", data_only=True)
    for name in ["br_npv_own", "br_irr_m", "br_irr_y", "br_payback", "br_pv_owned"]:
        sheet_name, ref = _ref(s["book"], name)
        assert lo[sheet_name][ref].value == pytest.approx(named(s, name), rel=1e-7), name
