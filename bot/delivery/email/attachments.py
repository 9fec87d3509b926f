"""The rows of a digest as attachments: CSV (UTF-8 with BOM, for Excel) and XLSX.

Cells that would start a formula are kept as text: every value comes from a web site
(the one rule and writer of ``bot.changes.export``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from bot.changes.event_schema import ChangedFiling, Event, FieldChanges, FilingRecord
from bot.delivery.email.sections import (
    PRODUCTS_SEPARATOR,
    Section,
    change_of,
    changes_text,
    english_for,
    group_sections,
)
from bot.changes.export import CHANGE_COLUMNS, write_export
from bot.changes.resolver import company_of
from bot.changes.vocabulary import english_labels
from scrapers.records import EXPORT_FIELDS

__all__ = ["ROW_COLUMNS", "digest_rows", "rows_csv", "rows_xlsx"]

# One column set with ``cacwatch export --changes`` and the bot's exports.
ROW_COLUMNS: tuple[str, ...] = CHANGE_COLUMNS

# --- rows: CSV and XLSX ----------------------------------------------------------------------


def digest_rows(events: Sequence[Event], *, language: str = "en") -> list[dict[str, Any]]:
    """The new, changed and removed rows of list events (parts merged), one dict per row, ROW_COLUMNS keys."""
    sections, _ = group_sections(events)
    rows: list[dict[str, Any]] = []
    for section in sections:
        # Part by part (a part holds new, then changed, then removed filings): each row names
        # the event that announced it, as `cacwatch export --changes` does.
        for event in section.events:
            data, announced = event["data"], (event["id"], event.get("seq"))
            rows += [_row(section, "new", record, announced=announced) for record in data["new"]]
            rows += [
                _row(section, change_of(change), change, change["changes"], announced=announced) for change in data["changed"]
            ]
            rows += [_row(section, "removed", record, announced=announced) for record in data["removed"]]
    return rows


def _row(
    section: Section,
    change: str,
    record: FilingRecord | ChangedFiling,
    changes: FieldChanges | None = None,
    *,
    announced: tuple[str, int | None] = ("", None),
) -> dict[str, Any]:
    """One row: the record's export fields (a change carries only some), then what happened to
    it and the event (id, seq) that announced it."""
    row: dict[str, Any] = {name: "" for name in ROW_COLUMNS}
    for name in EXPORT_FIELDS:
        value = record.get(name)
        if name == "kind" and not value:
            value = section.kind
        if isinstance(value, list):
            value = PRODUCTS_SEPARATOR.join(str(v) for v in value)
        row[name] = "" if value is None else str(value)
    entity = record.get("entity")
    row["change"] = change
    row["list"] = section.name
    row["entity_en"] = english_for(entity) if entity else ""
    row["changes"] = changes_text(changes) if changes is not None else ""
    row["removed"] = change == "removed"
    row["event_id"] = announced[0]
    row["seq"] = "" if announced[1] is None else str(announced[1])
    # English columns of the one table and the company group, as `cacwatch export` writes them.
    row.update(english_labels(row))
    company = company_of(str(entity)) if entity else None
    row["group"], row["group_en"] = (company.zh, company.en) if company is not None else ("", "")
    return row


def rows_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """CSV, UTF-8 with BOM (Excel otherwise reads Chinese as the ANSI code page), CRLF lines;
    would-be formulas neutralised by the one export rule (``bot.changes.export.safe_cell``)."""
    out = io.BytesIO()
    write_export(rows, "csv", out, columns=ROW_COLUMNS)
    return out.getvalue()


def rows_xlsx(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The same columns as ``cacwatch export --changes --format xlsx``, the same sheet layout."""
    out = io.BytesIO()
    write_export(rows, "xlsx", out, columns=ROW_COLUMNS)
    return out.getvalue()
