"""`cacwatch serve` as a real process over the ingested replica, on SQLite and PostgreSQL.

Expected answers are derived from `cacwatch export` of the same store (never hard-coded),
so these tests say: the API shows exactly what cacwatch stored, found the documented way.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import feedparser
import httpx
import pytest

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from web_helpers import Site, export_records, filer_names_from_export, norm, record_key, word_match
except ImportError:  # pragma: no cover
    from tests.web_helpers import Site, export_records, filer_names_from_export, norm, record_key, word_match

BYTEDANCE_FILER = "北京抖音信息服务有限公司"
T = TypeVar("T")


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


def _fields(record: dict[str, Any]) -> list[str]:
    return [record["filing_number"], record["entity"], record["name"], record["purpose"], *record["products"], record["category"] or ""]


def _searchable(record: dict[str, Any]) -> str:
    return norm("\n".join([record["filing_number"], record["entity"], record["name"], record["purpose"], *record["products"], record["category"] or ""]))


# --- completeness and filters -----------------------------------------------------------------


@pytest.mark.parametrize("limit", [37, 500])
def test_cursor_visits_every_filing_exactly_once_as_export_has_them(site: Site, limit: int) -> None:
    items = site.all_filings(limit=limit, additions=True)
    assert len(items) == len(set(_keys(items))), "a filing was visited twice"
    by_key = {record_key(r): r for r in items}
    # The same records, field for field, with what export adds: English name, first seen, updated.
    exported = {record_key(r): r for r in export_records(site.config, additions=True)}
    assert by_key == exported
    assert {r["entity_en"] for r in items if r["entity"] == BYTEDANCE_FILER} == {"Beijing Douyin Information Service Co., Ltd."}
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
    """Chinese substrings of name/filer/products/purpose; symbols are literal, never wildcards;
    a Latin word only whole ("AI" is not the "ai" of "Zhipu AI"'s neighbours such as "Tai")."""
    expected = {
        record_key(r)
        for r in site.records
        if any(word_match(field, q) for field in (*_fields(r), *_filer_words(r["entity"])))
    }
    got = site.all_filings(q=q)
    assert set(_keys(got)) == expected, (q, len(got), len(expected))
    assert len(got) == len(expected)


def test_a_latin_word_is_a_whole_word_and_a_company_without_filings_says_so(site: Site) -> None:
    """One meaning per word: ``Intel`` is not "Intelligence"; Tesla (a known foreign company
    with no filing here) is "Tesla: no filing on record" beside total 0, on the page too."""
    from bot.changes.resolver import company_of

    intelligence = site.json("/api/v1/filings", q="Intelligence", limit=1)["total"]
    assert intelligence > 0  # English names say "Artificial Intelligence …"
    intel = site.all_filings(q="Intel")
    assert {getattr(company_of(r["entity"]), "key", None) for r in intel} <= {"intel"}
    page = site.json("/api/v1/filings", q="Intel")
    if not intel:
        assert page["total"] == 0 and [n["note"] for n in page["no_filing"]] == ["Intel: no filing on record"]
    tesla = site.json("/api/v1/filings", q="Tesla")
    assert tesla["total"] == 0 and tesla["items"] == []
    assert tesla["no_filing"] == [{"key": "tesla", "zh": "特斯拉", "en": "Tesla", "note": "Tesla: no filing on record", "note_zh": "特斯拉：暂无备案记录"}]
    html = site.get("/search", q="特斯拉").text
    assert "Tesla: no filing on record" in html and "特斯拉：暂无备案记录" in html
    # A word that names no company stays a bare "no filing matches".
    assert site.json("/api/v1/filings", q="xyzzyq")["no_filing"] == []


def test_group_and_foreign_filters_and_the_group_of_each_item(site: Site) -> None:
    from bot.changes.companies import ForeignFiler
    from bot.changes.resolver import company_of

    companies = {r["entity"]: company_of(r["entity"]) for r in site.records}
    for item in site.all_filings(additions=True):
        company = companies[item["entity"]]
        assert (item["group"], item["group_en"]) == ((company.zh, company.en) if company else (None, None))
    keys = sorted({c.key for c in companies.values() if c is not None})
    companies_by_key = {c.key: c for c in companies.values() if c is not None}
    assert keys
    for key in keys[:3]:
        expected = {record_key(r) for r in site.records if getattr(companies[r["entity"]], "key", None) == key}
        got = site.all_filings(group=key, limit=7)
        assert set(_keys(got)) == expected and len(got) == len(expected)
        assert site.json("/api/v1/filings", group=key, limit=1)["total"] == len(expected)
    foreign = {record_key(r) for r in site.records if isinstance(companies[r["entity"]], ForeignFiler)}
    assert set(_keys(site.all_filings(foreign="true"))) == foreign
    assert len(site.all_filings(foreign="false")) == len(site.records) - len(foreign)
    # The feed, the page and the downloads take the same filters.
    key = keys[0]
    expected = {r["filing_number"] for r in site.records if getattr(companies[r["entity"]], "key", None) == key}
    feed = feedparser.parse(site.get("/feeds/filings.atom", group=key).text)
    assert feed.entries and all(any(n in e.link or n in e.title or n in e.get("summary", "") for n in expected) for e in feed.entries)
    page = site.get("/search", group=key, foreign="false" if not isinstance(companies_by_key[key], ForeignFiler) else "true")
    assert page.status_code == 200 and f'<option value="{key}" selected>' in page.text
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(site.get("/search.csv", group=key).text.lstrip("\ufeff"))))
    assert {(r["kind"], r["filing_number"]) for r in rows} == {record_key(r) for r in site.records if getattr(companies[r["entity"]], "key", None) == key}
    assert len(rows) == len({(r["kind"], r["filing_number"]) for r in rows})
    assert {r["group_en"] for r in rows} == {companies_by_key[key].en}
    assert site.get("/api/v1/filings", group="nosuchgroup").status_code in (400, 422)
    assert site.get("/api/v1/filings", foreign="yes").status_code in (400, 422)


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


