"""Watchlists: which watch patterns a filer matches. The one watch matcher (``Watchlist``) and
the one hit type (``FilingHit``) of Telegram watches, email watchlists, ``notify.watchlist``
and the findings.

A pattern is one of
- a name of a company group or foreign company (``字节跳动``, ``ByteDance``, ``抖音``, ``淘宝``,
  ``HP``, ``惠普`` …, see ``bot.changes.resolver``): exactly the filers the resolver assigns to
  that company match (score 100, method ``group``); the name rules below do not apply, so a
  look-alike the maintained patterns leave out (上海优惠普…) stays out;
- a Chinese company name (any pattern with a Han character): both sides are reduced to their
  distinctive core (NFKC, casefolded, no whitespace, no bracketed place such as （北京）, no
  organisation type such as 有限公司/股份有限公司/有限责任公司/集团) and then
  * a core of at most 3 characters must be CONTAINED in the filer's name: fuzzy scores on
    two or three characters would match half the list;
  * a longer core matches when contained; when its trade name is contained and its industry
    words follow it (商汤科技 → 上海商汤智能科技有限公司, score 95); or when ``fuzz.ratio`` (whole names, tolerates a
    missing or wrong character in a full legal name) or ``fuzz.partial_ratio`` (the pattern
    inside a longer name) reaches the threshold. partial_ratio is only used when the pattern
    is the shorter side, so a long pattern never matches a short, different name inside it.
- ``re:<regex>``: searched (case-insensitively) in the name as listed, its NFKC form and its
  English name, with RE2 (linear time: a chat user's ``re:(.|.)*!`` cannot stall the service),
  at most ``PATTERN_LIMIT`` characters. ``check_pattern`` (``bot.settings.patterns``) refuses an invalid one where it is
  added (config load, ``/watch``, ``subscribers add``); ``Watchlist`` skips one that slipped
  in earlier (an old database row) without a word on every poll.
- an English name (Latin only): whole words of the filer's English name ("Zhipu", "Tencent
  Music"), or the Latin text inside a Chinese name ("TCL" in 深圳TCL新技术有限公司); long English
  patterns also match fuzzily word by word.
Any other name also matches a filer whose name contains it (width, case and spaces
ignored; a Latin word only whole, ``storage.words``, as in the web search), whatever the
fuzzy scorer thinks.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, NamedTuple

from rapidfuzz import fuzz

from bot.changes.companies import english_name, normalize_name
from bot.changes.companies_data import INDUSTRY_WORDS, PLACES
from bot.changes.event_schema import ChangedFiling, Event, FilingRecord, is_list_event
from bot.changes.resolver import Company, company_of, resolve
from bot.settings.patterns import compile_pattern
from storage.words import contains_words

__all__ = [
    "Watchlist",
    "FilingHit",
    "filing_hits",
    "hits_in",
    "fold",
    "company_core",
]

log = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_BRACKETED = re.compile(r"\(([^()]*)\)")
_BRANCH_HEAD = re.compile(r"^(.+?(?:有限责任公司|股份有限公司|有限公司))(.+?)(?:分公司|分行|支行)$")
_ORG_TYPES: Final = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团公司", "集团", "公司")
_SHORT: Final = 3  # cores this long or shorter need containment
_NAME_LIMIT: Final = 300  # a longer "name" is clipped before matching (and before any regex)
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


class _Score(NamedTuple):
    pattern: str  # as given
    score: float  # 0-100; 100 for containment, regex, group and exact English matches
    method: str  # name | fuzzy | regex | group | english


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

    def score(self, entity: str) -> _Score | None:
        core = company_core(entity)
        if not self.key or not core:
            return None
        if self.key in core:
            return _Score(self.pattern, 100.0, "name")
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
            return _Score(self.pattern, 95.0, "fuzzy")
        score = fuzz.ratio(self.key, core)
        if len(self.key) <= len(core):
            score = max(score, fuzz.partial_ratio(self.key, core))
        if score >= self.threshold:
            return _Score(self.pattern, round(float(score), 1), "fuzzy")
        return None


class _Regex:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.regex = compile_pattern(pattern)

    def score(self, entity: str) -> _Score | None:
        raw = entity.strip()[:_NAME_LIMIT]
        candidates = (raw, unicodedata.normalize("NFKC", raw), english_name(raw))
        if any(self.regex.search(text) for text in candidates):
            return _Score(self.pattern, 100.0, "regex")
        return None


class _English:
    def __init__(self, pattern: str, threshold: float) -> None:
        self.pattern = pattern
        self.words = _words(pattern)
        self.threshold = threshold
        # Latin text written inside a Chinese name (TCL, OPPO), as a whole word.
        text = " ".join(self.words)
        self.latin = re.compile(r"(?<![a-z0-9])" + re.escape(text).replace(r"\ ", r"\s*") + r"(?![a-z0-9])") if text else None

    def score(self, entity: str) -> _Score | None:
        if not self.words:
            return None
        rendered = _words(english_name(entity))
        if _contains_words(self.words, rendered):
            return _Score(self.pattern, 100.0, "english")
        if self.latin is not None and self.latin.search(unicodedata.normalize("NFKC", entity).casefold()):
            return _Score(self.pattern, 100.0, "english")
        # Typos in a long pattern ("Tencnet Music"): compare with each run of as many words.
        joined = " ".join(self.words)
        if len(joined) < 6:
            return None
        n = len(self.words)
        best = max(
            (fuzz.ratio(joined, " ".join(rendered[i : i + n])) for i in range(max(1, len(rendered) - n + 1))),
            default=0.0,
        )
        return _Score(self.pattern, round(float(best), 1), "english") if best >= self.threshold else None


class _Named:
    """A name (not ``re:``): the companies it names, plain containment, then the name rules."""

    def __init__(self, pattern: str, threshold: float) -> None:
        self.pattern = pattern
        self.companies: tuple[Company, ...] = resolve(pattern)
        self.folded = fold(pattern)
        self.rule: _Chinese | _English = (
            _Chinese(pattern, threshold) if _HAN.search(pattern) else _English(pattern, threshold)
        )

    def score(self, entity: str) -> _Score | None:
        if self.companies:
            # A company's name means that company: its maintained patterns decide, and plain
            # containment must not bring back what they leave out (优惠普 is not 惠普/HP).
            return _Score(self.pattern, 100.0, "group") if company_of(entity) in self.companies else None
        # Width, case and spaces ignored; Latin words whole (storage.words, as the web search).
        if self.folded and contains_words(entity[:_NAME_LIMIT], self.pattern):
            return _Score(self.pattern, 100.0, "name")
        return self.rule.score(entity)


def fold(text: str) -> str:
    """NFKC, no whitespace, case-folded: how names and patterns are compared as plain text."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).casefold()


