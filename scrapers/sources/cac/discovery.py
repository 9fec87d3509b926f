"""Finding every filing list the CAC has published.

Three signals (shared/cac-site.md):

(a) the 网信发布 channel pages ``{base}/wxzw/wxfb/A093702index_{n}.htm``, newest
    first, walked until known ground (a page whose relevant items are all known),
    the last page or ``max_channel_pages``;
(b) the pages CAC updates in place (recommendation and GenAI), re-checked every
    poll with a conditional GET: each 附件 link is one list;
(c) the filing system's notice API, a second signal that may point at a batch
    page the channel walk missed. Its failure alone is recorded, never fatal.

Relevance is decided on TITLES by explicit patterns (``classify_title``): the
channel is full of look-alikes (区块链信息服务备案编号, 安全评估, 答记者问 …), so
"contains 备案" would be wrong.

Validators of the pages read here are NOT remembered: the caller calls
``DiscoveryResult.commit(fetcher)`` once it has stored the lists, so a poll that
fails half-way never turns the next poll's answer into a 304 that hides a list.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from scrapers.sources.cac.settings import CacSourceSettings
from scrapers.fetch import FetchError, Fetcher, FetchResult, InvalidResponse
from scrapers.normalize import list_month_from_name
from scrapers.records import Announcement, Kind, ListRef, SourceSignal

__all__ = [
    "classify_title",
    "is_cancellation_title",
    "batch_number",
    "parse_channel_page",
    "parse_article",
    "attachment_key",
    "page_key",
    "discover",
    "DiscoveryResult",
    "NOTICE_API_PATH",
]

NOTICE_API_PATH = "/api/notice/list"

# -- title classification -------------------------------------------------------------

# Look-alikes that share words with the filing lists but are not lists.
_EXCLUDE = re.compile(
    r"区块链|新闻信息服务|许可|安全评估|答记者问|记者问|问答|解读|清朗|征求意见|指南|填报|"
    r"专项行动|培训|系统上线|管理规定|暂行办法|座谈会"
)
_DEEP_SYNTHESIS = re.compile(r"深度合成(?:服务)?(?:算法)?备案(?:信息|清单|名单|编号)")
_RECOMMENDATION = re.compile(r"互联网信息服务算法备案(?:信息|清单|名单)|算法备案(?:清单|名单)")
_GENAI = re.compile(
    r"生成式人工智能(?:服务|应用)?.{0,12}?"
    r"(?:已备案|备案信息|已登记|登记信息|完成备案|完成登记|备案和登记|备案登记|备案清单)"
    r"|已(?:完成)?(?:备案|登记)(?:和登记)?的?生成式人工智能"
)
_CANCEL = re.compile(r"注销")


def _norm_title(title: str) -> str:
    """NFKC, no whitespace, no site suffix: titles are compared in this form."""
    t = unicodedata.normalize("NFKC", title or "")
    t = re.sub(r"\s+", "", t)
    return re.sub(r"_中国网信网$", "", t)


def is_cancellation_title(title: str) -> bool:
    """A 注销 (cancellation) notice or list of algorithm filings."""
    t = _norm_title(title)
    if not _CANCEL.search(t) or _EXCLUDE.search(t):
        return False
    return "备案" in t or "算法" in t or "生成式人工智能" in t


def classify_title(title: str) -> Kind | None:
    """Which series a page title or attachment name belongs to; None for anything else."""
    t = _norm_title(title)
    if not t or _EXCLUDE.search(t):
        return None
    if is_cancellation_title(t):
        # 注销 notices name their series, or are generic algorithm-filing ones
        # (the 互联网信息服务算法备案 system covers recommendation algorithms).
        if "深度合成" in t:
            return Kind.DEEP_SYNTHESIS
        if "生成式人工智能" in t:
            return Kind.GENAI_SERVICE
        return Kind.ALGORITHM_RECOMMENDATION
    if _DEEP_SYNTHESIS.search(t):
        return Kind.DEEP_SYNTHESIS
    if _GENAI.search(t):
        return Kind.GENAI_SERVICE
    if _RECOMMENDATION.search(t):
        return Kind.ALGORITHM_RECOMMENDATION
    return None


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_BATCH = re.compile(r"第([0-9零〇一二两三四五六七八九十百]+)批")


def _chinese_number(text: str) -> int | None:
    """一 … 九十九 (and 一百…): 十七 → 17, 二十 → 20, 二十三 → 23, 一百零一 → 101."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def batch_number(title: str) -> int | None:
    """第N批 → N (Chinese or Arabic numerals); batch 1 of deep synthesis has no 第N批."""
    t = _norm_title(title)
    match = _BATCH.search(t)
    if match:
        return _chinese_number(match.group(1))
    if classify_title(t) is Kind.DEEP_SYNTHESIS and not is_cancellation_title(t):
        return 1
    return None


