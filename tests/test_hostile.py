"""Hostile and odd workbooks (built at test time by tests/hostile.py) through ``share`` and ``recalc``.

Every run either writes a valid, complete output (re-read here: every part parses, no call to the
functions is left in a share copy, values are the right ones) or refuses with exit status 2 and one line;
the input never changes; no value from a file beside the input ever appears; nothing takes a minute.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
import zipfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402

import udfs  # noqa: E402
from workbook import engine, xlsxpatch  # noqa: E402
from workbook.cli import main  # noqa: E402

ROI = lambda gain, cost: (gain - cost) / cost  # noqa: E731  PLAN_ROI by its definition
PARAMS_70M = float(udfs.LLM_PARAMS("pythia-70m"))

# case -> (share outcome, {(sheet, ref): expected value in the share copy}); "refuse:<text>" expects exit 2
EXPECT = {
    "external_link_relative": ("ok", {("Sheet1", "A1"): 2.0, ("Sheet1", "B1"): 1.0}),
    "external_link_absolute": ("ok", {("Sheet1", "B1"): ROI(5, 1)}),
    "external_book_by_name": ("ok", {("Sheet1", "B1"): ROI(7, 1)}),
    "external_name": ("ok", {("Sheet1", "B1"): 2.0}),
    "control_chars": ("ok", {("Sheet1", "A1"): "\x0bx\x01", ("Sheet1", "B1"): "0\x0b"}),
    "lone_surrogate": ("ok", {("Sheet1", "B1"): "x\ud800y"}),
    "apostrophe_sheet": ("ok", {("Bob's plan", "B1"): PARAMS_70M, ("Other", "A1"): PARAMS_70M}),
    "bracket_filename": ("ok", {("Sheet1", "B1"): PARAMS_70M}),
    "straße_sheets": ("ok", {("Straße", "B1"): ROI(3, 1), ("STRASSE", "B1"): ROI(5, 1), ("STRASSE", "C1"): 30.0}),
    "non_ascii_and_brackets_sheet": ("ok", {("Données (2024) é!,;", "B1"): ROI(4, 1), ("Sheet2", "A1"): ROI(4, 2)}),
    "last_row_sum": ("ok", {("Sheet1", "B1"): ROI(1000, 100), ("Sheet1", "B2"): 1000.0}),
    "array_formula": ("ok", {("Sheet1", "B1"): ROI(1, 1), ("Sheet1", "B2"): ROI(2, 1), ("Sheet1", "B3"): ROI(3, 1)}),
    "shared_formula": ("ok", {("Sheet1", "B1"): ROI(1, 1), ("Sheet1", "B2"): ROI(2, 1), ("Sheet1", "B3"): ROI(3, 1)}),
    "defined_name_calls": ("ok", {("Sheet1", "B1"): 2 * ROI(3, 1), ("Sheet1", "C1"): ROI(3, 2) + 1}),
    "prefixed_xml": ("ok", {("Sheet1", "B1"): ROI(3, 1), ("Sheet1", "C1"): 6.0}),
    "cells_without_r": ("ok", {("Sheet1", "B1"): ROI(3, 1), ("Sheet1", "C1"): 6.0, ("Sheet1", "C3"): ROI(5, 1)}),
    "prefixed_calls": ("ok", {("Sheet1", "B1"): ROI(3, 1), ("Sheet1", "C1"): ROI(3, 2), ("Sheet1", "D1"): ROI(3, 3),
                              ("Sheet1", "E1"): ROI(3, 4)}),
    "unknown_function": ("refuse:LLM_NOT_A_FUNCTION", {}),
    "huge_used_range": ("ok", {("Sheet1", "B1"): ROI(3, 1)}),
    "last_row_cell": ("ok", {("Sheet1", "B1"): ROI(9, 1)}),
    "circular": ("refuse:circular", {}),
    "missing_sheet_part": ("refuse:missing", {}),
    "bad_crc_media": ("refuse:corrupt", {}),
    "xlsm_with_vba": ("ok", {("Sheet1", "A1"): ROI(2, 1)}),
    "terminal_escapes": ("ok", {}),
    "long_name": ("ok", {}),
    "many_cells": ("refuse:limit", {}),
    "duplicate_cells": ("ok", {("Sheet1", "A1"): ROI(2, 1)}),
    "sheet_named_like_a_cell": ("ok", {("Sheet3", "A1"): ROI(7, 1)}),
    "webservice": ("ok", {("Sheet1", "A1"): "cached", ("Sheet1", "B1"): ROI(6, 1)}),
    "statistics_functions": ("ok", {("Sheet1", "A1"): 1.959963984540054, ("Sheet1", "B1"): ROI(1.959963984540054, 1),
                                    ("Sheet1", "C1"): 2.6750983101285986}),
    "not_a_zip": ("refuse:not an .xlsx", {}),
    "directory_input": ("refuse:directory", {}),
}


def _digest(path):
    if os.path.isdir(path):
        return "dir"
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _all_text(path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return b"".join(zf.read(n) for n in zf.namelist())


def _run(argv, capsys):
    t = time.monotonic()
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err, time.monotonic() - t


def _value(pkg, sheet, ref):
    i = pkg.sheet_index(sheet)
    assert i is not None and pkg.sheets[i].name == sheet, sheet
    c = pkg.sheets[i].cells.get(ref)
    return None if c is None else c.value


def test_expectations_cover_every_case():
    assert set(EXPECT) == set(hostile.CASES)


@pytest.mark.parametrize("case", sorted(hostile.CASES))
def test_share_and_recalc(case, tmp_path, capsys):
    src = hostile.CASES[case](str(tmp_path))
    before = {p: _digest(os.path.join(r, p)) for r, _, fs in os.walk(tmp_path) for p in fs}
    outcome, expected = EXPECT[case]
    suffix = ".xlsm" if case == "xlsm_with_vba" else ".xlsx"
    out = str(tmp_path / ("shared" + suffix))
    rc, stdout, stderr, secs = _run(["share", src, "-o", out], capsys)
    assert secs < 60
    assert "Traceback" not in stderr and "\x1b" not in stdout + stderr
    if outcome.startswith("refuse"):
        assert rc == 2, (stdout, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("scalesheet: "), stderr
        assert outcome.split(":", 1)[1] in lines[0], lines[0]
        assert not os.path.exists(out)
    else:
        assert rc == 0, stderr
        data = open(out, "rb").read()
        xlsxpatch.validate(data)                                      # reads back: zip, XML, sheets
        pkg = xlsxpatch.Package(data)                                 # and every cell of it
        for s in pkg.sheets:
            for ref, c in s.cells.items():
                assert c.formula is None or not engine.uses_udf(c.formula), (s.name, ref, c.formula)
                assert not isinstance(c.value, str) or len(c.value) <= xlsxpatch.EXCEL_MAX_CHARS
        for (sheet, ref), want in expected.items():
            got = _value(pkg, sheet, ref)
            if isinstance(want, float):
                assert got == pytest.approx(want, rel=1e-12), (sheet, ref, got)
            else:
                assert got == want, (sheet, ref, got)
        assert str(hostile.SECRET).encode() not in _all_text(out)   # nothing from the file beside the input
        import openpyxl
        openpyxl.load_workbook(out)                                   # a second reader agrees it is a workbook
    # recalc: never a traceback; a summary that names circular references as such
    rc2, stdout2, stderr2, secs2 = _run(["recalc", src, "-o", str(tmp_path / "calc.xlsx")], capsys)
    assert secs2 < 60 and rc2 in (0, 2) and "Traceback" not in stderr2 and "\x1b" not in stdout2 + stderr2
    if rc2 == 2:
        assert len(stderr2.strip().splitlines()) == 1
    else:
        xlsxpatch.validate(open(tmp_path / "calc.xlsx", "rb").read())
        assert str(hostile.SECRET).encode() not in _all_text(tmp_path / "calc.xlsx")
    if case == "circular":
        assert "circular" in stdout2
    after = {p: _digest(os.path.join(r, p)) for r, _, fs in os.walk(tmp_path) for p in fs if p in before}
    assert after == before                                               # inputs (and the secret) unchanged


def test_xlsm_keeps_its_macros_and_xlsx_says_it_drops_them(tmp_path, capsys):
    src = hostile.xlsm_with_vba(str(tmp_path))
    rc, out, err, _ = _run(["share", src, "-o", str(tmp_path / "keep.xlsm")], capsys)
    assert rc == 0, err
    with zipfile.ZipFile(tmp_path / "keep.xlsm") as zf:
        assert "xl/vbaProject.bin" in zf.namelist()
        assert xlsxpatch.MACRO_CT in zf.read("[Content_Types].xml")
    rc, out, err, _ = _run(["share", src, "-o", str(tmp_path / "plain.xlsx")], capsys)
    assert rc == 0 and "VBA project was dropped" in out
    with zipfile.ZipFile(tmp_path / "plain.xlsx") as zf:
        assert "xl/vbaProject.bin" not in zf.namelist()
        ct = zf.read("[Content_Types].xml")
        assert xlsxpatch.MACRO_CT not in ct and xlsxpatch.PLAIN_CT in ct and b"vbaProject" not in ct


def test_text_round_trips_through_excel_escapes():
    for text in ["a\x0bb", "x\ud800y", "_x000B_ literal", "tab\tnewline\n", "\x00\x1f\ufffe", "plain & <tag>"]:
        xml = b"<t>" + xlsxpatch.encode_text(text) + b"</t>"
        import defusedxml.ElementTree as ET
        ET.fromstring(xml)                                   # valid XML 1.0
        assert xlsxpatch.decode_text(xlsxpatch.encode_text(text)) == text


def test_sheet_names_compare_as_excel_does():
    assert xlsxpatch.excel_upper("Straße") != xlsxpatch.excel_upper("STRASSE")
    assert xlsxpatch.excel_upper("données") == xlsxpatch.excel_upper("DONNÉES")


@pytest.mark.parametrize("setup,needle", [
    ("dir", "is a directory"),
    ("devnull", "not a regular file"),
    ("parent_is_file", "folder"),
    ("readonly_dir", "not writable"),
    ("bad_suffix", ".xlsx or .xlsm"),
])
def test_outputs_that_are_refused(tmp_path, capsys, setup, needle):
    src = hostile.control_chars(str(tmp_path))
    if setup == "dir":
        dst = tmp_path / "out.xlsx"
        dst.mkdir()
    elif setup == "devnull":
        dst = "/dev/null"
    elif setup == "parent_is_file":
        (tmp_path / "f").write_text("x")
        dst = tmp_path / "f" / "out.xlsx"
    elif setup == "readonly_dir":
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o500)
        dst = d / "out.xlsx"
    else:
        dst = tmp_path / "out.csv"
    rc, out, err, _ = _run(["share", src, "-o", str(dst), "--force"], capsys)
    if setup == "readonly_dir" and os.geteuid() == 0:     # root may write there: then it must succeed
        assert rc == 0 and os.path.isfile(dst), err
        return
    assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


def test_output_keeps_the_mode_of_the_file_it_replaces_or_the_umask(tmp_path, capsys):
    src = hostile.control_chars(str(tmp_path))
    dst = tmp_path / "out.xlsx"
    dst.write_bytes(b"old")
    dst.chmod(0o600)
    assert _run(["share", src, "-o", str(dst), "--force"], capsys)[0] == 0
    assert (dst.stat().st_mode & 0o777) == 0o600
    old = os.umask(0o027)
    try:
        new = tmp_path / "new.xlsx"
        assert _run(["share", src, "-o", str(new)], capsys)[0] == 0
        assert (new.stat().st_mode & 0o777) == 0o640
    finally:
        os.umask(old)


@pytest.mark.parametrize("content,needle", [
    (None, "is a directory"),
    ("[1, 2]", "JSON list"),
    ("{not json", "not valid JSON"),
])
def test_bad_config_is_one_line(tmp_path, capsys, content, needle):
    path = tmp_path / "config.json"
    if content is None:
        path.mkdir()
    else:
        path.write_text(content)
    rc, out, err, _ = _run(["estimate", "--config", str(path)], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


def test_recalc_prints_no_terminal_escapes(tmp_path, capsys):
    src = hostile.terminal_escapes(str(tmp_path))
    rc, out, err, _ = _run(["recalc", src], capsys)
    assert rc == 0 and "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b" in out


def test_evaluation_past_its_cpu_limit_is_refused_and_leaves_no_timer(tmp_path):
    from udfs.core.errors import ScalesheetError

    src = hostile.last_row_sum(str(tmp_path))
    pkg = xlsxpatch.Package(open(src, "rb").read())
    engine.register_udfs()
    with pytest.raises(ScalesheetError, match="CPU time"):
        engine.evaluate(pkg, 0.3)
    t = time.process_time()
    while time.process_time() - t < 0.3:    # a stray SIGPROF would kill the process here
        pass
    ev = engine.evaluate(xlsxpatch.Package(open(src, "rb").read()))   # and the engine still works
    assert ev.values[(0, "B1")] == pytest.approx(ROI(1000, 100))
