"""The planning workbook: deterministic build, committed template up to date, every formula evaluates without
an error value, and the workbook's answers equal the core's for the same inputs."""

import io
import os
import re
import zipfile

import openpyxl
import pytest

from udfs.core import api
from workbook import build, engine, xlsxpatch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "templates", "Scalesheet.xlsx")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data = build.build_bytes()
    path = tmp_path_factory.mktemp("wb") / "Scalesheet.xlsx"
    path.write_bytes(data)
    return str(path), data


@pytest.fixture(scope="module")
def values(built):
    return engine.calculate(built[0])


@pytest.fixture(scope="module")
def book(built):
    return openpyxl.load_workbook(built[0])


def test_build_is_deterministic(built):
    assert build.build_bytes() == built[1]


def test_committed_template_is_current(built):
    assert os.path.exists(TEMPLATE), "templates/Scalesheet.xlsx is missing: run scalesheet build"
    with open(TEMPLATE, "rb") as fh:
        assert fh.read() == built[1], "templates/Scalesheet.xlsx is stale: run scalesheet build --force"


def test_sheets_present(book):
    for name in ["Start", "Scenario", "Hardware tiers", "Training scale", "Cluster sizing", "Phase plan & ROI",
                 "Sensitivity", "Cloud vs owned", "Seed check", "Methodology", "Models", "GPUs", "Precisions"]:
        assert name in book.sheetnames


def test_every_formula_evaluates_without_error(built, values):
    with open(built[0], "rb") as fh:
        cells = xlsxpatch.formula_cells(fh.read())
    assert len(cells) > 200
    bad = {k: values.get(k) for k in cells if k not in values or engine.is_error(values.get(k))}
    assert not bad, sorted(bad.items())[:10]


def test_every_input_has_validation_and_every_name_resolves(book):
    for name, dn in book.defined_names.items():
        for sheet, ref in dn.destinations:
            assert sheet in book.sheetnames, name
            book[sheet][ref.replace("$", "").split(":")[0]]
    for ws in book.worksheets:
        covered = set()
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                covered |= {f"{openpyxl.utils.get_column_letter(col)}{row}" for col in range(rng.min_col, rng.max_col + 1)
                            for row in range(rng.min_row, rng.max_row + 1)}
        for row in ws.iter_rows():
            for c in row:
                if c.style == "Input" and ws.title not in ("Start",):
                    assert c.coordinate in covered, f"{ws.title}!{c.coordinate} is an input without validation"


def test_no_constant_buried_in_udf_formulas(book):
    """FAST: formulas calling our functions take cell references or names, not typed-in numbers (literal
    field names such as "memory_gib" are allowed)."""
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and engine.uses_udf(c.value) and ws.title != "Seed check":
                    args = re.sub(r'"[^"]*"', "", c.value)
                    assert not re.search(r"[,(]\s*-?\d+(\.\d+)?\s*[,)]", args), f"{ws.title}!{c.coordinate}: {c.value}"


def _named(book, values, name):
    dest = list(book.defined_names[name].destinations)[0]
    return values[(dest[0].upper(), dest[1].replace("$", ""))]


def _cell(values, sheet, label, book):
    ws = book[sheet]
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value == label:
            return values[(sheet.upper(), f"B{row[0].row}")]
    raise KeyError(label)


def test_scenario_equals_core(book, values):
    """The Scenario reads the model and GPU from the catalog sheets; the core reads the CSV catalogs."""
    inp = {n: _named(book, values, n) for n in ["sc_model", "sc_precision", "sc_kv_precision", "sc_context", "sc_batch", "sc_gpu", "sc_gpus",
                     "sc_prompt", "sc_output"]}
    m, p, kv, c, b, g, n = (inp[k] for k in ["sc_model", "sc_precision", "sc_kv_precision", "sc_context",
                                             "sc_batch", "sc_gpu", "sc_gpus"])
    checks = {
        "Parameters": api.params_total(m),
        "Weights": api.weights_bytes(m, p) / 2**30,
        "KV cache": api.kv_cache_bytes(m, c, b, kv) / 2**30,
        "Inference memory, whole deployment": api.infer_vram_bytes(m, p, c, b, kv) / 2**30,
        "GPUs needed": api.gpus_needed(m, g, p, c, b, kv),
        "Longest context that fits": api.max_context(m, g, p, b, n, kv),
        "Time to first token": api.ttft_s(m, g, inp["sc_prompt"], p, b, n),
        "Decode throughput (whole batch)": api.decode_tokps(m, g, p, c, b, n, kv),
        "Request latency": api.latency_s(m, g, inp["sc_prompt"], inp["sc_output"], p, b, n),
    }
    for label, expected in checks.items():
        assert _cell(values, "Scenario", label, book) == pytest.approx(float(expected), rel=1e-12), label
    assert _cell(values, "Scenario", "Fits on the GPUs chosen", book) == bool(api.fits(m, g, p, c, b, n, kv))


def test_cluster_stand_in_matches_core(book, values):
    from workbook.sheets import cluster
    ws = book["Cluster sizing"]
    # the 120B card's parameter count: find the cell under the header "Parameters (count)"
    found = [c for row in ws.iter_rows() for c in row if c.value == "Parameters (count)"]
    assert found
    got = values[("CLUSTER SIZING", ws.cell(found[0].row + 1, found[0].column).coordinate)]
    assert got == api.params_total(cluster.MODEL_120B)


def test_share_freezes_udfs_and_keeps_native_formulas(built, values, tmp_path):
    with open(built[0], "rb") as fh:
        data, stats = xlsxpatch.rewrite(fh.read(), values, freeze_udfs=True)
    assert stats["frozen"] > 50 and stats["cached"] > 10
    zf = zipfile.ZipFile(io.BytesIO(data))
    for name in zf.namelist():
        if name.startswith("xl/worksheets/"):
            text = zf.read(name).decode()
            for f in re.findall(r"<f[^>]*>(.*?)</f>", text, re.S):
                assert not engine.uses_udf(f), (name, f)
    out = tmp_path / "shared.xlsx"
    out.write_bytes(data)
    wb = openpyxl.load_workbook(out)          # still a valid workbook
    assert wb["Scenario"]["B29"].value is not None
