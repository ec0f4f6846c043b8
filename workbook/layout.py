"""Declarative sheet layout after the FAST standard.

A sheet is written top to bottom as rows of (label, value or formula, unit, note). Inputs get the
built-in "Input" style, are unlocked, carry a defined name and a data validation with its prompt;
formulas get "Calculation" (workings) or "Output" (answers); notes say where each figure comes from.
The layout never computes a number itself: every computed cell is an Excel formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.utils import get_column_letter, quote_sheetname

# Number formats a planner reads (units live in their own column).
GIB = "#,##0.0"
GIB2 = "#,##0.00"
COUNT = "#,##0"
BIG = "0.00E+00"
MONEY = "#,##0"
MONEY2 = "#,##0.00"
MONEY4 = "#,##0.0000"
PCT = "0.0%"
RATIO = "0.00\"x\""
SECONDS = "#,##0.000"
RATE = "#,##0.0"
GENERAL = "General"

HEADER_FILL = PatternFill("solid", fgColor="1F3864")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14, color="1F3864")
SECTION_FONT = Font(bold=True, size=11, color="1F3864")
SUBTITLE_FONT = Font(italic=True, color="595959")
FIELD_FONT = Font(size=8, color="7F7F7F")
WRAP = Alignment(wrap_text=True, vertical="top")


def define(wb, name: str, sheet_title: str, ref: str) -> None:
    """Workbook-level defined name for an absolute reference such as $C$5 or $A$4:$A$500."""
    wb.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheetname(sheet_title)}!{ref}")


def absolute(col: int, row: int) -> str:
    return f"${get_column_letter(col)}${row}"


@dataclass
class Writer:
    """Writes one sheet: columns A label, B value, C unit, D note (by default)."""

    wb: object
    title: str
    widths: dict = field(default_factory=lambda: {"A": 44, "B": 18, "C": 16, "D": 90})
    row: int = 1

    def __post_init__(self):
        self.ws = self.wb.create_sheet(self.title)
        for col, w in self.widths.items():
            self.ws.column_dimensions[col].width = w
        self.ws.sheet_view.showGridLines = False
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.ws.print_options.gridLines = False

    # ----------------------------------------------------------------------------------- text rows
    def heading(self, title: str, subtitle: str = "") -> None:
        self.ws.cell(self.row, 1, title).font = TITLE_FONT
        self.row += 1
        if subtitle:
            c = self.ws.cell(self.row, 1, subtitle)
            c.font = SUBTITLE_FONT
            self.row += 1
        self.row += 1

    def section(self, text: str, note: str = "") -> None:
        self.row += 1 if self.row > 4 else 0
        self.ws.cell(self.row, 1, text).font = SECTION_FONT
        if note:
            c = self.ws.cell(self.row, 4 if self.ws.max_column >= 4 else 2, note)
            c.font = SUBTITLE_FONT
        self.row += 1

    def header(self, names: list[str], start_col: int = 1) -> int:
        for i, n in enumerate(names):
            c = self.ws.cell(self.row, start_col + i, n)
            c.fill, c.font = HEADER_FILL, HEADER_FONT
            c.alignment = Alignment(wrap_text=True, vertical="center")
        r = self.row
        self.row += 1
        return r

    def text(self, label: str, note: str = "", *, bold: bool = False) -> None:
        c = self.ws.cell(self.row, 1, label)
        c.alignment = WRAP
        if bold:
            c.font = Font(bold=True)
        if note:
            n = self.ws.cell(self.row, 2, note)
            n.alignment = WRAP
        self.row += 1

    def paragraph(self, text: str, width_cols: int = 4, height: float | None = None) -> None:
        c = self.ws.cell(self.row, 1, text)
        c.alignment = WRAP
        self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=width_cols)
        if height:
            self.ws.row_dimensions[self.row].height = height
        self.row += 1

    # ----------------------------------------------------------------------------------- cells
    def input(self, label: str, name: str, value, unit: str, note: str, fmt: str = GENERAL,
              validation: DataValidation | None = None, col: int = 2) -> str:
        """A named input cell (Input style, unlocked, validated); returns its defined name."""
        self.ws.cell(self.row, 1, label)
        c = self.ws.cell(self.row, col, value)
        style_input(c, fmt)
        self.ws.cell(self.row, col + 1, unit)
        n = self.ws.cell(self.row, col + 2, note)
        n.alignment = Alignment(wrap_text=False, vertical="top")
        define(self.wb, name, self.title, absolute(col, self.row))
        if validation is not None:
            validate(self.ws, validation, c.coordinate)
        self.row += 1
        return name

    def calc(self, label: str, formula: str, unit: str, note: str = "", fmt: str = GENERAL,
             name: str | None = None, output: bool = False, col: int = 2) -> str:
        """A formula row; returns the cell's absolute reference (or its defined name)."""
        self.ws.cell(self.row, 1, label)
        c = self.ws.cell(self.row, col, formula)
        c.style = "Output" if output else "Calculation"
        c.number_format = fmt
        self.ws.cell(self.row, col + 1, unit)
        self.ws.cell(self.row, col + 2, note)
        ref = absolute(col, self.row)
        if name:
            define(self.wb, name, self.title, ref)
        self.row += 1
        return name or ref

    def freeze(self, cell: str) -> None:
        self.ws.freeze_panes = cell

    def finish(self, last_col: str | None = None, last_row: int | None = None) -> None:
        """Print area over the used range (or up to ``last_col``/``last_row``)."""
        last = last_col or get_column_letter(max(self.ws.max_column, 1))
        self.ws.print_area = f"A1:{last}{last_row or max(self.ws.max_row, 1)}"


