"""Placeholder (being written)."""

TITLES = []


def build(wb) -> None:
    return None
