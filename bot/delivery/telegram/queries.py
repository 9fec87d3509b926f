"""What the Telegram bot adds to ``storage.telegram_repo`` (where its SQL lives): the kind
names people type (``/latest genai``) and search that also matches filers by company group
(``bot.changes.resolver``: 字节跳动, ByteDance and 抖音 all find 北京抖音信息服务有限公司) and by
English name, which the repository takes as a predicate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from bot.changes.companies import english_name
from bot.changes.resolver import company_of, resolve
from storage.db import Session
from storage.telegram_repo import SearchPage, normalize_query
from storage.telegram_repo import search_filings as _search_filings
from storage.words import contains_words

__all__ = ["parse_kind", "filer_predicate", "search_filings"]

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


def _english(entity: str) -> str:
    """A filer's English name, lower-cased, computed once per process."""
    cached = _english_cache.get(entity)
    if cached is None:
        try:
            cached = (english_name(entity) or "").lower()
        except Exception:  # noqa: BLE001 - a naming bug must not break search
            cached = ""
        if len(_english_cache) < 200_000:
            _english_cache[entity] = cached
    return cached


def filer_predicate(text: str) -> Callable[[str], bool] | None:
    """Which filers answer a query besides the text match: those of the companies it names
    (the resolver, same as watches and filters), and for Latin text those whose English name
    contains it as whole words (storage.words). None when nothing beyond the text match can answer."""
    query = normalize_query(text).lower()
    companies = resolve(query)
    latin = bool(re.search(r"[a-z]", query))
    if not companies and not latin:
        return None

    def matches(entity: str) -> bool:
        if companies and company_of(entity) in companies:
            return True
        return latin and contains_words(_english(entity), query)

    return matches


def search_filings(
    session: Session, text: str, *, page: int = 0, page_size: int = 5, kind: str | None = None
) -> SearchPage:
    """Filings whose name, filer (Chinese or English, or its company group), products or
    number contain ``text``.

    ``page_size=0`` returns every match (exports).
    """
    # A query that names a company (惠普, HP) finds that company's filers, not every filer
    # whose name merely contains it (上海优惠普…); names, products and numbers still match as text.
    names_company = bool(resolve(normalize_query(text).lower()))
    return _search_filings(
        session, text, page=page, page_size=page_size, kind=kind, filers=filer_predicate(text),
        entity_text=not names_company,
    )
