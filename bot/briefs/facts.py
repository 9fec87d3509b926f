"""The facts of a brief: one typed record gathered from the store, read by every renderer.

Nothing here is invented or estimated: each number is a count over rows that
``storage.brief_repo`` returned (the lists of a series, the filings of a list or period, the
history of renames, totals up to a month, CAC's stated totals). The renderers (HTML, DOCX, PDF)
only lay these facts out, so the three formats and both languages say the same thing.

A brief's subject is a list (``period="list"``: the filings in its current rows) or the lists
of a calendar month, quarter or year named for a month in it (the filings in their rows).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

from bot.briefs.formats import KINDS, PERIODS, BriefError, period_months
from bot.changes.companies import big_tech_group, english_name, foreign_filer, province_en, reading_order, translate_term
from storage.brief_repo import BriefRepository, SeriesList, SeriesTotals, StatedTotals
from storage.db import Session
from storage.totals_repo import registration_of as stored_registration_of

__all__ = [
    "Period",
    "PERIODS",
    "KINDS",
    "BriefError",
    "Example",
    "GroupEntry",
    "Count",
    "ListSize",
    "Rename",
    "Cancellation",
    "BriefFacts",
    "gather",
    "period_months",
    "rank_among",
    "registration_of",
]

Period = Literal["list", "month", "quarter", "year"]

# How many example products a brief names per group: the groups readers follow get three.
_EXAMPLES_LEADING: Final = 3
_EXAMPLES_OTHER: Final = 2
_TOP_PROVINCES: Final = 5
_RENAME = re.compile(r"原主体名称[“\"]([^”\"]+)[”\"]变更为[“\"]([^”\"]+)[”\"]")


@dataclass(frozen=True, slots=True)
class Example:
    """One filing shown as an example: its product and what it is used for."""

    filing_number: str
    name: str
    entity: str
    entity_en: str
    product: str  # the first 应用产品, else the algorithm's name
    purpose: str


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """A big-tech group or a foreign company present in the subject."""

    key: str
    zh: str
    en: str
    count: int
    entities: tuple[str, ...]
    examples: tuple[Example, ...]
    leading: bool = False
    country: str | None = None  # foreign companies: home country (English)


@dataclass(frozen=True, slots=True)
class Count:
    """A labelled count (a role, a 算法类别, a registration type, a province)."""

    key: str
    zh: str
    en: str
    count: int


@dataclass(frozen=True, slots=True)
class ListSize:
    list_month: str
    rows: int
    rank: int  # among every list of the series now (1 = largest; ties share)
    subject: bool  # this list is (one of) the brief's subject


@dataclass(frozen=True, slots=True)
class Rename:
    filing_number: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Cancellation:
    filing_number: str
    name: str
    entity: str


@dataclass(frozen=True, slots=True)
class SourceLink:
    list_month: str
    name: str
    title: str
    page_url: str
    attachment_url: str
    published_on: str | None  # the date of the page it was found on
    # When CAC first published it and on what that rests (announced | first_seen).
    first_published_on: str | None = None
    published_basis: str | None = None


@dataclass(frozen=True, slots=True)
class BriefFacts:
    kind: str
    period: str
    month: str  # the month asked for (YYYY-MM)
    first_month: str
    last_month: str
    sources: tuple[SourceLink, ...]  # the subject's lists, with CAC's page and attachment
    size: int  # rows of the subject's lists (one list: its size)
    filings: int  # distinct filings in those rows
    new: int  # of which first listed in the subject (never seen in an earlier list)
    breakdown: tuple[Count, ...]  # roles / 算法类别 / filed, registered, on-device
    provinces: tuple[Count, ...]
    # Rank of the list (period "list" only): among every list of the series now, and among the
    # lists up to and including it ("so far": as the press saw it when it was published).
    rank: int | None
    of: int
    rank_so_far: int | None
    of_so_far: int
    largest_before: ListSize | None  # the largest list before it (a ranked list's context)
    earlier: tuple[ListSize, ...]  # the lists before the subject, oldest first
    series: tuple[ListSize, ...]  # every list of the series (the chart)
    big_tech: tuple[GroupEntry, ...]
    foreign: tuple[GroupEntry, ...]
    cancellations: tuple[Cancellation, ...]
    renames: tuple[Rename, ...]
    totals: SeriesTotals  # up to the subject's last month
    stated: StatedTotals | None  # GenAI: CAC's stated totals for the list, when stored

    def digest(self) -> str:
        """A stable hash of every fact: the version a rendered brief is cached under."""
        blob = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def rank_among(size: int, sizes: Iterable[int]) -> int:
    """1 + the number of lists strictly larger: ties share a rank (as the findings rank)."""
    return 1 + sum(1 for other in sizes if other > size)


# --- breakdowns --------------------------------------------------------------------------------

_ROLES: Final = {"provider": ("服务提供者", "service providers"), "technical_supporter": ("服务技术支持者", "technical supporters")}
_REGISTRATIONS: Final = {
    "filed": ("备案（国家网信办）", "filed with the national office"),
    "registered": ("登记（地方网信办）", "registered by a provincial office"),
    "on_device": ("其中端侧服务", "of them on-device"),
}


def registration_of(record: dict[str, Any]) -> str:
    """GenAI: the stored ``registration``, else the form of the number (a 上线编号 ends in S + 4
    digits): filings stored before the GenAI parser set the field still count."""
    value = record.get("registration")
    return stored_registration_of(value if isinstance(value, str) else None, str(record.get("filing_number") or ""))


def _breakdown(kind: str, records: Sequence[dict[str, Any]]) -> tuple[Count, ...]:
    if kind == "deep_synthesis":
        counts = Counter(str(r.get("role") or "") for r in records)
        order = [k for k in _ROLES if counts.get(k)] + sorted(k for k in counts if k not in _ROLES and k)
        return tuple(Count(k, *_ROLES.get(k, (k, k)), counts[k]) for k in order)
    if kind == "algorithm_recommendation":
        counts = Counter(str(r.get("category") or "") for r in records if r.get("category"))
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return tuple(Count(k, k, translate_term(k), c) for k, c in ordered)
    if kind == "genai_service":
        counts = Counter(registration_of(r) for r in records)
        out = [Count(k, *_REGISTRATIONS[k], counts[k]) for k in ("filed", "registered") if counts.get(k)]
        # On-device (端侧) services: filed services with a 适用场景 (as the GenAI posts count them).
        on_device = sum(1 for r in records if registration_of(r) == "filed" and str(r.get("scenario") or "").strip())
        if on_device:
            out.append(Count("on_device", *_REGISTRATIONS["on_device"], on_device))
        return tuple(out)
    return ()


def _provinces(records: Sequence[dict[str, Any]]) -> tuple[Count, ...]:
    counts = Counter(str(r.get("province") or "") for r in records if r.get("province"))
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:_TOP_PROVINCES]
    return tuple(Count(p, p, province_en(p) or p, c) for p, c in ordered)


# --- who filed ---------------------------------------------------------------------------------


def _example(record: dict[str, Any]) -> Example:
    products = [str(p) for p in (record.get("products") or []) if str(p).strip()]
    entity = str(record.get("entity") or "")
    return Example(
        filing_number=str(record["filing_number"]),
        name=str(record.get("name") or ""),
        entity=entity,
        entity_en=english_name(entity) or entity,
        product=products[0] if products else str(record.get("name") or ""),
        purpose=str(record.get("purpose") or ""),
    )


def _examples(records: Sequence[dict[str, Any]], limit: int) -> tuple[Example, ...]:
    """The examples a reader would pick: a service provider's product with a stated purpose,
    products used in most apps first (the flagship), one per product, in list order otherwise."""
    candidates = [(i, r) for i, r in enumerate(records) if r.get("products") or str(r.get("name") or "").strip()]
    # GenAI lists state no purpose: their examples are the services' names alone.
    candidates.sort(key=lambda item: (not str(item[1].get("purpose") or "").strip(),
                                      item[1].get("role") == "technical_supporter", not item[1].get("products"),
                                      -len(item[1].get("products") or []), item[0]))
    picked: list[Example] = []
    seen: set[str] = set()
    for _, record in candidates:
        example = _example(record)
        if example.product in seen:
            continue
        seen.add(example.product)
        picked.append(example)
        if len(picked) == limit:
            break
    return tuple(picked)


def _big_tech(records: Sequence[dict[str, Any]]) -> tuple[GroupEntry, ...]:
    members: dict[str, list[dict[str, Any]]] = {}
    groups = {}
    for record in records:
        group = big_tech_group(str(record.get("entity") or ""))
        if group is None:
            continue
        groups[group.key] = group
        members.setdefault(group.key, []).append(record)
    keys = sorted(groups, key=lambda k: reading_order(groups[k], len(members[k])))  # as the big-tech finding
    return tuple(
        GroupEntry(
            key=k, zh=groups[k].zh, en=groups[k].en, count=len(members[k]),
            entities=tuple(dict.fromkeys(str(r["entity"]) for r in members[k])),
            examples=_examples(members[k], _EXAMPLES_LEADING if groups[k].leading else _EXAMPLES_OTHER),
            leading=groups[k].leading,
        )
        for k in keys
    )


def _foreign(records: Sequence[dict[str, Any]]) -> tuple[GroupEntry, ...]:
    members: dict[str, list[dict[str, Any]]] = {}
    filers = {}
    for record in records:
        filer = foreign_filer(str(record.get("entity") or ""))
        if filer is None:
            continue
        filers[filer.key] = filer
        members.setdefault(filer.key, []).append(record)
    keys = sorted(filers, key=lambda k: (-len(members[k]), filers[k].en))
    return tuple(
        GroupEntry(
            key=k, zh=filers[k].zh, en=filers[k].en, count=len(members[k]),
            entities=tuple(dict.fromkeys(str(r["entity"]) for r in members[k])),
            examples=_examples(members[k], _EXAMPLES_LEADING), country=filers[k].country,
        )
        for k in keys
    )


def _renames(records: Sequence[dict[str, Any]], recorded: Sequence[Any]) -> tuple[Rename, ...]:
    """Renames stated in 备注 (原主体名称“X”变更为“Y”) and those a re-issue made (history)."""
    out: dict[tuple[str, str, str], Rename] = {}
    for record in records:
        for before, after in _RENAME.findall(str(record.get("remark") or "")):
            key = (str(record["filing_number"]), before.strip(), after.strip())
            out.setdefault(key, Rename(*key))
    for change in recorded:
        key = (change.filing_number, change.before, change.after)
        if not any(k[0] == key[0] and k[2] == key[2] for k in out):
            out.setdefault(key, Rename(*key))
    return tuple(out.values())


# --- gathering ---------------------------------------------------------------------------------


def gather(session: Session, kind: str, month: str, period: str = "list") -> BriefFacts:
    """The facts of the brief of ``kind``'s list named for ``month`` (or of the period holding it)."""
    if kind not in KINDS:
        raise BriefError(f"kind: expected one of {', '.join(KINDS)}, got {kind[:40]!r}")
    first, last = period_months(period, month)
    repo = BriefRepository(session)
    series = repo.series(kind)
    subject: list[SeriesList]
    if period == "list":
        subject = [s for s in series if s.list_month == month][:1]
        if not subject:
            raise BriefError(f"no {kind} list named for {month}")
    else:
        subject = [s for s in series if first <= s.list_month <= last]
        if not subject:
            raise BriefError(f"no {kind} list named for a month from {first} to {last}")
    ids = {s.id for s in subject}

    records: dict[str, dict[str, Any]] = {}
    for item in subject:
        for record in repo.list_filings(item.id, item.version_id, kind):
            records.setdefault(record["filing_number"], record)
    rows = list(records.values())
    new = sum(1 for r in rows if first <= str(r.get("list_month") or "") <= last)

    all_sizes = [s.rows for s in series]
    sizes = tuple(ListSize(s.list_month, s.rows, rank_among(s.rows, all_sizes), s.id in ids) for s in series)
    start = min(s.list_month for s in subject)
    earlier = tuple(size for size in sizes if size.list_month < start)
    rank = rank_so_far = largest_before = None
    of_so_far = 0
    if period == "list":
        this = subject[0]
        others = [s.rows for s in series if s.id != this.id]
        rank = rank_among(this.rows, others)
        so_far = [s.rows for s in series if s.id != this.id and s.list_month <= this.list_month]
        rank_so_far, of_so_far = rank_among(this.rows, so_far), len(so_far) + 1
        if earlier:
            largest_before = max(earlier, key=lambda s: (s.rows, s.list_month))
    stated = repo.stated_totals(subject[-1].id) if kind == "genai_service" else None
    return BriefFacts(
        kind=kind, period=period, month=month, first_month=first, last_month=last,
        sources=tuple(SourceLink(s.list_month, s.name, s.title, s.page_url, s.attachment_url, s.published_on,
                                 s.first_published_on, s.published_basis)
                      for s in subject),
        size=sum(s.rows for s in subject), filings=len(rows), new=new,
        breakdown=_breakdown(kind, rows), provinces=_provinces(rows),
        rank=rank, of=len(series), rank_so_far=rank_so_far, of_so_far=of_so_far, largest_before=largest_before,
        earlier=earlier, series=sizes,
        big_tech=_big_tech(rows), foreign=_foreign(rows),
        cancellations=tuple(Cancellation(str(r["filing_number"]), str(r.get("name") or ""), str(r.get("entity") or ""))
                            for r in rows if r.get("status") == "cancelled"),
        renames=_renames(rows, repo.history_renames(kind, list(records))),
        totals=repo.totals_up_to(kind, last), stated=stated,
    )
