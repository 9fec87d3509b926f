"""Watchlists: which configured companies a filer is.

A pattern is one of
- a Chinese company name (any pattern with a Han character): both sides are reduced to their
  distinctive core (NFKC, casefolded, no whitespace, no bracketed place such as （北京）, no
  organisation type such as 有限公司/股份有限公司/有限责任公司/集团) and then
  * a core of at most 3 characters must be CONTAINED in the filer's name (腾讯, 百度): fuzzy
    scores on two or three characters would match half the list;
  * a longer core matches when contained; when its trade name is contained and its industry
    words follow it (商汤科技 → 上海商汤智能科技有限公司, score 95); or when ``fuzz.ratio`` (whole names, tolerates a
    missing or wrong character in a full legal name) or ``fuzz.partial_ratio`` (the pattern
    inside a longer name) reaches the threshold. partial_ratio is only used when the pattern
    is the shorter side, so a long pattern never matches a short, different name inside it.
  Chinese names are NOT expanded to groups: 腾讯 finds the filers named 腾讯…, not 酷狗.
- ``re:<regex>``: searched (case-insensitively) in the name as listed, its NFKC form and its
  English name. An invalid regex is reported by ``check_pattern`` and skipped (with a warning)
  by ``Watchlist`` so that one bad entry cannot stop a poll.
- an English name (Latin only): a big-tech group or foreign company by name or alias ("HP",
  "Alibaba", "ByteDance" find their subsidiaries via ``bot.changes.companies``), else whole words of
  the filer's English name ("Zhipu", "Tencent Music"), or the Latin text inside a Chinese name
  ("TCL" in 深圳TCL新技术有限公司); long English patterns also match fuzzily word by word.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from rapidfuzz import fuzz

from bot.changes.companies import (
    BigTechGroup,
    ForeignFiler,
    big_tech_group,
    english_name,
    find_company,
    foreign_filer,
    normalize_name,
)
from bot.changes.companies_data import INDUSTRY_WORDS, PLACES

__all__ = ["Watchlist", "WatchHit", "PatternMatcher", "FilingHit", "filing_hits", "fold", "company_core", "check_pattern"]

log = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_BRACKETED = re.compile(r"\(([^()]*)\)")
_BRANCH_HEAD = re.compile(r"^(.+?(?:有限责任公司|股份有限公司|有限公司))(.+?)(?:分公司|分行|支行)$")
_ORG_TYPES: Final = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团公司", "集团", "公司")
_SHORT: Final = 3  # cores this long or shorter need containment
_NAME_LIMIT: Final = 300  # a longer "name" is clipped before matching (and before any regex)
_PATTERN_LIMIT: Final = 500
_INDUSTRY_KEYS: Final = tuple(sorted(INDUSTRY_WORDS, key=len, reverse=True))


@lru_cache(maxsize=65536)
def company_core(name: str) -> str:
    """The distinctive part of a company name (北京百度网讯科技有限公司 → 北京百度网讯科技).

    NFKC, casefolded, no whitespace, bracketed places and organisation types removed; a branch
    (…有限公司北京分公司) is reduced to its company. Never empty for a non-empty name.
    """
    text = normalize_name(name).casefold()[:_NAME_LIMIT]
    branch = _BRANCH_HEAD.match(text)
    if branch:
        text = branch.group(1)
    core = _BRACKETED.sub(lambda m: "" if m.group(1) in PLACES else m.group(1), text)
    for _ in range(3):  # 科技集团股份有限公司: 股份有限公司, then 集团
        for suffix in _ORG_TYPES:
            if core.endswith(suffix) and len(core) > len(suffix):
                core = core[: -len(suffix)]
                break
        else:
            break
    return core or text


@dataclass(frozen=True, slots=True)
class WatchHit:
    pattern: str  # as configured
    score: float  # 0-100; 100 for containment, regex, group and exact English matches
    method: str = "name"  # name | fuzzy | regex | group | english


def _compile(pattern: str) -> re.Pattern[str]:
    body = pattern[3:]
    if not body.strip():
        raise ValueError(f"watch pattern {pattern!r}: empty regular expression")
    if len(body) > _PATTERN_LIMIT:
        raise ValueError(f"watch pattern {pattern[:40]!r}…: longer than {_PATTERN_LIMIT} characters")
    try:
        return re.compile(body, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"watch pattern {pattern!r}: invalid regular expression ({exc})") from None


def check_pattern(pattern: str) -> None:
    """Raise ValueError if a pattern can never work (bad ``re:`` regex): for config validation."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("watch pattern: empty")
    if pattern.strip().startswith("re:"):
        _compile(pattern.strip())


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKD", text).casefold())


