"""PDF pages read by PDFium give the same rows as pages read by pdfplumber/pdfminer.

``scrapers.parsers.pdf`` feeds pdfplumber's table finder with PDFium's chars and
rules (issue 13: ~4× faster). This compares, table by table, with the same
algorithm run on pdfplumber's own pages, over every PDF we have: the replica's
real list and generated lists with each layout quirk. A PDF without rules still
goes through pdfplumber's text strategy.
"""

from __future__ import annotations

import io
from typing import Any

import pdfplumber
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from scrapers.parse import parse_attachment
from scrapers.parsers import Table
from scrapers.parsers.pdfium_page import PdfiumPage
from scrapers.parsers.pdf import _TEXT_SETTINGS, _closing_lines, _dedupe, _table_rows, extract_tables
from scrapers.records import Kind, ParseError

from builders import CANCEL_HEADER, DEEP_HEADER, GENAI_HEADER, GENAI_HEADER_V2, make_pdf
from test_parse import genai_rows, quirky_deep_rows, ref_for, sample_attachments

def _with_pdfplumber_pages(data: bytes) -> list[Table]:
    """The previous implementation: the same steps on pdfminer-read pages."""
    tables: list[Table] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            found = page.find_tables(_closing_lines(page))
            chars = _dedupe(page.chars)
            for table in sorted(found, key=lambda t: (t.bbox[1], t.bbox[0])):
                rows = _table_rows(table, chars)
                if rows:
                    tables.append(rows)
    return tables


def _split_row_list() -> list[list[Any]]:
    rows = genai_rows(60)
    rows[44][3] = "杭州深度求索人工智能基础技术研究有限公司" * 6
    return rows


# Wide enough first columns that no cell wraps to a lone CJK character (see below).
WIDE = [42, 45, 110, 120, 170, 80]
PDFS = {
    "three-pages": lambda: make_pdf(GENAI_HEADER_V2, genai_rows(90), col_widths=WIDE),
    "wrapped-latin": lambda: make_pdf(
        GENAI_HEADER,
        [["1", "北京市", "Kimi 智能助手 Hi Echo Talking Ai", "北京月之暗面科技有限公司", "Beijing-KimiZhiNengZhuShouHiEcho-20240802S0001", "2024/8/2"]],
        col_widths=[40, 45, 70, 90, 80, 60],
    ),
    "row-split-over-pages": lambda: make_pdf(GENAI_HEADER_V2, _split_row_list(), col_widths=WIDE, split_in_row=True),
    "cancellation": lambda: make_pdf(CANCEL_HEADER, [[1, "某算法", "某公司", "网信算备110000000000000001号", "2024/5/6"]]),
}
# Cells that wrap to a line of one CJK character (序 / 号 in a narrow 序号 column, a last 司):
# some PDFium builds give no character at all for such a string in a non-embedded CID font.
LONE_CHARACTERS = {
    "narrow-first-column": lambda: make_pdf(GENAI_HEADER_V2, genai_rows(90), col_widths=[30, *WIDE[1:]]),
    "deep-quirks": lambda: make_pdf(DEEP_HEADER, quirky_deep_rows(), col_widths=[25, 60, 50, 70, 100, 90, 80, 80]),
    "small-font": lambda: make_pdf(GENAI_HEADER, genai_rows(30), font_size=7),
}


@pytest.mark.parametrize("name", sorted(PDFS))
def test_generated_pdfs_identical_rows(name: str) -> None:
    data = PDFS[name]()
    with pdfium.PdfDocument(data) as document:
        assert all(PdfiumPage(page).unread_text == 0 for page in document)  # PDFium read every page itself
    assert extract_tables(data) == _with_pdfplumber_pages(data)


@pytest.mark.parametrize("name", sorted(LONE_CHARACTERS))
def test_text_pdfium_leaves_unread_is_read_by_pdfminer(name: str) -> None:
    """Whatever this PDFium build does with lone characters, no character is lost: a page with a
    text object PDFium cannot read back sends the document through pdfminer."""
    data = LONE_CHARACTERS[name]()
    tables = extract_tables(data)
    assert tables == _with_pdfplumber_pages(data)
    assert tables[0][0][0] == "序号"
    if name == "small-font":
        assert all(row[3] == "北京月之暗面科技有限公司" for table in tables for row in table[1:] if row[3].startswith("北京月之暗面"))


def test_real_pdf_identical_rows() -> None:
    real = [p.read_bytes() for _, p in sample_attachments() if p.read_bytes().startswith(b"%PDF")]
    assert real
    for data in real:
        tables = extract_tables(data)
        assert tables == _with_pdfplumber_pages(data) and sum(len(t) for t in tables) > 50


def test_pdf_without_rules_uses_the_text_strategy() -> None:
    data = make_pdf(GENAI_HEADER, genai_rows(12), grid=False)
    expected: list[Table] = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            expected += [t for t in (_table_rows(x, page.chars) for x in page.find_tables(_TEXT_SETTINGS)) if t]
    assert expected and extract_tables(data) == expected
    # Aligned text cannot tell a wrapped line from a row: the cells come apart and the list is
    # refused (a row without its name), never stored as filings without names or filers.
    with pytest.raises(ParseError, match=r"^pdf: row \d+: no (name|filer|filing number)"):
        parse_attachment(data, ref_for(Kind.GENAI_SERVICE))
    # Rows of one line each come through whole.
    rows = [[str(i), "北京市", f"模型{i}", "北京某科技有限公司", f"Beijing-MoXing{i}-20240802{i:04d}", "2024/8/2"] for i in range(1, 13)]
    parsed = parse_attachment(make_pdf(GENAI_HEADER, rows, grid=False, col_widths=[30, 45, 60, 140, 200, 70]), ref_for(Kind.GENAI_SERVICE))
    assert [(r.name, r.entity, r.filing_number) for r in parsed.rows] == [(row[2], row[3], row[4]) for row in rows]
