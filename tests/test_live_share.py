"""The share copy stays true: after random edits of its unlocked inputs, recalculated without Python, every
formula cell equals the engine's result for the same edits, or visibly refuses; never a stale value."""

import os

import pytest

from workbook import build, commands, engine, live

from livecheck import apply, classify, edits, formula_cells

SEEDS = [int(s) for s in os.environ.get("SCALESHEET_LIVE_SEEDS", "11,23").split(",")]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    template = root / "Scalesheet.xlsx"
    template.write_bytes(build.build_bytes())
    shared = root / "Shared.xlsx"
    assert commands.share(str(template), str(shared), force=False) == 0
    return root, str(template), str(shared)


def test_share_copy_has_no_python_calls_and_every_call_is_live_or_guarded(pair):
    import openpyxl
    _, template, shared = pair
    book = openpyxl.load_workbook(shared)
    texts = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=")]
    assert not [t for t in texts if engine.uses_udf(t)]
    calls = [c for c in formula_cells(template) if True]
    guarded = [t for t in texts if live.REFUSAL[:20] in t]
    assert len(guarded) > 100
    assert len(texts) >= len(calls)
    # no call became a bare value: a bare value cannot say that its inputs changed (a stale number)
    original = openpyxl.load_workbook(template)
    bare = [(ws.title, c.coordinate) for ws in original.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=") and engine.uses_udf(c.value)
            and not str(book[ws.title][c.coordinate].value or "").startswith("=")]
    assert not bare, bare[:10]


def test_unedited_share_copy_equals_the_template(pair):
    _, template, shared = pair
    cells = formula_cells(template)
    got = classify(cells, engine.calculate(template), engine.calculate(shared))
    assert not got["stale"], got["stale"][:10]
    assert not got["refused"], got["refused"][:10]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_edits_give_equal_or_refused_never_stale(pair, seed):
    root, template, shared = pair
    changes = edits(template, seed, 6)
    t2, s2 = str(root / f"t{seed}.xlsx"), str(root / f"s{seed}.xlsx")
    apply(template, t2, changes)
    apply(shared, s2, changes)
    truth, copy = engine.calculate(t2), engine.calculate(s2)
    base = engine.calculate(template)
    cells = formula_cells(template)
    got = classify(cells, truth, copy)
    assert not got["stale"], (changes, got["stale"][:10])
    moved = [k for k in cells if not (truth.get(k) == base.get(k))]
    assert moved, f"the edits {changes} moved no answer: the test would prove nothing"


def test_native_rewrites_equal_the_functions(tmp_path):
    """Each native rewrite, evaluated by `formulas` for random arguments (some out of range, blank or text),
    equals the Python function, or (outside the domain) falls back to the guard: never another value."""
    import random

    import openpyxl

    import udfs

    class NoGuard:
        def guard(self, *args):
            return None

    rng = random.Random(5)
    cases = []
    pool = [0, -1, 1e-3, 0.15, 2.5, 100, 1600, 3e4, 1e9, 2e15, None, "x", True]
    for name, n in [("PLAN_ROI", 2), ("PLAN_PAYBACK_MONTHS", 2), ("LLM_CHINCHILLA_TOKENS", 1),
                    ("PLAN_BREAKEVEN_HOURS", 5)]:
        for _ in range(40):
            args = [rng.choice(pool) if rng.random() < 0.3 else round(rng.uniform(0.01, 5000), 3) for _ in range(n)]
            cases.append((name, args))
    wb = openpyxl.Workbook()
    ws = wb.active
    letters = "ABCDE"
    for i, (name, args) in enumerate(cases, start=1):
        for j, a in enumerate(args):
            ws.cell(i, j + 1, a)
        text = live.native_rewrite(NoGuard(), ws.title, f"{name}({','.join(f'{letters[j]}{i}' for j in range(len(args)))})",
                                   None)
        assert text and not engine.uses_udf(text), name
        ws.cell(i, 7, "=" + text)
    path = tmp_path / "native.xlsx"
    wb.save(path)
    got = engine.calculate(str(path))
    inside = 0
    for i, (name, args) in enumerate(cases, start=1):
        want = getattr(udfs, name)(*args)
        have = got[(ws.title.upper(), f"G{i}")]
        if isinstance(have, str) and have == live.REFUSAL:
            assert isinstance(want, str) and want.startswith("#"), (name, args, want)
        else:
            inside += 1
            assert have == want or (isinstance(want, float) and abs(have - want) <= 1e-12 * abs(want)), \
                (name, args, want, have)
    assert inside > 60


def _calls_by_character(formula: str):
    """live._calls as first written (one character at a time): the reference the regex scan must equal."""
    from workbook.engine import UDF_CALL

    pos = 0
    while True:
        m = UDF_CALL.search(formula, pos)
        if not m:
            return
        if live._in_string(formula, m.start()):
            pos = m.end()
            continue
        depth, i, args, cur, quoted = 1, m.end(), [], "", False
        while i < len(formula) and depth:
            ch = formula[i]
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch == "(":
                depth += 1
            elif not quoted and ch == ")":
                depth -= 1
                if depth == 0:
                    break
            elif not quoted and ch == "," and depth == 1:
                args.append(cur)
                cur = ""
                i += 1
                continue
            cur += ch
            i += 1
        args.append(cur)
        yield m.group(1).upper(), m.start(), i + 1, [a.strip() for a in args]
        pos = i + 1


def test_calls_are_split_as_one_character_at_a_time_splits_them():
    """The calls and argument texts found by live._calls (the share's sentinels and native rewrites read them)
    on random formulas of calls, strings, parentheses and commas, balanced or not, and on every template formula."""
    import random

    from workbook.engine import UDF_NAMES

    rnd = random.Random(5)
    pieces = ['"', '""', '"a,(b)"', "(", ")", ",", " ", "A1", "B2:C3", "1.5", "x_y", "SUM(", "IF(", "&",
              "LLM_PARAMS(", "plan_roi(", "PLAN_ROI (", "xlwings.LLM_DECODE_TOKPS(", "_xldudf_GPU_SPEC("]
    pieces += [n + "(" for n in rnd.sample(sorted(UDF_NAMES), 8)]
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 25))) for _ in range(4000)]
    from workbook import xlsxpatch

    texts += list(engine._expand_shared(xlsxpatch.Package(build.build_bytes())).values())
    found = 0
    for t in texts:
        expected = list(_calls_by_character(t))
        assert list(live._calls(t)) == expected, t
        found += len(expected)
    assert found > 2000
