"""Sample events shaped exactly as bot/event_schema.py describes, for notifier tests."""

from __future__ import annotations

import copy
from typing import Any

from bot.changes.event_schema import Event, FilingRecord

__all__ = ["filing", "published_event", "revised_event", "baseline_event", "genai_filing", "genai_event",
           "GENAI_ON_DEVICE", "GENAI_REGISTRATION_PROVINCES"]


def filing(n: int, *, kind: str = "deep_synthesis", name: str | None = None, entity: str | None = None) -> FilingRecord:
    return {
        "kind": kind,
        "list_month": "2026-05",
        "filing_number": f"网信算备110108{n:06d}0001号",
        "name": name or f"智能对话合成算法{n}",
        "entity": entity or f"北京示例科技有限公司{n}",
        "role": "provider",
        "category": None,
        "products": ["示例App"],
        "purpose": "应用于文本生成场景",
        "province": "北京市",
        "remark": "",
        "status": "active",
        "filed_on": None,
    }


def published_event(n_new: int = 3, *, kind: str = "deep_synthesis", watchlist: bool = False) -> Event:
    notable: list[dict[str, Any]] = [
        {
            "type": "rank",
            "zh": f"本批共{n_new}项，为7批中第二大。",
            "en": f"{n_new} filings — the second-largest of 7 lists.",
            "data": {"size": n_new, "rank": 2, "of": 7, "kind": kind},
        },
        {
            "type": "big_tech",
            "zh": "阿里巴巴：2项。",
            "en": "Alibaba: 2 filings.",
            "data": {"groups": [{"group": "Alibaba", "group_zh": "阿里巴巴", "count": 2, "entities": ["阿里云"]}]},
        },
    ]
    if watchlist:
        notable.append(
            {
                "type": "watchlist",
                "zh": "关注名单命中：北京示例科技有限公司1。",
                "en": "Watchlist hit: 北京示例科技有限公司1.",
                "data": {"hits": [{"pattern": "示例科技", "entity": "北京示例科技有限公司1",
                                   "filing_number": "网信算备1101080000010001号", "name": "x", "score": 95.0}]},
            }
        )
    return {
        "id": "evt_0123456789abcdef",
        "type": "list.published",
        "timestamp": "2026-05-06T08:01:02Z",
        "data": {
            "kind": kind,
            "list_month": "2026-05",
            "title": "国家互联网信息办公室关于发布第十七批深度合成服务算法备案信息的公告",
            "name": "第十七批境内深度合成服务算法备案清单",
            "batch": 17,
            "page_url": "https://www.cac.gov.cn/2026-05/06/c_1.htm",
            "attachment_url": "https://www.cac.gov.cn/files/list17.xlsx",
            "counts": {"new": n_new, "changed": 0, "removed": 0, "rows": n_new},
            "new": [filing(i, kind=kind) for i in range(n_new)],
            "changed": [],
            "removed": [],
            "notable": notable,
        },
    }


def revised_event(n_changed: int = 2, n_removed: int = 1) -> Event:
    event = copy.deepcopy(published_event(0))
    event["type"] = "list.revised"
    event["data"]["changed"] = [
        {
            "kind": "deep_synthesis",
            "filing_number": f"网信算备110108{i:06d}0001号",
            "changes": {"status": ["active", "cancelled"]},
            "name": f"智能对话合成算法{i}",
            "entity": f"北京示例科技有限公司{i}",
        }
        for i in range(n_changed)
    ]
    event["data"]["removed"] = [filing(100 + i) for i in range(n_removed)]
    event["data"]["counts"] = {"new": 0, "changed": n_changed, "removed": n_removed}
    return event


def baseline_event() -> Event:
    return {
        "id": "evt_baseline",
        "type": "baseline.established",
        "timestamp": "2026-05-06T08:00:00Z",
        "data": {
            "counts": {"lists": 24, "filings": 3210},
            "by_kind": {
                "deep_synthesis": {"lists": 16, "filings": 2900, "cancelled": 12},
                "algorithm_recommendation": {"lists": 1, "filings": 130, "cancelled": 0},
                "genai_service": {"lists": 7, "filings": 180, "cancelled": 1},
            },
            "notable": [],
        },
    }


# --- a GenAI list as CAC publishes it from 2026-08: filed models, registered apps, on-device ---------