class Watchlist:
    """Watch patterns (company names, English names, ``re:`` patterns) matched against filers.

    Each pattern is judged on its own: an alert or a digest names every pattern that hit, in
    the order the patterns were given.
    """

    def __init__(self, patterns: Iterable[str], threshold: float = 90) -> None:
        if not 0 < float(threshold) <= 100:
            raise ValueError(f"threshold must be in (0, 100], not {threshold!r}")
        self.threshold = float(threshold)
        self.patterns: list[str] = []
        self.invalid: list[str] = []  # patterns skipped (refused when added; old rows only)
        self._matchers: list[_Named | _Regex] = []
        for raw in dict.fromkeys(p.strip() for p in patterns if isinstance(p, str) and p.strip()):
            try:
                matcher: _Named | _Regex = _Regex(raw) if raw.startswith("re:") else _Named(raw, self.threshold)
            except ValueError as exc:
                log.debug("%s: skipped", exc)
                self.invalid.append(raw)
                continue
            self.patterns.append(raw)
            self._matchers.append(matcher)
        self._cache: dict[str, list[_Score]] = {}

    def __bool__(self) -> bool:
        return bool(self._matchers)

    def __len__(self) -> int:
        return len(self._matchers)

    def __repr__(self) -> str:
        return f"Watchlist({self.patterns!r}, threshold={self.threshold:g})"

    def _scores(self, entity: str) -> list[_Score]:
        if not isinstance(entity, str) or not entity.strip():
            return []
        cached = self._cache.get(entity)
        if cached is None:
            cached = [hit for m in self._matchers if (hit := m.score(entity)) is not None]
            if len(self._cache) < 100_000:
                self._cache[entity] = cached
        return cached

    def match(self, entity: str) -> list[str]:
        """Every pattern that matches a filer, in the order the patterns were given."""
        return [score.pattern for score in self._scores(entity)]

    def score(self, entity: str, pattern: str) -> float | None:
        """How well ``pattern`` matches the filer (0-100), or None when it does not."""
        return next((s.score for s in self._scores(entity) if s.pattern == pattern), None)

    def method(self, entity: str, pattern: str) -> str | None:
        """How ``pattern`` matched the filer: name, fuzzy, regex, group or english."""
        return next((s.method for s in self._scores(entity) if s.pattern == pattern), None)


# --- which patterns, which filings ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilingHit:
    """A filing of a list event that matched one watch pattern."""

    pattern: str
    change: str  # new | changed | removed
    record: FilingRecord | ChangedFiling  # the event's record of the filing (export record, or a change)
    matched: str = ""  # the filer name that matched: the current one or, for a rename, a former one
    kind: str = ""
    list_name: str = ""
    score: float = 100.0  # 0-100, as Watchlist.score
    method: str = "name"  # name | fuzzy | regex | group | english

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


def hits_in(
    watchlist: Watchlist | None,
    *,
    new: Iterable[FilingRecord] = (),
    changed: Iterable[ChangedFiling] = (),
    removed: Iterable[FilingRecord] = (),
    kind: str = "",
    list_name: str = "",
) -> list[FilingHit]:
    """Every (pattern, filing) pair among new, changed and removed filings; a renamed filer
    is tried under its former name too. Per filing, hits come in the patterns' order."""
    if not watchlist:
        return []
    order = {pattern: index for index, pattern in enumerate(watchlist.patterns)}
    hits: list[FilingHit] = []
    groups: tuple[tuple[str, Iterable[FilingRecord | ChangedFiling]], ...] = (
        ("new", new), ("changed", changed), ("removed", removed)
    )
    for change, records in groups:
        for record in records:
            seen: dict[str, str] = {}
            for entity in _entities(change, record):
                for pattern in watchlist.match(entity):
                    seen.setdefault(pattern, entity)
            for pattern in sorted(seen, key=order.__getitem__):
                entity = seen[pattern]
                hits.append(
                    FilingHit(
                        pattern=pattern,
                        change=change,
                        # The event's own dict: an alert lists a filing once however many patterns hit it.
                        record=record,
                        matched=entity,
                        kind=kind,
                        list_name=list_name,
                        score=watchlist.score(entity, pattern) or 0.0,
                        method=watchlist.method(entity, pattern) or "name",
                    )
                )
    return hits


def filing_hits(event: Event, watchlist: Watchlist | None) -> list[FilingHit]:
    """Every (pattern, filing) pair among a list event's new, changed and removed filings."""
    if not watchlist or not is_list_event(event):
        return []
    data = event["data"]
    return hits_in(
        watchlist,
        new=data["new"],
        changed=data["changed"],
        removed=data["removed"],
        kind=data["kind"],
        list_name=data["name"],
    )
