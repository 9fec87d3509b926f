"""Dossiers: everything a company group (or one filer) filed, under every name it used.

``group_dossier`` / ``filer_dossier`` gather it from the store (``storage.corpus``: the filers
the index assigns to the group, every name each used, their filings in the three series, the
timeline); ``write_xlsx`` and ``write_pdf`` make the documents the web app serves and
``cacwatch dossier`` writes. Every text comes from a web site: spreadsheet cells that would
start a formula are typed text (``export.starts_formula``, as the exports do); the PDF draws text
only (reportlab Paragraphs are markup, so text is escaped).

The PDF embeds a CJK TrueType font (WenQuanYi Zen Hei, Debian package ``fonts-wqy-zenhei``) so
Chinese renders in any reader; ``CACWATCH_CJK_FONT`` names another TrueType/TTC file.
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from bot.changes.companies import BIG_TECH, FOREIGN, BigTechGroup, ForeignFiler
from bot.changes.export import starts_formula
from bot.changes.vocabulary import kind_names
from storage.corpus import Corpus, FilerRecords

__all__ = [
    "Company",
    "Dossier",
    "company_by_key",
    "group_title",
    "group_dossier",
    "filer_dossier",
    "per_series",
    "write_xlsx",
    "write_pdf",
    "DossierError",
]

Company = BigTechGroup | ForeignFiler
_KIND_ORDER = ("deep_synthesis", "algorithm_recommendation", "genai_service")


class DossierError(Exception):
    """A dossier cannot be made (e.g. no CJK font for the PDF): one line for the user."""


def company_by_key(key: str) -> Company | None:
    companies: list[Company] = [*BIG_TECH, *FOREIGN]
    return next((c for c in companies if c.key == key), None)


@dataclass(frozen=True, slots=True)
class Dossier:
    title: str  # 字节跳动 ByteDance / the filer's current name
    subtitle: str  # "company group" / "foreign company (US)" / "filer"
    company: Company | None
    records: FilerRecords

    @property
    def empty(self) -> bool:
        return not self.records.filings

    def english(self, name: str) -> str:
        return self.records.english.get(name, ("", None))[0]


def group_dossier(corpus: Corpus, company: Company, entities: list[str] | None = None) -> Dossier:
    """The group's filers as the search index assigns them (``entities``: the names listed now
    for it, when the caller has them), with every name each used."""
    names = corpus.company_entities(company.en) if entities is None else entities
    subtitle = f"foreign company ({company.country})" if isinstance(company, ForeignFiler) else "company group"
    return Dossier(group_title(company), subtitle, company, corpus.filer_records(names))


def group_title(company: Company) -> str:
    return company.zh if company.zh == company.en else f"{company.zh} {company.en}"


def filer_dossier(corpus: Corpus, name: str) -> Dossier | None:
    identity = corpus.filer_identity(name)
    if identity is None:
        return None
    return Dossier(identity.name, "filer", None, corpus.filer_records([identity.name]))


def per_series(records: FilerRecords) -> dict[str, list[tuple[str, int]]]:
    """kind → (list month, filings first listed in it), oldest first: the dossier's chart."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for record, _ in records.filings:
        counts[record["kind"]][record["list_month"]] += 1
    return {kind: sorted(counts[kind].items()) for kind in _KIND_ORDER if kind in counts}


def _kind(kind: str | None) -> str:
    if not kind:
        return ""
    zh, en = kind_names("series").get(kind, (kind, kind))
    return f"{zh} {en}"


