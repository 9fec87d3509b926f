"""Insights: the numbers behind every list, as a page (SVG charts beside their tables), a CSV
and ``GET /api/v1/stats`` — one computation (``storage.insights_repo``) for all three.

Per series (and narrowed to one list month when asked): list sizes and ranks, filings first
listed per list month and how many of them are cancelled, filings by province, role, 算法类别 and
registration type, the top filers (every name a filer used counted as one), the company groups
and the foreign companies. Kept per data stamp (``WebState.cached``), so only the first request
after an ingest runs the aggregates.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from bot.changes.companies import BIG_TECH, FOREIGN, translate_term
from bot.changes.export import safe_cell
from bot.changes.vocabulary import ROLE_LABELS
from bot.web.api import MONTH_PATTERN, KindParam, _NOT_FOUND
from bot.web.http import etag_response
from bot.web.labels import KIND_LABELS, KIND_ORDER, province_english
from bot.web.params import check_known, parse_kind
from bot.web.render import chart_svg, render
from bot.web.state import WebState, indexed, web_state
from storage.corpus import Corpus
from storage.insights_repo import Insights

__all__ = ["api_router", "page_router", "stats_data", "value_english", "bar_chart", "csv_rows", "StatsModel"]

api_router = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(indexed)])
page_router = APIRouter(include_in_schema=False, dependencies=[Depends(indexed)])

_CUBE_LOCK = threading.Lock()
_REGISTRATION = {"filed": ("备案", "filed"), "registered": ("登记", "registered")}
_ROLE = ROLE_LABELS
_DIMENSIONS = ("by_province", "by_role", "by_category", "by_registration")
_DIMENSION_LABELS = {
    "by_province": ("属地", "province"),
    "by_role": ("角色", "role"),
    "by_category": ("算法类别", "algorithm category"),
    "by_registration": ("备案/登记", "registration type"),
}


def value_english(dimension: str, value: str) -> str:
    """The English shown beside a breakdown's value (北京市 → Beijing, filed → filed …)."""
    if dimension == "by_registration":
        return _REGISTRATION.get(value, (value, value))[1]
    if dimension == "by_role":
        return _ROLE.get(value, (value, value))[1]
    if dimension == "by_province":
        return province_english(value) or translate_term(value)
    return translate_term(value)


def value_chinese(dimension: str, value: str) -> str:
    if dimension == "by_registration":
        return _REGISTRATION.get(value, (value, value))[0]
    if dimension == "by_role":
        return _ROLE.get(value, (value, value))[0]
    return value


# --- the data (one dict for the API, the page and the CSV) -------------------------------------


def _counted(counts: dict[str, int]) -> dict[str, Any]:
    return {"filings": sum(counts.values()), "by_kind": {k: counts[k] for k in KIND_ORDER if k in counts}}


def stats_data(found: Insights) -> dict[str, Any]:
    """What /api/v1/stats answers (StatsModel), from the aggregates."""
    series = []
    kinds = [k for k in KIND_ORDER if k in found.totals or any(s.kind == k for s in found.lists)]
    for kind in kinds:
        totals = found.totals.get(kind, {"filings": 0, "cancelled": 0})
        entry: dict[str, Any] = {
            "kind": kind,
            "label_zh": KIND_LABELS[kind][0],
            "label_en": KIND_LABELS[kind][1],
            "filings": totals["filings"],
            "cancelled": totals["cancelled"],
            "lists": [
                {"list_month": s.list_month, "name": s.name, "rows": s.rows, "rank": s.rank, "of": s.of}
                for s in found.lists if s.kind == kind
            ],
            "by_month": [
                {"list_month": month, "filings": count, "cancelled": cancelled}
                for month, count, cancelled in found.by_month.get(kind, [])
            ],
        }
        for dimension in _DIMENSIONS:
            entry[dimension] = [
                {"value": value, "label_en": value_english(dimension, value), "filings": count}
                for value, count in getattr(found, dimension).get(kind, [])
            ]
        series.append(entry)
    groups = [
        {"key": g.key, "zh": g.zh, "en": g.en, **_counted(found.companies[g.en])} for g in BIG_TECH if g.en in found.companies
    ]
    foreign = [
        {"key": f.key, "zh": f.zh, "en": f.en, "country": f.country, **_counted(found.companies[f.en])}
        for f in FOREIGN if f.en in found.companies
    ]
    groups.sort(key=lambda g: (-g["filings"], g["en"]))
    foreign.sort(key=lambda f: (-f["filings"], f["en"]))
    return {
        "kind": found.kind,
        "list_month": found.list_month,
        "series": series,
        "top_filers": [
            {"entity": f.name, "names": f.names, "filings": f.filings, "by_kind": f.by_kind} for f in found.top_filers
        ],
        "groups": groups,
        "foreign": foreign,
    }


