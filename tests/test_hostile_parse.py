"""Issue 10 (items 3, 11): small crafted attachments must not cause unbounded work.

Every file is built here (zipfile / reportlab / xlwt / strings). Each case is
refused by a structural pre-check with ``"<what> exceeds the limit (<n> > <max>)"``
BEFORE the parser expands anything: at the real default limits (the file as
reported in the issue, with tracemalloc showing no big allocation, or in a worker
with a small address-space cap where calamine allocates natively), and at limits
scaled down around a well-formed list (the same list passes one step below).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import random
import tracemalloc
import zipfile
from collections.abc import Callable

import pytest

from scrapers.limits import DEFAULT_LIMITS, ParseLimits
from scrapers.normalize import clean_text, text_key
from scrapers.parse import parse_attachment
from scrapers.records import Kind, ParseError
from scrapers.workers import ParserPool

from builders import DEEP_HEADER, make_docx, make_html_table, make_pdf, make_xls, make_xlsx, ref_for

REF = ref_for(Kind.DEEP_SYNTHESIS)
ROWS = [
    [i, f"算法{i}", "服务提供者", f"北京某某科技有限公司{i}", f"产品{i}", "文本生成", f"网信算备11010500000000{i:04d}号", ""]
    for i in range(1, 11)
]
LIMIT = r"exceeds the limit \(\d+ > \d+\)"

# --- builders of hostile files --------------------------------------------------------------

_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _zip(parts: dict[str, str | bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    return buf.getvalue()


def hostile_xlsx(
    sheet_data: str,
    *,
    merges: str = "",
    shared: list[str] | None = None,
    dimension: str = "",
    sheet_path: str = "xl/worksheets/sheet1.xml",
    sst_path: str = "xl/sharedStrings.xml",
) -> bytes:
    """A minimal, valid xlsx: one sheet with the given ``<sheetData>`` content.

    ``sheet_path``/``sst_path`` place the parts anywhere (the relationships point there)."""
    types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/{sheet_path}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        f'<Override PartName="/{sst_path}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    )
    rels = f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    workbook = f'<workbook xmlns="{_S}" xmlns:r="{_REL}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    wb_rels = (
        f'<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="/{sheet_path}"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="/{sst_path}"/></Relationships>'
    )
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    merge_xml = f"<mergeCells>{merges}</mergeCells>" if merges else ""
    sheet = f'<worksheet xmlns="{_S}">{dim}<sheetData>{sheet_data}</sheetData>{merge_xml}</worksheet>'
    strings = "".join(f"<si><t>{s}</t></si>" for s in shared or [])
    sst = f'<sst xmlns="{_S}" count="{len(shared or [])}" uniqueCount="{len(shared or [])}">{strings}</sst>'
    return _zip({
        "[Content_Types].xml": types, "_rels/.rels": rels, "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": wb_rels, sheet_path: sheet, sst_path: sst,
    })  # fmt: skip


def _inline_row(r: int, values: list[object]) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values)
    )
    return f'<row r="{r}">{cells}</row>'


def list_sheet() -> str:
    return "".join(_inline_row(r, row) for r, row in enumerate([DEEP_HEADER, *ROWS], start=1))


def far_cell_xlsx() -> bytes:
    """Issue row 1: one cell at XFD1048576 (calamine allocates the whole 512 GB grid)."""
    return hostile_xlsx(list_sheet() + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')


def shared_string_bomb(length: int = 20_000, uses: int = 100_000, **where: str) -> bytes:
    """Issue row 2: one long shared string referenced by every cell."""
    # No ``r`` attributes: each cell and row follows the previous one (smaller file, same effect).
    cell = '<c t="s"><v>0</v></c>'
    rows = "".join(f"<row r=\"{r}\">{cell * 8}</row>" for r in range(12, 12 + uses // 8))
    return hostile_xlsx(list_sheet() + rows, shared=["长" * length], **where)


def merge_bomb(count: int = 20_000, last_column: str = "XFD") -> bytes:
    """Issue row 3: full-width merged ranges."""
    merges = "".join(f'<mergeCell ref="A{r}:{last_column}{r}"/>' for r in range(1, count + 1))
    return hostile_xlsx(list_sheet(), merges=merges)


def _docx(body: str) -> bytes:
    types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>"
    )
    rels = f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_REL}/officeDocument" Target="word/document.xml"/></Relationships>'
    document = f'<w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>'
    return _zip({"[Content_Types].xml": types, "_rels/.rels": rels, "word/document.xml": document})


def _docx_row(values: list[object], span: int = 1, before: int = 0) -> str:
    trpr = f'<w:trPr><w:gridBefore w:val="{before}"/></w:trPr>' if before else ""
    first = f'<w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr>' if span > 1 else ""
    cells = "".join(
        f"<w:tc>{first if i == 0 else ''}<w:p><w:r><w:t>{v}</w:t></w:r></w:p></w:tc>" for i, v in enumerate(values)
    )
    return f"<w:tr>{trpr}{cells}</w:tr>"


def span_docx(rows: int = 200, span: int = 100_000, before: int = 0) -> bytes:
    """Issue row 4: a list followed by rows whose first cell spans (or is preceded by) a huge grid."""
    table = "".join(_docx_row(r) for r in [DEEP_HEADER, *ROWS])
    table += "".join(_docx_row(["x"] * 8, span=span, before=before) for _ in range(rows))
    return _docx(f"<w:tbl>{table}</w:tbl>")


def nested_docx(depth: int = 60, text: int = 20_000) -> bytes:
    """Tables nested in cells: each cell's text includes every table below it."""
    rng = random.Random(10)  # varied text: a run of one character would trip the zip-ratio check instead
    inner = ""
    for _ in range(depth):
        words = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(text))
        inner = f"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>{words}</w:t></w:r></w:p>{inner}<w:p/></w:tc></w:tr></w:tbl>"
    return _docx(inner)


