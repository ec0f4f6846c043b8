"""Reading untrusted workbooks safely and writing files atomically.

An .xlsx is a zip of XML parts. Before anything parses it we check: the file exists and is not huge, it
is a zip (an encrypted workbook is an OLE2 compound file; a legacy .xls too), the zip is not a bomb
(entry count, total uncompressed size, compression ratio), it has the parts of a workbook, and every XML
part parses under defusedxml (no entity expansion, no external entities, no DTDs). Macros are never run:
we read XML only, and outputs are written as plain .xlsx.
"""

from __future__ import annotations

import os
import tempfile
import zipfile

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from udfs.core.errors import ScalesheetError

MAX_FILE_BYTES = 100 * 2**20
MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED_BYTES = 500 * 2**20
MAX_RATIO = 200
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_xlsx(path: str, argument: str = "input") -> None:
    """Raise ScalesheetError with a clear reason if ``path`` is not a safe, readable .xlsx."""
    if not os.path.exists(path):
        raise ScalesheetError(argument, f"{path} does not exist")
    if not os.path.isfile(path):
        raise ScalesheetError(argument, f"{path} is not a file")
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ScalesheetError(argument, f"{path} is {size / 2**20:.0f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == OLE2_MAGIC:
        raise ScalesheetError(argument, f"{path} is encrypted (password-protected) or a legacy .xls; "
                                        "save it unprotected as .xlsx")
    if not zipfile.is_zipfile(path):
        raise ScalesheetError(argument, f"{path} is not an .xlsx workbook (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ScalesheetError(argument, f"{path} has {len(infos)} parts; the limit is {MAX_ENTRIES}")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED_BYTES:
                raise ScalesheetError(argument, f"{path} unpacks to {total / 2**20:.0f} MiB; the limit is "
                                                f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB (zip bomb?)")
            for i in infos:
                if i.compress_size and i.file_size / i.compress_size > MAX_RATIO and i.file_size > 2**20:
                    raise ScalesheetError(argument, f"{path}: part {i.filename} is compressed {i.file_size // i.compress_size}:1 (zip bomb?)")
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise ScalesheetError(argument, f"{path} is a zip but not an Excel workbook (no xl/workbook.xml)")
            for i in infos:
                if i.filename.endswith((".xml", ".rels", ".vml")):
                    SafeET.fromstring(zf.read(i.filename))
    except ScalesheetError:
        raise
    except (DefusedXmlException, SafeET.ParseError) as exc:
        raise ScalesheetError(argument, f"{path} contains unsafe or malformed XML ({type(exc).__name__})")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ScalesheetError(argument, f"{path} is corrupt: {exc}")


def refuse_overwrite(path: str, force: bool, argument: str = "output") -> None:
    if os.path.exists(path) and not force:
        raise ScalesheetError(argument, f"{path} exists; pass --force to replace it")


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".scalesheet-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
