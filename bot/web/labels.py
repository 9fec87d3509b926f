"""Labels the pages and feeds show, in Chinese and English, without the naming machinery.

The kind names, roles, 算法类别, registration types and list names come from the one table
(``bot.changes.vocabulary``, a light module: the naming machinery in ``bot.changes.companies``
would load pypinyin into the web process); the company groups for the search filter from
``bot.changes.companies``' tables (data only).
"""

from __future__ import annotations

from typing import Final

from bot.changes.companies_data import PROVINCES_EN
from bot.changes.genai import province_en
from bot.changes.companies import BIG_TECH, FOREIGN
from bot.changes.vocabulary import kind_names, list_name_en, value_label

__all__ = ["KIND_LABELS", "KIND_ORDER", "GROUP_OPTIONS", "kind_label", "province_english", "value_label", "list_name_en"]

KIND_ORDER: Final = ("deep_synthesis", "algorithm_recommendation", "genai_service")
KIND_LABELS: Final[dict[str, tuple[str, str]]] = kind_names("sentence")


# (key, label) of the search page's company filter: the groups first, then the foreign companies.
GROUP_OPTIONS: Final[tuple[tuple[str, str], ...]] = (
    *((g.key, f"{g.zh} {g.en}" if g.zh != g.en else g.en) for g in BIG_TECH),
    *((f.key, f"{f.zh} {f.en}（外国 foreign）") for f in FOREIGN),
)


def kind_label(kind: str | None) -> str:
    if not kind:
        return ""
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return f"{zh} · {en}"


def province_english(province: str | None) -> str:
    """北京市 → Beijing; the GenAI lists' 属地 as written too (广东 → Guangdong, 国资委); else nothing."""
    return PROVINCES_EN.get(province or "", "") or province_en(province or "")
