"""Turn the raw rows of one logical table into typed FilingRows.

Format parsers (docx, pdf, sheets, html) only extract cell text; everything that
depends on what a column MEANS lives here, so every format gets the same rules:

* columns are found by header TEXT (with synonyms), never by position — CAC
  reorders and renames them (模型名称 → 大模型名称, 备案号 → 备案编号) and a
  gridSpan-merged header cell can make 9 header cells for 8 columns;
* the header may sit below title rows; a table continued on later PDF pages has
  no header and reuses the last one; a repeated header re-maps the columns
  (a list split over two Word tables may change column order);
* a row without a filing number is either the wrapped tail of the previous row
  (PDF page break: only some cells filled) and is merged into it, a stray note
  (one cell filled) skipped with a warning, or a broken row;
* a filing never loses its filer, name or number: a table without such a column,
  or a row left without one of them, is a ParseError for the whole list (a list
  stored half-read would show filings that cannot be found by who filed them);
  注销 notices only need the number (their rows cancel filings, they add none);
* GenAI lists hold several tables, each under its own header: 备案 (filed models,
  备案单位 / 备案号), 登记 (apps registered by provincial offices, 登记单位 /
  上线编号) and from 2026-08 on-device services (备案 plus 适用场景). A row's
  ``registration`` is the table it stands in (the header's words); the number's
  form (``…S0054`` is registered) only fills in for a header that says neither
  and is checked against it (a warning when they disagree).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from scrapers.normalize import (
    PLACEHOLDERS,
    clean_text,
    date_note,
    is_registered_genai_number,
    is_valid_cac_number,
    is_valid_genai_number,
    normalize_filing_number,
    parse_filed_on,
    province_from_number,
    province_from_pinyin,
    role_from_text,
    split_products,
    status_from_remark,
)
from scrapers.header_aliases import header_alias
from scrapers.records import FilingRow, Kind, ParseError, Status

__all__ = [
    "COLUMNS",
    "canonical_column",
    "map_header",
    "find_header",
    "rows_to_filings",
]

COLUMNS: Final[tuple[str, ...]] = (
    "seq",
    "name",
    "role",
    "category",
    "entity",
    "products",
    "purpose",
    "number",
    "remark",
    "province",
    "filed_on",
    "cancelled_on",
    "scenario",
)

# Exact header texts (NFKC, all whitespace removed) → canonical column.
_EXACT: Final[dict[str, str]] = {
    "序号": "seq",
    "序": "seq",
    "no": "seq",
    "no.": "seq",
    "编号序号": "seq",
    "算法名称": "name",
    "模型名称": "name",
    "大模型名称": "name",
    "服务名称": "name",
    "名称": "name",
    "算法/模型名称": "name",
    "应用/功能名称": "name",
    "应用名称": "name",
    "功能名称": "name",
    "角色": "role",
    "算法类别": "category",
    "类别": "category",
    "主体名称": "entity",
    "备案单位": "entity",
    "企业名称": "entity",
    "单位名称": "entity",
    "备案主体": "entity",
    "登记单位": "entity",
    "登记主体": "entity",
    "应用产品": "products",
    "关联产品": "products",
    "主要用途": "purpose",
    "用途": "purpose",
    "备案编号": "number",
    "备案号": "number",
    "上线编号": "number",
    "登记编号": "number",
    "编号": "number",
    "备注": "remark",
    "说明": "remark",
    "属地": "province",
    "所在地": "province",
    "备案时间": "filed_on",
    "备案日期": "filed_on",
    "登记时间": "filed_on",
    "登记日期": "filed_on",
    "适用场景": "scenario",
    "应用场景": "scenario",
    "注销时间": "cancelled_on",
    "注销日期": "cancelled_on",
}

# Fallback keyword rules, in priority order (主体名称 must hit entity before the
# generic 名称 → name rule; 注销时间 before 备案时间 …).
_KEYWORDS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("cancelled_on", ("注销时间", "注销日期")),
    ("filed_on", ("备案时间", "备案日期", "登记时间", "登记日期", "上线时间")),
    ("seq", ("序号",)),
    ("number", ("备案编号", "备案号", "登记编号", "登记号", "编号")),
    ("role", ("角色",)),
    ("category", ("类别", "算法类型")),
    ("entity", ("主体名称", "备案单位", "登记单位", "企业名称", "单位名称", "备案主体", "机构名称", "公司名称", "备案企业", "主体", "单位")),
    ("products", ("产品",)),
    ("purpose", ("用途",)),
    ("remark", ("备注",)),
    ("province", ("属地", "所在地", "省份", "地区", "省市", "区域")),
    ("scenario", ("场景",)),
    ("filed_on", ("时间", "日期")),
    ("name", ("名称",)),
)

# Header cells are short labels; a long cell is data (a remark like
# 原主体名称“X”变更为“Y” must not look like a 主体名称 header).
_MAX_HEADER_LEN: Final = 16
_CORE: Final[frozenset[str]] = frozenset(
    {"name", "role", "category", "entity", "products", "purpose", "number", "province", "filed_on", "scenario"}
)
# What every filing must have (注销 notices: only the number), with the words a reader
# looks for in the header when the column is missing.
_REQUIRED: Final[tuple[tuple[str, str], ...]] = (
    ("number", "filing number (备案编号 / 备案号 / 上线编号)"),
    ("name", "name (算法名称 / 模型名称 / 应用/功能名称)"),
    ("entity", "filer (主体名称 / 备案单位 / 登记单位)"),
)
_HEADER_SEARCH_ROWS: Final = 15


def _key(cell: object) -> str:
    return "".join(clean_text(cell, nfkc=True).split()).lower()


def canonical_column(cell: object) -> str | None:
    """The canonical column a header cell names, or None."""
    h = _key(cell)
    # The operator's sources.cac.header_aliases first (scrapers.header_aliases): a renamed column.
    if h and (alias := header_alias(h)) is not None:
        return alias
    if not h or len(h) > _MAX_HEADER_LEN:
        return None
    # Drop bracketed notes: 备案编号(注) / 属地（省份）.
    h = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", h) or h
    if h in _EXACT:
        return _EXACT[h]
    for canon, words in _KEYWORDS:
        if any(w in h for w in words):
            return canon
    return None


@dataclass(slots=True)
class _Header:
    # Grid column index → canonical column; several indexes may share one.
    columns: dict[int, str]
    width: int
    texts: list[str] = field(default_factory=list)
    # GenAI: ``filed`` under a 备案 header, ``registered`` under a 登记 header, None when
    # the header says neither (the number's form decides then).
    registration: str | None = None

    def has(self, canon: str) -> bool:
        return canon in self.columns.values()

    def label(self, canon: str) -> str:
        """The header text of ``canon``'s first column (for messages)."""
        return next((self.texts[i] for i, c in sorted(self.columns.items()) if c == canon and i < len(self.texts)), canon)

    def shown(self) -> str:
        return " | ".join(t for t in self.texts if t)[:200]


