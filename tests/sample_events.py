"""Sample events shaped exactly as bot/event_schema.py describes, for notifier tests."""

from __future__ import annotations

import copy
from typing import Any

from bot.changes.event_schema import Event, FilingRecord

__all__ = ["filing", "published_event", "revised_event", "baseline_event"]


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