def _rows(dossier: Dossier) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every table of the dossier: sheet name → (headers, rows)."""
    records = dossier.records
    filers = [
        [filer.name, dossier.english(filer.name), info.name, dossier.english(info.name), info.first_month or "", info.last_month or "",
         info.filings, "当前 current" if info.current else (f"→ {info.renamed_to} ({info.renamed_month or ''})" if info.renamed_to else ""),
         ", ".join(filer.ids)]
        for filer in records.filers for info in filer.names
    ]
    summary = [[_kind(kind), sum(n for _, n in months), sum(1 for r, _ in records.filings if r["kind"] == kind and r["status"] == "cancelled"),
                months[0][0] if months else "", months[-1][0] if months else ""]
               for kind, months in per_series(records).items()]
    over_time = [[_kind(kind), month, count] for kind, months in per_series(records).items() for month, count in months]
    filings = [
        [_kind(r["kind"]), r["list_month"], r["filing_number"], r["name"], r["entity"], dossier.english(r["entity"]),
         r.get("role") or r.get("category") or r.get("registration") or "", "、".join(r.get("products") or []), r.get("purpose") or "",
         r.get("province") or "", "已注销 cancelled" if r["status"] == "cancelled" else "有效 active", "" if present else "否 no", r.get("remark") or ""]
        for r, present in sorted(records.filings, key=lambda item: (item[0]["list_month"], item[0]["kind"]), reverse=True)
    ]
    cancellations = [[_kind(r["kind"]), r["list_month"], r["filing_number"], r["name"], r["entity"], r.get("remark") or ""]
                     for r, _ in records.filings if r["status"] == "cancelled"]
    timeline = [[e.month or "", e.at.strftime("%Y-%m-%d") if e.at else "", e.event, _kind(e.kind), e.count, e.detail]
                for e in records.timeline]
    return {
        "summary": (["类别 Series", "备案 Filings", "已注销 Cancelled", "首次 First list", "最近 Latest list"], summary),
        "filers": (["主体 Filer (current)", "English", "使用名称 Name used", "English", "首次 First list", "最近 Last list",
                    "现列备案 Filings listed", "更名 Renamed", "主体编号 Filer id"], filers),
        "over time": (["类别 Series", "清单月份 List month", "首次列入 First listed"], over_time),
        "filings": (["类别 Series", "首次列入 First listed", "备案编号 Number", "名称 Name", "主体 Filer", "English", "角色/类别 Role/category",
                     "产品 Products", "用途 Purpose", "属地 Province", "状态 Status", "仍在清单 Listed", "备注 Remark"], filings),
        "cancellations": (["类别 Series", "首次列入 First listed", "备案编号 Number", "名称 Name", "主体 Filer", "备注 Remark"], cancellations),
        "timeline": (["清单月份 List month", "发现于 Seen", "事件 Event", "类别 Series", "数量 Count", "详情 Detail"], timeline),
    }


# Control characters (a PDF list's line-break marker inside a number) cannot be stored in a
# worksheet and mean nothing in a PDF: dropped from every cell and paragraph.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(value: Any) -> Any:
    return _CONTROL.sub("", value) if isinstance(value, str) else value


def write_xlsx(dossier: Dossier, out: BinaryIO) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet_name, (headers, rows) in _rows(dossier).items():
        sheet = workbook.create_sheet(sheet_name)
        sheet.freeze_panes = "A2"
        if sheet_name == "summary":
            title = WriteOnlyCell(sheet, value=_text_cell_value(f"{dossier.title} — {dossier.subtitle}"))
            title.font = bold
            sheet.append([title])
        header = []
        for text in headers:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in rows:
            cells: list[Any] = []
            for value in map(_clean, row):
                if isinstance(value, str) and starts_formula(value):
                    # A text cell, quote-prefixed like Excel's apostrophe: never run as a formula.
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
                    cell.quotePrefix = True
                    cells.append(cell)
                else:
                    cells.append(value)
            sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    out.write(buffer.getvalue())


def _text_cell_value(text: str) -> str:
    return text.lstrip("=+-@\t\r") if starts_formula(text) else text


def _register_font() -> str:
    """The CJK TrueType font the PDF embeds, registered with reportlab: the one briefs use
    (bot.briefs.fonts: Debian's fonts-wqy-zenhei), or the file $CACWATCH_CJK_FONT names."""
    from bot.briefs.fonts import FontMissing, font_path, register

    try:
        return register(font_path(os.environ.get("CACWATCH_CJK_FONT") or None))
    except FontMissing as err:
        raise DossierError(f"{err} (or set CACWATCH_CJK_FONT)") from None


def write_pdf(dossier: Dossier, out: BinaryIO, *, limit: int = 200) -> None:
    """A readable dossier: title, date, series summary, chart of filings per list month, filers and
    their names, latest filings (up to ``limit``), cancellations, renames and the timeline."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _register_font()
    base = ParagraphStyle("base", fontName=font, fontSize=8, leading=10, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=base, fontSize=16, leading=20, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=base, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)

    def para(text: Any, style: ParagraphStyle = base) -> Any:
        return Paragraph(escape(_clean(str(text if text is not None else ""))), style)

    story: list[Any] = [
        para(f"{dossier.title}", h1),
        para(f"{dossier.subtitle} · cacwatch dossier · {datetime.now(timezone.utc):%Y-%m-%d} · "
             "数据来自国家互联网信息办公室公开的备案清单 Data from the CAC's published filing lists (www.cac.gov.cn)"),
    ]
    tables = _rows(dossier)
    series = per_series(dossier.records)
    if series:
        months = sorted({m for points in series.values() for m, _ in points})
        drawing = Drawing(250 * mm, 60 * mm)
        chart = VerticalBarChart()
        chart.x, chart.y, chart.width, chart.height = 15 * mm, 10 * mm, 225 * mm, 45 * mm
        chart.data = [[dict(points).get(m, 0) for m in months] for points in series.values()]
        chart.categoryAxis.categoryNames = months
        chart.categoryAxis.labels.fontName = font
        chart.categoryAxis.labels.fontSize = 6
        chart.valueAxis.labels.fontSize = 7
        chart.valueAxis.valueMin = 0
        palette = {"deep_synthesis": colors.HexColor("#1f6feb"), "algorithm_recommendation": colors.HexColor("#2da44e"),
                   "genai_service": colors.HexColor("#bf3989")}
        for index, kind in enumerate(series):
            chart.bars[index].fillColor = palette[kind]
        drawing.add(chart)
        story += [para("首次列入的备案（按清单月份） Filings first listed, by list month: "
                       + " · ".join(f"{_kind(k)}" for k in series), h2), drawing]
    elif dossier.empty:
        story.append(para(f"{dossier.title}: no filing on record", h2))

    def table(title: str, name: str, widths: list[float], rows_limit: int | None = None) -> None:
        headers, rows = tables[name]
        if not rows:
            return
        shown = rows[:rows_limit] if rows_limit else rows
        data = [[para(h) for h in headers]] + [[para(v) for v in row] for row in shown]
        grid = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f6f8fa")),
                                  ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        suffix = f" ({len(shown)} / {len(rows)})" if len(shown) < len(rows) else f" ({len(rows)})"
        story.extend([para(title + suffix, h2), grid])

    table("概况 Summary", "summary", [70, 30, 30, 30, 30])
    table("主体与名称 Filers and the names they used", "filers", [50, 45, 45, 40, 18, 18, 15, 35, 16])
    headers, filing_rows = tables["filings"]
    tables["latest"] = (headers[:6] + [headers[10], headers[12]], [row[:6] + [row[10], row[12]] for row in filing_rows])
    table("最新备案 Latest filings", "latest", [35, 16, 50, 45, 40, 40, 20, 30], limit)
    table("注销 Cancellations", "cancellations", [40, 18, 55, 50, 50, 60], limit)
    renames = [row for row in tables["timeline"][1] if row[2] == "renamed"]
    tables["renames"] = (tables["timeline"][0], renames)
    table("更名 Renames", "renames", [20, 20, 18, 30, 12, 170])
    table("时间线 Timeline", "timeline", [20, 20, 18, 50, 12, 150], limit)
    document = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                                 bottomMargin=12 * mm, title=dossier.title, author="cacwatch")
    story.insert(2, Spacer(1, 4 * mm))
    document.build(story)
