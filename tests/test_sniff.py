"""Format sniffing and zip-bomb defence (fixtures generated in-test, tiny on disk)."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapers.parse import parse_attachment
from scrapers.records import Kind, ParseError
from scrapers.sniff import MAX_ZIP_ENTRIES, check_zip_safety, detect_format

from builders import DEEP_HEADER, GENAI_HEADER, make_docx, make_html_table, make_pdf, make_xls, make_xlsx, make_zip, ref_for

REF = ref_for(Kind.DEEP_SYNTHESIS)
ROW = ["1", "算法", "服务提供者", "某公司", "某(APP)", "用途", "网信算备110101128387701230011号", ""]


def test_detect_real_formats() -> None:
    assert detect_format(make_docx(DEEP_HEADER, [ROW])) == "docx"
    assert detect_format(make_xlsx(DEEP_HEADER, [ROW])) == "xlsx"
    assert detect_format(make_xls(DEEP_HEADER, [ROW])) == "xls"
    assert detect_format(make_pdf(GENAI_HEADER, [["1", "北京市", "m", "e", "Beijing-M-20240101", "2024/1/1"]])) == "pdf"
    assert detect_format(make_html_table(DEEP_HEADER, [ROW])) == "html"


@pytest.mark.parametrize(
    "page",
    [
        b"<!DOCTYPE html><html><body>x</body></html>",
        b"\xef\xbb\xbf  \n<html><head><title>\xe7\x9f\xa5\xe9\x81\x93\xe5\x88\x9b\xe5\xae\x87\xe4\xba\x91\xe9\x98\xb2\xe5\xbe\xa1</title></head></html>",
        b"<table><tr><td>1</td></tr></table>",
        b"\n\n<HTML><BODY></BODY></HTML>",
    ],
)
def test_detect_html(page: bytes) -> None:
    assert detect_format(page) == "html"


def test_waf_page_instead_of_file_is_a_clear_error() -> None:
    page = "<!DOCTYPE html><html><head><title>知道创宇云防御</title></head><body>浏览器安全检查</body></html>"
    assert detect_format(page.encode()) == "html"
    with pytest.raises(ParseError, match="HTML page without a table.*知道创宇"):
        parse_attachment(page.encode(), REF)


def test_html_page_with_unrelated_table_fails_on_headers() -> None:
    page = b"<html><body><table><tr><td>\xe9\xa6\x96\xe9\xa1\xb5</td><td>nav</td></tr></table></body></html>"
    with pytest.raises(ParseError, match="headers not recognised"):
        parse_attachment(page, REF)


def test_zip_bomb_huge_entry_rejected_before_expansion() -> None:
    # 300 MB of zeros compresses to ~300 KB: stream it in, never hold it in memory.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as entry:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                entry.write(chunk)
    data = buf.getvalue()
    assert len(data) < 2_000_000
    assert detect_format(data) == "docx"
    with pytest.raises(ParseError, match="zip bomb"):
        check_zip_safety(data)
    with pytest.raises(ParseError, match="zip bomb"):
        parse_attachment(data, REF)


def test_zip_bomb_ratio_rejected() -> None:
    data = make_zip({"word/document.xml": b"\0" * (5 << 20)})  # 5 MB → ~5 KB
    with pytest.raises(ParseError, match=r"expands \d+:1"):
        check_zip_safety(data)


def test_zip_with_too_many_entries_rejected() -> None:
    entries = {"word/document.xml": b"<w/>"}
    entries.update({f"word/media/{i}.bin": b"" for i in range(10_000)})
    data = make_zip(entries, compression=zipfile.ZIP_STORED)
    with pytest.raises(ParseError, match=f"10001 entries.*{MAX_ZIP_ENTRIES}"):
        parse_attachment(data, REF)


def test_normal_docx_passes_safety() -> None:
    check_zip_safety(make_docx(DEEP_HEADER, [ROW] * 50))


def test_truncated_docx() -> None:
    data = make_docx(DEEP_HEADER, [ROW])
    for cut in (len(data) // 2, len(data) - 30, 40):
        with pytest.raises(ParseError, match="corrupt docx"):
            parse_attachment(data[:cut], REF)


def test_docx_with_broken_document_xml() -> None:
    data = make_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document><unclosed"})
    with pytest.raises(ParseError, match="corrupt docx"):
        parse_attachment(data, REF)


def test_zip_that_is_neither_docx_nor_xlsx() -> None:
    with pytest.raises(ParseError, match="neither docx nor xlsx"):
        detect_format(make_zip({"readme.txt": b"hello"}))


def test_truncated_pdf_is_parse_error() -> None:
    data = make_pdf(GENAI_HEADER, [["1", "北京市", "m", "e", "Beijing-M-20240101", "2024/1/1"]])
    with pytest.raises(ParseError):
        parse_attachment(data[: len(data) // 3], REF)


def test_legacy_doc_rejected() -> None:
    # An OLE compound file whose directory names a WordDocument stream.
    fake_doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "WordDocument".encode("utf-16-le") + b"\0" * 100
    with pytest.raises(ParseError, match="legacy .doc not supported"):
        detect_format(fake_doc)


def test_garbage_ole_is_parse_error() -> None:
    fake = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2000)
    with pytest.raises(ParseError):
        parse_attachment(fake, REF)


def test_empty_and_unknown() -> None:
    with pytest.raises(ParseError, match="unknown format"):
        detect_format(b"")
    with pytest.raises(ParseError, match="unknown format"):
        detect_format(b"hello world, not a list")


@settings(max_examples=200)
@given(st.binary(max_size=4096))
def test_random_bytes_only_ever_raise_parse_error(data: bytes) -> None:
    try:
        parse_attachment(data, REF)
    except ParseError:
        pass


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.sampled_from(["PK\x03\x04", "%PDF-1.4\n", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]))
def test_random_bytes_behind_magic_only_raise_parse_error(tail: bytes, magic: str) -> None:
    try:
        parse_attachment(magic.encode("latin-1") + tail, REF)
    except ParseError:
        pass
