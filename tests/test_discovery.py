"""Title classification, page parsing and full discovery against the local replica."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

import pytest

from bot.settings.config import CacSourceSettings
from scrapers.sources.cac.discovery import (
    DiscoveryResult,
    attachment_key,
    batch_number,
    classify_title,
    discover,
    is_cancellation_title,
    page_key,
    parse_article,
    parse_channel_page,
)
from scrapers.fetch import Blocked, Fetcher, InvalidResponse, MemoryValidatorStore
from scrapers.records import Kind, SourceSignal
from scrapers.replica.server import WAF_PAGE, ReplicaServer

SettingsFor = Callable[..., CacSourceSettings]

CN = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三",
      "十四", "十五", "十六", "十七", "十八"]
DS_BATCH_1 = "国家互联网信息办公室关于发布深度合成服务算法备案信息的公告"
REC_PAGE = "/2022-08/12/c_1661927474338504.htm"
GENAI_PAGE = "/2024-04/02/c_1713729983803145.htm"
CHANNEL_1 = "/wxzw/wxfb/A093702index_1.htm"
CHANNEL_2 = "/wxzw/wxfb/A093702index_2.htm"


def ds_title(n: int) -> str:
    return f"国家互联网信息办公室关于发布第{CN[n]}批深度合成服务算法备案信息的公告"


# -- classification -------------------------------------------------------------------


@pytest.mark.parametrize("n", range(2, 19))
def test_all_deep_synthesis_batch_titles(n: int) -> None:
    assert classify_title(ds_title(n)) is Kind.DEEP_SYNTHESIS
    assert batch_number(ds_title(n)) == n
    assert not is_cancellation_title(ds_title(n))


def test_deep_synthesis_batch_one() -> None:
    assert classify_title(DS_BATCH_1) is Kind.DEEP_SYNTHESIS
    assert batch_number(DS_BATCH_1) == 1
    # The notice API drops the issuer prefix.
    assert classify_title("关于发布第二批深度合成服务算法备案信息的公告") is Kind.DEEP_SYNTHESIS


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("国家互联网信息办公室关于发布互联网信息服务算法备案信息的公告", Kind.ALGORITHM_RECOMMENDATION),
        ("境内互联网信息服务算法备案清单（2022年8月）", Kind.ALGORITHM_RECOMMENDATION),
        ("境内互联网信息服务算法备案清单(2023年01月)", Kind.ALGORITHM_RECOMMENDATION),
        ("境内深度合成服务算法备案清单（2024年4月）", Kind.DEEP_SYNTHESIS),
        ("生成式人工智能服务已备案信息", Kind.GENAI_SERVICE),
        ("生成式人工智能服务已备案信息（2025年1月）", Kind.GENAI_SERVICE),
        ("国家互联网信息办公室关于发布生成式人工智能服务已备案信息的公告", Kind.GENAI_SERVICE),
        ("国家互联网信息办公室关于发布2024年生成式人工智能服务已备案信息的公告", Kind.GENAI_SERVICE),
        ("已完成备案和登记的生成式人工智能服务汇总", Kind.GENAI_SERVICE),
        ("生成式人工智能服务已登记信息（2024年8月）", Kind.GENAI_SERVICE),
        ("截至2024年底共302款生成式人工智能服务在国家网信办完成备案", Kind.GENAI_SERVICE),
        ("国家互联网信息办公室 关于发布第十七批 深度合成服务算法备案信息的公告", Kind.DEEP_SYNTHESIS),
        ("关于发布第三批深度合成服务算法备案信息的公告_中国网信网", Kind.DEEP_SYNTHESIS),
    ],
)
def test_list_titles_and_names(title: str, kind: Kind) -> None:
    assert classify_title(title) is kind


@pytest.mark.parametrize(
    "title",
    [
        "国家互联网信息办公室关于发布第四批境内生成式人工智能服务安全评估结果的说明",
        "国家互联网信息办公室关于发布深度合成服务算法备案有关问题的答记者问（第十一期）",
        "深度合成服务算法备案有关问题的答记者问",
        "国家互联网信息办公室关于发布第十二批境内区块链信息服务备案编号的公告",
        "国家互联网信息办公室关于发布第十一批互联网新闻信息服务单位许可信息的公告",
        "国家网信办部署开展“清朗·十五”系列专项行动",
        "生成式人工智能服务管理暂行办法",
        "互联网信息服务深度合成管理规定",
        "关于互联网信息服务算法备案系统上线的公告",
        "关于开展生成式人工智能服务备案工作的通知",
        "生成式人工智能服务备案指南",
        "国家互联网信息办公室关于注销第三批境内区块链信息服务备案编号的公告",
        "",
    ],
)
def test_look_alikes_are_ignored(title: str) -> None:
    assert classify_title(title) is None
    assert not is_cancellation_title(title)


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("关于注销部分深度合成服务算法备案的公告", Kind.DEEP_SYNTHESIS),
        ("算法备案注销信息（2024年8月）", Kind.ALGORITHM_RECOMMENDATION),
        ("关于注销部分互联网信息服务算法备案的公告", Kind.ALGORITHM_RECOMMENDATION),
        ("生成式人工智能服务备案注销信息", Kind.GENAI_SERVICE),
    ],
)
def test_cancellations(title: str, kind: Kind) -> None:
    assert is_cancellation_title(title)
    assert classify_title(title) is kind


@pytest.mark.parametrize(
    ("title", "n"),
    [("第十批", 10), ("第十七批", 17), ("第二十批", 20), ("第二十三批", 23), ("第九十九批", 99),
     ("第3批深度合成", 3), ("第１２批", 12), ("第一百零一批", 101), ("互联网信息服务算法备案信息", None)],
)
def test_batch_numbers(title: str, n: int | None) -> None:
    assert batch_number(title) == n


# -- parsing ---------------------------------------------------------------------------


def test_parse_channel_page(replica_readonly: ReplicaServer) -> None:
    url = replica_readonly.url(CHANNEL_1)
    items, next_url = parse_channel_page(replica_readonly.read(CHANNEL_1), url)
    assert len(items) == 10
    assert items[2].title == "生成式人工智能服务已备案信息"
    assert items[2].url == replica_readonly.url(GENAI_PAGE)
    assert items[2].published_on == "2024-04-02"
    assert items[2].signal is SourceSignal.CHANNEL
    assert next_url == replica_readonly.url(CHANNEL_2)
    items2, next2 = parse_channel_page(replica_readonly.read(CHANNEL_2), replica_readonly.url(CHANNEL_2))
    assert len(items2) == 5 and next2 is None


def test_parse_article(replica_readonly: ReplicaServer) -> None:
    url = replica_readonly.url(REC_PAGE)
    title, published, attachments = parse_article(replica_readonly.read(REC_PAGE), url)
    assert title == "国家互联网信息办公室关于发布互联网信息服务算法备案信息的公告"
    assert published == "2022-08-12"
    assert [name for name, _ in attachments] == [
        "境内互联网信息服务算法备案清单（2023年1月）",
        "境内互联网信息服务算法备案清单（2022年10月）",
        "境内互联网信息服务算法备案清单（2022年8月）",
    ]
    assert all(u.startswith(replica_readonly.base_url + "/cms/pub/interact/downloadfile.jsp?filepath=") for _, u in attachments)


def test_parse_article_fallbacks() -> None:
    html = """<html><head><meta name="ArticleTitle" content="生成式人工智能服务已备案信息">
    <meta name="PubDate" content="2025-03-04 09:00"></head><body><div class="TRS_Editor">
    <p>附件1：<a href="/cms/pub/interact/downloadfile.jsp?filepath=A/B~C&fText=%E7%94%9F%E6%88%90%E5%BC%8F%E4%BA%BA%E5%B7%A5%E6%99%BA%E8%83%BD%E6%9C%8D%E5%8A%A1%E5%B7%B2%E5%A4%87%E6%A1%88%E4%BF%A1%E6%81%AF(2025%E5%B9%B403%E6%9C%88)"></a></p>
    <p><a href="/cms/pub/interact/downloadfile.jsp?filepath=A/B~C&fText=dup">重复</a></p>
    <p><a href="http://www.cac.gov.cn/2024-01/01/c_1.htm">相关链接</a></p>
    </div></body></html>"""
    title, published, attachments = parse_article(html, "https://www.cac.gov.cn/2025-03/04/c_9.htm")
    assert title == "生成式人工智能服务已备案信息"
    assert published == "2025-03-04"
    assert attachments == [
        (
            "生成式人工智能服务已备案信息(2025年03月)",
            "https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=A/B~C&fText="
            "%E7%94%9F%E6%88%90%E5%BC%8F%E4%BA%BA%E5%B7%A5%E6%99%BA%E8%83%BD%E6%9C%8D%E5%8A%A1"
            "%E5%B7%B2%E5%A4%87%E6%A1%88%E4%BF%A1%E6%81%AF(2025%E5%B9%B403%E6%9C%88)",
        )
    ]


def test_attachments_after_the_editor_div() -> None:
    html = """<html><body><h1 class="title">生成式人工智能服务已备案信息</h1><div class="TRS_Editor"><p>正文</p></div>
    <div class="attach"><a href="/cms/pub/interact/downloadfile.jsp?filepath=Z&fText=x">生成式人工智能服务已备案信息（2024年4月）</a>
    <a href="/2024-01/01/c_1.htm">上一篇</a></div></body></html>"""
    _, _, attachments = parse_article(html, "https://www.cac.gov.cn/a/b.htm")
    assert [n for n, _ in attachments] == ["生成式人工智能服务已备案信息（2024年4月）"]


def test_attachment_key_ignores_ftext() -> None:
    a = "https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=A/B~C&fText=%E6%B8%85"
    b = "https://WWW.cac.gov.cn/cms/pub/interact/downloadfile.jsp?fText=other&filepath=A%2FB~C"
    assert attachment_key(a) == attachment_key(b)
    assert attachment_key(a) != attachment_key(a.replace("A/B~C", "A/B~D"))
    assert page_key("http://www.cac.gov.cn/x.htm#top") == page_key("https://www.cac.gov.cn/x.htm")


# -- full discovery ----------------------------------------------------------------------

EXPECTED = {
    (Kind.DEEP_SYNTHESIS, "2023-06", "/2023-06/20/c_1688910683316256.htm"),
    (Kind.DEEP_SYNTHESIS, "2023-08", "/2023-09/01/c_1695224377544009.htm"),
    (Kind.DEEP_SYNTHESIS, "2024-01", "/2024-01/05/c_1706119043746644.htm"),
    (Kind.ALGORITHM_RECOMMENDATION, "2022-08", REC_PAGE),
    (Kind.ALGORITHM_RECOMMENDATION, "2022-10", REC_PAGE),
    (Kind.ALGORITHM_RECOMMENDATION, "2023-01", REC_PAGE),
    (Kind.GENAI_SERVICE, "2024-04", GENAI_PAGE),
    (Kind.GENAI_SERVICE, "2024-08", GENAI_PAGE),
    (Kind.GENAI_SERVICE, "2025-01", GENAI_PAGE),
}


async def run(settings: CacSourceSettings, known: set[str] | None = None,
              store: MemoryValidatorStore | None = None) -> tuple[DiscoveryResult, Fetcher]:
    async with Fetcher(settings, store if store is not None else MemoryValidatorStore(), backoff_base=0.01) as fetcher:
        result = await discover(fetcher, settings, known_pages=known or set())
    return result, fetcher


def summary(server: ReplicaServer, result: DiscoveryResult) -> set[tuple[Kind, str, str]]:
    return {(r.kind, r.list_month, r.page_url.removeprefix(server.base_url)) for r in result.lists}


async def test_full_discovery_finds_the_nine_lists(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    result, _ = await run(cac_settings)
    assert result.errors == []
    assert summary(replica, result) == EXPECTED
    assert len(result.lists) == 9
    for ref in result.lists:
        assert ref.attachment_url.startswith(replica.base_url + "/cms/pub/interact/downloadfile.jsp?filepath=")
        assert ref.name.endswith("月）")
        assert not ref.is_cancellation
        assert ref.published_on is not None
    ds = [r for r in result.lists if r.kind is Kind.DEEP_SYNTHESIS]
    assert [batch_number(r.title) for r in ds] == [1, 2, 3]
    # Chronological order, so "first seen in" is the oldest list.
    assert [r.list_month for r in result.lists] == sorted(r.list_month for r in result.lists)
    # Look-alikes were never fetched.
    fetched = {r.path for r in replica.requests}
    assert "/2024-04/03/c_1796961924625055.htm" not in fetched  # 安全评估
    assert "/2022-08/13/c_4554146545397231.htm" not in fetched  # 答记者问
    assert not any("downloadfile" in p for p in fetched)  # discovery never downloads lists
    urls = {a.url for a in result.announcements}
    assert replica.url(REC_PAGE) in urls and replica.url(GENAI_PAGE) in urls


async def test_second_discovery_stops_at_known_ground(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    store = MemoryValidatorStore()
    first, fetcher = await run(cac_settings, store=store)
    first.commit(fetcher)  # the caller stored the lists
    known = {a.url for a in first.announcements}
    replica.reset_log()
    second, _ = await run(cac_settings, known, store)
    assert second.errors == []
    paths = sorted(r.path for r in replica.requests)
    assert paths == sorted([CHANNEL_1, REC_PAGE, GENAI_PAGE, "/api/notice/list"])
    # The in-place pages did not change: 304, and the caller reuses its stored refs.
    assert sorted(second.unchanged_pages) == sorted([replica.url(REC_PAGE), replica.url(GENAI_PAGE)])
    assert second.lists == []
    assert second.pages_fetched == 4


async def test_without_commit_in_place_pages_are_read_again(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    store = MemoryValidatorStore()
    first, _ = await run(cac_settings, store=store)
    second, _ = await run(cac_settings, {a.url for a in first.announcements}, store)
    assert second.unchanged_pages == []
    assert len(second.lists) == 6  # the in-place lists, again


def channel_html(items: list[tuple[str, str, str]], next_href: str | None) -> str:
    lis = "\n".join(
        f'<li><h5><a href="{href}" target="_blank">{title}</a></h5><div class="times">{date}</div></li>'
        for href, title, date in items
    )
    pager = f'<div id="Page"><a href="{next_href}">下一页</a></div>' if next_href else ""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>网信发布_中国网信网</title></head>'
        f'<body><div id="loadingInfoPage"><ul class="list">{lis}</ul></div>{pager}</body></html>'
    )


def article_html(title: str, date: str, attachments: list[tuple[str, str]]) -> str:
    links = "".join(
        f'<p>附件{i}：<a href="/cms/pub/interact/downloadfile.jsp?filepath={token}&fText={quote(name)}">{name}</a></p>'
        for i, (name, token) in enumerate(attachments, 1)
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}"></head>'
        f'<body><h1 class="title">{title}</h1><div class="pages-date">{date} 16:00:00</div>'
        f'<div class="TRS_Editor"><p>正文。</p>{links}</div></body></html>'
    )


def add_batch(server: ReplicaServer, path: str, n: int, month: str, date: str) -> None:
    token = f"BATCH{n}~tok/{n}"
    y, m = month.split("-")
    name = f"境内深度合成服务算法备案清单（{y}年{int(m)}月）"
    server.set_page(path, article_html(ds_title(n), date, [(name, token)]))
    server.add_route(f"/cms/pub/interact/downloadfile.jsp?filepath={token}", b"PK\x03\x04", "application/octet-stream")


def original_items(server: ReplicaServer, path: str) -> list[tuple[str, str, str]]:
    items, _ = parse_channel_page(server.read(path), server.url(path))
    return [(a.url.removeprefix(server.base_url), a.title, a.published_on or "") for a in items]


async def test_pagination_over_several_channel_pages(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    page1, page2 = original_items(replica, CHANNEL_1), original_items(replica, CHANNEL_2)
    noise = [(f"/2024-06/0{i}/c_{i}.htm", f"国家网信办召开第{CN[i]}次座谈会", f"2024-06-0{i}") for i in range(1, 9)]
    add_batch(replica, "/2024-05/10/c_4.htm", 4, "2024-04", "2024-05-10")
    new_first = [("/2024-05/10/c_4.htm", ds_title(4), "2024-05-10"), *noise]
    replica.set_page(CHANNEL_1, channel_html(new_first, "A093702index_2.htm"))
    replica.set_page(CHANNEL_2, channel_html(page1, "A093702index_3.htm"))
    replica.set_page("/wxzw/wxfb/A093702index_3.htm", channel_html(page2[:2], "A093702index_4.htm"))
    replica.set_page("/wxzw/wxfb/A093702index_4.htm", channel_html(page2[2:], None))

    first, _ = await run(cac_settings)
    assert first.errors == []
    assert len(first.lists) == 10
    assert (Kind.DEEP_SYNTHESIS, "2024-04", "/2024-05/10/c_4.htm") in summary(replica, first)
    assert len(replica.requests_to("/wxzw/wxfb/")) == 4

    # Known ground: batch 4 is new, page 2 is all known, pages 3-4 are not read.
    known = {a.url for a in first.announcements if "c_4.htm" not in a.url}
    replica.reset_log()
    second, _ = await run(cac_settings, known)
    assert [r.path for r in replica.requests_to("/wxzw/wxfb/")] == [CHANNEL_1, CHANNEL_2]
    ds_new = [r for r in second.lists if r.kind is Kind.DEEP_SYNTHESIS]
    assert [(r.list_month, r.page_url) for r in ds_new] == [("2024-04", replica.url("/2024-05/10/c_4.htm"))]


async def test_max_channel_pages(replica: ReplicaServer, cac_settings_for: SettingsFor) -> None:
    for n in range(1, 8):
        replica.set_page(
            f"/wxzw/wxfb/A093702index_{n}.htm",
            channel_html([(f"/x/{n}.htm", f"国家网信办召开第{CN[n]}次座谈会", "2024-01-01")], f"A093702index_{n + 1}.htm"),
        )
    settings = cac_settings_for(replica, max_channel_pages=3)
    result, _ = await run(settings)
    assert len(replica.requests_to("/wxzw/wxfb/")) == 3
    assert result.fatal_errors == []


async def test_channel_pager_without_next_link_follows_page_numbers(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    html = replica.read(CHANNEL_1).decode().replace(">下一页<", ">&gt;&gt;<")
    replica.set_page(CHANNEL_1, html)
    result, _ = await run(cac_settings)
    assert summary(replica, result) == EXPECTED


async def test_new_attachment_on_in_place_page_is_a_new_list(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    store = MemoryValidatorStore()
    first, fetcher = await run(cac_settings, store=store)
    first.commit(fetcher)
    known = {a.url for a in first.announcements}

    html = replica.read(GENAI_PAGE).decode()
    name = "生成式人工智能服务已备案信息（2025年5月）"
    link = (
        f'<p>　　附件4：<a href="/cms/pub/interact/downloadfile.jsp?filepath=NEW~genai/4&fText={quote(name)}">{name}</a></p>'
    )
    replica.set_page(GENAI_PAGE, html.replace('<div class="TRS_Editor">\n', '<div class="TRS_Editor">\n' + link, 1))
    replica.add_route("/cms/pub/interact/downloadfile.jsp?filepath=NEW~genai/4", b"%PDF-1.7", "application/octet-stream")

    second, _ = await run(cac_settings, known, store)
    assert second.errors == []
    assert replica.url(REC_PAGE) in second.unchanged_pages
    genai = {(r.list_month, r.name) for r in second.lists if r.kind is Kind.GENAI_SERVICE}
    assert ("2025-05", name) in genai
    assert len(genai) == 4  # the page changed: all its lists are reported again
    new = [r for r in second.lists if r.list_month == "2025-05"]
    assert new[0].attachment_url == replica.url(f"/cms/pub/interact/downloadfile.jsp?filepath=NEW~genai/4&fText={quote(name)}")
    assert new[0].page_url == replica.url(GENAI_PAGE)


async def test_blocked_channel_page_is_an_error(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    replica.add_route(CHANNEL_1, WAF_PAGE, "text/html; charset=utf-8")
    result, _ = await run(cac_settings)
    assert any(isinstance(e, Blocked) and e.url == replica.url(CHANNEL_1) for e in result.fatal_errors)


async def test_whole_site_blocked(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    replica.waf = True
    result, _ = await run(cac_settings)
    assert result.lists == []
    assert len(result.fatal_errors) == 3  # channel page 1 and both in-place pages
    assert all(isinstance(e, Blocked) for e in result.errors)


async def test_blocked_in_place_page_is_an_error(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    replica.set_page(REC_PAGE, "")
    result, _ = await run(cac_settings)
    assert [e.url for e in result.fatal_errors] == [replica.url(REC_PAGE)]
    assert "empty page" in result.fatal_errors[0].reason


async def test_server_errors_are_errors(replica: ReplicaServer, cac_settings_for: SettingsFor) -> None:
    replica.fail_status = 500
    result, _ = await run(cac_settings_for(replica, retries=0))
    assert result.lists == [] and len(result.fatal_errors) == 3


async def test_notice_api_failure_is_not_fatal(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    replica.add_route("/api/notice/list", b'{"errno": 500, "errmsg": "busy", "datas": []}', "application/json")
    result, _ = await run(cac_settings)
    assert summary(replica, result) == EXPECTED
    assert result.fatal_errors == []
    assert len(result.signal_errors) == 1 and result.signal_errors[0] in result.errors
    assert isinstance(result.signal_errors[0], InvalidResponse)
    assert "errno 500" in result.signal_errors[0].reason


async def test_notice_api_finds_a_batch_missing_from_the_channel(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    add_batch(replica, "/2024-03/28/c_4.htm", 4, "2024-03", "2024-03-28")
    data = json.loads(replica.read("/api/notice/list"))
    data["datas"].insert(0, {"noticeId": "n4", "type": 3, "title": "关于发布第四批深度合成服务算法备案信息的公告",
                             "content": replica.url("/2024-03/28/c_4.htm"), "createTime": "2024-03-28 16:00:00"})
    data["datas"].append({"noticeId": "x", "type": 1, "title": "关于开展算法备案培训的通知",
                          "content": replica.url("/nope.htm"), "createTime": "2024-03-01 10:00:00"})
    replica.add_route("/api/notice/list", json.dumps(data, ensure_ascii=False).encode(), "application/json")
    result, _ = await run(cac_settings)
    assert result.errors == []
    assert (Kind.DEEP_SYNTHESIS, "2024-03", "/2024-03/28/c_4.htm") in summary(replica, result)
    assert len(result.lists) == 10
    [ann] = [a for a in result.announcements if a.url.endswith("/2024-03/28/c_4.htm")]
    assert ann.signal is SourceSignal.NOTICE_API
    assert not replica.requests_to("/nope.htm")


async def test_truncated_channel_title_is_resolved_by_the_article(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    add_batch(replica, "/2024-05/10/c_5.htm", 5, "2024-05", "2024-05-10")
    items = original_items(replica, CHANNEL_1)
    items.insert(0, ("/2024-05/10/c_5.htm", "国家互联网信息办公室关于发布第五批深度合成服务算法备...", "2024-05-10"))
    replica.set_page(CHANNEL_1, channel_html(items, "A093702index_2.htm"))
    result, _ = await run(cac_settings)
    refs = [r for r in result.lists if r.page_url.endswith("/2024-05/10/c_5.htm")]
    assert [(r.kind, r.list_month, r.title) for r in refs] == [(Kind.DEEP_SYNTHESIS, "2024-05", ds_title(5))]


async def test_list_month_falls_back_to_page_date(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    replica.set_page(
        "/2024-07/01/c_7.htm",
        article_html(ds_title(6), "2024-07-01", [("境内深度合成服务算法备案清单", "NOMONTH")]),
    )
    items = original_items(replica, CHANNEL_1)
    items.insert(0, ("/2024-07/01/c_7.htm", ds_title(6), "2024-07-01"))
    replica.set_page(CHANNEL_1, channel_html(items, "A093702index_2.htm"))
    result, _ = await run(cac_settings)
    [ref] = [r for r in result.lists if r.page_url.endswith("/2024-07/01/c_7.htm")]
    assert ref.list_month == "2024-07"


async def test_cancellation_notice_is_flagged(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    title = "关于注销部分深度合成服务算法备案的公告"
    replica.set_page("/2024-09/01/c_9.htm", article_html(title, "2024-09-01", [("深度合成服务算法备案注销信息（2024年8月）", "CANCEL")]))
    items = original_items(replica, CHANNEL_1)
    items.insert(0, ("/2024-09/01/c_9.htm", title, "2024-09-01"))
    replica.set_page(CHANNEL_1, channel_html(items, "A093702index_2.htm"))
    result, _ = await run(cac_settings)
    [ref] = [r for r in result.lists if r.is_cancellation]
    assert (ref.kind, ref.list_month) == (Kind.DEEP_SYNTHESIS, "2024-08")
    assert len(result.lists) == 10


# -- GenAI: annual summaries, the on-device notice, stated totals -----------------------------

GENAI_SUMMARY_2024 = "2024年生成式人工智能服务已备案信息"


@pytest.mark.parametrize(
    ("title", "year", "summary"),
    [
        (GENAI_SUMMARY_2024, 2024, True),
        ("国家互联网信息办公室关于发布2024年生成式人工智能服务已备案信息的公告", 2024, True),
        ("2025年度生成式人工智能服务已备案和已登记信息", 2025, True),
        ("生成式人工智能服务已备案信息汇总", None, True),
        ("生成式人工智能服务已备案和已登记信息（2024年8月）", None, False),
        ("2025年1-3月生成式人工智能服务已备案信息", None, False),  # a period, not a year
        ("生成式人工智能服务已备案信息", None, False),  # the in-place page
        ("关于发布7款提供手机端侧生成式人工智能服务已备案信息的公告", None, False),
        ("2024年深度合成服务算法备案注销信息", None, False),  # a 注销 list is no summary
        ("2024年区块链信息服务备案编号", None, False),  # not a filing list at all
    ],
)
def test_summary_titles(title: str, year: int | None, summary: bool) -> None:
    from scrapers.sources.cac.titles import is_summary_title, summary_year

    assert summary_year(title) == year
    assert is_summary_title(title) is summary


async def test_an_annual_summary_is_marked_and_gets_a_month(replica: ReplicaServer, cac_settings: CacSourceSettings) -> None:
    title = "国家互联网信息办公室关于发布2024年生成式人工智能服务已备案信息的公告"
    replica.set_page("/2025-01/10/c_s.htm", article_html(title, "2025-01-10", [(GENAI_SUMMARY_2024, "SUMMARY2024")]))
    items = original_items(replica, CHANNEL_1)
    items.insert(0, ("/2025-01/10/c_s.htm", title, "2025-01-10"))
    replica.set_page(CHANNEL_1, channel_html(items, "A093702index_2.htm"))
    result, _ = await run(cac_settings)
    [ref] = [r for r in result.lists if r.is_summary]
    # No month in its name: the month it was published (never before the December of its year).
    assert (ref.kind, ref.list_month, ref.name) == (Kind.GENAI_SERVICE, "2025-01", GENAI_SUMMARY_2024)
    assert not any(r.is_summary for r in result.lists if r is not ref)


async def test_the_on_device_notice_page_is_a_list_and_statements_are_read(
    replica: ReplicaServer, cac_settings: CacSourceSettings
) -> None:
    notice = "国家互联网信息办公室关于发布7款提供手机端侧生成式人工智能服务已备案信息的公告"
    head = "".join(f"<td>{h}</td>" for h in ["序号", "属地", "模型名称", "备案单位", "备案编号", "备案时间", "适用场景"])
    row = "".join(f"<td>{v}</td>" for v in ["1", "上海市", "端侧模型", "苹果技术开发（上海）有限公司",
                                             "Shanghai-DuanCe-202607010001", "2026/7/1", "苹果手机"])
    replica.set_page("/2026-07/15/c_n.htm", (
        f"<html><body><h1 class='title'>{notice}</h1><div class='pages-date'>2026-07-15 10:00:00</div>"
        f"<div class='TRS_Editor'><p>现将7款服务信息公告如下。</p><table><tr>{head}</tr><tr>{row}</tr></table></div></body></html>"
    ))
    stating = "国家互联网信息办公室关于发布生成式人工智能服务已备案信息的公告"
    replica.set_page("/2026-07/10/c_t.htm", (
        f"<html><body><h1 class='title'>{stating}</h1><div class='pages-date'>2026-07-10 10:00:00</div>"
        "<div class='TRS_Editor'><p>　　截至2026年6月30日，共有988款生成式人工智能服务在国家网信办完成备案，"
        f"598款生成式人工智能应用或功能在地方网信办完成登记。</p><p><a href='{GENAI_PAGE}'>详见</a></p></div></body></html>"
    ))
    items = original_items(replica, CHANNEL_1)
    items[:0] = [("/2026-07/15/c_n.htm", notice, "2026-07-15"), ("/2026-07/10/c_t.htm", stating, "2026-07-10")]
    replica.set_page(CHANNEL_1, channel_html(items, "A093702index_2.htm"))
    result, _ = await run(cac_settings)
    assert result.errors == []
    [ref] = [r for r in result.lists if r.page_url.endswith("/2026-07/15/c_n.htm")]
    assert (ref.kind, ref.list_month, ref.attachment_url, ref.name) == (
        Kind.GENAI_SERVICE, "2026-07", replica.url("/2026-07/15/c_n.htm"), notice
    )
    [announcement] = [a for a in result.announcements if a.url.endswith("/2026-07/10/c_t.htm")]
    assert [(t.as_of, t.filed, t.registered) for t in announcement.totals] == [("2026-06-30", 988, 598)]
    # A statement without a list is no "relevant page without attachments".
    assert not [w for w in result.warnings if "c_t.htm" in w]
    assert not [r for r in result.lists if r.page_url.endswith("/2026-07/10/c_t.htm")]
# --- issue 19: a bad href is skipped, never fatal ---------------------------------------------


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/cms/pub/interact/downloadfile.jsp?filepath=A", "https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=A"),
        ("http://[zz/cms/pub/interact/downloadfile.jsp", None),
        ("java\tscript:alert(1)//downloadfile.jsp", None),
        ("JavaScript:void(0)", None),
        ("data:text/html,<b>x</b>.docx", None),
        ("vbscript:msgbox(1).pdf", None),
        ("mailto:suanfa@cac.gov.cn", None),
        ("http://127.0.0.1:99999999/a.docx", None),
        ("  ", None),
    ],
)
def test_web_link_keeps_only_http_links_that_parse(href: str, expected: str | None) -> None:
    from scrapers.sources.cac.pages import web_link

    assert web_link("https://www.cac.gov.cn/2024-01/05/c_1.htm", href) == expected


def test_a_page_with_bad_links_still_gives_its_good_ones() -> None:
    from scrapers.sources.cac.pages import parse_article, parse_channel_page

    bad = ['http://[zz/a.docx', 'java&#9;script:alert(1)//a.docx', 'data:text/html,x.pdf']
    links = "".join(f'<li><h5><a href="{href}">境内深度合成服务算法备案清单</a></h5></li>' for href in bad)
    channel = f'<div id="loadingInfoPage"><ul>{links}<li><h5><a href="/2024-01/05/c_2.htm">公告</a></h5></li></ul></div><a href="http://[zz/">下一页</a>'
    items, next_url = parse_channel_page(channel, "https://www.cac.gov.cn/wxzw/index_1.htm")
    assert [item.url for item in items] == ["https://www.cac.gov.cn/2024-01/05/c_2.htm"] and next_url is None
    article = "".join(f'<a href="{href}">附件</a>' for href in bad) + '<a href="/cms/pub/interact/downloadfile.jsp?filepath=B">清单</a>'
    _, _, attachments = parse_article(f'<div class="TRS_Editor">{article}</div>', "https://www.cac.gov.cn/2024-01/05/c_2.htm")
    assert [url for _, url in attachments] == ["https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=B"]
