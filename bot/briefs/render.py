"""A brief as a document: HTML (Jinja2, autoescaped, no script), DOCX (python-docx) and PDF
(reportlab, with an embedded CJK TrueType font). ``lang="both"`` is the Chinese brief, then
the English one, in one document."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape as _escape

from bot.briefs.chart import sizes_png
from bot.briefs.facts import BriefFacts
from bot.briefs.formats import CSS, FORMATS, LANGS
from bot.briefs.fonts import font_path, register
from bot.briefs.text import TABLE_HEADERS, BriefText, brief_text
from bot.changes.vocabulary import KIND_CHART_TITLES

__all__ = ["render", "texts_for"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
# Characters XML 1.0 forbids (control characters a PDF list's text can carry): DOCX and
# reportlab's paragraph markup are XML, so they are dropped there.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str) -> str:
    return _NOT_XML.sub("", text)


def escape(text: str) -> str:
    """Text for reportlab's paragraph markup: XML-escaped, without characters XML forbids."""
    return _escape(_x(text))


def texts_for(facts: BriefFacts, lang: str, today: str | None = None) -> list[BriefText]:
    day = today or datetime.now(timezone.utc).date().isoformat()
    return [brief_text(facts, one, day) for one in (("zh", "en") if lang == "both" else (lang,))]


def _chart(facts: BriefFacts) -> bytes:
    return sizes_png(facts.series, f"{KIND_CHART_TITLES.get(facts.kind, facts.kind)}: rows per list")


def _html(facts: BriefFacts, texts: Sequence[BriefText]) -> bytes:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(default=True))
    page = env.get_template("brief.html").render(
        texts=texts, css=CSS, chart=base64.b64encode(_chart(facts)).decode(), headers=TABLE_HEADERS
    )
    return page.encode("utf-8")


def _docx(facts: BriefFacts, texts: Sequence[BriefText]) -> bytes:
    import docx
    from docx.enum.text import WD_BREAK
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    # East Asian text takes the eastAsia font of the run properties (Word otherwise guesses).
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "SimSun")
    chart = _chart(facts)
    for index, text in enumerate(texts):
        if index:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        heading = document.add_heading(_x(text.title), level=1)
        for run in heading.runs:
            run.font.color.rgb = RGBColor(0x1F, 0x3A, 0x5F)
        document.add_paragraph(_x(text.dateline)).runs[0].font.color.rgb = RGBColor(0x57, 0x60, 0x6A)
        document.add_paragraph().add_run(_x(text.lead)).bold = True
        document.add_picture(io.BytesIO(chart), width=Cm(16))
        document.add_paragraph(text.chart_caption).runs[0].italic = True
        for section in text.sections:
            document.add_heading(_x(section.heading), level=2)
            for sentence in section.sentences:
                document.add_paragraph(_x(sentence))
        if text.table:
            document.add_heading(text.table_title, level=2)
            table = document.add_table(rows=1, cols=5)
            table.style = "Table Grid"
            for cell, header in zip(table.rows[0].cells, TABLE_HEADERS[text.lang]):
                cell.text = header
                cell.paragraphs[0].runs[0].bold = True
            for row in text.table:
                cells = table.add_row().cells
                for cell, value in zip(cells, (row.group, row.filer, row.product, row.purpose, row.filing_number)):
                    cell.text = _x(value)
                    for run in cell.paragraphs[0].runs:
                        run.font.size = Pt(9)
        document.add_heading(text.sources_title, level=2)
        for label, url in text.sources:
            paragraph = document.add_paragraph(style="List Bullet")
            paragraph.add_run(_x(f"{label}: "))
            paragraph.add_run(_x(url)).font.color.rgb = RGBColor(0x05, 0x50, 0xAE)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _pdf(facts: BriefFacts, texts: Sequence[BriefText], font: Path | str | None) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, LongTable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    name = register(font_path(font))
    blue = colors.HexColor("#1f3a5f")

    def style(size: float, *, color: Any = colors.black, leading: float | None = None, space: float = 4) -> ParagraphStyle:
        # wordWrap CJK breaks lines between any two characters (Chinese has no spaces).
        return ParagraphStyle(f"s{size}{space}", fontName=name, fontSize=size, leading=leading or size * 1.45,
                              textColor=color, spaceAfter=space, wordWrap="CJK")

    title, h2, body, small, cell = style(17, color=blue, space=6), style(12.5, color=blue, space=3), style(10), \
        style(8.5, color=colors.HexColor("#57606a")), style(8, space=0)
    lead = style(11, space=8)
    chart = _chart(facts)
    story: list[Any] = []
    for index, text in enumerate(texts):
        if index:
            story.append(PageBreak())
        story += [Paragraph(escape(text.title), title), Paragraph(escape(text.dateline), small),
                  Paragraph(f"<b>{escape(text.lead)}</b>", lead),
                  Image(io.BytesIO(chart), width=17 * cm, height=17 * cm * 2.6 / 7.0),
                  Paragraph(escape(text.chart_caption), small)]
        for section in text.sections:
            story.append(Paragraph(escape(section.heading), h2))
            story += [Paragraph(escape(sentence), body) for sentence in section.sentences]
        if text.table:
            story.append(Paragraph(escape(text.table_title), h2))
            data = [[Paragraph(f"<b>{escape(h)}</b>", cell) for h in TABLE_HEADERS[text.lang]]]
            data += [[Paragraph(escape(v), cell) for v in (r.group, r.filer, r.product, r.purpose, r.filing_number)]
                     for r in text.table]
            table = LongTable(data, colWidths=[2.4 * cm, 3.6 * cm, 3.0 * cm, 5.4 * cm, 3.1 * cm], repeatRows=1)
            table.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f6f8fa")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]))
            story.append(table)
        story.append(Paragraph(escape(text.sources_title), h2))
        for label, url in text.sources:
            story.append(Paragraph(f'{escape(label)}: <link href="{_escape(_x(url), {chr(34): "&quot;"})}" color="#0550ae">'
                                   f"{escape(url)}</link>", small))
        story.append(Spacer(1, 0.4 * cm))
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=1.8 * cm, rightMargin=1.8 * cm, topMargin=1.6 * cm,
                                 bottomMargin=1.6 * cm, title=texts[0].title, author="cacwatch")
    document.build(story)
    return out.getvalue()


def render(facts: BriefFacts, fmt: str, lang: str, *, font: Path | str | None = None, today: str | None = None) -> bytes:
    """The brief as ``fmt`` (pdf | docx | html) in ``lang`` (zh | en | both)."""
    if fmt not in FORMATS:
        raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {fmt[:20]!r}")
    if lang not in LANGS:
        raise ValueError(f"lang: expected one of {', '.join(LANGS)}, got {lang[:20]!r}")
    texts = texts_for(facts, lang, today)
    if fmt == "html":
        return _html(facts, texts)
    if fmt == "docx":
        return _docx(facts, texts)
    return _pdf(facts, texts, font)
