"""Events → Telegram posts (``parse_mode=HTML``), Chinese then English.

Pure functions: no network, no database. Rules that Telegram enforces and this module keeps:
- everything that comes from the CAC site (names, entities, titles, URLs) is escaped;
  only the tags built here (b, i, code, a href) reach Telegram;
- a post is at most 4096 UTF-16 code units (emoji outside the BMP count 2, CJK 1), a photo
  caption at most 1024. Long content is split at block boundaries (paragraphs, findings,
  list items) into a thread; a single block too long for one post is cut between words or
  characters with its open tags closed and reopened, never inside a tag or an entity.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeGuard, TypeVar, cast

from bot.changes.companies import batch_label, big_tech_group, english_name, translate_term
from bot.changes.genai import (
    companies_among,
    company_sentences,
    event_split,
    event_totals,
    provinces_sentences,
    records_cover,
    scenario_en,
    split_brief,
    split_sentences,
    top_registration_provinces,
    totals_sentences,
)
from bot.changes.event_schema import (
    BaselineEvent,
    ChangedFiling,
    Counts,
    Event,
    FieldValue,
    FilingRecord,
    Finding,
    ListEvent,
    ListEventData,
)
from bot.changes.vocabulary import FIELD_LABELS, ROLE_LABELS, STATUS_LABELS, kind_names, month_label, published_label
from bot.changes.watchlist import FilingHit
from bot.settings.paths import archived_file_url, brief_path, filing_path, list_path, page_url

__all__ = [
    "Language",
    "TEXT_LIMIT",
    "CAPTION_LIMIT",
    "KIND_LABELS",
    "utf16_len",
    "en_name",
    "esc",
    "attr",
    "kind_label",
    "list_label",
    "month_label",
    "render_event",
    "channel_texts",
    "without_watchlist",
    "notable_filings",
    "MAX_NOTABLE",
    "WebLinks",
    "render_watch_alert",
    "caption_for",
    "pack",
    "split_html",
    "Block",
]

Language = Literal["both", "zh", "en"]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# Room kept at the end of each post of a thread for its "(2/3)" marker.
_MARKER_ROOM = 24
# How many filings a post lists one by one before summarising "…and N more".
MAX_LISTED = 15
# A list too long to list names its notable new filings (big tech, foreign filers) by name: a few.
MAX_NOTABLE = 8

KIND_LABELS: dict[str, tuple[str, str]] = kind_names("filings")
_STATUS = STATUS_LABELS
_ROLE = ROLE_LABELS
# Findings in the order a reader wants them: size first, names last.
# A totals_mismatch (CAC's stated totals differ from what cacwatch holds) comes first: it is a warning.
_FINDING_ORDER = ("totals_mismatch", "rank", "size_change", "top_filers", "big_tech", "foreign", "watchlist",
                  "cancellations", "renames", "provinces")
_VALUE_CAP = 300  # characters of one changed value shown


def utf16_len(text: str) -> int:
    """Telegram's length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def esc(value: object) -> str:
    """Escape site-controlled text for an HTML text node (``<``, ``>``, ``&``)."""
    return html.escape("" if value is None else str(value), quote=False)


def attr(value: object) -> str:
    """Escape for a double-quoted attribute value (also ``"`` and ``'``)."""
    return html.escape("" if value is None else str(value), quote=True)


def _clip(text: str, limit: int = _VALUE_CAP) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kind_label(kind: str) -> tuple[str, str]:
    return KIND_LABELS.get(kind, (kind, kind.replace("_", " ")))


def list_label(kind: str, batch: int | None, list_month: str | None = None) -> tuple[str, str]:
    """("第十六批深度合成服务算法备案", "16th batch of deep-synthesis filings"), plain text."""
    zh_kind, en_kind = kind_label(kind)
    if batch:
        zh_batch, en_batch = batch_label(int(batch))
        return (f"{zh_batch}{zh_kind}", f"{en_batch} of {en_kind}")
    zh_month, en_month = month_label(list_month)
    if zh_month:
        return (f"{zh_kind}（{zh_month}）", f"{en_kind[:1].upper()}{en_kind[1:]} ({en_month})")
    return (zh_kind, en_kind[:1].upper() + en_kind[1:])


