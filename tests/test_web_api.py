"""`cacwatch serve` as a real process over the ingested replica, on SQLite and PostgreSQL.

Expected answers are derived from `cacwatch export` of the same store (never hard-coded),
so these tests say: the API shows exactly what cacwatch stored, found the documented way.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from web_helpers import Site, filer_names_from_export, norm, record_key
except ImportError:  # pragma: no cover
    from tests.web_helpers import Site, filer_names_from_export, norm, record_key

BYTEDANCE_FILER = "北京抖音信息服务有限公司"


@pytest.fixture(scope="module")
def site(web_site: Site) -> Site:
    return web_site


@functools.cache
def _other_names() -> dict[str, set[str]]:
    """A filer's other names (its search text carries them: an old name finds the filer)."""
    records = [json.loads(line) for line in (Path(__file__).parent / "data" / "expected.jsonl").read_text(encoding="utf-8").splitlines()]
    return filer_names_from_export(records)


def _filer_words(entity: str) -> list[str]:
    from bot.web.search_text import describe_filer

    words = describe_filer(entity)
    return [words.english, words.company or "", *words.words, *(_other_names().get(entity, set()) - {entity})]


def _keys(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [record_key(r) for r in records]


def _searchable(record: dict[str, Any]) -> str:
    return norm("\n".join([record["filing_number"], record["entity"], record["name"], record["purpose"], *record["products"], record["category"] or ""]))


# --- completeness and filters -----------------------------------------------------------------


@pytest.mark.parametrize("limit", [37, 500])
def test_cursor_visits_every_filing_exactly_once_as_export_has_them(site: Site, limit: int) -> None:
    items = site.all_filings(limit=limit)
    assert len(items) == len(set(_keys(items))), "a filing was visited twice"
    by_key = {record_key(r): r for r in items}
    assert by_key == {record_key(r): r for r in site.records}  # the same records, field for field
    assert site.json("/api/v1/filings", limit=1)["total"] == len(site.records)


@pytest.mark.parametrize("name", ["kind", "province", "status", "list_month", "role", "category", "entity"])
def test_each_filter_selects_exactly_the_matching_filings(site: Site, name: str) -> None:
    values = sorted({r[name] for r in site.records if r[name] is not None})
    assert values, name
    for value in values[:4] + values[-2:]:
        expected = sorted(k for k, r in ((record_key(r), r) for r in site.records) if r[name] == value)
        page = site.json("/api/v1/filings", **{name: value, "limit": 500})
        assert page["total"] == len(expected), (name, value)
        assert sorted(_keys(site.all_filings(**{name: value}))) == expected, (name, value)


def test_filters_combine(site: Site) -> None:
    expected = [r for r in site.records if r["kind"] == "deep_synthesis" and r["province"] == "北京市" and r["status"] == "active"]
    got = site.all_filings(kind="deep_synthesis", province="北京市", status="active")
    assert sorted(_keys(got)) == sorted(_keys(expected)) and expected


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["字节跳动", "ByteDance", "bytedance", "ＢＹＴＥＤＡＮＣＥ", "byte dance"])
def test_company_group_in_either_language_finds_its_filers(site: Site, q: str) -> None:
    items = site.all_filings(q=q)
    entities = {r["entity"] for r in items}
    assert BYTEDANCE_FILER in entities
    expected = {record_key(r) for r in site.records if r["entity"] == BYTEDANCE_FILER}
    assert expected <= set(_keys(items))
    # q narrows: every result is a ByteDance filer (the group is what matched), no near misses.
    from bot.changes.companies import big_tech_group

    assert {getattr(big_tech_group(e), "key", None) for e in entities} == {"bytedance"}


def test_chinese_and_english_spellings_of_a_group_both_find_all_its_filings(site: Site) -> None:
    from bot.changes.companies import big_tech_group

    group = {record_key(r) for r in site.records if getattr(big_tech_group(r["entity"]), "key", None) == "tencent"}
    assert group
    for q in ["腾讯", "Tencent", "TENCENT"]:
        assert group <= set(_keys(site.all_filings(q=q))), q


@pytest.mark.parametrize(("words", "key"), [(("字节跳动", "ByteDance", "抖音", "Douyin", "今日头条"), "bytedance"),
                                             (("腾讯", "Tencent", "微信"), "tencent"),
                                             (("阿里巴巴", "Alibaba", "淘宝", "支付宝"), "alibaba")])
