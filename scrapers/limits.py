"""Bounds on the work one attachment may cause, and the one way a breach is reported.

An attachment is data from a site we do not control; a few kilobytes of it can
describe a sheet of 17 billion cells, a table a million columns wide or a page
ruled into 90,000 boxes. The parsers check these numbers from the file's own
structure BEFORE expanding anything (so the bounds hold even when parsing runs
in-process), and ``scrapers.workers`` adds hard process limits (wall time,
address space) as the backstop for whatever a check cannot foresee.

Defaults are far above real lists (the largest one is 779 rows × 8 columns in a
40-page PDF or a ~5 MB document.xml), so no real list comes near them.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapers.records import ParseError

__all__ = ["ParseLimits", "DEFAULT_LIMITS", "check"]


@dataclass(frozen=True, slots=True)
class ParseLimits:
    # Process limits (enforced by scrapers.workers.ParserPool; ignored in-process).
    wall_seconds: float = 60.0
    address_space: int = 1024 * 1024 * 1024  # bytes of virtual memory above the worker's baseline
    # Structural limits (enforced by the parsers before expansion).
    max_cells: int = 1_000_000  # rows × columns of one table/sheet, after spans and merges
    max_rows: int = 200_000
    max_columns: int = 1_000  # grid columns of one row (incl. gridSpan/colspan/gridBefore)
    max_merges: int = 10_000  # merged ranges in one sheet
    max_text: int = 20_000_000  # characters of cell text after spans, merges, shared strings (real: ~200k)
    max_xml_part: int = 32 * 1024 * 1024  # uncompressed bytes of one part of a docx/xlsx (real: ≤ 3 MB)
    max_pages: int = 2_000
    max_rulings_per_page: int = 20_000  # ruling edges (of lines, rects, curves) on one page
    max_grid_per_page: int = 10_000  # distinct horizontal × vertical rule positions on one page
    max_rulings_total: int = 400_000  # ruling edges over the whole document (pages × lines)
    max_grid_total: int = 200_000  # the per-page grids summed (a real 40-page list: ~11,000)
    max_chars_per_page: int = 100_000  # a real page holds ~3,000


DEFAULT_LIMITS = ParseLimits()


def check(what: str, value: int, limit: int) -> None:
    """Raise the one-line ParseError every limit breach uses."""
    if value > limit:
        raise ParseError(f"{what} exceeds the limit ({value} > {limit})")
