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
from dataclasses import dataclass, field
from typing import Any

from scrapers.fetch import FetchError, Fetcher, FetchResult, InvalidResponse
from scrapers.normalize import list_month_from_name
from scrapers.records import Announcement, Kind, ListRef, SourceSignal
from scrapers.sources.cac.pages import (
    date_in, href_of, html_tree, is_attachment_link, links_in, parse_article, parse_channel_page, text_of, web_link,
)
from scrapers.sources.cac.settings import CacSourceSettings
from scrapers.sources.cac.statements import article_body, stated_totals
from scrapers.sources.cac.titles import (
    attachment_key,
    batch_number,
    classify_title,
    is_cancellation_title,
    is_summary_title,
    maybe_relevant,
    page_key,
    summary_year,
)

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
# Titles and page parsing live in ``titles`` and ``pages``; their public names are
# re-exported here, where callers have always found them.

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
    *,
    in_place: bool = False,
) -> list[ListRef]:
    refs = []
    page_cancel = is_cancellation_title(title)
    for name, url in attachments:
        kind = classify_title(name) or page_kind
        named_month = list_month_from_name(name)
        cancellation = page_cancel or is_cancellation_title(name)
        # A summary names its year and no month (``2024年生成式人工智能服务已备案信息``); the
        # page title decides for an attachment named only generically.
        summary = not cancellation and named_month is None and (
            is_summary_title(name) or (classify_title(name) is None and is_summary_title(title))
        )
        month = _summary_month(name, title, published_on) if summary else named_month
        month = month or (published_on[:7] if published_on else None)
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
                is_cancellation=cancellation,
                is_summary=summary,
                in_place=in_place,
            )
        )
    return refs


def _summary_month(name: str, title: str, published_on: str | None) -> str | None:
    """A year's summary has no month in its name: it is published after the year ends, so its
    list month is the month it was published, and never before the December of its year
    (an in-place page's date is the page's first publication, older than its attachments)."""
    year = summary_year(name) or summary_year(title)
    published = published_on[:7] if published_on else None
    year_end = f"{year:04d}-12" if year is not None else None
    candidates = [m for m in (published, year_end) if m]
    return max(candidates) if candidates else None


def _notice_ref(title: str, published_on: str | None, url: str, kind: Kind) -> ListRef | None:
    """A GenAI notice whose table is in the page itself (关于发布7款提供手机端侧生成式人工智能
    服务已备案信息的公告, 2026-07-15): the page is the list, its rows filings of that month.
    The page is fetched again as the list and parsed like an HTML attachment (same worker,
    same limits)."""
    if kind is not Kind.GENAI_SERVICE or not published_on or is_cancellation_title(title):
        return None
    return ListRef(
        kind=kind,
        list_month=list_month_from_name(title) or published_on[:7],
        name=title,
        title=title,
        page_url=url,
        attachment_url=url,
        published_on=published_on,
        is_summary=is_summary_title(title),
    )


def _announcement(
    url: str, title: str, published: str | None, signal: SourceSignal, html: str | bytes,
    attachments: list[tuple[str, str]],
) -> tuple[Announcement, bool]:
    """The announcement with the totals its text states and the lists it links; and whether
    its body holds a table."""
    text, has_table = article_body(html)
    totals = tuple(stated_totals(text)) if classify_title(title) is Kind.GENAI_SERVICE else ()
    links = tuple(attachment_key(link) for _, link in attachments)
    return Announcement(url, title, published, signal, totals=totals, links=links), has_table


@dataclass
class _Walk:
    """What one discovery pass knows and has found so far, shared by its three signals."""

    fetcher: Fetcher
    settings: CacSourceSettings
    known: set[str]  # page keys whose lists are stored
    in_place_keys: set[str]  # page keys of the in-place pages, re-checked every poll
    result: DiscoveryResult
    candidates: dict[str, _Candidate] = field(default_factory=dict)  # relevant pages to read
    listed: dict[str, Announcement] = field(default_factory=dict)  # every channel item seen


