"""Word (.docx) tables → raw rows.

The main part is found through the package relationships and streamed with lxml
``iterparse`` (entities not resolved): each finished row of a top-level table is
turned into texts and cleared, so memory holds one row rather than the document
tree (python-docx loaded every part and built the whole tree: +14 MB and ~1.7× the
time on a 779-row list; docs/benchmarks.md). The table XML is walked directly,
handling gridSpan (a cell spanning several grid columns is repeated over them, as
python-docx does), gridBefore/gridAfter, and vMerge (a continued cell takes the
text of the cell above).
"""

from __future__ import annotations

import io
import zipfile

from lxml import etree

from scrapers.limits import DEFAULT_LIMITS, ParseLimits, check
from scrapers.parsers import Table
from scrapers.records import ParseError

__all__ = ["extract_tables"]

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


W_TBL, W_TR, W_TC, W_P, W_R, W_T = map(_w, ("tbl", "tr", "tc", "p", "r", "t"))
W_TAB, W_BR, W_CR, W_NBH = map(_w, ("tab", "br", "cr", "noBreakHyphen"))
W_TCPR, W_GRIDSPAN, W_VMERGE, W_TRPR = map(_w, ("tcPr", "gridSpan", "vMerge", "trPr"))
W_GRIDBEFORE, W_GRIDAFTER, W_VAL = _w("gridBefore"), _w("gridAfter"), _w("val")
W_SDT, W_SDTCONTENT, W_CUSTOMXML = _w("sdt"), _w("sdtContent"), _w("customXml")
W_MOVEFROM, W_DEL = _w("moveFrom"), _w("del")
MC_FALLBACK = f"{{{_MC}}}Fallback"


def _int_val(el: etree._Element | None, default: int) -> int:
    if el is None:
        return default
    try:
        return max(1, int(el.get(W_VAL, default)))
    except (TypeError, ValueError):
        return default


def _paragraph_text(p: etree._Element) -> str:
    parts: list[str] = []
    for el in p.iter(W_T, W_TAB, W_BR, W_CR, W_NBH):
        tag = el.tag
        if tag == W_T:
            parts.append(el.text or "")
        elif (parent := el.getparent()) is None or parent.tag != W_R:
            continue  # w:tab inside w:tabs is a tab-stop definition, not text
        elif tag == W_TAB:
            parts.append("\t")
        elif tag == W_NBH:
            parts.append("-")
        else:
            parts.append("\n")
    return "".join(parts)


def _cell_text(tc: etree._Element) -> str:
    # Paragraphs are joined with a line break; normalisation later drops it next
    # to CJK text (Word's wrapped paragraphs) and keeps a space between words.
    paras = [_paragraph_text(p) for p in tc.iter(W_P)]
    return "\n".join(t for t in paras if t.strip())


def _children(parent: etree._Element, tag: str) -> list[etree._Element]:
    """``parent``'s children with ``tag`` (a table's rows, a row's cells), including those
    wrapped in content controls / custom XML."""
    found: list[etree._Element] = []
    for child in parent:
        if child.tag == tag:
            found.append(child)
        elif child.tag in (W_SDT, W_CUSTOMXML):
            content = child.find(W_SDTCONTENT) if child.tag == W_SDT else child
            if content is not None:
                found.extend(_children(content, tag))
    return found


def _row_values(tr: etree._Element, above: dict[int, str], limits: ParseLimits, used: list[int]) -> list[str]:
    """One row's grid texts; ``above`` carries vMerge texts down, ``used`` counts the
    document's grid cells and characters (a cell's text includes its nested tables')."""
    trpr = tr.find(W_TRPR)
    before = _int_val(trpr.find(W_GRIDBEFORE), 0) if trpr is not None else 0
    after = _int_val(trpr.find(W_GRIDAFTER), 0) if trpr is not None else 0
    cells = _children(tr, W_TC)
    spans = [_int_val(tc.find(f"{W_TCPR}/{W_GRIDSPAN}"), 1) for tc in cells]
    # Sized before anything is repeated: a 31 KB file can claim spans of millions.
    width = before + sum(spans) + after
    check("grid columns of a table row (gridBefore + gridSpan + gridAfter)", width, limits.max_columns)
    used[0] += width
    check("grid cells of the document's tables", used[0], limits.max_cells)
    row: list[str] = [""] * before
    for tc, span in zip(cells, spans):
        tcpr = tc.find(W_TCPR)
        vmerge = tcpr.find(W_VMERGE) if tcpr is not None else None
        col = len(row)
        if vmerge is not None and vmerge.get(W_VAL, "continue") == "continue":
            text = above.get(col, "")
        else:
            text = _cell_text(tc)
        used[1] += len(text) * span
        check("cell text of the document's tables", used[1], limits.max_text)
        for k in range(span):
            above[col + k] = text
        row.extend([text] * span)
    return row