def _installation_key(site: Site) -> bytes:
    import yaml

    from storage.corpus import Corpus
    from storage.db import Database

    db = Database(yaml.safe_load(site.config.read_text(encoding="utf-8"))["database"]["url"])
    try:
        return Corpus(db).web_secret("cursor")
    finally:
        db.dispose()


def _signed(key: bytes, payload: bytes) -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return f"{b64(payload)}.{b64(hmac.new(key, payload, hashlib.sha256).digest()[:12])}"


def test_forged_cursors_are_400_never_500(site: Site) -> None:
    """Cursors signed with this installation's own key but of any shape the API never writes,
    and well-formed ones signed with the constant key older versions used: all 400."""
    from bot.web.cursor import _fingerprint
    from storage.corpus import FilingQuery

    key = _installation_key(site)
    fp = _fingerprint(FilingQuery(kind="deep_synthesis")).encode()
    payloads = [
        b'[2,1e30,"' + fp + b'"]', b'[0,NaN,"' + fp + b'"]', b'[0,Infinity,"' + fp + b'"]', b'{"a":1}',
        b'[1,2]', b'[1,2,"' + fp + b'",4]', b'[true,1,"' + fp + b'"]', b'[3,1,"' + fp + b'"]',
        b'[0,-1,"' + fp + b'"]', b'[0,' + str(2**70).encode() + b',"' + fp + b'"]', b'[0,1,5]',
        b'\xff\xfe[0,1]', b'[' * 5000 + b']' * 5000, b'"x"', b'', b'[0,1.5,"' + fp + b'"]',
    ]
    for payload in payloads:
        cursor = _signed(key, payload)
        for path in ("/api/v1/filings", "/search"):
            response = site.get(path, kind="deep_synthesis", limit=5, cursor=cursor)
            assert response.status_code == 400, (payload[:40], path, response.status_code, response.text[:200])
    assert site.get("/api/v1/filings", kind="deep_synthesis", cursor="no-dot-here").status_code == 400
    # The key is the installation's, not the source's: a cursor signed with the old constant is refused.
    page = site.json("/api/v1/filings", kind="deep_synthesis", limit=5)
    assert page["next_cursor"] and site.get("/api/v1/filings", kind="deep_synthesis", limit=5, cursor=page["next_cursor"]).status_code == 200
    old = _signed(b"cacwatch/web/cursor/v1", b'[2,1,"' + fp + b'"]')
    assert site.get("/api/v1/filings", kind="deep_synthesis", limit=5, cursor=old).status_code == 400


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
    assert names == {"q", "kind", "entity", "province", "status", "list_month", "role", "category", "registration", "group", "foreign", "limit", "cursor"}
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


# --- in-process: the app over a small store of its own (issue 19) -------------------------------

SLASH_ENTITY = "北京A/B科技有限公司"
SLASH_NUMBER = "网信算备110108/0001号"


def _slash_store(database: Any) -> None:
    from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status
    from storage.repo import Repository

    rows = tuple(
        FilingRow(
            kind=Kind.DEEP_SYNTHESIS, filing_number=number, name=f"算法{index}", entity=entity, role="provider",
            category=None, products=("某应用",), purpose="应用于文本生成场景", province="北京市", remark="",
            status=Status.ACTIVE, filed_on=None, row_index=index,
        )
        for index, (number, entity) in enumerate([(SLASH_NUMBER, SLASH_ENTITY), ("网信算备110108000002号", "北京其他有限公司")])
    )
    ref = ListRef(Kind.DEEP_SYNTHESIS, "2024-01", "境内深度合成服务算法备案清单（2024年1月）", "公告", "https://x.example/p", "https://x.example/a")
    with database.session() as session:
        Repository(session).ingest(ParsedList(ref, "sha-slash", "docx", rows), "key-slash")