def _link(url: str | None, label: str) -> str | None:
    # Telegram refuses an <a> whose href is not a URL; a strange value is left out, not sent.
    if url is None or not re.match(r"^https?://[^\s<>\"]+$", url):
        return None
    return f'<a href="{attr(url)}">{esc(label)}</a>'


# --- blocks and splitting ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """A unit that is never split unless it alone exceeds a post. ``glue`` joins it to the one before."""

    text: str
    glue: str = "\n\n"


_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|\w+);|[^<&\s]+\s*|\s+|[<&]")
_OPEN = re.compile(r"<([A-Za-z][\w-]*)(?:\s[^<>]*)?>")
_CLOSE = re.compile(r"</([A-Za-z][\w-]*)\s*>")


def _visible(html_text: str) -> bool:
    return bool(re.sub(r"<[^<>]*>", "", html_text).strip())


def split_html(text: str, limit: int) -> list[str]:
    """Cut one HTML string into pieces of at most ``limit`` UTF-16 units, tags kept balanced.

    Cuts fall between words where there are spaces and between characters otherwise (CJK);
    tags and entities are atomic; tags open at a cut are closed before it and reopened after.
    """
    if utf16_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag text)
    current: list[str] = []
    used = 0

    def closing() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(stack))

    def flush() -> None:
        # Content without visible text (only tags or whitespace) is dropped, never sent alone:
        # Telegram rejects an empty message.
        nonlocal current, used
        body = "".join(current)
        if _visible(body):
            pieces.append(body + closing())
        reopen = "".join(tag for _, tag in stack)
        current, used = [reopen], utf16_len(reopen)

    def room_for(units: int) -> bool:
        return used + units + utf16_len(closing()) <= limit

    for match in _TOKEN.finditer(text):
        token = match.group(0)
        opened = _OPEN.fullmatch(token)
        closed = _CLOSE.fullmatch(token)
        size = utf16_len(token)
        if opened:
            # An opening tag also needs room for its own closing tag.
            extra = len(opened.group(1)) + 3
            if not room_for(size + extra + 1):
                flush()
            current.append(token)
            used += size
            stack.append((opened.group(1).lower(), token))
            continue
        if closed:
            current.append(token)
            used += size
            if stack and stack[-1][0] == closed.group(1).lower():
                stack.pop()
            continue
        if not room_for(size):
            flush()
        if room_for(size):
            current.append(token)
            used += size
            continue
        # One word longer than a whole post: cut it character by character.
        for char in token:
            units = utf16_len(char)
            if not room_for(units):
                flush()
            current.append(char)
            used += units
    flush()
    return pieces


def pack(blocks: Sequence[Block], limit: int = TEXT_LIMIT, *, number: bool = True) -> list[str]:
    """Greedily fill posts with whole blocks; number the posts of a thread ("(2/3)")."""
    budget = limit - _MARKER_ROOM if number else limit
    posts: list[str] = []
    current = ""
    for block in blocks:
        if not block.text:
            continue
        candidate = current + block.glue + block.text if current else block.text
        if utf16_len(candidate) <= budget:
            current = candidate
            continue
        if current:
            posts.append(current)
            current = ""
        if utf16_len(block.text) <= budget:
            current = block.text
            continue
        pieces = split_html(block.text, budget)
        posts.extend(pieces[:-1])
        current = pieces[-1]
    if current:
        posts.append(current)
    if number and len(posts) > 1:
        total = len(posts)
        posts = [f"{post}\n\n<i>({index}/{total})</i>" for index, post in enumerate(posts, start=1)]
    return posts


# --- pieces of a post -----------------------------------------------------------------------


def en_name(entity: str) -> str:
    try:
        return english_name(entity) or entity
    except Exception:  # noqa: BLE001 - a naming bug must never stop a notification
        return entity