def test_the_resolvers_names_and_brands_find_the_group_here_too(site: Site, words: tuple[str, ...], key: str) -> None:
    # The web index holds the words of the one resolver (bot.changes.resolver), so a brand that
    # a watch or /search resolves to its group finds the whole group here as well.
    from bot.changes.resolver import company_of

    group = {record_key(r) for r in site.records if getattr(company_of(r["entity"]), "key", None) == key}
    assert group
    by_key = {record_key(r): r for r in site.records}
    for q in words:
        found = set(_keys(site.all_filings(q=q)))
        assert group <= found, q
        # Beyond the group only text matches ("调用腾讯人脸融合API" in a purpose): the query as written.
        for extra in found - group:
            assert norm(q) in _searchable(by_key[extra]), (q, extra)


def test_english_name_of_the_filer_is_searchable(site: Site) -> None:
    from bot.changes.companies import english_name

    entity = BYTEDANCE_FILER
    english = english_name(entity)
    assert english and english != entity
    items = site.all_filings(q=english.upper())
    assert entity in {r["entity"] for r in items}


@pytest.mark.parametrize(
    "q",
    ["推荐算法", "抖音", "AI", "ai", "个性化推送", "（APP）", "小程序", "北京", "%", "_", '"', "\\", "'", "a_b", "100%", "*", "NEAR"],
)
def test_text_search_matches_exactly_the_filings_containing_the_text(site: Site, q: str) -> None:
    """Chinese substrings of name/filer/products/purpose; symbols are literal, never wildcards."""
    needle = norm(q)
    expected = {
        record_key(r)
        for r in site.records
        if needle in _searchable(r) or any(needle in norm(w) for w in _filer_words(r["entity"]))
    }
    got = site.all_filings(q=q)
    assert set(_keys(got)) == expected, (q, len(got), len(expected))
    assert len(got) == len(expected)


def test_filing_number_in_any_width_and_spacing_ranks_first(site: Site) -> None:
    record = next(r for r in site.records if r["kind"] == "deep_synthesis" and r["filing_number"].startswith("网信算备"))
    number = record["filing_number"]
    digits = number.removeprefix("网信算备").removesuffix("号")
    wide = "网信算备 " + " ".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in digits) + " 号"
    page = site.json("/api/v1/filings", q=wide)
    assert page["items"] and page["items"][0]["filing_number"] == number
    assert {r["filing_number"] for r in page["items"]} == {number}  # a full number is itself only
    assert site.json("/api/v1/filings", q=digits[:10])["total"] >= 1


def test_results_are_ranked_number_then_filer_then_the_rest(site: Site) -> None:
    q = "抖音"
    items = site.all_filings(q=q, limit=50)

    def rank(record: dict[str, Any]) -> int:
        if norm(record["filing_number"]) == norm(q):
            return 0
        return 1 if any(norm(q) in norm(w) for w in [record["entity"], *_filer_words(record["entity"])]) else 2

    ranks = [rank(r) for r in items]
    assert ranks == sorted(ranks)
    assert 1 in ranks and 2 in ranks  # both kinds of match exist for this query


# --- one filing, lists, filers -------------------------------------------------------------------


def test_filing_detail_has_record_history_and_provenance(site: Site) -> None:
    record = site.records[0]
    detail = site.json(f"/api/v1/filings/{record['kind']}/{quote(record['filing_number'])}")
    assert detail["filing"] == record
    assert detail["history"][0]["change_type"] == "created"
    assert detail["lists"] and all(len(h["sha256"]) == 64 and h["attachment_url"].startswith("http") for h in detail["lists"])
    assert any(h["list_month"] == record["list_month"] for h in detail["lists"])
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in record["filing_number"])
    assert site.json(f"/api/v1/filings/{record['kind']}/{quote(wide)}")["filing"] == record


def test_unknown_filing_is_404_json(site: Site) -> None:
    response = site.get("/api/v1/filings/deep_synthesis/%E7%BD%91%E4%BF%A1%E7%AE%97%E5%A4%87000")
    assert response.status_code == 404 and "error" in response.json()


