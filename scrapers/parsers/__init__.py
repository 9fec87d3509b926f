"""Format parsers: bytes of one attachment → raw cell text, table by table.

Each ``extract_tables(data)`` returns ``list[Table]`` where a Table is
``list[list[str]]`` (rows of cell text, merged cells repeated over the grid
columns they span, line breaks inside a cell kept as ``\\n``). They know nothing
about what the columns mean: ``scrapers.tables`` maps headers and rows.
"""

from __future__ import annotations

Table = list[list[str]]

__all__ = ["Table"]
