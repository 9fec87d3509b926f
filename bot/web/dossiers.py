"""Filer pages across renames and company-group dossiers (pages and XLSX/PDF downloads).

- ``/entities/{entity}``: the filer that used that name (current or former): every name it used
  and when, its filings in the three series, cancellations and a timeline.
- ``/groups``: the company groups and foreign companies, with their filings;
  ``/groups/{key}``: one group's filers (with English names), filings per series over time,
  latest filings, cancellations and renames; ``/groups/{key}/dossier.xlsx|pdf`` and
  ``/entities/{entity}/dossier.xlsx|pdf`` the documents ``cacwatch dossier`` writes.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from bot.changes.companies import BIG_TECH, FOREIGN, ForeignFiler
from bot.briefs.dossier import Company, Dossier, DossierError, company_by_key, group_dossier, group_title, per_series, write_pdf, write_xlsx
from bot.web.api import _NOT_FOUND, _ERRORS, iso
from bot.web.http import etag_response
from bot.web.models import EntityFilingModel, FilerNameModel, TimelineModel
from bot.web.insights import bar_chart
from bot.web.params import check_known, clean_text
from bot.web.render import KIND_ORDER, chart_svg, render
from bot.web.state import WebState, indexed, web_state
from storage.corpus import FilerIdentity, FilerPage

__all__ = ["router", "api_router", "entity_context"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(indexed)])
api_router = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(indexed)])

_HTML = "text/html; charset=utf-8"
_SHOWN = 100
_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _company(key: str) -> Company:
    clean_text("key", key)
    company = company_by_key(key)
    if company is None:
        raise LookupError(f"no company group {key[:40]!r}")
    return company


def _document(request: Request, dossier: Dossier, fmt: str, filename: str) -> Response:
    if fmt not in _TYPES:
        raise LookupError(f"no dossier format {fmt[:20]!r} (xlsx or pdf)")
    out = io.BytesIO()
    try:
        (write_xlsx if fmt == "xlsx" else write_pdf)(dossier, out)
    except DossierError as err:
        raise LookupError(str(err)) from err
    disposition = f'attachment; filename="{filename}.{fmt}"'
    return etag_response(request, out.getvalue(), _TYPES[fmt], headers={"Content-Disposition": disposition})


def _entities(state: WebState, company: Company) -> list[str]:
    """The names listed now for a company: one scan per data stamp for every group."""
    return state.cached("company_entities", state.corpus.company_entity_map).get(company.en, [])


def entity_context(page: FilerPage) -> dict[str, Any]:
    return {
        # The newest _SHOWN of each kind (a large filer has thousands): the rest is one search away.
        "by_kind": [(k, page.newest[k], sum(n for _, n in page.per_series[k])) for k in KIND_ORDER if k in page.newest],
        "count": page.count,
        "cancelled": page.cancelled,
        "timeline": page.timeline,
        "chart": chart_svg(page.per_series),
    }


def _filer(request: Request, entity: str) -> tuple[str, FilerIdentity | None]:
    """The filer asked for by any name it used: (its current name, its identity or None)."""
    check_known(request.query_params.keys(), ())
    clean_text("entity", entity)
    identity = web_state(request).corpus.filer_identity(entity)
    return (identity.name if identity else entity), identity


def _no_filer(entity: str) -> LookupError:
    return LookupError(f"no filer named {entity[:80]}")  # 404: no filer ever used that name


# Before the page: a filer name may hold "/" (the path converter), so the longer route goes first.
@router.get("/entities/{entity:path}/dossier.{fmt}")
def entity_dossier(request: Request, entity: str, fmt: str) -> Response:
    current, _ = _filer(request, entity)
    records = web_state(request).corpus.filer_records([current])
    if not records.filings:
        raise _no_filer(entity)
    dossier = Dossier(current, "filer", None, records)
    return _document(request, dossier, fmt, "cacwatch-filer-dossier")


@router.get("/entities/{entity:path}")
def entity_page(request: Request, entity: str) -> Response:
    current, identity = _filer(request, entity)
    corpus = web_state(request).corpus
    page = corpus.filer_page([current], newest=_SHOWN)
    if not page.count:
        raise _no_filer(entity)
    names = page.english  # every name of the filer, the current one included
    body = render(
        "entity.html",
        request_path=request.url.path,
        title=current,
        entity=current,
        asked=entity,
        identity=identity,
        names=names,
        **entity_context(page),
    )
    return etag_response(request, body, _HTML)


@router.get("/groups")
def groups_page(request: Request) -> Response:
    check_known(request.query_params.keys(), ())
    state = web_state(request)
    counts = state.cached("company_counts", state.corpus.company_counts)

    def rows(companies: list[Any]) -> list[dict[str, Any]]:
        found = [{"company": c, "by_kind": counts.get(c.en, {}), "filings": sum(counts.get(c.en, {}).values())} for c in companies]
        return sorted(found, key=lambda r: (-r["filings"], r["company"].en))

    body = render(
        "groups.html", request_path=request.url.path, title="公司集团 Company groups", groups=rows(list(BIG_TECH)), foreign=rows(list(FOREIGN))
    )
    return etag_response(request, body, _HTML)


@router.get("/groups/{key}")
def group_page(request: Request, key: str) -> Response:
    check_known(request.query_params.keys(), ())
    company = _company(key)
    state = web_state(request)
    # Not kept in WebState: the answer cache keeps the page.
    page = state.corpus.filer_page(_entities(state, company), newest=0, latest=20, changes=False)
    filers = [(f, sum(page.listed.get(n.name, 0) for n in {n.name: n for n in f.names}.values())) for f in page.filers]
    body = render(
        "group.html",
        request_path=request.url.path,
        title=group_title(company),
        group=company,
        foreign=isinstance(company, ForeignFiler),
        filers=sorted(filers, key=lambda item: (-item[1], item[0].name)),
        latest=page.latest,
        names=page.english,
        renames=[e for e in page.timeline if e.event == "renamed"],
        series_bars=bar_chart([(_series_label(k), "", sum(n for _, n in page.per_series[k])) for k in KIND_ORDER if k in page.per_series]),
        **entity_context(page),
    )
    return etag_response(request, body, _HTML)


def _series_label(kind: str) -> str:
    from bot.web.labels import KIND_LABELS

    return KIND_LABELS.get(kind, (kind, kind))[0]


@router.get("/groups/{key}/dossier.{fmt}")
def group_dossier_download(request: Request, key: str, fmt: str) -> Response:
    check_known(request.query_params.keys(), ())
    company = _company(key)
    state = web_state(request)
    dossier = group_dossier(state.corpus, company, _entities(state, company))
    return _document(request, dossier, fmt, f"cacwatch-dossier-{company.key}")


# --- JSON API -----------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupModel(_Model):
    key: str
    type: Literal["group", "foreign"]
    zh: str
    en: str
    country: str | None  # foreign companies: the home country
    filings: int  # listed now
    by_kind: dict[str, int]


class GroupsModel(_Model):
    items: list[GroupModel]


class GroupFilerModel(_Model):
    entity: str  # current name
    entity_en: str
    filer_ids: list[str]
    names: list[FilerNameModel]


class GroupDetailModel(_Model):
    group: GroupModel
    filers: list[GroupFilerModel]
    filings: list[EntityFilingModel]  # every filing of its filers, under every name
    timeline: list[TimelineModel]


def _group_fields(company: Company, counts: dict[str, int]) -> dict[str, Any]:
    foreign = isinstance(company, ForeignFiler)
    return {
        "key": company.key,
        "type": "foreign" if foreign else "group",
        "zh": company.zh,
        "en": company.en,
        "country": company.country if isinstance(company, ForeignFiler) else None,
        "filings": sum(counts.values()),
        "by_kind": {k: counts[k] for k in KIND_ORDER if k in counts},
    }


@api_router.get("/groups", response_model=None, responses={200: {"model": GroupsModel}, **_ERRORS})
def get_groups(request: Request, type: Literal["group", "foreign"] | None = None) -> Response:
    """The company groups and foreign companies cacwatch knows (`type` narrows to one of the
    two), with the filings listed now of the filers it assigns to each (0: no filing on record)."""
    check_known(request.query_params.keys(), ("type",))
    state = web_state(request)
    counts = state.cached("company_counts", state.corpus.company_counts)
    companies: list[Company] = [*(BIG_TECH if type != "foreign" else ()), *(FOREIGN if type != "group" else ())]
    model = GroupsModel.model_validate({"items": [_group_fields(c, counts.get(c.en, {})) for c in companies]})
    return etag_response(request, model.model_dump_json().encode("utf-8"), "application/json")


@api_router.get("/groups/{key}", response_model=None, responses={200: {"model": GroupDetailModel}, **_NOT_FOUND})
def get_group(request: Request, key: Annotated[str, Path(pattern="^[a-z0-9_]{1,40}$")]) -> Response:
    """One company group's (or foreign company's) dossier: its filers with every name each used,
    their filings in the three series, and the timeline (lists, renames, cancellations)."""
    check_known(request.query_params.keys(), ())
    company = _company(key)
    state = web_state(request)
    records = group_dossier(state.corpus, company, _entities(state, company)).records
    counts: dict[str, int] = {}
    for record, present in records.filings:
        if present:
            counts[record["kind"]] = counts.get(record["kind"], 0) + 1
    model = GroupDetailModel.model_validate(
        {
            "group": _group_fields(company, counts),
            "filers": [
                {
                    "entity": f.name,
                    "entity_en": records.english.get(f.name, ("", None))[0],
                    "filer_ids": list(f.ids),
                    "names": [{**asdict(n), "renamed_at": iso(n.renamed_at), "evidence": list(n.evidence)} for n in f.names],
                }
                for f in records.filers
            ],
            "filings": [{**record, "present": present} for record, present in records.filings],
            "timeline": [{**asdict(e), "at": iso(e.at)} for e in records.timeline],
        }
    )
    return etag_response(request, model.model_dump_json().encode("utf-8"), "application/json")
