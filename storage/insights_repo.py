"""The numbers behind every list (``/insights``, ``GET /api/v1/stats``): aggregates in SQL.

Every count is of the filings listed now (``present``), as the export has them, grouped in the
database (GROUP BY), so the answer costs a few indexed scans however many filings there are;
the web side keeps it per data stamp. ``kind`` and ``list_month`` narrow the filings counted (a
list month: the filings first listed in that month's list); list sizes and ranks always cover
every list of the series.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.filer_identity import fold_name
from storage.models import Filing, FilingList, ListVersion
from storage.models_identity import FilerName
from storage.models_search import FilingSearch

__all__ = ["ListSize", "FilerCount", "Insights", "insights"]


@dataclass(frozen=True, slots=True)
class ListSize:
    kind: str
    list_month: str
    name: str
    rows: int
    rank: int  # by size among the series' lists (1 = largest)
    of: int


@dataclass(frozen=True, slots=True)
class FilerCount:
    name: str  # the filer's current name
    names: int  # how many names it used
    filings: int
    by_kind: dict[str, int]


@dataclass(frozen=True, slots=True)
class Insights:
    kind: str | None
    list_month: str | None
    lists: list[ListSize]  # oldest first
    totals: dict[str, dict[str, int]]  # kind → filings, cancelled
    by_month: dict[str, list[tuple[str, int, int]]]  # kind → (list month, first listed, of them cancelled)
    by_province: dict[str, list[tuple[str, int]]]  # kind → (value, filings), most first
    by_role: dict[str, list[tuple[str, int]]]
    by_category: dict[str, list[tuple[str, int]]]
    by_registration: dict[str, list[tuple[str, int]]]
    top_filers: list[FilerCount]
    companies: dict[str, dict[str, int]]  # company (English, as indexed) → kind → filings


def _filtered(stmt: Any, kind: str | None, list_month: str | None) -> Any:
    stmt = stmt.where(Filing.present.is_(True))
    if kind is not None:
        stmt = stmt.where(Filing.kind == kind)
    if list_month is not None:
        stmt = stmt.where(Filing.list_month == list_month)
    return stmt


def _breakdown(session: Session, column: Any, kind: str | None, list_month: str | None) -> dict[str, list[tuple[str, int]]]:
    stmt = _filtered(select(Filing.kind, column, func.count(Filing.id)), kind, list_month).where(column.is_not(None))
    grouped: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row_kind, value, count in session.execute(stmt.group_by(Filing.kind, column)):
        if value != "":
            grouped[row_kind].append((str(value), int(count)))
    return {k: sorted(v, key=lambda item: (-item[1], item[0])) for k, v in grouped.items()}


def _list_sizes(session: Session, kind: str | None) -> list[ListSize]:
    stmt = (
        select(FilingList.kind, FilingList.list_month, FilingList.name, ListVersion.row_count)
        .join(ListVersion, ListVersion.id == FilingList.current_version_id)
        .where(FilingList.is_cancellation.is_(False))
        .order_by(FilingList.list_month, FilingList.id)
    )
    if kind is not None:
        stmt = stmt.where(FilingList.kind == kind)
    rows = [(k, m, n, int(r)) for k, m, n, r in session.execute(stmt)]
    sizes: dict[str, list[int]] = defaultdict(list)
    for k, _, _, r in rows:
        sizes[k].append(r)
    return [ListSize(k, m, n, r, 1 + sum(1 for s in sizes[k] if s > r), len(sizes[k])) for k, m, n, r in rows]


def insights(session: Session, *, kind: str | None = None, list_month: str | None = None, top: int = 20) -> Insights:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"filings": 0, "cancelled": 0})
    by_month: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    stmt = _filtered(select(Filing.kind, Filing.list_month, Filing.status, func.count(Filing.id)), kind, list_month)
    for row_kind, month, status, count in session.execute(stmt.group_by(Filing.kind, Filing.list_month, Filing.status)):
        totals[row_kind]["filings"] += count
        by_month[row_kind][month][0] += count
        if status == "cancelled":
            totals[row_kind]["cancelled"] += count
            by_month[row_kind][month][1] += count

    # Filers: counted per filer (every name it used), named by its current name.
    per_entity = _filtered(select(Filing.entity, Filing.kind, func.count(Filing.id)), kind, list_month)
    entity_counts = session.execute(per_entity.group_by(Filing.entity, Filing.kind)).all()
    folded = {fold_name(entity) for entity, _, _ in entity_counts}
    keys: dict[str, str] = {}
    wanted = sorted(folded)
    for start in range(0, len(wanted), 500):
        for name_folded, key in session.execute(
            select(FilerName.folded, FilerName.filer_key).where(FilerName.folded.in_(wanted[start : start + 500]))
        ):
            keys[name_folded] = key
    filers: dict[str, dict[str, Any]] = {}
    for entity, row_kind, count in entity_counts:
        key = keys.get(fold_name(entity), "name:" + fold_name(entity))
        entry = filers.setdefault(key, {"filings": 0, "by_kind": defaultdict(int), "names": set(), "entity": entity})
        entry["filings"] += count
        entry["by_kind"][row_kind] += count
        entry["names"].add(entity)
    current: dict[str, tuple[str, int]] = {}
    ranked = sorted(filers.items(), key=lambda item: (-item[1]["filings"], item[1]["entity"]))[:top]
    top_keys = [key for key, _ in ranked]
    for start in range(0, len(top_keys), 500):
        rows = session.execute(
            select(FilerName.filer_key, FilerName.name, FilerName.current).where(FilerName.filer_key.in_(top_keys[start : start + 500]))
        )
        for key, name, is_current in rows:
            name_now, count = current.get(key, ("", 0))
            current[key] = (name if is_current else name_now, count + 1)
    top_filers = [
        FilerCount(current.get(key, ("", 0))[0] or entry["entity"], max(current.get(key, ("", 0))[1], len(entry["names"])),
                   entry["filings"], dict(entry["by_kind"]))
        for key, entry in ranked
    ]

    companies: dict[str, dict[str, int]] = defaultdict(dict)
    company_stmt = _filtered(
        select(FilingSearch.company, Filing.kind, func.count(Filing.id)).join(FilingSearch, FilingSearch.filing_id == Filing.id),
        kind,
        list_month,
    ).where(FilingSearch.company.is_not(None))
    for company, row_kind, count in session.execute(company_stmt.group_by(FilingSearch.company, Filing.kind)):
        companies[company][row_kind] = int(count)

    return Insights(
        kind=kind,
        list_month=list_month,
        lists=_list_sizes(session, kind),
        totals={k: dict(v) for k, v in totals.items()},
        by_month={k: [(m, c[0], c[1]) for m, c in sorted(months.items())] for k, months in by_month.items()},
        by_province=_breakdown(session, Filing.province, kind, list_month),
        by_role=_breakdown(session, Filing.role, kind, list_month),
        by_category=_breakdown(session, Filing.category, kind, list_month),
        by_registration=_breakdown(session, Filing.registration, kind, list_month),
        top_filers=top_filers,
        companies=dict(companies),
    )