def style_input(cell, fmt: str = GENERAL) -> None:
    cell.style = "Input"
    cell.number_format = fmt
    cell.protection = Protection(locked=False)


def style_calc(cell, fmt: str = GENERAL, output: bool = False) -> None:
    cell.style = "Output" if output else "Calculation"
    cell.number_format = fmt


def validate(ws, dv: DataValidation, coordinate: str) -> None:
    ws.add_data_validation(dv)
    dv.add(coordinate)


def list_validation(source_name: str, what: str) -> DataValidation:
    return DataValidation(type="list", formula1=f"={source_name}", allow_blank=False, showErrorMessage=True,
                          errorTitle=f"Unknown {what}", error=f"Choose a {what} from the list ({source_name}).",
                          promptTitle=what.capitalize(), prompt=f"Choose a {what} from the catalog sheet.",
                          showInputMessage=True)


def number_validation(minimum, maximum, what: str, whole: bool = False) -> DataValidation:
    return DataValidation(type="whole" if whole else "decimal", operator="between", formula1=str(minimum),
                          formula2=str(maximum), allow_blank=False, showErrorMessage=True,
                          errorTitle=f"Invalid {what}",
                          error=f"{what}: enter a {'whole ' if whole else ''}number from {minimum} to {maximum}.",
                          promptTitle=what, prompt=f"{minimum} to {maximum}", showInputMessage=True)


def text_validation(what: str, max_len: int = 100) -> DataValidation:
    return DataValidation(type="textLength", operator="between", formula1="1", formula2=str(max_len),
                          allow_blank=False, showErrorMessage=True, errorTitle=f"Invalid {what}",
                          error=f"{what}: enter a name (text).", promptTitle=what, prompt=f"Enter a {what}",
                          showInputMessage=True)


def string(value: str) -> str:
    """An Excel string literal."""
    return '"' + str(value).replace('"', '""') + '"'


def card(w: Writer, label: str, fields: dict, results: list[tuple], start_col: int = 1) -> dict:
    """A custom model as a two-row range (field names over input values) with result formulas to its right.

    ``results``: (header, formula, number format[, name]) where ``{model}`` in the formula is replaced by
    the block's absolute reference. Returns {"model": block ref, header: cell ref, ...}.
    """
    hdr, val = w.row, w.row + 1
    lab = w.ws.cell(hdr, start_col, "config")
    lab.font = FIELD_FONT
    w.ws.cell(val, start_col, label).font = Font(bold=True)
    col = start_col + 1
    first = col
    for k, v in fields.items():
        w.ws.cell(hdr, col, k).font = FIELD_FONT
        cell = w.ws.cell(val, col, v)
        style_input(cell, COUNT if isinstance(v, (int, float)) and not isinstance(v, bool) else GENERAL)
        validate(w.ws, field_validation(k, v), cell.coordinate)
        col += 1
    block = f"${get_column_letter(first)}${hdr}:${get_column_letter(col - 1)}${val}"
    out = {"model": block}
    for item in results:
        header, formula, fmt = item[:3]
        h = w.ws.cell(hdr, col, header)
        h.fill, h.font = HEADER_FILL, HEADER_FONT
        h.alignment = Alignment(wrap_text=True, vertical="center")
        c = w.ws.cell(val, col, formula.replace("{model}", block))
        style_calc(c, fmt, output=len(item) > 3 and item[3] == "output")
        out[header] = f"${get_column_letter(col)}${val}"
        col += 1
    w.ws.row_dimensions[hdr].height = 44
    w.row += 3
    return out


FIELD_CHOICES = {"ffn_type": "swiglu,geglu,gelu,relu", "norm_type": "rmsnorm,layernorm",
                 "pos_embedding": "rope,learned,alibi"}


def field_validation(field_name: str, value) -> DataValidation:
    """Validation for one model field of a card: a choice list, TRUE/FALSE, or a whole number."""
    if field_name in FIELD_CHOICES:
        return DataValidation(type="list", formula1=f'"{FIELD_CHOICES[field_name]}"', allow_blank=False,
                              showErrorMessage=True, error=f"{field_name}: choose {FIELD_CHOICES[field_name]}",
                              prompt=FIELD_CHOICES[field_name], showInputMessage=True)
    if isinstance(value, bool):
        return DataValidation(type="list", formula1='"TRUE,FALSE"', allow_blank=False, showErrorMessage=True)
    return number_validation(0, 10**12, field_name, whole=True)


def gpu_field(gpu: str, field_name: str) -> str:
    """Native formula text for one GPU catalog field of the GPU named in ``gpu`` (a cell, name or literal):
    INDEX over that field's column (defined name GPU_<field>), MATCH on the names."""
    return f"INDEX(GPU_{field_name},MATCH({gpu},GPUNames,0))"


def choice_validation(options: list[str], what: str) -> DataValidation:
    """A drop-down of fixed choices, e.g. none/selective/full activation checkpointing."""
    text = ",".join(options)
    return DataValidation(type="list", formula1=f'"{text}"', allow_blank=False, showErrorMessage=True,
                          error=f"{what}: choose {', '.join(options)}.", prompt=", ".join(options),
                          showInputMessage=True)


CHECKPOINTING_CHOICES = ["none", "selective", "full"]