def _value(field: str, value: FieldValue, lang: str) -> str:
    index = 0 if lang == "zh" else 1
    if value is None or value == "" or value == []:
        return "—"
    if field == "status" and isinstance(value, str) and value in _STATUS:
        return _STATUS[value][index]
    if field == "role" and isinstance(value, str) and value in _ROLE:
        return _ROLE[value][index]
    if isinstance(value, list):
        return _clip("、".join(str(v) for v in value))
    if lang == "en" and field in ("category", "province") and isinstance(value, str):
        try:
            return translate_term(value) or value
        except Exception:  # noqa: BLE001
            return value
    if lang == "en" and field == "entity" and isinstance(value, str):
        return en_name(value)
    return _clip(str(value))


@dataclass(frozen=True, slots=True)
class WebLinks:
    """Links to the web app's pages (``web.public_url``); without one, none (posts as before)."""

    public_url: str | None = None
    kind: str = ""

    def filing(self, number: str) -> str | None:
        return page_url(self.public_url, filing_path(self.kind, number)) if self.kind and number else None

    def list(self, list_month: str) -> str | None:
        if not self.kind or not list_month:
            return None
        return page_url(self.public_url, list_path(self.kind, list_month))

    def file(self, list_month: str, title: str, name: str) -> str | None:
        """cacwatch's archived, sha256-checked copy of the list's current file."""
        return archived_file_url(self.public_url, self.kind, list_month, title, name)

    def brief(self, list_month: str, lang: str) -> str | None:
        """The list's PDF brief, in the post's language."""
        if not self.kind or not list_month:
            return None
        return page_url(self.public_url, brief_path(self.kind, list_month, "pdf", lang))


_NO_LINKS = WebLinks()


def _filing_line(
    record: FilingRecord | ChangedFiling, lang: str, prefix: str = "• ", links: WebLinks = _NO_LINKS
) -> str:
    # A changed filing may lack its current name and entity (not found when the event was made).
    name = esc(_clip(record.get("name") or "", 200))
    entity_raw = record.get("entity") or ""
    entity = esc(_clip(entity_raw if lang == "zh" else en_name(entity_raw), 200))
    raw_number = record["filing_number"]
    number = f"<code>{esc(raw_number)}</code>"
    url = links.filing(raw_number)
    if url:
        number = _link(url, raw_number) or number
    # A GenAI on-device service says where it runs (适用场景).
    scenario_raw = str(cast(Mapping[str, object], record).get("scenario") or "").strip()
    scenario = esc(_clip(scenario_raw if lang == "zh" else scenario_en(scenario_raw), 100)) if scenario_raw else ""
    if lang == "zh":
        who = f"（{entity}）" if entity else ""
        return f"{prefix}{name}{who} {number}" + (f" · {scenario}" if scenario else "")
    who = f" ({entity})" if entity else ""
    return f"{prefix}{name}{who} {number}" + (f" · {scenario}" if scenario else "")


def _change_line(change: ChangedFiling, lang: str, links: WebLinks = _NO_LINKS) -> str:
    index = 0 if lang == "zh" else 1
    parts = []
    for field, pair in change["changes"].items():
        before, after = (list(pair) + [None, None])[:2]
        label = FIELD_LABELS.get(field, (field, field))[index]
        parts.append(f"{esc(label)} {esc(_value(field, before, lang))} → {esc(_value(field, after, lang))}")
    joined = "；".join(parts) if lang == "zh" else "; ".join(parts)
    colon = "：" if lang == "zh" else ": "
    return _filing_line(change, lang, links=links) + (colon + joined if joined else "")


_Record = TypeVar("_Record", bound=FilingRecord | ChangedFiling)
_Record_contra = TypeVar("_Record_contra", contravariant=True)


class _Line(Protocol[_Record_contra]):
    """One record as a line of a post (``_filing_line``, ``_change_line``)."""

    def __call__(self, record: _Record_contra, lang: str, /, *, links: WebLinks) -> str: ...


