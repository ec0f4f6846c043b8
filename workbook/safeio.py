"""Reading untrusted workbooks safely and writing files atomically; every limit in one place.

An .xlsx is a zip of XML parts. Before anything parses it we check: the path is a regular file and not
huge, it is a zip (an encrypted workbook is an OLE2 compound file; a legacy .xls too), the zip is not a
bomb (entry count, total uncompressed size, compression ratio, part size), every part reads back with its
CRC, it has the parts of a workbook, and every XML part parses under defusedxml (no entity expansion, no
external entities, no DTDs). The file is read once into memory and only those bytes are used afterwards.
Macros are never run: we read XML only.

Writing: the new file is written to a temporary file beside the target, re-read and checked by the caller,
then renamed over the target in one step; it takes the mode of the file it replaces (or 0666 less the
umask for a new file). Only regular files are ever replaced.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
import zipfile

from xml.parsers import expat

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from udfs.core.errors import ScalesheetError

# ------------------------------------------------------------------------------------------------- limits
# Each is a refusal with a clear message, sized so that a legitimate planning workbook passes (the template:
# 0.1 MiB, ~60 parts, ~4,000 cells, evaluated in a few seconds) and a hostile one is refused long before it
# costs minutes or gigabytes. Measured on the project's 2-core CI machine, 2026-11-28.
MAX_FILE_BYTES = 100 * 2**20           # Excel files people email are a few MiB; 100 MiB is far past that
MAX_ENTRIES = 10_000                   # parts in the zip; Excel writes ~20 + 2 per sheet/chart/image
MAX_UNCOMPRESSED_BYTES = 500 * 2**20   # all parts unpacked: the memory we are willing to hold
MAX_PART_BYTES = 200 * 2**20           # one unpacked XML part: regex scans and parsing stay ~seconds
MAX_RATIO = 200                        # compression ratio of a part > 1 MiB; XML compresses ~10-30:1, bombs 1000:1
MAX_CELLS = 250_000                    # stored cells, all sheets: reading, evaluating and rewriting cost ~50 us
                                       # per cell here, so the largest workbook takes ~15 s, not minutes
MAX_FORMULA_CELLS = 20_000             # formula cells: compiling one costs ~3-10 ms in `formulas`, so more would pass
                                       # the CPU limit below anyway; refusing before evaluating is cheaper
MAX_ARRAY_FORMULA_CELLS = 100_000      # cells one array (Ctrl+Shift+Enter) formula may span
MAX_EVALUATION_SECONDS = 45            # CPU time for evaluation, plus EVALUATION_SECONDS_PER_FORMULA for each formula
EVALUATION_SECONDS_PER_FORMULA = 0.02  # cell, at most MAX_EVALUATION_SECONDS_TOTAL: `formulas` compiles and runs a
MAX_EVALUATION_SECONDS_TOTAL = 240     # formula in ~5-15 ms; the template (about 6,000 formulas with the Buy, rent or
                                       # API month tables) took 60 s of CPU on the shared 2-core machine (2026-11-29).
                                       # A small runaway file stops within ~1 min; no file runs past 4 min.


def evaluation_seconds(formula_cells: int) -> float:
    """The CPU-time limit for evaluating a workbook of ``formula_cells`` formulas."""
    return min(MAX_EVALUATION_SECONDS + EVALUATION_SECONDS_PER_FORMULA * formula_cells, MAX_EVALUATION_SECONDS_TOTAL)
MAX_PRINTED_CHARS = 200                # one value echoed on the terminal
CELL_START = re.compile(rb"<(?:[\w.\-]+:)?c[\s/>]")   # a cell's tag, any prefix
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XML_SUFFIXES = (".xml", ".rels", ".vml")


def read_xlsx(path: str, argument: str = "input") -> bytes:
    """The bytes of the workbook at ``path``, after every check above; ScalesheetError names the reason."""
    return read_xlsx_parts(path, argument)[0]


def read_xlsx_parts(path: str, argument: str = "input") -> tuple[bytes, dict[str, bytes]]:
    """(``read_xlsx(path)``, {part name: its unpacked bytes}): the checks read every part, so the reader need
    not unpack them again (``xlsxpatch.Package(data, parts=...)``)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ScalesheetError(argument, f"{path} does not exist")
    except OSError as exc:
        raise ScalesheetError(argument, f"{path}: {exc.strerror or exc}")
    if stat.S_ISDIR(st.st_mode):
        raise ScalesheetError(argument, f"{path} is a directory, not a workbook")
    if not stat.S_ISREG(st.st_mode):
        raise ScalesheetError(argument, f"{path} is not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise ScalesheetError(argument, f"{path} is {st.st_size / 2**20:.0f} MiB; the limit is "
                                        f"{MAX_FILE_BYTES // 2**20} MiB")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScalesheetError(argument, f"cannot read {path}: {exc.strerror or exc}")
    return data, check_xlsx_bytes(data, path, argument)


def check_xlsx(path: str, argument: str = "input") -> None:
    """Raise ScalesheetError with a clear reason if ``path`` is not a safe, readable .xlsx."""
    read_xlsx(path, argument)


class CellTally:
    """The cells of sheet parts added one at a time, against MAX_CELLS: their tags count as a bound of their
    cells (a few ms) until that bound passes the limit; then the parts not yet counted are counted cell by cell
    (the pattern: tens of ms for the template)."""

    def __init__(self):
        self.counted, self.pending, self.bound = 0, [], 0

    def over(self, part: bytes) -> bool:
        """Add a sheet part; True once the cells added so far are more than MAX_CELLS."""
        self.pending.append(part)
        self.bound += part.count(b"<")
        if self.counted + self.bound > MAX_CELLS:
            self.counted += sum(len(CELL_START.findall(p)) for p in self.pending)
            self.pending, self.bound = [], 0
        return self.counted > MAX_CELLS


