"""The CJK font embedded in PDF briefs.

reportlab's built-in CID fonts (STSong-Light …) are not embedded: a reader without them sees
no Chinese. A brief embeds a TrueType font instead: WenQuanYi Zen Hei, from Debian's
``fonts-wqy-zenhei`` (a TTC with TrueType outlines), looked up at its documented path or at
``briefs.font``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_FONTS", "FontMissing", "font_path", "register"]

# Debian's fonts-wqy-zenhei (and fonts-wqy-microhei, also TrueType) install here.
DEFAULT_FONTS: Final[tuple[Path, ...]] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
FONT_NAME: Final = "BriefCJK"
_LOCK = threading.Lock()
_REGISTERED: dict[str, str] = {}


class FontMissing(RuntimeError):
    """No CJK TrueType font where one was looked for; the message says how to fix it."""


def font_path(configured: Path | str | None = None) -> Path:
    """The font file: ``briefs.font`` when set, else the first Debian path that exists."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontMissing(f"briefs.font: no font file at {path} (a CJK TrueType .ttf/.ttc, e.g. Debian's fonts-wqy-zenhei)")
        return path
    for path in DEFAULT_FONTS:
        if path.is_file():
            return path
    raise FontMissing(
        f"no CJK font for PDF briefs at {DEFAULT_FONTS[0]}: install Debian's fonts-wqy-zenhei or set briefs.font"
    )


def register(path: Path) -> str:
    """Register the font with reportlab once per path; returns its reportlab name."""
    key = str(path)
    with _LOCK:
        if key in _REGISTERED:
            return _REGISTERED[key]
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont, TTFError

        name = f"{FONT_NAME}{len(_REGISTERED)}"
        try:
            # subfontIndex 0 of a collection (.ttc): Zen Hei proportional; ignored for a .ttf.
            pdfmetrics.registerFont(TTFont(name, key, subfontIndex=0))
        except (TTFError, OSError) as err:
            raise FontMissing(f"briefs.font: {path} is not a usable TrueType font ({str(err)[:120]})") from err
        _REGISTERED[key] = name
        return name