def _contains_words(needle: list[str], haystack: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _brand_and_words(core: str) -> tuple[str, tuple[str, ...]]:
    """商汤科技 → (商汤, (科技,)): the trade name and the industry words after it."""
    words: list[str] = []
    while True:
        key = next((k for k in _INDUSTRY_KEYS if core.endswith(k) and len(core) > len(k)), None)
        if key is None:
            return core, tuple(words)
        words.insert(0, key)
        core = core[: -len(key)]


class _Chinese:
    def __init__(self, pattern: str, threshold: float) -> None:
        self.pattern = pattern
        self.key = company_core(pattern)
        self.brand, self.industry = _brand_and_words(self.key)
        self.threshold = threshold

    def score(self, entity: str) -> WatchHit | None:
        core = company_core(entity)
        if not self.key or not core:
            return None
        if self.key in core:
            return WatchHit(self.pattern, 100.0, "name")
        if len(self.key) <= _SHORT:
            return None
        # The way people name firms: brand plus industry word (商汤科技 for 上海商汤智能科技有限公司).
        if (
            self.industry
            and len(self.brand) >= 2
            and self.brand in core
            and all(word in core[core.index(self.brand) + len(self.brand) :] for word in self.industry)
            and 95.0 >= self.threshold
        ):
            return WatchHit(self.pattern, 95.0, "fuzzy")
        score = fuzz.ratio(self.key, core)
        if len(self.key) <= len(core):
            score = max(score, fuzz.partial_ratio(self.key, core))
        if score >= self.threshold:
            return WatchHit(self.pattern, round(float(score), 1), "fuzzy")
        return None


class _Regex:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.regex = _compile(pattern)

    def score(self, entity: str) -> WatchHit | None:
        raw = entity.strip()[:_NAME_LIMIT]
        candidates = (raw, unicodedata.normalize("NFKC", raw), english_name(raw))
        if any(self.regex.search(text) for text in candidates):
            return WatchHit(self.pattern, 100.0, "regex")
        return None


class _English:
    def __init__(self, pattern: str, threshold: float) -> None:
        self.pattern = pattern
        self.company: BigTechGroup | ForeignFiler | None = find_company(pattern)
        self.words = _words(pattern)
        self.threshold = threshold
        # Latin text written inside a Chinese name (TCL, OPPO), as a whole word.
        text = " ".join(self.words)
        self.latin = re.compile(r"(?<![a-z0-9])" + re.escape(text).replace(r"\ ", r"\s*") + r"(?![a-z0-9])") if text else None

    def score(self, entity: str) -> WatchHit | None:
        if not self.words:
            return None
        if self.company is not None:
            known = big_tech_group(entity) if isinstance(self.company, BigTechGroup) else foreign_filer(entity)
            if known == self.company:
                return WatchHit(self.pattern, 100.0, "group")
        rendered = _words(english_name(entity))
        if _contains_words(self.words, rendered):
            return WatchHit(self.pattern, 100.0, "english")
        if self.latin is not None and self.latin.search(unicodedata.normalize("NFKC", entity).casefold()):
            return WatchHit(self.pattern, 100.0, "english")
        # Typos in a long pattern ("Tencnet Music"): compare with each run of as many words.
        joined = " ".join(self.words)
        if len(joined) < 6:
            return None
        n = len(self.words)
        best = max(
            (fuzz.ratio(joined, " ".join(rendered[i : i + n])) for i in range(max(1, len(rendered) - n + 1))),
            default=0.0,
        )
        return WatchHit(self.pattern, round(float(best), 1), "english") if best >= self.threshold else None


class Watchlist:
    """Company names, ``re:`` patterns or English names, matched against filer names."""

    def __init__(self, patterns: Sequence[str], threshold: float = 90) -> None:
        if not 0 < float(threshold) <= 100:
            raise ValueError(f"threshold must be in (0, 100], not {threshold!r}")
        self.threshold = float(threshold)
        self.patterns: list[str] = []
        self.invalid: list[str] = []  # patterns skipped (bad regex), for status pages and logs
        self._matchers: list[_Chinese | _Regex | _English] = []
        for raw in dict.fromkeys(p.strip() for p in patterns if isinstance(p, str) and p.strip()):
            try:
                if raw.startswith("re:"):
                    matcher: _Chinese | _Regex | _English = _Regex(raw)
                elif _HAN.search(raw):
                    matcher = _Chinese(raw, self.threshold)
                else:
                    matcher = _English(raw, self.threshold)
            except ValueError as exc:
                log.warning("%s: skipped", exc)
                self.invalid.append(raw)
                continue
            self.patterns.append(raw)
            self._matchers.append(matcher)
        self._cache: dict[str, list[WatchHit]] = {}

    def __bool__(self) -> bool:
        return bool(self._matchers)

    def __len__(self) -> int:
        return len(self._matchers)

    def __repr__(self) -> str:
        return f"Watchlist({self.patterns!r}, threshold={self.threshold:g})"

    def matches(self, entity: str) -> list[WatchHit]:
        """Every pattern that matches a filer, in the order the patterns were given."""
        if not isinstance(entity, str) or not entity.strip():
            return []
        cached = self._cache.get(entity)
        if cached is None:
            cached = [hit for m in self._matchers if (hit := m.score(entity)) is not None]
            if len(self._cache) < 100_000:
                self._cache[entity] = cached
        return list(cached)

    def match(self, entity: str) -> WatchHit | None:
        """The best-scoring pattern for a filer (the first one given on a tie), or None."""
        best: WatchHit | None = None
        for hit in self.matches(entity):
            if best is None or hit.score > best.score:
                best = hit
        return best


# --- which patterns, which filings ------------------------------------------------------------

_LIST_EVENTS: Final = ("list.published", "list.revised")


def fold(text: str) -> str:
    """NFKC, no whitespace, case-folded: how names and patterns are compared as plain text."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).casefold()


class PatternMatcher:
    """Which of several watch patterns match a filer, each judged on its own (an alert or a
    digest names every pattern that hit, not only the best one).

    The rules are ``Watchlist``'s (fuzzy Chinese names, ``re:`` patterns, English names),
    plus a width-, case- and space-insensitive substring test, so that an exact fragment of
    a name always matches whatever the fuzzy scorer thinks. Patterns come back in the order
    given. The one matcher of Telegram watches and email subscribers' watchlists.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = [p for p in dict.fromkeys(p.strip() for p in patterns if p) if p]
        self._folded = [(p, fold(p)) for p in self.patterns]
        self._watchlist = Watchlist(self.patterns)
        self._cache: dict[str, list[str]] = {}

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, entity: str) -> list[str]:
        if not entity or not self.patterns:
            return []
        cached = self._cache.get(entity)
        if cached is None:
            folded = fold(entity)
            hit = {p for p, key in self._folded if key and key in folded}
            hit.update(h.pattern for h in self._watchlist.matches(entity))
            cached = [p for p in self.patterns if p in hit]
            if len(self._cache) < 100_000:
                self._cache[entity] = cached
        return cached


