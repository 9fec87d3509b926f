"""The words cacwatch uses for kinds of lists, fields and changes, in Chinese and English.

Defined once here; every renderer (Telegram posts, email digests, plain-text summaries,
findings, the CLI's tables, charts) reads its wording from these tables. A kind has
several established renderings because each medium names it differently (a sentence, a
heading, a post about filings, a terminal table, an ASCII chart title): they are kept
side by side here so a change of wording is made in one place.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "KIND_TABLE_TITLES",
    "KIND_CHART_TITLES",
    "FIELD_LABELS",
    "CHANGE_LABELS",
    "kind_names",
    "published_label",
    "row_label",
]


# (zh, en) of each kind, per medium: inside a finding's sentence …
_SENTENCE: Final[dict[str, tuple[str, str]]] = {
    "deep_synthesis": ("深度合成服务算法", "deep-synthesis algorithms"),
    "algorithm_recommendation": ("互联网信息服务算法", "recommendation algorithms"),
    "genai_service": ("生成式人工智能服务", "generative-AI services"),
}
# … as the heading of a summary or of a digest section …
_SERIES: Final[dict[str, tuple[str, str]]] = {
    "deep_synthesis": ("深度合成服务算法", "Deep synthesis algorithms"),
    "algorithm_recommendation": ("算法推荐", "Recommendation algorithms"),
    "genai_service": ("生成式人工智能服务", "Generative-AI services"),
}
# … and as what a Telegram post is about.
_FILINGS: Final[dict[str, tuple[str, str]]] = {
    "deep_synthesis": ("深度合成服务算法备案", "deep-synthesis filings"),
    "algorithm_recommendation": ("互联网信息服务算法备案", "recommendation-algorithm filings"),
    "genai_service": ("生成式人工智能服务备案", "generative-AI service filings"),
}
_VIEWS: Final = {"sentence": _SENTENCE, "series": _SERIES, "filings": _FILINGS}

# One bilingual line per kind: the titles of the CLI's tables.
KIND_TABLE_TITLES: Final[dict[str, str]] = {
    "deep_synthesis": "Deep synthesis 深度合成",
    "algorithm_recommendation": "Recommendation algorithms 算法推荐",
    "genai_service": "Generative-AI services 生成式人工智能",
}
# ASCII only (the chart font has no CJK glyphs): chart titles.
KIND_CHART_TITLES: Final[dict[str, str]] = {
    "deep_synthesis": "Deep-synthesis algorithm filings",
    "algorithm_recommendation": "Recommendation algorithm filings",
    "genai_service": "Generative-AI service filings",
}


def kind_names(view: str) -> dict[str, tuple[str, str]]:
    """{kind: (zh, en)} of one view: ``sentence``, ``series`` or ``filings`` (a copy)."""
    return dict(_VIEWS[view])


# (zh, en) of the fields of a filing (export record), as changes and tables name them.
FIELD_LABELS: Final[dict[str, tuple[str, str]]] = {
    "name": ("名称", "name"),
    "entity": ("主体", "filer"),
    "role": ("角色", "role"),
    "category": ("类别", "category"),
    "products": ("应用产品", "products"),
    "purpose": ("主要用途", "purpose"),
    "province": ("属地", "province"),
    "remark": ("备注", "remark"),
    "status": ("状态", "status"),
    "filed_on": ("备案时间", "filed on"),
    "registration": ("备案/登记", "filed / registered"),
    "scenario": ("适用场景", "scenario"),
}

# (zh, en) of what happened to a filing.
CHANGE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "new": ("新增", "new"),
    "changed": ("变更", "changed"),
    "cancelled": ("注销", "cancelled"),
    "renamed": ("更名", "renamed"),
    "removed": ("移出名单", "removed"),
}


def published_label(date: str | None, basis: str | None) -> tuple[str, str]:
    """(zh, en) of a list's date, saying on what it rests (storage.list_dates): the date CAC
    published it, or the day cacwatch first saw it on a page CAC updates in place; "" when
    unknown."""
    if not date:
        return "", ""
    if basis == "first_seen":
        return f"首次见于页面 {date}", f"first seen on the page {date}"
    return f"发布 {date}", f"published {date}"


def row_label(seq: str | None, row_index: int) -> tuple[str, str]:
    """(zh, en) of where a row stands in its list: its 序号 as printed, else its 1-based
    position, saying which ("序号 55" / "row 55 (position)")."""
    if seq:
        return f"序号 {seq}", f"No. {seq} (序号 as printed)"
    return f"第 {row_index + 1} 行（位置）", f"row {row_index + 1} (position)"
