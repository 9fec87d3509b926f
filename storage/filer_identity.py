"""Which names belong to one filer, and what a filer (or a set of filers) filed under them.

A filer is tied together from three kinds of evidence (cac-site.md, "Filing numbers" and "Quirks"):

- the 7 digits after the 6-digit region code of a ``网信算备`` number are the filer's id, stable
  across renames (and region moves): every name listed with numbers carrying one id is one filer
  (GenAI numbers carry none; a GenAI filer joins through its name);
- a remark ``原主体名称“X”变更为“Y”`` (or ``主体名称由X变更为Y``) ties X to Y;
- a re-issue that changed a filing's 主体名称 is in its history (``filing_changes``, ``entity``
  before and after).

``rebuild_filer_names`` derives every name's filer from those and stores it (``filer_names``,
only the rows that differ), returning the names whose filer gained or lost a name, so that the
search text of their filings (which carries the filer's other names: an old name finds the
filer) is rebuilt. It runs with each search-index refresh (after every ingest, at app start) and
in migration 0016, so an upgraded store is filled at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from functools import lru_cache
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import Filing, FilingChange, FilingList, ListVersion
from storage.models_identity import FilerName
from storage.models_search import FilingSearch
from storage.repo import EXPORT_COLUMNS, record_of_row

__all__ = [
    "filer_id",
    "rename_pairs",
    "fold_name",
    "rebuild_filer_names",
    "FilerNameInfo",
    "FilerIdentity",
    "filer_identity",
    "other_names",
    "mark_search_stale",
    "TimelineEntry",
    "FilerRecords",
    "filer_records",
    "FilerPage",
    "filer_page",
    "company_entities",
    "company_counts",
    "company_entity_map",
]

_SPACE = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]+")
_NUMBER = re.compile(r"网信算备(\d{21,23})号")
# The quoted form and the 由…变更为 form; names hold no quotes, and the second form ends at
# punctuation (a remark goes on: "…变更为广州卓瞻科技有限公司，新增产品…").
_QUOTED = re.compile(r"主体名称\s*[“\"「]([^”\"」]+)[”\"」]\s*变更为\s*[“\"「]([^”\"」]+)[”\"」]")
_PLAIN = re.compile(r"主体名称由\s*([^“”\"，,；;。、\s]+?)\s*变更为\s*([^“”\"，,；;。、\s]+)")
_MAX_NAME = 500


@lru_cache(maxsize=65536)
def fold_name(name: str) -> str:
    """How names are compared: NFKC, whitespace and invisible characters removed."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name or ""))[:_MAX_NAME]


def filer_id(filing_number: str) -> str | None:
    """The filer id (EEEEEEE) of a 网信算备 number; None for GenAI numbers and placeholders.

    The 22-digit number CAC once printed keeps region and id in front, so the id is read at the
    same place. All zeros is no id (a placeholder, not something CAC issues).
    """
    # Stored numbers are NFKC without whitespace already; others (a user's) are folded first.
    match = _NUMBER.fullmatch(filing_number) or _NUMBER.fullmatch(fold_name(filing_number))
    if match is None:
        return None
    ident = match.group(1)[6:13]
    return None if ident.strip("0") == "" else ident


def rename_pairs(remark: str | None) -> list[tuple[str, str]]:
    """(old, new) entity names a remark states (原主体名称“X”变更为“Y”), in order."""
    if not remark or "主体名称" not in unicodedata.normalize("NFKC", remark):
        return []
    text = unicodedata.normalize("NFKC", remark)
    pairs = [(m.group(1).strip(), m.group(2).strip()) for m in _QUOTED.finditer(text)]
    pairs += [(m.group(1).strip(), m.group(2).strip()) for m in _PLAIN.finditer(text)]
    return [(old, new) for old, new in pairs if old and new and fold_name(old) != fold_name(new)]