def _items(
    title: tuple[str, str],
    records: Sequence[_Record],
    lang: str,
    line: _Line[_Record],
    limit: int = MAX_LISTED,
    *,
    total: int | None = None,
    links: WebLinks = _NO_LINKS,
) -> list[Block]:
    """A titled list of at most ``limit`` records; ``total`` (the whole list's count, when the
    records are one part of a split event) decides how many more are announced."""
    total = max(len(records), total or 0)
    if not total:
        return []
    index = 0 if lang == "zh" else 1
    blocks = [Block(f"<b>{title[index]}</b>")]
    shown = records[:limit]
    blocks += [Block(line(record, lang, links=links), "\n") for record in shown]
    rest = total - len(shown)
    if rest > 0 and not shown:
        blocks.append(Block(f"共 {rest} 项" if lang == "zh" else f"{rest} in all", "\n"))
    elif rest > 0:
        blocks.append(Block(f"……另有 {rest} 项" if lang == "zh" else f"…and {rest} more", "\n"))
    return blocks


def _rank_fallback(data: ListEventData) -> tuple[str, str] | None:
    """(zh, en): rank among lists of the kind from ``data.sizes`` when the findings carry none."""
    sizes = data.get("sizes") or []
    rows = data["counts"].get("rows")
    if not sizes or rows is None or len(sizes) < 2:
        return None
    ordered = sorted((int(size) for _, size in sizes), reverse=True)
    rank = ordered.index(rows) + 1 if rows in ordered else sum(1 for s in ordered if s > rows) + 1
    return (
        f"本清单共 {rows} 行，在 {len(ordered)} 份同类清单中规模排第 {rank}。",
        f"{rows} rows: #{rank} by size of {len(ordered)} lists of its kind.",
    )


def _top_filers_fallback(data: ListEventData) -> tuple[str, str] | None:
    """(zh, en): the top filers among the new filings when the findings name none."""
    counts = Counter(r["entity"] for r in data["new"] if r["entity"])
    top = [(entity, count) for entity, count in counts.most_common(5) if count > 1]
    if not top:
        return None
    return (
        "主要备案主体：" + "、".join(f"{entity}（{count}项）" for entity, count in top),
        "Top filers: " + ", ".join(f"{en_name(entity)} ({count})" for entity, count in top),
    )


def _findings(
    notable: Sequence[Finding], lang: str, list_data: ListEventData | None = None, told: Iterable[str] = ()
) -> list[Block]:
    """The findings in reading order, in ``lang`` (else the other language); a list event's
    rank and top filers are worked out from ``list_data`` when its findings carry none.
    ``told``: finding types the post already tells in full (the GenAI block), left out here."""
    found: dict[str, list[tuple[str, str]]] = {}  # type → [(zh, en)]
    skipped = set(told)
    for finding in notable:
        if finding["type"] in skipped:
            continue
        found.setdefault(finding["type"], []).append((finding["zh"], finding["en"]))
    if list_data is not None and "rank" not in found and (fallback := _rank_fallback(list_data)):
        found["rank"] = [fallback]
    if list_data is not None and "top_filers" not in found and (fallback := _top_filers_fallback(list_data)):
        found["top_filers"] = [fallback]
    ordered = [t for t in _FINDING_ORDER if t in found] + [t for t in found if t not in _FINDING_ORDER]
    texts = [(zh if lang == "zh" else en) or en or zh for kind in ordered for zh, en in found[kind]]
    lines = [Block("• " + esc(text), "\n") for text in texts if text]
    if not lines:
        return []
    return [Block("<b>要点</b>" if lang == "zh" else "<b>Highlights</b>")] + lines


@dataclass(frozen=True, slots=True)
class _CountWords:
    """The counts line in one language: templates of ``n`` (and ``s``, an English plural)."""

    new: str
    changed: str
    removed: str
    cancelled: str
    renamed: str
    comma: str
    semicolon: str
    rows: str
    end: str


_COUNT_WORDS = {
    "zh": _CountWords("新增备案 <b>{n}</b> 项", "变更 <b>{n}</b> 项", "移出 <b>{n}</b> 项", "注销 {n} 项", "主体更名 {n} 项",
                      "，", "；", "清单现有 {n} 行。", "。"),
    "en": _CountWords("<b>{n}</b> new filing{s}", "<b>{n}</b> changed", "<b>{n}</b> removed", "{n} cancelled",
                      "{n} renamed", ", ", "; ", "{n} rows in the list now.", "."),
}