def check_xlsx_bytes(data: bytes, path: str, argument: str = "input") -> dict[str, bytes]:
    """Raise ScalesheetError with a clear reason if ``data`` is not a safe, readable .xlsx; else its parts
    ({name: unpacked bytes}, each read to its end, so its CRC was checked)."""
    if data[:8] == OLE2_MAGIC:
        raise ScalesheetError(argument, f"{path} is encrypted (password-protected) or a legacy .xls; "
                                        "save it unprotected as .xlsx")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise ScalesheetError(argument, f"{path} is not an .xlsx workbook (not a zip archive)")
    try:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ScalesheetError(argument, f"{path} has {len(infos)} parts; the limit is {MAX_ENTRIES}")
        total = sum(i.file_size for i in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ScalesheetError(argument, f"{path} unpacks to {total / 2**20:.0f} MiB; the limit is "
                                            f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB (zip bomb?)")
        for i in infos:
            if i.compress_size and i.file_size / i.compress_size > MAX_RATIO and i.file_size > 2**20:
                raise ScalesheetError(argument, f"{path}: part {i.filename} is compressed "
                                                f"{i.file_size // i.compress_size}:1 (zip bomb?)")
            if i.filename.endswith(XML_SUFFIXES) and i.file_size > MAX_PART_BYTES:
                raise ScalesheetError(argument, f"{path}: part {i.filename} unpacks to {i.file_size / 2**20:.0f} "
                                                f"MiB; the limit is {MAX_PART_BYTES // 2**20} MiB")
            if i.flag_bits & 0x1:
                raise ScalesheetError(argument, f"{path}: part {i.filename} is encrypted")
        names = {i.filename for i in infos}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise ScalesheetError(argument, f"{path} is a zip but not an Excel workbook (no xl/workbook.xml)")
        parts = {}
        cells = CellTally()
        for i in infos:
            parts[i.filename] = part = zf.read(i)  # checks the CRC of every part, media included
            if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml"):
                if cells.over(part):   # counted before any parsing: refusing is cheap
                    raise ScalesheetError(argument, f"{path} holds more than {MAX_CELLS:,} cells (the limit)")
        for name, part in parts.items():
            if name.endswith(XML_SUFFIXES):
                check_xml(part)
        return parts
    except ScalesheetError:
        raise
    except (DefusedXmlException, SafeET.ParseError, expat.ExpatError) as exc:
        raise ScalesheetError(argument, f"{path} contains unsafe or malformed XML ({type(exc).__name__})")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise ScalesheetError(argument, f"{path} is corrupt: {str(exc)[:120]}")


def _dtd(name, sysid, pubid, has_internal_subset):
    raise DTDForbidden(name, sysid, pubid)


def _entity(name, is_parameter_entity, value, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _unparsed_entity(name, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _external(context, base, sysid, pubid):
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _skipped_entity(name, is_parameter_entity):
    raise EntitiesForbidden(name, None, None, None, None, None)


def check_xml(part: bytes) -> None:
    """Parse one XML part with expat, building nothing: it must be well-formed and hold no DTD, no entity
    declaration and no reference to an external or undeclared entity (defusedxml's rules, with DTDs refused
    outright: no workbook part has one). Raises DefusedXmlException or expat.ExpatError. About 8x faster than
    defusedxml.ElementTree, which builds a tree with the pure-Python parser."""
    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler = _dtd
    p.EntityDeclHandler = _entity
    p.UnparsedEntityDeclHandler = _unparsed_entity
    p.ExternalEntityRefHandler = _external
    p.SkippedEntityHandler = _skipped_entity
    p.Parse(part, True)


def check_output(path: str, force: bool, argument: str = "output") -> None:
    """The output may be written: its folder exists, it is not a folder or device, and --force is given to
    replace an existing file."""
    if os.path.lexists(path):
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ScalesheetError(argument, f"{path} is a directory; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise ScalesheetError(argument, f"{path} is not a regular file (a link, device or pipe); "
                                            "it is never replaced")
        if not force:
            raise ScalesheetError(argument, f"{path} exists; pass --force to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ScalesheetError(argument, f"the folder of {path} does not exist or is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ScalesheetError(argument, f"the folder of {path} is not writable")


def refuse_overwrite(path: str, force: bool, argument: str = "output") -> None:
    check_output(path, force, argument)


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str, data: bytes, argument: str = "output") -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename. The file
    keeps the mode of the regular file it replaces, or gets 0666 less the umask; anything but a regular file
    at ``path`` is refused."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    mode = _new_file_mode()
    if os.path.lexists(path):
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ScalesheetError(argument, f"{path} is not a regular file; it is never replaced")
        mode = stat.S_IMODE(st.st_mode)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".scalesheet-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ScalesheetError(argument, f"cannot write in the folder of {path}: {exc.strerror or exc}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise ScalesheetError(argument, f"cannot write {path}: {exc.strerror or exc}")
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def printable(text, limit: int = MAX_PRINTED_CHARS) -> str:
    """Text safe to print on a terminal: control characters (escape sequences included), bidirectional
    overrides and lone surrogates shown as \\xNN / \\uNNNN; cut to ``limit`` characters."""
    s = str(text)
    cut = len(s) > limit
    s = s[:limit]
    out = []
    for ch in s:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0:
            out.append("\\x%02x" % o)
        elif 0xD800 <= o <= 0xDFFF or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069 or o in (0x200E, 0x200F):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return "".join(out) + ("…" if cut else "")
