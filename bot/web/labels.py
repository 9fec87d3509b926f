"""Labels the pages and feeds show, in Chinese and English, without the naming machinery.

``KIND_LABELS`` are ``bot.companies.KIND_NAMES`` (a test keeps them equal): importing that
module would load pypinyin into the web process for three strings.
"""

from __future__ import annotations

from typing import Final

from bot.companies_data import PROVINCES_EN

__all__ = ["KIND_LABELS", "KIND_ORDER", "kind_label", "province_english"]

KIND_ORDER: Final = ("deep_synthesis", "algorithm_recommendation", "genai_service")
KIND_LABELS: Final[dict[str, tuple[str, str]]] = {
    "deep_synthesis": ("深度合成服务算法", "deep-synthesis algorithms"),
    "algorithm_recommendation": ("互联网信息服务算法", "recommendation algorithms"),
    "genai_service": ("生成式人工智能服务", "generative-AI services"),
}


def kind_label(kind: str | None) -> str:
    if not kind:
        return ""
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return f"{zh} · {en}"


def province_english(province: str | None) -> str:
    """北京市 → Beijing (the GenAI lists' 属地 may be written otherwise: then nothing)."""
    return PROVINCES_EN.get(province or "", "")