def _counts_line(event_type: str, counts: Counts, lang: str) -> str:
    words = _COUNT_WORDS["zh" if lang == "zh" else "en"]
    new, changed, removed = counts["new"], counts["changed"], counts["removed"]
    rows, cancelled, renamed = counts.get("rows"), counts.get("cancelled") or 0, counts.get("renamed") or 0
    parts = [words.new.format(n=new, s="s" if new != 1 else "")]
    if changed or event_type == "list.revised":
        parts.append(words.changed.format(n=changed))
    if removed:
        parts.append(words.removed.format(n=removed))
    # Cancellations and renames are facts of their own (changes, or new filings listed
    # already cancelled), never a breakdown of the last number: not "移出 1 项（其中注销 1 项）".
    extra = ([words.cancelled.format(n=cancelled)] if cancelled else []) + (
        [words.renamed.format(n=renamed)] if renamed else []
    )
    line = words.comma.join(parts) + (words.semicolon + words.comma.join(extra) if extra else "")
    return line + (words.semicolon + words.rows.format(n=rows) if rows is not None else words.end)


def _headline(event: ListEvent, lang: str) -> str:
    data = event["data"]
    zh_label, en_label = list_label(data["kind"], data["batch"], data["list_month"])
    # No "part i of n": a webhook body split (data.part) is not a Telegram thread. The channel
    # tells a list once, from its first part, with the whole list's counts and findings.
    if event["type"] == "list.revised":
        text = f"✏️ <b>清单更新：{esc(zh_label)}</b>" if lang == "zh" else f"✏️ <b>List revised: {esc(en_label)}</b>"
    else:
        text = f"🆕 <b>{esc(zh_label)}</b>" if lang == "zh" else f"🆕 <b>{esc(en_label)}</b>"
    zh_month, en_month = month_label(data["list_month"])
    published = data.get("published")
    zh_date, en_date = published_label(published["on"], published["basis"]) if published else ("", "")
    if lang == "zh":
        lines = [text, f"清单：{esc(data['name'] or data['title'])}", f"清单月份：{esc(zh_month)}"]
        lines += [esc(zh_date)] if zh_date else []
    else:
        lines = [text, f"List month: {esc(en_month)}"]
        lines += [esc(en_date[0].upper() + en_date[1:])] if en_date else []
    return "\n".join(line for line in lines if not line.endswith("：") and not line.endswith(": "))


def _links(data: ListEventData, lang: str, web: WebLinks = _NO_LINKS) -> list[Block]:
    labels = (("公告原文", "清单附件", "清单页面", "简报 PDF", "存档原件") if lang == "zh"
              else ("Announcement", "List file", "List page", "Brief (PDF)", "Archived file"))
    archived = web.file(data["list_month"], data["title"], data["name"])
    links = [
        link
        for link in (
            _link(data["page_url"], labels[0]),
            _link(data["attachment_url"], labels[1]),
            _link(archived, labels[4]),
            _link(web.list(data["list_month"]), labels[2]),
            _link(web.brief(data["list_month"], "zh" if lang == "zh" else "en" if lang == "en" else "both"), labels[3]),
        )
        if link
    ]
    return [Block("🔗 " + " · ".join(links))] if links else []


def _web_links(data: ListEventData, public_url: str | None) -> WebLinks:
    return WebLinks(public_url, data["kind"]) if public_url else _NO_LINKS


_EARLIER_SHOWN = 12  # earlier lists named by size; older ones are summarised by the rank line


def _earlier_sizes(data: ListEventData, lang: str) -> list[Block]:
    """The sizes of the lists before this one, oldest first ("Earlier lists: June 2023 41 · …"),
    so a reader sees what "the second-largest" is measured against."""
    month = data["list_month"]
    earlier = [(str(m), int(n)) for m, n in (data.get("sizes") or []) if str(m) < month]
    if not earlier:
        return []
    earlier.sort()
    shown = earlier[-_EARLIER_SHOWN:]
    index = 0 if lang == "zh" else 1
    parts = [f"{esc(month_label(m)[index])} {n:,}" for m, n in shown]
    more = len(earlier) - len(shown)
    if lang == "zh":
        return [Block("此前各清单规模：" + ("……" if more else "") + "、".join(parts), "\n")]
    return [Block("Earlier lists: " + ("… " if more else "") + " · ".join(parts), "\n")]


