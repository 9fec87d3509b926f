"""Reading CAC HTML: channel listing pages and announcement articles (title, date, 附件 links)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from scrapers.records import Announcement, SourceSignal
from scrapers.sources.cac.titles import attachment_key

__all__ = [
    "parse_channel_page", "parse_article", "date_in", "html_tree", "text_of", "is_attachment_link", "web_link",
    "first_tag", "links_in", "article_root",
]

# -- HTML parsing ------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_DOC_EXT = re.compile(r"\.(?:docx?|xlsx?|pdf|wps|et|zip|rar)$", re.I)
_GENERIC_LINK_TEXT = re.compile(r"^(?:附件\s*\d*|下载|点击下载|点击此处下载|点此下载|附件下载)?[：:]?$")


def date_in(text: str | None) -> str | None:
    if not text:
        return None
    match = _DATE.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    y, m, d = (int(g) for g in match.groups())
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{m:02d}-{d:02d}"


def html_tree(html: str | bytes) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def text_of(tag: Tag | None) -> str:
    return re.sub(r"\s+", " ", tag.get_text(" ", strip=True)).strip() if tag is not None else ""


# Elements are found with bs4's own ``find``/``find_all``, never CSS selectors (``select``):
# soupsieve compiles each selector's regular expressions on first use, ~0.1 s of every
# fresh process's first poll (an idle `check --once` from cron parses one channel page).


def first_tag(
    root: Tag, name: str | None = None, *, id: str | None = None, class_: str | None = None,
    attrs: dict[str, str] | None = None,
) -> Tag | None:
    """The first element below ``root`` (document order) named ``name`` (any if None) whose
    ``id`` is ``id``, one of whose classes is ``class_`` and whose ``attrs`` have these values
    (CSS ``name#id.class[attr="value"]``)."""
    wanted: dict[str, Any] = dict(attrs or {})
    if id is not None:
        wanted["id"] = id
    if class_ is not None:
        wanted["class"] = class_
    found = root.find(name, wanted) if name is not None else root.find(None, wanted)
    return found if isinstance(found, Tag) else None


def article_root(soup: Tag) -> Tag | None:
    """An article's body: ``.TRS_Editor``, else ``#BodyLabel`` (None: neither)."""
    return first_tag(soup, class_="TRS_Editor") or first_tag(soup, id="BodyLabel")


def links_in(root: Tag) -> list[Tag]:
    """Every ``<a href>`` below ``root``, in document order (CSS ``a[href]``)."""
    return [a for a in root.find_all("a", href=True) if isinstance(a, Tag)]


def _below(tag: Tag, name: str) -> bool:
    """Whether an ancestor of ``tag`` is named ``name`` (CSS ``name tag``)."""
    return any(parent.name == name for parent in tag.parents)


def parse_channel_page(html: str | bytes, base_url: str) -> tuple[list[Announcement], str | None]:
    """Items (``#loadingInfoPage li h5 a`` + ``.times``) and the "下一页" URL of a channel page.

    ``base_url`` resolves relative links: pass the channel page's own URL
    (the "下一页" href is relative to it).
    """
    soup = html_tree(html)
    container = first_tag(soup, id="loadingInfoPage") or soup
    items: list[Announcement] = []
    for li in container.find_all("li"):
        if not isinstance(li, Tag):
            continue
        anchors = links_in(li)
        # ``h5 a[href]``, else (inside the listing only) the first ``a[href]``
        link = next((a for a in anchors if _below(a, "h5")), None) or (
            anchors[0] if anchors and container is not soup else None
        )
        if link is None:
            continue
        title = text_of(link)
        full = str(link.get("title") or "").strip()
        if len(full) > len(title):  # truncated visible text, full title in the attribute
            title = full
        times = first_tag(li, class_="times")
        url = web_link(base_url, str(link["href"]))
        if url is None:
            continue
        items.append(
            Announcement(
                url=url,
                title=title,
                published_on=date_in(text_of(times)) if times is not None else None,
                signal=SourceSignal.CHANNEL,
            )
        )
    next_url = None
    for a in links_in(soup):
        if text_of(a).replace(" ", "") in ("下一页", "下页", ">", "下一页>"):
            next_url = web_link(base_url, str(a["href"]))
            if next_url is not None:
                break
    return items, next_url


def web_link(base_url: str, href: str) -> str | None:
    """``href`` made absolute when it is an http(s) link that parses; None for anything else
    (``javascript:``, ``java&#9;script:``, ``data:``, ``mailto:``, ``http://[zz/…``): a bad
    link is not followed, and never stops the reading of the rest of the page."""
    href = href.strip()
    if not href:
        return None
    try:
        url = urljoin(base_url, href)
        parts = urlsplit(url)  # urlsplit drops tabs and newlines, as browsers do
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _attachment_name(link: Tag, url: str) -> str:
    text = text_of(link)
    text = re.sub(r"^附件\s*\d*\s*[：:]\s*", "", text).strip()
    if text and not _GENERIC_LINK_TEXT.match(text):
        return text
    for part in urlsplit(url).query.split("&"):
        name, sep, value = part.partition("=")
        if sep and name == "fText" and value:
            return unquote(value).strip()
    tail = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return text or tail


def is_attachment_link(url: str) -> bool:
    path = urlsplit(url).path
    return "downloadfile" in path.lower() or bool(_DOC_EXT.search(path))


def parse_article(html: str | bytes, page_url: str) -> tuple[str, str | None, list[tuple[str, str]]]:
    """Title, publication date (YYYY-MM-DD) and attachments ``[(name, absolute_url)]``."""
    soup = html_tree(html)
    title = text_of(first_tag(soup, "h1", class_="title"))
    if not title:
        meta = first_tag(soup, "meta", attrs={"name": "ArticleTitle"})
        title = str(meta.get("content") or "").strip() if meta is not None else ""
    if not title and soup.title is not None:
        title = re.sub(r"_中国网信网\s*$", "", text_of(soup.title))
    published = date_in(text_of(first_tag(soup, class_="pages-date")))
    if published is None:
        meta = first_tag(soup, "meta", attrs={"name": "PubDate"})
        published = date_in(str(meta.get("content") or "")) if meta is not None else None

    body = article_root(soup) or soup
    attachments = _attachments_in(body, page_url)
    if not attachments and body is not soup:
        # Some pages put the 附件 block after the editor div; only download links
        # count, so searching the whole page cannot pick up navigation links.
        attachments = _attachments_in(soup, page_url)
    return title, published, attachments


def _attachments_in(root: Tag, page_url: str) -> list[tuple[str, str]]:
    attachments: list[tuple[str, str]] = []
    seen: set[str] = set()
    for link in links_in(root):
        url = web_link(page_url, str(link["href"]))
        if url is None or not is_attachment_link(url):
            continue
        key = attachment_key(url)
        if key in seen:
            continue
        seen.add(key)
        attachments.append((_attachment_name(link, url), url))
    return attachments
