"""Decide what an attachment is from its bytes, and refuse dangerous zips.

CAC download URLs carry no extension and the Content-Type is always
``application/octet-stream``; a blocked request even returns an HTML page. So the
format is decided by magic bytes only, and every zip (docx/xlsx) is vetted against
zip bombs BEFORE any library expands it.
"""

from __future__ import annotations

import io
import zipfile
from typing import Final

from scrapers.limits import check
from scrapers.records import ParseError

__all__ = [
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_TOTAL",
    "MAX_ZIP_RATIO",
    "RATIO_MIN_SIZE",
    "detect_format",
    "check_zip_safety",
]

MAX_ZIP_ENTRIES: Final = 2_000
MAX_ZIP_TOTAL: Final = 200 * 1024 * 1024  # bytes, uncompressed, all entries
MAX_ZIP_RATIO: Final = 200  # uncompressed : compressed, per entry …
RATIO_MIN_SIZE: Final = 1024 * 1024  # … for entries larger than this

_ZIP_MAGIC: Final = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC: Final = b"PK\x05\x06"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PDF_MAGIC: Final = b"%PDF"
_HTML_STARTS: Final = (
    b"<!doctype", b"<html", b"<table", b"<head", b"<body", b"<meta", b"<!--", b"<?xml",
    b"<script", b"<title", b"<style",
)  # fmt: skip


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ParseError(f"corrupt docx: not a readable zip archive ({exc})") from exc


def check_zip_safety(data: bytes, *, max_xml_part: int | None = None) -> None:
    """Raise ParseError if the zip could expand into something harmful.

    Only the central directory is read (no entry is decompressed). CPython's
    zipfile stops decompressing at the declared size, so bounding the declared
    sizes bounds what the docx/xlsx libraries can expand later. ``max_xml_part``
    also caps each XML part: a highly compressible part inside the ratio limit can
    still be large enough to build a tree of gigabytes.
    """
    with _open_zip(data) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ParseError(
                f"zip bomb suspected: {len(infos)} entries (limit {MAX_ZIP_ENTRIES})"
            )
        total = 0
        for info in infos:
            total += info.file_size
            if total > MAX_ZIP_TOTAL:
                raise ParseError(
                    f"zip bomb suspected: more than {MAX_ZIP_TOTAL // (1024 * 1024)} MB uncompressed"
                )
            # Every part, not only *.xml: the package may give an XML part any name.
            if max_xml_part is not None:
                check(f"uncompressed size of part {info.filename!r}", info.file_size, max_xml_part)
            if info.file_size > RATIO_MIN_SIZE:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > MAX_ZIP_RATIO:
                    raise ParseError(
                        f"zip bomb suspected: entry {info.filename!r} expands {ratio:.0f}:1 "
                        f"(limit {MAX_ZIP_RATIO}:1)"
                    )


def _zip_kind(data: bytes) -> str:
    with _open_zip(data) as zf:
        names = set(zf.namelist())
    if "word/document.xml" in names or any(n.startswith("word/document") for n in names):
        return "docx"
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if not names:
        raise ParseError("corrupt docx: empty zip archive")
    shown = ", ".join(sorted(names)[:8])
    raise ParseError(f"zip archive is neither docx nor xlsx (entries: {shown})")


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def _ole_kind(data: bytes) -> str:
    """Tell an old Excel workbook from an old Word document.

    OLE directory entries are UTF-16LE names; ``Workbook``/``Book`` is Excel,
    ``WordDocument`` is Word. Anything else is left to calamine to judge.
    """
    if _utf16("Workbook") in data:
        return "xls"
    # "Book" (Excel 5) is checked after WordDocument: a Word text may say "Book".
    if _utf16("WordDocument") in data:
        raise ParseError("legacy .doc not supported (old Word document, not a workbook)")
    return "xls"  # "Book" or unknown: calamine decides


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048]
    for bom in (b"\xef\xbb\xbf",):
        if head.startswith(bom):
            head = head[len(bom) :]
    head = head.lstrip().lower()
    if head.startswith(_HTML_STARTS):
        return head.startswith(b"<?xml") is False or b"<html" in data[:4096].lower()
    return False


def detect_format(data: bytes) -> str:
    """``docx`` | ``xlsx`` | ``pdf`` | ``xls`` | ``html`` from magic bytes, else ParseError."""
    if not data:
        # The CAC site answers 200 with an empty body when the Referer is missing.
        raise ParseError("unknown format: empty file (an empty answer: request without Referer?)")
    if data.startswith(_ZIP_MAGIC) or data.startswith(_EMPTY_ZIP_MAGIC):
        return _zip_kind(data)
    # Some PDF writers put junk before the header; readers accept it within 1 KB.
    if data.startswith(_PDF_MAGIC) or _PDF_MAGIC in data[:1024]:
        return "pdf"
    if data.startswith(_OLE_MAGIC):
        return _ole_kind(data)
    if _looks_like_html(data):
        return "html"
    preview = data[:16].hex(" ")
    raise ParseError(f"unknown format (first bytes: {preview})")
