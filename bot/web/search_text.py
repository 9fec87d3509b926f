"""The words cacwatch adds to a filer's search text: its English name and its company.

Storage keeps the search index but must not import ``bot``; it calls ``describe_filer`` for
each filer whose text is missing or stale (``storage.corpus.refresh_search_text``), so
`ByteDance` and `字节跳动` find 北京抖音信息服务有限公司 exactly as the messages name it. The
English name and company are stored with the index, so the web app shows them without
loading the naming machinery (pypinyin's dictionaries) into its own process.
"""

from __future__ import annotations

import hashlib

from bot.changes.companies import BIG_TECH, FOREIGN, BigTechGroup, ForeignFiler, big_tech_group, english_name, foreign_filer
from storage.corpus import Corpus, FilerWords

__all__ = ["describe_filer", "DESCRIBER_VERSION", "refresh_index"]


def describe_filer(entity: str) -> FilerWords:
    """English name, big-tech group or foreign parent (both languages, with aliases)."""
    words: list[str] = []
    company: str | None = None
    for found in (big_tech_group(entity), foreign_filer(entity)):
        if found is not None:
            company = company or found.en
            words += [found.zh, found.en, found.key, *found.aliases]
    return FilerWords(english=english_name(entity), company=company, words=tuple(w for w in words if w))


def _version() -> str:
    # The company tables decide the words: when they change, every stored text is stale.
    digest = hashlib.sha256()
    companies: list[BigTechGroup | ForeignFiler] = [*BIG_TECH, *FOREIGN]
    for company in companies:
        digest.update(repr((company.key, company.zh, company.en, company.aliases, company.patterns)).encode())
    digest.update(english_name("北京抖音信息服务有限公司").encode())  # the rendering rules, sampled
    return "v2-" + digest.hexdigest()[:16]


DESCRIBER_VERSION = _version()


def refresh_index(corpus: Corpus) -> int:
    """Bring every filing's search text up to date; returns how many were (re)built."""
    return corpus.refresh_search_text(describe_filer, DESCRIBER_VERSION)
