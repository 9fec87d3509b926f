"""bot.changes.findings: wording and data of every finding type, against event_schema's shapes."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.changes.event_schema import FINDING_TYPES
from bot.changes.findings import findings_for_baseline, findings_for_list, ordinal_largest, rank_of
from bot.changes.watchlist import Watchlist

SAMPLE = Path(__file__).parent / "data" / "expected.jsonl"
RECORDS = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line]
MONTHS = ["2023-06", "2023-08", "2024-01", "2024-04", "2024-08", "2025-01", "2025-05"]


def record(i: int, entity: str = "北京示例科技有限公司", **fields: Any) -> dict[str, Any]:
    base = {
        "kind": "deep_synthesis",
        "list_month": "2025-05",
        "filing_number": f"网信算备11010800000{i:04d}0125001号",
        "name": f"示例算法{i}",
        "entity": entity,
        "role": "provider",
        "category": None,
        "products": [],
        "purpose": "",
        "province": "北京市",
        "remark": "",
        "status": "active",
        "filed_on": None,
    }
    base.update(fields)
    return base


def rows_of(n: int) -> list[dict[str, Any]]:
    return [record(i) for i in range(n)]


def run(**overrides: Any) -> list[dict[str, Any]]:
    arguments: dict[str, Any] = {
        "kind": "deep_synthesis",
        "list_month": "2025-05",
        "rows": [],
        "new": [],
        "changed": [],
        "sizes": [],
        "watchlist": None,
    }
    arguments.update(overrides)
    return [dict(f) for f in findings_for_list(**arguments)]


def by_type(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["type"]: f for f in findings}


# --- event_schema shapes ----------------------------------------------------------------------


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


SHAPES: dict[str, Any] = {
    "rank": lambda d: set(d) == {"size", "rank", "of", "kind"} and all(_is(d[k], int) for k in ("size", "rank", "of"))
    and _is(d["kind"], str) and 1 <= d["rank"] <= d["of"],
    "size_change": lambda d: set(d) == {"previous", "delta", "previous_list_month"} and _is(d["previous"], int)
    and _is(d["delta"], int) and _is(d["previous_list_month"], str),
    "top_filers": lambda d: set(d) == {"filers"} and all(set(f) == {"entity", "count"} and _is(f["entity"], str)
                                                          and _is(f["count"], int) for f in d["filers"]),
    "big_tech": lambda d: set(d) == {"groups"} and all(
        set(g) == {"group", "group_zh", "count", "entities"} and _is(g["group"], str) and _is(g["group_zh"], str)
        and _is(g["count"], int) and all(_is(e, str) for e in g["entities"]) for g in d["groups"]),
    "foreign": lambda d: set(d) == {"filers"} and all(
        set(f) == {"entity", "name_en", "count"} and _is(f["entity"], str) and _is(f["name_en"], str)
        and _is(f["count"], int) for f in d["filers"]),
    "watchlist": lambda d: set(d) == {"hits"} and all(
        set(h) == {"pattern", "entity", "filing_number", "name", "score"} and _is(h["score"], float)
        and all(_is(h[k], str) for k in ("pattern", "entity", "filing_number", "name")) for h in d["hits"]),
    "cancellations": lambda d: set(d) == {"filings"} and all(
        set(f) == {"filing_number", "name", "entity"} and all(_is(v, str) for v in f.values()) for f in d["filings"]),
    "renames": lambda d: set(d) == {"renames"} and all(
        set(r) == {"filing_number", "before", "after"} and all(_is(v, str) for v in r.values()) for r in d["renames"]),
    "provinces": lambda d: set(d) == {"provinces"} and all(
        set(p) == {"province", "count"} and _is(p["province"], str) and _is(p["count"], int) for p in d["provinces"]),
    "totals": lambda d: set(d) == {"by_kind"} and all(
        set(t) == {"lists", "filings", "cancelled"} for t in d["by_kind"].values()),
}


def assert_valid(findings: list[dict[str, Any]]) -> None:
    types = [f["type"] for f in findings]
    assert types == [t for t in FINDING_TYPES if t in types], "in schema order, each type once"
    for finding in findings:
        assert set(finding) == {"type", "zh", "en", "data"}
        assert finding["type"] in FINDING_TYPES
        for lang in ("zh", "en"):
            text = finding[lang]
            assert isinstance(text, str) and text.strip(), (finding["type"], lang)
            assert "\n" not in text and "<" not in text and ">" not in text, text
        assert SHAPES[finding["type"]](finding["data"]), finding
    json.dumps(findings, ensure_ascii=False)


# --- rank -------------------------------------------------------------------------------------

SEVEN = list(zip(MONTHS, [41, 110, 129, 487, 779, 300, 200], strict=True))


def test_rank_second_largest_of_seven() -> None:
    rank = by_type(run(list_month="2024-04", rows=rows_of(487), sizes=SEVEN))["rank"]
    assert rank["en"] == "487 filings — the second-largest of 7 deep-synthesis lists"
    assert rank["zh"] == "本批 487 条，在 7 批深度合成备案中规模第二"
    assert rank["data"] == {"size": 487, "rank": 2, "of": 7, "kind": "deep_synthesis"}


@pytest.mark.parametrize(
    ("month", "size", "en", "zh"),
    [
        ("2024-08", 779, "779 filings — the largest of 7 deep-synthesis lists", "本批 779 条，在 7 批深度合成备案中规模最大"),
        ("2023-06", 41, "41 filings — the smallest of 7 deep-synthesis lists", "本批 41 条，在 7 批深度合成备案中规模最小"),
        ("2025-01", 300, "300 filings — the third-largest of 7 deep-synthesis lists", "本批 300 条，在 7 批深度合成备案中规模第三"),
    ],
)
def test_rank_words(month: str, size: int, en: str, zh: str) -> None:
    rank = by_type(run(list_month=month, rows=rows_of(size), sizes=SEVEN))["rank"]
    assert (rank["en"], rank["zh"]) == (en, zh)


def test_rank_ties_share_the_rank() -> None:
    sizes = [("2025-01", 200), ("2025-03", 100), ("2025-05", 100), ("2025-07", 50)]
    rank = by_type(run(list_month="2025-05", rows=rows_of(100), sizes=sizes))["rank"]
    assert rank["data"]["rank"] == 2
    assert rank["en"] == "100 filings — joint second-largest of 4 deep-synthesis lists"
    assert rank["zh"].endswith("规模并列第二")
    top = by_type(run(list_month="2025-05", rows=rows_of(5), sizes=[("2025-03", 5), ("2025-05", 5)]))["rank"]
    assert top["data"]["rank"] == 1 and "joint largest" in top["en"] and "并列最大" in top["zh"]
    low = by_type(run(list_month="2025-05", rows=rows_of(5), sizes=[("2025-01", 9), ("2025-03", 5), ("2025-05", 5)]))
    assert low["rank"]["data"]["rank"] == 2 and "joint smallest" in low["rank"]["en"]


def test_rank_beyond_ten_and_other_kinds() -> None:
    sizes = [(f"2020-{m:02d}", 100 + m) for m in range(1, 13)] + [("2021-01", 50), ("2021-02", 40), ("2021-03", 107)]
    rank = by_type(run(list_month="2021-03", rows=rows_of(107), sizes=sizes))["rank"]
    assert rank["data"] == {"size": 107, "rank": 6, "of": 15, "kind": "deep_synthesis"}
    sizes = [(f"2020-{m:02d}", 200 + m) for m in range(1, 12)] + [("2021-01", 10), ("2021-02", 5), ("2021-03", 150)]
    rank = by_type(run(kind="algorithm_recommendation", list_month="2021-03", rows=rows_of(150), sizes=sizes))["rank"]
    assert rank["en"] == "150 filings — the 12th-largest of 14 recommendation-algorithm lists"
    assert rank["zh"] == "本清单 150 条，在 14 份算法推荐备案清单中规模第十二"


def test_rank_needs_two_lists_and_copes_with_stale_sizes() -> None:
    assert "rank" not in by_type(run(rows=rows_of(3), sizes=[("2025-05", 3)]))
    assert "rank" not in by_type(run(rows=rows_of(3), sizes=[]))
    # This list's own entry has an old count, or is missing: counted once all the same.
    stale = by_type(run(rows=rows_of(30), sizes=[("2025-03", 20), ("2025-05", 25)]))["rank"]
    assert stale["data"] == {"size": 30, "rank": 1, "of": 2, "kind": "deep_synthesis"}
    missing = by_type(run(rows=rows_of(30), sizes=[("2025-03", 20), ("2025-04", 40)]))["rank"]
    assert missing["data"] == {"size": 30, "rank": 2, "of": 3, "kind": "deep_synthesis"}
    one = by_type(run(rows=rows_of(1), sizes=[("2025-03", 1), ("2025-05", 1)]))["rank"]
    assert one["en"].startswith("1 filing — ")


def test_ordinal_words() -> None:
    assert rank_of(487, [41, 110, 129, 487, 779, 300, 200]) == 2
    assert [ordinal_largest(r, 20) for r in (1, 2, 3, 10, 11, 12, 21, 22, 23, 20)] == [
        "the largest", "the second-largest", "the third-largest", "the tenth-largest", "the 11th-largest",
        "the 12th-largest", "the 21st-largest", "the 22nd-largest", "the 23rd-largest", "the smallest",
    ]
    assert ordinal_largest(2, 2) == "the second-largest"  # of two, not "the smallest"


# --- size change ------------------------------------------------------------------------------


def test_size_change_against_the_previous_month() -> None:
    sizes = [("2025-05", 487), ("2024-01", 129), ("2025-03", 410), ("2023-06", 41), ("2025-07", 900)]
    change = by_type(run(rows=rows_of(487), sizes=sizes))["size_change"]
    assert change["data"] == {"previous": 410, "delta": 77, "previous_list_month": "2025-03"}
    assert change["en"] == "+77 filings (+18.8%) against the previous list (March 2025: 410)"
    assert change["zh"] == "较上一批（2025年3月，410 条）增加 77 条（+18.8%）"


def test_size_change_down_same_and_none() -> None:
    down = by_type(run(kind="genai_service", rows=rows_of(300), sizes=[("2025-01", 400), ("2025-05", 300)]))
    assert down["size_change"]["data"]["delta"] == -100
    assert down["size_change"]["en"].startswith("-100 filings (-25.0%)")
    assert "上一份清单" in down["size_change"]["zh"] and "减少 100 条" in down["size_change"]["zh"]
    same = by_type(run(rows=rows_of(7), sizes=[("2025-01", 7), ("2025-05", 7)]))["size_change"]
    assert same["data"]["delta"] == 0 and "持平" in same["zh"] and same["en"].startswith("The same size")
    first = by_type(run(rows=rows_of(7), sizes=[("2025-05", 7), ("2025-09", 3)]))
    assert "size_change" not in first  # only later lists: nothing before this one


# --- who filed --------------------------------------------------------------------------------


def test_top_filers_from_new_rows_with_at_least_two() -> None:
    new = [record(i, "北京百度网讯科技有限公司") for i in range(3)] + [record(10 + i, "上海商汤智能科技有限公司") for i in range(2)]
    new += [record(20 + i, f"单独公司{i}有限公司") for i in range(6)]
    top = by_type(run(rows=new + rows_of(50), new=new))["top_filers"]
    assert top["data"] == {"filers": [{"entity": "北京百度网讯科技有限公司", "count": 3},
                                      {"entity": "上海商汤智能科技有限公司", "count": 2}]}
    assert top["zh"].startswith("新增备案最多的主体：北京百度网讯科技有限公司（3 项）")
    assert top["en"].startswith("Most new filings: Beijing Baidu Netcom Science and Technology Co., Ltd. (3)")
    # No new filings (a revised list): the list's rows.
    revised = by_type(run(rows=new))["top_filers"]
    assert revised["en"].startswith("Most filings in this list:")
    assert "top_filers" not in by_type(run(rows=[record(i, f"公司{i}") for i in range(5)]))


def test_big_tech_names_the_leading_groups_first_and_never_cuts_them() -> None:
    """Issue 21: replayed as the press saw it, the big-tech line put China Telecom, China Mobile and
    NetEase (many rows each) before Alibaba and cut Tencent after ten groups."""
    many = [("中国电信股份有限公司", 9), ("中国移动通信有限公司", 8), ("网易（杭州）网络有限公司", 7),
            ("中国联合网络通信有限公司", 6), ("科大讯飞股份有限公司", 5), ("上海商汤智能科技有限公司", 5),
            ("三六零科技集团有限公司", 4), ("北京金山办公软件股份有限公司", 4), ("哔哩哔哩科技有限公司", 3),
            ("北京智谱华章科技有限公司", 3), ("北京月之暗面科技有限公司", 3)]
    few = [("阿里巴巴（中国）有限公司", 2), ("北京百度网讯科技有限公司", 2), ("北京字节跳动科技有限公司", 2),
           ("深圳市腾讯计算机系统有限公司", 1)]
    new, i = [], 0
    for entity, count in many + few:
        for _ in range(count):
            i += 1
            new.append(record(i, entity))
    finding = by_type(run(rows=new, new=new))["big_tech"]
    leading = ["Baidu", "Alibaba", "Tencent", "ByteDance"]
    assert [g["group"] for g in finding["data"]["groups"]][:4] == leading
    # Every group is in the data; every leading one is in both sentences, ahead of the carriers.
    assert len(finding["data"]["groups"]) == len(many) + len(few)
    assert finding["en"].startswith("Big tech among the new filings: Baidu 2, Alibaba 2, Tencent 1, ByteDance 2, China Telecom 9")
    assert finding["zh"].startswith("新增备案中的大型科技集团：百度 2 项、阿里巴巴 2 项、腾讯 1 项、字节跳动 2 项、中国电信 9 项")
    assert finding["en"].endswith(", and 5 more")
    assert_valid(run(rows=new, new=new))


def test_top_filers_at_most_five() -> None:
    new = [record(100 * j + i, f"公司{j}有限公司") for j in range(8) for i in range(2 + j)]
    top = by_type(run(rows=new, new=new))["top_filers"]
    assert [f["count"] for f in top["data"]["filers"]] == [9, 8, 7, 6, 5]


def test_big_tech_and_foreign() -> None:
    new = [
        record(1, "浙江天猫网络有限公司"),
        record(2, "阿里巴巴（中国）有限公司"),
        record(3, "阿里巴巴（中国）有限公司"),
        record(4, "深圳市腾讯计算机系统有限公司"),
        record(5, "惠普贸易（上海）有限公司"),
        record(6, "惠普贸易（上海）有限公司"),
        record(7, "微软（中国）有限公司"),
        record(8, "北京示例科技有限公司"),
    ]
    found = by_type(run(rows=new, new=new))
    assert found["big_tech"]["data"] == {"groups": [
        {"group": "Alibaba", "group_zh": "阿里巴巴", "count": 3, "entities": ["浙江天猫网络有限公司", "阿里巴巴（中国）有限公司"]},
        {"group": "Tencent", "group_zh": "腾讯", "count": 1, "entities": ["深圳市腾讯计算机系统有限公司"]},
    ]}
    assert found["big_tech"]["en"] == "Big tech among the new filings: Alibaba 3, Tencent 1"
    assert found["big_tech"]["zh"] == "新增备案中的大型科技集团：阿里巴巴 3 项、腾讯 1 项"
    assert found["foreign"]["data"] == {"filers": [
        {"entity": "惠普贸易（上海）有限公司", "name_en": "HP Trading (Shanghai) Co., Ltd.", "count": 2},
        {"entity": "微软（中国）有限公司", "name_en": "Microsoft (China) Co., Ltd.", "count": 1},
    ]}
    assert "HP Trading (Shanghai) Co., Ltd. (HP, United States): 2" in found["foreign"]["en"]
    assert "惠普贸易（上海）有限公司（惠普，美国）2 项" in found["foreign"]["zh"]
    assert_valid(run(rows=new, new=new))


def test_genai_list_names_apple_among_foreign_filers() -> None:
    # The 2026-08 GenAI list's on-device table: Apple's filer as it really files, beside Samsung's
    # and Chinese phone makers'. The foreign line names Apple in the English Apple uses, never pinyin.
    def genai(i: int, entity: str, name: str) -> dict[str, Any]:
        return record(i, entity, kind="genai_service", list_month="2026-08", name=name, role=None, registration="filed",
                      scenario="苹果手机" if "苹果" in entity else "手机", filing_number=f"Shanghai-X{i}-202607150001")

    new = [
        genai(1, "苹果技术开发（上海）有限公司", "Apple Intelligence端侧模型"),
        genai(2, "北京三星通信技术研究有限公司", "三星端侧大模型"),
        genai(3, "华为终端有限公司", "盘古端侧模型"),
        genai(4, "美卓软件设计（北京）有限公司", "小米端侧文本"),
    ]
    found = by_type(run(kind="genai_service", list_month="2026-08", rows=new, new=new))
    assert found["foreign"]["data"] == {"filers": [
        {"entity": "北京三星通信技术研究有限公司", "name_en": "Beijing Samsung Communications Technology Research Co., Ltd.", "count": 1},
        {"entity": "苹果技术开发（上海）有限公司", "name_en": "Apple Technology Development (Shanghai) Co., Ltd.", "count": 1},
    ]}
    assert "Apple Technology Development (Shanghai) Co., Ltd. (Apple, United States): 1" in found["foreign"]["en"]
    assert "苹果技术开发（上海）有限公司（苹果，美国）1 项" in found["foreign"]["zh"]
    assert "Pingguo" not in json.dumps(found)
    assert [g["group"] for g in found["big_tech"]["data"]["groups"]] == ["Huawei", "Xiaomi"]


def test_every_foreign_country_has_a_chinese_name() -> None:
    from bot.changes.companies import FOREIGN
    from bot.changes.findings import _COUNTRY_ZH

    assert {f.country for f in FOREIGN} <= set(_COUNTRY_ZH)


# --- watchlist, cancellations, renames, provinces ----------------------------------------------


def changed(number: str, changes: dict[str, list[Any]], **fields: Any) -> dict[str, Any]:
    return {"kind": "deep_synthesis", "filing_number": number, "changes": changes, **fields}


def test_watchlist_hits_in_new_and_changed() -> None:
    new = [record(1, "深圳市腾讯计算机系统有限公司"), record(2, "北京示例科技有限公司"), record(3, "浙江天猫网络有限公司")]
    changes = [
        changed("C1", {"status": ["active", "cancelled"]}, name="旧算法", entity="腾讯音乐娱乐（深圳）有限公司"),
        # Renamed away from a watched name: still a hit, on the old name.
        changed("C2", {"entity": ["北京智谱华章科技有限公司", "北京新名字科技有限公司"]}, name="改名算法",
                entity="北京新名字科技有限公司"),
        changed("C3", {"remark": ["", "变更"]}),  # no entity known: skipped quietly
    ]
    watchlist = Watchlist(["腾讯", "Alibaba", "智谱"])
    hit = by_type(run(rows=new, new=new, changed=changes, watchlist=watchlist))["watchlist"]
    assert hit["data"]["hits"] == [
        {"pattern": "腾讯", "entity": "深圳市腾讯计算机系统有限公司", "filing_number": new[0]["filing_number"],
         "name": "示例算法1", "score": 100.0},
        {"pattern": "Alibaba", "entity": "浙江天猫网络有限公司", "filing_number": new[2]["filing_number"],
         "name": "示例算法3", "score": 100.0},
        {"pattern": "腾讯", "entity": "腾讯音乐娱乐（深圳）有限公司", "filing_number": "C1", "name": "旧算法", "score": 100.0},
        {"pattern": "智谱", "entity": "北京智谱华章科技有限公司", "filing_number": "C2", "name": "改名算法", "score": 100.0},
    ]
    assert hit["en"].startswith("Watchlist: 4 filings matched — “腾讯” 2")
    assert hit["zh"].startswith("关注名单命中 4 项备案：")
    assert "watchlist" not in by_type(run(rows=new, new=new, watchlist=None))
    assert "watchlist" not in by_type(run(rows=new, new=new, watchlist=Watchlist([])))
    assert "watchlist" not in by_type(run(rows=new, new=new, watchlist=Watchlist(["字节跳动"])))


def test_cancellations_from_changes_and_new_rows() -> None:
    new = [record(1, status="cancelled", remark="已注销"), record(2)]
    changes = [
        changed("C1", {"status": ["active", "cancelled"]}, name="算法甲", entity="浙江天猫网络有限公司"),
        changed("C2", {"status": ["cancelled", "active"]}, name="算法乙", entity="北京示例科技有限公司"),  # restored
        changed("C3", {"remark": ["", "已注销"], "status": ["active", "cancelled"]}),  # no name/entity on the entry
    ]
    found = by_type(run(rows=new, new=new, changed=changes))["cancellations"]
    assert found["data"]["filings"] == [
        {"filing_number": "C1", "name": "算法甲", "entity": "浙江天猫网络有限公司"},
        {"filing_number": "C3", "name": "", "entity": ""},
        {"filing_number": new[0]["filing_number"], "name": "示例算法1", "entity": "北京示例科技有限公司"},
    ]
    assert found["en"].startswith("3 filings cancelled: 算法甲 (Zhejiang Tmall Network Co., Ltd.); C3; 示例算法1")
    assert found["zh"].startswith("注销 3 项：算法甲（浙江天猫网络有限公司）、C3、示例算法1")
    many = [changed(f"C{i}", {"status": ["active", "cancelled"]}, name=f"算法{i}") for i in range(5)]
    text = by_type(run(changed=many))["cancellations"]
    assert text["en"].endswith(", and 2 more") and "等 5 项" in text["zh"]


def test_renames() -> None:
    changes = [
        changed("C1", {"entity": ["北京旧名科技有限公司", "北京新名科技有限公司"]}),
        changed("C2", {"entity": ["北京旧名科技有限公司", "北京新名科技有限公司"], "remark": ["", "原主体名称变更"]}),
        changed("C3", {"status": ["active", "cancelled"]}),
    ]
    found = by_type(run(changed=changes))
    assert found["renames"]["data"] == {"renames": [
        {"filing_number": "C1", "before": "北京旧名科技有限公司", "after": "北京新名科技有限公司"},
        {"filing_number": "C2", "before": "北京旧名科技有限公司", "after": "北京新名科技有限公司"},
    ]}
    assert found["renames"]["zh"] == "2 项备案主体更名：北京旧名科技有限公司 → 北京新名科技有限公司"
    assert found["renames"]["en"] == (
        "2 filings with a renamed filer: Beijing Jiuming Technology Co., Ltd. → Beijing Xinming Technology Co., Ltd."
    )
    assert list(found) == ["cancellations", "renames"]


def test_provinces_of_new_filings() -> None:
    new = [record(i) for i in range(3)] + [record(10 + i, province="浙江省") for i in range(2)]
    new.append(record(20, province=None, filing_number="网信算备440305000000101250011号"))  # from the number
    found = by_type(run(rows=new, new=new))["provinces"]
    assert found["data"] == {"provinces": [{"province": "北京市", "count": 3}, {"province": "浙江省", "count": 2},
                                           {"province": "广东省", "count": 1}]}
    assert found["en"] == "New filings by province: Beijing 3, Zhejiang 2, Guangdong 1"
    assert found["zh"] == "新增备案属地：北京市 3 项、浙江省 2 项、广东省 1 项"
    assert "provinces" not in by_type(run(rows=new))  # a revised list without new filings


def test_everything_at_once_is_ordered_and_valid() -> None:
    new = [record(1, "深圳市腾讯计算机系统有限公司"), record(2, "深圳市腾讯计算机系统有限公司", status="cancelled"),
           record(3, "惠普贸易（上海）有限公司")]
    changes = [changed("C1", {"entity": ["甲有限公司", "乙有限公司"]})]
    findings = run(rows=new, new=new, changed=changes, sizes=[("2025-03", 10), ("2025-05", 3)],
                   watchlist=Watchlist(["腾讯"]))
    assert [f["type"] for f in findings] == list(FINDING_TYPES[:9])
    assert_valid(findings)


def test_hostile_names_stay_one_line_and_bounded() -> None:
    evil = "<b>北京\n恶意</b>&amp;" + "长" * 500 + "有限公司"
    new = [record(1, evil), record(2, evil)]
    findings = run(rows=new, new=new, changed=[changed("C1", {"entity": [evil, "乙有限公司"]})])
    for finding in findings:
        for lang in ("zh", "en"):
            assert "\n" not in finding[lang] and len(finding[lang]) < 1000


def test_every_real_list_of_the_sample() -> None:
    lists: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in RECORDS:
        lists[(row["kind"], row["list_month"])].append(row)
    seen: set[str] = set()
    for (kind, month), rows in sorted(lists.items(), key=lambda item: item[0][1]):
        sizes = [(m, len(r)) for (k, m), r in lists.items() if k == kind]
        new = [r for r in rows if r["filing_number"] not in seen]
        seen |= {r["filing_number"] for r in rows}
        findings = run(kind=kind, list_month=month, rows=rows, new=new, sizes=sizes, watchlist=Watchlist(["腾讯", "HP"]))
        assert_valid(findings)
        assert by_type(findings)["rank"]["data"]["of"] == len(sizes)


# --- baseline ---------------------------------------------------------------------------------


def test_baseline() -> None:
    by_kind = {
        "deep_synthesis": {"lists": 3, "filings": 280, "cancelled": 2},
        "algorithm_recommendation": {"lists": 3, "filings": 223, "cancelled": 0},
    }
    pairs = [(r["kind"], r["entity"]) for r in RECORDS]
    findings = [dict(f) for f in findings_for_baseline(by_kind, pairs)]
    assert [f["type"] for f in findings] == ["totals", "top_filers", "big_tech"]
    assert_valid([f for f in findings if f["type"] != "totals"])
    assert SHAPES["totals"](findings[0]["data"])
    assert findings[0]["data"]["by_kind"] == by_kind
    assert findings[0]["zh"] == "已记录：深度合成服务算法 3 批 280 项（已注销 2）；互联网信息服务算法 3 份 223 项"
    assert findings[0]["en"] == ("On record: deep-synthesis algorithms: 280 filings in 3 lists (2 cancelled); "
                                 "recommendation algorithms: 223 filings in 3 lists")
    # 8 deep-synthesis, 13 recommendation and 1 GenAI filing of the sample (its real GenAI rows since 4d332ef).
    assert findings[1]["data"]["filers"][0] == {"entity": "深圳市腾讯计算机系统有限公司", "count": 22}
    # The groups readers follow lead in their order of prominence (Baidu, Alibaba, Tencent …), then the rest by count.
    groups = findings[2]["data"]["groups"]
    assert [g["group"] for g in groups][:3] == ["Baidu", "Alibaba", "Tencent"]
    assert max(groups, key=lambda g: g["count"])["group"] == "Alibaba"
    as_mapping = findings_for_baseline(by_kind, {"deep_synthesis": [r for r in RECORDS]})
    assert [f["type"] for f in as_mapping] == ["totals", "top_filers", "big_tech"]
    assert [f["type"] for f in findings_for_baseline({}, [])] == []


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=20), st.data())
def test_rank_is_between_one_and_of(sizes: list[int], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(sizes) - 1))
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(len(sizes))]
    findings = run(list_month=months[index], rows=rows_of(sizes[index]), sizes=list(zip(months, sizes, strict=True)))
    found = by_type(findings)
    if len(sizes) < 2:
        assert "rank" not in found
        return
    rank = found["rank"]["data"]
    assert 1 <= rank["rank"] <= rank["of"] == len(sizes)
    assert rank["rank"] == 1 + sum(1 for s in sizes if s > sizes[index])
    assert_valid(findings)


def test_totals_mismatch_only_when_what_is_stated_differs() -> None:
    from bot.changes.findings import totals_mismatch

    agree = {"as_of": "2026-06-30", "stated": {"filed": 988, "registered": 598}, "held": {"filed": 988, "registered": 598}}
    assert totals_mismatch(agree) is None  # type: ignore[arg-type]
    lost = {"as_of": "2026-06-30", "stated": {"filed": 988, "registered": 598}, "held": {"filed": 987, "registered": 600}}
    finding = totals_mismatch(lost)  # type: ignore[arg-type]
    assert finding is not None and finding["type"] == "totals_mismatch" and finding["data"] == {"totals": lost}
    assert finding["zh"] == (
        "总数核对不符：网信办公告截至2026年6月30日共有988款完成备案、598款完成登记，"
        "cacwatch 掌握987款备案、600款登记（备案少1款，登记多2款）。"
    )
    assert finding["en"] == (
        "Totals do not reconcile: CAC states 988 filed and 598 registered as of 2026-06-30; "
        "cacwatch holds 987 filed and 600 registered (1 filed fewer, 2 registered more)."
    )
    # Only 备案 stated: the registered count held is not compared.
    filed_only = {"as_of": "2025-03-31", "stated": {"filed": 346, "registered": None}, "held": {"filed": 346, "registered": 120}}
    assert totals_mismatch(filed_only) is None  # type: ignore[arg-type]
    filed_only["held"] = {"filed": 345, "registered": 120}
    finding = totals_mismatch(filed_only)  # type: ignore[arg-type]
    assert finding is not None and "346 filed as of 2025-03-31; cacwatch holds 345 filed (1 filed fewer)" in finding["en"]
