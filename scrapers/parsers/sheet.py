"""Excel workbooks (.xlsx and legacy .xls) → raw rows, one table per sheet.

python-calamine reads both formats from bytes. Values are turned into the text a
reader sees: integral floats lose their ``.0`` (序号 ``1.0`` → ``1``), date cells
become ``YYYY-MM-DD``; merged ranges repeat the top-left value over the area.
"""

from __future__ import annotations

import datetime as dt
import io

from python_calamine import CalamineWorkbook

from scrapers.limits import DEFAULT_LIMITS, ParseLimits
from scrapers.parsers import Table
from scrapers.parsers.sheet_check import check_xls, check_xlsx
from scrapers.records import ParseError

__all__ = ["extract_tables", "cell_text"]


def cell_text(value: object) -> str:
    """The text a spreadsheet shows for a calamine value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _fill_merged(rows: list[list[str]], ranges: object) -> None:
    """Repeat each merged range's top-left value over the range (as docx gridSpan)."""
    if not isinstance(ranges, (list, tuple)):
        return
    for rng in ranges:
        try:
            (r0, c0), (r1, c1) = rng
        except (TypeError, ValueError):
            continue
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):  # clamped: a range may claim columns the grid lacks
                if not row[c]:
                    row[c] = value


def _is_xlsb(data: bytes) -> bool:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "xl/workbook.bin" in zf.namelist()


def extract_tables(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> list[Table]:
    """Every non-empty sheet as one table (``scrapers.tables`` finds the headers)."""
    # Sized from the file's structure first: calamine allocates the whole grid at once.
    if data.startswith(b"PK"):
        if not _is_xlsb(data):
            check_xlsx(data, limits)
        else:
            raise ParseError("binary workbooks (.xlsb) are not supported")
    else:
        check_xls(data, limits)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types
        raise ParseError(f"unreadable workbook: {type(exc).__name__}: {exc}") from exc
    tables: list[Table] = []
    for name in wb.sheet_names:
        try:
            sheet = wb.get_sheet_by_name(name)
            values = sheet.to_python(skip_empty_area=False)
        except Exception as exc:  # noqa: BLE001
            raise ParseError(f"unreadable sheet {name!r}: {type(exc).__name__}: {exc}") from exc
        rows = [[cell_text(v) for v in row] for row in values]
        try:
            merged = sheet.merged_cell_ranges
        except Exception:  # noqa: BLE001 - not available for every format
            merged = None
        _fill_merged(rows, merged)
        rows = [r for r in rows if any(c.strip() for c in r)]
        if rows:
            tables.append(rows)
    return tables
