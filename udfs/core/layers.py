"""The per-layer description of a model: which mixer and which MLP each layer has.

A model is a stack of ``n_layers`` layers. Each layer has one *mixer* (the part that mixes tokens) and one
*MLP* (the per-token feed-forward part); either may be absent (Nemotron-H's blocks are a mixer alone or an
MLP alone). The catalog and a user's Excel range describe the stack with two compact pattern strings:

    mixer_pattern letters   A  full (global) attention          S  sliding-window attention (window)
                            C  chunked attention (chunk)          L  multi-head latent attention (MLA)
                            D  linear attention (Gated DeltaNet)  M  Mamba (mamba_version 1 or 2)
                            H  attention and Mamba in parallel (Falcon-H1)
                            -  no mixer
    mlp_pattern letters     D  dense MLP (width d_ff)             E  mixture of experts
                            B  both in parallel (Gemma 4)         -  no MLP

Grammar: items separated by spaces or commas; an item is a letter or a parenthesised group, optionally
preceded by a repeat count: ``3D 58E`` (DeepSeek-V3: three dense layers, then 58 MoE layers),
``5S A`` (Gemma 3: five sliding, one global), ``2(CCCA)``. If the expanded pattern is shorter than
``n_layers`` it repeats from its start until there are ``n_layers`` layers, as configs define periodic
layouts (Gemma 3's ``sliding_window_pattern``, gpt-oss's alternating ``layer_types``); longer is an error.
A blank pattern means: every layer attention (the last ``sliding_window_layers`` of them sliding) and
every layer an MLP (MoE after ``first_dense_layers`` dense layers when ``n_experts > 0``).

The formulas never loop over layers: layers of one kind have identical shapes, so a sum over the per-layer
list is the count of each kind times that kind's per-layer term. :func:`layer_counts` gives those counts.
"""

from __future__ import annotations

import re

from .errors import ScalesheetError

MIXERS = {
    "A": "full attention", "S": "sliding-window attention", "C": "chunked attention",
    "L": "multi-head latent attention (MLA)", "D": "linear attention (Gated DeltaNet)", "M": "Mamba",
    "H": "attention + Mamba in parallel", "-": "no mixer",
}
MLPS = {"D": "dense MLP", "E": "mixture of experts", "B": "dense MLP and mixture of experts in parallel",
        "-": "no MLP"}
MAX_PATTERN_CHARS = 4096  # a pattern is at most a few hundred characters; bounds parsing work on bad input
_TOKEN = re.compile(r"\s*(\d*)\s*([A-Za-z\-]|\()")


def expand(pattern: str, n_layers: int, letters: dict, field: str, argument: str) -> str:
    """The per-layer list (one letter per layer) that ``pattern`` describes for ``n_layers`` layers."""
    text = str(pattern).strip().replace(",", " ")
    if len(text) > MAX_PATTERN_CHARS:
        raise ScalesheetError(argument, f"field {field} is longer than {MAX_PATTERN_CHARS} characters")
    unit, pos = _parse(text, 0, letters, field, argument, n_layers)
    if pos != len(text):
        raise ScalesheetError(argument, f"field {field}: unexpected {text[pos]!r} at position {pos + 1}")
    if not unit:
        raise ScalesheetError(argument, f"field {field} is empty")
    if len(unit) > n_layers:
        raise ScalesheetError(argument, f"field {field} describes {len(unit)} layers but n_layers is {n_layers}")
    return (unit * (n_layers // len(unit) + 1))[:n_layers]


def _parse(text, pos, letters, field, argument, limit, depth=0):
    out = []
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        if text[pos] == ")":
            if depth == 0:
                raise ScalesheetError(argument, f"field {field}: unmatched ')' at position {pos + 1}")
            return "".join(out), pos
        m = _TOKEN.match(text, pos)
        if not m:
            raise ScalesheetError(argument, f"field {field}: unexpected {text[pos]!r} at position {pos + 1}; "
                                            f"letters are {', '.join(letters)}")
        count = int(m.group(1)) if m.group(1) else 1
        pos = m.end()
        if m.group(2) == "(":
            inner, pos = _parse(text, pos, letters, field, argument, limit, depth + 1)
            if pos >= len(text) or text[pos] != ")":
                raise ScalesheetError(argument, f"field {field}: '(' is never closed")
            pos += 1
            piece = inner
        else:
            letter = m.group(2).upper()
            if letter not in letters:
                raise ScalesheetError(argument, f"field {field}: {m.group(2)!r} is not a layer kind; use "
                                                + ", ".join(f"{k} ({v})" for k, v in letters.items()))
            piece = letter
        if count * len(piece) > limit:
            raise ScalesheetError(argument, f"field {field} describes more layers than n_layers ({limit})")
        out.append(piece * count)
        if sum(map(len, out)) > limit:
            raise ScalesheetError(argument, f"field {field} describes more layers than n_layers ({limit})")
    if depth:
        raise ScalesheetError(argument, f"field {field}: '(' is never closed")
    return "".join(out), pos


def compress(layers: str) -> str:
    """A short pattern for a per-layer list: its shortest repeating unit, run-length encoded
    (``SASASA`` -> ``SA``; ``DDDEEEE`` -> ``3D 4E``). ``expand(compress(x), len(x)) == x``."""
    n = len(layers)
    for size in range(1, n + 1):
        unit = layers[:size]
        if (unit * (n // size + 1))[:n] == layers:
            break
    runs = re.findall(r"((.)\2*)", unit)
    return " ".join(run if len(run) == 1 else f"{len(run)}{ch}" for run, ch in runs)


def layer_counts(mixers: str, mlps: str) -> dict[str, int]:
    """How many layers contain each mixer and MLP kind (H counts as both attention and Mamba, B as both a
    dense MLP and a mixture of experts)."""
    return {
        "n_attn_full": mixers.count("A") + mixers.count("H"),
        "n_attn_sliding": mixers.count("S"),
        "n_attn_chunked": mixers.count("C"),
        "n_mla": mixers.count("L"),
        "n_linear_attn": mixers.count("D"),
        "n_mamba": mixers.count("M") + mixers.count("H"),
        "n_mlp_dense": mlps.count("D") + mlps.count("B"),
        "n_mlp_moe": mlps.count("E") + mlps.count("B"),
    }
