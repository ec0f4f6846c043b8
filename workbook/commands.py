"""The workbook commands of the CLI: build, share, recalc.

``share`` and ``recalc`` never follow an external reference (another workbook, the web): such formulas keep
the value cached in the file and no file but the input is read (see ``engine``). They never modify the
input, write through a temporary file that is re-read and checked before it replaces anything, and replace
only regular files. Each refusal is a ScalesheetError: exit status 2 and one line.
"""

from __future__ import annotations

import os
import sys

from udfs.core.errors import ScalesheetError

from . import safeio
from .xlsxpatch import KEEP, Edit   # the share copy's edits (share_edit runs once per formula cell)

DEFAULT_TEMPLATE = os.path.join("templates", "Scalesheet.xlsx")
OUTPUT_SUFFIXES = (".xlsx", ".xlsm")


def run(args) -> int:
    if args.command == "build":
        return build(args.output or DEFAULT_TEMPLATE, args.force)
    if args.command == "share":
        return share(args.input, args.output, args.force)
    if args.command == "recalc":
        return recalc(args.input, args.output, args.force)
    raise ScalesheetError("command", f"unknown command {args.command!r}")


def build(path: str, force: bool) -> int:
    from .build import build_bytes

    data = build_bytes()
    if os.path.lexists(path):
        safeio.check_output(path, True)
        with open(path, "rb") as fh:
            if fh.read() == data:
                print(f"{safeio.printable(path)} is up to date")
                return 0
        if not force:
            raise ScalesheetError("output", f"{path} exists and differs from this build; pass --force to replace it")
    else:
        safeio.check_output(path, force)
    safeio.atomic_write(path, data)
    print(f"wrote {safeio.printable(path)} ({len(data):,} bytes)")
    return 0


def _where(pkg, key) -> str:
    if key[0] == "name":
        return f"the defined name {key[1]}"
    return f"{pkg.sheets[key[0]].name}!{key[1]}"


def _load(src: str):
    from . import engine, xlsxpatch

    data, parts = safeio.read_xlsx_parts(src)
    pkg = xlsxpatch.Package(data, parts=parts)
    cells = sum(len(s.cells) for s in pkg.sheets)
    if cells > safeio.MAX_CELLS:
        raise ScalesheetError("input", f"{src} holds {cells:,} cells; the limit is {safeio.MAX_CELLS:,}")
    formulas = sum(1 for s in pkg.sheets for c in s.cells.values()
                   if c.formula is not None or c.fattrs.get("t") == "shared")
    if formulas > safeio.MAX_FORMULA_CELLS:
        raise ScalesheetError("input", f"{src} holds {formulas:,} formulas; the limit is "
                                       f"{safeio.MAX_FORMULA_CELLS:,}")
    try:
        ev = engine.evaluate(pkg, safeio.evaluation_seconds(formulas))
    except ScalesheetError:
        raise
    except MemoryError:
        raise ScalesheetError("input", f"{src} needs more memory to evaluate than this machine has")
    except Exception as exc:  # the formula engine failed on this workbook: say so in one line
        raise ScalesheetError("input", f"{src} could not be evaluated: {type(exc).__name__}: "
                                       f"{safeio.printable(exc, 120)}")
    return pkg, ev


def _check_output_name(src: str, dst: str) -> bool:
    """True when the output keeps macros (.xlsm)."""
    suffix = os.path.splitext(dst)[1].lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ScalesheetError("output", f"{dst} must end in .xlsx or .xlsm")
    if safeio.same_file(src, dst):
        raise ScalesheetError("output", "must differ from the input; the input is never modified")
    return suffix == ".xlsm"


