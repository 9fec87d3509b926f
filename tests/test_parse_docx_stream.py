"""The streaming Word reader (lxml iterparse, row by row) gives exactly the rows of the
whole-tree reader, on the replica's real lists and on generated lists with every
layout quirk; and it does not build the document tree."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

from scrapers.limits import DEFAULT_LIMITS
from scrapers.parsers.docx import _stream_tables, _tree_tables
from scrapers.records import ParseError

from builders import DEEP_HEADER, make_docx
from test_parse import quirky_deep_rows, sample_attachments

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ROWS = quirky_deep_rows()


def _with_body(data: bytes, edit: Callable[[str], str]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    parts["word/document.xml"] = edit(parts["word/document.xml"].decode()).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    return buf.getvalue()


def _hidden_table(xml: str) -> str:
    """A copy of the first table inside w:del (Word does not show it) before the real one."""
    start, end = xml.index("<w:tbl>"), xml.index("</w:tbl>") + len("</w:tbl>")
    return xml[:start] + "<w:del>" + xml[start:end] + "</w:del>" + xml[start:]


def _nested_table(xml: str) -> str:
    """A small table nested in the first data cell (its text joins that cell)."""
    nested = "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>内嵌</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    cell = xml.index("</w:tc>", xml.index("</w:tr>"))
    return xml[:cell] + nested + "<w:p/>" + xml[cell:]


def _moved_text(xml: str) -> str:
    """Moved-away text inside a cell (w:moveFrom), which Word does not show."""
    cell = xml.index("</w:p>", xml.index("</w:tr>"))
    return xml[:cell] + '<w:moveFrom w:id="1"><w:r><w:t>旧文字</w:t></w:r></w:moveFrom>' + xml[cell:]


CASES: dict[str, Callable[[], bytes]] = {
    "plain": lambda: make_docx(DEEP_HEADER, ROWS),
    "merged-header": lambda: make_docx(DEEP_HEADER, ROWS, merged_header=True),
    "merged-rows": lambda: make_docx(DEEP_HEADER, ROWS, merged_header=True, merged_rows=True),
    "split": lambda: make_docx(DEEP_HEADER, ROWS, split_at=2),
    "split-repeat-header": lambda: make_docx(DEEP_HEADER, ROWS, split_at=2, repeat_header=True),
    "hidden-table": lambda: _with_body(make_docx(DEEP_HEADER, ROWS), _hidden_table),
    "nested-table": lambda: _with_body(make_docx(DEEP_HEADER, ROWS), _nested_table),
    "moved-text": lambda: _with_body(make_docx(DEEP_HEADER, ROWS), _moved_text),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_docx_same_rows(name: str) -> None:
    data = CASES[name]()
    streamed = _stream_tables(data, DEFAULT_LIMITS)
    assert streamed and streamed == _tree_tables(data, DEFAULT_LIMITS, include_nested=False)


def test_quirks_really_present() -> None:
    nested = _stream_tables(CASES["nested-table"](), DEFAULT_LIMITS)
    assert any("内嵌" in cell for row in nested[0] for cell in row)
    assert not any("旧文字" in cell for row in _stream_tables(CASES["moved-text"](), DEFAULT_LIMITS)[0] for cell in row)
    assert len(_stream_tables(CASES["hidden-table"](), DEFAULT_LIMITS)) == 1


def test_real_docx_same_rows() -> None:
    real = [p.read_bytes() for _, p in sample_attachments() if p.read_bytes().startswith(b"PK")]
    assert len(real) >= 7
    for data in real:
        assert _stream_tables(data, DEFAULT_LIMITS) == _tree_tables(data, DEFAULT_LIMITS, include_nested=False)


def test_main_part_found_through_the_relationships() -> None:
    data = make_docx(DEEP_HEADER, ROWS)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    parts["word/main.xml"] = parts.pop("word/document.xml")
    parts["_rels/.rels"] = parts["_rels/.rels"].replace(b"word/document.xml", b"word/main.xml")
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"/word/document.xml", b"/word/main.xml")
    rels = parts.pop("word/_rels/document.xml.rels")
    parts["word/_rels/main.xml.rels"] = rels
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    assert _stream_tables(buf.getvalue(), DEFAULT_LIMITS) == _stream_tables(data, DEFAULT_LIMITS)


def test_broken_xml_is_a_corrupt_docx() -> None:
    data = _with_body(make_docx(DEEP_HEADER, ROWS), lambda xml: xml[: len(xml) // 2])
    with pytest.raises(ParseError, match=r"^corrupt docx: XMLSyntaxError"):
        _stream_tables(data, DEFAULT_LIMITS)
