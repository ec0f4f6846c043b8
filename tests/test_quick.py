"""udfs.core.quick: the plans' constants read from data/plan_parts.csv equal the plans' own, to the last bit.

The first Excel cell of a session takes its combination's constants from that file (no numpy, no catalog
parsing); every later cell then uses them. So the file must be what the core computes now, and the assembly
in udfs.core.rows must give what udfs.core.plan gives.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from udfs.core import catalog, plan, quick, resolve, rows
from udfs.core.errors import ScalesheetError

MODELS = catalog.model_names()
GPUS = catalog.gpu_names()
PRECISIONS = catalog.precision_names()
KV = [r["name"] for r in catalog.precision_table().rows if r.get("kv_ok", "").strip().lower() in ("true", "1")]
LOOKUP = {"model": resolve.model, "gpu": resolve.gpu, "precision": resolve.precision,
          "kv_precision": resolve.kv_precision}
POSITION = {"model": catalog.model_table, "gpu": catalog.gpu_table, "precision": catalog.precision_table,
            "kv_precision": catalog.precision_table}


def plan_constants(p, names):
    """The plan's constants as Plan.scalar keeps them, or the error the core raises."""
    try:
        records = {n: LOOKUP[n](names[n]) for n in p.records}
        return rows.scalar_constants(p.constants(**records))
    except ScalesheetError as exc:
        return exc


def quick_constants(p, names):
    keys = tuple(quick.position(n, names[n]) for n in p.records)
    return quick.constants(p.name, keys)