def _registration_of(keys: Iterable[str]) -> str | None:
    """备案 words (备案单位, 备案号, 备案时间) mark the table of filed services, 登记 words
    (登记单位, 上线编号, 登记时间) the table of registered apps; the majority wins."""
    filed = registered = 0
    for key in keys:
        if "登记" in key or "上线" in key:
            registered += 1
        elif "备案" in key:
            filed += 1
    if filed == registered:
        return None
    return "registered" if registered > filed else "filed"


def map_header(row: Sequence[object]) -> _Header | None:
    """A header mapping when ``row`` looks like a header, else None.

    A header names the filing-number column and at least two other columns.
    An empty header cell right after a named one inherits its name: pdfplumber
    returns None for the second grid column of a merged header cell.
    """
    columns: dict[int, str] = {}
    prev: str | None = None
    for i, cell in enumerate(row):
        canon = canonical_column(cell)
        if canon is None and not _key(cell) and prev is not None:
            canon = prev
        if canon is not None:
            columns[i] = canon
        prev = canon if _key(cell) else prev
    _prefer_specific_number(columns, row)
    distinct = set(columns.values())
    if "number" not in distinct:
        return None
    # A list names at least three things; a 注销 notice may only give the number
    # and the cancellation date.
    if len(distinct - {"seq"}) < 3 and "cancelled_on" not in distinct:
        return None
    return _Header(
        columns=columns,
        width=len(row),
        texts=[clean_text(c) for c in row],
        registration=_registration_of(_key(row[i]) for i in columns),
    )


def _prefer_specific_number(columns: dict[int, str], row: Sequence[object]) -> None:
    """A bare 编号 next to a real 备案编号 column is the row number (序号)."""
    numbers = [i for i, c in columns.items() if c == "number"]
    if len(numbers) < 2:
        return
    bare = [i for i in numbers if _key(row[i]) in ("编号", "no", "no.")]
    if bare and len(bare) < len(numbers):
        for i in bare:
            columns[i] = "seq"


def find_header(rows: Sequence[Sequence[object]], limit: int = _HEADER_SEARCH_ROWS) -> tuple[int, _Header] | None:
    """Index and mapping of the first header row among the first ``limit`` rows."""
    for i, row in enumerate(rows[:limit]):
        header = map_header(row)
        if header is not None:
            return i, header
    return None


