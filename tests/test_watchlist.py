"""bot.changes.watchlist: precision and recall on the 447 real filer names of the sample, company
groups, regexes (RE2), English names, thresholds and odd input."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.changes.companies import big_tech_group
from bot.changes.resolver import company_of
from bot.changes.watchlist import FilingHit, Watchlist, company_core, filing_hits
from bot.settings.patterns import check_pattern

SAMPLE = Path(__file__).parent / "data" / "expected.jsonl"
ENTITIES = sorted({json.loads(line)["entity"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line})
# Each sample filer's group, labelled by hand (tests/data/company_labels.tsv, docs/companies.md).
_LABELS = [
    line.split("\t") for line in (Path(__file__).parent / "data" / "company_labels.tsv").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


def labelled(key: str) -> set[str]:
    return {row[0] for row in _LABELS if row[3] == "sample" and row[1] == key}


def hits(pattern: str, threshold: float = 90) -> set[str]:
    watchlist = Watchlist([pattern], threshold=threshold)
    return {entity for entity in ENTITIES if watchlist.match(entity)}


def containing(fragment: str) -> set[str]:
    return {entity for entity in ENTITIES if fragment in entity}


def group(key: str) -> set[str]:
    return {e for e in ENTITIES if (c := company_of(e)) is not None and c.key == key}


@pytest.mark.parametrize("pattern", ["网易", "深度求索", "华为", "智谱", "商汤", "同花顺"])
def test_short_names_hit_exactly_the_names_containing_them(pattern: str) -> None:
    expected = containing(pattern)
    assert expected, pattern
    assert hits(pattern) == expected


@pytest.mark.parametrize(
    ("patterns", "key"),
    [(("腾讯", "Tencent", "微信", "酷狗"), "tencent"), (("阿里巴巴", "Alibaba", "淘宝", "天猫", "支付宝", "阿里"), "alibaba"),
     (("字节跳动", "ByteDance", "抖音", "Douyin", "今日头条", "字节"), "bytedance"), (("百度", "Baidu", "文心一言"), "baidu")],
)
def test_group_names_and_brands_hit_the_whole_group(patterns: tuple[str, ...], key: str) -> None:
    # Chinese or English, group or brand: the same filers (字节跳动 files as 北京抖音信息服务有限公司).
    expected = group(key) | containing(patterns[0])
    assert expected >= group(key) and len(group(key)) >= 1
    for pattern in patterns:
        assert hits(pattern) >= group(key), pattern
    assert hits(patterns[0]) == hits(patterns[1]), patterns


def test_counts_on_the_sample() -> None:
    assert hits("腾讯") == labelled("tencent") >= {"深圳市腾讯计算机系统有限公司", "腾讯音乐娱乐（深圳）有限公司", "广州酷狗计算机科技有限公司",
                                                 "北京酷我科技有限公司", "深圳市懒人在线科技有限公司", "上海阅文信息技术有限公司"}
    assert hits("字节跳动") == labelled("bytedance") == {"北京抖音信息服务有限公司", "北京字跳网络技术有限公司"}
    assert "河北抖推猫网络科技服务有限公司" not in hits("抖音")
    assert hits("网易") == labelled("netease") and len(hits("网易")) == 8


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("北京智谱华章科技有限公司", {"北京智谱华章科技有限公司"}),
        ("阿里巴巴（中国）有限公司", {"阿里巴巴（中国）有限公司"}),  # its core 阿里巴巴 is in the others too…
        ("杭州网易雷火科技有限公司", {"杭州网易雷火科技有限公司"}),
        ("深圳腾讯计算机系统有限公司", {"深圳市腾讯计算机系统有限公司"}),  # 市 missing: fuzzy
        ("北京深度求索人工智能基础技朮研究有限公司", {"北京深度求索人工智能基础技术研究有限公司"}),  # a wrong character
        ("商汤科技", {"上海商汤智能科技有限公司"}),  # brand + industry word
        ("百度在线", set()),  # a different Baidu company: 北京百度网讯 must not match
        ("美团", {"北京三快科技有限公司", "上海汉涛信息咨询有限公司"}),  # the group, by its operating companies
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
    tencent = "深圳市腾讯计算机系统有限公司"
    watchlist = Watchlist(["深圳腾讯计算机系统有限公司"])
    score = watchlist.score(tencent, "深圳腾讯计算机系统有限公司")
    assert score is not None and 90 <= score < 100 and watchlist.method(tencent, "深圳腾讯计算机系统有限公司") == "fuzzy"
    exact = Watchlist(["腾讯"])
    assert (exact.score(tencent, "腾讯"), exact.method(tencent, "腾讯")) == (100.0, "group")
    assert Watchlist(["计算机系统"]).method(tencent, "计算机系统") == "name"
    # A stricter threshold drops the fuzzy hit, never the containment.
    assert Watchlist(["深圳腾讯计算机系统有限公司"], threshold=99).match(tencent) == []
    assert Watchlist(["腾讯"], threshold=100).match(tencent) == ["腾讯"]


def test_full_width_and_spacing_do_not_matter() -> None:
    watchlist = Watchlist(["阿里巴巴(中国)有限公司"])
    assert watchlist.match("阿里巴巴（中国）有限公司")
    assert Watchlist(["北京 智谱华章"]).match("北京智谱华章科技有限公司")
    assert Watchlist(["Ｂｙｔｅ Ｄａｎｃｅ"]).match("北京抖音信息服务有限公司")


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


def test_invalid_regex_is_refused_by_check_and_skipped_quietly(caplog: pytest.LogCaptureFixture) -> None:
    # check_pattern refuses it where it is added; an old row that slipped in is skipped without
    # a warning on every poll.
    with caplog.at_level(logging.WARNING, logger="bot.changes.watchlist"):
        watchlist = Watchlist(["re:(", "腾讯", "re:"])
    assert watchlist.patterns == ["腾讯"] and watchlist.invalid == ["re:(", "re:"]
    assert caplog.text == ""
    assert watchlist.match("深圳市腾讯计算机系统有限公司") == ["腾讯"]
    for bad in ("re:(", "re:[", "re:", "re:(?<=a)b", "re:" + "a" * 201):
        with pytest.raises(ValueError, match="watch pattern"):
            check_pattern(bad)
    with pytest.raises(ValueError):
        check_pattern("  ")
    check_pattern("re:^北京")
    check_pattern("腾讯")


@pytest.mark.parametrize("pattern", ["re:(.|.)*!", "re:(a+)+$", "re:(x+x+)+y", "re:^(\\w+\\s?)*$", "re:(.*a){20}"])
def test_hostile_regex_returns(pattern: str) -> None:
    # Catastrophic backtracking under Python's re (and holding the GIL); RE2 is linear. Run in a
    # thread so a regression fails the test instead of hanging the suite.
    names = ["a" * 5000, "北京" + "x" * 4000, "a" * 60 + "!", "深圳市腾讯计算机系统有限公司"]
    result: list[list[str]] = []

    def run() -> None:
        watchlist = Watchlist([pattern])
        result.append([name for name in names if watchlist.match(name)])

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), f"{pattern} did not return"
    assert len(result) == 1


@pytest.mark.parametrize(
    ("pattern", "group"),
    [("Alibaba", "alibaba"), ("ByteDance", "bytedance"), ("tencent", "tencent"), ("Meituan", "meituan"),
     ("NetEase", "netease"), ("Baidu", "baidu"), ("iFlytek", "iflytek"), ("Pinduoduo", "pinduoduo")],
)
def test_english_group_names_hit_their_subsidiaries(pattern: str, group: str) -> None:
    expected = {e for e in ENTITIES if (g := big_tech_group(e)) is not None and g.key == group}
    assert hits(pattern) == expected


def test_english_names() -> None:
    assert hits("ByteDance") == labelled("bytedance")
    assert hits("Zhipu") == labelled("zhipu") == {"北京智谱华章科技有限公司", "北京智谱领航科技有限公司"}
    assert hits("Tencent Music") == {"腾讯音乐娱乐（深圳）有限公司"}  # words of the English name
    assert hits("TCL") == {"深圳TCL新技术有限公司"}  # Latin inside the Chinese name
    assert hits("Tencnet Music") == {"腾讯音乐娱乐（深圳）有限公司"}  # a typo in a long pattern
    assert hits("Tencnet") == set()  # …but not in a short one
    assert hits("HP") == set()  # no HP filer in the sample; and no "hp" inside other words
    hp = Watchlist(["HP", "惠普"])
    assert hp.match("惠普贸易（上海）有限公司") == ["HP", "惠普"]
    assert hp.method("惠普贸易（上海）有限公司", "HP") == "group"
    assert hp.match("中国惠普有限公司") == ["HP", "惠普"]
    assert hp.match("华为技术有限公司") == []
    assert Watchlist(["Microsoft"]).match("微软（中国）有限公司")
    assert Watchlist(["Samsung"]).match("三星（中国）投资有限公司")
    assert not Watchlist(["Samsung"]).match("宁波三星医疗电气股份有限公司")
    # Foreign filers as they really file, and their look-alikes.
    for pattern in ("Apple", "苹果"):
        assert Watchlist([pattern]).method("苹果技术开发（上海）有限公司", pattern) == "group"
        assert Watchlist([pattern]).method("上海苹果树教育科技有限公司", pattern) != "group"
    assert not Watchlist(["Apple"]).match("上海苹果树教育科技有限公司")
    assert Watchlist(["IKEA"]).match("宜家电子商务（中国）有限公司")
    assert Watchlist(["Amway"]).match("安利（中国）日用品有限公司")
    assert not Watchlist(["Volkswagen"]).match("上海汉涛信息咨询有限公司")  # 大众点评 is Meituan's


def test_match_lists_every_pattern_in_order() -> None:
    watchlist = Watchlist(["深圳腾讯计算机系统有限公司", "腾讯", "Tencent", "阿里巴巴"])
    entity = "深圳市腾讯计算机系统有限公司"
    assert watchlist.match(entity) == ["深圳腾讯计算机系统有限公司", "腾讯", "Tencent"]
    assert watchlist.match("北京百度网讯科技有限公司") == []


def test_filing_hits_one_type_for_every_section() -> None:
    new = {"filing_number": "N1", "name": "抖音推荐算法", "entity": "北京抖音信息服务有限公司"}
    renamed = {"kind": "deep_synthesis", "filing_number": "C1", "name": "x", "entity": "北京新名字科技有限公司",
               "changes": {"entity": ["北京字节跳动科技有限公司", "北京新名字科技有限公司"]}}
    gone = {"filing_number": "R1", "name": "y", "entity": "浙江淘宝网络有限公司"}
    event = {"type": "list.revised", "data": {"kind": "deep_synthesis", "name": "清单", "new": [new],
                                               "changed": [renamed], "removed": [gone]}}
    hits = filing_hits(event, Watchlist(["ByteDance", "字节跳动", "淘宝"]))
    assert all(isinstance(h, FilingHit) for h in hits)
    assert [(h.pattern, h.change, h.filing_number, h.matched, h.method) for h in hits] == [
        ("ByteDance", "new", "N1", "北京抖音信息服务有限公司", "group"),
        ("字节跳动", "new", "N1", "北京抖音信息服务有限公司", "group"),
        ("ByteDance", "changed", "C1", "北京字节跳动科技有限公司", "group"),  # under its former name
        ("字节跳动", "changed", "C1", "北京字节跳动科技有限公司", "group"),
        ("淘宝", "removed", "R1", "浙江淘宝网络有限公司", "group"),
    ]
    assert hits[0].record is new and hits[0].kind == "deep_synthesis" and hits[0].list_name == "清单"
    assert filing_hits({"type": "baseline.established", "data": {}}, Watchlist(["腾讯"])) == []


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
    assert watchlist.match(entity) == []  # type: ignore[arg-type]


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
    found = watchlist.match(entity)
    assert found in ([], [pattern.strip()])
    if found:
        score = watchlist.score(entity, found[0])
        assert score is not None and 0 < score <= 100


@pytest.mark.parametrize(
    ("notify", "key"),
    [
        ({"watchlist": ["腾讯", "re:["]}, "notify.watchlist"),
        ({"email": {"smtp_host": "127.0.0.1", "sender": "w@example.com",
                    "subscribers": [{"address": "a@example.com", "watchlist": ["re:(.|.)*!", "re:(?<=x)y"]}]}},
         "notify.email.subscribers.0.watchlist"),
    ],
)
def test_config_refuses_an_invalid_pattern_naming_the_key(notify: dict, key: str) -> None:
    from bot.settings.config import ConfigError, settings_from_mapping

    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"notify": notify}, env={})
    message = str(caught.value)
    assert message.startswith(key) and "invalid regular expression" in message and "\n" not in message


def test_subscribers_add_refuses_an_invalid_pattern(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from bot.app.cli import app

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": f"sqlite:///{tmp_path / 'c.db'}"}}), encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(app, ["--config", str(config), "subscribers", "add", "a@example.com", "--watch", "re:["])
    assert refused.exit_code == 2 and "invalid regular expression" in refused.output
    added = runner.invoke(app, ["--config", str(config), "subscribers", "add", "a@example.com", "--watch", "字节跳动"])
    assert added.exit_code == 0, added.output


def test_a_latin_word_matches_whole_words_only() -> None:
    """One meaning per word (storage.words), as in the web search: ``Intel`` is a company (its
    filers only), a Latin name pattern never matches inside a longer word of the filer's name,
    and Chinese text stays a substring."""
    watch = Watchlist(["Intel", "Intelli", "TCL", "智能"])
    assert watch.match("北京Intelligence科技有限公司") == []
    assert "TCL" in watch.match("深圳TCL新技术有限公司")
    assert "智能" in watch.match("北京智能科技有限公司")
    assert "Intel" in watch.match("英特尔（中国）有限公司")  # the foreign company's filer, by the resolver