def _in_process(app: Any, requests: Callable[[httpx.AsyncClient], Awaitable[T]], client: tuple[str, int] = ("127.0.0.1", 5000)) -> T:
    """Requests to the ASGI app from ``client`` (no lifespan: ``_app`` built the index)."""

    async def run() -> T:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await requests(http)

    return asyncio.run(run())


def _app(database: Any, **web: Any) -> Any:
    from bot.settings.config import WebSettings
    from bot.web.app import create_app, web_state_of

    app = create_app(database, web=WebSettings(**web), refresh_in_child=False)
    web_state_of(app).ensure_index()
    return app


def test_slash_in_filer_and_filing_number_is_reachable(database: Any) -> None:
    _slash_store(database)
    app = _app(database)

    async def requests(http: httpx.AsyncClient) -> list[httpx.Response]:
        entity, number = quote(SLASH_ENTITY, safe=""), quote(SLASH_NUMBER, safe="")
        paths = [f"/entities/{entity}", f"/api/v1/entities/{entity}", f"/filings/deep_synthesis/{number}",
                 f"/api/v1/filings/deep_synthesis/{number}", "/entities/" + quote("北京A", safe="") + "%2Fnope"]
        return [await http.get(path) for path in paths]

    page, api_entity, filing_page, api_filing, missing = _in_process(app, requests)
    assert page.status_code == 200 and "算法0" in page.text
    assert api_entity.status_code == 200 and api_entity.json()["entity"] == SLASH_ENTITY
    assert filing_page.status_code == 200 and "算法0" in filing_page.text
    assert api_filing.status_code == 200 and api_filing.json()["filing"]["entity"] == SLASH_ENTITY
    assert missing.status_code == 404


SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _has_security_headers(response: httpx.Response) -> bool:
    return all(wanted in response.headers.get(name, "") for name, wanted in SECURITY_HEADERS.items())


def test_refusals_carry_the_security_headers_and_guessing_is_limited(database: Any) -> None:
    token = "a-token-of-enough-length"
    app = _app(database, auth={"token": token, "max_failures": 3, "failure_window": 60})

    async def requests(http: httpx.AsyncClient) -> list[httpx.Response]:
        answers = [await http.get("/"), await http.get("/api/v1/lists")]  # no credentials: not a failure
        answers += [await http.get("/api/v1/lists", headers={"Authorization": f"Bearer wrong{i}"}) for i in range(3)]
        answers.append(await http.get("/api/v1/lists", headers={"Authorization": f"Bearer {token}"}))  # shut out now
        return answers

    answers = _in_process(app, requests)
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 401, 429]
    assert all(_has_security_headers(a) for a in answers)
    assert int(answers[-1].headers["retry-after"]) > 0 and "too many" in answers[-1].json()["error"]

    async def other_client(http: httpx.AsyncClient) -> httpx.Response:
        return await http.get("/api/v1/lists", headers={"Authorization": f"Bearer {token}"})

    # Another client is not shut out by this one's failures.
    assert _in_process(app, other_client, client=("127.0.0.9", 5000)).status_code == 200


def test_auth_secrets_must_be_long() -> None:
    from bot.settings.config import settings_from_mapping

    for key in ("token", "password"):
        with pytest.raises(Exception) as caught:
            settings_from_mapping({"web": {"auth": {key: "short-secret"}}}, env={})
        assert f"web.auth.{key}" in str(caught.value) and "16 characters" in str(caught.value)


def test_loopback_only_app_refuses_other_clients_but_not_open_paths(database: Any) -> None:
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bot.settings.config import WebSettings
    from bot.web.app import create_app

    probe = Route("/healthz", lambda request: PlainTextResponse("ok"))
    app = create_app(database, web=WebSettings(), refresh_in_child=False, extra_routes=[probe], open_paths={"/healthz"}, loopback_only=True)

    async def requests(http: httpx.AsyncClient) -> list[httpx.Response]:
        return [await http.get("/api/v1/lists"), await http.get("/healthz")]

    refused, probe_answer = _in_process(app, requests, client=("203.0.113.5", 4000))
    assert refused.status_code == 403 and "web.auth" in refused.json()["error"] and _has_security_headers(refused)
    assert probe_answer.status_code == 200
    local, _ = _in_process(app, requests, client=("127.0.0.1", 4000))
    assert local.status_code == 200
    six, _ = _in_process(app, requests, client=("::1", 4000))
    assert six.status_code == 200