# --- derivation -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Name:
    name: str
    spellings: set[str] = field(default_factory=set)  # every exact spelling listed or quoted
    first_month: str | None = None
    last_month: str | None = None
    filings: int = 0
    renamed_to: str | None = None
    renamed_month: str | None = None
    renamed_at: datetime | None = None
    evidence: set[str] = field(default_factory=set)

    def seen(self, first: str | None, last: str | None) -> None:
        if first and (self.first_month is None or first < self.first_month):
            self.first_month = first
        if last and (self.last_month is None or last > self.last_month):
            self.last_month = last


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _derive(session: Session) -> dict[str, dict[str, Any]]:
    """name (each exact spelling) → the row ``filer_names`` should hold for it."""
    months: dict[int, str] = {row[0]: row[1] for row in session.execute(select(FilingList.id, FilingList.list_month))}
    names: dict[str, _Name] = {}
    links = _Union()

    def name_of(text: str) -> tuple[str, _Name]:
        folded = fold_name(text)
        entry = names.get(folded)
        if entry is None:
            entry = names[folded] = _Name(text.strip())
            links.find(folded)
        entry.spellings.add(text.strip())
        return folded, entry

    def renamed(old: str, new: str, month: str | None, at: datetime | None, evidence: str, first: str | None) -> None:
        old_key, old_entry = name_of(old)
        new_key, new_entry = name_of(new)
        links.union(old_key, new_key)
        old_entry.evidence.add(evidence)
        new_entry.evidence.add(evidence)
        old_entry.seen(first, month)
        # The newest statement wins (a name renamed twice: X → Y, later Y → Z, names Y's successor).
        if old_entry.renamed_month is None or (month or "") >= old_entry.renamed_month:
            old_entry.renamed_to, old_entry.renamed_month = new.strip(), month
        if at is not None and (old_entry.renamed_at is None or at < old_entry.renamed_at):
            old_entry.renamed_at = at

    filing_months: dict[int, str] = {}
    stmt = select(
        Filing.id, Filing.entity, Filing.filing_number, Filing.list_month, Filing.current_list_id, Filing.remark, Filing.present
    )
    for filing_id, entity, number, list_month, current_list, remark, present in session.execute(stmt):
        filing_months[filing_id] = list_month
        if not fold_name(entity):
            continue
        key, entry = name_of(entity)
        last = months.get(current_list) if current_list is not None else None
        if present:
            entry.filings += 1
            entry.seen(list_month, last or list_month)
        ident = filer_id(number)
        if ident is not None:
            links.union(key, "#" + ident)
            entry.evidence.add("number")
        for old, new in rename_pairs(remark):
            renamed(old, new, last or list_month, None, "remark", list_month)
    history = (
        select(FilingChange.filing_id, FilingChange.changes, FilingChange.at, FilingList.list_month)
        .outerjoin(ListVersion, ListVersion.id == FilingChange.version_id)
        .outerjoin(FilingList, FilingList.id == ListVersion.list_id)
        # change_type: a rename is "renamed", or "cancelled" when the same re-issue cancelled it.
        .where(FilingChange.change_type.in_(("renamed", "cancelled")))
        .order_by(FilingChange.at, FilingChange.id)
    )
    for filing_id, changes, at, list_month in session.execute(history):
        pair: Any = (changes or {}).get("entity")
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) and fold_name(v) for v in pair):
            if fold_name(pair[0]) != fold_name(pair[1]):
                renamed(pair[0], pair[1], list_month, at, "history", filing_months.get(filing_id))

    members: dict[str, list[str]] = defaultdict(list)
    ids: dict[str, list[str]] = defaultdict(list)
    for item in links.parent:
        root = links.find(item)
        (ids if item.startswith("#") else members)[root].append(item)
    rows: dict[str, dict[str, Any]] = {}
    for root, folded_names in members.items():
        entries = {f: names[f] for f in folded_names}
        listed = [f for f, e in entries.items() if e.filings > 0]
        candidates = [f for f in listed if entries[f].renamed_to is None] or listed or list(entries)
        current = max(candidates, key=lambda f: (entries[f].last_month or "", entries[f].first_month or "", f))
        key = f"id:{min(ids[root])[1:]}" if ids[root] else f"name:{current}"
        for folded, entry in entries.items():
            for spelling in sorted(entry.spellings):
                if spelling and len(spelling) <= _MAX_NAME:
                    rows[spelling] = {
                        "folded": folded,
                        "name": spelling,
                        "filer_key": key[:520],
                        "first_month": entry.first_month,
                        "last_month": entry.last_month,
                        "filings": entry.filings,
                        "current": folded == current,  # every spelling of the current name
                        "renamed_to": entry.renamed_to,
                        "renamed_month": entry.renamed_month,
                        "renamed_at": entry.renamed_at,
                        "evidence": sorted(entry.evidence),
                    }
    return rows


