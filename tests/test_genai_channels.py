"""GenAI news in every channel (issue 18, item 5): a 2026-08-style list's Telegram post, e-mail
digest, plain-text summary and webhook body state filed / registered / on-device counts with
their 适用场景, name the big-tech groups and foreign companies among them, the provinces with
most registrations, CAC's stated totals and a mismatch; the web app's search filters by
registration, the filing page shows both fields, the list page and the feeds the split
(SQLite and PostgreSQL). ``bot/changes/genai.py`` is the one place the words come from.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import html
import os
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import feedparser
import httpx
import pytest
from fake_telegram import FakeTelegram, validate_html
from sample_events import GENAI_ON_DEVICE, filing, genai_event, genai_filing, published_event
from standardwebhooks import Webhook
from webhook_receiver import Receiver, schema_problems

from bot.settings.config import WebhookSettings, settings_from_mapping
from bot.changes.genai import (
    GenaiSplit,
    event_split,
    event_totals,
    province_en,
    scenario_en,
    split_of,
    split_sentences,
    top_registration_provinces,
    totals_gap,
    totals_sentences,
)
from bot.delivery.email.digest import render_digest
from bot.delivery.email.subscribers import Subscriber
from bot.delivery.notifiers.factory import build_notifiers
from bot.delivery.notifiers.text import plain_summary
from bot.delivery.notifiers.webhook import WebhookNotifier
from bot.delivery.telegram.format import caption_for, render_event
from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status

TOTALS_OFF = {"as_of": "2026-06-30", "stated": {"filed": 988, "registered": 598}, "held": {"filed": 988, "registered": 597}}
TOTALS_OK = {"as_of": "2026-06-30", "stated": {"filed": 988, "registered": 598}, "held": {"filed": 988, "registered": 598}}
SCENARIOS = [scenario for _, scenario in GENAI_ON_DEVICE]


def _counts(event: dict[str, Any]) -> tuple[int, int, int]:
    """(models filed, apps registered, on-device) counted from the event's own records."""
    new = event["data"]["new"]
    registered = sum(1 for r in new if r["registration"] == "registered")
    on_device = sum(1 for r in new if r["registration"] == "filed" and r["scenario"])
    return len(new) - registered - on_device, registered, on_device


# --- the words ------------------------------------------------------------------------------------


def test_split_from_counts_genai_and_derived_alike() -> None:
    with_counts, without = genai_event(), genai_event(with_counts=False)
    models, registered, on_device = _counts(with_counts)
    assert (models, registered, on_device) == (124, 133, 7)
    for event in (with_counts, without):
        split = event_split(event["data"])
        assert split is not None
        assert (split.models, split.registered, split.on_device, split.filed) == (124, 133, 7, 131)
        assert list(split.scenarios) == SCENARIOS
    # counts.genai is what the event says, even when the records held are fewer (a split part).
    part = copy.deepcopy(with_counts)
    part["data"]["new"] = part["data"]["new"][:50]
    assert event_split(part["data"]) == GenaiSplit(131, 133, 7, ())
    # Without counts.genai a part is not the whole: nothing is claimed.
    part_old = copy.deepcopy(without)
    part_old["data"]["new"] = part_old["data"]["new"][:50]
    assert event_split(part_old["data"]) is None
    # Records stored before ``registration`` existed say nothing; nor does another kind.
    stale = copy.deepcopy(without)
    for record in stale["data"]["new"]:
        del record["registration"]
    assert event_split(stale["data"]) is None
    assert event_split(published_event(3)["data"]) is None
    assert split_of([filing(1)]) is None


def test_sentences_as_the_law_firm_reads_them() -> None:
    split = event_split(genai_event()["data"])
    assert split is not None
    zh, en = split_sentences("2026-08", split, 264)
    assert zh == ("生成式人工智能服务 2026年8月：新增 264 项 — 备案 124 · 登记 133 · 端侧 7（"
                  + "、".join(SCENARIOS) + "）")
    assert en.startswith("GenAI services, August 2026: 264 new — 124 models filed, 133 apps registered, "
                         "7 on-device (iPhone, Samsung phones, Huawei phones")
    assert [scenario_en(s) for s in ("苹果手机", "三星手机", "OPPO手机", "某某眼镜")] == [
        "iPhone", "Samsung phones", "OPPO phones", "某某眼镜"]
    assert top_registration_provinces(genai_event()["data"]["new"]) == [("广东", 31), ("北京", 28), ("上海", 20)]
    assert [province_en(p) for p in ("广东", "北京市", "国资委", "火星")] == ["Guangdong", "Beijing", "SASAC (central SOEs)", ""]


