"""Builders for test fixtures: attachments generated at test time (no binaries in git), the
list reference the parser is handed, and the CAC source's settings for a local replica.

The attachment builders serve the parser tests and anyone who needs a realistic CAC list in
another format: each takes a header (list of column names) and rows (lists of cell values) and
returns the file's bytes.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from scrapers.records import Kind, ListRef

if TYPE_CHECKING:
    from scrapers.replica.server import ReplicaServer

__all__ = [
    "DEEP_HEADER",
    "REC_HEADER",
    "GENAI_HEADER",
    "GENAI_HEADER_V2",
    "GENAI_REGISTERED_HEADER",
    "GENAI_ON_DEVICE_HEADER",
    "CANCEL_HEADER",
    "make_genai_docx",
    "make_genai_pdf",
    "make_docx",
    "make_pdf",
    "make_xlsx",
    "make_xls",
    "make_html_table",
    "make_zip",
    "ref_for",
    "replica_source",
]

DEEP_HEADER = ["序号", "算法名称", "角色", "主体名称", "应用产品", "主要用途", "备案编号", "备注"]
REC_HEADER = ["序号", "算法名称", "算法类别", "主体名称", "应用产品", "主要用途", "备案编号", "备注"]
GENAI_HEADER = ["序号", "属地", "模型名称", "备案单位", "备案号", "备案时间"]
GENAI_HEADER_V2 = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
# From 2024-08 the GenAI lists add a table of apps registered (登记) by provincial offices…
GENAI_REGISTERED_HEADER = ["序号", "属地", "应用/功能名称", "登记单位", "上线编号", "登记时间"]
# …and from 2026-08 one of on-device (端侧) services, whose header adds 适用场景.
GENAI_ON_DEVICE_HEADER = ["序号", "属地", "模型名称", "备案单位", "备案编号", "适用场景", "备案时间"]
CANCEL_HEADER = ["序号", "算法名称", "主体名称", "备案编号", "注销时间"]

Cell = object
Rows = Sequence[Sequence[Cell]]


class _Saves(Protocol):
    """A document of python-docx, openpyxl or xlwt: each writes itself to a binary stream."""

    def save(self, stream: BinaryIO) -> object: ...


def _saved(document: _Saves) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def ref_for(kind: Kind = Kind.DEEP_SYNTHESIS, month: str = "2024-04", *, cancellation: bool = False) -> ListRef:
    """The list reference discovery would hand the parser (the parser reads its kind and
    ``is_cancellation``; the URLs are CAC-shaped placeholders)."""
    return ListRef(
        kind=kind,
        list_month=month,
        name=f"list {month}",
        title="t",
        page_url="https://www.cac.gov.cn/p.htm",
        attachment_url="https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=x",
        is_cancellation=cancellation,
    )


def replica_source(server: ReplicaServer, **overrides: Any) -> dict[str, Any]:
    """``sources.cac`` for a local replica, without the politeness pause and with short timeouts."""
    return {"base_url": server.base_url, "beian_url": server.beian_url, "min_delay": 0, "timeout": 5, **overrides}


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%Y/%m/%d")
    return str(value)


def make_docx(
    header: Sequence[str],
    rows: Rows,
    title: str = "境内深度合成服务算法备案清单（2024年4月）",
    merged_header: bool = False,
    split_at: int | None = None,
    repeat_header: bool = False,
    merged_rows: bool = False,
) -> bytes:
    """A CAC-style Word list: 附件, the list name, then the table.

    ``merged_header``: the 主要用途 header cell spans two grid columns (9 grid
    columns; python-docx and Word report 主要用途 twice); data rows then have an
    extra empty cell there, or the same merge when ``merged_rows``.
    ``split_at``: data row index where the list continues in a second table
    (with the header again only when ``repeat_header``). A cell value containing
    ``\\n`` becomes several paragraphs.
    """
    import docx

    document = docx.Document()
    document.add_paragraph("附件")
    document.add_paragraph(title)
    merge_col = list(header).index("主要用途") if merged_header else None
    ncols = len(header) + (1 if merge_col is not None else 0)

    def widen(values: Sequence[Cell]) -> list[str]:
        cells = [_text(v) for v in values]
        if merge_col is not None:
            cells.insert(merge_col + 1, "")
        return cells

    def fill(row_cells: Sequence[object], values: list[str], merge: bool) -> None:
        for cell, value in zip(row_cells, values):
            lines = value.split("\n")
            cell.text = lines[0]
            for extra in lines[1:]:
                cell.add_paragraph(extra)
        if merge and merge_col is not None:
            row_cells[merge_col].merge(row_cells[merge_col + 1])  # type: ignore[attr-defined]
            # merge() concatenates paragraphs; keep only the original text.
            keep = values[merge_col]
            row_cells[merge_col].text = keep  # type: ignore[attr-defined]

    chunks = [list(rows)] if split_at is None else [list(rows[:split_at]), list(rows[split_at:])]
    for n, chunk in enumerate(chunks):
        with_header = n == 0 or repeat_header
        table = document.add_table(rows=0, cols=ncols)
        table.style = "Table Grid"
        if with_header:
            cells = table.add_row().cells
            values = list(header)
            if merge_col is not None:
                values.insert(merge_col + 1, header[merge_col])
            fill(cells, values, merge=True)
        for values_in in chunk:
            fill(table.add_row().cells, widen(values_in), merge=merged_rows)
        if n == 0 and len(chunks) > 1:
            document.add_paragraph("")
    return _saved(document)


def make_pdf(
    header: Sequence[str],
    rows: Rows,
    title: str = "生成式人工智能服务已备案信息（2025年1月）",
    col_widths: Sequence[float] | None = None,
    font_size: float = 10,
    split_in_row: bool = False,
    grid: bool = True,
) -> bytes:
    """A ruled-table PDF like the CAC GenAI lists (reportlab, CJK CID font).

    The header is on the first page only (``repeatRows=0``); cells wrap anywhere,
    mid-word included (``wordWrap='CJK'``), as in the real files.
    ``split_in_row`` lets a tall row break across pages (its tail then starts the
    next page as a partial row, as Word-exported PDFs do). ``grid=False`` draws
    no rules at all (a table laid out by text alignment only).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=font_size, leading=font_size * 1.2, wordWrap="CJK")
    title_style = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)

    def para(value: Cell) -> Paragraph:
        return Paragraph(html.escape(_text(value)).replace("\n", "<br/>"), cell_style)

    data = [[para(h) for h in header]] + [[para(v) for v in row] for row in rows]
    width = A4[0] - 40
    widths = list(col_widths) if col_widths else [width / len(header)] * len(header)
    extra = {"splitInRow": 1} if split_in_row else {}
    table = Table(data, colWidths=widths, repeatRows=0, **extra)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
            + ([("GRID", (0, 0), (-1, -1), 0.5, (0, 0, 0))] if grid else [])
        )
    )
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20, rightMargin=20, topMargin=40, bottomMargin=40, title=title)
    doc.build([Paragraph(html.escape(title), title_style), table])
    return buf.getvalue()


