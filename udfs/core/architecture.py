"""A transformer's architecture as numpy arrays, so one object can describe a whole column of models.

Every numeric field is a float64 array of the same shape (one element per row of a scenario column).
Booleans are stored as 0/1 floats so that formulas stay plain arithmetic. Build one from catalog rows
(:func:`from_records`) or from a user's field/value mapping (:func:`from_mapping`, the two-row Excel range).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields

import numpy as np

from .errors import ScalesheetError

FFN_TYPES = {"swiglu": 1.0, "geglu": 1.0, "gelu": 0.0, "relu": 0.0}  # value: gated (3 matrices) or not
NORM_TYPES = {"rmsnorm": 1.0, "layernorm": 2.0}  # value: parameters per channel (weight, +bias)
POS_TYPES = {"rope": 0.0, "alibi": 0.0, "learned": 1.0}  # value: learned position table present
TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}


@dataclass(frozen=True)
class Architecture:
    """Architecture fields as arrays (see models.csv for the meaning and source of each)."""

    name: np.ndarray
    n_layers: np.ndarray
    d_model: np.ndarray
    n_heads: np.ndarray
    n_kv_heads: np.ndarray
    head_dim: np.ndarray
    d_ff: np.ndarray
    vocab_size: np.ndarray
    max_context: np.ndarray
    gated_ffn: np.ndarray
    norm_width: np.ndarray
    norms_per_layer: np.ndarray
    qkv_bias: np.ndarray
    o_bias: np.ndarray
    mlp_bias: np.ndarray
    lm_head_bias: np.ndarray
    tied_embeddings: np.ndarray
    learned_positions: np.ndarray
    n_experts: np.ndarray
    experts_per_token: np.ndarray
    d_ff_expert: np.ndarray
    n_shared_experts: np.ndarray
    d_ff_shared_expert: np.ndarray
    shared_expert_gate: np.ndarray
    first_dense_layers: np.ndarray
    sliding_window: np.ndarray
    sliding_window_layers: np.ndarray
    # Derived arrays computed once per architecture (params.param_breakdown); gathered along with the rows.
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    def take(self, index) -> "Architecture":
        """Gather rows (numpy fancy indexing) of every field, and of any derived arrays already computed."""
        out = Architecture(**{f.name: getattr(self, f.name)[index] for f in fields(self) if f.name != "cache"})
        for key, parts in self.cache.items():
            out.cache[key] = {k: np.asarray(v)[index] for k, v in parts.items()}
        return out

    @property
    def shape(self):
        return self.n_layers.shape

    @property
    def d_attn(self) -> np.ndarray:
        """Width of the attention (query) projection, n_heads x head_dim."""
        return self.n_heads * self.head_dim

    @property
    def is_moe(self) -> np.ndarray:
        return self.n_experts > 0


NUMERIC_FIELDS = [
    "n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff", "vocab_size", "max_context",
    "norms_per_layer", "n_experts", "experts_per_token", "d_ff_expert", "n_shared_experts",
    "d_ff_shared_expert", "first_dense_layers", "sliding_window", "sliding_window_layers",
]
BOOL_FIELDS = ["qkv_bias", "o_bias", "mlp_bias", "lm_head_bias", "tied_embeddings", "shared_expert_gate"]
CHOICE_FIELDS = {"ffn_type": FFN_TYPES, "norm_type": NORM_TYPES, "pos_embedding": POS_TYPES}
REQUIRED_FIELDS = ["n_layers", "d_model", "n_heads", "vocab_size"]
# Informational columns of the Models sheet/catalog that a range may carry; they are not used in formulas.
INFO_FIELDS = {
    "name", "aliases", "display_name", "family", "hf_model_type", "official_params",
    "official_active_params", "params_source", "config_source", "as_of", "notes", "source",
}
ALL_FIELDS = set(NUMERIC_FIELDS) | set(BOOL_FIELDS) | set(CHOICE_FIELDS) | INFO_FIELDS

# Defaults for a user-supplied range that leaves a field out (documented in docs/methodology.md):
# a GPT-2-style dense decoder: multi-head attention, 4x GELU MLP, two LayerNorms, no biases, RoPE.
DEFAULTS = {
    "ffn_type": "gelu", "norm_type": "layernorm", "norms_per_layer": 2, "pos_embedding": "rope",
    "max_context": 2048, "qkv_bias": False, "o_bias": False, "mlp_bias": False, "lm_head_bias": False,
    "tied_embeddings": False, "n_experts": 0, "experts_per_token": 0, "d_ff_expert": 0,
    "n_shared_experts": 0, "d_ff_shared_expert": 0, "shared_expert_gate": False, "first_dense_layers": 0,
    "sliding_window": 0, "sliding_window_layers": 0,
}


def parse_bool(value, field: str, argument: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return float(value)
    text = str(value).strip().lower() if value is not None else ""
    if text in TRUE_WORDS:
        return 1.0
    if text in FALSE_WORDS:
        return 0.0
    raise ScalesheetError(argument, f"field {field} must be TRUE or FALSE; got {value!r}")


def parse_number(value, field: str, argument: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ScalesheetError(argument, f"field {field} must be a whole number >= {minimum:g}; got {value}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ScalesheetError(argument, f"field {field} must be a whole number >= {minimum:g}; got {value!r}")
    if not np.isfinite(x) or x < minimum or x != int(x) or x > 1e12:
        raise ScalesheetError(argument, f"field {field} must be a whole number >= {minimum:g}; got {value!r}")
    return x


def parse_choice(value, field: str, argument: str) -> float:
    table = CHOICE_FIELDS[field]
    key = str(value).strip().lower() if value is not None else ""
    if key not in table:
        raise ScalesheetError(argument, f"field {field} must be one of {', '.join(table)}; got {value!r}")
    return table[key]


def record_to_numbers(record: dict, argument: str = "model") -> dict:
    """Validate one model's fields (catalog row or user range) and return the Architecture scalars.

    Unknown field names are rejected with the closest known name; missing optional fields take DEFAULTS;
    head_dim defaults to d_model / n_heads, n_kv_heads to n_heads, d_ff to 4 x d_model.
    """
    rec = {}
    for key, value in record.items():
        if key is None or (isinstance(key, str) and not key.strip()):
            continue
        k = str(key).strip().lower()
        if k not in ALL_FIELDS:
            close = difflib.get_close_matches(k, sorted(ALL_FIELDS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ScalesheetError(argument, f"unknown model field '{key}'{hint}")
        rec[k] = value
    blank = lambda v: v is None or (isinstance(v, str) and not v.strip())  # noqa: E731
    for req in REQUIRED_FIELDS:
        if blank(rec.get(req)):
            raise ScalesheetError(argument, f"field {req} is missing; a model range needs "
                                            f"{', '.join(REQUIRED_FIELDS)} (and usually d_ff, n_kv_heads)")
    out = {"name": str(rec.get("name") or "custom")}
    for f in ["n_layers", "d_model", "n_heads", "vocab_size"]:
        out[f] = parse_number(rec[f], f, argument, minimum=1)
    out["n_kv_heads"] = out["n_heads"] if blank(rec.get("n_kv_heads")) else parse_number(
        rec["n_kv_heads"], "n_kv_heads", argument, minimum=1)
    if blank(rec.get("head_dim")):
        out["head_dim"] = out["d_model"] / out["n_heads"]
        if out["head_dim"] != int(out["head_dim"]):
            raise ScalesheetError(argument, "field head_dim is missing and d_model / n_heads is not whole; "
                                            "give head_dim")
    else:
        out["head_dim"] = parse_number(rec["head_dim"], "head_dim", argument, minimum=1)
    out["d_ff"] = 4 * out["d_model"] if blank(rec.get("d_ff")) else parse_number(rec["d_ff"], "d_ff", argument)
    for f in ["max_context", "norms_per_layer", "n_experts", "experts_per_token", "d_ff_expert",
              "n_shared_experts", "d_ff_shared_expert", "first_dense_layers", "sliding_window",
              "sliding_window_layers"]:
        v = rec.get(f)
        out[f] = float(DEFAULTS[f]) if blank(v) else parse_number(v, f, argument)
    for f in BOOL_FIELDS:
        v = rec.get(f)
        out[f] = float(DEFAULTS[f]) if blank(v) else parse_bool(v, f, argument)
    for f in CHOICE_FIELDS:
        v = rec.get(f)
        out[f] = parse_choice(DEFAULTS[f] if blank(v) else v, f, argument)
    _check_consistency(out, argument)
    return out


def _check_consistency(o: dict, argument: str) -> None:
    if o["n_kv_heads"] > o["n_heads"]:
        raise ScalesheetError(argument, "field n_kv_heads must be <= n_heads")
    if o["n_experts"] > 0:
        if not 1 <= o["experts_per_token"] <= o["n_experts"]:
            raise ScalesheetError(argument, "field experts_per_token must be between 1 and n_experts")
        if o["d_ff_expert"] <= 0:
            raise ScalesheetError(argument, "field d_ff_expert must be > 0 for a mixture-of-experts model")
    if o["first_dense_layers"] > o["n_layers"]:
        raise ScalesheetError(argument, "field first_dense_layers must be <= n_layers")
    if o["sliding_window_layers"] > o["n_layers"]:
        raise ScalesheetError(argument, "field sliding_window_layers must be <= n_layers")
    if o["sliding_window_layers"] > 0 and o["sliding_window"] <= 0:
        raise ScalesheetError(argument, "field sliding_window must be > 0 when sliding_window_layers > 0")


def from_numbers(rows: list[dict]) -> Architecture:
    """Stack validated rows (from :func:`record_to_numbers`) into one Architecture of 1-D arrays."""
    cols = {}
    for f in fields(Architecture):
        if f.name == "cache":
            continue
        if f.name == "name":
            cols["name"] = np.array([r["name"] for r in rows], dtype=object)
        elif f.name == "gated_ffn":
            cols[f.name] = np.array([r["ffn_type"] for r in rows], dtype=np.float64)
        elif f.name == "norm_width":
            cols[f.name] = np.array([r["norm_type"] for r in rows], dtype=np.float64)
        elif f.name == "learned_positions":
            cols[f.name] = np.array([r["pos_embedding"] for r in rows], dtype=np.float64)
        else:
            cols[f.name] = np.array([r[f.name] for r in rows], dtype=np.float64)
    return Architecture(**cols)


def from_mapping(record: dict, argument: str = "model") -> Architecture:
    """One model (0-d arrays) from a field -> value mapping such as a two-row Excel range."""
    return from_numbers([record_to_numbers(record, argument)]).take(0)