def _table_rows(tbl: etree._Element, limits: ParseLimits, used: list[int]) -> Table:
    rows = _children(tbl, W_TR)
    check("table row count", len(rows), limits.max_rows)
    above: dict[int, str] = {}  # grid column → text of the cell a vMerge continues
    return [_row_values(tr, above, limits, used) for tr in rows]


def _top_level_tables(body: etree._Element) -> list[etree._Element]:
    # Tables nested inside a cell are part of that cell, not separate lists.
    return [t for t in body.iter(W_TBL) if not any(a.tag == W_TC for a in t.iterancestors())]


def _strip_hidden_duplicates(root: etree._Element) -> None:
    """Remove text Word would not show: moved-away text and compatibility fallbacks."""
    for tag in (W_MOVEFROM, W_DEL, MC_FALLBACK):
        for el in list(root.iter(tag)):
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)


_HIDDEN = (W_MOVEFROM, W_DEL, MC_FALLBACK)
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_PKG_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _main_part(zf: zipfile.ZipFile) -> str:
    """The main document part, found through the package relationships as Word does."""
    try:
        rels = etree.fromstring(zf.read("_rels/.rels"), _xml_parser())
    except (KeyError, etree.XMLSyntaxError):
        return "word/document.xml"
    for rel in rels.iter(_PKG_RELS):
        if rel.get("Type") == _OFFICE_DOCUMENT and rel.get("TargetMode") != "External":
            target = (rel.get("Target") or "").lstrip("/")
            if target in zf.namelist():
                return target
    return "word/document.xml"


def _open_main(data: bytes) -> tuple[zipfile.ZipFile, str]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        part = _main_part(zf)
        zf.getinfo(part)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ParseError(f"corrupt docx: {type(exc).__name__}: {exc}") from exc
    return zf, part


def _load_body(data: bytes) -> etree._Element:
    zf, part = _open_main(data)
    try:
        with zf:
            root = etree.fromstring(zf.read(part), _xml_parser())
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ParseError(f"corrupt docx: {type(exc).__name__}: {exc}") from exc
    found = root.find(_w("body"))
    if found is None:
        raise ParseError(f"corrupt docx: {part} has no body")
    return found


def _hidden_below(tr: etree._Element, table: etree._Element) -> bool:
    """A row wrapped (between it and its table) in an element Word would not show."""
    node = tr.getparent()
    while node is not None and node is not table:
        if node.tag in _HIDDEN:
            return True
        node = node.getparent()
    return False


def _stream_tables(data: bytes, limits: ParseLimits) -> list[Table]:
    """Top-level tables, row by row, without building the document tree: each finished
    row is turned into texts and cleared, so memory holds one row, not the list."""
    zf, part = _open_main(data)
    tables: dict[etree._Element, tuple[Table, dict[int, str]]] = {}  # live top-level tables
    done: list[Table] = []
    used = [0, 0]
    try:
        with zf, zf.open(part) as stream:
            events = etree.iterparse(
                stream, events=("start", "end"), tag=(W_TBL, W_TR),
                resolve_entities=False, no_network=True, huge_tree=False,
            )  # fmt: skip
            for event, el in events:
                if el.tag == W_TBL:
                    if event == "start":
                        ancestors = {a.tag for a in el.iterancestors()}
                        # Nested tables belong to their cell; hidden ones Word would not show.
                        if W_TC not in ancestors and not ancestors.intersection(_HIDDEN):
                            tables[el] = ([], {})
                            done.append(tables[el][0])
                    elif el in tables:
                        del tables[el]
                        el.clear(keep_tail=True)
                elif el.tag == W_TR and event == "end":
                    owner = next(el.iterancestors(W_TBL), None)
                    if owner is None or owner not in tables:
                        continue  # a nested table's row: part of its cell's text
                    if _hidden_below(el, owner):
                        continue
                    _strip_hidden_duplicates(el)
                    rows, above = tables[owner]
                    rows.append(_row_values(el, above, limits, used))
                    check("table row count", len(rows), limits.max_rows)
                    el.clear(keep_tail=True)
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ParseError(f"corrupt docx: {type(exc).__name__}: {exc}") from exc
    return [t for t in done if t]


def _tree_tables(data: bytes, limits: ParseLimits, include_nested: bool) -> list[Table]:
    """The same from the whole document tree (nested tables need their outer ones first)."""
    body = _load_body(data)
    _strip_hidden_duplicates(body)
    elements = list(body.iter(W_TBL)) if include_nested else _top_level_tables(body)
    used = [0, 0]  # grid cells, characters
    tables = [_table_rows(t, limits, used) for t in elements]
    return [t for t in tables if t]


def extract_tables(data: bytes, limits: ParseLimits = DEFAULT_LIMITS, include_nested: bool = False) -> list[Table]:
    """All top-level tables of the document, in document order.

    ``include_nested`` also returns tables nested in cells (after their outer
    table): for a list laid out inside a one-cell frame table.
    """
    if include_nested:
        return _tree_tables(data, limits, include_nested=True)
    return _stream_tables(data, limits)
