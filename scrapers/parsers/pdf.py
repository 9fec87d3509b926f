"""PDF tables → raw rows, with wrapped cell lines joined the way a reader would.

pdfplumber's table finder finds the ruled tables (one per page; GenAI lists repeat
no header on later pages — ``scrapers.tables`` carries the header over) on pages
read by PDFium (``scrapers.parsers.pdfium_page``: 3.5–4× faster than pdfminer, rows
identical on every PDF we have; see docs/benchmarks.md). A PDF with text PDFium cannot
read back (a lone CJK character in a non-embedded font) is read by pdfminer instead, and
a PDF without any ruled table goes through pdfplumber/pdfminer for its text-alignment strategy. Cell text is rebuilt
from the characters rather than taken from ``Table.extract()`` because joining
wrapped lines needs their geometry:

* next to a CJK character a line break is nothing (``研究有`` / ``限公司``);
* between two Latin characters it is a wrap at a space (``Hi`` / ``Echo``, the
  space dropped by the writer) and becomes one space — unless the previous line
  is a single word filling the cell (a word longer than the line was split:
  ``Zhejiang-DeepSeek23-2024`` / ``1220S8084``), then nothing.
"""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Sequence
from typing import Any

import pdfplumber
import pypdfium2 as pdfium  # type: ignore[import-untyped]

from scrapers.limits import DEFAULT_LIMITS, ParseLimits, check
from scrapers.normalize import is_wide
from scrapers.parsers import Table
from scrapers.parsers.pdfium_page import PdfiumPage
from scrapers.records import ParseError

__all__ = ["extract_tables", "join_lines"]

Char = dict[str, Any]
BBox = tuple[float, float, float, float]

_LINE_TOLERANCE = 3.0  # chars whose tops differ less than this share a line
_SPACE_GAP = 0.25  # a horizontal gap wider than this × font size is a space

_TEXT_SETTINGS = {"vertical_strategy": "text", "horizontal_strategy": "text"}


def _lines(chars: list[Char]) -> list[list[Char]]:
    """Group a cell's chars into lines (top to bottom), each sorted left to right."""
    lines: list[list[Char]] = []
    for ch in sorted(chars, key=lambda c: (round(c["top"], 1), c["x0"])):
        if lines and abs(ch["top"] - lines[-1][0]["top"]) <= _LINE_TOLERANCE:
            lines[-1].append(ch)
        else:
            lines.append([ch])
    return [sorted(line, key=lambda c: c["x0"]) for line in lines]


def _line_text(line: list[Char]) -> str:
    out: list[str] = []
    prev: Char | None = None
    for ch in line:
        text = ch.get("text", "")
        # A gap between two CJK chars is justification/letter spacing, not a space.
        if prev is not None and text != " " and (out and out[-1] != " ") and not (is_wide(text[:1]) and is_wide(out[-1][-1:])):
            gap = ch["x0"] - prev["x1"]
            if gap > _SPACE_GAP * max(float(ch.get("size") or 10.0), 1.0):
                out.append(" ")
        out.append(text)
        prev = ch
    # Not stripped: a trailing/leading space char tells a wrap at a word boundary.
    return "".join(out)


def join_lines(lines: Sequence[tuple[str, float, float]], inner_width: float) -> str:
    """Join wrapped lines ``(text, ink width, first char width)`` of one cell.

    Writers wrap Latin words at spaces (dropping the space) and split inside a
    space-free token only when it must: a token with CJK in it (reportlab and
    WPS break those anywhere) or one wider than the line. So a Latin–Latin break
    is a space unless the line was full (the next char would not fit in the
    room left, ``inner_width`` being the usable cell width) AND the token before
    the break contains CJK or is the whole line; a trailing ``-`` joins too.
    """
    out = ""
    prev: tuple[str, float, float] | None = None
    for line in lines:
        raw, _, first_width = line
        text = raw.strip()
        if not text:
            continue
        if prev is None or not out:
            out, prev = text, line
            continue
        prev_text = prev[0].strip()
        last_token = prev_text.split()[-1]
        full = inner_width - prev[1] < 1.2 * first_width
        breakable = any(is_wide(ch) for ch in last_token) or last_token == prev_text
        if is_wide(out[-1]) or is_wide(text[0]):
            out += text
        elif prev[0].endswith(" ") or raw.startswith(" "):
            out += " " + text
        elif out[-1] in "-/_" or (full and breakable):
            out += text
        else:
            out += " " + text
        prev = line
    return out


def _ink_width(line: list[Char]) -> float:
    ink = [c for c in line if c.get("text", "").strip()]
    return (ink[-1]["x1"] - ink[0]["x0"]) if ink else 0.0