def share_edit(pkg, ev, key, sharer=None):
    """What one formula cell of the share copy becomes (the single place the live share copy hooks into):
    an ``xlsxpatch.Edit`` or None to leave the cell exactly as it is.

    Calls to the functions (directly or through a defined name) become a live native formula or a guarded
    value (``workbook/live.py``: shown while every input holds its share-time value, else ``#frozen``), or
    their bare value where neither can be written; native formulas stay and cache their value; formulas that
    refer to another workbook keep what the file holds."""
    value = ev.values.get(key)
    if key in ev.udf_cells:
        i, ref = key
        text = ev.formulas.get(key) if sharer is not None else None
        native = sharer.replace(pkg.sheets[i].name, ref, text, value) if text else None
        if isinstance(native, tuple):       # (formula, the value it shows)
            native, value = native
        return Edit(value, native or None)
    if key in ev.external_cells:
        return None
    if key in ev.circular or key in ev.uncomputed:
        return None
    return Edit(value, KEEP)


def _share_plan(pkg, ev, sharer=None):
    edits = {}
    for key in sorted(ev.formula_cells):
        e = share_edit(pkg, ev, key, sharer)
        if e is not None:
            edits[key] = e
            for cell in ev.array_cells.get(key, ()):     # the rest of an array formula's range
                if cell != key:
                    edits[cell] = Edit(ev.values.get(cell), KEEP if e.formula is KEEP else None)
    # a shared formula group with its first cell frozen: every cell still holding a formula writes it out
    for i, s in enumerate(pkg.sheets):
        groups: dict[str, list[str]] = {}
        for ref, c in s.cells.items():
            if c.fattrs.get("t") == "shared" and "si" in c.fattrs:
                groups.setdefault(c.fattrs["si"], []).append(ref)
        for refs in groups.values():
            master = next((r for r in refs if s.cells[r].formula is not None), None)
            if master is None or (i, master) not in edits or edits[(i, master)].formula is not None:
                continue
            for r in refs:
                e = edits.get((i, r))
                if e is None:
                    edits[(i, r)] = Edit(ev.values.get((i, r)), ev.formulas[(i, r)])
                elif e.formula is KEEP:
                    e.formula = ev.formulas[(i, r)]
    name_edits = {}
    for key in ev.udf_names:
        if key not in ev.names:
            raise ScalesheetError("input", f"the defined name {key[0]} calls the functions but has no value "
                                           "that can be frozen")
        from .xlsxpatch import name_literal
        name_edits[key] = name_literal(ev.names[key])
    return edits, name_edits


def _refuse_unresolved(pkg, ev, src: str, udf_only: bool) -> None:
    if ev.unresolved:
        key, call = sorted(ev.unresolved.items(), key=lambda kv: str(kv[0]))[0]
        more = f" (and {len(ev.unresolved) - 1} more)" if len(ev.unresolved) > 1 else ""
        raise ScalesheetError("input", f"{safeio.printable(_where(pkg, key), 80)} calls "
                                       f"{safeio.printable(call, 60)}, which is not a Scalesheet function{more}; "
                                       "nothing was written")
    bad = sorted((ev.circular | ev.uncomputed) & ev.udf_cells)
    if bad:
        kind = ("is part of a circular reference" if bad[0] in ev.circular else
                "could not be computed" + (" (the workbook has circular references)" if ev.circular else ""))
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ScalesheetError("input", f"{safeio.printable(_where(pkg, bad[0]), 80)} calls the functions but {kind}"
                                       f"{more}; nothing was written")


def _validated(data: bytes, freeze: bool):
    from . import engine, xlsxpatch

    out = xlsxpatch.validate(data)
    if freeze:
        words = tuple(w.encode() for w in engine.UDF_PREFIXES)    # formulas naming no function are not read
        for s in out.sheets:
            for element, text in xlsxpatch.formula_texts(s, words):
                if engine.uses_udf(text):
                    raise ScalesheetError("output", f"the written copy still calls the functions in sheet "
                                                    f"{safeio.printable(s.name, 60)} "
                                                    f"({safeio.printable(text, 60)}); nothing was written")
        for n in out.names:
            if engine.uses_udf(n.text):
                raise ScalesheetError("output", f"the written copy's name {n.name} still calls the functions; "
                                                "nothing was written")
    return out