def test_totals_and_their_mismatch() -> None:
    assert totals_gap(TOTALS_OK) == {} and totals_gap(TOTALS_OFF) == {"registered": -1}
    zh, en, mismatch = totals_sentences(TOTALS_OFF)
    assert mismatch
    assert en.startswith("CAC states 988 filed + 598 registered as of 2026-06-30; cacwatch holds 988 + 597")
    assert "1 registered missing" in en and "登记少 1 项" in zh
    assert totals_sentences(TOTALS_OK)[2] is False
    # The finding's totals serve when data.totals is absent; malformed ones are not rendered.
    event = genai_event(totals=TOTALS_OFF, mismatch=True)
    del event["data"]["totals"]  # type: ignore[misc]
    assert event_totals(event["data"]) == TOTALS_OFF
    assert event_totals({"totals": {"as_of": "x", "stated": {"filed": "many"}, "held": {}}}) is None


def test_totals_stated_for_filed_services_only() -> None:
    """截至2025年3月31日，共有346款…完成备案 (no 登记 stated): compared on what was stated."""
    only_filed = {"as_of": "2025-03-31", "stated": {"filed": 346, "registered": None}, "held": {"filed": 345, "registered": 120}}
    assert event_totals({"totals": only_filed}) == only_filed
    assert totals_gap(only_filed) == {"filed": -1}
    zh, en, mismatch = totals_sentences(only_filed)
    assert mismatch and "registrations not stated" in en and "1 filed missing" in en and "未公布登记数" in zh
    reconciled = {**only_filed, "held": {"filed": 346, "registered": 120}}
    assert totals_sentences(reconciled)[2] is False


# --- Telegram -------------------------------------------------------------------------------------


def _telegram_text(posts: list[str]) -> str:
    return "\n".join(validate_html(post) for post in posts)


@pytest.mark.parametrize("with_counts", [True, False])
def test_telegram_post_states_the_split_companies_and_provinces(with_counts: bool) -> None:
    event = genai_event(with_counts=with_counts)
    text = _telegram_text(render_event(event))
    assert "生成式人工智能服务 2026年8月：新增 264 项 — 备案 124 · 登记 133 · 端侧 7（苹果手机、三星手机" in text
    assert "GenAI services, August 2026: 264 new — 124 models filed, 133 apps registered, 7 on-device (iPhone, Samsung phones" in text
    assert "登记最多的属地：广东 31、北京 28、上海 20" in text
    assert "Provinces with most registrations: Guangdong 31, Beijing 28, Shanghai 20" in text
    # Big-tech groups and foreign companies among them, by name and by what they filed.
    assert "字节跳动 2 项（备案 2）" in text and "腾讯 2 项（登记 2）" in text and "华为 1 项（端侧 1）" in text
    assert "ByteDance 2 (2 filed)" in text and "Tencent 2 (2 registered)" in text
    assert "惠普（惠普贸易（上海）有限公司）1 项（登记 1）" in text
    assert "HP (HP Trading (Shanghai) Co., Ltd.) 1 (1 registered)" in text
    assert "Samsung (Samsung (China) Investment Co., Ltd.) 1 (1 on-device)" in text
    # The on-device services are listed with their scenario even though 264 filings are not.
    for scenario in SCENARIOS:
        assert f"· {scenario}" in text
    assert "苹果技术开发（上海）有限公司" in text and "· iPhone" in text
    # The cut big_tech finding is not repeated under the highlights: the line above names all.
    assert "Big tech among the new filings" not in text
    caption = validate_html(caption_for(event))  # type: ignore[arg-type]
    assert "新增 264 项（备案 124 · 登记 133 · 端侧 7）" in caption and "(124 filed, 133 registered, 7 on-device)" in caption


def test_telegram_never_cuts_the_groups_readers_follow() -> None:
    event = genai_event()
    groups = ["北京抖音信息服务有限公司", "阿里巴巴（中国）有限公司", "深圳市腾讯计算机系统有限公司", "北京百度网讯科技有限公司",
              "北京京东世纪贸易有限公司", "北京快手科技有限公司", "上海寻梦信息技术有限公司", "网易（杭州）网络有限公司",
              "北京三快在线科技有限公司", "上海哔哩哔哩科技有限公司", "北京微梦创科网络技术有限公司", "科大讯飞股份有限公司"]
    for index, entity in enumerate(groups):
        event["data"]["new"][10 + index]["entity"] = entity
    from bot.changes.companies import big_tech_group

    names = {big_tech_group(e).en for e in groups if big_tech_group(e)}  # type: ignore[union-attr]
    assert len(names) > 10  # more than the big_tech finding's sentence would show
    text = _telegram_text(render_event(event, "en"))
    line = next(l for l in text.splitlines() if l.startswith("Big tech among them:"))
    for name in names:
        assert f"{name} " in line