Section = tuple[Sequence[str], Rows]


def make_genai_docx(sections: Sequence[Section], title: str = "生成式人工智能服务已备案和已登记信息（2026年8月）") -> bytes:
    """A GenAI list as CAC's Word files lay it out: 附件, the list name, then one table per
    section (备案, then 登记, then 端侧), each under its own header, a paragraph between."""
    import docx

    document = docx.Document()
    document.add_paragraph("附件")
    document.add_paragraph(title)
    for n, (header, rows) in enumerate(sections):
        if n:
            document.add_paragraph("")
        table = document.add_table(rows=0, cols=len(header))
        table.style = "Table Grid"
        for values in [list(header), *rows]:
            for cell, value in zip(table.add_row().cells, values):
                lines = _text(value).split("\n")
                cell.text = lines[0]
                for extra in lines[1:]:
                    cell.add_paragraph(extra)
    return _saved(document)


def make_genai_pdf(
    sections: Sequence[Section],
    title: str = "生成式人工智能服务已备案和已登记信息（2025年1月）",
    col_widths: Sequence[Sequence[float]] | None = None,
    font_size: float = 9,
) -> bytes:
    """A GenAI list as CAC's PDFs lay it out: sections of the same width share ONE ruled table,
    the next section's header being just a row in its flow; the table runs on over pages with
    no header repeated; a section of another width starts a table of its own. Cells wrap
    anywhere (``wordWrap='CJK'``), numbers included — often right after a ``-``.
    ``col_widths`` gives each section's column widths (default: the page width shared out)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=font_size, leading=font_size * 1.25, wordWrap="CJK")
    title_style = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)

    def para(value: Cell) -> Paragraph:
        return Paragraph(html.escape(_text(value)).replace("\n", "<br/>"), cell_style)

    width = A4[0] - 40
    story: list[Any] = [Paragraph(html.escape(title), title_style)]
    flow: list[list[Paragraph]] = []
    flow_widths: list[float] = []

    def close() -> None:
        if flow:
            table = Table(list(flow), colWidths=list(flow_widths), repeatRows=0)
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("GRID", (0, 0), (-1, -1), 0.5, (0, 0, 0))]))
            story.extend([table, Spacer(1, 12)])
            flow.clear()

    for n, (header, rows) in enumerate(sections):
        widths = list(col_widths[n]) if col_widths else [width / len(header)] * len(header)
        if flow and (len(header) != len(flow_widths) or widths != flow_widths):
            close()
        flow_widths = widths
        flow.extend([[para(h) for h in header], *([para(v) for v in row] for row in rows)])
    close()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20, rightMargin=20, topMargin=40, bottomMargin=40, title=title)
    doc.build(story)
    return buf.getvalue()


def make_xlsx(
    header: Sequence[str],
    rows: Rows,
    title: str | None = None,
    sheet_title: str = "Sheet1",
    extra_sheets: dict[str, Rows] | None = None,
) -> bytes:
    """An xlsx with an optional merged title row above the header.

    ``datetime.date`` values are written as real date cells.
    """
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet_title
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, (dt.date, dt.datetime)):
                cell.number_format = "yyyy/m/d"
    for name, extra_rows in (extra_sheets or {}).items():
        other = wb.create_sheet(name)
        for row in extra_rows:
            other.append(list(row))
    return _saved(wb)


def make_xls(header: Sequence[str], rows: Rows, sheet_title: str = "Sheet1") -> bytes:
    """A legacy BIFF .xls (xlwt); dates as real date cells."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet(sheet_title)
    date_style = xlwt.easyxf(num_format_str="YYYY/M/D")
    for c, h in enumerate(header):
        ws.write(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, (dt.date, dt.datetime)):
                ws.write(r, c, value, date_style)
            else:
                ws.write(r, c, value)
    return _saved(wb)


def make_html_table(
    header: Sequence[str],
    rows: Rows,
    title: str = "生成式人工智能服务已备案信息（2024年8月）",
    colspan_header: str | None = None,
) -> bytes:
    """An HTML page with one ``<table>``; ``colspan_header`` spans two columns."""
    head_cells = []
    for h in header:
        span = ' colspan="2"' if h == colspan_header else ""
        head_cells.append(f"<th{span}>{html.escape(h)}</th>")
    body = []
    for row in rows:
        cells = []
        for h, v in zip(header, row):
            cells.append(f"<td>{html.escape(_text(v)).replace(chr(10), '<br>')}</td>")
            if h == colspan_header:
                cells.append("<td></td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
        + html.escape(title)
        + "</title></head><body><h1>"
        + html.escape(title)
        + "</h1><table><thead><tr>"
        + "".join(head_cells)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></body></html>"
    )
    return page.encode("utf-8")


def make_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive with the given entries (for sniffing / bomb tests)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()
