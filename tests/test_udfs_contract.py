"""The Excel surface as classic xlwings sees it, without Windows.

xlwings.udfs (the module that imports the functions into Excel) needs pywin32 only at import; with stub
``pythoncom``, ``pywintypes`` and ``win32com.client`` modules it imports on any OS. Binding xw.func/arg/ret
to its real decorators and reloading ``udfs`` gives every function the ``__xlfunc__`` that "Import
Functions" reads, so the wizard texts, argument options, names and the generated VBA are all checked here.
The VBA module is compared with tests/snapshots/udfs_vba_wrapper.bas; after a deliberate change, rewrite
it with SCALESHEET_UPDATE_SNAPSHOTS=1 and review the diff.
"""

from __future__ import annotations

import importlib
import inspect
import io
import os
import pathlib
import re
import sys
import types
import typing

import pytest

import udfs
from udfs import reference

ROOT = pathlib.Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "snapshots" / "udfs_vba_wrapper.bas"
CONTRACT = ROOT / "docs" / "contract.md"
ROW = re.compile(r"^\|\s*`([A-Z_0-9]+)\(([^`]*)\)`\s*\|")
CELL_ADDRESS = re.compile(r"^[A-Za-z]{1,3}[0-9]+$")
# VBA keywords and the names of VBA's own functions/objects: as a parameter name they break or shadow.
VBA_RESERVED = {w.lower() for w in """
    And As Boolean ByRef Byte ByVal Call Case Const Currency Date Declare Dim Do Double Each Else ElseIf End
    Enum Erase Error Event Exit False For Friend Function Get Global GoSub GoTo If Implements In Integer Is Let
    Lib Like Long LongLong LongPtr Loop LSet Me Mod New Next Not Nothing Null On Option Optional Or ParamArray
    Preserve Private Property Public RaiseEvent ReDim Rem Resume Return RSet Select Set Single Static Step Stop
    String Sub Then To True Type TypeOf Until Variant Wend While With WithEvents Xor Object Range Name Time Len
    Val Empty Decimal Attribute Base Binary Compare Explicit Input Line Lock Open Print Put Seek Shared Text
    Write Close Get Load Unload Width Spc Tab Abs Array Asc Chr CStr CInt CLng CDbl CDate Day Month Year Hour
    Minute Second Now Timer Format Left Right Mid Trim Replace Split Join Sgn Int Fix Log Exp Sqr Rnd Round
    Sin Cos Tan Atn Err Debug Application Cells Rows Columns Sheets Worksheets Workbook Value Caller Count
    Error Environ Shell Kill MkDir RmDir ChDir Dir FileLen IsMissing IsEmpty IsNull IsError IsArray IsNumeric
""".split()}


def contract_rows():
    if not CONTRACT.is_file():
        pytest.fail(f"the contract is not at {CONTRACT}")
    rows = []
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            args = [a.strip() for a in m.group(2).split(",") if a.strip()]
            rows.append((m.group(1), [(a.strip("[]").split("=")[0].strip(), a.startswith("[")) for a in args]))
    assert len(rows) >= 23, f"only {len(rows)} functions parsed from {CONTRACT}"
    return rows


@pytest.fixture(scope="module")
def xl():
    """``udfs`` decorated by classic xlwings' real decorators; afterwards, plain functions again."""
    mp = pytest.MonkeyPatch()
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None
    pythoncom.IID_IDispatch = None
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.com_error = type("com_error", (Exception,), {})
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.Dispatch = lambda *a, **k: None
    win32com.client = client
    for name, module in {"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com,
                         "win32com.client": client}.items():
        mp.setitem(sys.modules, name, module)
    mp.delitem(sys.modules, "xlwings.udfs", raising=False)
    xlwings_udfs = importlib.import_module("xlwings.udfs")
    try:
        with reference.decorated_by(xlwings_udfs.xlfunc, xlwings_udfs.xlarg, xlwings_udfs.xlret) as module:
            yield module, xlwings_udfs
    finally:
        mp.undo()
    assert not any(hasattr(getattr(udfs, n), "__xlfunc__") for n in udfs.__all__)


def excel_functions(module):
    return {n: getattr(module, n) for n in dir(module) if hasattr(getattr(module, n), "__xlfunc__")}


def test_every_contract_function_with_its_arguments_in_order(xl):
    module, _ = xl
    functions = excel_functions(module)
    for name, args in contract_rows():
        assert name in functions, f"{name} is in the contract but not an Excel function of udfs"
        params = list(inspect.signature(functions[name]).parameters.values())
        assert [p.name for p in params[:len(args)]] == [a for a, _ in args], name
        for p, (arg, optional) in zip(params, args):
            assert (p.default is not inspect.Parameter.empty) == optional, f"{name}: {arg} optional={optional}"
        assert all(p.default is not inspect.Parameter.empty for p in params[len(args):]), f"{name}: extra required"
    assert set(functions) == set(module.__all__)