@dataclass(frozen=True, slots=True)
class FilingHit:
    """A filing of a list event that matched one watch pattern."""

    pattern: str
    change: str  # new | changed | removed
    record: dict[str, Any]  # the event's record of the filing (export record, or a change)
    matched: str = ""  # the filer name that matched: the current one or, for a rename, a former one
    kind: str = ""
    list_name: str = ""

    @property
    def entity(self) -> str:
        return str(self.record.get("entity") or self.matched)

    @property
    def filing_number(self) -> str:
        return str(self.record.get("filing_number") or "")

    @property
    def name(self) -> str:
        return str(self.record.get("name") or "")


def _entities(change: str, record: Mapping[str, Any]) -> list[str]:
    names = [str(record.get("entity") or "")]
    if change == "changed":
        before_after = (record.get("changes") or {}).get("entity")
        if isinstance(before_after, (list, tuple)):
            names += [str(v) for v in before_after if v]
    return [n for n in dict.fromkeys(names) if n]


def filing_hits(event: Mapping[str, Any], matcher: PatternMatcher | None) -> list[FilingHit]:
    """Every (pattern, filing) pair among a list event's new, changed and removed filings."""
    if not matcher or event.get("type") not in _LIST_EVENTS:
        return []
    data = event["data"]
    hits: list[FilingHit] = []
    for change in ("new", "changed", "removed"):
        for record in data.get(change) or []:
            seen: dict[str, str] = {}
            for entity in _entities(change, record):
                for pattern in matcher.match(entity):
                    seen.setdefault(pattern, entity)
            hits += [
                FilingHit(
                    pattern=pattern,
                    change=change,
                    record=record,
                    matched=entity,
                    kind=str(data.get("kind") or ""),
                    list_name=str(data.get("name") or ""),
                )
                for pattern, entity in seen.items()
            ]
    return hits
