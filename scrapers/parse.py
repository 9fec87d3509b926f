"""One attachment's bytes → ParsedList: sniff, vet, extract, map, hash.

Everything that can go wrong ends as ParseError with a reason a human can act
on; no library exception escapes and an unparseable list never comes back as an
empty one (storage would read that as "every filing was removed").
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable

from scrapers.limits import DEFAULT_LIMITS, ParseLimits
from scrapers.parsers import Table
from scrapers.records import ListRef, ParsedList, ParseError
from scrapers.sniff import check_zip_safety, detect_format
from scrapers.tables import find_header, rows_to_filings

__all__ = ["parse_attachment", "extract_raw_tables", "assemble_rows"]


def _extractor(fmt: str) -> Callable[[bytes, ParseLimits], list[Table]]:
    # Imported lazily: pdfplumber and calamine are heavy and not always needed.
    modules = {"docx": "docx", "pdf": "pdf", "xlsx": "sheet", "xls": "sheet", "html": "html"}
    if fmt not in modules:  # pragma: no cover - detect_format only returns the formats above
        raise ParseError(f"unsupported format {fmt!r}")
    module = importlib.import_module(f"scrapers.parsers.{modules[fmt]}")
    extract: Callable[[bytes, ParseLimits], list[Table]] = module.extract_tables
    return extract


def extract_raw_tables(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> tuple[str, list[Table]]:
    """Sniff the format, vet zips, and return ``(format, tables)``."""
    fmt = detect_format(data)
    if fmt in ("docx", "xlsx"):
        check_zip_safety(data, max_xml_part=limits.max_xml_part)
    try:
        tables = _extractor(fmt)(data, limits)
    except ParseError:
        raise
    except MemoryError:
        raise ParseError(f"{fmt}: the parse exceeded the memory limit (MemoryError)") from None
    except BaseException as exc:  # noqa: BLE001 - every library failure, incl. pyo3's PanicException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        label = "corrupt docx" if fmt == "docx" else f"unreadable {fmt}"
        first_line = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise ParseError(f"{label}: {type(exc).__name__}: {first_line}") from exc
    if not tables:
        raise ParseError(f"no table found in the {fmt} attachment")
    if fmt == "docx" and not any(find_header(t) is not None for t in tables):
        # Maybe the list sits in a table nested in a layout table.
        from scrapers.parsers.docx import extract_tables as docx_tables

        nested = docx_tables(data, limits, include_nested=True)
        if any(find_header(t) is not None for t in nested):
            tables = nested
    return fmt, tables


def assemble_rows(fmt: str, tables: list[Table]) -> list[list[str]]:
    """The rows of the one logical table the list is.

    Word and PDF lists may be split over several tables (later PDF pages repeat
    no header), so everything from the first table with a header on is one table.
    Workbooks: every sheet that has a header (other sheets are notes/summaries).
    """
    with_header = [find_header(t) is not None for t in tables]
    if fmt in ("xlsx", "xls"):
        chosen = [t for t, ok in zip(tables, with_header) if ok] or tables
    else:
        first = next((i for i, ok in enumerate(with_header) if ok), 0)
        chosen = tables[first:]
    return [row for table in chosen for row in table]


def parse_attachment(data: bytes, ref: ListRef, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedList:
    """Parse one attachment of ``ref``'s list; ParseError with a reason on failure."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParseError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    fmt, tables = extract_raw_tables(data, limits)
    try:
        rows, warnings = rows_to_filings(assemble_rows(fmt, tables), ref.kind, ref.is_cancellation)
    except ParseError as exc:
        raise ParseError(f"{fmt}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001
        raise ParseError(f"{fmt}: cannot map rows: {type(exc).__name__}: {exc}") from exc
    return ParsedList(
        ref=ref,
        sha256=sha256,
        format=fmt,
        rows=tuple(rows),
        warnings=tuple(warnings),
    )