def test_wizard_texts_options_and_names(xl):
    module, _ = xl
    functions = excel_functions(module)
    assert len(functions) >= 23
    for name, f in functions.items():
        info = f.__xlfunc__
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", name), f"{name}: not UPPER_SNAKE"
        assert info["name"] == name and not info["sub"]
        assert not CELL_ADDRESS.match(name) and name.lower() not in VBA_RESERVED, name
        assert info["category"].startswith("Scalesheet"), f"{name}: category {info['category']!r}"
        doc = info["ret"]["doc"]
        assert doc and len(doc) <= 255 and doc == " ".join(doc.split()), f"{name}: description {doc!r}"
        assert re.search(r"GiB|FLOPs|tokens|seconds|count|currency|fraction|months|hours|TRUE|GB/s|"
                         r"parameters|TFLOPS", doc, re.I), f"{name}: description names no unit"
        for arg in info["args"]:
            where = f"{name}({arg['name']})"
            assert arg["doc"] and len(arg["doc"]) <= 255 and not arg["doc"].startswith("Positional argument"), where
            assert arg["options"].get("ndim") == 2 and arg["options"].get("err_to_str") is True, where
            assert not arg["vararg"] and arg["vba"] is None, where
            assert arg["name"].lower() not in VBA_RESERVED, f"{where}: a VBA keyword or built-in"
            assert not CELL_ADDRESS.match(arg["name"]), f"{where}: looks like a cell address"
            assert re.fullmatch(r"[a-z][a-z0-9_]*", arg["name"]) and len(arg["name"]) < 32, where
            if "optional" in arg:
                assert arg["optional"] is None, f"{where}: Excel passes a blank, so the default must be None"
        params = inspect.signature(f).parameters.values()
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params), f"{name}: keyword-only or *args"
        hints = typing.get_type_hints(f)
        assert not any(typing.get_origin(h) is typing.Literal for h in hints.values()), f"{name}: Literal"


def test_vba_wrapper_matches_the_snapshot(xl):
    module, xlwings_udfs = xl
    out = io.StringIO()
    xlwings_udfs.generate_vba_wrapper("udfs", module, out, types.SimpleNamespace(Name="Scalesheet.xlsm"))
    vba = out.getvalue()
    for name in module.__all__:
        assert f"Function {name}(" in vba and f'"udfs", "{name}"' in vba
    if os.environ.get("SCALESHEET_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(vba, encoding="utf-8", newline="\n")
    assert SNAPSHOT.is_file(), f"{SNAPSHOT} is missing; create it with SCALESHEET_UPDATE_SNAPSHOTS=1"
    assert vba == SNAPSHOT.read_text(encoding="utf-8"), (
        "the generated VBA differs from the snapshot; if intended, rerun with SCALESHEET_UPDATE_SNAPSHOTS=1")


def test_function_reference_is_generated_from_the_code():
    page = (ROOT / "docs" / "functions.md").read_text(encoding="utf-8")
    assert page == reference.render(), "docs/functions.md is stale: run `python -m udfs.reference`"
    for name in udfs.__all__:
        assert f"### {name}\n" in page


LITE_STUB = '''"""xlwings as xlwings Lite's decorators look to udfs: func/arg/ret that record their options."""
OPTIONS = {"func": set(), "arg": set()}


def func(f=None, **kw):
    OPTIONS["func"].update(kw)
    return f if f is not None else (lambda g: g)


def arg(name, convert=None, **kw):
    OPTIONS["arg"].update(kw)
    return lambda g: g


def ret(*a, **kw):
    return lambda g: g
'''

LITE_RUN = '''
import json, sys, threading
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import xlwings  # as in Lite, where udfs imports xlwings itself (sys.platform emscripten); here import it first
import udfs
assert udfs.__file__.startswith(sys.argv[2]), udfs.__file__
assert xlwings.__file__.startswith(sys.argv[1]), xlwings.__file__
value = udfs.LLM_INFER_VRAM_GIB("llama-3-70b", "int4", 32768, 8)
column = udfs.LLM_FITS([["llama-3-8b"], ["nope"]], "h100-sxm")
print(json.dumps({"value": value, "column": column, "threads": threading.active_count(),
                  "func": sorted(xlwings.OPTIONS["func"]), "arg": sorted(xlwings.OPTIONS["arg"]),
                  "windows": sorted(m for m in sys.modules if m.split(".")[0] in
                                    {"pythoncom", "pywintypes", "win32com", "openpyxl", "workbook"})}))
'''


def test_lite_wheel_imports_from_a_zip_with_only_func_arg_ret(tmp_path):
    """As in xlwings Lite: udfs from the Lite wheel (a zip: no paths on disk), an xlwings that has only
    func/arg/ret, and the decorator options limited to those Lite's decorators accept."""
    import json
    import subprocess
    import zipfile

    from udfs import lite

    wheel = lite.build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert "udfs/core/data/models.csv" in names and "udfs/adapter.py" in names
    assert not any(n.startswith(("workbook/", "tests/")) for n in names)
    assert lite.build_wheel(tmp_path / "again").read_bytes() == wheel.read_bytes()  # reproducible
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "xlwings.py").write_text(LITE_STUB, encoding="utf-8")
    run = subprocess.run([sys.executable, "-I", "-c", LITE_RUN, str(stub), str(wheel)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["value"] == udfs.LLM_INFER_VRAM_GIB("llama-3-70b", "int4", 32768, 8)
    assert got["column"][0] == [True] and got["column"][1][0].startswith("#model:")
    assert got["threads"] == 1 and got["windows"] == []
    assert got["func"] and got["arg"], "the decorators were not called"
    assert set(got["func"]) <= {"category"}  # Lite ignores category (classic only); rejects nothing we pass
    assert set(got["arg"]) <= {"ndim", "err_to_str", "doc"}  # converter options Lite's @arg accepts
