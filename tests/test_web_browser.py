"""A person with a real browser (headless Chromium from the OS, driven by Playwright).

Opens the overview, types into the search box, follows a result to the filing page, downloads
the CSV of the result, looks at a list and a filer, and on a phone-sized screen: asserts what
is on screen and that the console stayed clean (no errors, no CSP violations, no failed
requests). Screenshots go to the test's directory; with CACWATCH_WRITE_SCREENSHOTS=1 they are
also written to docs/ (docs/web-*.png).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from web_helpers import ROOT, Site
except ImportError:  # pragma: no cover
    from tests.web_helpers import ROOT, Site

CHROMIUM = os.environ.get("CACWATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Watched:
    """A page whose console errors, page errors and failed requests are recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def unexpected(self) -> list[str]:
        # Aborted is not failed: a link that becomes a download ends its navigation as
        # "aborted", and so does a subresource (the icon) still loading when a click navigates on.
        return [p for p in self.problems if not (p.startswith("request failed: ") and p.endswith("net::ERR_ABORTED"))]


def _shot(page: Page, tmp_path: Path, name: str, site: Site) -> None:
    path = tmp_path / f"web-{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 5000
    if os.environ.get("CACWATCH_WRITE_SCREENSHOTS") == "1" and "sqlite" in str(site.config):
        shutil.copy(path, ROOT / "docs" / path.name)


def test_search_follow_and_download_as_a_person_would(web_site: Site, browser: Browser, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="zh-CN")
    watched = Watched(context.new_page())
    page = watched.page

    page.goto(web_site.url + "/")
    assert page.locator("h1").inner_text().startswith("算法备案清单")
    assert page.locator(".chart svg polyline").count() == 3  # one line per kind
    latest = page.locator("ul.latest li")
    assert latest.count() == 3 and "rank" in latest.first.inner_text()
    totals = page.locator(".total .big").all_inner_texts()
    assert sum(int(t) for t in totals) == len(web_site.records)
    _shot(page, tmp_path, "overview", web_site)

    page.locator("#q").fill("ByteDance")
    page.locator("#q").press("Enter")
    page.wait_for_url("**/search?q=ByteDance")
    expected = web_site.all_filings(q="ByteDance")
    assert page.locator("#total").inner_text() == str(len(expected))
    results = page.locator("ol.results li.result")
    assert results.count() == min(50, len(expected))
    assert "北京抖音信息服务有限公司" in results.first.inner_text()
    _shot(page, tmp_path, "search", web_site)

    with page.expect_download() as download_info:
        page.locator("#download-csv").click()
    download = download_info.value
    assert download.suggested_filename == "cacwatch-filings.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert [(r["kind"], r["filing_number"]) for r in rows] == [(r["kind"], r["filing_number"]) for r in expected]

    first = expected[0]
    results.first.locator("a.title").click()
    page.wait_for_url("**/filings/**")
    assert page.locator("h1").inner_text() == first["name"]
    from bot.changes.companies import english_name

    assert page.locator("#entity-en").inner_text() == english_name(first["entity"])
    assert first["filing_number"] in page.locator("dl.fields").inner_text()
    provenance = page.locator("table.provenance tbody tr")
    assert provenance.count() >= 1 and len(provenance.first.locator("code.sha").inner_text()) == 64
    _shot(page, tmp_path, "filing", web_site)

    page.locator("table.provenance a").first.click()
    page.wait_for_url("**/lists/**")
    assert "rank" in page.locator(".lead").inner_text()
    assert page.locator("table tbody tr").count() > 10
    _shot(page, tmp_path, "list", web_site)

    page.goto(web_site.url + "/entities/" + "北京抖音信息服务有限公司")
    assert page.locator("h1").inner_text() == "北京抖音信息服务有限公司"
    assert page.locator("section.kind h2").count() == 3  # filings of all three kinds
    _shot(page, tmp_path, "entity", web_site)

    assert watched.unexpected() == []
    context.close()


def test_filters_and_paging_without_javascript(web_site: Site, browser: Browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(web_site.url + "/search")
    page.locator("form.filters select[name=kind]").select_option("deep_synthesis")
    page.locator("form.filters select[name=province]").select_option("北京市")
    page.locator("form.filters button").click()
    page.wait_for_url("**kind=deep_synthesis**")
    expected = [r for r in web_site.records if r["kind"] == "deep_synthesis" and r["province"] == "北京市"]
    assert page.locator("#total").inner_text() == str(len(expected))
    seen: list[str] = []
    while True:
        seen += page.locator("ol.results a.title").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        following = page.locator("a[rel=next]")
        if following.count() == 0:
            break
        following.click()
    assert len(seen) == len(set(seen)) == len(expected)
    assert watched.unexpected() == []
    context.close()


def test_company_group_filter_and_english_labels_without_javascript(web_site: Site, browser: Browser) -> None:
    """The search form's company-group filter narrows to the resolver's filers of that group;
    roles and 算法类别 are offered (and shown) in English too; a Latin word is a whole word."""
    from bot.changes.resolver import company_of

    context = browser.new_context(java_script_enabled=False)
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(web_site.url + "/search")
    assert "service provider" in page.locator("form.filters select[name=role]").inner_text()
    page.locator("form.filters select[name=group]").select_option("bytedance")
    page.locator("form.filters button").click()
    page.wait_for_url("**group=bytedance**")
    expected = [r for r in web_site.records if getattr(company_of(r["entity"]), "key", None) == "bytedance"]
    assert expected and page.locator("#total").inner_text() == str(len(expected))
    page.goto(web_site.url + "/search?q=Tesla")
    assert page.locator("#total").inner_text() == "0"
    assert "Tesla: no filing on record" in page.locator("p.no-filing").inner_text()
    assert watched.unexpected() == []
    context.close()


def test_readable_on_a_phone(web_site: Site, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    watched = Watched(context.new_page())
    page = watched.page
    first: dict[str, Any] = web_site.records[0]
    for path in ["/", "/search?q=抖音", f"/filings/{first['kind']}/{first['filing_number']}", f"/lists/{first['kind']}/{first['list_month']}"]:
        page.goto(web_site.url + path)
        page.wait_for_load_state("networkidle")  # the icon too, before the next page aborts it
        # Wide tables scroll inside their box; the page itself never scrolls sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    assert watched.unexpected() == []
    context.close()


def test_the_original_list_opens_from_the_list_page(web_site: Site, browser: Browser) -> None:
    """The archived copy downloads under the list's own name with the bytes of the current
    version (their sha256 is the version's); the filing page says which 序号 its row has."""
    import hashlib

    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    watched = Watched(context.new_page())
    page = watched.page
    listed = web_site.json("/api/v1/lists/genai_service/2024-08")
    current = next(v for v in listed["list"]["versions"] if v["current"])
    page.goto(web_site.url + "/lists/genai_service/2024-08")
    assert "首次见于页面" in page.locator("#list-date").inner_text()
    with page.expect_download() as download_info:
        page.locator("#archived-file").click()
    download = download_info.value
    assert download.suggested_filename == listed["list"]["name"] + ".docx"
    assert hashlib.sha256(Path(download.path()).read_bytes()).hexdigest() == current["sha256"]

    first = listed["rows"][0]
    page.goto(web_site.url + "/filings/genai_service/" + first["filing_number"])
    row = page.locator("table.provenance tbody tr").first.locator("td.row-label").inner_text()
    assert row.startswith(f"序号 {first['seq']}") and first["seq"] == "118"
    assert watched.unexpected() == []
    context.close()
