"""Reading CAC HTML: channel listing pages and announcement articles (title, date, 附件 links)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator
from typing import overload
from urllib.parse import unquote, urljoin, urlsplit

from lxml import etree

from scrapers.records import Announcement, SourceSignal
from scrapers.sources.cac.titles import attachment_key

__all__ = [
    "parse_channel_page", "parse_article", "date_in", "html_tree", "text_of", "is_attachment_link", "web_link",
    "first_tag", "find_all", "links_in", "article_root", "get_text", "href_of", "either",
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


# The pages are read with lxml's HTML parser directly (the tree BeautifulSoup's "lxml" builder
# is made from, without BeautifulSoup): every fresh process reads at least one channel page,
# and importing bs4 (with soupsieve and charset_normalizer) cost a cron run ~0.06 s. Text and
# element lookups below keep BeautifulSoup's rules (``get_text``, ``find``) where they differ
# from lxml's: tests/test_discovery.py compares them on hostile pages.

# Strings inside these are of their own kind, not text (BeautifulSoup: Script, Stylesheet,
# TemplateString, RubyTextString, RubyParenthesisString).
_NOT_TEXT = frozenset({"script", "style", "template", "rt", "rp"})
# Inside these, whitespace is kept as it is.
_PRESERVE = frozenset({"pre", "textarea"})
_ASCII_SPACES = frozenset("\x20\x0a\x09\x0c\x0d")
_DOCUMENT = "cacwatch-document"  # the element a page's tree is held in (no HTML tag has this name)


def html_tree(html: str | bytes) -> etree._Element:
    """The parsed page, held in one element: search it with the functions below."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    document = etree.Element(_DOCUMENT)
    if html.startswith("\ufeff"):
        html = html[1:]
    parser = etree.HTMLParser(recover=True)
    try:
        parser.feed(html)
        root = parser.close()
    except etree.XMLSyntaxError:  # nothing to parse (an empty or blank page)
        return document
    if root is not None:
        document.append(root)
    return document


def _is_element(node: etree._Element) -> bool:
    return isinstance(node.tag, str)  # comments and processing instructions are not


def _strings(element: etree._Element, skip: Collection[etree._Element] = ()) -> Iterator[str]:
    """The strings of ``element`` in document order, as BeautifulSoup keeps them: a string
    inside script, style, template, rt or rp (the innermost of them) is of that kind and is
    text only of an element of the same kind; a run of ASCII whitespace is one space (one
    newline if it held one) outside pre and textarea. Nothing inside ``skip`` (text after it
    is kept)."""

    def kept(text: str, preserved: bool) -> str:
        if preserved or any(c not in _ASCII_SPACES for c in text):
            return text
        return "\n" if "\n" in text else " "

    def walk(node: etree._Element, kind: str | None, preserved: bool) -> Iterator[str]:
        if node.text and kind == wanted:
            yield kept(node.text, preserved)
        for child in node:
            if _is_element(child) and child not in skip:
                name = str(child.tag)
                yield from walk(child, name if name in _NOT_TEXT else kind, preserved or name in _PRESERVE)
            if child.tail and kind == wanted:
                yield kept(child.tail, preserved)

    own = str(element.tag)
    wanted = own if own in _NOT_TEXT else None
    lineage = [own, *(str(a.tag) for a in element.iterancestors())]
    kind = next((name for name in lineage if name in _NOT_TEXT), None)
    yield from walk(element, kind, any(name in _PRESERVE for name in lineage))


def get_text(
    element: etree._Element, separator: str = "", *, strip: bool = False, skip: Collection[etree._Element] = ()
) -> str:
    """BeautifulSoup's ``Tag.get_text(separator, strip=strip)``, without the elements ``skip``
    (as if they had been decomposed)."""
    strings = (s.strip() for s in _strings(element, skip)) if strip else _strings(element, skip)
    return separator.join(s for s in strings if s or not strip)


def text_of(tag: etree._Element | None) -> str:
    return re.sub(r"\s+", " ", get_text(tag, " ", strip=True)).strip() if tag is not None else ""


def _has_class(element: etree._Element, name: str) -> bool:
    value = element.get("class")
    return value is not None and (value == name or name in value.split())


def _elements(root: etree._Element, templates: bool) -> Iterator[etree._Element]:
    """The elements below ``root`` in document order; inside a ``template`` below it only if
    ``templates``."""
    stack = [iter(root)]
    while stack:
        for child in stack[-1]:
            if not _is_element(child):
                continue
            yield child
            if templates or child.tag != "template":
                stack.append(iter(child))
                break
        else:
            stack.pop()


