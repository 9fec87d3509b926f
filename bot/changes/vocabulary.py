"""The words cacwatch uses for kinds of lists, fields and changes, in Chinese and English.

Defined once here; every renderer (Telegram posts, email digests, plain-text summaries,
findings, the CLI's tables, charts) reads its wording from these tables. A kind has
several established renderings because each medium names it differently (a sentence, a
heading, a post about filings, a terminal table, an ASCII chart title): they are kept
side by side so a change of wording is made in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "KindNames",
    "KINDS",
    "FIELD_LABELS",
    "CHANGE_LABELS",
    "kind_names",
]


@dataclass(frozen=True, slots=True)
class KindNames:
    sentence: tuple[str, str]  # (zh, en) inside a finding's sentence
    series: tuple[str, str]  # (zh, en) heading of a summary or a digest section
    filings: tuple[str, str]  # (zh, en) what a Telegram post is about
    table: str  # bilingual title of the CLI's tables
    chart: str  # chart title (ASCII: the chart font has no CJK glyphs)


KINDS: Final[dict[str, KindNames]] = {
    "deep_synthesis": KindNames(
        sentence=("深度合成服务算法", "deep-synthesis algorithms"),
        series=("深度合成服务算法", "Deep synthesis algorithms"),
        filings=("深度合成服务算法备案", "deep-synthesis filings"),
        table="Deep synthesis 深度合成",
        chart="Deep-synthesis algorithm filings",
    ),
    "algorithm_recommendation": KindNames(
        sentence=("互联网信息服务算法", "recommendation algorithms"),
        series=("算法推荐", "Recommendation algorithms"),
        filings=("互联网信息服务算法备案", "recommendation-algorithm filings"),
        table="Recommendation algorithms 算法推荐",
        chart="Recommendation algorithm filings",
    ),
    "genai_service": KindNames(
        sentence=("生成式人工智能服务", "generative-AI services"),
        series=("生成式人工智能服务", "Generative-AI services"),
        filings=("生成式人工智能服务备案", "generative-AI service filings"),
        table="Generative-AI services 生成式人工智能",
        chart="Generative-AI service filings",
    ),
}


def kind_names(view: str) -> dict[str, tuple[str, str]]:
    """{kind: (zh, en)} of one bilingual view: ``sentence``, ``series`` or ``filings``."""
    return {kind: getattr(names, view) for kind, names in KINDS.items()}


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
}

# (zh, en) of what happened to a filing.
CHANGE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "new": ("新增", "new"),
    "changed": ("变更", "changed"),
    "cancelled": ("注销", "cancelled"),
    "renamed": ("更名", "renamed"),
    "removed": ("移出名单", "removed"),
}
