"""One company resolver: which company a filer belongs to, which companies a query names.

Watchlists, Telegram ``/search`` and ``/watch``, the email filters, the web search's text and
the findings' big-tech line all ask this module, so the same words find the same filings
everywhere: ``字节跳动``, ``ByteDance``, ``抖音`` and ``Douyin`` all name the ByteDance group, whose
filers include 北京抖音信息服务有限公司.

- ``company_of(entity)``: the big-tech group (first) or foreign parent of a filer, from the
  maintained patterns of ``bot.changes.companies_data``.
- ``resolve(query)``: the companies a query names. A query names a company when, folded (NFKC,
  case, spaces and punctuation ignored), it IS one of the company's words: its Chinese and
  English names, key, English aliases, or one of its ``QUERY_NAMES`` (short names, brands).
  Containment is deliberately not enough in either direction, so a search narrows and never
  adds near misses ("支付" is not 支付宝, "中国" is not 中国移动).
- ``suggest(query)``: the nearest companies by name, for a watch or search that found nothing.
- ``company_words(entity)``: the words naming a filer's company, for search indexes.
- ``no_filing_text(company)``: what a search or watch naming a known company that has no
  filing says ("Tesla: no filing on record") instead of a bare 0.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from rapidfuzz import fuzz, process

from bot.changes.companies import BIG_TECH, FOREIGN, BigTechGroup, ForeignFiler, big_tech_group, foreign_filer
from bot.changes.companies_data import QUERY_NAMES

__all__ = ["Company", "company_of", "resolve", "suggest", "company_words", "company_label", "fold_term", "no_filing_text"]

Company = BigTechGroup | ForeignFiler

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_COMPANIES: Final[tuple[Company, ...]] = (*BIG_TECH, *FOREIGN)


def fold_term(text: str) -> str:
    """How names are compared: NFKC, case-folded, accents, spaces and punctuation dropped."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in text.casefold() if ch.isalnum() and not unicodedata.combining(ch))


def _words_of(company: Company) -> tuple[str, ...]:
    words = [company.zh, company.en, company.key, *company.aliases, *QUERY_NAMES.get(company.key, ())]
    # "PDD (Pinduoduo)", "新浪/微博": each part alone names the company too.
    for name in (company.en, company.zh):
        words += [part for part in name.replace("(", "/").replace(")", "/").split("/") if part.strip()]
    return tuple(dict.fromkeys(w.strip() for w in words if w and w.strip()))


_WORDS: Final[dict[str, tuple[str, ...]]] = {c.key: _words_of(c) for c in _COMPANIES}
_BY_TERM: Final[dict[str, tuple[Company, ...]]] = {}
for _company in _COMPANIES:
    for _word in _WORDS[_company.key]:
        _term = fold_term(_word)
        if _term and _company not in _BY_TERM.get(_term, ()):
            _BY_TERM[_term] = (*_BY_TERM.get(_term, ()), _company)
_TERMS: Final[tuple[str, ...]] = tuple(_BY_TERM)


def company_of(entity: str) -> Company | None:
    """The company a filer belongs to: its big-tech group, else its foreign parent, else None."""
    if not isinstance(entity, str) or not entity.strip():
        return None
    return big_tech_group(entity) or foreign_filer(entity)


@lru_cache(maxsize=4096)
def resolve(query: str) -> tuple[Company, ...]:
    """The companies a query names exactly (usually one; empty when it names none)."""
    return _BY_TERM.get(fold_term(query), ())


def _similarity(query: str, term: str, **_: object) -> float:
    """Whole-name similarity, or a name inside the query ("字节跳动科技" ~ 字节跳动) slightly
    discounted; the inside case needs two Han characters or three letters ("qq" is not in "qqqzz")."""
    score = fuzz.ratio(query, term)
    shortest = min(query, term, key=len)
    if len(shortest) >= (2 if _HAN.search(shortest) else 3):
        score = max(score, 0.9 * fuzz.partial_ratio(query, term))
    return float(score)


def suggest(query: str, limit: int = 3) -> list[Company]:
    """The companies whose names are nearest to ``query`` (best first), for "did you mean"."""
    folded = fold_term(query)
    if not folded:
        return []
    found: list[Company] = []
    for term, score, _ in process.extract(folded, _TERMS, scorer=_similarity, limit=40, score_cutoff=70):
        for company in _BY_TERM[term]:
            if company not in found:
                found.append(company)
        if len(found) >= limit:
            break
    return found[:limit]


def company_words(entity: str) -> tuple[str, ...]:
    """Every word that names the filer's company (empty when it has none): for search indexes."""
    company = company_of(entity)
    return _WORDS[company.key] if company is not None else ()


def company_label(company: Company) -> str:
    """"字节跳动 ByteDance": how a suggestion names a company in both languages."""
    return company.zh if company.zh == company.en else f"{company.zh} {company.en}"


def no_filing_text(company: Company) -> tuple[str, str]:
    """("特斯拉：暂无备案记录", "Tesla: no filing on record"): said by the web search, the API,
    Telegram and watches when a query names a known company that has no filing at all."""
    return f"{company.zh}：暂无备案记录", f"{company.en}: no filing on record"