def find_all(
    root: etree._Element, name: str | None = None, *, id: str | None = None, class_: str | None = None,
    attrs: dict[str, str] | None = None, has: str | None = None, templates: bool = False,
) -> Iterator[etree._Element]:
    """The elements below ``root`` in document order named ``name`` (any if None) whose ``id``
    is ``id``, one of whose classes is ``class_``, whose ``attrs`` have these values and that
    have the attribute ``has``: CSS ``name#id.class[attr="value"][has]`` as a selector finds
    them, never inside a ``template`` below ``root`` (its contents are not part of the page);
    with ``templates``, as BeautifulSoup's ``find_all`` does, there too."""
    for element in _elements(root, templates):
        if name is not None and element.tag != name:
            continue
        if id is not None and element.get("id") != id:
            continue
        if class_ is not None and not _has_class(element, class_):
            continue
        if attrs and any(element.get(key) != value for key, value in attrs.items()):
            continue
        if has is not None and element.get(has) is None:
            continue
        yield element


def first_tag(
    root: etree._Element, name: str | None = None, *, id: str | None = None, class_: str | None = None,
    attrs: dict[str, str] | None = None, templates: bool = False,
) -> etree._Element | None:
    """The first of ``find_all``, or None."""
    return next(find_all(root, name, id=id, class_=class_, attrs=attrs, templates=templates), None)


def article_root(page: etree._Element) -> etree._Element | None:
    """An article's body: ``.TRS_Editor``, else ``#BodyLabel`` (None: neither)."""
    return either(first_tag(page, class_="TRS_Editor"), first_tag(page, id="BodyLabel"))


def links_in(root: etree._Element) -> list[etree._Element]:
    """Every ``<a href>`` below ``root``, in document order (CSS ``a[href]``)."""
    return list(find_all(root, "a", has="href"))


def _below(element: etree._Element, name: str) -> bool:
    """Whether an ancestor of ``element`` is named ``name`` (CSS ``name element``: the
    ancestors up to a ``template``, which ends the page for a selector)."""
    for parent in element.iterancestors():
        if parent.tag == "template":
            return False
        if parent.tag == name:
            return True
    return False


@overload
def either(first: etree._Element | None, second: etree._Element) -> etree._Element: ...
@overload
def either(first: etree._Element | None, second: etree._Element | None) -> etree._Element | None: ...
def either(first: etree._Element | None, second: etree._Element | None) -> etree._Element | None:
    """``first`` unless None, else ``second`` (``or`` does not do: an element without children is false)."""
    return first if first is not None else second


def href_of(link: etree._Element) -> str:
    return link.get("href") or ""


def parse_channel_page(html: str | bytes, base_url: str) -> tuple[list[Announcement], str | None]:
    """Items (``#loadingInfoPage li h5 a`` + ``.times``) and the "下一页" URL of a channel page.

    ``base_url`` resolves relative links: pass the channel page's own URL
    (the "下一页" href is relative to it).
    """
    soup = html_tree(html)
    container = either(first_tag(soup, id="loadingInfoPage"), soup)
    items: list[Announcement] = []
    for li in find_all(container, "li"):
        anchors = links_in(li)
        # ``h5 a[href]``, else (inside the listing only) the first ``a[href]``
        link = either(next((a for a in anchors if _below(a, "h5")), None), anchors[0] if anchors and container is not soup else None)
        if link is None:
            continue
        title = text_of(link)
        full = str(link.get("title") or "").strip()
        if len(full) > len(title):  # truncated visible text, full title in the attribute
            title = full
        times = first_tag(li, class_="times")
        url = web_link(base_url, href_of(link))
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
            next_url = web_link(base_url, href_of(a))
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


def _attachment_name(link: etree._Element, url: str) -> str:
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
    page_title = first_tag(soup, "title", templates=True)
    if not title and page_title is not None:
        title = re.sub(r"_中国网信网\s*$", "", text_of(page_title))
    published = date_in(text_of(first_tag(soup, class_="pages-date")))
    if published is None:
        meta = first_tag(soup, "meta", attrs={"name": "PubDate"})
        published = date_in(str(meta.get("content") or "")) if meta is not None else None

    body = either(article_root(soup), soup)
    attachments = _attachments_in(body, page_url)
    if not attachments and body is not soup:
        # Some pages put the 附件 block after the editor div; only download links
        # count, so searching the whole page cannot pick up navigation links.
        attachments = _attachments_in(soup, page_url)
    return title, published, attachments


def _attachments_in(root: etree._Element, page_url: str) -> list[tuple[str, str]]:
    attachments: list[tuple[str, str]] = []
    seen: set[str] = set()
    for link in links_in(root):
        url = web_link(page_url, href_of(link))
        if url is None or not is_attachment_link(url):
            continue
        key = attachment_key(url)
        if key in seen:
            continue
        seen.add(key)
        attachments.append((_attachment_name(link, url), url))
    return attachments