def grid_pdf(n: int) -> bytes:
    """Issue row 5: one page ruled into an n × n grid."""
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    buf = io.BytesIO()
    step = 5  # wider than pdfplumber's snap tolerance: every rule stays a rule
    side = 40 + n * step
    c = canvas.Canvas(buf, pagesize=(side, side))
    for i in range(n + 1):
        c.line(20, 20 + i * step, side - 20, 20 + i * step)
        c.line(20 + i * step, 20, 20 + i * step, side - 20)
    c.save()
    return buf.getvalue()


def span_html(rows: int = 300, span: int = 1000) -> bytes:
    """Issue row 6: every cell spans 1000 × 1000 (each span is capped, their sum was not)."""
    head = "".join(f"<th>{h}</th>" for h in DEEP_HEADER)
    body = "".join(f'<tr><td colspan="{span}" rowspan="{span}">x</td></tr>' for _ in range(rows))
    return f"<html><body><table><tr>{head}</tr>{body}</table></body></html>".encode()


def far_cell_xls() -> bytes:
    """Issue row 7: a legacy workbook with one cell at the last row and column."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    for r, row in enumerate([DEEP_HEADER, *ROWS]):
        for c, value in enumerate(row):
            ws.write(r, c, value)
    ws.write(65535, 255, "x")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def big_part_docx(size: int) -> bytes:
    """Issue row 8: a document.xml well inside the zip ratio limit but far too big to build a tree of."""
    filler = "<w:p/>" * (size // 6)
    real = make_docx(DEEP_HEADER, ROWS)
    with zipfile.ZipFile(io.BytesIO(real)) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    document = parts["word/document.xml"].decode()
    parts["word/document.xml"] = document.replace("<w:body>", "<w:body>" + filler, 1).encode()
    return _zip(parts, zipfile.ZIP_STORED)  # stored: ratio 1, so only the part cap can refuse it


def _in_process_with_small_peak(data: bytes, match: str, peak_mb: float = 200) -> None:
    """The default limits refuse ``data`` without any big Python allocation."""
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match=match):
            parse_attachment(data, REF)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < peak_mb * 1024 * 1024, f"peak {peak / 2**20:.0f} MB before the refusal"


def _in_small_worker(data: bytes) -> ParseError:
    """Parse in a worker capped at 300 MB: a pre-check that did not fire would crash it."""
    limits = dataclasses.replace(DEFAULT_LIMITS, address_space=300 * 1024 * 1024, wall_seconds=60)

    async def go() -> ParseError:
        pool = ParserPool(1, limits)
        try:
            await pool.parse(data, REF)
        except ParseError as err:
            return err
        finally:
            pool.close()
        raise AssertionError("the hostile file parsed")

    return asyncio.run(go())


# --- the table at the real default limits ---------------------------------------------


@pytest.mark.parametrize(
    ("make", "largest", "message"),
    [
        pytest.param(
            far_cell_xlsx,
            8_000,
            "sheet xl/worksheets/sheet1.xml: row count exceeds the limit (1048576 > 200000)",
            id="far-cell-xlsx",
        ),
        pytest.param(
            shared_string_bomb,
            300_000,
            "cell text after shared strings are expanded exceeds the limit",
            id="shared-string-bomb",
        ),
        pytest.param(
            far_cell_xls,
            20_000,
            "cell grid (65536 × 256) exceeds the limit (16777216 > 1000000)",
            id="far-cell-xls",
        ),
    ],
)
def test_small_file_refused_before_calamine_allocates(make: Callable[[], bytes], largest: int, message: str) -> None:
    # A few kilobytes on disk that would expand to gigabytes: refused inside a worker capped at 300 MB.
    data = make()
    assert len(data) < largest
    assert message in str(_in_small_worker(data))


def test_far_dimension_alone_is_refused() -> None:
    err = _in_small_worker(hostile_xlsx(list_sheet(), dimension="A1:XFD1048576"))
    assert "exceeds the limit" in str(err)


def test_merge_bomb_refused() -> None:
    data = merge_bomb()
    assert len(data) < 200_000
    _in_process_with_small_peak(data, r"column count exceeds the limit \(16384 > 1000\)")
    # As many ranges, each within the sheet's columns: the count is the limit.
    _in_process_with_small_peak(merge_bomb(last_column="H"), r"merged range count exceeds the limit \(10001 > 10000\)")


def test_docx_huge_span_refused() -> None:
    data = span_docx()
    assert len(data) < 40_000
    _in_process_with_small_peak(data, r"grid columns of a table row .* exceeds the limit \(100007 > 1000\)", 50)


def test_docx_huge_grid_before_refused() -> None:
    _in_process_with_small_peak(span_docx(rows=5, span=1, before=10**9), r"exceeds the limit \(1000000008 > 1000\)", 50)


def test_docx_nested_tables_text_refused() -> None:
    data = nested_docx()
    assert len(data) < 3_000_000
    _in_process_with_small_peak(data, r"cell text of the document's tables exceeds the limit \(\d+ > 20000000\)")


def test_xlsx_parts_under_misleading_names_are_still_checked() -> None:
    data = shared_string_bomb(sheet_path="xl/styles2.xml")
    err = _in_small_worker(data)
    assert "sheet xl/styles2.xml: cell text after shared strings are expanded exceeds the limit" in str(err)
    # calamine really reads those parts: with the limits open, the list's rows come out.
    small = shared_string_bomb(length=3, uses=8, sheet_path="xl/styles2.xml")
    assert _parses(small, DEFAULT_LIMITS) == 10


def test_docx_many_wide_rows_refused_per_document() -> None:
    # Each row is within the column limit; together they exceed the cell limit.
    _in_process_with_small_peak(span_docx(rows=1_100, span=990), r"grid cells of the document's tables " + LIMIT)


def test_ruled_pdf_grid_refused_before_table_finding() -> None:
    data = grid_pdf(200)
    assert len(data) < 20_000
    _in_process_with_small_peak(data, r"page 1: ruling grid \(201 × 201 rules\) exceeds the limit \(40401 > 10000\)")


def test_html_span_area_refused() -> None:
    data = span_html()
    _in_process_with_small_peak(data, r"grid cells of the page's tables \(colspan × rowspan\) " + LIMIT)


def test_docx_big_part_inside_ratio_limit_refused() -> None:
    data = big_part_docx(DEFAULT_LIMITS.max_xml_part + 1_000_000)
    _in_process_with_small_peak(data, r"uncompressed size of part 'word/document.xml' " + LIMIT, 100)


# --- the same checks at scaled-down limits: the list passes, one step more does not -----------


def _text_of(rows: list[list[object]]) -> int:
    return sum(len(str(v)) for row in [DEEP_HEADER, *rows] for v in row)


def _parses(data: bytes, limits: ParseLimits) -> int:
    return len(parse_attachment(data, REF, limits).rows)


@pytest.mark.parametrize(
    ("make", "field", "fits", "what"),
    [
        (lambda: make_xlsx(DEEP_HEADER, ROWS), "max_rows", 11, "row count"),
        (lambda: make_xlsx(DEEP_HEADER, ROWS), "max_columns", 8, "column count"),
        (lambda: make_xlsx(DEEP_HEADER, ROWS), "max_cells", 88, "cell grid"),
        (lambda: make_xls(DEEP_HEADER, ROWS), "max_cells", 88, "cell grid"),
        (lambda: make_docx(DEEP_HEADER, ROWS), "max_columns", 8, "grid columns of a table row"),
        (lambda: make_docx(DEEP_HEADER, ROWS), "max_cells", 88, "grid cells of the document's tables"),
        (lambda: make_docx(DEEP_HEADER, ROWS), "max_text", _text_of(ROWS), "cell text of the document's tables"),
        (lambda: make_html_table(DEEP_HEADER, ROWS), "max_text", _text_of(ROWS), "cell text of the page's tables"),
        (lambda: make_html_table(DEEP_HEADER, ROWS), "max_cells", 88, "grid cells of the page's tables"),
        (lambda: make_html_table(DEEP_HEADER, ROWS), "max_columns", 8, "grid columns of a table row"),
        (lambda: make_pdf(DEEP_HEADER, ROWS), "max_grid_per_page", 12 * 9, "ruling grid"),
        (lambda: make_pdf(DEEP_HEADER, ROWS), "max_pages", 1, "page count"),
    ],
)
def test_scaled_limit_is_exact(make, field: str, fits: int, what: str) -> None:  # type: ignore[no-untyped-def]
    data = make()
    assert _parses(data, dataclasses.replace(DEFAULT_LIMITS, **{field: fits})) == 10
    with pytest.raises(ParseError, match=f"{what}.*exceeds the limit \\({fits + 1}|{what}.*exceeds the limit \\(\\d+ > {fits - 1}\\)"):
        parse_attachment(data, REF, dataclasses.replace(DEFAULT_LIMITS, **{field: fits - 1}))


@pytest.mark.parametrize(
    ("make", "limits", "match"),
    [
        (
            lambda: shared_string_bomb(length=100, uses=50),
            {"max_text": 4_000},
            r"cell text after shared strings are expanded exceeds the limit \(4\d\d\d > 4000\)",
        ),
        (
            lambda: merge_bomb(10),
            {"max_merges": 5, "max_columns": 20_000, "max_cells": 10**9},
            r"merged range count exceeds the limit \(6 > 5\)",
        ),
        (lambda: make_pdf(DEEP_HEADER, ROWS), {"max_rulings_per_page": 10}, r"page 1: ruling edges exceeds the limit"),
        (lambda: make_pdf(DEEP_HEADER, ROWS), {"max_rulings_total": 10}, r"ruling edges of the document exceeds the limit"),
        (
            lambda: make_pdf(DEEP_HEADER, ROWS),
            {"max_grid_total": 50},
            r"ruling grids of the document \(summed over pages\) exceeds the limit",
        ),
        (lambda: make_pdf(DEEP_HEADER, ROWS), {"max_chars_per_page": 100}, r"page 1: characters exceeds the limit"),
        (
            lambda: make_docx(DEEP_HEADER, ROWS),
            {"max_xml_part": 10_000},
            r"uncompressed size of part '[^']+' exceeds the limit",
        ),
    ],
)
def test_scaled_limit_refuses(make: Callable[[], bytes], limits: dict[str, int], match: str) -> None:
    with pytest.raises(ParseError, match=match):
        parse_attachment(make(), REF, dataclasses.replace(DEFAULT_LIMITS, **limits))


def test_scaled_merge_area() -> None:
    # Overlapping ranges inside the list's own grid: their area, not the grid, is too big.
    overlapping = hostile_xlsx(list_sheet(), merges='<mergeCell ref="A2:H11"/>' * 3)
    assert _parses(overlapping, dataclasses.replace(DEFAULT_LIMITS, max_cells=240)) == 10
    with pytest.raises(ParseError, match=r"merged area exceeds the limit \(240 > 239\)"):
        parse_attachment(overlapping, REF, dataclasses.replace(DEFAULT_LIMITS, max_cells=239))


def test_limits_far_above_real_lists() -> None:
    # The largest real list: 779 rows × 8 columns, ~40 PDF pages, document.xml ~3 MB.
    d = DEFAULT_LIMITS
    assert d.max_cells >= 100 * 779 * 8 and d.max_rows >= 100 * 779 and d.max_columns >= 100 * 8
    assert d.max_pages >= 40 * 10 and d.max_xml_part >= 10 * 3 * 1024 * 1024


# --- a native parser's BaseException is a ParseError --------------------------------------------


class FakePanic(BaseException):
    """Stands for pyo3's PanicException, which derives from BaseException."""