_COLUMNS = ("name", "folded", "filer_key", "first_month", "last_month", "filings", "current", "renamed_to", "renamed_month", "renamed_at", "evidence")


def rebuild_filer_names(session: Session) -> set[str]:
    """Bring ``filer_names`` up to the filings; returns the names whose filer changed (gained
    or lost a name, or another key): their filings' search text must be rebuilt."""
    wanted = _derive(session)
    stored: dict[str, dict[str, Any]] = {}
    for row in session.execute(select(FilerName.id, *(getattr(FilerName, c) for c in _COLUMNS))):
        stored[row[1]] = {"id": row[0], **dict(zip(_COLUMNS, row[1:]))}

    def groups(keys: dict[str, str]) -> dict[str, frozenset[str]]:
        by_key: dict[str, set[str]] = defaultdict(set)
        for name, key in keys.items():
            by_key[key].add(name)
        return {name: frozenset(by_key[key]) for name, key in keys.items()}

    before = groups({n: r["filer_key"] for n, r in stored.items()})
    after = groups({n: r["filer_key"] for n, r in wanted.items()})
    changed = {n for n in set(before) | set(after) if before.get(n) != after.get(n)}
    gone = [stored[n]["id"] for n in stored if n not in wanted]
    for start in range(0, len(gone), 500):
        session.execute(delete(FilerName).where(FilerName.id.in_(gone[start : start + 500])))
    new_rows = [row for name, row in wanted.items() if name not in stored]
    if new_rows:
        session.execute(insert(FilerName), new_rows)
    updates = [
        {**row, "id": stored[name]["id"]}
        for name, row in wanted.items()
        if name in stored and any(
            (_moment(stored[name][c]) != _moment(row[c])) if c == "renamed_at" else stored[name][c] != row[c] for c in _COLUMNS
        )
    ]
    if updates:
        session.execute(update(FilerName), updates)  # bulk UPDATE by primary key
    return changed


def _moment(value: datetime | None) -> str | None:
    # SQLite hands back naive datetimes (UTC): compare without the zone.
    return None if value is None else value.replace(tzinfo=None).isoformat(timespec="seconds")


def mark_search_stale(session: Session, names: Iterable[str]) -> None:
    """The search text of these filers' filings is rebuilt by the next refresh."""
    wanted = list(dict.fromkeys(names))
    for start in range(0, len(wanted), 500):
        ids = select(Filing.id).where(Filing.entity.in_(wanted[start : start + 500]))
        session.execute(update(FilingSearch).where(FilingSearch.filing_id.in_(ids)).values(describer=""))


def other_names(session: Session) -> dict[str, tuple[str, ...]]:
    """Listed name → the other names of its filer, for filers with more than one name."""
    shared = select(FilerName.filer_key).group_by(FilerName.filer_key).having(func.count(FilerName.id) > 1)
    by_key: dict[str, list[str]] = defaultdict(list)
    for key, name in session.execute(
        select(FilerName.filer_key, FilerName.name).where(FilerName.filer_key.in_(shared)).order_by(FilerName.id)
    ):
        by_key[key].append(name)
    return {name: tuple(n for n in group if n != name) for group in by_key.values() for name in group}


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilerNameInfo:
    name: str
    first_month: str | None
    last_month: str | None
    filings: int
    current: bool
    renamed_to: str | None
    renamed_month: str | None
    renamed_at: datetime | None
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FilerIdentity:
    key: str
    name: str  # the current name
    ids: tuple[str, ...]  # filer ids (EEEEEEE) of its 网信算备 numbers
    names: tuple[FilerNameInfo, ...]  # oldest first


def _info(row: FilerName) -> FilerNameInfo:
    return FilerNameInfo(
        row.name, row.first_month, row.last_month, row.filings, row.current, row.renamed_to, row.renamed_month,
        row.renamed_at, tuple(row.evidence or ()),
    )


