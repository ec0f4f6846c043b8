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
    assert _cell(values, "Scenario", "Fits on the GPUs chosen", book) == ("yes" if api.fits(m, g, p, c, b, n, kv) else "no")


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


def _edit(src, dst, changes):
    wb = openpyxl.load_workbook(src)
    for sheet, cell, value in changes:
        wb[sheet][cell].value = value
    wb.save(dst)


def _catalog_cell(book, sheet, name, field):
    ws = book[sheet]
    col = [c.column for c in ws[3] if c.value == field][0]
    row = [r[0].row for r in ws.iter_rows(min_row=4) if r[0].value == name][0]
    return ws.cell(row, col).coordinate


def test_catalog_edits_reach_every_sheet(built, book, values, tmp_path):
    """H100 memory set to 40 GiB on the GPUs sheet: Cluster sizing's fits column follows its headroom column,
    and every answer that passes the H100 row changes (Scenario, Cluster sizing)."""
    cell = _catalog_cell(book, "GPUs", "h100-sxm", "memory_gib")
    path = tmp_path / "edited.xlsx"
    _edit(built[0], path, [("GPUs", cell, 40)])
    got = engine.calculate(str(path))
    ws = book["Cluster sizing"]
    fits_col = [c for row in ws.iter_rows() for c in row if c.value == "Fits on the GPUs of part A"][0]
    head_col = [c for row in ws.iter_rows() for c in row if c.value == "Headroom (GiB)"][0]
    checked = 0
    for r in range(fits_col.row + 1, fits_col.row + 4):
        fits = got[("CLUSTER SIZING", ws.cell(r, fits_col.column).coordinate)]
        head = got[("CLUSTER SIZING", ws.cell(r, head_col.column).coordinate)]
        assert fits == ("yes" if head >= 0 else "no"), (r, fits, head)
        checked += head < 0
    assert checked, "40 GiB should leave some context without room"
    assert _cell(got, "Scenario", "GPUs needed", book) > _cell(values, "Scenario", "GPUs needed", book)


def test_a_gpu_row_added_to_the_catalog_works_everywhere(built, book, tmp_path):
    """A new GPUs row (a copy of the H100's under a new name) chosen on Scenario, Cluster sizing, Training scale
    and Phase plan gives numbers, not 'not a known gpu'."""
    ws = book["GPUs"]
    last = max(r[0].row for r in ws.iter_rows(min_row=4) if r[0].value)
    h100 = [r for r in ws.iter_rows(min_row=4) if r[0].value == "h100-sxm"][0]
    changes = [("GPUs", f"{c.column_letter}{last + 1}", ("my-gpu" if c.column == 1 else c.value)) for c in h100]
    for name in ["sc_gpu", "cl_gpu", "ts_gpu"]:
        sheet, ref = list(book.defined_names[name].destinations)[0]
        changes.append((sheet, ref.replace("$", ""), "my-gpu"))
    sheet, ref = list(book.defined_names["ph_gpu"].destinations)[0]
    changes.append((sheet, ref.replace("$", "").split(":")[1], "my-gpu"))
    path = tmp_path / "added.xlsx"
    _edit(built[0], path, changes)
    got = engine.calculate(str(path))
    with open(path, "rb") as fh:
        cells = xlsxpatch.formula_cells(fh.read())
    bad = {k: got.get(k) for k in cells if k[0] in ("SCENARIO", "CLUSTER SIZING", "TRAINING SCALE", "PHASE PLAN & ROI")
           and engine.is_error(got.get(k))}
    assert not bad, sorted(bad.items())[:10]


def test_no_formula_names_a_catalog_row_by_a_literal(book):
    """A quoted GPU or model name inside a formula would read the shipped catalog, not the GPUs/Models sheets,
    so an edit of that row would not reach the answer: every formula passes a catalog row (a range) or a
    cell that holds the name."""
    from udfs.core import catalog
    from udfs.core.errors import ScalesheetError

    sheet, ref = list(book.defined_names["functions_status"].destinations)[0]
    found = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if not (isinstance(c.value, str) and c.value.startswith("=")) or (ws.title, c.coordinate) == (
                        sheet, ref.replace("$", "")):        # the "functions loaded?" probe
                    continue
                text = re.sub(r'MATCH\("(?:[^"]|"")*",(?:GPU|Model)Names,0\)', "", c.value)  # a lookup on the sheet
                for text in re.findall(r'"((?:[^"]|"")*)"', text):
                    for row_of in (catalog.gpu_row, catalog.model_row):
                        try:
                            row_of(text)
                        except ScalesheetError:
                            continue
                        found.append((ws.title, c.coordinate, text))
    assert not found, found[:10]


