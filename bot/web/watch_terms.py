"""What a sign-up's watchlist entries name, with suggestions for what nothing recognised.

Through the one resolver (``bot.changes.resolver``: company groups and foreign companies by any
of their names) and the one pattern check (``bot.settings.patterns.check_pattern``); a name that
names no company is looked up among the stored filers through the search index
(``Corpus.entities``: names, English names and groups as stored with the index), so the web
process never loads the naming machinery (pypinyin): the resolver and the pattern check need
only rapidfuzz and RE2, and are imported on the first sign-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from storage.corpus import Corpus

__all__ = ["WatchTerm", "read_watchlist"]


@dataclass(frozen=True, slots=True)
class WatchTerm:
    """One entry: ``group`` (a company the resolver knows: ``label`` names it), ``filer``
    (stored filers' names contain it: ``filers`` of them, ``label`` the first), ``pattern``
    (``re:``), or ``unknown`` (``suggestions``: the nearest company names)."""

    text: str
    kind: Literal["group", "filer", "pattern", "unknown"]
    label: str = ""
    filers: int = 0
    suggestions: tuple[str, ...] = ()


def read_watchlist(corpus: Corpus, entries: Sequence[str]) -> list[WatchTerm]:
    """Each (already validated) entry with what it names. Runs queries: call it in a thread."""
    from bot.changes.resolver import company_label, resolve, suggest

    terms: list[WatchTerm] = []
    for text in entries:
        if text.startswith("re:"):
            terms.append(WatchTerm(text, "pattern"))
            continue
        companies = resolve(text)
        if companies:
            terms.append(WatchTerm(text, "group", label=company_label(companies[0])))
            continue
        filers = corpus.entities(text, limit=20) if len(text) >= 2 else []
        if filers:
            terms.append(WatchTerm(text, "filer", label=filers[0].entity, filers=len(filers)))
            continue
        terms.append(WatchTerm(text, "unknown", suggestions=tuple(company_label(c) for c in suggest(text))))
    return terms
