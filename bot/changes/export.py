"""Exports of filings and of their changes as JSON Lines, CSV or XLSX: one column set and one
writer for ``cacwatch export``, the email digest's attachments and Telegram's ``/export``.

- ``FILING_COLUMNS``: the filing record (interfaces.md) plus ``entity_en``, ``first_seen``,
  ``updated_at`` and ``removed``. ``CHANGE_COLUMNS``: what changed (``change``, ``list``) in front
  of the same columns, and after them the field changes (``changes``) and the event that
  announced the change (``event_id``, ``seq``: as webhooks and /api/v1/changes carry them).
- Every value comes from a web site, so no spreadsheet cell may become a formula:
  ``starts_formula`` is the one rule (a cell starting ``=`` ``+`` ``-`` ``@``, tab or CR);
  CSV cells get Excel's text apostrophe (``safe_cell``), XLSX cells are typed text with the
  quote prefix (the same meaning, without a visible apostrophe).
- XLSX is for reading: Chinese and English headers, kinds, states and GenAI registration
  (备案 filed / 已登记 registered) in words, column widths,
  a frozen header row and filters. JSON Lines and CSV keep the machine names.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

from bot.changes.genai import REGISTRATION_LABELS
from bot.changes.vocabulary import CHANGE_LABELS, ENGLISH_LABEL_FIELDS, FIELD_LABELS, english_labels, kind_names
from scrapers.records import EXPORT_FIELDS
from storage.words import contains_words

__all__ = [
    "ExportFormat",
    "FILING_COLUMNS",
    "CHANGE_COLUMNS",
    "PRODUCTS_SEPARATOR",
    "starts_formula",
    "safe_cell",
    "changes_text",
    "with_english",
    "matches_entity",
    "matches_query",
    "group_filter",
    "write_export",
    "csv_chunks",
    "export_to_path",
]

ExportFormat = Literal["jsonl", "csv", "xlsx"]

# English columns after the existing ones (never renamed or moved): roles, 算法类别 and
# registration types in English (bot.changes.vocabulary) and the filer's company group.
FILING_COLUMNS: tuple[str, ...] = (
    *EXPORT_FIELDS, "entity_en", "first_seen", "updated_at", "removed", *ENGLISH_LABEL_FIELDS, "group", "group_en"
)
CHANGE_COLUMNS: tuple[str, ...] = ("change", "list", *FILING_COLUMNS, "changes", "event_id", "seq")

# Products are a list in JSON; in flat formats they are joined with a separator that
# never occurs in CAC product names (、 does, inside brackets).
PRODUCTS_SEPARATOR = "; "

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# (zh, en) headers of the XLSX sheet; the field labels shared with the other renderers first.
_HEADERS: dict[str, tuple[str, str]] = {
    **{name: (zh, en.capitalize()) for name, (zh, en) in FIELD_LABELS.items()},
    "kind": ("类型", "Kind"),
    "list_month": ("首次列入批次", "First listed"),
    "filing_number": ("备案编号", "Filing number"),
    "name": ("算法/模型名称", "Name"),
    "entity": ("主体名称", "Filer"),
    "entity_en": ("主体英文名", "Filer (English)"),
    "first_seen": ("首次发现", "First seen"),
    "updated_at": ("最近更新", "Updated"),
    "removed": ("已移出名单", "Removed"),
    "role_en": ("角色（英文）", "Role (English)"),
    "category_en": ("算法类别（英文）", "Category (English)"),
    "registration_en": ("备案类型（英文）", "Registration (English)"),
    "group": ("所属集团/外国公司", "Company group"),
    "group_en": ("所属集团（英文）", "Company group (English)"),
    "change": ("变化", "Change"),
    "list": ("名单", "List"),
    "changes": ("变更内容", "Field changes"),
    "event_id": ("事件编号", "Event id"),
    "seq": ("事件序号", "Event seq"),
}
# Characters wide enough for a column; long text wraps inside the cell instead.
_WIDTHS: dict[str, int] = {
    "kind": 22, "list_month": 10, "filing_number": 34, "name": 30, "entity": 30, "entity_en": 30,
    "role": 12, "category": 14, "products": 30, "purpose": 40, "province": 10, "remark": 20,
    "status": 14, "filed_on": 12, "registration": 12, "scenario": 14, "first_seen": 20, "updated_at": 20, "removed": 10,
    "change": 14, "list": 30, "changes": 40, "event_id": 40, "seq": 10,
}


def starts_formula(text: str) -> bool:
    """Would a spreadsheet run this cell as a formula (or DDE)? The one rule for every export."""
    return text.startswith(_FORMULA_START)


def safe_cell(value: Any) -> str:
    """A flat (CSV) cell: text, with Excel's text apostrophe in front of a would-be formula."""
    text = _flat(value)
    return "'" + text if starts_formula(text) else text


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, (list, tuple)):
        return PRODUCTS_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, dict):
        return changes_text(value)
    return str(value)


