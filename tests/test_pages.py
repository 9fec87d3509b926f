"""The CAC page reader (scrapers/sources/cac/pages.py, statements.article_body) reads pages with
lxml alone, keeping BeautifulSoup's rules: what CSS selectors find (never inside a <template>),
``get_text`` (no script, style, template or ruby text; whitespace runs as BeautifulSoup keeps
them) and ``find_all``. Here it is compared with BeautifulSoup itself — the reader it replaced,
kept below as the reference — on hostile pages and on random markup.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup, Tag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers.sources.cac.pages import _GENERIC_LINK_TEXT, date_in, is_attachment_link, parse_article, parse_channel_page, web_link
from scrapers.sources.cac.statements import article_body
from scrapers.sources.cac.titles import attachment_key
from scrapers.records import Announcement, SourceSignal
from scrapers.tables import find_header

BASE = "https://www.cac.gov.cn/wxzw/wxfb/A093702index_1.htm"


# --- the reference: BeautifulSoup, as the reader was written before ------------------------------


def _text(tag: Tag | None) -> str:
    return re.sub(r"\s+", " ", tag.get_text(" ", strip=True)).strip() if tag is not None else ""


def bs4_channel_page(html: str, base_url: str) -> tuple[list[Announcement], str | None]:
    soup = BeautifulSoup(html, "lxml")
    container = soup.select_one("#loadingInfoPage") or soup
    items = []
    for li in container.select("li"):
        link = li.select_one("h5 a[href]") or (li.select_one("a[href]") if container is not soup else None)
        if link is None:
            continue
        title = _text(link)
        full = str(link.get("title") or "").strip()
        if len(full) > len(title):
            title = full
        times = li.select_one(".times")
        url = web_link(base_url, str(link["href"]))
        if url is not None:
            items.append(Announcement(url, title, date_in(_text(times)) if times is not None else None, SourceSignal.CHANNEL))
    next_url = None
    for a in soup.select("a[href]"):
        if _text(a).replace(" ", "") in ("下一页", "下页", ">", "下一页>"):
            next_url = web_link(base_url, str(a["href"]))
            if next_url is not None:
                break
    return items, next_url


def _bs4_attachments(root: Tag, page_url: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for link in root.select("a[href]"):
        url = web_link(page_url, str(link["href"]))
        if url is None or not is_attachment_link(url) or attachment_key(url) in seen:
            continue
        seen.add(attachment_key(url))
        text = re.sub(r"^附件\s*\d*\s*[：:]\s*", "", _text(link)).strip()
        if not text or _GENERIC_LINK_TEXT.match(text):
            named = [unquote(v).strip() for n, _, v in (p.partition("=") for p in urlsplit(url).query.split("&")) if n == "fText" and v]
            text = named[0] if named else text or unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        found.append((text, url))
    return found


def bs4_article(html: str, page_url: str) -> tuple[str, str | None, list[tuple[str, str]]]:
    soup = BeautifulSoup(html, "lxml")
    title = _text(soup.select_one("h1.title"))
    if not title:
        meta = soup.select_one('meta[name="ArticleTitle"]')
        title = str(meta.get("content") or "").strip() if meta is not None else ""
    if not title and soup.title is not None:
        title = re.sub(r"_中国网信网\s*$", "", _text(soup.title))
    published = date_in(_text(soup.select_one(".pages-date")))
    if published is None:
        meta = soup.select_one('meta[name="PubDate"]')
        published = date_in(str(meta.get("content") or "")) if meta is not None else None
    body = soup.select_one(".TRS_Editor") or soup.select_one("#BodyLabel") or soup
    attachments = _bs4_attachments(body, page_url)
    if not attachments and body is not soup:
        attachments = _bs4_attachments(soup, page_url)
    return title, published, attachments


def bs4_article_body(html: str) -> tuple[str, bool]:
    soup = BeautifulSoup(html, "lxml")
    body = soup.select_one(".TRS_Editor") or soup.select_one("#BodyLabel") or soup.body or soup
    lists = []
    for table in body.find_all("table"):
        head = [[c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])] for tr in table.find_all("tr", limit=5)]
        if find_header(head) is not None:
            lists.append(table)
    for table in lists:
        table.decompose()
    return body.get_text("\n"), bool(lists)


def assert_same(html: str) -> None:
    assert parse_channel_page(html, BASE) == bs4_channel_page(html, BASE)
    assert parse_article(html, BASE) == bs4_article(html, BASE)
    assert article_body(html) == bs4_article_body(html)


# --- pages --------------------------------------------------------------------------------------

HOSTILE = [
    "",
    "   \n ",
    "<!-- only a comment -->",
    "\ufeff<html><body><div id='BodyLabel'>text<br>more<a href='x.docx'>  附件1： 某名单 </a></div></body></html>",
    "<?xml version='1.0' encoding='utf-8'?><html><body><div class='TRS_Editor'><p>截至2024年1月1日，共有3款服务完成备案</p></div></body></html>",
    # script, comment, pre, a list table (left out, the text after it kept), a layout table, ruby and template text
    "<html><body><div class='TRS_Editor'><script>var x='截至2024年1月1日，共有3款';</script><p>a<!--c-->b</p>\n\n  <pre>  keep\n  </pre>"
    "<table><tr><td>序号</td><td>算法名称</td><td>角色</td><td>主体名称</td><td>备案编号</td></tr><tr><td>1</td></tr></table>tail"
    "<table><tr><td>布局</td></tr></table></div><ruby>字<rt>zi</rt></ruby><template><p>t</p></template></body></html>",
    # the listing: h5 links, a title attribute longer than the text, nested lists, a pager link with spaces
    "<ul><li class='x'><h5><a href='/a' title='Full long title here'>Full</a></h5><span class='times'>2024-01-02</span>"
    "<ul><li><a href='/nested'>N</a></li></ul></li></ul><a href='/p2'> 下一页 </a>",
    "<div id='loadingInfoPage'><li><a href='javascript:alert(1)'>x</a></li><li><a href='/ok'>ok &amp; fine &#x4e2d;</a></li></div>",
    # a template holds what a selector never finds (but the page's <title> and <body> are found)
    "<html><head><title>标题_中国网信网</title></head><body><template><h1 class='title'>不是标题</h1><div class='TRS_Editor'>"
    "<a href='/t.pdf'>附件</a></div><li><h5><a href='/t'>T</a></h5></li></template><p class='pages-date'>2024年3月4日</p>"
    "<a href='/downloadfile.jsp?fText=%E5%90%8D%E5%8D%95.docx'>附件</a></body></html>",
    "<table class='TRS_Editor'><tr><td><a href='/f.pdf'>附件：名单</a></td></tr></table>",
    "<style class='TRS_Editor'>p { }</style><p>after</p>",
    "<p>unclosed <b>bold <i>it</p> after",
    "<textarea>  \n </textarea><div class='TRS_Editor'>\t \r\n<style>p{}</style>\u3000截止2025年3月31日，共有346款生成式人工智能服务完成备案</div>",
]


def test_hostile_pages_read_as_beautifulsoup_reads_them() -> None:
    for html in HOSTILE:
        assert_same(html)


def test_a_template_hides_its_links_and_its_headings() -> None:
    title, published, attachments = parse_article(HOSTILE[8], "https://www.cac.gov.cn/2024-03/04/c_1.htm")
    assert (title, published) == ("标题", "2024-03-04")
    assert attachments == [("名单.docx", "https://www.cac.gov.cn/downloadfile.jsp?fText=%E5%90%8D%E5%8D%95.docx")]
    assert parse_channel_page(HOSTILE[8], BASE) == ([], None)


_TAGS = ["div", "p", "li", "ul", "h5", "h1", "a", "span", "table", "tr", "td", "th", "script", "style", "pre",
         "rt", "ruby", "template", "br", "meta", "title", "body", "textarea", "b"]  # fmt: skip
_TEXTS = ["下一页", " ", "\n", "\t \n", "截至2024年1月1日，共有3款服务完成备案", "序号", "算法名称", "主体名称", "备案编号",
          "角色", "2024-05-06", "附件1：", "&amp;", "&#20013;", "x\u3000y", "<!-- c -->", "\u00a0"]  # fmt: skip
_ATTRS = ['class="times"', 'class="title"', 'class="TRS_Editor"', 'id="BodyLabel"', 'id="loadingInfoPage"',
          'href="/a/b.docx"', 'href="javascript:x"', 'href="/c_1.htm"', 'title="全名 标题 很长的"', 'href=""',
          'name="PubDate" content="2024-01-02"', 'class="pages-date a"', 'href="downloadfile.jsp?fText=%E5%90%8D"']  # fmt: skip


def _markup(depth: int = 0) -> st.SearchStrategy[str]:
    text = st.sampled_from(_TEXTS)
    if depth >= 4:
        return text
    element = st.builds(
        lambda tag, attrs, inner, closed: f"<{tag} {' '.join(attrs)}>{inner}" + (f"</{tag}>" if closed else ""),
        st.sampled_from(_TAGS), st.lists(st.sampled_from(_ATTRS), max_size=2), _markup(depth + 1),
        st.booleans(),
    )  # fmt: skip
    return st.lists(st.one_of(text, element), max_size=4).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_markup(), st.booleans())
def test_random_markup_reads_as_beautifulsoup_reads_it(markup: str, whole_page: bool) -> None:
    assert_same(f"<html><head><title>t</title></head><body>{markup}</body></html>" if whole_page else markup)