# (filer, 适用场景) of the on-device services; Samsung (foreign) and Huawei, Xiaomi, vivo, OPPO (big
# tech) are recognised by the company tables on main.
GENAI_ON_DEVICE = (
    ("苹果技术开发（上海）有限公司", "苹果手机"),
    ("三星（中国）投资有限公司", "三星手机"),
    ("华为终端有限公司", "华为手机"),
    ("北京小米移动软件有限公司", "小米手机"),
    ("维沃移动通信有限公司", "vivo手机"),
    ("OPPO广东移动通信有限公司", "OPPO手机"),
    ("荣耀终端股份有限公司", "荣耀手机"),
)
# Where the registered apps are registered: 广东 31, 北京 28, 上海 20, then smaller provinces.
GENAI_REGISTRATION_PROVINCES = (("广东", 31), ("北京", 28), ("上海", 20), ("浙江", 19), ("江苏", 15), ("四川", 12),
                                ("国资委", 8))


def genai_filing(n: int, *, registration: str, entity: str | None = None, province: str = "北京",
                 scenario: str | None = None, list_month: str = "2026-08") -> FilingRecord:
    """A GenAI record: a filed model (``Beijing-Model7-202608010007``) or a registered app
    (``Guangdong-App7-20260801S0007``), its 属地 as written."""
    pinyin = {"北京": "Beijing", "广东": "Guangdong", "上海": "Shanghai", "浙江": "Zhejiang", "江苏": "Jiangsu",
              "四川": "Sichuan", "国资委": "ZhongYangQiYe"}.get(province, "Beijing")
    filed = registration == "filed"
    return {
        "kind": "genai_service",
        "list_month": list_month,
        "filing_number": f"{pinyin}-{'Model' if filed else 'App'}{n}-20260801{'' if filed else 'S'}{n:04d}",
        "name": f"{'智能大模型' if filed else '智能助手应用'}{n}",
        "entity": entity or f"{province}示例智能科技有限公司{n}",
        "role": None,
        "category": None,
        "products": [],
        "purpose": "",
        "province": province,
        "remark": "",
        "status": "active",
        "filed_on": "2026-08-01",
        "registration": registration,
        "scenario": scenario,
    }


def genai_event(*, with_counts: bool = True, totals: dict[str, Any] | None = None, mismatch: bool = False) -> Event:
    """A 2026-08-style GenAI ``list.published``: 124 models filed (two by ByteDance, one by
    Alibaba), 133 apps registered (one by HP's 惠普贸易（上海）, two by Tencent), 7 on-device
    services. ``with_counts=False``: an event stored before ``counts.genai`` existed.
    ``totals``: ``data.totals``; ``mismatch``: also the ``totals_mismatch`` finding."""
    filed = [genai_filing(i, registration="filed") for i in range(124)]
    filed[0]["entity"] = filed[1]["entity"] = "北京抖音信息服务有限公司"
    filed[2]["entity"] = "阿里巴巴（中国）有限公司"
    registered: list[FilingRecord] = []
    for province, count in GENAI_REGISTRATION_PROVINCES:
        for _ in range(count):
            registered.append(genai_filing(1000 + len(registered), registration="registered", province=province))
    registered[0]["entity"] = "惠普贸易（上海）有限公司"
    registered[1]["entity"] = registered[2]["entity"] = "深圳市腾讯计算机系统有限公司"
    on_device = [genai_filing(2000 + i, registration="filed", entity=entity, scenario=scenario)
                 for i, (entity, scenario) in enumerate(GENAI_ON_DEVICE)]
    new = filed + registered + on_device
    counts: dict[str, Any] = {"new": len(new), "changed": 0, "removed": 0, "rows": len(new)}
    if with_counts:
        counts["genai"] = {"filed": len(filed) + len(on_device), "registered": len(registered), "on_device": len(on_device)}
    data: dict[str, Any] = {
        "kind": "genai_service",
        "list_month": "2026-08",
        "title": "国家互联网信息办公室关于发布生成式人工智能服务已备案和已登记信息的公告",
        "name": "生成式人工智能服务已备案和已登记信息（2026年8月）",
        "batch": None,
        "page_url": "https://www.cac.gov.cn/2026-08/10/c_2.htm",
        "attachment_url": "https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=genai202608",
        "counts": counts,
        "new": new,
        "changed": [],
        "removed": [],
        "notable": [
            {"type": "big_tech", "zh": "新增备案中的大型科技集团：字节跳动 2 项", "en": "Big tech among the new filings: ByteDance 2",
             "data": {"groups": [{"group": "ByteDance", "group_zh": "字节跳动", "count": 2,
                                  "entities": ["北京抖音信息服务有限公司"]}]}},
        ],
    }
    if totals is not None:
        data["totals"] = totals
        if mismatch:
            data["notable"].append({"type": "totals_mismatch", "zh": "网信办公布总数与已记录不符",
                                    "en": "CAC's stated totals differ from what is held", "data": {"totals": totals}})
    return {"id": "evt_genai202608", "type": "list.published", "timestamp": "2026-08-10T08:01:02Z", "data": data}  # type: ignore[typeddict-item]
