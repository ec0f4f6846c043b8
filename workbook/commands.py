"""The workbook commands of the CLI: build, share, recalc."""

from __future__ import annotations

import os
import sys

from udfs.core.errors import ScalesheetError

from . import safeio

DEFAULT_TEMPLATE = os.path.join("templates", "Scalesheet.xlsx")


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
    if os.path.exists(path):
        with open(path, "rb") as fh:
            if fh.read() == data:
                print(f"{path} is up to date")
                return 0
        if not force:
            raise ScalesheetError("output", f"{path} exists and differs from this build; pass --force to replace it")
    safeio.atomic_write(path, data)
    print(f"wrote {path} ({len(data):,} bytes)")
    return 0


def _evaluate(path: str):
    from . import engine

    safeio.check_xlsx(path)
    try:
        return engine.calculate(path)
    except ScalesheetError:
        raise
    except Exception as exc:  # the formula engine failed on this workbook: say so in one line
        raise ScalesheetError("input", f"{path} could not be evaluated: {type(exc).__name__}: {str(exc)[:200]}")


def share(src: str, dst: str, force: bool) -> int:
    from . import xlsxpatch

    safeio.check_xlsx(src)
    if safeio.same_file(src, dst):
        raise ScalesheetError("output", "must differ from the input; the input is never modified")
    safeio.refuse_overwrite(dst, force)
    values = _evaluate(src)
    with open(src, "rb") as fh:
        data, stats = xlsxpatch.rewrite(fh.read(), values, freeze_udfs=True)
    safeio.atomic_write(dst, data)
    print(f"wrote {dst}: {stats['frozen']} function calls replaced by values, "
          f"{stats['cached']} native formulas kept live")
    return 0


def recalc(src: str, dst: str | None, force: bool) -> int:
    from . import engine, xlsxpatch

    values = _evaluate(src)
    with open(src, "rb") as fh:
        formula_cells = xlsxpatch.formula_cells(fh.read())
    errors = {k: values.get(k) for k in formula_cells if engine.is_error(values.get(k))}
    if dst:
        if safeio.same_file(src, dst):
            raise ScalesheetError("output", "must differ from the input; the input is never modified")
        safeio.refuse_overwrite(dst, force)
        with open(src, "rb") as fh:
            data, stats = xlsxpatch.rewrite(fh.read(), values, freeze_udfs=False, drop_macros=False)
        safeio.atomic_write(dst, data)
        print(f"wrote {dst}: {stats['cached']} formulas with cached values")
    print(f"{len(formula_cells)} formulas computed, {len(errors)} with error values")
    for (sheet, cell), v in sorted(errors.items())[:20]:
        print(f"  {sheet}!{cell}: {v}", file=sys.stdout)
    return 0
