"""The words cacwatch adds to a filer's search text: its English name and its company.

Storage keeps the search index but must not import ``bot``; it calls ``describe_filer`` for
each filer whose text is missing or stale (``storage.corpus.refresh_search_text``), so
`ByteDance` and `字节跳动` find 北京抖音信息服务有限公司 exactly as the messages name it.
"""

from __future__ import annotations

import hashlib

from bot.companies import BIG_TECH, FOREIGN, BigTechGroup, ForeignFiler, big_tech_group, english_name, foreign_filer
from storage.corpus import Corpus

__all__ = ["describe_filer", "DESCRIBER_VERSION", "refresh_index"]


def describe_filer(entity: str) -> str:
    """English name, big-tech group and foreign parent (each in both languages, with aliases)."""
    words = [english_name(entity)]
    group = big_tech_group(entity)
    if group is not None:
        words += [group.zh, group.en, group.key, *group.aliases]
    parent = foreign_filer(entity)
    if parent is not None:
        words += [parent.zh, parent.en, parent.key, *parent.aliases]
    return "\n".join(w for w in words if w)


def _version() -> str:
    # The company tables decide the words: when they change, every stored text is stale.
    digest = hashlib.sha256()
    companies: list[BigTechGroup | ForeignFiler] = [*BIG_TECH, *FOREIGN]
    for company in companies:
        digest.update(repr((company.key, company.zh, company.en, company.aliases, company.patterns)).encode())
    digest.update(english_name("北京抖音信息服务有限公司").encode())  # the rendering rules, sampled
    return "v1-" + digest.hexdigest()[:16]


DESCRIBER_VERSION = _version()


def refresh_index(corpus: Corpus) -> int:
    """Bring every filing's search text up to date; returns how many were (re)built."""
    return corpus.refresh_search_text(describe_filer, DESCRIBER_VERSION)