def _maybe_relevant(title: str) -> bool:
    """Channel lists may truncate long titles (``…`` / ``...``): keep those whose
    visible part looks like a filing announcement; the article's full title decides."""
    if classify_title(title) is not None:
        return True
    t = _norm_title(title)
    if not re.search(r"(…|\.\.\.|。。。)$", t) or _EXCLUDE.search(t):
        return False
    return bool(re.search(r"深度合成|算法备|生成式人工智能服务|注销", t))


# -- URLs ------------------------------------------------------------------------------


def _filepath_param(query: str) -> str | None:
    # By hand, not parse_qs: the opaque tokens contain "/" and "~", and "+" must not become " ".
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if sep and name == "filepath":
            return unquote(value)
    return None


def attachment_key(url: str) -> str:
    """Identity of an attachment URL: scheme, host, path and the ``filepath`` param only
    (the page links add ``fText``, the displayed name, which may change)."""
    parts = urlsplit(url)
    base = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    filepath = _filepath_param(parts.query)
    if filepath is not None:
        return f"{base}?filepath={filepath}"
    rest = sorted(p for p in parts.query.split("&") if p and not p.startswith("fText="))
    return base + ("?" + "&".join(rest) if rest else "")


def page_key(url: str) -> str:
    """Identity of a page URL for "known" checks: host + path + query (no scheme, no fragment),
    so an ``http://`` link and an ``https://`` base still match."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower()}{parts.path or '/'}{query}"


# -- HTML parsing ------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_DOC_EXT = re.compile(r"\.(?:docx?|xlsx?|pdf|wps|et|zip|rar)$", re.I)
_GENERIC_LINK_TEXT = re.compile(r"^(?:附件\s*\d*|下载|点击下载|点击此处下载|点此下载|附件下载)?[：:]?$")


def _date(text: str | None) -> str | None:
    if not text:
        return None
    match = _DATE.search(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    y, m, d = (int(g) for g in match.groups())
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{m:02d}-{d:02d}"


def _soup(html: str | bytes) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def _text(tag: Tag | None) -> str:
    return re.sub(r"\s+", " ", tag.get_text(" ", strip=True)).strip() if tag is not None else ""


def parse_channel_page(html: str | bytes, base_url: str) -> tuple[list[Announcement], str | None]:
    """Items (``#loadingInfoPage li h5 a`` + ``.times``) and the "下一页" URL of a channel page.

    ``base_url`` resolves relative links: pass the channel page's own URL
    (the "下一页" href is relative to it).
    """
    soup = _soup(html)
    container = soup.select_one("#loadingInfoPage") or soup
    items: list[Announcement] = []
    for li in container.select("li"):
        link = li.select_one("h5 a[href]") or (li.select_one("a[href]") if container is not soup else None)
        if link is None:
            continue
        title = _text(link)
        full = str(link.get("title") or "").strip()
        if len(full) > len(title):  # truncated visible text, full title in the attribute
            title = full
        times = li.select_one(".times")
        items.append(
            Announcement(
                url=urljoin(base_url, str(link["href"]).strip()),
                title=title,
                published_on=_date(_text(times)) if times is not None else None,
                signal=SourceSignal.CHANNEL,
            )
        )
    next_url = None
    for a in soup.select("a[href]"):
        if _text(a).replace(" ", "") in ("下一页", "下页", ">", "下一页>"):
            href = str(a["href"]).strip()
            if href and not href.lower().startswith("javascript"):
                next_url = urljoin(base_url, href)
                break
    return items, next_url


def _attachment_name(link: Tag, url: str) -> str:
    text = _text(link)
    text = re.sub(r"^附件\s*\d*\s*[：:]\s*", "", text).strip()
    if text and not _GENERIC_LINK_TEXT.match(text):
        return text
    for part in urlsplit(url).query.split("&"):
        name, sep, value = part.partition("=")
        if sep and name == "fText" and value:
            return unquote(value).strip()
    tail = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return text or tail


def _is_attachment_link(url: str) -> bool:
    path = urlsplit(url).path
    return "downloadfile" in path.lower() or bool(_DOC_EXT.search(path))


def parse_article(html: str | bytes, page_url: str) -> tuple[str, str | None, list[tuple[str, str]]]:
    """Title, publication date (YYYY-MM-DD) and attachments ``[(name, absolute_url)]``."""
    soup = _soup(html)
    title = _text(soup.select_one("h1.title"))
    if not title:
        meta = soup.select_one('meta[name="ArticleTitle"]')
        title = str(meta.get("content") or "").strip() if meta is not None else ""
    if not title and soup.title is not None:
        title = re.sub(r"_中国网信网\s*$", "", _text(soup.title))
    published = _date(_text(soup.select_one(".pages-date")))
    if published is None:
        meta = soup.select_one('meta[name="PubDate"]')
        published = _date(str(meta.get("content") or "")) if meta is not None else None

    body = soup.select_one(".TRS_Editor") or soup.select_one("#BodyLabel") or soup
    attachments = _attachments_in(body, page_url)
    if not attachments and body is not soup:
        # Some pages put the 附件 block after the editor div; only download links
        # count, so searching the whole page cannot pick up navigation links.
        attachments = _attachments_in(soup, page_url)
    return title, published, attachments


def _attachments_in(root: Tag, page_url: str) -> list[tuple[str, str]]:
    attachments: list[tuple[str, str]] = []
    seen: set[str] = set()
    for link in root.select("a[href]"):
        href = str(link["href"]).strip()
        if not href or href.lower().startswith(("javascript", "mailto")):
            continue
        url = urljoin(page_url, href)
        if not _is_attachment_link(url):
            continue
        key = attachment_key(url)
        if key in seen:
            continue
        seen.add(key)
        attachments.append((_attachment_name(link, url), url))
    return attachments


# -- discovery ---------------------------------------------------------------------------


@dataclass
class DiscoveryResult:
    lists: list[ListRef]
    announcements: list[Announcement]
    pages_fetched: int
    errors: list[FetchError]
    # Pages that answered 304: the caller reuses the ListRefs it stored for them.
    unchanged_pages: list[str] = field(default_factory=list)
    # 200 answers whose validators ``commit`` remembers once the caller stored the lists.
    fetched: list[FetchResult] = field(default_factory=list)
    # Errors of the secondary signal (notice API): also in ``errors``, but not fatal.
    signal_errors: list[FetchError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def fatal_errors(self) -> list[FetchError]:
        """Errors that make the poll incomplete (channel, in-place or announcement pages)."""
        return [e for e in self.errors if not any(e is s for s in self.signal_errors)]

    def commit(self, fetcher: Fetcher) -> None:
        """Remember the validators of every page read, so unchanged pages give 304 next time."""
        for result in self.fetched:
            fetcher.remember(result)


@dataclass
class _Candidate:
    announcement: Announcement
    referer: str | None
    hint: Kind | None  # kind suggested by the listing (channel title, notice type 3)


def _absolute(base_url: str, path: str) -> str:
    return path if re.match(r"^https?://", path) else base_url.rstrip("/") + "/" + path.lstrip("/")


def _refs_from_article(
    title: str,
    published_on: str | None,
    attachments: list[tuple[str, str]],
    page_url: str,
    page_kind: Kind,
    warnings: list[str],
) -> list[ListRef]:
    refs = []
    page_cancel = is_cancellation_title(title)
    for name, url in attachments:
        kind = classify_title(name) or page_kind
        month = list_month_from_name(name) or (published_on[:7] if published_on else None)
        if month is None:
            warnings.append(f"no list month for attachment {name!r} on {page_url}")
            month = ""
        refs.append(
            ListRef(
                kind=kind,
                list_month=month,
                name=name,
                title=title,
                page_url=page_url,
                attachment_url=url,
                published_on=published_on,
                is_cancellation=page_cancel or is_cancellation_title(name),
            )
        )
    return refs


async def _walk_channel(
    fetcher: Fetcher,
    settings: CacSourceSettings,
    known: set[str],
    in_place_keys: set[str],
    result: DiscoveryResult,
    candidates: dict[str, _Candidate],
    listed: dict[str, Announcement],
) -> None:
    url: str | None = _absolute(settings.base_url, settings.channel_path.format(n=1))
    referer: str | None = None
    visited: set[str] = set()
    for n in range(1, settings.max_channel_pages + 1):
        if url is None or page_key(url) in visited:
            return
        visited.add(page_key(url))
        try:
            # Unconditional: the channel page is the primary signal and small.
            res = await fetcher.get_page(url, referer=referer, conditional=False)
        except FetchError as err:
            result.errors.append(err)
            return
        result.pages_fetched += 1
        items, next_url = parse_channel_page(res.text(), url)
        if not items:
            if n == 1:
                # The first channel page without items is a changed layout or a soft
                # block, never "no lists".
                result.errors.append(InvalidResponse(url, "channel page without any item (layout changed?)"))
            return
        relevant = known_here = 0
        for item in items:
            if not _maybe_relevant(item.title):
                continue
            key = page_key(item.url)
            listed.setdefault(key, item)
            if key in in_place_keys:
                continue  # re-checked in step (b); neither new nor known ground
            relevant += 1
            if key in known:
                known_here += 1
            elif key not in candidates:
                candidates[key] = _Candidate(item, url, classify_title(item.title))
        if relevant and known_here == relevant:
            return  # known ground: everything older was seen by earlier polls
        if next_url is None:
            # Some pagers only number the pages: follow the numbered link to page n+1.
            wanted = page_key(_absolute(settings.base_url, settings.channel_path.format(n=n + 1)))
            soup = _soup(res.content or b"")
            for a in soup.select("a[href]"):
                if page_key(urljoin(url, str(a["href"]))) == wanted:
                    next_url = urljoin(url, str(a["href"]))
                    break
        referer, url = url, next_url


async def _read_notice_api(
    fetcher: Fetcher,
    settings: CacSourceSettings,
    known: set[str],
    in_place_keys: set[str],
    result: DiscoveryResult,
    candidates: dict[str, _Candidate],
) -> list[ListRef]:
    """Second signal: the filing system's pinned notices. Failures are recorded, not fatal."""
    api = settings.beian_url.rstrip("/") + NOTICE_API_PATH
    direct: list[ListRef] = []

    def fail(err: FetchError) -> list[ListRef]:
        result.errors.append(err)
        result.signal_errors.append(err)
        return []

    try:
        data = await fetcher.get_json(api, referer=settings.beian_url.rstrip("/") + "/")
    except FetchError as err:
        return fail(err)
    result.pages_fetched += 1
    if not isinstance(data, dict):
        return fail(InvalidResponse(api, "notice API answered something other than an object"))
    if data.get("errno") not in (0, "0"):
        return fail(InvalidResponse(api, f"notice API errno {data.get('errno')}: {data.get('errmsg') or ''}".strip()))
    items = data.get("datas")
    if not isinstance(items, list):
        return fail(InvalidResponse(api, "notice API without a datas list"))

    for item in items:
        if not isinstance(item, dict):
            continue
        title = str(item.get("title") or "")
        content = str(item.get("content") or "").strip()
        is_batch = str(item.get("type")) == "3"
        kind = Kind.DEEP_SYNTHESIS if is_batch and classify_title(title) is None else classify_title(title)
        if kind is None:
            continue
        created = _date(str(item.get("createTime") or ""))
        if re.match(r"^(https?://|/)\S*$", content):
            targets = [(title, content)]
        else:
            # HTML content: the notice body itself carries the links.
            targets = [(_text(a) or title, str(a["href"])) for a in _soup(content).select("a[href]")]
        for name, href in targets:
            # Relative links are relative to the filing system that served them.
            url = urljoin(settings.beian_url.rstrip("/") + "/", href)
            if _is_attachment_link(url):
                # A notice linking the list file directly (e.g. a 注销 table as PDF).
                direct.append(
                    ListRef(
                        kind=kind,
                        list_month=list_month_from_name(name) or list_month_from_name(title)
                        or (created[:7] if created else ""),
                        name=name,
                        title=title,
                        page_url=settings.beian_url.rstrip("/") + "/",
                        attachment_url=url,
                        published_on=created,
                        is_cancellation=is_cancellation_title(title) or is_cancellation_title(name),
                    )
                )
                continue
            key = page_key(url)
            if key in known or key in in_place_keys or key in candidates:
                continue
            announcement = Announcement(url=url, title=title, published_on=created, signal=SourceSignal.NOTICE_API)
            candidates[key] = _Candidate(announcement, None, kind)
    return direct


async def _read_article(
    fetcher: Fetcher, url: str, referer: str | None
) -> FetchResult | FetchError:
    try:
        return await fetcher.get_page(url, referer=referer, conditional=True)
    except FetchError as err:
        return err


async def discover(
    fetcher: Fetcher, settings: CacSourceSettings, *, known_pages: set[str]
) -> DiscoveryResult:
    """Find every list: see the module docstring. ``known_pages`` are announcement page
    URLs whose lists the caller already stored (include every URL of
    ``DiscoveryResult.announcements`` once processed, also pages without lists, so
    the channel walk stops at known ground)."""
    result = DiscoveryResult(lists=[], announcements=[], pages_fetched=0, errors=[])
    known = {page_key(u) for u in known_pages}
    in_place = {kind: _absolute(settings.base_url, path) for kind, path in settings.in_place_pages.items()}
    in_place_keys = {page_key(u) for u in in_place.values()}
    candidates: dict[str, _Candidate] = {}
    listed: dict[str, Announcement] = {}

    await _walk_channel(fetcher, settings, known, in_place_keys, result, candidates, listed)

    refs: list[ListRef] = []
    # (b) in-place pages, always re-checked (conditionally).
    for kind_name, url in in_place.items():
        try:
            res = await fetcher.get_page(url, conditional=True)
        except FetchError as err:
            result.errors.append(err)
            continue
        result.pages_fetched += 1
        seen = listed.get(page_key(url))
        if res.not_modified:
            result.unchanged_pages.append(url)
            if seen is not None:
                result.announcements.append(
                    Announcement(seen.url, seen.title, seen.published_on, SourceSignal.IN_PLACE)
                )
            continue
        result.fetched.append(res)
        title, published, attachments = parse_article(res.text(), url)
        kind = Kind(kind_name) if kind_name in Kind._value2member_map_ else classify_title(title)
        if kind is None:
            result.errors.append(InvalidResponse(url, f"in-place page {kind_name!r}: unknown series"))
            continue
        if not attachments:
            result.errors.append(InvalidResponse(url, "in-place page without any 附件 link (layout changed?)"))
            continue
        published = published or (seen.published_on if seen else None)
        result.announcements.append(Announcement(url, title, published, SourceSignal.IN_PLACE))
        refs.extend(_refs_from_article(title, published, attachments, url, kind, result.warnings))

    # (c) the notice API, a second signal.
    if settings.use_notice_api:
        refs.extend(await _read_notice_api(fetcher, settings, known, in_place_keys, result, candidates))

    # Unknown relevant announcement pages (concurrency is capped by the fetcher).
    pending = list(candidates.values())
    answers = await asyncio.gather(
        *(_read_article(fetcher, c.announcement.url, c.referer) for c in pending)
    )
    for cand, answer in zip(pending, answers):
        ann = cand.announcement
        if isinstance(answer, FetchError):
            result.errors.append(answer)
            continue
        result.pages_fetched += 1
        if answer.not_modified:
            result.unchanged_pages.append(ann.url)
            result.announcements.append(ann)
            continue
        title, published, attachments = parse_article(answer.text(), ann.url)
        title = title or ann.title
        kind = classify_title(title)
        if kind is None and cand.hint is not None and ann.signal is SourceSignal.NOTICE_API:
            kind = cand.hint  # type 3 notices are deep-synthesis batches whatever the wording
        if kind is None:
            continue  # a truncated channel title that turned out to be a look-alike
        result.fetched.append(answer)
        published = published or ann.published_on
        result.announcements.append(Announcement(ann.url, title, published, ann.signal))
        if not attachments:
            result.warnings.append(f"relevant page without attachments: {ann.url} ({title})")
        refs.extend(_refs_from_article(title, published, attachments, ann.url, kind, result.warnings))

    # Deduplicate by attachment identity (first wins: in-place pages come first), and
    # order chronologically so a caller that records "first seen in" gets the oldest list.
    unique: dict[str, ListRef] = {}
    for ref in refs:
        unique.setdefault(attachment_key(ref.attachment_url), ref)
    result.lists = sorted(
        unique.values(), key=lambda r: (r.list_month, r.published_on or "", r.kind.value, r.name)
    )
    return result
