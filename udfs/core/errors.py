"""The one error type of the core.

Every bad input raises :class:`ScalesheetError` naming the argument and what is allowed. The Excel adapter
turns it into ``#argument: message`` text; the CLI turns it into exit status 2 and one line on stderr.
"""

from __future__ import annotations


class ScalesheetError(ValueError):
    """Bad input: ``argument`` names the offending argument, ``message`` says what is allowed."""

    def __init__(self, argument: str, message: str):
        self.argument = argument
        self.message = message
        super().__init__(f"{argument}: {message}")

    def excel_text(self) -> str:
        """The text Excel shows in the cell: ``#argument: message``."""
        return f"#{self.argument}: {self.message}"