def _pick(row: Sequence[object], header: _Header) -> dict[str, str]:
    """Canonical column → raw text (newlines kept; split_products needs them).

    When several grid columns share a canonical column (merged header), the
    distinct non-empty values are joined in order — usually there is just one.
    """
    values: dict[str, list[str]] = {}
    for i, canon in header.columns.items():
        if i >= len(row):
            continue
        cell = row[i]
        text = "" if cell is None else str(cell).strip()
        bucket = values.setdefault(canon, [])
        if text and text not in bucket:
            bucket.append(text)
    return {canon: "\n".join(parts) for canon, parts in values.items()}


def _filled_core(raw: dict[str, str]) -> int:
    return sum(1 for k, v in raw.items() if k in _CORE and clean_text(v))


def _digits(s: str) -> int:
    return sum(ch.isdigit() for ch in s)


def _is_blank(row: Sequence[object]) -> bool:
    return all(not clean_text(c) for c in row)


def _is_title_row(row: Sequence[object]) -> bool:
    """One text spread over the whole row: a merged title / note row."""
    texts = {clean_text(c) for c in row} - {""}
    return len(texts) == 1 and sum(1 for c in row if clean_text(c)) > 1


def _merge(into: dict[str, str], tail: dict[str, str]) -> None:
    # A wrapped tail continues the cell: join with a line break and let
    # clean_text decide (nothing next to CJK, a space between Latin words).
    for k, v in tail.items():
        if not v.strip():
            continue
        into[k] = f"{into[k]}\n{v}" if into.get(k, "").strip() else v


@dataclass(slots=True)
class _Record:
    """One data row being assembled: its cells, the header it stands under, where it began."""

    raw: dict[str, str]
    header: _Header
    pos: int


def _shown(row: Sequence[object]) -> str:
    return " | ".join(clean_text(c) for c in row)[:120]


def _check_header(header: _Header, pos: int, is_cancellation: bool) -> None:
    """A header whose rows could not be filings with a filer, a name and a number."""
    needed = _REQUIRED[:1] if is_cancellation else _REQUIRED
    missing = [what for canon, what in needed if not header.has(canon)]
    if missing:
        raise ParseError(f"row {pos}: the header 「{header.shown()}」 has no column for the " + " or ".join(missing))


def _check_record(record: _Record, is_cancellation: bool) -> None:
    """A row left without its number, name or filer: the list cannot be read whole."""
    needed = _REQUIRED[:1] if is_cancellation else _REQUIRED
    number, _ = normalize_filing_number(record.raw.get("number", ""))
    for canon, what in needed:
        value = clean_text(record.raw.get(canon, ""), nfkc=True)
        if canon == "number" and value and _digits(value) == 0:
            # 待定, --, a stray word: not a number CAC could have issued.
            raise ParseError(f"row {record.pos}: no filing number: the {record.header.label(canon)} cell reads {value[:40]!r}")
        if value in PLACEHOLDERS or not value.strip("-—–_/ "):
            about = f" of {number}" if number and canon != "number" else ""
            shown = " | ".join(clean_text(v) for v in record.raw.values() if clean_text(v))[:120]
            raise ParseError(
                f"row {record.pos}: no {what.split(' (')[0]}{about}: the {record.header.label(canon)} cell is empty ({shown})"
            )