# Marks PDF text extraction reports in place of a printed hyphen: PDFium turns a hyphen that
# ends a line before a letter or digit into ``\x02`` (its "hyphen at a line end" code), and a
# font may map the hyphen glyph to the soft hyphen U+00AD. Both are drawn glyphs: a hyphen.
_HYPHEN_MARKS = frozenset("\x02\u00ad")


def _is_mark(text: str) -> bool:
    """A control or format character (Cc/Cf) standing for a drawn glyph."""
    # isprintable() is False for every Cc/Cf character: most characters stop at this C-speed test.
    return len(text) == 1 and not text.isprintable() and not text.isspace() and unicodedata.category(text) in ("Cc", "Cf")


def _printed(lines: list[list[Char]]) -> list[list[Char]]:
    """Restore what is printed: a hyphen mark is ``-``; another control or format mark is
    ``-`` where it ends a line that wraps (the place of a hyphen), else nothing (dropped)."""
    out: list[list[Char]] = []
    for n, line in enumerate(lines):
        if not any(_is_mark(c.get("text", "")) for c in line):
            out.append(line)
            continue
        ink = [i for i, c in enumerate(line) if c.get("text", "").strip()]
        last = ink[-1] if ink else -1
        kept: list[Char] = []
        for i, c in enumerate(line):
            text = c.get("text", "")
            if not _is_mark(text):
                kept.append(c)
            elif text in _HYPHEN_MARKS or (i == last and n < len(lines) - 1):
                kept.append({**c, "text": "-"})
        if kept:
            out.append(kept)
    return out


def _cell_text(chars: list[Char], bbox: BBox) -> str:
    if not chars:
        return ""
    lines = _printed(_lines(chars))
    if not lines:
        return ""
    if len(lines) == 1:
        return _line_text(lines[0]).strip()
    x0, _, x1, _ = bbox
    # Padding is symmetric; the line closest to the left border shows it.
    starts = [next((c["x0"] for c in line if c.get("text", "").strip()), line[0]["x0"]) for line in lines]
    pad = max(0.0, min(starts) - x0)
    inner = max(1.0, (x1 - x0) - 2 * pad)
    joined = [
        (_line_text(line), _ink_width(line), line[0]["x1"] - line[0]["x0"])
        for line in lines
    ]
    return join_lines(joined, inner)


def _dedupe(chars: list[Char]) -> list[Char]:
    """Drop overprinted duplicates (fake bold), in O(n) unlike pdfplumber's."""
    seen: set[tuple[str, int, int]] = set()
    out: list[Char] = []
    for c in chars:
        key = (c.get("text", ""), round(c["x0"]), round(c["top"]))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _inside(ch: Char, bbox: BBox) -> bool:
    mx = (ch["x0"] + ch["x1"]) / 2
    my = (ch["top"] + ch["bottom"]) / 2
    return bool(bbox[0] <= mx <= bbox[2] and bbox[1] <= my <= bbox[3])


def _table_rows(table: Any, chars: list[Char]) -> Table:
    tb = table.bbox
    mine = [c for c in chars if _inside(c, tb)]
    out: Table = []
    spans: dict[int, tuple[float, str]] = {}  # column → (bottom, text) of the cell above
    col_x0: dict[int, float] = {}  # grid column → its left edge, from unmerged cells
    for row in table.rows:
        for ci, bbox in enumerate(row.cells):
            if bbox is not None:
                col_x0[ci] = min(col_x0.get(ci, bbox[0]), bbox[0])
    for row in table.rows:
        cells: list[BBox | None] = list(row.cells)
        rb = row.bbox
        row_chars = [c for c in mine if rb[1] <= (c["top"] + c["bottom"]) / 2 <= rb[3]]
        texts: list[str] = []
        for ci, bbox in enumerate(cells):
            if bbox is None:
                # Covered by a merged cell: the one to the left (horizontal merge,
                # its bbox reaches over) or the one above (vertical merge).
                left = next((cells[j] for j in range(ci - 1, -1, -1) if cells[j] is not None), None)
                above = spans.get(ci)
                if above is not None and above[0] > rb[1] + 1:
                    texts.append(above[1])
                elif left is not None and texts and ci in col_x0 and left[2] > col_x0[ci] + 1:
                    texts.append(texts[-1])
                else:
                    texts.append("")
                continue
            text = _cell_text([c for c in row_chars if _inside(c, bbox)], bbox)
            spans[ci] = (bbox[3], text)
            texts.append(text)
        out.append(texts)
    return out