def _genai_blocks(data: ListEventData, lang: str) -> tuple[list[Block], set[str]]:
    """A GenAI list's news split into filed / registered / on-device (with 适用场景), the
    big-tech groups and foreign companies among them (every one, by name), the provinces with
    most registrations, CAC's stated totals against cacwatch's; and the finding types these
    lines tell in full (not repeated under the highlights)."""
    index = 0 if lang == "zh" else 1
    lines: list[str] = []
    told: set[str] = set()
    split = event_split(data)
    if split is not None and (split.total or data["counts"]["new"]):
        lines.append(split_sentences(data["list_month"], split, data["counts"]["new"] or None)[index])
    # Names and provinces only from records that are all the new filings (not one part of a
    # split event); otherwise the big_tech / foreign findings tell them as they are.
    # GenAI lists only: the other kinds' big-tech and foreign lines are their findings (the
    # big-tech finding names the leading groups first and never cuts them).
    if data["kind"] == "genai_service" and data["new"] and records_cover(data):
        provinces = provinces_sentences(top_registration_provinces(data["new"]))
        if provinces:
            lines.append(provinces[index])
        groups, foreign = companies_among(data["new"])
        lines += [pair[index] for pair in company_sentences(groups, foreign, en_name)]
        told |= {"big_tech"} if groups else set()
        told |= {"foreign"} if foreign else set()
    totals = event_totals(data)
    if totals is not None:
        zh, en, _ = totals_sentences(totals)
        lines.append(zh if lang == "zh" else en)
        told.add("totals_mismatch")
    blocks = [Block(("🤖 " if i == 0 else "") + esc(line), "\n\n" if i == 0 else "\n") for i, line in enumerate(lines)]
    return blocks, told


def notable_filings(data: ListEventData) -> list[FilingRecord]:
    """The new filings a reader looks for first, each once: those of the leading big-tech
    groups, of foreign and foreign-invested filers, then of the other big-tech groups (each in
    its finding's order), taken one per group or filer in turn, so the few a post names show
    many of them rather than one group's every filing."""
    leading: list[list[str]] = []
    others: list[list[str]] = []
    foreign: list[list[str]] = []
    for finding in data["notable"]:
        if finding["type"] == "big_tech":
            for group in finding["data"]["groups"]:
                known = big_tech_group(group["entities"][0]) if group["entities"] else None
                (leading if known is not None and known.leading else others).append(group["entities"])
        elif finding["type"] == "foreign":
            foreign += [[filer["entity"]] for filer in finding["data"]["filers"]]
    by_entity: dict[str, list[FilingRecord]] = {}
    for record in data["new"]:
        by_entity.setdefault(record["entity"], []).append(record)
    queues = [[r for entity in entities for r in by_entity.get(entity, [])] for entities in leading + foreign + others]
    seen: set[str] = set()
    found: list[FilingRecord] = []
    for round_ in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if round_ < len(queue) and queue[round_]["filing_number"] not in seen:
                seen.add(queue[round_]["filing_number"])
                found.append(queue[round_])
    return found


