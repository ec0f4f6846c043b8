"""Per-combination constants for the hot Excel functions (filled in after the per-layer core lands)."""

PLANS: dict = {}


def clear_caches() -> None:
    pass