def _stats(request: Request, kind: str | None, list_month: str | None) -> dict[str, Any]:
    state = web_state(request)
    corpus: Corpus = state.corpus
    if list_month is not None:
        months = {(s["kind"], entry["list_month"]) for s in _stats(request, None, None)["series"] for entry in s["lists"]}
        if not any(month == list_month and (kind is None or k == kind) for k, month in months):
            raise LookupError(f"no {kind or ''} list of {list_month}".replace("  ", " "))
    # Keyed by the filters, which are a kind and an existing list month: a bounded set.
    with _CUBE_LOCK:  # concurrent first requests after an ingest wait for one computation
        cube = state.cached("insights:cube", corpus.insights_cube)
    return state.cached(f"insights:{kind}:{list_month}", lambda: stats_data(corpus.insights(kind=kind, list_month=list_month, cube=cube)))


# --- JSON API -----------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListSizeModel(_Model):
    list_month: str
    name: str
    rows: int
    rank: int
    of: int


class MonthCountModel(_Model):
    list_month: str
    filings: int
    cancelled: int


class ValueCountModel(_Model):
    value: str
    label_en: str
    filings: int


class SeriesStatsModel(_Model):
    kind: str
    label_zh: str
    label_en: str
    filings: int
    cancelled: int
    lists: list[ListSizeModel]
    by_month: list[MonthCountModel]
    by_province: list[ValueCountModel]
    by_role: list[ValueCountModel]
    by_category: list[ValueCountModel]
    by_registration: list[ValueCountModel]


class FilerCountModel(_Model):
    entity: str
    names: int
    filings: int
    by_kind: dict[str, int]


class GroupCountModel(_Model):
    key: str
    zh: str
    en: str
    filings: int
    by_kind: dict[str, int]


class ForeignCountModel(GroupCountModel):
    country: str


class StatsModel(_Model):
    kind: str | None
    list_month: str | None
    series: list[SeriesStatsModel]
    top_filers: list[FilerCountModel]
    groups: list[GroupCountModel]
    foreign: list[ForeignCountModel]


@api_router.get("/stats", response_model=None, responses={200: {"model": StatsModel}, **_NOT_FOUND})
def get_stats(
    request: Request,
    kind: KindParam | None = None,
    list_month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
) -> Response:
    """The numbers behind the lists, of the filings listed now: per series its lists' sizes and
    ranks, filings first listed per list month (and of them cancelled), filings by province,
    role, 算法类别 and registration type; the top filers (a filer's names counted together), the
    company groups and the foreign companies. `kind` and `list_month` (a month with a list:
    the filings first listed in it; 404 otherwise) narrow the filings counted."""
    check_known(request.query_params.keys(), ("kind", "list_month"))
    data = StatsModel.model_validate(_stats(request, kind, list_month))
    return etag_response(request, data.model_dump_json().encode("utf-8"), "application/json")


# --- page and CSV -------------------------------------------------------------------------------


def bar_chart(rows: list[tuple[str, str, int]], *, width: int = 560, bar: int = 18, label: int = 190) -> dict[str, Any]:
    """Geometry of a horizontal bar chart: (label, English, count) rows, longest bar = count max."""
    peak = max((count for _, _, count in rows), default=0) or 1
    span = width - label - 60
    bars = [
        {"y": 6 + i * (bar + 6), "w": max(1.0, round(span * count / peak, 1)) if count else 0, "label": text, "en": en, "count": count}
        for i, (text, en, count) in enumerate(rows)
    ]
    return {"width": width, "height": 12 + len(rows) * (bar + 6), "bar": bar, "label": label, "bars": bars}


