"""One module per sheet; each has TITLES (its tab names) and build(wb)."""