def _list_blocks(event: ListEvent, lang: str, public_url: str | None = None) -> list[Block]:
    data = event["data"]
    counts = data["counts"]
    web = _web_links(data, public_url)
    blocks = [Block(_headline(event, lang)), Block(_counts_line(event["type"], counts, lang))]
    genai, told = _genai_blocks(data, lang)
    blocks += genai
    blocks += _findings(data["notable"], lang, data, told)
    blocks += _earlier_sizes(data, lang)
    new = data["new"]
    if new and max(len(new), counts["new"]) <= MAX_LISTED:
        blocks += _items(("新增备案", "New filings"), new, lang, _filing_line, links=web)
    elif new:
        # Too many new filings to list, but the few on-device services are the story (Apple,
        # Samsung …), and so are the big-tech and foreign filings: named one by one, a few.
        on_device = [r for r in new if r.get("registration") != "registered" and str(r.get("scenario") or "").strip()]
        blocks += _items(("新增端侧服务", "New on-device services"), on_device, lang, _filing_line, links=web)
        shown = {r["filing_number"] for r in on_device[:MAX_LISTED]}
        notable = [r for r in notable_filings(data) if r["filing_number"] not in shown]
        blocks += _items(("值得关注的新增备案", "Notable new filings"), notable, lang, _filing_line, MAX_NOTABLE, links=web)
    # A split event's first part may hold only some of the changes: "more" counts the whole list.
    blocks += _items(("变更", "Changes"), data["changed"], lang, _change_line, total=counts["changed"], links=web)
    blocks += _items(("移出清单", "Removed from the list"), data["removed"], lang, _filing_line,
                     total=counts["removed"], links=web)
    blocks += _links(data, lang, web)
    return blocks


def _baseline_blocks(event: BaselineEvent, lang: str) -> tuple[list[Block], list[Block]]:
    """(fixed, optional): the optional findings are dropped if the one post would overflow."""
    data = event["data"]
    lists, filings = data["counts"]["lists"], data["counts"]["filings"]
    if lang == "zh":
        head = (f"📊 <b>cacwatch 开始监测网信办算法备案</b>\n已记录 <b>{esc(lists)}</b> 份清单、"
                f"<b>{esc(filings)}</b> 项备案：")
    else:
        head = (f"📊 <b>cacwatch is now watching CAC algorithm filings</b>\n"
                f"<b>{esc(lists)}</b> lists and <b>{esc(filings)}</b> filings on record:")
    fixed = [Block(head)]
    for kind, t in data["by_kind"].items():
        label = kind_label(kind)[0 if lang == "zh" else 1]
        if lang == "zh":
            line = f"• {esc(label)}：{esc(t['lists'])} 份清单，{esc(t['filings'])} 项"
            line += f"（已注销 {esc(t['cancelled'])}）" if t["cancelled"] else ""
        else:
            n_lists, n_filings = t["lists"], t["filings"]
            line = (f"• {esc(label[:1].upper() + label[1:])}: {n_lists} list{'s' if n_lists != 1 else ''}, "
                    f"{n_filings} filing{'s' if n_filings != 1 else ''}")
            line += f" ({esc(t['cancelled'])} cancelled)" if t["cancelled"] else ""
        fixed.append(Block(line, "\n"))
    tail = Block("此后只推送新清单与变更。" if lang == "zh" else "From now on: new lists and changes only.")
    optional = _findings(data["notable"], lang)
    return fixed + [tail], optional


def _languages(language: str) -> tuple[str, ...]:
    return {"zh": ("zh",), "en": ("en",)}.get(language, ("zh", "en"))


def _one_post(fixed: list[Block], optional: list[Block], limit: int) -> str:
    """Everything fixed plus as many optional blocks as fit, in one post."""
    blocks = list(fixed)
    for block in optional:
        trial = pack(blocks + [block], limit, number=False)
        if len(trial) == 1:
            blocks.append(block)
        else:
            break
    post = pack(blocks, limit, number=False)
    return post[0] if len(post) == 1 else split_html("\n\n".join(p for p in post), limit)[0]


def render_event(event: Event, language: Language | str = "both", public_url: str | None = None) -> list[str]:
    """The posts of one event, in order (a thread). ``baseline.established`` is always one post.

    ``public_url`` (``web.public_url``): the list and each filing link to their web pages."""
    langs = _languages(language)
    if event["type"] == "baseline.established":
        fixed: list[Block] = []
        optional: list[Block] = []
        for lang in langs:
            f, o = _baseline_blocks(event, lang)
            fixed += f
            optional += o
        return [_one_post(fixed, optional, TEXT_LIMIT)]
    blocks: list[Block] = []
    for lang in langs:
        blocks += _list_blocks(event, lang, public_url)
    return pack(blocks)


def without_watchlist(event: Event) -> Event:
    """The event without its ``watchlist`` finding: what a public channel may show."""
    if event["type"] == "baseline.established" or not any(f["type"] == "watchlist" for f in event["data"]["notable"]):
        return event
    data = {**event["data"], "notable": [f for f in event["data"]["notable"] if f["type"] != "watchlist"]}
    return cast(Event, {**event, "data": data})


