"""bot.changes.watchlist: precision and recall on the 245 real filer names of the sample, regexes,
English names, thresholds and odd input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.changes.companies import big_tech_group
from bot.changes.watchlist import Watchlist, WatchHit, check_pattern, company_core

SAMPLE = Path(__file__).parent / "data" / "expected.jsonl"
ENTITIES = sorted({json.loads(line)["entity"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line})


def hits(pattern: str, threshold: float = 90) -> set[str]:
    watchlist = Watchlist([pattern], threshold=threshold)
    return {entity for entity in ENTITIES if watchlist.match(entity) is not None}


def containing(fragment: str) -> set[str]:
    return {entity for entity in ENTITIES if fragment in entity}


@pytest.mark.parametrize("pattern", ["腾讯", "阿里巴巴", "百度", "网易", "讯飞", "科大讯飞", "深度求索", "华为", "抖音", "智谱", "小度"])
def test_short_names_hit_exactly_the_names_containing_them(pattern: str) -> None:
    expected = containing(pattern)
    assert expected, pattern
    assert hits(pattern) == expected


def test_counts_on_the_sample() -> None:
    assert hits("腾讯") == {"深圳市腾讯计算机系统有限公司", "腾讯音乐娱乐（深圳）有限公司"}
    assert hits("阿里巴巴") == {
        "阿里巴巴（中国）有限公司",
        "阿里巴巴达摩院（杭州）科技有限公司",
        "杭州阿里巴巴广告有限公司",
        "浙江阿里巴巴闲鱼网络科技有限公司",
    }
    assert len(hits("网易")) == 7


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("北京智谱华章科技有限公司", {"北京智谱华章科技有限公司"}),
        ("阿里巴巴（中国）有限公司", {"阿里巴巴（中国）有限公司"}),  # its core 阿里巴巴 is in the others too…
        ("杭州网易雷火科技有限公司", {"杭州网易雷火科技有限公司"}),
        ("深圳腾讯计算机系统有限公司", {"深圳市腾讯计算机系统有限公司"}),  # 市 missing: fuzzy
        ("杭州深度求索人工智能基础技朮研究有限公司", {"杭州深度求索人工智能基础技术研究有限公司"}),  # a wrong character
        ("商汤科技", {"上海商汤智能科技有限公司"}),  # brand + industry word
        ("百度在线", set()),  # a different Baidu company: 北京百度网讯 must not match
        ("字节跳动", set()),  # Chinese names are not expanded to groups (see "ByteDance")
        ("美团", set()),
        ("腾讯科技", set()),  # 腾讯科技（深圳） is another company than 深圳市腾讯计算机系统
    ],
)
def test_full_names_and_fuzzy(pattern: str, expected: set[str]) -> None:
    found = hits(pattern)
    if pattern == "阿里巴巴（中国）有限公司":
        # A full legal name reduces to its core and so finds the whole 阿里巴巴 family; the
        # exact company scores no lower than the others.
        assert found == containing("阿里巴巴")
        return
    assert found == expected


def test_fuzzy_scores() -> None:
    watchlist = Watchlist(["深圳腾讯计算机系统有限公司"])
    hit = watchlist.match("深圳市腾讯计算机系统有限公司")
    assert hit is not None and 90 <= hit.score < 100 and hit.method == "fuzzy"
    exact = Watchlist(["腾讯"]).match("深圳市腾讯计算机系统有限公司")
    assert exact == WatchHit("腾讯", 100.0, "name")
    # A stricter threshold drops the fuzzy hit, never the containment.
    assert Watchlist(["深圳腾讯计算机系统有限公司"], threshold=99).match("深圳市腾讯计算机系统有限公司") is None
    assert Watchlist(["腾讯"], threshold=100).match("深圳市腾讯计算机系统有限公司") is not None


def test_full_width_and_spacing_do_not_matter() -> None:
    watchlist = Watchlist(["阿里巴巴(中国)有限公司"])
    assert watchlist.match("阿里巴巴（中国）有限公司") is not None
    assert Watchlist(["北京 智谱华章"]).match("北京智谱华章科技有限公司") is not None


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("re:^北京.*传媒", {"北京大麦文化传媒发展有限公司", "北京网易传媒有限公司", "北京蓝城兄弟文化传媒有限公司", "北京领讯时代文化传媒有限公司"}),
        ("re:(网易|腾讯)", containing("网易") | containing("腾讯")),
        ("re:（深圳）", {"腾讯音乐娱乐（深圳）有限公司"}),  # as written in the list…
        ("re:\\(深圳\\)", {"腾讯音乐娱乐（深圳）有限公司"}),  # …or in its NFKC form
        ("re:computer systems", {e for e in ENTITIES if "计算机系统" in e}),  # the English name
    ],
)
def test_regex(pattern: str, expected: set[str]) -> None:
    assert hits(pattern) == expected


def test_invalid_regex_is_skipped_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.changes.watchlist"):
        watchlist = Watchlist(["re:(", "腾讯", "re:"])
    assert watchlist.patterns == ["腾讯"] and watchlist.invalid == ["re:(", "re:"]
    assert "invalid regular expression" in caplog.text
    assert watchlist.match("深圳市腾讯计算机系统有限公司") is not None
    with pytest.raises(ValueError):
        check_pattern("re:(")
    with pytest.raises(ValueError):
        check_pattern("  ")
    check_pattern("re:^北京")
    check_pattern("腾讯")


@pytest.mark.parametrize(
    ("pattern", "group"),
    [("Alibaba", "alibaba"), ("ByteDance", "bytedance"), ("tencent", "tencent"), ("Meituan", "meituan"),
     ("NetEase", "netease"), ("Baidu", "baidu"), ("iFlytek", "iflytek"), ("Pinduoduo", "pinduoduo")],
)
def test_english_group_names_hit_their_subsidiaries(pattern: str, group: str) -> None:
    expected = {e for e in ENTITIES if (g := big_tech_group(e)) is not None and g.key == group}
    assert hits(pattern) == expected


def test_english_names() -> None:
    assert hits("ByteDance") == {"北京抖音信息服务有限公司"}
    assert hits("Zhipu") == {"北京智谱华章科技有限公司"}
    assert hits("Tencent Music") == {"腾讯音乐娱乐（深圳）有限公司"}  # words of the English name
    assert hits("TCL") == {"深圳TCL新技术有限公司"}  # Latin inside the Chinese name
    assert hits("Tencnet Music") == {"腾讯音乐娱乐（深圳）有限公司"}  # a typo in a long pattern
    assert hits("Tencnet") == set()  # …but not in a short one
    assert hits("HP") == set()  # no HP filer in the sample; and no "hp" inside other words
    hp = Watchlist(["HP"])
    assert hp.match("惠普贸易（上海）有限公司") == WatchHit("HP", 100.0, "group")
    assert hp.match("中国惠普有限公司") is not None
    assert hp.match("华为技术有限公司") is None
    assert Watchlist(["Microsoft"]).match("微软（中国）有限公司") is not None
    assert Watchlist(["Samsung"]).match("三星（中国）投资有限公司") is not None
    assert Watchlist(["Samsung"]).match("宁波三星医疗电气股份有限公司") is None


def test_matches_lists_every_pattern_and_match_takes_the_best() -> None:
    watchlist = Watchlist(["深圳腾讯计算机系统有限公司", "腾讯", "Tencent", "阿里巴巴"])
    entity = "深圳市腾讯计算机系统有限公司"
    assert [h.pattern for h in watchlist.matches(entity)] == ["深圳腾讯计算机系统有限公司", "腾讯", "Tencent"]
    assert watchlist.match(entity) == WatchHit("腾讯", 100.0, "name")  # first of the best
    assert watchlist.match("北京百度网讯科技有限公司") is None


def test_construction() -> None:
    assert not Watchlist([]) and len(Watchlist(["", "  ", "腾讯", "腾讯 "])) == 1
    with pytest.raises(ValueError):
        Watchlist(["腾讯"], threshold=0)
    with pytest.raises(ValueError):
        Watchlist(["腾讯"], threshold=101)
    assert "腾讯" in repr(Watchlist(["腾讯"]))


@pytest.mark.parametrize("entity", ["", "   ", None, 42, "<script>alert(1)</script>", "有限公司", "x" * 10_000])
def test_odd_entities(entity: object) -> None:
    watchlist = Watchlist(["腾讯", "re:^北京", "HP", "北京智谱华章科技有限公司"])
    assert watchlist.match(entity) is None  # type: ignore[arg-type]


def test_company_core() -> None:
    assert company_core("北京百度网讯科技有限公司") == "北京百度网讯科技"
    assert company_core("阿里巴巴（中国）有限公司") == "阿里巴巴"
    assert company_core("星环信息科技（上海）股份有限公司") == "星环信息科技"
    assert company_core("三六零科技集团有限公司") == "三六零科技"
    assert company_core("阿里巴巴（北京）软件服务有限公司北京分公司") == "阿里巴巴软件服务"
    assert company_core("有限公司") and company_core("公司") == "公司"  # never empty


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_match_never_raises(pattern: str, entity: str) -> None:
    watchlist = Watchlist([pattern])
    hit = watchlist.match(entity)
    assert hit is None or (hit.pattern == pattern.strip() and 0 < hit.score <= 100)
