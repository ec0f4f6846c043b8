"""A combination's plan constants without numpy or the catalog parser, for the first cells of a session.

``data/plan_parts.csv`` holds, for every catalog row, the parts the plans' constants are made of (per model,
per model and precision, per precision, per GPU, per GPU and precision, and the global ones; see
udfs.core.rows.PART_FIELDS), computed by the core's own functions and written by::

    python -m udfs.core.quick          # rewrites udfs/core/data/plan_parts.csv

Reading a cell of catalog names then costs a few lines of that file instead of importing numpy (about 130 ms)
and parsing the catalogs (a few ms). The file starts with a fingerprint (CRC-32) of the other catalog files:
if a catalog was edited and the file not rewritten, this module answers nothing and the core computes as
before. tests/test_quick.py checks that the file is up to date and that every constant it gives equals the
plan's own (udfs.core.plan) for every catalog model, precision and GPU.

Nothing here imports numpy at import time; only ``build_text`` (the writer) uses the core.
"""

from __future__ import annotations

import os

from . import rows

FILE = "plan_parts.csv"
_DATA = os.path.join(os.path.dirname(__file__), "data")
_state: dict = {}  # "text": the file (bytes), "names": {catalog: {key: position}}, "ok": bool


def _read(name: str) -> bytes:
    """A data file's bytes: from the folder with three system calls (the loader's reader makes eight, and the
    first cell reads seven files), else through the loader (a zip, a wheel)."""
    path = os.path.join(_DATA, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return __spec__.loader.get_data(path)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _catalog_files() -> list[str]:
    return ["assumptions.csv", "engines.csv", "gpus.csv", "mfu_by_generation.csv", "models.csv", "precisions.csv"]


def fingerprint() -> str:
    import binascii
    crc = 0
    for name in _catalog_files():
        crc = binascii.crc32(name.encode() + b"\0" + _read(name), crc)
    return f"{crc:08x}"


def _load() -> bool:
    ok = _state.get("ok")
    if ok is not None:
        return ok
    try:
        text = _read(FILE)          # kept as bytes: a line is decoded when it is read (the file is 0.3 MB)
        ok = text.startswith(b"fingerprint," + fingerprint().encode() + b"\n")
    except OSError:
        text, ok = b"", False
    _state.update(text=text, names={}, ok=ok)
    return ok


def preload() -> None:
    """Check the file against the catalogs and read it now (``import udfs`` calls this: about 1 ms of reading
    seven data files and loading the CRC code, so a session's first cell only looks up its lines). Never
    raises: anything unusual leaves the check to the first cell, which then answers as before."""
    try:
        _load()
    except Exception:  # noqa: BLE001 (an import must not fail over a cache)
        _state.clear()


def _line(kind: str, pos) -> str:
    """The rest of the line ``kind,pos,...`` (found by searching the text: no index to build)."""
    text = _state["text"]
    tag = f"\n{kind},{pos},".encode("utf-8")
    i = text.find(tag)
    if i < 0:
        raise KeyError((kind, pos))
    i += len(tag)
    return text[i:text.find(b"\n", i)].decode("utf-8")


SEARCHED_LOOKUPS = 16


def _name_position(catalog: str, key: str) -> int | None:
    """``_names(catalog).get(key)``; the first SEARCHED_LOOKUPS names looked up in a catalog are found by
    searching its line (a few microseconds each: a session's first cells), the index of every name is built at
    the next (about 0.2 ms for the models)."""
    index = _state["names"].get(catalog)
    if index is not None:
        return index.get(key)
    looked = _state.setdefault("looked", {})
    looked[catalog] = looked.get(catalog, 0) + 1
    if looked[catalog] > SEARCHED_LOOKUPS:
        return _names(catalog).get(key)
    line = "\t" + _line("names", catalog) + "\t"
    tag = "\t" + key + "="
    i = line.rfind(tag)                  # from the right: where a name repeats, the index keeps the last
    while i >= 0:
        name, _, pos = line[i + 1:line.index("\t", i + 1)].rpartition("=")
        if name == key:
            return int(pos)
        i = line.rfind(tag, 0, i)
    return None


def _names(catalog: str) -> dict:
    """{lower-case name or alias: position} of a catalog ("model", "gpu", "precision")."""
    index = _state["names"].get(catalog)
    if index is None:
        index = {}
        for item in _line("names", catalog).split("\t"):
            key, _, pos = item.rpartition("=")
            index[key] = int(pos)
        _state["names"][catalog] = index
    return index


def position(kind: str, value) -> int | None:
    """The catalog row of a name cell (as udfs.core.catalog finds it), or None when this module cannot tell
    (not text, a number of bits, a group spec, an unknown name, a KV format that is not one): the core
    decides those."""
    if type(value) is not str or not _load():
        return None
    key = value.strip().lower()
    if kind in ("precision", "kv_precision"):
        try:
            float(value)
            return None  # a number of bits: the core's ("bits", x) key
        except ValueError:
            pass
        p = _name_position("precision", key)
        if p is not None and kind == "kv_precision" and _fields("precision", p)[1] is None:
            return None  # not a KV-cache format: the core writes the message
        return p
    if kind in ("model", "gpu"):
        return _name_position(kind, key)
    return None


def _fields(kind: str, pos, first: int = 1) -> list:
    """The numbers of a catalog row's line (None where the core raised)."""
    rest = _line(kind, pos)
    parts = rest.split(",")[first:] if first else rest.split(",")
    return [None if v == "-" else float(v) for v in " ".join(parts).split()]


def _part(fields: tuple, values: list) -> dict | None:
    if None in values:
        return None
    return dict(zip(fields, values))


def constants(plan: str, keys: tuple) -> dict | None:
    """The plan's constants for a combination of catalog positions (in the plan's catalog-argument order),
    as udfs.core.plan.Plan.scalar keeps them; None when a part is missing (the core then decides)."""
    if not _load() or any(type(k) is not int for k in keys):  # a number of bits, a group spec: the core's
        return None
    F = rows.PART_FIELDS
    g = _part(F["global"], _fields("global", 0, 0))
    if plan == "infer_vram_bytes":
        m_pos, p_pos, kv_pos = keys
    else:
        m_pos, g_pos, p_pos, kv_pos = keys
    m_all = _fields("model", m_pos)
    n_mem = len(rows.MEMORY_FIELDS)
    mp_all = _fields("model_precision", m_pos, 0)
    k = len(F["model_precision"])
    mp = dict(zip(F["model_precision"], mp_all[p_pos * k:(p_pos + 1) * k]))
    kv_bits = _fields("precision", kv_pos)[1]
    if g is None or kv_bits is None or mp["weights"] is None or None in m_all[:n_mem]:
        return None
    kv = {"kv_bits": kv_bits}
    m = dict(zip(F["model"], m_all))
    if plan == "infer_vram_bytes":
        return rows.scalar_constants(rows.memory_constants(m, mp, kv, g))
    gpu_all = _fields("gpu", g_pos)
    gpu = dict(zip(F["gpu"], gpu_all))
    if plan == "gpus_needed":
        if gpu["usable"] is None:
            return None
        return rows.scalar_constants(rows.gpus_constants(m, mp, kv, g, gpu))
    if plan != "decode_tokps":
        return None
    p = {"expert_bits": _fields("precision", p_pos)[0]}
    kg = len(F["gpu_precision"])
    gp = _part(F["gpu_precision"], _fields("gpu_precision", g_pos, 0)[p_pos * kg:(p_pos + 1) * kg])
    if gp is None or None in m_all or mp["table"] is None or gpu["link"] is None or p["expert_bits"] is None:
        return None
    return rows.scalar_constants(rows.decode_constants(m, mp, p, kv, g, gpu, gp))


def clear() -> None:
    _state.clear()


# ------------------------------------------------------------------------------------------ writer
def build_text() -> str:
    """data/plan_parts.csv as the core computes it now (the expressions of udfs.core.plan's constants)."""
    import numpy as np

    from . import catalog, flops, memory, params, sizing, speed
    from .catalog import assumption
    from .errors import ScalesheetError
    from .units import GB

    def num(v) -> str:
        return "-" if v is None else repr(float(v))

    def attempt(fn):
        try:
            return fn()
        except ScalesheetError:
            return None

    F = rows.PART_FIELDS
    out = ["fingerprint," + fingerprint()]
    glob = {"state_bits": assumption("state_bits"), "chunk": assumption("prefill_chunk_tokens"),
            "activation_bytes": assumption("activation_bytes"), "logit_bytes": assumption("logit_bytes"),
            "overhead": memory.runtime_overhead_bytes(1), "msg_bytes": speed.ACTIVATION_BYTES}
    out.append("global,0," + " ".join(num(glob[k]) for k in F["global"]))
    mt, pt, gt = catalog.model_table(), catalog.precision_table(), catalog.gpu_table()
    for kind, table in (("model", mt), ("precision", pt), ("gpu", gt)):
        out.append(f"names,{kind}," + "\t".join(f"{key}={i}" for i, row in enumerate(table.rows)
                                                 for key in catalog._keys(row)))
    precs = [catalog.precisions(name) for name in pt.names]
    models = []
    for i, row in enumerate(mt.rows):
        a = catalog.models(mt.names[i])
        models.append(a)

        def memory_part():
            elements, limits = memory.kv_elements_per_token(a), memory.span_limits(a)
            if tuple(elements) != rows.SPANS or tuple(limits) != rows.SPANS:
                raise RuntimeError("quick: the core's KV spans changed; update udfs/core/rows.py")
            d = {"state_elements": memory.state_elements_per_sequence(a),
                 "working_set": memory.activation_working_set_per_token(a), "vocab": a.vocab_size}
            d.update({"kv_" + s: elements[s] for s in rows.SPANS})
            d.update({"limit_" + s: limits[s] for s in rows.SPANS})
            return d

        def speed_part():
            pairs = flops.attention_flops_per_pair(a)
            d = {"flops_" + s: pairs[s] for s in rows.SPANS}
            d.update({"layers": a.n_layers, "d_model": a.d_model, "matmul_flops": 2 * params.matmul_params(a),
                      "moe": np.where(a.n_experts > 0, 1.0, 0.0),
                      "expert_share": a.experts_per_token / np.maximum(a.n_experts, 1),
                      "routed_params": params.routed_expert_params(a)})
            return d
        part = {**(attempt(memory_part) or {}), **(attempt(speed_part) or {})}
        keys = ";".join(catalog._keys(row))
        out.append(f"model,{i},{keys}," + " ".join(num(part.get(k)) for k in F["model"]))
    for i, p in enumerate(precs):
        kv = attempt(lambda: catalog.kv_precisions(pt.names[i]))
        keys = ";".join(catalog._keys(pt.rows[i]))
        out.append(f"precision,{i},{keys}," + " ".join([num(p.expert_bits), num(None if kv is None else kv.bits)]))
    for i, a in enumerate(models):
        vals = []
        for p in precs:
            vals += [num(attempt(lambda: memory.weight_bytes(a, p))),
                     num(attempt(lambda: speed.embedding_lookup_bytes(a, p)))]
        out.append(f"model_precision,{i}," + " ".join(vals))
    for i, row in enumerate(gt.rows):
        gpu = catalog.gpus(gt.names[i])
        link = np.where(gpu.interconnect_gb_s > 0, gpu.interconnect_gb_s, speed.PCIE_GB_S) / 2 * GB
        usable = attempt(lambda: sizing.usable_bytes_per_gpu(gpu))
        keys = ";".join(catalog._keys(row))
        out.append(f"gpu,{i},{keys}," + " ".join([num(usable), num(link)]))
        vals = []
        for p in precs:
            def gp_part():
                e = speed.engine_params(None, gpu, p)
                ic = np.where(gpu.interconnect_gb_s > 0, gpu.interconnect_gb_s, speed.PCIE_GB_S)
                kind = e["flags"]["gpu_link"]
                pcie = np.where(kind >= 0, kind == 0, ic <= speed.PCIE_MAX_GB_S)
                return {"peak_rate": speed._compute_peak(gpu, p, e) * e["decode_mfu"],
                        "byte_rate": gpu.bandwidth_gb_s * GB * e["bw_fraction"],
                        "step_overhead_s": e["step_overhead_s"], "layer_s": e["layer_s"], "split": e["layer_split"],
                        "latency": e["allreduce_latency_s"],
                        "ar_latency": e["allreduce_latency_s"] * np.where(pcie, speed.PCIE_LATENCY_FACTOR, 1.0)}
            d = attempt(gp_part) or {}
            vals += [num(d.get(k)) for k in F["gpu_precision"]]
        out.append(f"gpu_precision,{i}," + " ".join(vals))
    return "\n".join(out) + "\n"


def write() -> str:
    path = os.path.join(_DATA, FILE)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(build_text())
    clear()
    return path


if __name__ == "__main__":
    print(write())
