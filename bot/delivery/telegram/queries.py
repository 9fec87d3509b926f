"""What the Telegram bot adds to ``storage.telegram_repo`` (where its SQL lives): the kind
names people type (``/latest genai``) and search that also matches filers' English names
(``bot.changes.companies``), which the repository takes as a function.
"""

from __future__ import annotations

import unicodedata

from bot.changes.companies import big_tech_group, english_name
from storage.db import Session
from storage.telegram_repo import SearchPage
from storage.telegram_repo import search_filings as _search_filings

__all__ = ["parse_kind", "english_haystack", "search_filings"]

# What people type for a kind (/latest genai, /subscribe 深度合成 …).
_KIND_ALIASES: dict[str, str] = {
    "deep_synthesis": "deep_synthesis", "deep": "deep_synthesis", "ds": "deep_synthesis", "deepfake": "deep_synthesis",
    "deep-synthesis": "deep_synthesis", "synthesis": "deep_synthesis", "深度合成": "deep_synthesis",
    "algorithm_recommendation": "algorithm_recommendation", "recommendation": "algorithm_recommendation",
    "algorithm": "algorithm_recommendation", "algo": "algorithm_recommendation", "rec": "algorithm_recommendation",
    "推荐": "algorithm_recommendation", "算法推荐": "algorithm_recommendation", "互联网信息服务算法": "algorithm_recommendation",
    "genai_service": "genai_service", "genai": "genai_service", "gen-ai": "genai_service", "ai": "genai_service",
    "llm": "genai_service", "生成式": "genai_service", "生成式人工智能": "genai_service", "大模型": "genai_service",
}


def parse_kind(text: str | None) -> str | None:
    """A kind value from what a user typed, or None when it names no kind."""
    if not text:
        return None
    return _KIND_ALIASES.get(unicodedata.normalize("NFKC", text).strip().lower())


_english_cache: dict[str, str] = {}


def english_haystack(entity: str) -> str:
    """English name and big-tech group of a filer, lower-cased, computed once per process."""
    cached = _english_cache.get(entity)
    if cached is None:
        parts = []
        try:
            parts.append(english_name(entity) or "")
            group = big_tech_group(entity)
            if group is not None:
                parts.append(str(getattr(group, "en", "") or ""))
        except Exception:  # noqa: BLE001 - a naming bug must not break search
            pass
        cached = " | ".join(parts).lower()
        if len(_english_cache) < 200_000:
            _english_cache[entity] = cached
    return cached


def search_filings(
    session: Session, text: str, *, page: int = 0, page_size: int = 5, kind: str | None = None
) -> SearchPage:
    """Filings whose name, filer (Chinese or English), products or number contain ``text``.

    ``page_size=0`` returns every match (exports).
    """
    return _search_filings(session, text, page=page, page_size=page_size, kind=kind, english=english_haystack)