async def _walk_channel(walk: _Walk) -> None:
    fetcher, settings, result = walk.fetcher, walk.settings, walk.result
    known, in_place_keys, candidates, listed = walk.known, walk.in_place_keys, walk.candidates, walk.listed
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
            if not maybe_relevant(item.title):
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
            page = html_tree(res.text() if res.content is not None else "")
            for a in links_in(page):
                link = web_link(url, href_of(a))
                if link is not None and page_key(link) == wanted:
                    next_url = link
                    break
        referer, url = url, next_url


async def _fetch_notice_api(fetcher: Fetcher, settings: CacSourceSettings) -> Any:
    """The notice API's answer (parsed JSON), or the error that kept it."""
    try:
        return await fetcher.get_json(
            settings.beian_url.rstrip("/") + NOTICE_API_PATH, referer=settings.beian_url.rstrip("/") + "/"
        )
    except FetchError as err:
        return err


def _read_notice_api(walk: _Walk, data: Any) -> list[ListRef]:
    """Second signal: the filing system's pinned notices (``data``: the API's answer, from
    ``_fetch_notice_api``). Failures are recorded, not fatal."""
    settings, result = walk.settings, walk.result
    known, in_place_keys, candidates = walk.known, walk.in_place_keys, walk.candidates
    api = settings.beian_url.rstrip("/") + NOTICE_API_PATH
    direct: list[ListRef] = []

    def fail(err: FetchError) -> list[ListRef]:
        result.errors.append(err)
        result.signal_errors.append(err)
        return []

    if isinstance(data, FetchError):
        return fail(data)
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
        created = date_in(str(item.get("createTime") or ""))
        if re.match(r"^(https?://|/)\S*$", content):
            targets = [(title, content)]
        else:
            # HTML content: the notice body itself carries the links.
            targets = [(text_of(a) or title, href_of(a)) for a in links_in(html_tree(content))]
        for name, href in targets:
            # Relative links are relative to the filing system that served them.
            url = web_link(settings.beian_url.rstrip("/") + "/", href)
            if url is None:  # not a usable http(s) link: skipped, the rest still read
                continue
            if is_attachment_link(url):
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
    in_place = {kind: _absolute(settings.base_url, path) for kind, path in settings.in_place_pages.items()}
    walk = _Walk(fetcher, settings, {page_key(u) for u in known_pages}, {page_key(u) for u in in_place.values()}, result)
    candidates, listed = walk.candidates, walk.listed

    # The in-place pages (b) and the notice API (c) do not depend on the channel walk (a): they
    # are asked for now, and read after the walk. The fetcher keeps its limits (requests in
    # flight, min_delay); with sources.cac.concurrency above 1 they no longer wait for the walk.
    in_place_answers = [
        asyncio.create_task(_read_article(fetcher, url, None)) for url in in_place.values()
    ]
    notice_answer = asyncio.create_task(_fetch_notice_api(fetcher, settings)) if settings.use_notice_api else None
    pending_signals = [*in_place_answers, *([notice_answer] if notice_answer is not None else [])]
    try:
        await _walk_channel(walk)
        await asyncio.gather(*pending_signals)
    finally:
        for task in pending_signals:
            task.cancel()

    refs: list[ListRef] = []
    # (b) in-place pages, always re-checked (conditionally).
    for (kind_name, url), asked in zip(in_place.items(), in_place_answers):
        res = asked.result()
        if isinstance(res, FetchError):
            result.errors.append(res)
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
        announcement, _ = _announcement(url, title, published, SourceSignal.IN_PLACE, res.text(), attachments)
        result.announcements.append(announcement)
        refs.extend(_refs_from_article(title, published, attachments, url, kind, result.warnings, in_place=True))

    # (c) the notice API, a second signal.
    if notice_answer is not None:
        refs.extend(_read_notice_api(walk, notice_answer.result()))

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
        announcement, has_table = _announcement(ann.url, title, published, ann.signal, answer.text(), attachments)
        result.announcements.append(announcement)
        if not attachments:
            notice = _notice_ref(title, published, ann.url, kind) if has_table else None
            if notice is not None:
                refs.append(notice)
            elif not announcement.totals:
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
