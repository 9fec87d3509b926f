"""What a response says about itself: a WAF challenge instead of content, an HTML page where
an attachment was expected, the file name in Content-Disposition. Pure functions over bytes,
used by ``scrapers.fetch`` on every body (CAC answers "200" to almost everything)."""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["looks_like_waf", "looks_like_html", "filename_from_disposition"]

_WAF_MARKERS = (
    "知道创宇",
    "浏览器安全检查",
    "创宇盾",
    "加速乐",
    "knownsec",
    "yunaq.com",
    "jiasule",
    "__jsl_clearance",
    "jsl_clearance_s",
)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_MAGIC = (b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"PK\x05\x06")


def looks_like_waf(body: bytes) -> bool:
    """A KnownSec (知道创宇) challenge page rather than content.

    A marker in the <title>, or anywhere in a small page, counts; a big genuine
    article that merely mentions 知道创宇 in its text does not.
    """
    head = body[:65536].decode("utf-8", errors="ignore")
    lowered = head.lower()
    match = _TITLE.search(head)
    if match and any(m in match.group(1).lower() for m in _WAF_MARKERS):
        return True
    if "jsl_clearance" in lowered:
        return True
    return len(body) < 32768 and any(m in lowered for m in _WAF_MARKERS)


def looks_like_html(body: bytes, content_type: str | None = None) -> bool:
    """True for an HTML page; attachments are recognised by magic bytes first."""
    if body.startswith(_MAGIC):
        return False
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1024].lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<meta")):
        return True
    if start.startswith(b"<") and b"<html" in start:
        return True
    return bool(content_type and "html" in content_type.lower() and start.startswith(b"<"))


def filename_from_disposition(value: bytes | str | None) -> str | None:
    """Filename from a Content-Disposition header: ``filename*`` (RFC 6266/5987) first,
    else ``filename`` — which CAC-like servers fill with raw UTF-8/GBK or %-escapes."""
    if value is None:
        return None
    if isinstance(value, bytes):
        for enc in ("utf-8", "gb18030"):
            try:
                text = value.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = value.decode("latin-1")
    else:
        text = value
    star = re.search(r"filename\*\s*=\s*([^;]+)", text, re.I)
    if star:
        raw = star.group(1).strip().strip('"')
        charset, _, rest = raw.partition("'")
        if _:
            _lang, _, encoded = rest.partition("'")
            try:
                return unquote(encoded, encoding=charset or "utf-8", errors="strict")
            except (LookupError, UnicodeDecodeError):
                return unquote(encoded)
    plain = re.search(r'filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;]+)', text, re.I)
    if plain:
        name = plain.group(1).strip()
        if name.startswith('"') and name.endswith('"'):
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        if re.search(r"%[0-9A-Fa-f]{2}", name):
            name = unquote(name)
        return name or None
    return None