def _filters(request: Request) -> tuple[str | None, str | None]:
    check_known(request.query_params.keys(), ("kind", "list_month"))
    kind = parse_kind(request.query_params.get("kind") or None)
    list_month = request.query_params.get("list_month") or None
    if list_month is not None and (len(list_month) != 7 or not list_month[:4].isdigit() or list_month[4] != "-"):
        from bot.web.params import ParamError

        raise ParamError("list_month: expected YYYY-MM")
    return kind, list_month


def _sections(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every chart of the page: a title, rows (label, English, count) and its series."""
    sections: list[dict[str, Any]] = []
    for series in data["series"]:
        kind = series["kind"]
        for dimension in _DIMENSIONS:
            rows = [(value_chinese(dimension, r["value"]), r["label_en"], r["filings"]) for r in series[dimension]]
            if rows:
                zh, en = _DIMENSION_LABELS[dimension]
                sections.append({"id": f"{kind}-{dimension}", "kind": kind, "zh": zh, "en": en, "chart": bar_chart(rows[:25]), "rows": rows})
        cancelled = [(r["list_month"], "", r["cancelled"]) for r in series["by_month"] if r["cancelled"]]
        if cancelled:
            sections.append({"id": f"{kind}-cancelled", "kind": kind, "zh": "已注销（按首次列入月份）", "en": "cancelled, by first list",
                             "chart": bar_chart(cancelled[-25:], label=80), "rows": cancelled})
    return sections


@page_router.get("/insights")
def insights_page(request: Request) -> Response:
    kind, list_month = _filters(request)
    state: WebState = web_state(request)
    data = _stats(request, kind, list_month)
    everything = _stats(request, None, None)
    sizes = {s["kind"]: [(entry["list_month"], entry["rows"]) for entry in s["lists"]] for s in data["series"]}
    top = [(f["entity"], f"{f['names']} names" if f["names"] > 1 else "", f["filings"]) for f in data["top_filers"]]
    groups = [(g["zh"], g["en"], g["filings"]) for g in data["groups"]]
    foreign = [(f["zh"], f"{f['en']} ({f['country']})", f["filings"]) for f in data["foreign"]]
    query = "&".join(f"{name}={value}" for name, value in (("kind", kind), ("list_month", list_month)) if value)
    body = render(
        "insights.html",
        request_path=request.url.path,
        title="数据洞察 Insights",
        data=data,
        kind=kind,
        list_month=list_month,
        months=sorted({m["list_month"] for s in everything["series"] for m in s["lists"]}, reverse=True),
        sizes=chart_svg(sizes),
        sections=_sections(data),
        top=bar_chart(top), top_rows=data["top_filers"],
        groups=bar_chart(groups), foreign=bar_chart(foreign),
        query=query,
        base=state.base_url(request),
    )
    return etag_response(request, body, "text/html; charset=utf-8")


def csv_rows(data: dict[str, Any]) -> Iterator[list[Any]]:
    """The page's tables as one long CSV: section, kind, value, English, count (and rank, of)."""
    yield ["section", "kind", "value", "value_en", "filings", "cancelled", "rank", "of"]
    for series in data["series"]:
        kind = series["kind"]
        yield ["total", kind, "", "", series["filings"], series["cancelled"], "", ""]
        for entry in series["lists"]:
            yield ["list_size", kind, entry["list_month"], entry["name"], entry["rows"], "", entry["rank"], entry["of"]]
        for entry in series["by_month"]:
            yield ["first_listed", kind, entry["list_month"], "", entry["filings"], entry["cancelled"], "", ""]
        for dimension in _DIMENSIONS:
            for entry in series[dimension]:
                yield [dimension.removeprefix("by_"), kind, entry["value"], entry["label_en"], entry["filings"], "", "", ""]
    for rank, filer in enumerate(data["top_filers"], start=1):
        yield ["top_filer", "", filer["entity"], "", filer["filings"], "", rank, ""]
    for section in ("groups", "foreign"):
        for entry in data[section]:
            for kind, count in entry["by_kind"].items():
                yield [section.removesuffix("s"), kind, entry["zh"], entry["en"], count, "", "", ""]


@page_router.get("/insights.csv")
def insights_csv(request: Request) -> Response:
    kind, list_month = _filters(request)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in csv_rows(_stats(request, kind, list_month)):
        writer.writerow([safe_cell(cell) if isinstance(cell, str) else cell for cell in row])
    disposition = 'attachment; filename="cacwatch-insights.csv"'
    return etag_response(request, out.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", headers={"Content-Disposition": disposition})