def check(p, names):
    want = plan_constants(p, names)
    got = quick_constants(p, names)
    if isinstance(want, Exception):
        assert got is None, (p.name, names)
    else:
        assert got == want, (p.name, names, {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
                             if got else None)


def test_the_file_is_up_to_date():
    with open(quick.os.path.join(quick._DATA, quick.FILE), encoding="utf-8") as f:
        assert f.read() == quick.build_text(), "data/plan_parts.csv is stale: run `python -m udfs.core.quick`"


def test_positions_are_the_catalogs():
    for kind, names in (("model", MODELS), ("gpu", GPUS), ("precision", PRECISIONS)):
        table = POSITION[kind]()
        for i, row in enumerate(table.rows):
            for key in catalog._keys(row):
                assert not {",", "\t", "\n"} & set(key)
                for form in (key, key.upper(), f"  {key} "):
                    assert quick.position(kind, form) == table.position(form, kind) == i
    for name in PRECISIONS:
        kv_ok = name in KV
        assert (quick.position("kv_precision", name) is not None) == kv_ok
    for odd in ("nope", "", "4.5", "16", "experts=mxfp4,rest=bf16", None, 4.5, True):
        for kind in ("model", "gpu", "precision", "kv_precision"):
            assert quick.position(kind, odd) is None


def test_every_model_and_precision():
    for m in MODELS:
        for p in PRECISIONS:
            check(plan.VRAM, {"model": m, "precision": p, "kv_precision": "fp16"})
            check(plan.DECODE, {"model": m, "gpu": "h100-sxm", "precision": p, "kv_precision": "fp8"})


def test_every_gpu_and_precision():
    for g in GPUS:
        for p in PRECISIONS:
            check(plan.DECODE, {"model": "mixtral-8x7b", "gpu": g, "precision": p, "kv_precision": "fp16"})
        check(plan.GPUS_NEEDED, {"model": "llama-3-8b", "gpu": g, "precision": "bf16", "kv_precision": "fp16"})


def test_random_combinations():
    rng = random.Random(14)
    for _ in range(1500):
        names = {"model": rng.choice(MODELS), "gpu": rng.choice(GPUS), "precision": rng.choice(PRECISIONS),
                 "kv_precision": rng.choice(KV)}
        for p in (plan.VRAM, plan.GPUS_NEEDED, plan.DECODE):
            check(p, names)


def test_a_stale_file_is_not_used(monkeypatch):
    quick.clear()
    monkeypatch.setattr(quick, "fingerprint", lambda: "00000000")
    try:
        assert quick.position("model", "llama-3-8b") is None
        assert quick.constants("infer_vram_bytes", (0, 0, 0)) is None
    finally:
        monkeypatch.undo()
        quick.clear()
    assert quick.position("model", "llama-3-8b") is not None


def test_rows_import_no_numpy():
    code = ("import sys; from udfs.core import quick, rows; "
            "k = tuple(quick.position(n, v) for n, v in (('model', 'llama-3-8b'), ('precision', 'bf16'), "
            "('kv_precision', 'fp16'))); c = quick.constants('infer_vram_bytes', k); "
            "print(rows.vram_1(c, 4096.0, 1.0), 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False"
    import udfs
    assert float(out[0]) / 2**30 == udfs.LLM_INFER_VRAM_GIB("llama-3-8b", "bf16", 4096.0, 1.0)


def test_import_udfs_and_a_cell_of_catalog_names_need_no_numpy():
    """`import udfs` binds numpy and the core to stand-ins (udfs/_lazy.py) and imports xlwings only where its
    decorators register functions; the first cell of catalog names reads data/plan_parts.csv. A range then
    loads numpy and gives the same numbers."""
    code = ("import sys, json; import udfs; a = 'numpy' in sys.modules or 'xlwings' in sys.modules; "
            "v = [udfs.LLM_INFER_VRAM_GIB([['llama-3-8b']], [['bf16']], [[4096.0]], [[1.0]]), "
            "udfs.LLM_DECODE_TOKPS([['mixtral-8x7b']], [['h100-sxm']], [['int4']], [[8192.0]], [[8.0]]), "
            "udfs.LLM_GPUS_NEEDED([['llama-3.1-70b']], [['l4']], [['fp8']], [[32768.0]], [[4.0]])]; "
            "b = 'numpy' in sys.modules; col = udfs.LLM_INFER_VRAM_GIB([['llama-3-8b']] * 3, 'bf16', 4096.0, 1.0); "
            "print(json.dumps([a, b, 'numpy' in sys.modules, v, col[0][0]]))")
    env = {k: v for k, v in quick.os.environ.items() if k != "XLWINGS_ON_SERVER"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    import json
    before, after_cells, after_range, values, column = json.loads(out.stdout)
    if not sys.platform.startswith(("win", "emscripten")):
        assert before is False
    assert after_cells is False and after_range is True
    import udfs
    from udfs import adapter
    adapter.clear_caches()
    assert values == [udfs.LLM_INFER_VRAM_GIB("llama-3-8b", "bf16", 4096, 1),
                      udfs.LLM_DECODE_TOKPS("mixtral-8x7b", "h100-sxm", "int4", 8192, 8),
                      udfs.LLM_GPUS_NEEDED("llama-3.1-70b", "l4", "fp8", 32768, 4)]
    assert column == values[0]


def test_the_first_name_of_a_catalog_is_found_as_the_index_finds_it():
    """A catalog's first looked-up names are found by searching its line, later ones in the index: for every name,
    alias and look-alike (prefixes, suffixes, '=' and tabs inside, other cases), a fresh lookup equals the index."""
    quick.clear()
    assert quick._load()
    keys = {k: list(quick._names(k)) for k in ("model", "gpu", "precision")}
    tries = []
    for kind, names in keys.items():
        for n in names:
            tries += [(kind, n), (kind, n[:-1]), (kind, n + "x"), (kind, "x" + n), (kind, n.upper()),
                      (kind, n + "=0"), (kind, "a\t" + n)]
        tries += [(kind, ""), (kind, "="), (kind, "\t"), (kind, "nope")]
    found = 0
    for kind, key in tries:
        want = quick._names(kind).get(key)
        quick.clear()
        assert quick._load()
        for _ in range(quick.SEARCHED_LOOKUPS):                         # searched: the catalog's first lookups
            assert quick._name_position(kind, key) == want, (kind, key)
        assert "names" in quick._state and kind not in quick._state["names"]
        assert quick._name_position(kind, key) == want, (kind, key)     # indexed: the next
        assert kind in quick._state["names"]
        found += want is not None
    assert found > 100
    quick.clear()


def test_data_files_read_as_the_loader_reads_them():
    """quick._read (os.read from the package folder) gives each data file's bytes exactly as the loader does."""
    for name in quick._catalog_files() + [quick.FILE]:
        path = quick.os.path.join(quick._DATA, name)
        assert quick._read(name) == quick.__spec__.loader.get_data(path), name
        assert len(quick._read(name)) == quick.os.path.getsize(path) > 1000


def test_import_checks_and_reads_the_file_and_never_fails_over_it():
    """`import udfs` checks data/plan_parts.csv against the catalogs and reads it (the first cell then only looks
    up its lines); a failure there (a missing or unreadable file, anything raised) leaves the check to the first
    cell instead of failing the import."""
    code = ("import sys, json; import udfs; from udfs.core import quick; s = quick._state; "
            "print(json.dumps([s.get('ok'), len(s.get('text', b'')), 'numpy' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    ok, size, numpy_loaded = __import__("json").loads(out.stdout)
    assert ok is True and size == quick.os.path.getsize(quick.os.path.join(quick._DATA, quick.FILE))
    assert numpy_loaded is False or sys.platform.startswith(("win", "emscripten"))
    broken = ("import udfs.core.quick as q; q.fingerprint = lambda: 1 / 0; q.clear(); q.preload(); "
              "print(q._state == {})")
    assert subprocess.run([sys.executable, "-c", broken], capture_output=True, text=True,
                          check=True).stdout.strip() == "True"