def channel_texts(
    event: Event, language: Language | str = "both", public_url: str | None = None, *, show_watchlist: bool = False,
    chart: bool = True,
) -> tuple[str | None, list[str]]:
    """What the channel posts for an event (the notifier and ``cacwatch telegram preview``
    alike): the caption of the list-size chart that leads a ``list.published`` thread (None
    without one: the chart is off, or another event), and the texts of the thread. The
    operator's watchlist hits stay out unless ``show_watchlist`` (notify.telegram)."""
    if not show_watchlist:
        event = without_watchlist(event)
    texts = render_event(event, language, public_url)
    caption = caption_for(event, language) if chart and event["type"] == "list.published" else None
    return caption, texts


def _hit_records(
    hits: Sequence[FilingHit],
) -> tuple[list[FilingRecord | ChangedFiling], list[ChangedFiling], list[FilingRecord | ChangedFiling]]:
    """(new, changed, removed) records the hits name, each once however many patterns hit it."""
    new = list({id(h.record): h.record for h in hits if h.change == "new"}.values())
    changed = list({id(h.record): h.record for h in hits if h.change == "changed"}.values())
    removed = list({id(h.record): h.record for h in hits if h.change == "removed"}.values())
    return new, [c for c in changed if _is_change(c)], removed


def _is_change(record: FilingRecord | ChangedFiling) -> TypeGuard[ChangedFiling]:
    # A "changed" hit's record is the event's ChangedFiling (the one with "changes").
    return "changes" in record


def render_watch_alert(
    event: Event, hits: Iterable[FilingHit], language: Language | str = "both", public_url: str | None = None
) -> list[str]:
    """A private alert: which watched companies got a new filing, a change or a cancellation."""
    hits = list(hits)
    if event["type"] == "baseline.established":
        return []  # a baseline names no filing
    data = event["data"]
    web = _web_links(data, public_url)
    zh_label, en_label = list_label(data["kind"], data["batch"], data["list_month"])
    patterns = list(dict.fromkeys(hit.pattern for hit in hits))
    blocks: list[Block] = []
    for lang in _languages(language):
        watched = ("、" if lang == "zh" else ", ").join(esc(_clip(p, 100)) for p in patterns)
        if lang == "zh":
            blocks.append(Block(f"🔔 <b>关注提醒：{watched}</b>\n{esc(zh_label)}"))
        else:
            blocks.append(Block(f"🔔 <b>Watch alert: {watched}</b>\n{esc(en_label)}"))
        new, changed, removed = _hit_records(hits)
        blocks += _items(("新增备案", "New filings"), new, lang, _filing_line, limit=50, links=web)
        blocks += _items(("变更", "Changes"), changed, lang, _change_line, limit=50, links=web)
        blocks += _items(("移出清单", "Removed from the list"), removed, lang, _filing_line, limit=50, links=web)
        blocks += _links(data, lang, web)
    return pack(blocks)


def caption_for(event: ListEvent, language: Language | str = "both") -> str:
    """The chart's caption: which list, its month and its new filings; ≤ 1024 UTF-16 units."""
    data = event["data"]
    zh_label, en_label = list_label(data["kind"], data["batch"], data["list_month"])
    zh_month, en_month = month_label(data["list_month"])
    new = data["counts"]["new"]
    split = event_split(data)
    zh_brief, en_brief = split_brief(split) if split is not None else ("", "")
    lines = []
    for lang in _languages(language):
        if lang == "zh":
            detail = f"（{zh_brief}）" if zh_brief else ""
            lines.append(f"<b>{esc(zh_label)}</b>\n{esc(zh_month)} · 新增 {new} 项{detail}")
        else:
            detail = f" ({en_brief})" if en_brief else ""
            lines.append(f"<b>{esc(en_label)}</b>\n{esc(en_month)} · {new} new{detail}")
    caption = "\n".join(lines)
    return split_html(caption, CAPTION_LIMIT)[0]