def share(src: str, dst: str, force: bool) -> int:
    from . import xlsxpatch

    safeio.check_output(dst, force)
    macros = _check_output_name(src, dst)
    pkg, ev = _load(src)
    _refuse_unresolved(pkg, ev, src, udf_only=True)
    from .live import Sharer

    titles = [s.name.upper() for s in pkg.sheets]
    values = {(titles[i], ref): v for (i, ref), v in ev.values.items()}
    try:
        udf_keys = {(titles[i], ref) for i, ref in ev.udf_cells}
        sharer = Sharer(pkg, values, udf_keys)
    except Exception as exc:  # a workbook openpyxl cannot read for the guards: plain values, said so below
        sharer, why = None, f"{type(exc).__name__}: {safeio.printable(exc, 80)}"
    edits, name_edits = _share_plan(pkg, ev, sharer)
    data, stats = xlsxpatch.apply(pkg, edits, macros=macros, name_edits=name_edits)
    _validated(data, freeze=True)
    safeio.atomic_write(dst, data)
    notes = []
    if ev.external_cells:
        notes.append(f"{len(ev.external_cells)} formulas referring to other workbooks keep their cached values")
    if name_edits:
        notes.append(f"{len(name_edits)} defined names calling the functions replaced by values")
    if stats["macros_dropped"]:
        notes.append("the VBA project was dropped (an .xlsx cannot hold macros; write .xlsm to keep it)")
    if ev.circular:
        notes.append(f"{len(ev.circular)} native formulas in circular references left as they were")
    if sharer is None:
        notes.append(f"function calls frozen as plain values without guards (the workbook could not be read for "
                     f"them: {why})")
    summary = sharer.summary() if sharer else f"{stats['frozen']} function calls replaced by values"
    print(f"wrote {safeio.printable(dst)}: {summary}; "
          f"{stats['cached']} native formulas kept live" + "".join(f"; {n}" for n in notes))
    return 0


def recalc(src: str, dst: str | None, force: bool) -> int:
    from . import engine, xlsxpatch

    if dst:
        safeio.check_output(dst, force)
        macros = _check_output_name(src, dst)
    pkg, ev = _load(src)
    computed = ev.formula_cells - ev.circular - ev.uncomputed
    errors = {k: ev.values.get(k) for k in computed if engine.is_error(ev.values.get(k))}
    if dst:
        edits = {}
        for key in computed - ev.external_cells:
            edits[key] = Edit(ev.values.get(key), KEEP)
            for cell in ev.array_cells.get(key, ()):
                if cell != key:
                    edits[cell] = Edit(ev.values.get(cell), KEEP)
        data, stats = xlsxpatch.apply(pkg, edits, macros=macros)
        _validated(data, freeze=False)
        safeio.atomic_write(dst, data)
        print(f"wrote {safeio.printable(dst)}: {stats['cached']} formulas with cached values")
    line = f"{len(ev.formula_cells)} formulas computed, {len(errors)} with error values"
    if ev.circular:
        line += f", {len(ev.circular)} in circular references (no value)"
    if ev.uncomputed:
        line += f", {len(ev.uncomputed)} could not be computed"
    if ev.external_cells:
        line += f", {len(ev.external_cells)} refer to other workbooks (cached values kept, never followed)"
    if ev.unresolved:
        line += f", {len(ev.unresolved)} call functions that are not Scalesheet's"
    print(line)
    listed = sorted(errors.items()) + [(k, "circular reference") for k in sorted(ev.circular)]
    listed += [(k, "not computed") for k in sorted(ev.uncomputed)]
    listed += [(k, f"calls {v}, not a Scalesheet function") for k, v in sorted(ev.unresolved.items(), key=str)]
    for key, v in listed[:20]:
        print(f"  {safeio.printable(_where(pkg, key), 80)}: {safeio.printable(v, 120)}")
    return 0