def test_telegram_totals_and_the_mismatch() -> None:
    text = _telegram_text(render_event(genai_event(totals=TOTALS_OFF, mismatch=True)))
    assert "网信办公布：截至 2026-06-30 共 988 款完成备案、598 款完成登记；cacwatch 现有备案 988 项、登记 597 项" in text
    assert "⚠️ 与公布数不符：登记少 1 项" in text
    assert "CAC states 988 filed + 598 registered as of 2026-06-30; cacwatch holds 988 + 597. ⚠️ Mismatch: 1 registered missing." in text
    # Told once, in the line above: the finding's own sentence is not repeated.
    assert "CAC's stated totals differ" not in text
    reconciled = _telegram_text(render_event(genai_event(totals=TOTALS_OK), "en"))
    assert "cacwatch holds 988 + 598 — they reconcile." in reconciled and "Mismatch" not in reconciled


def test_telegram_escapes_site_text_in_the_genai_lines() -> None:
    event = genai_event()
    hostile = '<b>x</b> & "q"'
    for record in event["data"]["new"]:
        if record["scenario"] == "苹果手机":
            record["scenario"] = hostile + "手机"
        if record["registration"] == "registered" and record["province"] == "广东":
            record["province"] = "广东<i>"
    posts = render_event(event)
    text = _telegram_text(posts)  # Telegram would accept every post
    assert hostile + "手机" in text and "广东<i> 31" in text
    assert "<b>x</b>" not in "".join(posts) and "&lt;b&gt;x&lt;/b&gt; &amp;" in "".join(posts)


async def test_telegram_post_through_the_bot_api() -> None:
    with FakeTelegram() as fake:
        telegram = {"token": fake.token, "api_base_url": fake.base_url, "channel": "@cac_genai", "timeout": 5,
                    "max_per_second": 1000, "max_per_minute_per_chat": 60000, "chart": False}
        [notifier] = build_notifiers(settings_from_mapping({"notify": {"telegram": telegram}}, env={}))
        try:
            await notifier.deliver(genai_event(totals=TOTALS_OFF, mismatch=True), delivery_id="msg_genai")  # type: ignore[arg-type]
        finally:
            await notifier.aclose()
        text = "\n".join(validate_html(c.text or "") for c in fake.messages("@cac_genai"))
        assert not fake.rejected
    assert "备案 124 · 登记 133 · 端侧 7" in text and "124 models filed, 133 apps registered, 7 on-device" in text
    assert "⚠️ Mismatch: 1 registered missing." in text


# --- e-mail ---------------------------------------------------------------------------------------


def _digest(events: list[Any], language: str = "both") -> tuple[str, str]:
    subscriber = Subscriber(address="partner@lawfirm.example", name="A. Partner", language=language,
                            token="tok_abcdefghijklmnopqrstuv")
    message = render_digest(events, subscriber, now=datetime(2026, 8, 10, 1, tzinfo=timezone.utc), chart=False)
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    return str(text_part.get_content()), str(html_part.get_content())


@pytest.mark.parametrize("with_counts", [True, False])
def test_digest_states_the_split_companies_provinces_and_scenarios(with_counts: bool) -> None:
    text, page = _digest([genai_event(with_counts=with_counts)])
    for body in (text, html.unescape(re.sub(r"<[^>]+>", "", page))):
        assert "生成式人工智能服务 2026年8月：新增 264 项 — 备案 124 · 登记 133 · 端侧 7（苹果手机、三星手机" in body
        assert "GenAI services, August 2026: 264 new — 124 models filed, 133 apps registered, 7 on-device (iPhone" in body
        assert "登记最多的属地：广东 31、北京 28、上海 20" in body
        assert "Provinces with most registrations: Guangdong 31, Beijing 28, Shanghai 20" in body
        assert "HP (HP Trading (Shanghai) Co., Ltd.) 1 (1 registered)" in body
        assert "ByteDance 2 (2 filed)" in body
        # The on-device services (beyond the ten previewed) with their scenario in both languages.
        assert "智能大模型2000 · 苹果手机 (iPhone)" in body
        assert "荣耀终端股份有限公司" in body
    assert "Big tech among the new filings" not in text