def rows_to_filings(
    table_rows: Iterable[Sequence[object]],
    kind: Kind,
    is_cancellation: bool = False,
) -> tuple[list[FilingRow], list[str]]:
    """Map raw table rows (of one logical table) to FilingRows plus warnings.

    Raises ParseError("headers not recognised: …") when no header is found in the
    first rows, ParseError("no rows") when the table has no data row, and a
    ParseError naming the row or header when a filing would lack its filer, name
    or number.
    """
    rows = [list(r) for r in table_rows]
    found = find_header(rows)
    if found is None:
        seen = [" | ".join(clean_text(c) for c in r) for r in rows[:5] if not _is_blank(r)]
        raise ParseError("headers not recognised: " + ("; ".join(seen)[:400] or "(empty table)"))
    start, header = found
    _check_header(header, start, is_cancellation)
    warnings: list[str] = []

    records: list[_Record] = []
    for pos in range(start + 1, len(rows)):
        row = rows[pos]
        if _is_blank(row):
            continue
        again = map_header(row)
        if again is not None:
            # Repeated header (new table / new page) or the next table's own header (a
            # GenAI 登记 table in the flow of a PDF): it may reorder and rename columns.
            _check_header(again, pos, is_cancellation)
            header = again
            continue
        if len(row) != header.width:
            warnings.append(
                f"row {pos}: {len(row)} cells where the header has {header.width}; mapped by position of the header"
            )
        raw = _pick(row, header)
        number_raw = raw.get("number", "")
        number, _ = normalize_filing_number(number_raw)
        if _is_title_row(row) and not (is_valid_cac_number(number) or is_valid_genai_number(number)):
            continue
        n_core = sum(1 for c in set(header.columns.values()) if c in _CORE)
        partial = not clean_text(raw.get("seq", "")) and _filled_core(raw) <= max(1, n_core // 2)
        prev = records[-1] if records else None
        if prev is not None and partial and prev.header is header:
            prev_number, prev_flags = normalize_filing_number(prev.raw.get("number", ""))
            if not number:
                _merge(prev.raw, raw)
                continue
            if prev_flags and normalize_filing_number(prev_number + number)[1] == ():
                # The number itself wrapped over a page break (or all of it went to the
                # next page, leaving the row above without one).
                _merge(prev.raw, {k: v for k, v in raw.items() if k != "number"})
                prev.raw["number"] = prev_number + number
                continue
        if number and canonical_column(number_raw) is not None and _digits(number) == 0:
            # A header cell in the number column of a row not recognised as a header (a
            # header broken over two rows): never a filing.
            warnings.append(f"row {pos}: header words, not a filing, skipped: {_shown(row)}")
            continue
        if not number and _filled_core(raw) < 2 and not clean_text(raw.get("seq", "")).isdigit():
            # One stray cell (注：排名不分先后, a section title in its first cell); a row with
            # its own 序号 is a filing, and without a number it fails below.
            warnings.append(f"row {pos}: a note, not a filing, skipped: {_shown(row)}")
            continue
        # A data row without a number is kept for now: the tail of its row on the next
        # page may bring the number; _check_record refuses it otherwise.
        records.append(_Record(raw, header, pos))

    if not records:
        raise ParseError("no rows: the table has a header but no data rows")
    for record in records:
        _check_record(record, is_cancellation)
    out = [_to_filing(r, kind, is_cancellation, i, warnings) for i, r in enumerate(records)]
    return out, warnings


def _registration(kind: Kind, header: _Header, number: str, index: int, warnings: list[str]) -> str | None:
    if kind is not Kind.GENAI_SERVICE:
        return None
    by_number = "registered" if is_registered_genai_number(number) else "filed" if is_valid_genai_number(number) else None
    if header.registration is None:
        return by_number or "filed"
    if by_number is not None and by_number != header.registration:
        warnings.append(f"row {index}: {number} has the {by_number} number form under a {header.registration} table's header")
    return header.registration


_SEQ_MAX = 32  # 序号 as printed is kept up to this many characters (list_rows.seq)


def _to_filing(record: _Record, kind: Kind, is_cancellation: bool, index: int, warnings: list[str]) -> FilingRow:
    raw = record.raw
    number, flags_t = normalize_filing_number(raw.get("number", ""))
    flags = list(flags_t)
    remark = clean_text(raw.get("remark", ""))
    cancelled_on = clean_text(raw.get("cancelled_on", ""))

    filed_raw = raw.get("filed_on", "")
    filed_on = parse_filed_on(filed_raw) if clean_text(filed_raw) else None
    if clean_text(filed_raw) and filed_on is None:
        flags.append("bad_date")
        warnings.append(f"row {index}: unreadable date {clean_text(filed_raw)!r}")
    # 2025/6/30（补登）: a late registration; the note belongs with the remarks.
    note = date_note(filed_raw)
    if note and note not in remark:
        remark = f"{remark}；{note}" if remark else note

    status = Status(status_from_remark(remark))
    if is_cancellation or cancelled_on:
        status = Status.CANCELLED

    role: str | None = None
    category: str | None = None
    if kind is Kind.DEEP_SYNTHESIS:
        role_text = raw.get("role", "")
        role = role_from_text(role_text)
        if role is None and clean_text(role_text):
            flags.append("unknown_role")
            warnings.append(f"row {index}: unknown role {clean_text(role_text)!r}")
    elif kind is Kind.ALGORITHM_RECOMMENDATION:
        category = clean_text(raw.get("category", "")) or None

    written_province = clean_text(raw.get("province", ""))
    scenario: str | None = None
    if kind is Kind.GENAI_SERVICE:
        # 属地 as written (国资委 included); the number's pinyin prefix only fills a missing cell.
        province = written_province or province_from_pinyin(number) or province_from_number(number)
        scenario_text = clean_text(raw.get("scenario", ""))
        scenario = None if scenario_text in PLACEHOLDERS else scenario_text
    else:
        province = province_from_number(number) or written_province or None

    return FilingRow(
        kind=kind,
        filing_number=number,
        name=clean_text(raw.get("name", "")),
        entity=clean_text(raw.get("entity", "")),
        role=role,
        category=category,
        products=tuple(split_products(raw.get("products", ""))),
        purpose=clean_text(raw.get("purpose", "")),
        province=province,
        remark=remark,
        status=status,
        filed_on=filed_on,
        row_index=index,
        flags=tuple(flags),
        registration=_registration(kind, record.header, number, index, warnings),
        scenario=scenario,
        seq=clean_text(raw.get("seq", ""))[:_SEQ_MAX] or None,
    )
