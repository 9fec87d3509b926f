"""``cacwatch telegram preview``: a channel's posts shown without sending them.

The posts are the notifier's own (``format.channel_texts``), in Telegram's HTML subset. Shown
in a terminal they become readable text (tags dropped, a link's target after its label); in
an HTML page each post is a message bubble. The page is rebuilt from the posts tag by tag:
only Telegram's formatting tags survive (``a`` with an http(s) ``href`` only), every text and
attribute is escaped again, and the page allows no script (its Content-Security-Policy), so
nothing a list on the CAC site says can run or reshape the page.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from bot.delivery.telegram.format import CAPTION_LIMIT, TEXT_LIMIT, utf16_len

__all__ = ["PreviewPost", "post_text", "post_html", "preview_page"]

# Telegram's HTML formatting tags (https://core.telegram.org/bots/api#html-style), as kept here.
_KEPT = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s", "strike": "s",
         "del": "s", "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-spoiler": "span"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PreviewPost:
    """One post of the thread: its text (Telegram HTML), and the chart when it is a photo post
    (whose text is then the photo's caption)."""

    text: str
    photo: bytes | None = None

    @property
    def limit(self) -> int:
        return CAPTION_LIMIT if self.photo is not None else TEXT_LIMIT


class _Rebuild(HTMLParser):
    """Telegram HTML → safe HTML (``html=True``) or readable text."""

    def __init__(self, *, as_html: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.as_html = as_html
        self.out: list[str] = []
        self.open: list[str] = []  # the tag written for each start tag ("" when dropped)
        self.links: list[str | None] = []  # the href of each open <a>, for the text form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            safe = href if href.startswith(("http://", "https://")) else None
            self.links.append(safe)
            if self.as_html and safe is not None:
                self.out.append(f'<a href="{html.escape(safe, quote=True)}" rel="noopener noreferrer">')
                self.open.append("a")
            else:
                self.open.append("")
            return
        kept = _KEPT.get(tag, "")
        if self.as_html and kept:
            self.out.append('<span class="spoiler">' if tag == "tg-spoiler" else f"<{kept}>")
        self.open.append(kept)

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            return
        kept = self.open.pop()
        if tag == "a" and self.links:
            href = self.links.pop()
            if not self.as_html and href is not None:
                self.out.append(f" <{href}>")
        if self.as_html and kept:
            self.out.append(f"</{kept}>")

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False) if self.as_html else data)

    def result(self) -> str:
        self.close()
        if self.as_html:
            self.out += [f"</{kept}>" for kept in reversed(self.open) if kept]
        return "".join(self.out)


def post_text(post: str) -> str:
    """A post as a terminal shows it: the text, each link's target after its label."""
    parser = _Rebuild(as_html=False)
    parser.feed(post)
    return parser.result()


def post_html(post: str) -> str:
    """A post's formatting as safe HTML: Telegram's tags only, every text escaped."""
    parser = _Rebuild(as_html=True)
    parser.feed(post)
    return parser.result()


_STYLE = """
body { background: #dfe7ee; font: 15px/1.45 -apple-system, "Segoe UI", "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif;
       margin: 0; padding: 24px; color: #111; }
header { max-width: 560px; margin: 0 auto 16px; color: #456; }
.thread { max-width: 560px; margin: 0 auto; }
.bubble { background: #fff; border-radius: 14px 14px 14px 4px; padding: 10px 14px 6px; margin: 0 0 10px;
          box-shadow: 0 1px 1px rgba(0, 0, 0, .12); white-space: pre-wrap; overflow-wrap: anywhere; }
.bubble img { display: block; max-width: 100%; border-radius: 8px; margin: 0 0 8px; }
.meta { text-align: right; font-size: 12px; color: #8a9aa8; white-space: normal; }
.over { color: #c0392b; font-weight: bold; }
a { color: #2a7ab8; text-decoration: none; }
code, pre { font-family: ui-monospace, Menlo, monospace; font-size: 13px; }
blockquote { border-left: 3px solid #2a7ab8; margin: 4px 0; padding-left: 8px; }
.spoiler { background: #ccd; }
"""


def preview_page(posts: Sequence[PreviewPost], title: str, note: str = "") -> str:
    """A standalone HTML page: each post a message bubble, in order, with its length against
    Telegram's limit; the chart inline (data: URI). No script, no outside resource."""
    bubbles = []
    for index, post in enumerate(posts, start=1):
        units = utf16_len(post.text)
        over = ' class="over"' if units > post.limit else ""
        photo = ""
        if post.photo is not None:
            photo = f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(post.photo).decode("ascii")}">'
        bubbles.append(
            f'<div class="bubble">{photo}{post_html(post.text)}'
            f'<div class="meta">{index}/{len(posts)} · <span{over}>{units}/{post.limit}</span></div></div>'
        )
    return (
        "<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><b>{html.escape(title)}</b><br>{html.escape(note)}</header>"
        f"<main class=\"thread\">{''.join(bubbles)}</main></body></html>\n"
    )
