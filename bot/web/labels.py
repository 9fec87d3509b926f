"""Labels the pages and feeds show, in Chinese and English, without the naming machinery.

The kind names come from the one vocabulary (``bot.changes.vocabulary``, a light module: the
naming machinery in ``bot.changes.companies`` would load pypinyin into the web process).
"""

from __future__ import annotations

from typing import Final

from bot.changes.companies_data import PROVINCES_EN
from bot.changes.genai import province_en
from bot.changes.vocabulary import kind_names

__all__ = ["KIND_LABELS", "KIND_ORDER", "kind_label", "province_english"]

KIND_ORDER: Final = ("deep_synthesis", "algorithm_recommendation", "genai_service")
KIND_LABELS: Final[dict[str, tuple[str, str]]] = kind_names("sentence")


def kind_label(kind: str | None) -> str:
    if not kind:
        return ""
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return f"{zh} · {en}"


def province_english(province: str | None) -> str:
    """北京市 → Beijing; the GenAI lists' 属地 as written too (广东 → Guangdong, 国资委); else nothing."""
    return PROVINCES_EN.get(province or "", "") or province_en(province or "")