def _identities(session: Session, keys: Sequence[str]) -> list[FilerIdentity]:
    rows: dict[str, list[FilerName]] = defaultdict(list)
    for start in range(0, len(keys), 500):
        for row in session.scalars(select(FilerName).where(FilerName.filer_key.in_(keys[start : start + 500]))):
            rows[row.filer_key].append(row)
    out = []
    for key in keys:
        group = sorted(rows.get(key, []), key=lambda r: (r.first_month or "9999", r.renamed_to is None, r.id))
        if not group:
            continue
        current = next((r.name for r in group if r.current), group[-1].name)
        ids = (key[3:],) if key.startswith("id:") else ()
        out.append(FilerIdentity(key, current, ids, tuple(_info(r) for r in group)))
    return out


def filer_identity(session: Session, name: str) -> FilerIdentity | None:
    """The filer that used ``name`` (current or former), with every name it used; None if unknown."""
    key = session.scalar(select(FilerName.filer_key).where(FilerName.folded == fold_name(name)))
    if key is None:
        return None
    found = _identities(session, [key])
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    month: str | None  # list month (YYYY-MM) it belongs to
    at: datetime | None  # when cacwatch saw it (changes)
    event: str  # listed | cancelled | renamed | removed
    kind: str | None
    count: int  # filings (listed, cancelled, removed); 1 for a rename
    detail: str  # a filing number, "X → Y", …


@dataclass(frozen=True, slots=True)
class FilerRecords:
    """What a set of filers filed: filings (export records) with whether each is still listed,
    and the timeline of their lists, cancellations, renames and removals."""

    filers: list[FilerIdentity]
    filings: list[tuple[dict[str, Any], bool]]
    timeline: list[TimelineEntry]
    english: dict[str, tuple[str, str | None]]  # name → (English name, company) as indexed


def _filers_of(session: Session, names: Iterable[str]) -> tuple[list[FilerIdentity], list[str]]:
    """Every filer that used one of ``names``, and every name asked for or used by them."""
    wanted = list(dict.fromkeys(n for n in names if fold_name(n)))
    folded = [fold_name(n) for n in wanted]
    keys: list[str] = []
    for start in range(0, len(folded), 500):
        keys += session.scalars(select(FilerName.filer_key).where(FilerName.folded.in_(folded[start : start + 500])).distinct())
    filers = _identities(session, sorted(set(keys)))
    return filers, list(dict.fromkeys([*wanted, *(info.name for f in filers for info in f.names)]))


def filer_records(session: Session, names: Iterable[str]) -> FilerRecords:
    """Every filer that used one of ``names``, all their names, filings and timeline."""
    filers, all_names = _filers_of(session, names)
    filings: list[tuple[dict[str, Any], bool]] = []
    ids: list[int] = []
    english: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(all_names), 500):
        chunk = all_names[start : start + 500]
        # Columns, not ORM objects: a large group has thousands of filings.
        stmt = (
            select(Filing.id, Filing.present, FilingSearch.entity_en, FilingSearch.company, *EXPORT_COLUMNS)
            .outerjoin(FilingSearch, FilingSearch.filing_id == Filing.id)
            .where(Filing.entity.in_(chunk))
        )
        for filing_id, present, entity_en, company, *columns in session.execute(stmt):
            record = record_of_row(columns)
            filings.append((record, bool(present)))
            ids.append(filing_id)
            if entity_en is not None:
                english[record["entity"]] = (entity_en, company)
    filings.sort(key=lambda item: (item[0]["list_month"], item[0]["kind"], item[0]["filing_number"]))
    return FilerRecords(filers, filings, _timeline(session, filers, filings, ids), english)


def _timeline(
    session: Session, filers: list[FilerIdentity], filings: list[tuple[dict[str, Any], bool]], ids: list[int]
) -> list[TimelineEntry]:
    listed: dict[tuple[str, str], int] = defaultdict(int)
    for record, _ in filings:
        listed[(record["list_month"], record["kind"])] += 1
    entries = [TimelineEntry(month, None, "listed", kind, count, "") for (month, kind), count in listed.items()]
    entries += _renames(filers)
    cancelled = [record for record, _ in filings if record["status"] == "cancelled"]
    entries += _changes(session, [FilingChange.filing_id.in_(ids[start : start + 500]) for start in range(0, len(ids), 500)], cancelled)
    return _in_order(entries)


