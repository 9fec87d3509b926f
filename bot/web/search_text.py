"""The words cacwatch adds to a filer's search text: its English name and its company.

Storage keeps the search index but must not import ``bot``; it calls ``describe_filer`` for
each filer whose text is missing or stale (``storage.corpus.refresh_search_text``), so
`ByteDance` and `字节跳动` find 北京抖音信息服务有限公司 exactly as the messages name it. The
English name and company are stored with the index, so the web app shows them without
loading the naming machinery (pypinyin's dictionaries) into its own process.
"""

from __future__ import annotations

import hashlib

from bot.changes.companies import BIG_TECH, FOREIGN, BigTechGroup, ForeignFiler, english_name
from bot.changes.companies_data import QUERY_NAMES
from bot.changes.resolver import company_of, company_words
from storage.corpus import Corpus, FilerWords

__all__ = ["describe_filer", "DESCRIBER_VERSION", "refresh_index"]


def describe_filer(entity: str) -> FilerWords:
    """English name and company (big-tech group, else foreign parent) from the one resolver
    (``bot.changes.resolver``), with every word that names the company (Chinese and English
    names, aliases, brands: 抖音, 淘宝, 微信, 惠普), as watches and Telegram ``/search`` know them."""
    company = company_of(entity)
    if company is None:
        return FilerWords(english=english_name(entity), company=None, words=company_words(entity))
    return FilerWords(
        english=english_name(entity), company=company.en, words=company_words(entity),
        company_key=company.key, company_zh=company.zh, foreign=isinstance(company, ForeignFiler),
    )


def _version() -> str:
    # The company tables decide the words: when they change, every stored text is stale.
    digest = hashlib.sha256()
    companies: list[BigTechGroup | ForeignFiler] = [*BIG_TECH, *FOREIGN]
    for company in companies:
        digest.update(repr((company.key, company.zh, company.en, company.aliases, company.patterns,
                            QUERY_NAMES.get(company.key, ()))).encode())
    digest.update(english_name("北京抖音信息服务有限公司").encode())  # the rendering rules, sampled
    return "v3-" + digest.hexdigest()[:16]


DESCRIBER_VERSION = _version()


def refresh_index(corpus: Corpus) -> int:
    """Bring every filing's search text up to date; returns how many were (re)built."""
    return corpus.refresh_search_text(describe_filer, DESCRIBER_VERSION)
