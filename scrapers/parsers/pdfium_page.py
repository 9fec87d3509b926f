"""A page read by PDFium (pypdfium2) in the shape pdfplumber's table finder expects.

pdfplumber spends ~90 % of a PDF list's parse time in pdfminer interpreting the
content stream (chars with positions, ruling paths); PDFium does the same ~7×
faster. This class exposes ``chars``, ``edges`` and ``bbox`` — the only things
``pdfplumber.table.TableFinder`` (lines strategy) and ``scrapers.parsers.pdf`` read —
computed the way pdfplumber computes them: chars in top-left page coordinates with
their advance box, every painted path split into subpaths whose axis-aligned
segments become edges (a two-point subpath is a line, as in pdfminer).
"""

from __future__ import annotations

import ctypes
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

__all__ = ["PdfiumPage"]

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_ALIGNED = 1e-3  # a segment this close to axis-aligned is aligned (float noise of transforms)


def _compose(m: Matrix, parent: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    pa, pb, pc, pd, pe, pf = parent
    return (
        a * pa + b * pc, a * pb + b * pd,
        c * pa + d * pc, c * pb + d * pd,
        e * pa + f * pc + pe, e * pb + f * pd + pf,
    )  # fmt: skip


def _matrix(obj: Any) -> Matrix:
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(m)):
        return _IDENTITY
    return (m.a, m.b, m.c, m.d, m.e, m.f)


class PdfiumPage:
    def __init__(self, page: pdfium.PdfPage) -> None:
        left, bottom, right, top = page.get_mediabox()
        self._left, self._top = left, top
        self.bbox = (0.0, 0.0, right - left, top - bottom)
        self.edges: list[dict[str, Any]] = []
        # Text objects PDFium drew but could not read back: it gives no character at all for a
        # string of one CJK character in a non-embedded CID font (``序`` / ``号`` wrapped in a
        # narrow cell, a last ``司`` on its own line), so such a page must be read otherwise.
        self.unread_text = 0
        textpage = page.get_textpage()
        try:
            self.chars = self._read_chars(textpage.raw)
            self._read_objects(page.raw, textpage.raw, _IDENTITY, form=None)
        finally:
            textpage.close()

    # --- text -------------------------------------------------------------------------

    def _read_chars(self, raw: Any) -> list[dict[str, Any]]:
        chars: list[dict[str, Any]] = []
        rect = pdfium_c.FS_RECTF()
        for i in range(pdfium_c.FPDFText_CountChars(raw)):
            if pdfium_c.FPDFText_IsGenerated(raw, i):
                continue  # spaces and line ends PDFium inferred, not drawn
            code = pdfium_c.FPDFText_GetUnicode(raw, i)
            if code in (0, 0xFFFE, 0xFFFF) or not pdfium_c.FPDFText_GetLooseCharBox(raw, i, ctypes.byref(rect)):
                continue
            x0, x1 = rect.left - self._left, rect.right - self._left
            top, bottom = self._top - rect.top, self._top - rect.bottom
            chars.append({
                "text": chr(code), "x0": x0, "x1": x1, "top": top, "bottom": bottom,
                "size": pdfium_c.FPDFText_GetFontSize(raw, i),
            })  # fmt: skip
        return chars

    # --- rules --------------------------------------------------------------------------

    def _read_objects(self, container: Any, textpage: Any, parent: Matrix, form: Any) -> None:
        """Rules from every painted path; unreadable text objects counted (``unread_text``)."""
        count = pdfium_c.FPDFFormObj_CountObjects(form) if form is not None else pdfium_c.FPDFPage_CountObjects(container)
        for index in range(count):
            obj = pdfium_c.FPDFFormObj_GetObject(form, index) if form is not None else pdfium_c.FPDFPage_GetObject(container, index)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                self._read_objects(container, textpage, _compose(_matrix(obj), parent), form=obj)
            elif kind == pdfium_c.FPDF_PAGEOBJ_PATH:
                self._path_edges(obj, _compose(_matrix(obj), parent))
            elif kind == pdfium_c.FPDF_PAGEOBJ_TEXT and pdfium_c.FPDFTextObj_GetText(obj, textpage, None, 0) <= 2:
                self.unread_text += 1  # the length in bytes of UTF-16 text with its terminator

    def _point(self, x: float, y: float, m: Matrix) -> tuple[float, float]:
        a, b, c, d, e, f = m
        return (a * x + c * y + e - self._left, self._top - (b * x + d * y + f))

    def _path_edges(self, obj: Any, m: Matrix) -> None:
        fill, stroke = ctypes.c_int(), ctypes.c_int()
        if pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fill), ctypes.byref(stroke)) and not fill.value and not stroke.value:
            return  # ended without painting (``n``): no object in pdfminer either
        subpaths: list[list[tuple[float, float]]] = []
        x, y = ctypes.c_float(), ctypes.c_float()
        for i in range(pdfium_c.FPDFPath_CountSegments(obj)):
            segment = pdfium_c.FPDFPath_GetPathSegment(obj, i)
            pdfium_c.FPDFPathSegment_GetPoint(segment, ctypes.byref(x), ctypes.byref(y))
            point = self._point(x.value, y.value, m)
            if pdfium_c.FPDFPathSegment_GetType(segment) == pdfium_c.FPDF_SEGMENT_MOVETO or not subpaths:
                subpaths.append([point])
            else:
                subpaths[-1].append(point)
            if pdfium_c.FPDFPathSegment_GetClose(segment) and subpaths[-1][0] != point:
                subpaths[-1].append(subpaths[-1][0])
        for pts in subpaths:
            if len(pts) == 2:
                self._edge(pts[0], pts[1], line=True)
            else:
                for p0, p1 in zip(pts, pts[1:]):
                    self._edge(p0, p1, line=False)

    def _edge(self, p0: tuple[float, float], p1: tuple[float, float], *, line: bool) -> None:
        x0, x1 = sorted((p0[0], p1[0]))
        top, bottom = sorted((p0[1], p1[1]))
        if abs(bottom - top) <= _ALIGNED:
            orientation, bottom = "h", top
        elif abs(x1 - x0) <= _ALIGNED:
            orientation, x1 = "v", x0
        elif line:
            orientation = "v"  # as pdfplumber's line_to_edge: a slanted line counts as vertical
        else:
            return
        self.edges.append({
            "object_type": "line" if line else "curve_edge", "orientation": orientation,
            "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top,
            "width": x1 - x0, "height": bottom - top,
        })  # fmt: skip

    def find_tables(self, settings: dict[str, Any] | None = None) -> list[Any]:
        from pdfplumber.table import TableFinder, TableSettings

        return list(TableFinder(self, TableSettings.resolve(settings)).tables)  # type: ignore[arg-type]

    def close(self) -> None:
        """Nothing to drop: the PDFium page is closed by the caller."""
