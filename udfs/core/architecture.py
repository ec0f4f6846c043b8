"""A transformer's architecture as numpy arrays, so one object can describe a whole column of models.

Every numeric field is a float64 array of the same shape (one element per row of a scenario column).
Booleans are stored as 0/1 floats so that formulas stay plain arithmetic. Build one from catalog rows
(:func:`from_records`) or from a user's field/value mapping (:func:`from_mapping`, the two-row Excel range).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields

import numpy as np

from . import layers
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
    # The per-layer stack (layers.py): how many layers hold each mixer and MLP kind.
    n_attn_full: np.ndarray
    n_attn_sliding: np.ndarray
    n_attn_chunked: np.ndarray
    n_mla: np.ndarray
    n_linear_attn: np.ndarray
    n_mamba: np.ndarray
    n_mlp_dense: np.ndarray
    n_mlp_moe: np.ndarray
    attention_chunk: np.ndarray
    qk_norm: np.ndarray
    qk_norm_full_width: np.ndarray
    index_heads: np.ndarray
    moe_latent_dim: np.ndarray
    index_head_dim: np.ndarray
    attn_sinks: np.ndarray
    attn_output_gate: np.ndarray
    global_head_dim: np.ndarray
    global_kv_heads: np.ndarray
    global_k_eq_v: np.ndarray
    router_scales: np.ndarray
    router_bias: np.ndarray
    q_lora_rank: np.ndarray
    kv_lora_rank: np.ndarray
    qk_nope_head_dim: np.ndarray
    qk_rope_head_dim: np.ndarray
    v_head_dim: np.ndarray
    linear_k_heads: np.ndarray
    linear_v_heads: np.ndarray
    linear_k_head_dim: np.ndarray
    linear_v_head_dim: np.ndarray
    linear_conv_kernel: np.ndarray
    mamba_version: np.ndarray
    mamba_d_inner: np.ndarray
    mamba_d_state: np.ndarray
    mamba_heads: np.ndarray
    mamba_groups: np.ndarray
    mamba_conv_kernel: np.ndarray
    mamba_dt_rank: np.ndarray
    mamba_conv_bias: np.ndarray
    mamba_proj_bias: np.ndarray
    mamba_norm: np.ndarray
    vision_params: np.ndarray
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

    @property
    def n_attention_layers(self) -> np.ndarray:
        """Layers with a softmax-attention mixer of any span (full, sliding, chunked, MLA)."""
        return self.n_attn_full + self.n_attn_sliding + self.n_attn_chunked + self.n_mla


NUMERIC_FIELDS = [
    "n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff", "vocab_size", "max_context",
    "norms_per_layer", "n_experts", "experts_per_token", "d_ff_expert", "n_shared_experts",
    "d_ff_shared_expert", "first_dense_layers", "sliding_window", "sliding_window_layers",
    "attention_chunk", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
    "linear_k_heads", "linear_v_heads", "linear_k_head_dim", "linear_v_head_dim", "linear_conv_kernel",
    "mamba_version", "mamba_d_inner", "mamba_d_state", "mamba_heads", "mamba_groups", "mamba_conv_kernel",
    "mamba_dt_rank", "vision_params", "index_heads", "index_head_dim",
    "moe_latent_dim", "global_head_dim", "global_kv_heads",
]
BOOL_FIELDS = ["qkv_bias", "o_bias", "mlp_bias", "lm_head_bias", "tied_embeddings", "shared_expert_gate",
               "qk_norm", "qk_norm_full_width", "attn_sinks", "attn_output_gate", "global_k_eq_v", "router_scales", "router_bias", "mamba_conv_bias", "mamba_proj_bias",
               "mamba_norm"]
PATTERN_FIELDS = ["mixer_pattern", "mlp_pattern"]
COUNT_FIELDS = ["n_attn_full", "n_attn_sliding", "n_attn_chunked", "n_mla", "n_linear_attn", "n_mamba",
                "n_mlp_dense", "n_mlp_moe"]
CHOICE_FIELDS = {"ffn_type": FFN_TYPES, "norm_type": NORM_TYPES, "pos_embedding": POS_TYPES}
REQUIRED_FIELDS = ["n_layers", "d_model", "n_heads", "vocab_size"]
# Informational columns of the Models sheet/catalog that a range may carry; they are not used in formulas.
INFO_FIELDS = {
    "name", "aliases", "display_name", "family", "hf_model_type", "official_params",
    "official_active_params", "params_source", "config_source", "as_of", "notes", "source",
}
INFO_FIELDS |= {"official_vision_params", "total_params", "active_params", "vision_note"}
ALL_FIELDS = set(NUMERIC_FIELDS) | set(BOOL_FIELDS) | set(CHOICE_FIELDS) | set(PATTERN_FIELDS) | INFO_FIELDS

# Defaults for a user-supplied range that leaves a field out (documented in docs/methodology.md):
# a GPT-2-style dense decoder: multi-head attention, 4x GELU MLP, two LayerNorms, no biases, RoPE.
DEFAULTS = {
    "ffn_type": "gelu", "norm_type": "layernorm", "norms_per_layer": 2, "pos_embedding": "rope",
    "max_context": 2048, "qkv_bias": False, "o_bias": False, "mlp_bias": False, "lm_head_bias": False,
    "tied_embeddings": False, "n_experts": 0, "experts_per_token": 0, "d_ff_expert": 0,
    "n_shared_experts": 0, "d_ff_shared_expert": 0, "shared_expert_gate": False, "first_dense_layers": 0,
    "sliding_window": 0, "sliding_window_layers": 0, "attention_chunk": 0, "qk_norm": False,
    "attn_sinks": False, "attn_output_gate": False, "router_bias": False, "q_lora_rank": 0, "kv_lora_rank": 0,
    "qk_nope_head_dim": 0, "qk_rope_head_dim": 0, "v_head_dim": 0, "linear_k_heads": 0, "linear_v_heads": 0,
    "linear_k_head_dim": 0, "linear_v_head_dim": 0, "linear_conv_kernel": 4, "mamba_version": 2,
    "mamba_d_inner": 0, "mamba_d_state": 0, "mamba_heads": 0, "mamba_groups": 1, "mamba_conv_kernel": 4,
    "mamba_dt_rank": 0, "mamba_conv_bias": True, "mamba_proj_bias": False, "mamba_norm": True,
    "vision_params": 0, "qk_norm_full_width": False, "index_heads": 0, "index_head_dim": 0,
    "moe_latent_dim": 0, "global_head_dim": 0, "global_kv_heads": 0, "global_k_eq_v": False,
    "router_scales": False,
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
    for f in NUMERIC_FIELDS[7:]:
        v = rec.get(f)
        out[f] = float(DEFAULTS[f]) if blank(v) else parse_number(v, f, argument)
    for f in BOOL_FIELDS:
        v = rec.get(f)
        out[f] = float(DEFAULTS[f]) if blank(v) else parse_bool(v, f, argument)
    for f in CHOICE_FIELDS:
        v = rec.get(f)
        out[f] = parse_choice(DEFAULTS[f] if blank(v) else v, f, argument)
    _layer_stack(out, rec.get("mixer_pattern"), rec.get("mlp_pattern"), argument)
    _check_consistency(out, argument)
    return out


def _layer_stack(o: dict, mixer_pattern, mlp_pattern, argument: str) -> None:
    """Counts of each layer kind (layers.py) from the patterns, or from the older model-wide fields."""
    L = int(o["n_layers"])
    # Excel's INDEX of a blank catalog cell gives 0: a pattern of 0 means blank, as an empty cell does.
    mixer_pattern, mlp_pattern = (None if str(p).strip() in ("0", "0.0") else p for p in (mixer_pattern, mlp_pattern))
    if mixer_pattern is None or not str(mixer_pattern).strip():
        if o["sliding_window_layers"] > L:
            raise ScalesheetError(argument, "field sliding_window_layers must be <= n_layers")
        sliding = int(o["sliding_window_layers"])
        mixers = "A" * (L - sliding) + "S" * sliding
    else:
        mixers = layers.expand(mixer_pattern, L, layers.MIXERS, "mixer_pattern", argument)
    if mlp_pattern is None or not str(mlp_pattern).strip():
        if o["first_dense_layers"] > L:
            raise ScalesheetError(argument, "field first_dense_layers must be <= n_layers")
        dense = L if o["n_experts"] == 0 else int(o["first_dense_layers"])
        mlps = "D" * dense + "E" * (L - dense)
    else:
        mlps = layers.expand(mlp_pattern, L, layers.MLPS, "mlp_pattern", argument)
    o.update({k: float(v) for k, v in layers.layer_counts(mixers, mlps).items()})
    # Keep the model-wide summary fields consistent with the stack (older formulas and sheets read them).
    o["sliding_window_layers"] = o["n_attn_sliding"]
    if o["global_head_dim"] == 0:  # full-attention layers share the other layers' shapes unless given
        o["global_head_dim"] = o["head_dim"]
    if o["global_kv_heads"] == 0:
        o["global_kv_heads"] = o["n_kv_heads"]
    if o["n_mlp_moe"] and o["n_experts"] == 0:
        raise ScalesheetError(argument, "field mlp_pattern has MoE layers (E) but n_experts is 0")
    if o["n_experts"] > 0 and not o["n_mlp_moe"]:
        raise ScalesheetError(argument, "field n_experts > 0 but mlp_pattern has no MoE layer (E)")
    o["first_dense_layers"] = float(len(mlps) - len(mlps.lstrip("D"))) if o["n_experts"] > 0 else 0.0
    if o["global_kv_heads"] > o["n_heads"]:
        raise ScalesheetError(argument, "field global_kv_heads must be <= n_heads")


def _check_consistency(o: dict, argument: str) -> None:
    if o["n_kv_heads"] > o["n_heads"]:
        raise ScalesheetError(argument, "field n_kv_heads must be <= n_heads")
    if o["n_experts"] > 0:
        if not 1 <= o["experts_per_token"] <= o["n_experts"]:
            raise ScalesheetError(argument, "field experts_per_token must be between 1 and n_experts")
        if o["d_ff_expert"] <= 0:
            raise ScalesheetError(argument, "field d_ff_expert must be > 0 for a mixture-of-experts model")
    needs = [
        ("n_attn_sliding", "sliding_window", "sliding-window layers (S)"),
        ("n_attn_chunked", "attention_chunk", "chunked-attention layers (C)"),
        ("n_mla", "kv_lora_rank", "MLA layers (L)"), ("n_mla", "qk_rope_head_dim", "MLA layers (L)"),
        ("n_mla", "v_head_dim", "MLA layers (L)"),
        ("n_linear_attn", "linear_k_heads", "linear-attention layers (D)"),
        ("n_linear_attn", "linear_v_heads", "linear-attention layers (D)"),
        ("n_linear_attn", "linear_k_head_dim", "linear-attention layers (D)"),
        ("n_linear_attn", "linear_v_head_dim", "linear-attention layers (D)"),
        ("n_mamba", "mamba_d_inner", "Mamba layers (M, H)"), ("n_mamba", "mamba_d_state", "Mamba layers (M, H)"),
    ]
    for count, f, what in needs:
        if o[count] > 0 and o[f] <= 0:
            raise ScalesheetError(argument, f"field {f} must be > 0 for a model with {what}")
    if o["n_mamba"] > 0:
        if o["mamba_version"] not in (1, 2):
            raise ScalesheetError(argument, "field mamba_version must be 1 or 2")
        if o["mamba_version"] == 2 and (o["mamba_heads"] <= 0 or o["mamba_d_inner"] % o["mamba_heads"]):
            raise ScalesheetError(argument, "field mamba_heads must be > 0 and divide mamba_d_inner (Mamba-2)")
        if o["mamba_version"] == 1 and o["mamba_dt_rank"] <= 0:
            o["mamba_dt_rank"] = float(-(-o["d_model"] // 16))  # Mamba-1 default dt_rank = ceil(d / 16)


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


_SOURCES = {"gated_ffn": "ffn_type", "norm_width": "norm_type", "learned_positions": "pos_embedding"}


def one_from_numbers(row: dict) -> Architecture:
    """``from_numbers([row]).take(0)`` without a one-row array per field: every numeric field converted in one
    float64 array (numpy converts each value as it would in a one-item array), its items (np.float64) as the
    fields. The same record, field for field and bit for bit (tests/test_udf_recalc_fast.py)."""
    names = [f.name for f in fields(Architecture) if f.name not in ("cache", "name")]
    try:
        values = np.array([row[_SOURCES.get(n, n)] for n in names], dtype=np.float64)
    except (ValueError, TypeError):
        values = None
    if values is None or values.shape != (len(names),):
        return from_numbers([row]).take(0)
    out = dict(zip(names, values))
    out["name"] = np.array([row["name"]], dtype=object)[0]
    return Architecture(**out)


_MAPPING_MEMO: dict = {}  # (argument, ((field, type, value), ...)) -> Architecture; the last 512 mappings
_MAPPING_MEMO_SIZE = 512


def from_mapping(record: dict, argument: str = "model") -> Architecture:
    """One model (0-d arrays) from a field -> value mapping such as a two-row Excel range.

    A mapping seen before (same fields, values and value types) gives the same record again: Excel passes
    a model range to every cell that uses it, and validating it is most of such a cell's time."""
    try:
        key = (argument, tuple((k, type(v), v) for k, v in record.items()))
        hit = _MAPPING_MEMO.get(key)
    except TypeError:  # an unhashable value: validate it every time
        key = hit = None
    if hit is not None:
        return hit
    out = one_from_numbers(record_to_numbers(record, argument))
    if key is not None:
        if len(_MAPPING_MEMO) >= _MAPPING_MEMO_SIZE:
            _MAPPING_MEMO.pop(next(iter(_MAPPING_MEMO)))
        _MAPPING_MEMO[key] = out
    return out
