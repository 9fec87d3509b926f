"""The rows of a digest as attachments: CSV (UTF-8 with BOM, for Excel) and XLSX.

Cells that would start a formula are kept as text: every value comes from a web site.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from bot.changes.event_schema import Event
from bot.delivery.email.sections import PRODUCTS_SEPARATOR, change_of, changes_text, english_for, group_sections
from scrapers.records import EXPORT_FIELDS

__all__ = ["ROW_COLUMNS", "digest_rows", "rows_csv", "rows_xlsx"]

ROW_COLUMNS: tuple[str, ...] = ("change", "list", *EXPORT_FIELDS, "entity_en", "changes")

# --- rows: CSV and XLSX ----------------------------------------------------------------------


def digest_rows(events: Sequence[Event], *, language: str = "en") -> list[dict[str, Any]]:
    """The new, changed and removed rows of list events (parts merged), one dict per row, ROW_COLUMNS keys."""
    sections, _ = group_sections(events)
    rows: list[dict[str, Any]] = []
    for section in sections:
        for change, records in (("new", section.new), ("changed", section.changed), ("removed", section.removed)):
            for record in records:
                row: dict[str, Any] = {name: "" for name in ROW_COLUMNS}
                for name in EXPORT_FIELDS:
                    value = record.get(name)
                    if name == "kind" and not value:
                        value = section.kind
                    if isinstance(value, list):
                        value = PRODUCTS_SEPARATOR.join(str(v) for v in value)
                    row[name] = "" if value is None else str(value)
                row["change"] = change_of(record) if change == "changed" else change
                row["list"] = section.name
                row["entity_en"] = english_for(str(record.get("entity") or "")) if record.get("entity") else ""
                row["changes"] = changes_text(record.get("changes") or {}) if change == "changed" else ""
                rows.append(row)
    return rows


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    # A cell starting with = + - @ would be run as a formula by Excel ("CSV injection"):
    # data from a web site is text, so such a cell gets the apostrophe Excel uses for text.
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """CSV, UTF-8 with BOM (Excel otherwise reads Chinese as the ANSI code page), CRLF lines."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(ROW_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in ROW_COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def rows_xlsx(rows: Sequence[Mapping[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("filings")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in ROW_COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        values: list[Any] = []
        for name in ROW_COLUMNS:
            text = "" if row.get(name) is None else str(row.get(name))
            if text.startswith("="):
                # openpyxl stores a string starting with "=" as a formula: force a text cell.
                # (Other values are written as shared strings, which Excel never evaluates.)
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"
                values.append(cell)
            else:
                values.append(text)
        sheet.append(values)
    sheet.auto_filter.ref = f"A1:{_column_letter(len(ROW_COLUMNS))}{len(rows) + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column_letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(n))