def changes_text(changes: Mapping[str, Any]) -> str:
    """``{"status": ["active", "cancelled"]}`` → ``status: active → cancelled``."""
    parts = []
    for name, pair in changes.items():
        before, after = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        parts.append(f"{name}: {_flat(before)} → {_flat(after)}")
    return "; ".join(parts)


def with_english(record: dict[str, Any]) -> dict[str, Any]:
    """The record with ``entity_en`` (the English name cacwatch shows for the filer) and its
    company group or foreign company (``group``, ``group_en``; null without one)."""
    from bot.changes.companies import english_name
    from bot.changes.resolver import company_of

    entity = str(record.get("entity") or "")
    record["entity_en"] = english_name(entity) if entity else ""
    company = company_of(entity)
    record["group"], record["group_en"] = (company.zh, company.en) if company is not None else (None, None)
    return record


def _field(record: Mapping[str, Any], name: str) -> Any:
    """A column's value: the record's own, or for the English label columns derived from it."""
    if name in ENGLISH_LABEL_FIELDS and name not in record:
        return english_labels(record)[name]
    return record.get(name)


def _fold(text: str) -> str:
    # Case, width and spacing do not matter (as in the web search).
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def matches_entity(record: Mapping[str, Any], name: str) -> bool:
    """The filer is ``name``: a part of its Chinese or English name, or a company the one
    resolver says ``name`` names (字节跳动, ByteDance, 抖音 …)."""
    from bot.changes.resolver import company_of, resolve

    wanted = _fold(name)
    entity = str(record.get("entity") or "")
    if not wanted or not entity:
        return False
    if wanted in _fold(entity) or wanted in _fold(str(record.get("entity_en") or "")):
        return True
    company = company_of(entity)
    return company is not None and company in resolve(name)


def matches_query(record: Mapping[str, Any], text: str) -> bool:
    """``text`` occurs in the name, filer (either language), products, purpose or filing number
    (a Latin word only whole, ``storage.words``, as in the web search)."""
    fields = ("name", "entity", "entity_en", "purpose", "filing_number")
    haystack = [str(record.get(f) or "") for f in fields] + [str(p) for p in record.get("products") or []]
    return any(contains_words(value, text) for value in haystack)


def group_filter(name: str | None, *, foreign: bool = False) -> Callable[[Mapping[str, Any]], bool] | None:
    """Which records ``--group NAME`` (a company group or foreign company: key, Chinese or English
    name, brand, as the resolver knows them) and ``--foreign`` keep; None keeps every record.
    ValueError (naming the option) for a name that names no company."""
    from bot.changes.companies import ForeignFiler
    from bot.changes.resolver import company_label, company_of, resolve, suggest

    if name is None and not foreign:
        return None
    wanted = resolve(name) if name is not None else ()
    if name is not None and not wanted:
        hint = ", ".join(company_label(c) for c in suggest(name))
        raise ValueError(f"--group: {name[:60]!r} names no company group or foreign company" + (f" (did you mean {hint}?)" if hint else ""))

    def keep(record: Mapping[str, Any]) -> bool:
        company = company_of(str(record.get("entity") or ""))
        if company is None:
            return False
        return (not wanted or company in wanted) and (not foreign or isinstance(company, ForeignFiler))

    return keep