def test_digest_totals_mismatch_is_an_alert() -> None:
    text, page = _digest([genai_event(totals=TOTALS_OFF, mismatch=True)], "en")
    assert "! CAC states 988 filed + 598 registered as of 2026-06-30; cacwatch holds 988 + 597. ⚠️ Mismatch: 1 registered missing." in text
    alert = re.search(r'<div style="[^"]*color:#8a1c2b;font-weight:bold;">([^<]*)</div>', page)
    assert alert is not None and "Mismatch: 1 registered missing" in html.unescape(alert.group(1))
    assert "differ from what is held" not in text
    ok_text, _ = _digest([genai_event(totals=TOTALS_OK)], "en")
    assert "cacwatch holds 988 + 598 — they reconcile." in ok_text and "! CAC" not in ok_text


def test_digest_escapes_site_text_in_the_genai_lines() -> None:
    event = genai_event()
    for record in event["data"]["new"]:
        if record["scenario"] == "三星手机":
            record["scenario"] = '<script>alert("x")</script>'
    _, page = _digest([event])
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_digest_of_a_split_event_reads_as_one_list() -> None:
    from bot.changes.event_schema import split_event

    parts = split_event(genai_event(with_counts=False), max_filings=100)  # type: ignore[arg-type]
    assert len(parts) == 3
    text, _ = _digest(parts, "zh")
    assert "新增 264 项 — 备案 124 · 登记 133 · 端侧 7" in text and "广东 31、北京 28、上海 20" in text


def test_plain_summary_states_the_split_and_totals() -> None:
    text = plain_summary(genai_event(totals=TOTALS_OFF, mismatch=True), "both")  # type: ignore[arg-type]
    assert "备案 124 · 登记 133 · 端侧 7（苹果手机" in text
    assert "124 models filed, 133 apps registered, 7 on-device (iPhone" in text
    assert "Provinces with most registrations: Guangdong 31" in text
    assert "⚠️ Mismatch: 1 registered missing." in text


# --- webhook --------------------------------------------------------------------------------------


async def test_webhook_body_carries_the_split_and_scenarios(receiver: Receiver) -> None:
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    notifier = WebhookNotifier(WebhookSettings(url=f"{receiver.base_url}/genai", secret=secret, allow_private=True, timeout=2.0))
    event = genai_event(totals=TOTALS_OFF, mismatch=True)
    try:
        await notifier.deliver(event, delivery_id="msg_genai")  # type: ignore[arg-type]
    finally:
        await notifier.aclose()
    (got,) = receiver.on("/genai")
    assert schema_problems(got.body) == []
    payload = Webhook(secret).verify(got.body, got.headers)
    data = payload["data"]
    assert data["counts"]["genai"] == {"filed": 131, "registered": 133, "on_device": 7}
    assert [r["scenario"] for r in data["new"] if r["scenario"]] == SCENARIOS
    assert {r["registration"] for r in data["new"]} == {"filed", "registered"}
    assert data["totals"] == TOTALS_OFF
    assert [f["type"] for f in data["notable"]][-1] == "totals_mismatch"


# --- the web app ----------------------------------------------------------------------------------


def _genai_rows() -> tuple[FilingRow, ...]:
    records = genai_event()["data"]["new"]
    return tuple(
        FilingRow(kind=Kind.GENAI_SERVICE, filing_number=r["filing_number"], name=r["name"], entity=r["entity"], role=None,
                  category=None, products=(), purpose="", province=r["province"], remark="", status=Status.ACTIVE,
                  filed_on=r["filed_on"], row_index=index, registration=r["registration"], scenario=r["scenario"])
        for index, r in enumerate(records)
    )


@pytest.fixture
def genai_store(database: Any) -> Any:
    """A store holding the 2026-08 list (filed, registered, on-device rows) and its event."""
    from bot.delivery.outbox import enqueue
    from storage.repo import Repository

    ref = ListRef(Kind.GENAI_SERVICE, "2026-08", "生成式人工智能服务已备案和已登记信息（2026年8月）",
                  "国家互联网信息办公室关于发布生成式人工智能服务已备案和已登记信息的公告",
                  "https://www.cac.gov.cn/2026-08/10/c_2.htm",
                  "https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=genai202608")
    with database.session() as session:
        outcome = Repository(session).ingest(ParsedList(ref, "c" * 64, "pdf", _genai_rows()), "genai-2026-08")
    with database.session() as session:
        enqueue(session, genai_event(with_counts=False, totals=TOTALS_OFF, mismatch=True), [], list_id=outcome.list_id)  # type: ignore[arg-type]
    return database