def _closing_lines(page: Any) -> dict[str, Any]:
    """Table settings that close a table whose row was split by a page break.

    A row broken across pages is drawn without the border at the cut, so its
    fragment has vertical rules but no closing horizontal one and pdfplumber
    would drop it. Horizontal lines where the vertical rules start and end
    restore the missing border.
    """
    verticals = [e for e in page.edges if e.get("orientation") == "v" and e["bottom"] - e["top"] > 5]
    if not verticals:
        return {}
    top = min(e["top"] for e in verticals)
    bottom = max(e["bottom"] for e in verticals)
    return {"explicit_horizontal_lines": [top, bottom]}


_SNAP = 3.0  # pdfplumber's default snap tolerance: rules closer than this are one


def _check_page(page: Any, number: int, limits: ParseLimits, used: list[int]) -> None:
    """Size the ruling grid before table finding, which costs about (rows × columns)²:
    a 2.5 KB page ruled 300 × 300 takes minutes. Rules are counted by distinct position."""
    edges = page.edges
    check(f"page {number}: ruling edges", len(edges), limits.max_rulings_per_page)
    used[0] += len(edges)
    check("ruling edges of the document", used[0], limits.max_rulings_total)
    rows = {round(e["top"] / _SNAP) for e in edges if e.get("orientation") == "h"}
    cols = {round(e["x0"] / _SNAP) for e in edges if e.get("orientation") == "v"}
    grid = len(rows) * len(cols)
    check(f"page {number}: ruling grid ({len(rows)} × {len(cols)} rules)", grid, limits.max_grid_per_page)
    used[1] += grid
    check("ruling grids of the document (summed over pages)", used[1], limits.max_grid_total)
    check(f"page {number}: characters", len(page.chars), limits.max_chars_per_page)


_PDFIUM = threading.Lock()  # PDFium is not thread-safe; in-process parses may run in threads


class _UnreadText(Exception):
    """PDFium could not read back some text of the document: read it with pdfminer instead."""


def _page_tables(page: Any, number: int, limits: ParseLimits, used: list[int]) -> list[Table]:
    """The ruled tables of one page (PDFium- or pdfminer-read), top to bottom, left to right."""
    _check_page(page, number, limits, used)
    found = page.find_tables(_closing_lines(page))
    if not found:
        return []
    chars = _dedupe(page.chars)
    tables = (_table_rows(table, chars) for table in sorted(found, key=lambda t: (t.bbox[1], t.bbox[0])))
    return [rows for rows in tables if rows]


def _ruled_tables(data: bytes, limits: ParseLimits) -> list[Table]:
    """Ruled tables from pages read by PDFium; by pdfminer when PDFium left some text unread."""
    try:
        return _ruled_tables_pdfium(data, limits)
    except _UnreadText:
        return _ruled_tables_pdfminer(data, limits)


def _ruled_tables_pdfium(data: bytes, limits: ParseLimits) -> list[Table]:
    tables: list[Table] = []
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise ParseError(f"corrupt pdf: {exc}") from exc
        try:
            pages = len(document)
            if not pages:
                raise ParseError("corrupt pdf: no pages")
            check("page count", pages, limits.max_pages)
            used = [0, 0]  # ruling edges, grid positions
            for number in range(1, pages + 1):
                pdfium_page = document[number - 1]
                try:
                    page = PdfiumPage(pdfium_page)
                finally:
                    pdfium_page.close()
                if page.unread_text:
                    raise _UnreadText(f"page {number}: {page.unread_text} text objects")
                tables += _page_tables(page, number, limits, used)
        finally:
            document.close()
    return tables


def _open_pdfminer(data: bytes) -> Any:
    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many unrelated types
        raise ParseError(f"corrupt pdf: {type(exc).__name__}: {exc}") from exc


def _ruled_tables_pdfminer(data: bytes, limits: ParseLimits) -> list[Table]:
    tables: list[Table] = []
    with _open_pdfminer(data) as pdf:
        check("page count", len(pdf.pages), limits.max_pages)
        used = [0, 0]
        for number, page in enumerate(pdf.pages, start=1):
            tables += _page_tables(page, number, limits, used)
            page.close()
    return tables


def _text_aligned_tables(data: bytes, limits: ParseLimits) -> list[Table]:
    """No ruled table anywhere: try aligned text columns (pdfplumber's text strategy)."""
    tables: list[Table] = []
    with _open_pdfminer(data) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            chars = page.chars
            check(f"page {number}: characters", len(chars), limits.max_chars_per_page)
            for table in page.find_tables(_TEXT_SETTINGS):
                rows = _table_rows(table, chars)
                if rows:
                    tables.append(rows)
            page.close()
    return tables


def extract_tables(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> list[Table]:
    """Every ruled table of every page, in page order (one list per table)."""
    tables = _ruled_tables(data, limits) or _text_aligned_tables(data, limits)
    if not tables:
        raise ParseError("no table found in the pdf")
    return tables
