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
# Large counts as K/M/B/T (each trailing comma divides by 1,000), no scientific notation.
BIG = '[>=1E+12]#,##0.0,,,," T";[>=1E+9]#,##0.0,,," B";#,##0.0,," M"'
FLOPS = '[>=1E+18]#,##0.0,,,,,," E";[>=1E+12]#,##0.0,,,," T";#,##0.0,,," B"'
MONEY = '"$"#,##0'
MONEY2 = '"$"#,##0.00'
MONEY4 = '"$"#,##0.0000'
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
            self.fit_height(note, "B")
        self.row += 1

    def fit_height(self, text: str, col: str) -> None:
        """A row tall enough for ``text`` wrapped in column ``col`` (LibreOffice and Excel keep a stored height
        and do not grow a row for wrapped text on open, so long notes would overlap the next row)."""
        per_line = max(10, int((self.ws.column_dimensions[col].width or 8.43) * 1.05))
        lines = -(-len(text) // per_line)
        if lines > 1:
            self.ws.row_dimensions[self.row].height = max(self.ws.row_dimensions[self.row].height or 0, 15 * lines)

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
    """Attach ``dv`` to the cells of ``coordinate``; a rule already on one of them is removed first, because
    Excel allows one validation per cell (two make it offer to repair the file)."""
    from openpyxl.worksheet.cell_range import CellRange, MultiCellRange

    new = {(r, c) for r, c in CellRange(coordinate).cells}
    for other in list(ws.data_validations.dataValidation):
        cells = {rc for rng in other.sqref.ranges for rc in rng.cells}
        if cells & new:
            keep = sorted(cells - new)
            other.sqref = MultiCellRange(" ".join(f"{get_column_letter(c)}{r}" for r, c in keep))
            if not keep:
                ws.data_validations.dataValidation.remove(other)
    if dv not in ws.data_validations.dataValidation:
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
        if isinstance(v, str) and v.startswith("="):        # a field computed from other cells
            style_calc(cell, COUNT)
        else:
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


def per_or_never(hours: str, per: str) -> str:
    """``hours / per`` where ``hours`` is a number; "never" where the function said owning never breaks even
    (its '#...never...' text); any other error or '#' text passes through unchanged, so a missing function
    (#NAME?) or a refused value in a share copy never reads as an answer."""
    return f'=IF(ISNUMBER({hours}),{hours}/{per},IF(ISNUMBER(SEARCH("never",{hours})),"never",{hours}))'


def ratio_or_blank(num: str, den: str) -> str:
    """``num / den`` when both are numbers; an error or '#' text in ``den`` passes through; else blank."""
    return (f'=IF(ISNUMBER({den}),IF(AND(ISNUMBER({num}),{den}<>0),{num}/{den},""),'
            f'IF(LEFT({den}&"",1)="#",{den},""))')


# ------------------------------------------------------------------------------------------ catalog rows
CATALOG_ROWS = "Catalog rows"
FIRST_DATA_ROW, LAST_DATA_ROW = 4, 200          # the catalog sheets' data rows (catalogs.FIRST_ROW/LAST_ROW)
_CATALOGS = {"model": ("Models", "ModelNames"), "gpu": ("GPUs", "GPUNames")}


def catalog_row(wb, kind: str, source: str) -> str:
    """A two-row range (the catalog's field names over the row named by ``source``) that the functions take as
    a model or GPU, so an edit of that catalog row, or a row a user adds, reaches every answer.

    ``source`` is a formula operand valid on any sheet: a defined name or a sheet-qualified cell. The blocks
    live on the "Catalog rows" workings sheet, one per distinct source; returns the block's absolute
    reference ('Catalog rows'!$B$5:$AL$6). Blank catalog cells read as "" (blank for the functions), not 0.
    """
    from openpyxl.styles import Protection

    registry = wb.__dict__.setdefault("_catalog_rows", {})
    if (kind, source) in registry:
        return registry[(kind, source)]
    sheet, names = _CATALOGS[kind]
    if CATALOG_ROWS not in wb.sheetnames:
        ws = wb.create_sheet(CATALOG_ROWS)
        ws.cell(1, 1, "Catalog rows: the model and GPU rows the other sheets pass to the functions").font = TITLE_FONT
        ws.cell(2, 1, "Workings (no inputs here). Each block is a catalog row looked up by name: field names over "
                      "values, read live from the Models and GPUs sheets.").font = SUBTITLE_FONT
        ws.column_dimensions["A"].width = 34
        ws.sheet_view.showGridLines = False
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        wb.__dict__["_catalog_rows_next"] = 4
    ws = wb[CATALOG_ROWS]
    src_ws = wb[sheet]
    ncols = sum(1 for c in src_ws[3] if c.value not in (None, ""))
    hdr = wb.__dict__["_catalog_rows_next"]
    val = hdr + 1
    label = ws.cell(hdr, 1, f"{kind} named in {source}")
    label.font = FIELD_FONT
    match = ws.cell(val, 1, f"=MATCH({source},{names},0)")
    style_calc(match, COUNT)
    for k in range(1, ncols + 1):
        col = get_column_letter(k)
        h = ws.cell(hdr, k + 1, f"={quote_sheetname(sheet)}!{col}$3")
        h.font = FIELD_FONT
        # column-relative and row-relative where a copy along the block would keep them: every value cell of
        # every block is then one formula copied (one shape for share/recalc to translate and compile, not ~1,600)
        column = f"{quote_sheetname(sheet)}!{col}${FIRST_DATA_ROW}:{col}${LAST_DATA_ROW}"
        v = ws.cell(val, k + 1, f'=IF(INDEX({column},$A{val})="","",INDEX({column},$A{val}))')
        v.style = "Calculation"
    wb.__dict__["_catalog_rows_next"] = hdr + 3
    local = f"$B${hdr}:${get_column_letter(ncols + 1)}${val}"
    sentinel(ws, hdr, ncols + 3, kind, local)
    ref = f"{quote_sheetname(CATALOG_ROWS)}!{local}"
    registry[(kind, source)] = ref
    _ = Protection
    return ref


SENTINELS = {"model": ("check: parameters", "=LLM_PARAMS({block})", COUNT),
             "gpu": ("check: largest dense model (bf16)", "=LLM_MAX_PARAMS({block})", COUNT)}


def sentinel(ws, hdr: int, col: int, kind: str, block: str) -> None:
    """A cell beside a catalog block that calls a function on the block alone. In a share copy it is guarded
    on every cell of the block, and the guards of other cells that read the block check this one cell
    instead of 100+ (workbook/live.py, sentinels)."""
    header, formula, fmt = SENTINELS[kind]
    h = ws.cell(hdr, col, header)
    h.font = FIELD_FONT
    style_calc(ws.cell(hdr + 1, col, formula.format(block=block)), fmt)


def cell_on(sheet_title: str, coordinate: str) -> str:
    """A sheet-qualified absolute reference, e.g. 'Training scale'!$C$12."""
    from openpyxl.utils.cell import coordinate_from_string

    col, row = coordinate_from_string(coordinate.replace("$", ""))
    return f"{quote_sheetname(sheet_title)}!${col}${row}"
