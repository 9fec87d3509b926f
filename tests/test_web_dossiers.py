"""Filer pages across renames, company-group dossiers and insights, on the served replica.

The replica is ingested, one filer renamed by a re-issue (tests/dossier_site.py), and served by
`cacwatch serve` on SQLite and PostgreSQL. Every number the app shows is checked against counts
derived here from `cacwatch export` (and the resolver for groups), never against the app itself;
then a person with Chromium opens the insights page, a group page and downloads the documents.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest

from bot.changes.companies import big_tech_group, foreign_filer
from dossier_site import NEW_NAME, OLD_NAME, RENAMED_NUMBER, renamed_replica
from web_helpers import ROOT, Site, filer_names_from_export


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from conftest import fresh_postgres_schema

    tmp = tmp_path_factory.mktemp(f"dossiers-{request.param}")
    if request.param == "sqlite":
        with renamed_replica(f"sqlite:///{tmp / 'web.db'}", tmp) as found:
            yield found
        return
    with fresh_postgres_schema() as url, renamed_replica(url, tmp) as found:
        yield found


def _cli(site: Site, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(site.config), *args], capture_output=True, cwd=ROOT, env=env, timeout=300
    )


_filers_from_export = filer_names_from_export


# --- a filer across its rename ------------------------------------------------------------------


def test_the_renamed_filer_is_one_filer_with_both_names(site: Site) -> None:
    renamed = next(r for r in site.records if r["filing_number"] == RENAMED_NUMBER and r["kind"] == "algorithm_recommendation")
    assert renamed["entity"] == NEW_NAME
    expected_names = _filers_from_export(site.records)[NEW_NAME]
    assert {OLD_NAME, NEW_NAME} <= expected_names
    expected = sorted((r["kind"], r["filing_number"]) for r in site.records if r["entity"] in expected_names)
    for asked in (OLD_NAME, NEW_NAME):
        detail = site.json(f"/api/v1/entities/{quote(asked)}")
        assert detail["entity"] == NEW_NAME
        names = {n["name"]: n for n in detail["names"]}
        assert set(names) == expected_names
        assert names[OLD_NAME]["renamed_to"] == NEW_NAME and names[NEW_NAME]["current"]
        assert detail["filer_ids"] == ["2242366"]
        got = sorted((f["kind"], f["filing_number"]) for f in detail["filings"] if f["present"])
        assert got == expected
        assert {f["kind"] for f in detail["filings"]} == {r[0] for r in expected}
        assert any(e["event"] == "renamed" and e["detail"] == f"{OLD_NAME} → {NEW_NAME}" for e in detail["timeline"])
        page = site.get(f"/entities/{quote(asked)}")
        assert page.status_code == 200
        assert OLD_NAME in page.text and NEW_NAME in page.text and "Timeline" in page.text


def test_searching_the_old_name_finds_the_filer(site: Site) -> None:
    found = site.all_filings(q="三快科技")
    assert any(r["entity"] == NEW_NAME for r in found)
    entities = site.json("/api/v1/entities", q="三快科技")["items"]
    assert NEW_NAME in {e["entity"] for e in entities}
    page = site.get("/search", q=OLD_NAME)
    assert page.status_code == 200 and NEW_NAME in page.text


# --- insights agree with the export -------------------------------------------------------------


def test_stats_agree_with_the_export(site: Site) -> None:
    stats = site.json("/api/v1/stats")
    records = site.records
    by_kind = {s["kind"]: s for s in stats["series"]}
    assert set(by_kind) == {r["kind"] for r in records}
    for kind, series in by_kind.items():
        mine = [r for r in records if r["kind"] == kind]
        assert series["filings"] == len(mine)
        assert series["cancelled"] == sum(1 for r in mine if r["status"] == "cancelled")
        for field, dimension in (("province", "by_province"), ("role", "by_role"), ("category", "by_category"), ("registration", "by_registration")):
            expected = Counter(r[field] for r in mine if r[field])
            assert {e["value"]: e["filings"] for e in series[dimension]} == dict(expected), (kind, dimension)
        months = Counter(r["list_month"] for r in mine)
        assert {e["list_month"]: e["filings"] for e in series["by_month"]} == dict(months)
        lists = site.json("/api/v1/lists", kind=kind)["items"]
        sizes = {item["list_month"]: item["rows"] for item in lists if item["rank"] is not None}
        assert {e["list_month"]: e["rows"] for e in series["lists"]} == sizes
        for entry in series["lists"]:
            assert entry["rank"] == 1 + sum(1 for size in sizes.values() if size > entry["rows"])
    # Groups and foreign companies: the resolver's assignment of each exported filer.
    groups: Counter[str] = Counter()
    foreign: Counter[str] = Counter()
    for record in records:
        if (group := big_tech_group(record["entity"])) is not None:
            groups[group.key] += 1
        elif (parent := foreign_filer(record["entity"])) is not None:
            foreign[parent.key] += 1
    assert {g["key"]: g["filings"] for g in stats["groups"]} == dict(groups)
    assert {f["key"]: f["filings"] for f in stats["foreign"]} == dict(foreign)
    # Top filers: a filer's names counted together.
    filers = _filers_from_export(records)
    per_filer = Counter(frozenset(filers[r["entity"]]) for r in records)
    top = stats["top_filers"]
    assert [t["filings"] for t in top] == sorted(per_filer.values(), reverse=True)[: len(top)]
    renamed = next(t for t in top if t["entity"] == NEW_NAME)
    assert renamed["filings"] == per_filer[frozenset(filers[NEW_NAME])] and renamed["names"] >= 2


def test_stats_narrow_to_a_list_month_and_answer_304(site: Site) -> None:
    month = "2023-08"
    stats = site.json("/api/v1/stats", kind="deep_synthesis", list_month=month)
    mine = [r for r in site.records if r["kind"] == "deep_synthesis" and r["list_month"] == month]
    assert [s["filings"] for s in stats["series"]] == [len(mine)]
    assert site.get("/api/v1/stats", list_month="1999-01").status_code == 404
    assert site.get("/api/v1/stats", kind="nope").status_code == 400
    assert site.get("/api/v1/stats", extra="1").status_code == 400
    first = site.get("/api/v1/stats")
    again = site.client.get("/api/v1/stats", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_insights_page_and_csv_show_the_same_numbers(site: Site) -> None:
    stats = site.json("/api/v1/stats")
    page = site.get("/insights")
    assert page.status_code == 200 and "<script" not in page.text
    for series in stats["series"]:
        assert re.search(rf'id="total-{series["kind"]}">.*?<p class="big">{series["filings"]}</p>', page.text, re.S)
    assert page.text.count("<svg") >= 5
    rows = list(csv.DictReader(io.StringIO(site.get("/insights.csv").content.decode("utf-8-sig"))))
    totals = {r["kind"]: int(r["filings"]) for r in rows if r["section"] == "total"}
    assert totals == {s["kind"]: s["filings"] for s in stats["series"]}
    provinces = {(r["kind"], r["value"]): int(r["filings"]) for r in rows if r["section"] == "province"}
    assert provinces == {(s["kind"], e["value"]): e["filings"] for s in stats["series"] for e in s["by_province"]}


# --- groups and dossiers --------------------------------------------------------------------------


def test_group_page_lists_every_filer_and_name(site: Site) -> None:
    page = site.get("/groups/meituan")
    assert page.status_code == 200
    assert OLD_NAME in page.text and NEW_NAME in page.text and "Meituan" in page.text
    expected_names = _filers_from_export(site.records)[OLD_NAME]
    count = sum(1 for r in site.records if r["entity"] in expected_names or big_tech_group(r["entity"]) is not None
                and big_tech_group(r["entity"]).key == "meituan")  # type: ignore[union-attr]
    assert re.search(rf"{count} 项备案 filings", page.text)
    assert site.get("/groups/tesla").status_code == 200 and "Tesla: no filing on record" in site.get("/groups/tesla").text
    assert site.get("/groups/nope").status_code == 404
    listing = site.get("/groups")
    assert listing.status_code == 200 and "/groups/bytedance" in listing.text


def _xlsx_values(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_dossier_cli_writes_both_names_and_says_what_it_cannot(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "meituan.xlsx"
    result = _cli(site, "dossier", "美团", "--format", "xlsx", "--output", str(out))
    assert result.returncode == 0, result.stderr.decode()[-1000:]
    sheets = _xlsx_values(out.read_bytes())
    names_used = {row[2] for row in sheets["filers"][1:]}
    assert {OLD_NAME, NEW_NAME} <= names_used
    numbers = {row[2] for row in sheets["filings"][1:]}
    assert RENAMED_NUMBER in numbers
    # A filer by its old name, as a PDF with Chinese text in it.
    pdf = tmp_path / "filer.pdf"
    result = _cli(site, "dossier", OLD_NAME, "--format", "pdf", "--output", str(pdf))
    assert result.returncode == 0, result.stderr.decode()[-1000:]
    text = _pdf_text(pdf.read_bytes())
    assert NEW_NAME in text and OLD_NAME in text
    # A known company with no filing, and an unknown name.
    result = _cli(site, "dossier", "Tesla", "--format", "xlsx", "--output", str(tmp_path / "t.xlsx"))
    assert result.returncode == 0 and result.stdout.decode().strip() == "Tesla: no filing on record"
    result = _cli(site, "dossier", "Bytedanse", "--format", "xlsx", "--output", str(tmp_path / "u.xlsx"))
    assert result.returncode == 1
    line = result.stderr.decode().strip()
    assert "\n" not in line and "ByteDance" in line


def _pdf_text(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in pdf.pages))


def test_dossier_downloads_neutralise_formulas(site: Site) -> None:
    response = site.get("/groups/meituan/dossier.xlsx")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    pdf = site.get(f"/entities/{quote(NEW_NAME)}/dossier.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert OLD_NAME in _pdf_text(pdf.content)
    assert site.get("/groups/meituan/dossier.doc").status_code == 404


# --- a person with Chromium -----------------------------------------------------------------------


def test_insights_group_and_downloads_in_a_browser(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from test_web_browser import ARGS, CHROMIUM, Watched

    stats = site.json("/api/v1/stats")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="zh-CN")
            watched = Watched(context.new_page())
            page = watched.page
            page.goto(site.url + "/insights")
            assert page.locator("h1").inner_text().startswith("数据洞察")
            big = [int(t) for t in page.locator(".total .big").all_inner_texts()]
            assert big == [s["filings"] for s in stats["series"]]
            assert page.locator("section.insight svg").count() >= 5
            assert page.locator("#top-filers svg rect").count() == len(stats["top_filers"])
            # Narrow to one series with the form (a GET, no script).
            page.select_option("select[name=kind]", "genai_service")
            page.locator("form.filters button").click()
            assert "kind=genai_service" in page.url
            assert page.locator(".total").count() == 1
            with page.expect_download() as info:
                page.locator("a", has_text="CSV").first.click()
            assert info.value.suggested_filename == "cacwatch-insights.csv"
            rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
            assert {r["kind"] for r in rows if r["section"] == "total"} == {"genai_service"}

            # From the insights page to a group, then its dossier.
            page.goto(site.url + "/insights")
            page.locator("#groups a", has_text="Meituan").click()
            assert page.locator("h1").inner_text().startswith("美团")
            filers = page.locator("#filers").inner_text()
            assert NEW_NAME in filers and OLD_NAME in filers
            with page.expect_download() as info:
                page.locator("a", has_text="Dossier XLSX").click()
            sheets = _xlsx_values(Path(info.value.path()).read_bytes())
            assert {OLD_NAME, NEW_NAME} <= {row[2] for row in sheets["filers"][1:]}
            with page.expect_download() as info:
                page.locator("a", has_text="PDF").first.click()
            assert Path(info.value.path()).read_bytes().startswith(b"%PDF")

            # The filer page by its old name.
            page.goto(site.url + f"/entities/{quote(OLD_NAME)}")
            assert page.locator("h1").inner_text() == NEW_NAME
            assert page.locator("#names tbody tr").count() >= 2
            page.screenshot(path=str(tmp_path / "web-filer.png"))
            assert watched.unexpected() == []
        finally:
            browser.close()


def test_groups_api_agrees_with_the_export(site: Site) -> None:
    items = {g["key"]: g for g in site.json("/api/v1/groups")["items"]}
    counts: Counter[str] = Counter()
    for record in site.records:
        company = big_tech_group(record["entity"]) or foreign_filer(record["entity"])
        if company is not None:
            counts[company.key] += 1
    assert {k: g["filings"] for k, g in items.items() if g["filings"]} == dict(counts)
    assert items["tesla"]["filings"] == 0 and items["tesla"]["type"] == "foreign" and items["tesla"]["country"]
    detail = site.json("/api/v1/groups/meituan")
    assert detail["group"]["en"] == "Meituan"
    names = {n["name"] for f in detail["filers"] for n in f["names"]}
    assert {OLD_NAME, NEW_NAME} <= names
    assert RENAMED_NUMBER in {f["filing_number"] for f in detail["filings"]}
    assert site.get("/api/v1/groups/nope").status_code == 404
    assert site.get("/api/v1/groups/Bad%20Key").status_code == 400
    foreign = site.json("/api/v1/groups", type="foreign")["items"]
    assert foreign and {g["type"] for g in foreign} == {"foreign"} and len(foreign) < len(items)


def test_every_group_dossier_downloads(site: Site) -> None:
    """Every group with filings (one of them holds a number with a PDF line-break marker)."""
    for group in site.json("/api/v1/groups")["items"]:
        if group["filings"]:
            for fmt in ("xlsx", "pdf"):
                response = site.get(f"/groups/{group['key']}/dossier.{fmt}")
                assert response.status_code == 200, (group["key"], fmt, response.text[:300])


def test_page_summaries_agree_with_every_record(site: Site) -> None:
    """What the filer and group pages show is computed by the database (storage.filer_page):
    the same numbers, rows and timeline as every record read (filer_records, which the JSON API
    and the dossier documents use), also where only the newest few are read."""
    import yaml

    from bot.briefs.dossier import per_series
    from storage.corpus import Corpus
    from storage.db import Database

    db = Database(yaml.safe_load(site.config.read_text(encoding="utf-8"))["database"]["url"], create=False)
    try:
        corpus = Corpus(db)
        groups = corpus.company_entity_map()
        filers = sorted({r["entity"] for r in site.records}, key=lambda e: -sum(1 for r in site.records if r["entity"] == e))
        cases = [*groups.values(), *([name] for name in filers[:5]), [OLD_NAME], ["no such filer"]]
        for names in cases:
            for newest, latest in ((100, 20), (2, 3), (1, 1)):
                page, records = corpus.filer_page(names, newest=newest, latest=latest), corpus.filer_records(names)
                assert page.filers == records.filers
                assert page.count == len(records.filings)
                assert page.per_series == per_series(records)
                by_kind: dict[str, list[tuple[dict[str, Any], bool]]] = {}
                for item in records.filings:
                    by_kind.setdefault(item[0]["kind"], []).append(item)
                assert page.newest == {k: sorted(v, key=lambda i: i[0]["list_month"], reverse=True)[:newest] for k, v in by_kind.items()}
                ordered = sorted(records.filings, key=lambda i: (i[0]["list_month"], i[0]["kind"], i[0]["filing_number"]), reverse=True)
                assert page.latest == ordered[:latest]
                assert page.cancelled == [r for r, _ in records.filings if r["status"] == "cancelled"]
                listed = Counter(r["entity"] for r, present in records.filings if present)
                assert page.listed == dict(listed)
                assert page.timeline == records.timeline
                assert page.english == records.english
    finally:
        db.dispose()
