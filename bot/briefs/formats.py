"""What a brief can be (formats, languages, media types) and the HTML brief's style: light
constants the web app imports without loading the renderers or the naming machinery."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

__all__ = ["FORMATS", "LANGS", "PERIODS", "KINDS", "MEDIA_TYPES", "CSS", "CSS_HASH", "BriefError", "period_months"]


PERIODS: Final[tuple[str, ...]] = ("list", "month", "quarter", "year")
KINDS: Final[tuple[str, ...]] = ("deep_synthesis", "algorithm_recommendation", "genai_service")


class BriefError(ValueError):
    """A brief that cannot be made (unknown kind, bad month, no such list); one line."""


def period_months(period: str, month: str) -> tuple[str, str]:
    """The first and last month of the period holding ``month`` (YYYY-MM)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BriefError(f"month: expected YYYY-MM, got {month[:20]!r}")
    year, mon = match.group(1), int(match.group(2))
    if period in ("list", "month"):
        return month, month
    if period == "quarter":
        first = (mon - 1) // 3 * 3 + 1
        return f"{year}-{first:02d}", f"{year}-{first + 2:02d}"
    if period == "year":
        return f"{year}-01", f"{year}-12"
    raise BriefError(f"period: expected one of {', '.join(PERIODS)}, got {period[:20]!r}")


FORMATS: Final = ("pdf", "docx", "html")
LANGS: Final = ("zh", "en", "both")
MEDIA_TYPES: Final = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
}
# The web app's look (bot/web/static): system fonts, dark blue headings, light rules.
CSS: Final = (
    "body{font-family:system-ui,-apple-system,'Segoe UI','PingFang SC','Noto Sans CJK SC','WenQuanYi Zen Hei',"
    "sans-serif;color:#1b1f24;margin:0;background:#fff}main{max-width:52rem;margin:0 auto;padding:1.5rem}"
    "h1{color:#1f3a5f;font-size:1.5rem;margin:.2rem 0}h2{color:#1f3a5f;font-size:1.1rem;border-bottom:1px solid #d0d7de;"
    "padding-bottom:.2rem;margin-top:1.4rem}.dateline{color:#57606a;font-size:.9rem}.lead{font-size:1.05rem;font-weight:600}"
    "figure{margin:1rem 0}figure img{max-width:100%;height:auto}figcaption{color:#57606a;font-size:.85rem}"
    "table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border:1px solid #d0d7de;padding:.3rem .4rem;"
    "text-align:left;vertical-align:top}th{background:#f6f8fa}td.num{font-family:monospace;font-size:.8rem;"
    "word-break:break-all}article+article{border-top:3px double #d0d7de;margin-top:2rem}"
)
# The brief's only style, allowed by hash in its Content-Security-Policy (no 'unsafe-inline').
CSS_HASH: Final = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