def test_gpu_price_and_memory_edits_reach_hardware_tiers_and_seed_check(built, book, values, tmp_path):
    """The cheapest GPU of each Hardware tiers configuration is searched over the GPUs sheet: the chosen GPU
    priced out of reach, the answers move to another GPU (the one LLM_CHEAPEST_GPU picks from the rest);
    the H200's bandwidth edited, the Seed check figure that reads it follows."""
    import udfs

    ws = book["Hardware tiers"]
    cells = [c for row in ws.iter_rows(max_col=20) for c in row
             if isinstance(c.value, str) and "GPUNames" in c.value and c.value.startswith("=IF(ISNUMBER(")]
    assert len(cells) == 10
    before = {c.coordinate: values[("HARDWARE TIERS", c.coordinate)] for c in cells}
    for c in cells:             # the template's answers equal the function's over the shipped catalog
        need = values[("HARDWARE TIERS", re.match(r"=IF\(ISNUMBER\((\$?[A-Z]+\$?\d+)\)", c.value).group(1)
                       .replace("$", ""))]
        assert before[c.coordinate] == udfs.LLM_CHEAPEST_GPU(need)
    cheapest = before[cells[0].coordinate]
    price = _catalog_cell(book, "GPUs", cheapest, "price_usd")
    h200_bw = _catalog_cell(book, "GPUs", "h200-sxm", "bandwidth_gb_s")
    path = tmp_path / "priced.xlsx"
    _edit(built[0], path, [("GPUs", price, 10**9), ("GPUs", h200_bw, 1000)])
    got = engine.calculate(str(path))
    moved = [c.coordinate for c in cells if before[c.coordinate] == cheapest]
    assert moved
    for ref in moved:
        assert got[("HARDWARE TIERS", ref)] not in (cheapest, None) and not engine.is_error(got[("HARDWARE TIERS", ref)])
    seed = book["Seed check"]
    row = [r[0].row for r in seed.iter_rows(min_row=4) if r[0].value == "S000-02"][0]
    old, new = values[("SEED CHECK", f"F{row}")], got[("SEED CHECK", f"F{row}")]
    assert new == pytest.approx(old * 1000 / udfs.GPU_SPEC("h200", "bandwidth_gb_s"), rel=1e-12)


def test_one_validation_rule_per_cell(book):
    for ws in book.worksheets:
        seen = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                for cell in rng.cells:
                    assert cell not in seen, f"{ws.title}!{cell} has two validation rules"
                    seen[cell] = dv


def test_template_opens_with_cached_numbers_and_status_cell(built):
    """Every formula carries a cached value (what recalc computes), so a reader without the functions sees
    numbers; the Start status cell calls a function and is volatile, so Excel rechecks it on open."""
    zf = zipfile.ZipFile(io.BytesIO(built[1]))
    missing = total = 0
    for name in zf.namelist():
        if name.startswith("xl/worksheets/sheet"):
            for cell in re.findall(rb"<c [^>]*>(.*?)</c>", zf.read(name), re.S):
                if b"<f>" in cell:
                    total += 1
                    missing += b"<v>" not in cell
    assert total > 500 and missing == 0, (missing, total)
    assert b"fullCalcOnLoad=\"1\"" not in zf.read("xl/workbook.xml")
    from workbook.sheets.start import STATUS_FORMULA
    assert "NOW()" in STATUS_FORMULA and engine.uses_udf(STATUS_FORMULA)


def test_sheets_protected_inputs_unlocked_catalogs_editable(book):
    for ws in book.worksheets:
        if ws.title in build.EDITABLE:
            assert not ws.protection.sheet, ws.title
            continue
        assert ws.protection.sheet and not ws.protection.password, ws.title
        for row in ws.iter_rows():
            for c in row:
                if c.style == "Input":
                    assert c.protection.locked is False, f"{ws.title}!{c.coordinate}"


def test_no_scientific_notation_in_answers(book):
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    shown = re.sub(r"\[[^\]]*\]", "", c.number_format)      # conditions such as [>=1E+12]
                    assert "E+" not in shown, f"{ws.title}!{c.coordinate}: {c.number_format}"


def test_identifier_patterns_read_as_their_one_class_form():
    """engine._TOKEN, engine._SHAPE and fastcalc._TOKEN write the identifier characters (U+00A1-U+FFFF among them)
    as alternations that compile 100x faster; each reads every formula of the template, and random texts mixing
    ASCII, Latin-1, other BMP and astral characters, token for token as the one-class form would."""
    import random

    from workbook import fastcalc

    one_class = {engine._IDENT: r"\$?[A-Za-z_\\\u00a1-\uffff][\w.$?\\\u00a1-\uffff]*",
                 engine._ID_CHAR: r"[\w.$?\\\u00a1-\uffff]"}
    with zipfile.ZipFile(TEMPLATE) as z:
        sheets = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    texts = sorted({xlsxpatch.decode_text(f) for f in re.findall(rb"<f>([^<]*)</f>", sheets)})
    assert len(texts) > 1000
    alphabet = list("AZaz09_.$?\\\"'!#:(),;+-*/&=<> []{}%^@eE\t") + [
        "\xa0", "\xa1", "é", "×", "µ", "ª", "\u2028", "中", "\u0660", "\ufffe", "\uffff", "\U0001d400", "\U0001f600"]
    rnd = random.Random(7)
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24))) for _ in range(20_000)]
    for rx in (engine._TOKEN, engine._SHAPE, fastcalc._TOKEN):
        plain = rx.pattern
        for fast, slow in one_class.items():
            plain = plain.replace(fast, slow)
        assert plain != rx.pattern
        reference = re.compile(plain, rx.flags)
        for text in texts:
            assert ([(m.span(), m.groups()) for m in rx.finditer(text)]
                    == [(m.span(), m.groups()) for m in reference.finditer(text)]), (rx.pattern[:30], text)