def _readable(name: str, value: Any) -> Any:
    """An XLSX cell as a reader wants it: kinds, states and changes in words."""
    if name == "kind" and value:
        zh, en = kind_names("series").get(str(value), (str(value), ""))
        return f"{zh} {en}".strip()
    if name == "status" and value:
        return {"cancelled": "已注销 cancelled", "active": "有效 active"}.get(str(value), str(value))
    if name == "registration" and value:
        zh, en = REGISTRATION_LABELS.get(str(value), (str(value), ""))
        return f"{zh} {en}".strip()
    if name == "removed":
        return "是 yes" if value else ""
    if name == "change" and value:
        zh, en = CHANGE_LABELS.get("new" if value == "created" else str(value), (str(value), ""))
        return f"{zh} {en}".strip()
    return _flat(value)


def write_export(
    records: Iterable[Mapping[str, Any]],
    fmt: ExportFormat,
    out: BinaryIO,
    *,
    columns: Sequence[str] = FILING_COLUMNS,
) -> int:
    """Write records to a binary stream; returns how many were written. Columns a record
    lacks are empty (null in JSON)."""
    count = 0
    if fmt == "jsonl":
        for record in records:
            line = json.dumps({name: _field(record, name) for name in columns}, ensure_ascii=False)
            out.write(line.encode("utf-8") + b"\n")
            count += 1
    elif fmt == "csv":
        # UTF-8 with BOM: Excel then opens Chinese text correctly.
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(columns)
        for record in records:
            writer.writerow([safe_cell(_field(record, name)) for name in columns])
            count += 1
        text.flush()
        text.detach()
    elif fmt == "xlsx":
        count = _write_xlsx(records, columns, out)
    else:  # pragma: no cover - typer restricts the choice
        raise ValueError(f"unknown export format {fmt!r}")
    return count


def csv_chunks(pages: Iterable[Iterable[Mapping[str, Any]]], *, columns: Sequence[str] = FILING_COLUMNS) -> Iterator[bytes]:
    """The CSV of ``write_export``, one chunk per page of records (for a streamed download):
    the BOM and the header first, then each page's rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield "\ufeff".encode("utf-8") + buffer.getvalue().encode("utf-8")
    for page in pages:
        buffer.seek(0)
        buffer.truncate()
        for record in page:
            writer.writerow([safe_cell(_field(record, name)) for name in columns])
        yield buffer.getvalue().encode("utf-8")


def _write_xlsx(records: Iterable[Mapping[str, Any]], columns: Sequence[str], out: BinaryIO) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("filings")
    sheet.freeze_panes = "A2"
    for index, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(name, 16)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    header = []
    for name in columns:
        zh, en = _HEADERS.get(name, (name, name))
        cell = WriteOnlyCell(sheet, value=f"{zh}\n{en}")
        cell.font, cell.alignment = bold, wrap
        header.append(cell)
    sheet.append(header)
    count = 0
    for record in records:
        row: list[Any] = []
        for name in columns:
            text = _readable(name, _field(record, name))
            if starts_formula(text):
                # openpyxl would store "=…" as a formula: a text cell, quote-prefixed like
                # Excel's own apostrophe, keeps the value exactly as published.
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"
                cell.quotePrefix = True
                row.append(cell)
            else:
                row.append(text)
        sheet.append(row)
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    if out.seekable():  # a file: zipped straight into it, no second copy in memory
        workbook.save(out)
        return count
    buffer = io.BytesIO()
    workbook.save(buffer)
    out.write(buffer.getvalue())
    return count


def export_to_path(
    records: Iterable[Mapping[str, Any]], fmt: ExportFormat, path: Path, *, columns: Sequence[str] = FILING_COLUMNS
) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        return write_export(records, fmt, out, columns=columns)