def test_base_exception_from_a_parser_is_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import scrapers.parsers.sheet as sheet

    def panics(data: bytes, limits: ParseLimits) -> list[list[list[str]]]:
        raise FakePanic("called `Result::unwrap()` on an `Err` value\nstack backtrace: …")

    monkeypatch.setattr(sheet, "extract_tables", panics)
    with pytest.raises(ParseError, match=r"^unreadable xlsx: FakePanic: called `Result::unwrap\(\)` on an `Err` value$"):
        parse_attachment(make_xlsx(DEEP_HEADER, ROWS), REF)


def test_keyboard_interrupt_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    import scrapers.parsers.sheet as sheet

    def interrupted(data: bytes, limits: ParseLimits) -> list[list[list[str]]]:
        raise KeyboardInterrupt

    monkeypatch.setattr(sheet, "extract_tables", interrupted)
    with pytest.raises(KeyboardInterrupt):
        parse_attachment(make_xlsx(DEEP_HEADER, ROWS), REF)


# --- item 11: bidi controls and lone surrogates never reach a stored name ------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.mark.parametrize("control", list(BIDI) + ["\ud800", "\udfff"])
def test_bidi_and_surrogates_stripped(control: str) -> None:
    assert clean_text(f"深度{control}合成") == "深度合成"
    assert text_key(f"Deep{control}Seek") == "DeepSeek"


def test_bidi_controls_stripped_from_parsed_rows() -> None:
    rows = [list(r) for r in ROWS]
    rows[0][1] = "\u202egnp.exe算法"
    rows[0][3] = "北京\u2066某某\u2069科技有限公司"
    parsed = parse_attachment(make_xlsx(DEEP_HEADER, rows), REF)
    first = parsed.rows[0]
    assert first.name == "gnp.exe算法" and first.entity == "北京某某科技有限公司"
    assert not any(ch in BIDI for row in parsed.rows for ch in row.name + row.entity + "".join(row.products))
