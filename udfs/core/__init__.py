"""Scalesheet's calculation core: pure numpy, no Excel, no files written, no printing.

One module per concept: architecture -> params -> memory -> flops -> training -> speed -> sizing ->
economics; catalogs in :mod:`catalog`; the one error type in :mod:`errors`; the façade used by the Excel
adapter and the CLI in :mod:`api`.
"""

from .errors import ScalesheetError  # noqa: F401