def test_lists_with_rank_and_one_list_with_its_filings(site: Site) -> None:
    lists = site.json("/api/v1/lists")["items"]
    assert len(lists) == 9
    months = {(r["kind"], r["list_month"]) for r in site.records}
    for summary in lists:
        assert summary["rank"] is not None and 1 <= summary["rank"] <= summary["of"]
        assert summary["versions"] and summary["versions"][-1]["current"]
        one = site.json(f"/api/v1/lists/{summary['kind']}/{summary['list_month']}")
        assert len(one["rows"]) == summary["rows"]
        numbers = {r["filing_number"] for r in one["rows"]}
        assert {f["filing_number"] for f in one["filings"]} == numbers
    first_lists = {(s["kind"], s["list_month"]) for s in lists}
    assert months <= first_lists
    sizes = sorted((s["rows"] for s in lists if s["kind"] == "genai_service"), reverse=True)
    largest = next(s for s in lists if s["kind"] == "genai_service" and s["rows"] == sizes[0])
    assert largest["rank"] == 1
    assert site.get("/api/v1/lists/genai_service/1999-01").status_code == 404
    assert len(site.json("/api/v1/lists", kind="genai_service")["items"]) == 3


def test_entities_search_and_one_filer_across_kinds(site: Site) -> None:
    found = site.json("/api/v1/entities", q="ByteDance")["items"]
    assert BYTEDANCE_FILER in {e["entity"] for e in found}
    entry = next(e for e in found if e["entity"] == BYTEDANCE_FILER)
    assert entry["company"] == "ByteDance" and entry["entity_en"]
    expected = [r for r in site.records if r["entity"] == BYTEDANCE_FILER]
    assert entry["filings"] == len(expected)
    detail = site.json(f"/api/v1/entities/{quote(BYTEDANCE_FILER)}")
    assert sorted(_keys(detail["filings"])) == sorted(_keys(expected))
    assert len({f["kind"] for f in detail["filings"]}) == 3
    assert site.get(f"/api/v1/entities/{quote('不存在的公司')}").status_code == 404


# --- HTTP behaviour -------------------------------------------------------------------------------

_GET_URLS = [
    "/api/v1/filings?q=ByteDance",
    "/api/v1/lists",
    "/api/v1/entities?q=tencent",
    "/feeds/lists.atom",
    "/feeds/lists.json",
    "/feeds/filings.atom?q=抖音",
    "/",
    "/search?q=抖音",
    "/openapi.json",
]


@pytest.mark.parametrize("path", _GET_URLS)
def test_etag_and_if_none_match(site: Site, path: str) -> None:
    first = site.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = site.client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert site.client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    assert site.client.get(path, headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/filings?kind=blockchain",
        "/api/v1/filings?limit=0",
        "/api/v1/filings?limit=10000",
        "/api/v1/filings?limit=ten",
        "/api/v1/filings?limit=-1",
        "/api/v1/filings?cursor=broken",
        "/api/v1/filings?cursor=eyJ9.AAAA",
        "/api/v1/filings?q=" + "长" * 201,
        "/api/v1/filings?q=a%00b",
        "/api/v1/filings?status=revoked",
        "/api/v1/filings?role=owner",
        "/api/v1/filings?list_month=2024-13",
        "/api/v1/filings?list_month=May",
        "/api/v1/filings?page=2",
        "/api/v1/filings/blockchain/123",
        "/api/v1/lists?kind=x",
        "/api/v1/lists/deep_synthesis/24-01",
        "/api/v1/entities?limit=0",
        "/feeds/lists.atom?kind=x",
        "/feeds/filings.atom?q=" + "x" * 300,
        "/feeds/filings.atom?status=x",
        "/search?kind=x",
        "/search?cursor=broken",
    ],
)
def test_bad_input_is_a_4xx_with_a_reason(site: Site, path: str) -> None:
    response = site.client.get(path)
    assert response.status_code == 400, (path, response.status_code, response.text[:300])
    if path.startswith(("/api", "/feeds")):
        body = response.json()
        assert set(body) == {"error"} and body["error"] and "\n" not in body["error"]
    else:
        assert "text/html" in response.headers["content-type"]


def test_cursor_of_other_filters_is_refused(site: Site) -> None:
    page = site.json("/api/v1/filings", kind="deep_synthesis", limit=5)
    response = site.get("/api/v1/filings", kind="genai_service", limit=5, cursor=page["next_cursor"])
    assert response.status_code == 400 and "cursor" in response.json()["error"]
    tampered = page["next_cursor"][:-2] + ("AA" if not page["next_cursor"].endswith("AA") else "BB")
    assert site.get("/api/v1/filings", kind="deep_synthesis", limit=5, cursor=tampered).status_code == 400


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/api/v1/filings", "/api/v1/lists", "/feeds/lists.atom", "/", "/search"])
def test_other_methods_are_405(site: Site, method: str, path: str) -> None:
    response = site.client.request(method, path)
    assert response.status_code == 405
    assert "GET" in response.headers.get("allow", "")


