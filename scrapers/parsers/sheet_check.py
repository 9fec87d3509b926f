"""Size a workbook from its own structure before calamine expands it.

calamine builds each sheet as a dense grid from A1 to the farthest cell and
copies a shared string into every cell that uses it, so a 6 KB file with one
cell at XFD1048576 asks for 512 GB, and one long shared string used 100,000
times for gigabytes. These checks read only the XML (streamed, elements freed as
they go) or the BIFF records, and refuse a workbook whose grid, merges or
expanded text would exceed the limits.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from scrapers.limits import ParseLimits, check
from scrapers.records import ParseError

__all__ = ["check_xlsx", "check_xls"]

_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # strict OOXML
)
_REF = re.compile(r"\$?([A-Za-z]{1,7})\$?(\d{1,12})")


def _tags(*names: str) -> list[str]:
    return [f"{{{ns}}}{name}" for ns in _NAMESPACES for name in names]


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _cell_ref(ref: str) -> tuple[int, int] | None:
    """``"XFD1048576"`` → (row 1048576, column 16384), 1-based; None if not a reference."""
    m = _REF.fullmatch(ref.strip())
    return (int(m.group(2)), _col_number(m.group(1))) if m else None


@dataclass(slots=True)
class _Sheet:
    name: str
    rows: int = 0
    cols: int = 0
    merges: int = 0
    merge_area: int = 0
    text: int = 0
    shared_uses: dict[int, int] = field(default_factory=dict)

    def reach(self, row: int, col: int) -> None:
        self.rows, self.cols = max(self.rows, row), max(self.cols, col)

    def verify(self, limits: ParseLimits) -> None:
        where = f"sheet {self.name}"
        check(f"{where}: row count", self.rows, limits.max_rows)
        check(f"{where}: column count", self.cols, limits.max_columns)
        check(f"{where}: cell grid ({self.rows} × {self.cols})", self.rows * self.cols, limits.max_cells)
        check(f"{where}: merged range count", self.merges, limits.max_merges)
        check(f"{where}: merged area", self.merge_area, limits.max_cells)


def _iter(data: bytes, tags: list[str]) -> Iterator[etree._Element]:
    parser = etree.iterparse(
        io.BytesIO(data), events=("end",), tag=tags, resolve_entities=False, no_network=True,
        huge_tree=False, recover=True,
    )  # fmt: skip
    try:
        for _, el in parser:
            yield el
    except etree.XMLSyntaxError:
        return  # not XML at all (an image, a binary part): nothing calamine reads as cells


def _in_phonetic(t: etree._Element) -> bool:
    parent = t.getparent()
    return parent is not None and str(parent.tag).endswith("}rPh")


def _shared_string_lengths(data: bytes) -> list[int]:
    lengths: list[int] = []
    t_tags = set(_tags("t"))
    for si in _iter(data, _tags("si")):
        # Phonetic runs (rPh) are not shown; calamine skips them too.
        lengths.append(sum(len(t.text or "") for t in si.iter(*t_tags) if not _in_phonetic(t)))
        si.clear()
    return lengths


def _scan_sheet(name: str, data: bytes, shared: list[int], limits: ParseLimits) -> _Sheet:
    sheet = _Sheet(name)
    row_tags, cell_tags = set(_tags("row")), set(_tags("c"))
    dim_tags, merge_tags = set(_tags("dimension")), set(_tags("mergeCell"))
    row_no, col_no = 0, 0
    for el in _iter(data, _tags("dimension", "row", "c", "mergeCell")):
        tag = el.tag
        if tag in cell_tags:
            pos = _cell_ref(el.get("r", ""))
            # A cell without ``r`` follows the previous one (as calamine places it).
            row, col = pos if pos else (max(row_no, 1), col_no + 1)
            col_no = col
            sheet.reach(row, col)
            kind = el.get("t", "n")
            if kind == "s":
                v = el.findtext("{*}v")
                if v is not None and v.strip().isdigit():
                    idx = int(v)
                    sheet.text += shared[idx] if idx < len(shared) else 0
            else:
                sheet.text += sum(len(t) for t in el.itertext())
            check(f"sheet {name}: cell text after shared strings are expanded", sheet.text, limits.max_text)
            el.clear()
        elif tag in row_tags:
            r = el.get("r", "")
            row_no = int(r) if r.isdigit() else row_no + 1
            col_no = 0
            sheet.reach(row_no, 0)
            el.clear()
            # Free finished rows: the document element would otherwise keep them all.
            while el.getprevious() is not None:
                parent = el.getparent()
                if parent is None:
                    break
                del parent[0]
        elif tag in dim_tags:
            refs = [_cell_ref(part) for part in el.get("ref", "").split(":")]
            for pos in refs:
                if pos:
                    sheet.reach(*pos)
        elif tag in merge_tags:
            corners = [_cell_ref(part) for part in el.get("ref", "").split(":")]
            if len(corners) == 2 and corners[0] and corners[1]:
                (r0, c0), (r1, c1) = corners[0], corners[1]
                sheet.merges += 1
                sheet.merge_area += (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1)
                sheet.reach(max(r0, r1), max(c0, c1))
            el.clear()
        sheet.verify(limits)
    return sheet


def check_xlsx(data: bytes, limits: ParseLimits) -> None:
    """Every worksheet part of an xlsx within ``limits``; ParseError otherwise.

    Parts are not located through the relationships: the package may name a sheet or
    the shared-string table anything, so every part is scanned (XML errors are
    recovered from, as calamine's reader does) and a shared string counts at the
    longest length any table gives its index.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = [info for info in zf.infolist() if not info.is_dir()]
        shared: list[int] = []
        for info in parts:
            for i, length in enumerate(_shared_string_lengths(zf.read(info))):
                if i < len(shared):
                    shared[i] = max(shared[i], length)
                else:
                    shared.append(length)
        for info in parts:
            _scan_sheet(info.filename, zf.read(info), shared, limits)


# --- legacy .xls (BIFF5/8) ------------------------------------------------------------------

_BOF, _EOF, _DIMENSIONS, _MERGEDCELLS = 0x0809, 0x000A, 0x0200, 0x00E5
_SST, _CONTINUE, _LABELSST = 0x00FC, 0x003C, 0x00FD
# Records whose data starts with (row u16, column u16) of one cell.
# (STRING, 0x0207, follows a formula and has no position: not listed.)
_CELL_RECORDS = {0x0203, 0x027E, 0x0201, 0x0204, 0x0205, 0x0006, 0x00D6, 0x00FD, 0x0406}
_MULTI_RECORDS = {0x00BD, 0x00BE}  # MULRK / MULBLANK: row, first column, …, last column (u16 at the end)


def _workbook_stream(data: bytes) -> bytes:
    import olefile  # type: ignore[import-untyped]

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            for name in ("Workbook", "Book"):
                if ole.exists(name):
                    return bytes(ole.openstream(name).read())
    except (OSError, ValueError, struct.error, IndexError, KeyError) as exc:
        raise ParseError(f"unreadable xls: not a readable OLE file ({exc})") from exc
    raise ParseError("unreadable xls: no Workbook stream")


def _records(stream: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        yield kind, stream[pos + 4 : pos + 4 + size]
        pos += 4 + size


def _sst_lengths(parts: list[bytes]) -> list[int]:
    """Character counts of the shared strings (SST + CONTINUE records, strings may straddle them)."""
    lengths: list[int] = []
    if not parts or len(parts[0]) < 8:
        return lengths
    _, unique = struct.unpack_from("<II", parts[0], 0)
    part, pos = 0, 8
    try:
        for _ in range(unique):
            if pos >= len(parts[part]):
                part, pos = part + 1, 0
            buf = parts[part]
            cch, flags = struct.unpack_from("<HB", buf, pos)
            pos += 3
            runs = ext = 0
            if flags & 0x08:
                (runs,) = struct.unpack_from("<H", buf, pos)
                pos += 2
            if flags & 0x04:
                (ext,) = struct.unpack_from("<I", buf, pos)
                pos += 4
            lengths.append(cch)
            left, wide = cch, bool(flags & 0x01)
            while left:
                room = (len(parts[part]) - pos) // (2 if wide else 1)
                take = min(left, room)
                pos += take * (2 if wide else 1)
                left -= take
                if left:  # continues in the next record, which starts with a new flags byte
                    part, pos = part + 1, 1
                    wide = bool(parts[part][0] & 0x01)
            skip = runs * 4 + ext
            while skip:
                room = len(parts[part]) - pos
                take = min(skip, room)
                pos += take
                skip -= take
                if skip:
                    part, pos = part + 1, 0
    except (IndexError, struct.error):
        pass  # a damaged table: what was read still counts; calamine judges the rest
    return lengths


def check_xls(data: bytes, limits: ParseLimits) -> None:
    """Every sheet of a legacy workbook within ``limits``, from its BIFF records."""
    stream = _workbook_stream(data)
    sheets: list[_Sheet] = []
    sst_parts: list[bytes] = []
    shared: list[int] | None = None
    current: _Sheet | None = None
    previous = 0
    for kind, body in _records(stream):
        if kind == _BOF:
            current = _Sheet(f"#{len(sheets)}")
            sheets.append(current)
        elif kind == _SST:
            sst_parts = [body]
        elif kind == _CONTINUE and previous in (_SST, _CONTINUE) and sst_parts and shared is None:
            sst_parts.append(body)
        elif current is not None and len(body) >= 4:
            if shared is None and sst_parts:
                shared = _sst_lengths(sst_parts)
            if kind in _CELL_RECORDS:
                row, col = struct.unpack_from("<HH", body, 0)
                current.reach(row + 1, col + 1)
                if kind == _LABELSST and len(body) >= 10 and shared:
                    (idx,) = struct.unpack_from("<I", body, 6)
                    current.text += shared[idx] if idx < len(shared) else 0
                    check(f"sheet {current.name}: cell text after shared strings are expanded", current.text, limits.max_text)
            elif kind in _MULTI_RECORDS and len(body) >= 6:
                row, _first = struct.unpack_from("<HH", body, 0)
                (last,) = struct.unpack_from("<H", body, len(body) - 2)
                current.reach(row + 1, last + 1)
            elif kind == _DIMENSIONS and len(body) >= 12:
                _, rows, _, cols = struct.unpack_from("<IIHH", body, 0)
                current.reach(rows, cols)
            elif kind == _MERGEDCELLS:
                (count,) = struct.unpack_from("<H", body, 0)
                for i in range(min(count, (len(body) - 2) // 8)):
                    r0, r1, c0, c1 = struct.unpack_from("<HHHH", body, 2 + 8 * i)
                    current.merges += 1
                    current.merge_area += (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1)
            current.verify(limits)
        if kind != _CONTINUE:
            previous = kind