def _renames(filers: list[FilerIdentity]) -> list[TimelineEntry]:
    return [
        TimelineEntry(info.renamed_month, info.renamed_at, "renamed", None, 1, f"{info.name} → {info.renamed_to}")
        for filer in filers for info in filer.names if info.renamed_to
    ]  # fmt: skip


def _changes(session: Session, conditions: Sequence[Any], cancelled: Sequence[dict[str, Any]]) -> list[TimelineEntry]:
    """Cancellations and removals recorded for the filings each condition selects, and the
    ``cancelled`` filings that were cancelled when first listed (no change recorded)."""
    entries: list[TimelineEntry] = []
    seen_cancelled: set[str] = set()
    for condition in conditions:
        stmt = (
            select(FilingChange.change_type, FilingChange.at, FilingList.list_month, Filing.kind, Filing.filing_number)
            .join(Filing, Filing.id == FilingChange.filing_id)
            .outerjoin(ListVersion, ListVersion.id == FilingChange.version_id)
            .outerjoin(FilingList, FilingList.id == ListVersion.list_id)
            .where(condition, FilingChange.change_type.in_(("cancelled", "removed")))
        )
        for change_type, at, month, kind, number in session.execute(stmt):
            if change_type == "cancelled":
                seen_cancelled.add(number)
            entries.append(TimelineEntry(month, at, change_type, kind, 1, number))
    for record in cancelled:
        if record["filing_number"] not in seen_cancelled:
            entries.append(TimelineEntry(record["list_month"], None, "cancelled", record["kind"], 1, record["filing_number"]))
    return entries


