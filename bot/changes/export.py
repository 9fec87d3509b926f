"""Export of every stored filing as JSON Lines, CSV or XLSX (interfaces.md record)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, Literal

from scrapers.records import EXPORT_FIELDS

__all__ = ["ExportFormat", "write_export", "PRODUCTS_SEPARATOR"]

ExportFormat = Literal["jsonl", "csv", "xlsx"]

# Products are a list in JSON; in flat formats they are joined with a separator that
# never occurs in CAC product names (、 does, inside brackets).
PRODUCTS_SEPARATOR = "; "


def _flat(record: dict[str, Any]) -> list[Any]:
    return [
        PRODUCTS_SEPARATOR.join(record[name]) if name == "products" else ("" if record[name] is None else record[name])
        for name in EXPORT_FIELDS
    ]


def write_export(records: Iterable[dict[str, Any]], fmt: ExportFormat, out: BinaryIO) -> int:
    """Write records to a binary stream; returns how many were written."""
    count = 0
    if fmt == "jsonl":
        for record in records:
            line = json.dumps({name: record[name] for name in EXPORT_FIELDS}, ensure_ascii=False)
            out.write(line.encode("utf-8") + b"\n")
            count += 1
    elif fmt == "csv":
        # UTF-8 with BOM: Excel then opens Chinese text correctly.
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(EXPORT_FIELDS)
        for record in records:
            writer.writerow(_flat(record))
            count += 1
        text.flush()
        text.detach()
    elif fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("filings")
        sheet.append(list(EXPORT_FIELDS))
        for record in records:
            sheet.append(_flat(record))
            count += 1
        buffer = io.BytesIO()
        workbook.save(buffer)
        out.write(buffer.getvalue())
    else:  # pragma: no cover - typer restricts the choice
        raise ValueError(f"unknown export format {fmt!r}")
    return count


def export_to_path(records: Iterable[dict[str, Any]], fmt: ExportFormat, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        return write_export(records, fmt, out)
