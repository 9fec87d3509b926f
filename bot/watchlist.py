"""Watchlists: company names or patterns matched against filing entities.

A pattern is
- a Chinese company name, matched fuzzily (rapidfuzz) after stripping what every company
  name has (有限公司, 股份…, a bracketed place such as （北京）), so 字节跳动 finds
  北京字节跳动科技有限公司 and a renamed 有限责任公司 still matches;
- ``re:<regex>``, matched as a regular expression;
- an English name (Latin letters), matched against the big-tech and foreign-firm maps and
  the entity's English rendering, so ``HP`` finds 惠普贸易（上海）有限公司.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from bot.companies import big_tech_group, english_name, foreign_filer

__all__ = ["Watchlist", "WatchHit", "company_core"]

_NOISE = re.compile(r"[（(][^）)]{1,8}[）)]|股份有限公司|有限责任公司|有限公司|集团|分公司|公司|\s+")


@lru_cache(maxsize=16384)
def company_core(name: str) -> str:
    """The distinctive part of a company name: NFKC, no org-type words, no bracketed place."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", name or "")).lower()


@dataclass(frozen=True, slots=True)
class WatchHit:
    pattern: str
    score: float


class Watchlist:
    def __init__(self, patterns: Sequence[str], threshold: float = 90) -> None:
        self.patterns = [p.strip() for p in patterns if p and p.strip()]
        self.threshold = threshold
        self._regexes = {p: re.compile(p[3:]) for p in self.patterns if p.startswith("re:")}

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, entity: str) -> WatchHit | None:
        """The best-matching pattern for an entity, or None."""
        best: WatchHit | None = None
        for pattern in self.patterns:
            score = self._score(pattern, entity)
            if score is not None and (best is None or score > best.score):
                best = WatchHit(pattern, score)
        return best

    def _score(self, pattern: str, entity: str) -> float | None:
        if pattern in self._regexes:
            return 100.0 if self._regexes[pattern].search(entity or "") else None
        if re.fullmatch(r"[A-Za-z0-9 .&'-]+", pattern):
            return self._english(pattern, entity)
        wanted, core = company_core(pattern), company_core(entity)
        if not wanted or not core:
            return None
        if wanted in core:
            return 100.0
        if len(wanted) <= 3:
            return None  # short names: substring only, fuzzy matching would find everyone
        score = max(fuzz.ratio(wanted, core), fuzz.partial_ratio(wanted, core) if len(wanted) >= 5 else 0)
        return float(score) if score >= self.threshold else None

    @staticmethod
    def _english(pattern: str, entity: str) -> float | None:
        wanted = pattern.lower().strip()
        for known in (big_tech_group(entity), foreign_filer(entity)):
            if known is not None and (known.en.lower() == wanted or getattr(known, "key", "") == wanted):
                return 100.0
        rendered = english_name(entity).lower()
        if re.search(rf"(?<![a-z]){re.escape(wanted)}(?![a-z])", rendered):
            return 95.0
        return None