def _in_order(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    order = {"listed": 0, "renamed": 1, "cancelled": 2, "removed": 3}
    return sorted(entries, key=lambda e: (e.month or "", order.get(e.event, 9), e.kind or "", e.detail))


@dataclass(frozen=True, slots=True)
class FilerPage:
    """What a filer's or a group's page shows, computed by the database: a large filer has
    thousands of filings, of which only aggregates and the rows shown are read. The same
    numbers ``filer_records`` gives (tests/test_web_dossiers.py compares the two)."""

    filers: list[FilerIdentity]
    per_series: dict[str, list[tuple[str, int]]]  # kind → (list month, filings first listed), oldest first
    newest: dict[str, list[tuple[dict[str, Any], bool]]]  # kind → its newest filings (list month, then number)
    latest: list[tuple[dict[str, Any], bool]]  # the newest of every kind (list month, kind, number: descending)
    cancelled: list[dict[str, Any]]  # every cancelled filing, oldest first
    listed: dict[str, int]  # name → its filings listed now
    timeline: list[TimelineEntry]
    english: dict[str, tuple[str, str | None]]  # name → (English name, company) as indexed

    @property
    def count(self) -> int:
        """Filings under these names, listed now or not."""
        return sum(n for months in self.per_series.values() for _, n in months)


def filer_page(
    session: Session, names: Iterable[str], *, newest: int = 100, latest: int = 20, changes: bool = True
) -> FilerPage:
    """``filer_records`` for a page: every filer that used one of ``names`` with all its
    names; filings per series and list month and per name listed now; the ``newest`` newest
    filings of each kind and the ``latest`` newest of all; every cancelled filing; the timeline
    (without the cancellations and removals recorded as changes unless ``changes``: a group's
    page shows only its renames).

    Of each filing only its key columns are read (through the index on the filer's name);
    whole records only of the filings shown, by id."""
    filers, all_names = _filers_of(session, names)
    chunks = [all_names[start : start + 500] for start in range(0, len(all_names), 500)]
    keys: list[tuple[str, str, str, int]] = []  # (list month, kind, number, id), in that order
    months: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    listed: dict[str, int] = defaultdict(int)
    cancelled_ids: list[int] = []
    english: dict[str, tuple[str, str | None]] = {}
    for chunk in chunks:
        light = select(Filing.id, Filing.kind, Filing.list_month, Filing.filing_number, Filing.entity, Filing.present, Filing.status)
        for filing_id, kind, month, number, entity, present, status in session.execute(light.where(Filing.entity.in_(chunk))):
            keys.append((month, kind, number, filing_id))
            months[kind][month] += 1
            if present:
                listed[entity] += 1
            if status == "cancelled":
                cancelled_ids.append(filing_id)
        indexed = (
            select(Filing.entity, FilingSearch.entity_en, FilingSearch.company)
            .join(FilingSearch, FilingSearch.filing_id == Filing.id)
            .where(Filing.entity.in_(chunk))
            .distinct()
        )
        for entity, entity_en, company in session.execute(indexed):
            english[entity] = (entity_en, company)
    keys.sort()
    # The newest of a kind: by list month, newest first, then by number (as a stable sort of
    # the records in key order gives them).
    by_kind: dict[str, list[int]] = defaultdict(list)
    for month, kind, number, filing_id in sorted(keys, key=lambda k: k[0], reverse=True):
        if len(by_kind[kind]) < newest:
            by_kind[kind].append(filing_id)
    latest_ids = [filing_id for *_, filing_id in reversed(keys[-latest:])] if latest > 0 else []
    records = _records_by_id(session, {*cancelled_ids, *latest_ids, *(i for ids in by_kind.values() for i in ids)})
    cancelled_set = set(cancelled_ids)
    cancelled = [records[i][0] for *_, i in keys if i in cancelled_set]
    per_series = {kind: sorted(months[kind].items()) for kind in sorted(months)}
    timeline = [TimelineEntry(month, None, "listed", kind, count, "") for kind, points in per_series.items() for month, count in points]
    timeline += _renames(filers)
    if changes:
        ids = [filing_id for *_, filing_id in keys]
        timeline += _changes(session, [FilingChange.filing_id.in_(ids[start : start + 500]) for start in range(0, len(ids), 500)], cancelled)
    return FilerPage(
        filers, per_series, {kind: [records[i] for i in by_kind[kind]] for kind in per_series},
        [records[i] for i in latest_ids], cancelled, dict(listed), _in_order(timeline), english,
    )  # fmt: skip


def _records_by_id(session: Session, ids: Iterable[int]) -> dict[int, tuple[dict[str, Any], bool]]:
    """id → (export record, listed now)."""
    wanted = sorted(ids)
    found: dict[int, tuple[dict[str, Any], bool]] = {}
    for start in range(0, len(wanted), 500):
        stmt = select(Filing.id, Filing.present, *EXPORT_COLUMNS).where(Filing.id.in_(wanted[start : start + 500]))
        for filing_id, present, *columns in session.execute(stmt):
            found[filing_id] = (record_of_row(columns), bool(present))
    return found


def company_entity_map(session: Session) -> dict[str, list[str]]:
    """Company (English name, as indexed) → the names listed now whose filer it is: one scan,
    kept per data stamp by the web side so that a group page needs no scan of its own."""
    stmt = (
        select(FilingSearch.company, Filing.entity)
        .join(Filing, Filing.id == FilingSearch.filing_id)
        .where(FilingSearch.company.is_not(None))
        .distinct()
    )
    found: dict[str, list[str]] = defaultdict(list)
    for company, entity in session.execute(stmt):
        found[str(company)].append(entity)
    return {company: sorted(names) for company, names in found.items()}


def company_entities(session: Session, company: str) -> list[str]:
    """Names listed now whose filer the index assigns to ``company`` (its English name)."""
    stmt = (
        select(Filing.entity)
        .join(FilingSearch, FilingSearch.filing_id == Filing.id)
        .where(FilingSearch.company == company)
        .distinct()
    )
    return sorted(session.scalars(stmt))


def company_counts(session: Session) -> dict[str, dict[str, int]]:
    """Company (English name, as indexed) → kind → filings listed now."""
    stmt = (
        select(FilingSearch.company, Filing.kind, func.count(Filing.id))
        .join(Filing, Filing.id == FilingSearch.filing_id)
        .where(Filing.present.is_(True), FilingSearch.company.is_not(None))
        .group_by(FilingSearch.company, Filing.kind)
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for company, kind, count in session.execute(stmt):
        counts[str(company)][kind] = int(count)
    return dict(counts)
