"""A wheel of the Excel functions alone, for xlwings Lite: ``python -m udfs.lite [OUT_DIR]``.

xlwings Lite runs Python in the browser (Pyodide) and installs what the workbook's requirements.txt names.
The scalesheet package also carries the workbook builder and the CLI, whose dependencies a browser does not
need; this wheel holds only the ``udfs`` package (its code and CSV catalogs) and requires only numpy,
which Pyodide provides. See docs/lite.md.
"""

from __future__ import annotations

import base64
import hashlib
import pathlib
import sys
import zipfile

from . import __version__

NAME = "scalesheet_udfs"
METADATA = f"""Metadata-Version: 2.1
Name: scalesheet-udfs
Version: {__version__}
Summary: Scalesheet's Excel functions (LLM capacity planning) for xlwings Lite: the udfs package alone
Requires-Python: >=3.10
Requires-Dist: numpy>=1.24
"""
WHEEL = """Wheel-Version: 1.0
Generator: udfs.lite
Root-Is-Purelib: true
Tag: py3-none-any
"""


def build_wheel(out_dir) -> pathlib.Path:
    """Write ``scalesheet_udfs-<version>-py3-none-any.whl`` into ``out_dir`` and return its path."""
    package = pathlib.Path(__file__).resolve().parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and p.suffix in (".py", ".csv")
                   and "__pycache__" not in p.parts)
    dist_info = f"{NAME}-{__version__}.dist-info"
    path = pathlib.Path(out_dir) / f"{NAME}-{__version__}-py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        def add(name: str, data: bytes):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            whl.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
        for p in files:
            add("udfs/" + p.relative_to(package).as_posix(), p.read_bytes())
        add(f"{dist_info}/METADATA", METADATA.encode())
        add(f"{dist_info}/WHEEL", WHEEL.encode())
        record.append(f"{dist_info}/RECORD,,")
        add_record = zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(1980, 1, 1, 0, 0, 0))
        add_record.compress_type, add_record.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
        whl.writestr(add_record, "\n".join(record) + "\n")
    return path


if __name__ == "__main__":
    print(build_wheel(sys.argv[1] if len(sys.argv) > 1 else "dist"))