def test_head_is_answered_like_get(site: Site) -> None:
    head = site.client.head("/api/v1/lists")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == site.get("/api/v1/lists").headers["etag"]


def test_security_headers_on_every_answer(site: Site) -> None:
    for path in ["/", "/api/v1/lists", "/nope", "/static/style.css"]:
        csp = site.client.get(path).headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp


# --- feeds --------------------------------------------------------------------------------------


# The required parts of JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/); feedparser 6.0
# reads only XML feeds.
JSON_FEED_11 = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string", "format": "uri"},
        "feed_url": {"type": "string", "format": "uri"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "anyOf": [{"required": ["content_text"]}, {"required": ["content_html"]}],
                "properties": {
                    "id": {"type": "string"},
                    "url": {"type": "string"},
                    "title": {"type": "string"},
                    "content_text": {"type": "string"},
                    "date_published": {"type": "string", "format": "date-time"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def test_list_feeds_are_valid_and_newest_first(site: Site) -> None:
    import jsonschema_rs

    lists = site.json("/api/v1/lists")["items"]
    expected_links = {f"/lists/{s['kind']}/{s['list_month']}" for s in lists}
    atom = site.get("/feeds/lists.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(atom.content, response_headers={"content-type": atom.headers["content-type"]})
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and len(parsed.entries) == len(lists)
    stamps = [e.updated_parsed for e in parsed.entries]
    assert stamps == sorted(stamps, reverse=True)
    assert {e.link.removeprefix(site.url) for e in parsed.entries} == expected_links
    for entry in parsed.entries:
        assert site.client.get(entry.link).status_code == 200

    response = site.get("/feeds/lists.json")
    assert response.headers["content-type"].startswith("application/feed+json")
    feed = response.json()
    jsonschema_rs.validate(JSON_FEED_11, feed)
    assert [i["id"] for i in feed["items"]] == [e.id for e in parsed.entries]  # same entries, same order
    assert {i["url"].removeprefix(site.url) for i in feed["items"]} == expected_links

    feed = site.json("/feeds/lists.json", kind="deep_synthesis")
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert {item["_cacwatch"]["kind"] for item in feed["items"]} == {"deep_synthesis"} and len(feed["items"]) == 3
    assert all("rows" in item["content_text"] for item in feed["items"])


def test_saved_search_feed_lists_the_matching_filings(site: Site) -> None:
    response = site.get("/feeds/filings.atom", q="ByteDance", kind="genai_service")
    parsed = feedparser.parse(response.content, response_headers={"content-type": response.headers["content-type"]})
    assert parsed.bozo == 0 and parsed.version == "atom10"
    from bot.changes.companies import big_tech_group

    # The group's filings, whichever of its filers filed them (the feed follows the API's `q`).
    expected = {
        r["filing_number"]
        for r in site.records
        if r["kind"] == "genai_service" and (group := big_tech_group(r["entity"])) is not None and group.key == "bytedance"
    }
    assert BYTEDANCE_FILER in {r["entity"] for r in site.records if r["filing_number"] in expected}
    got = {e.link.rsplit("/", 1)[1] for e in parsed.entries}
    from urllib.parse import unquote

    assert {unquote(n) for n in got} == expected


def test_openapi_document_describes_every_api_path(site: Site) -> None:
    document = site.json("/openapi.json")
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ["/api/v1/filings", "/api/v1/filings/{kind}/{filing_number}", "/api/v1/lists", "/api/v1/lists/{kind}/{list_month}", "/api/v1/entities", "/api/v1/entities/{entity}", "/feeds/lists.atom", "/feeds/lists.json", "/feeds/filings.atom"]:
        assert "get" in paths[path], path
    names = {p["name"] for p in paths["/api/v1/filings"]["get"]["parameters"]}
    assert names == {"q", "kind", "entity", "province", "status", "list_month", "role", "category", "registration", "limit", "cursor"}
    assert "400" in paths["/api/v1/filings"]["get"]["responses"]
    assert json.dumps(document).count('"422"') == 0


def test_english_names_shown_are_cacwatchs(site: Site) -> None:
    """The names stored with the index are bot.changes.companies' (the web process never loads it)."""
    from bot.changes.companies import KIND_NAMES, english_name
    from bot.web.labels import KIND_LABELS

    assert KIND_LABELS == KIND_NAMES
    for record in site.records[::50]:
        detail = site.json(f"/api/v1/filings/{record['kind']}/{quote(record['filing_number'])}")
        assert detail["entity_en"] == english_name(record["entity"])