def _get(database: Any, *paths: str) -> list[httpx.Response]:
    from bot.settings.config import WebSettings
    from bot.web.app import create_app

    app = create_app(database, web=WebSettings(cache_mb=0), refresh_in_child=False)

    async def fetch() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(fetch())


def test_web_search_filters_by_registration_and_pages_show_the_fields(genai_store: Any) -> None:
    on_device = genai_filing(2000, registration="filed", scenario="苹果手机")["filing_number"]
    registered = next(r for r in genai_event()["data"]["new"] if r["entity"] == "惠普贸易（上海）有限公司")
    search_all, search_reg, search_filed, api_reg, filing_page, reg_page, list_page, bad = _get(
        genai_store,
        "/search?kind=genai_service&limit=500",
        "/search?kind=genai_service&registration=registered&limit=500",
        "/search?registration=filed&q=" + quote("智能大模型2000"),
        "/api/v1/filings?registration=registered&limit=1",
        f"/filings/genai_service/{quote(on_device, safe='')}",
        f"/filings/genai_service/{quote(registered['filing_number'], safe='')}",
        "/lists/genai_service/2026-08",
        "/search?registration=both",
    )
    # The form offers the filter, with its choices in both languages, and keeps the choice.
    assert re.search(r'<select name="registration">.*<option value="filed">备案 filed</option>'
                     r'<option value="registered">已登记 registered</option>', search_all.text, re.S)
    assert '<option value="registered" selected>' in search_reg.text
    assert re.search(r'<strong id="total">264</strong>', search_all.text)
    assert re.search(r'<strong id="total">133</strong>', search_reg.text)
    assert api_reg.json()["total"] == 133
    assert search_reg.text.count('<span class="tag registration">已登记 registered</span>') == 133
    assert "备案 filed</span>" not in search_reg.text.split('id="total"')[1]
    assert re.search(r'<strong id="total">1</strong>', search_filed.text) and "适用场景 <span class=\"scenario\">苹果手机</span>" in search_filed.text
    # Downloads carry the filter on.
    assert 'href="/search.csv?kind=genai_service&amp;registration=registered' in search_reg.text
    # The filing page shows both fields with Chinese and English labels.
    assert filing_page.status_code == 200
    assert re.search(r'<dt>备案/登记 <span class="en">filed / registered</span></dt>\s*<dd><span id="registration">备案 <span class="en">filed</span></span></dd>', filing_page.text)
    assert re.search(r'<dt>适用场景 <span class="en">scenario</span></dt>\s*<dd><span id="scenario">苹果手机 <span class="en">iPhone</span></span></dd>', filing_page.text)
    assert '<span id="registration">已登记 <span class="en">registered</span></span>' in reg_page.text
    # The list page splits the list and names the provinces with most registrations.
    page = list_page.text
    assert '<strong id="genai-filed">124</strong>' in page and '<strong id="genai-registered">133</strong>' in page
    assert '<strong id="genai-on-device">7</strong>' in page and "（苹果手机、三星手机" in page and "(iPhone, Samsung phones" in page
    assert re.search(r'id="genai-provinces">.*广东 <span class="en">Guangdong</span> 31、北京 <span class="en">Beijing</span> 28', page)
    assert bad.status_code == 400 and "registration" in bad.text


