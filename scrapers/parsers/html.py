"""HTML ``<table>`` → raw rows (colspan repeated, rowspan carried down).

An attachment URL answered with HTML is usually a block or error page; a page
without a table says so clearly instead of yielding an empty list.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from bs4.element import Tag

from scrapers.limits import DEFAULT_LIMITS, ParseLimits, check
from scrapers.normalize import clean_text
from scrapers.parsers import Table
from scrapers.records import ParseError

__all__ = ["extract_tables"]

_BLOCKS = ("p", "div", "li", "tr")


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _span(tag: Tag, attr: str) -> int:
    try:
        return max(1, min(int(str(tag.get(attr, "1")).strip() or 1), 1000))
    except ValueError:
        return 1


def _cell_text(cell: Tag) -> str:
    for br in cell.find_all("br"):
        br.replace_with("\n")
    for block in cell.find_all(_BLOCKS):
        block.append("\n")
    return cell.get_text("").strip()


def _own_rows(table: Tag) -> list[Tag]:
    return [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]  # not a nested table's


def _check_size(rows: list[Tag], limits: ParseLimits, used: list[int]) -> None:
    """Each span is capped at 1000, but not their sum: size the grid before repeating anything."""
    check("table row count", len(rows), limits.max_rows)
    for tr in rows:
        width = 0
        for cell in tr.find_all(["td", "th"], recursive=False):
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            width += colspan
            used[0] += colspan * min(rowspan, len(rows))
        check("grid columns of a table row (colspan)", width, limits.max_columns)
        check("grid cells of the page's tables (colspan × rowspan)", used[0], limits.max_cells)


def _rows(table: Tag, limits: ParseLimits, chars: list[int]) -> Table:
    out: Table = []
    carried: dict[int, tuple[int, str]] = {}  # column → (rows left, text) from rowspan
    for tr in _own_rows(table):
        row: list[str] = []
        col = 0

        def fill_carried() -> None:
            nonlocal col
            while col in carried:
                left, text = carried[col]
                row.append(text)
                if left <= 1:
                    del carried[col]
                else:
                    carried[col] = (left - 1, text)
                col += 1

        for cell in tr.find_all(["td", "th"], recursive=False):
            fill_carried()
            text = _cell_text(cell)
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            chars[0] += len(text) * colspan * rowspan
            check("cell text of the page's tables", chars[0], limits.max_text)
            for k in range(colspan):
                row.append(text)
                if rowspan > 1:
                    carried[col] = (rowspan - 1, text)
                col += 1
        fill_carried()
        out.append(row)
    return out


def extract_tables(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> list[Table]:
    soup = BeautifulSoup(_decode(data), "lxml")
    used = [0]
    for table in soup.find_all("table"):
        _check_size(_own_rows(table), limits, used)
    chars = [0]
    tables = [_rows(t, limits, chars) for t in soup.find_all("table")]
    tables = [t for t in tables if t]
    if not tables:
        title = clean_text(soup.title.get_text()) if soup.title else ""
        raise ParseError(
            "got an HTML page without a table instead of a list"
            + (f" (page title: {title[:80]!r}; blocked or an error page?)" if title else "")
        )
    return tables