# --- downloads of a search (issue 19, items 3 and 9) --------------------------------------------


def _cli_export(site: Site) -> dict[tuple[str, str], dict[str, Any]]:
    """`cacwatch export --format jsonl` of the same store: every column the CLI fills."""
    import subprocess
    import sys

    from web_helpers import ROOT, _env

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(site.config), "export", "--format", "jsonl"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=_env(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {record_key(r): r for r in (json.loads(line) for line in result.stdout.splitlines() if line.strip())}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_downloads_fill_every_export_column_like_the_cli(site: Site, fmt: str) -> None:
    import csv
    import io

    from bot.changes.export import FILING_COLUMNS

    response = site.get(f"/search.{fmt}", kind="deep_synthesis")
    assert response.status_code == 200 and response.headers["content-disposition"].endswith(f'.{fmt}"')
    expected = site.all_filings(kind="deep_synthesis")
    assert response.headers["x-cacwatch-rows"] == f"{len(expected)} of {len(expected)}"
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(response.content), read_only=True)["filings"]
        values = list(sheet.iter_rows(values_only=True))
        rows = [dict(zip(FILING_COLUMNS, ("" if v is None else str(v) for v in row))) for row in values[1:]]
    # (XLSX shows kinds in words: one kind here, so the numbers say which filing a row is.)
    assert [r["filing_number"] for r in rows] == [r["filing_number"] for r in expected]
    cli = _cli_export(site)
    for row in rows:
        want = cli[("deep_synthesis", row["filing_number"])]
        assert row["first_seen"] == want["first_seen"] and row["first_seen"]
        assert row["updated_at"] == want["updated_at"] and row["updated_at"]
        assert row["entity_en"] == want["entity_en"] and row["entity_en"]
        assert row["removed"] == ("" if not want["removed"] else ("true" if fmt == "csv" else "是 yes"))


def test_download_row_cap_and_concurrent_limit(database: Any) -> None:
    """web.download_rows cuts a download (and says so); beyond web.max_downloads, 503 + Retry-After."""
    import csv
    import io

    from bot.web.app import web_state_of

    _slash_store(database)
    app = _app(database, download_rows=1, max_downloads=1)
    state = web_state_of(app)

    async def requests(http: httpx.AsyncClient) -> list[httpx.Response]:
        # One slot: downloads one after another each get it back when done.
        cut, again = await http.get("/search.csv"), await http.get("/search.xlsx")
        release = state.download_slot()  # as a download in progress holds it
        assert release is not None
        busy = await http.get("/search.csv")
        release()
        return [cut, again, busy, await http.get("/search.xlsx")]

    cut, again, busy, after = _in_process(app, requests)
    assert cut.status_code == 200 and cut.headers["x-cacwatch-rows"] == "1 of 2"
    assert len(list(csv.DictReader(io.StringIO(cut.content.decode("utf-8-sig"))))) == 1
    assert again.status_code == 200 and again.content[:2] == b"PK"
    assert busy.status_code == 503 and int(busy.headers["retry-after"]) > 0 and _has_security_headers(busy)
    assert after.status_code == 200 and after.content[:2] == b"PK"



def test_only_http_links_of_the_site_become_hrefs(database: Any) -> None:
    """A list stored from a hostile page (attachment `data:…`, page `vbscript:…`): its list
    page and its filings' pages never make them links that could run anything."""
    from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status
    from storage.repo import Repository

    row = FilingRow(
        kind=Kind.DEEP_SYNTHESIS, filing_number="网信算备110108000009号", name="算法9", entity="北京九有限公司", role="provider",
        category=None, products=(), purpose="文本生成", province="北京市", remark="", status=Status.ACTIVE, filed_on=None, row_index=0,
    )
    ref = ListRef(Kind.DEEP_SYNTHESIS, "2024-02", "境内深度合成服务算法备案清单（2024年2月）", "公告", "vbscript:msgbox(1)", "data:text/html,<script>alert(1)</script>/a.docx")
    with database.session() as session:
        Repository(session).ingest(ParsedList(ref, "sha-hostile", "docx", (row,)), "key-hostile")
    app = _app(database)

    async def requests(http: httpx.AsyncClient) -> list[httpx.Response]:
        return [await http.get("/lists/deep_synthesis/2024-02"), await http.get("/filings/deep_synthesis/" + quote("网信算备110108000009号"))]

    for page in _in_process(app, requests):
        assert page.status_code == 200
        hrefs = re.findall(r'href="([^"]*)"', page.text)
        assert hrefs and not any(h.lower().startswith(("data:", "vbscript:", "javascript:")) for h in hrefs), hrefs
        assert "<script>alert" not in page.text