def test_exports_carry_both_columns_with_labels_in_both_languages(genai_store: Any) -> None:
    """The web downloads (and so `cacwatch export`, the same writer): CSV with the machine names,
    XLSX with Chinese and English headers and the registration in words."""
    import csv
    import io

    from openpyxl import load_workbook

    csv_answer, xlsx_answer = _get(genai_store, "/search.csv?registration=filed&kind=genai_service",
                                   "/search.xlsx?registration=filed&kind=genai_service")
    rows = list(csv.DictReader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
    assert len(rows) == 131 and {r["registration"] for r in rows} == {"filed"}
    assert sorted(r["scenario"] for r in rows if r["scenario"]) == sorted(SCENARIOS)
    sheet = list(load_workbook(io.BytesIO(xlsx_answer.content), read_only=True)["filings"].iter_rows(values_only=True))
    header = list(sheet[0])
    assert "备案/登记\nFiled / registered" in header and "适用场景\nScenario" in header
    registration, scenario = header.index("备案/登记\nFiled / registered"), header.index("适用场景\nScenario")
    assert {row[registration] for row in sheet[1:]} == {"备案 filed"}
    assert {row[scenario] for row in sheet[1:] if row[scenario]} == set(SCENARIOS)


def test_web_pages_hide_the_genai_fields_elsewhere_and_escape_them(database: Any) -> None:
    from storage.repo import Repository

    hostile = '<script>alert("x")</script>'
    row = FilingRow(kind=Kind.GENAI_SERVICE, filing_number="Beijing-X-202608010001", name="x", entity="北京某公司",
                    role=None, category=None, products=(), purpose="", province="北京", remark="", status=Status.ACTIVE,
                    filed_on=None, row_index=0, registration="filed", scenario=hostile)
    ref = ListRef(Kind.GENAI_SERVICE, "2026-08", "n", "t", "https://x.example/p", "https://x.example/a")
    deep = FilingRow(kind=Kind.DEEP_SYNTHESIS, filing_number="网信算备110108000000010001号", name="y", entity="北京某公司",
                     role="provider", category=None, products=(), purpose="", province="北京市", remark="",
                     status=Status.ACTIVE, filed_on=None, row_index=0)
    deep_ref = ListRef(Kind.DEEP_SYNTHESIS, "2026-08", "d", "t", "https://x.example/p2", "https://x.example/a2")
    with database.session() as session:
        Repository(session).ingest(ParsedList(ref, "d" * 64, "pdf", (row,)), "k")
        Repository(session).ingest(ParsedList(deep_ref, "e" * 64, "docx", (deep,)), "k2")
    page, other = _get(database, "/filings/genai_service/Beijing-X-202608010001",
                       "/filings/deep_synthesis/" + quote("网信算备110108000000010001号"))
    assert hostile not in page.text and "&lt;script&gt;alert(" in page.text
    assert "适用场景" in page.text and "备案/登记" in page.text
    # Fields of GenAI filings only: a deep-synthesis filing has no such rows.
    assert other.status_code == 200 and "适用场景" not in other.text and "备案/登记" not in other.text


def test_feeds_tell_the_split_and_the_totals(genai_store: Any) -> None:
    atom, feed_json = _get(genai_store, "/feeds/lists.atom?kind=genai_service", "/feeds/lists.json?kind=genai_service")
    entry = feedparser.parse(atom.content).entries[0]
    text = entry.content[0].value
    assert "备案 124 · 登记 133 · 端侧 7（苹果手机" in text and "124 models filed, 133 apps registered, 7 on-device (iPhone" in text
    assert "登记最多的属地：广东 31、北京 28、上海 20 / Provinces with most registrations: Guangdong 31, Beijing 28, Shanghai 20" in text
    assert "⚠️ Mismatch: 1 registered missing." in text
    item = feed_json.json()["items"][0]
    assert item["_cacwatch"]["totals"] == TOTALS_OFF
    assert "端侧 7" in item["content_text"]


def test_the_on_device_notice_post_lists_every_phone_maker() -> None:
    """The 2026-07-15 notice of 7 on-device services (a table in the page, no attachment)."""
    records = [genai_filing(2000 + i, registration="filed", entity=entity, scenario=scenario, list_month="2026-07")
               for i, (entity, scenario) in enumerate(GENAI_ON_DEVICE)]
    event = copy.deepcopy(genai_event())
    data: Any = event["data"]
    data.update(list_month="2026-07", title="关于发布7款提供手机端侧生成式人工智能服务已备案信息的公告", name="", new=records,
                notable=[], counts={"new": 7, "changed": 0, "removed": 0, "rows": 7,
                                    "genai": {"filed": 7, "registered": 0, "on_device": 7}})
    text = _telegram_text(render_event(event))
    assert "生成式人工智能服务 2026年7月：新增 7 项 — 端侧 7（苹果手机、三星手机" in text
    assert "GenAI services, July 2026: 7 new — 7 on-device (iPhone, Samsung phones" in text
    assert "备案 0" not in text and "登记 0" not in text
    for entity, scenario in GENAI_ON_DEVICE:
        assert f"（{entity}）" in text  # every maker's filer, by name, with the scenario
        assert f"· {scenario}" in text
    assert "Samsung (Samsung (China) Investment Co., Ltd.) 1 (1 on-device)" in text
    assert "华为 1 项（端侧 1）" in text
    assert "新增 7 项（端侧 7）" in validate_html(caption_for(event))  # type: ignore[arg-type]
