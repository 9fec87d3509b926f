"""The numbers behind every list (``/insights``, ``GET /api/v1/stats``): aggregates in SQL.

Every count is of the filings listed now (``present``), as the export has them, grouped in the
database (GROUP BY). ``insights_cube`` reads everything in two grouped scans (filings by kind,
list month, status, province, role, category, registration and company; and by filer, kind and
name) from which every series and list month is summed without SQL; only the top filers of one
list month need an (indexed) query of their own. The web side keeps the cube per data stamp. ``kind`` and ``list_month`` narrow the filings counted (a
list month: the filings first listed in that month's list); list sizes and ranks always cover
every list of the series.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from storage.models import Filing, FilingList, ListVersion
from storage.models_identity import FilerName
from storage.models_search import FilingSearch

__all__ = ["ListSize", "FilerCount", "Insights", "Cube", "insights_cube", "insights"]


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


def _list_sizes(session: Session) -> list[ListSize]:
    stmt = (
        select(FilingList.kind, FilingList.list_month, FilingList.name, ListVersion.row_count)
        .join(ListVersion, ListVersion.id == FilingList.current_version_id)
        .where(FilingList.is_cancellation.is_(False))
        .order_by(FilingList.list_month, FilingList.id)
    )
    rows = [(k, m, n, int(r)) for k, m, n, r in session.execute(stmt)]
    sizes: dict[str, list[int]] = defaultdict(list)
    for k, _, _, r in rows:
        sizes[k].append(r)
    return [ListSize(k, m, n, r, 1 + sum(1 for s in sizes[k] if s > r), len(sizes[k])) for k, m, n, r in rows]


# A filer: its filer_names key (every name it used), or the listed name itself when not (yet) in it.
_FILER = func.coalesce(FilerName.filer_key, literal("name:") + Filing.entity)


@dataclass(frozen=True, slots=True)
class Cube:
    """Grouped counts of the filings listed now, from which every view is summed."""

    lists: list[ListSize]
    # (kind, list_month, status, province, role, category, registration, company) → filings
    cells: list[tuple[str, str, str, str | None, str | None, str | None, str | None, str | None, int]]
    # (filer key, kind, listed name) → filings
    filers: list[tuple[str, str, str, int]]


def _filer_names(session: Session, keys: list[str]) -> dict[str, tuple[str | None, int]]:
    found: dict[str, tuple[str | None, int]] = {}
    for start in range(0, len(keys), 500):
        for key, name, is_current in session.execute(
            select(FilerName.filer_key, FilerName.name, FilerName.current).where(FilerName.filer_key.in_(keys[start : start + 500]))
        ):
            current, used = found.get(key, (None, 0))
            found[key] = (current or (name if is_current else None), used + 1)
    return found


def _filer_rows(session: Session, kind: str | None, list_month: str | None) -> list[tuple[str, str, str, int]]:
    stmt = _filtered(select(_FILER, Filing.kind, Filing.entity, func.count(Filing.id)), kind, list_month)
    stmt = stmt.outerjoin(FilerName, FilerName.name == Filing.entity).group_by(_FILER, Filing.kind, Filing.entity)
    return [(str(key), row_kind, entity, int(count)) for key, row_kind, entity, count in session.execute(stmt)]


def insights_cube(session: Session) -> Cube:
    columns = (Filing.kind, Filing.list_month, Filing.status, Filing.province, Filing.role, Filing.category, Filing.registration, FilingSearch.company)
    stmt = (
        select(*columns, func.count(Filing.id))
        .outerjoin(FilingSearch, FilingSearch.filing_id == Filing.id)
        .where(Filing.present.is_(True))
        .group_by(*columns)
    )
    cells = [(k, m, st, p, r, c, reg, co, int(n)) for k, m, st, p, r, c, reg, co, n in session.execute(stmt)]
    return Cube(_list_sizes(session), cells, _filer_rows(session, None, None))


def _ranked(pairs: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(((v, c) for v, c in pairs.items() if v != ""), key=lambda item: (-item[1], item[0]))


def insights(session: Session, *, kind: str | None = None, list_month: str | None = None, top: int = 20, cube: Cube | None = None) -> Insights:
    """The numbers of one view (all series, one series, one list month): summed from ``cube``
    (read here when not given); one list month's top filers are queried (an indexed scan)."""
    cube = cube or insights_cube(session)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"filings": 0, "cancelled": 0})
    by_month: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    dimensions: dict[str, dict[str, dict[str, int]]] = {d: defaultdict(lambda: defaultdict(int)) for d in ("province", "role", "category", "registration")}
    companies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row_kind, month, status, province, role, category, registration, company, count in cube.cells:
        if (kind is not None and row_kind != kind) or (list_month is not None and month != list_month):
            continue
        totals[row_kind]["filings"] += count
        by_month[row_kind][month][0] += count
        if status == "cancelled":
            totals[row_kind]["cancelled"] += count
            by_month[row_kind][month][1] += count
        for name, value in (("province", province), ("role", role), ("category", category), ("registration", registration)):
            if value is not None:
                dimensions[name][row_kind][value] += count
        if company is not None:
            companies[company][row_kind] += count

    rows = _filer_rows(session, kind, list_month) if list_month is not None else [
        r for r in cube.filers if kind is None or r[1] == kind
    ]
    per_filer: dict[str, int] = defaultdict(int)
    for key, _, _, count in rows:
        per_filer[key] += count
    ranked = sorted(per_filer.items(), key=lambda item: (-item[1], item[0]))[:top]
    wanted = {key for key, _ in ranked}
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    listed: dict[str, set[str]] = defaultdict(set)
    for key, row_kind, entity, count in rows:
        if key in wanted:
            by_kind[key][row_kind] += count
            listed[key].add(entity)
    known = _filer_names(session, [key for key, _ in ranked])
    top_filers = [
        FilerCount(
            known.get(key, (None, 0))[0] or min(listed[key], default=key.removeprefix("name:")),
            max(known.get(key, (None, 0))[1], len(listed[key]), 1),
            count,
            dict(by_kind[key]),
        )
        for key, count in ranked
    ]
    return Insights(
        kind=kind,
        list_month=list_month,
        lists=[s for s in cube.lists if kind is None or s.kind == kind],
        totals={k: dict(v) for k, v in totals.items()},
        by_month={k: [(m, c[0], c[1]) for m, c in sorted(months.items())] for k, months in by_month.items()},
        by_province={k: _ranked(v) for k, v in dimensions["province"].items()},
        by_role={k: _ranked(v) for k, v in dimensions["role"].items()},
        by_category={k: _ranked(v) for k, v in dimensions["category"].items()},
        by_registration={k: _ranked(v) for k, v in dimensions["registration"].items()},
        top_filers=top_filers,
        companies={c: dict(v) for c, v in companies.items()},
    )
