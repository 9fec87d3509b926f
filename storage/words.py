"""One meaning per word: Latin words match whole words, everything else as a substring.

``Intel`` must not find "Artificial Intelligence …": a query (or a watch pattern) whose Latin
text begins or ends a word must find it as a whole word, while Chinese text (which has no word
boundaries) and digits (number fragments, ``110108``) keep matching as substrings.

The rule is one function of two texts, used by the search index (``storage.corpus_search``:
the ``words`` columns hold ``word_text`` of the search text, and a query adds "contains one of
``word_needles``" to its trigram prefilter) and by the watch matcher
(``bot.changes.watchlist``, through ``contains_words``), so a word means the same filings in
the web search, the API, the feeds, Telegram and email watches:

- ``word_text``: NFKC, case-folded, every maximal run of Latin letters and digits wrapped in
  ``MARK`` (a control character that no normalised query contains), then whitespace removed,
  so ``"Tencent Music"`` is ``␟tencent␟␟music␟`` and 深圳TCL新技术 is ``深圳␟tcl␟新技术``.
- ``word_needles``: the same marking of a query, with the mark at either end dropped unless the
  run there holds a Latin letter (``intel`` → ``␟intel␟``; ``110108`` → ``110108``); a needle
  whose marks all stand beside a character no run holds (``网信算备110`` → ``网信算备␟110``) is
  implied by containment, and like one without any mark needs no word condition at all. Words
  the query separates by spaces may be joined in the text (``byte dance`` finds ByteDance): a
  second needle.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["MARK", "word_text", "word_needles", "contains_words"]

MARK: Final = "\x1f"
# Latin letters and digits after casefold (ASCII, Latin-1 letters, Latin Extended-A/B).
_RUN = re.compile("[0-9a-z\u00df-\u00f6\u00f8-\u024f]+")
_LETTER = re.compile("[a-z\u00df-\u00f6\u00f8-\u024f]")
# Whitespace and invisible format characters, as storage.corpus_search removes them — but not MARK.
_SPACE = re.compile("[^\\S\x1f]+|[\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]+")
_MARKED_RUN = re.compile(MARK + "([^" + MARK + "]*)" + MARK)


def _fold(text: str) -> str:
    # A mark typed by someone is whitespace like any other control separator.
    return unicodedata.normalize("NFKC", text).casefold().replace(MARK, " ")


def word_text(text: str) -> str:
    """``text`` folded, its Latin runs wrapped in ``MARK``, whitespace removed."""
    return _SPACE.sub("", _RUN.sub(lambda m: MARK + m.group() + MARK, _fold(text)))


def _needle(query: str) -> str | None:
    marked = word_text(query)
    runs = _MARKED_RUN.findall(marked)
    if not runs:
        return None
    if marked.startswith(MARK) and not _LETTER.search(runs[0]):
        marked = marked[1:]
    if marked.endswith(MARK) and not _LETTER.search(runs[-1]):
        marked = marked[:-1]
    if not marked.startswith(MARK) and not marked.endswith(MARK) and MARK + MARK not in marked:
        # Every mark left stands beside a character no run holds (网信算备␟110): a text holding
        # the query holds that mark too, so containment alone is the rule (and costs no lookup).
        return None
    return marked


def word_needles(query: str) -> tuple[str, ...]:
    """What ``word_text`` of a matching text must contain (any one of them), or () when plain
    substring containment (of the query without whitespace) is already the whole rule.

    Latin words the query separates by spaces may also be written together in the text
    (``byte dance`` finds ByteDance): the query with its spaces removed is the second needle.
    """
    spaced, joined = _needle(query), _needle(_SPACE.sub("", _fold(query)))
    if spaced is None or joined is None:
        return ()
    return (spaced,) if spaced == joined else (spaced, joined)


def contains_words(text: str, query: str) -> bool:
    """Whether ``text`` contains ``query`` under the rule: whitespace and case ignored, Latin
    words whole (the watch matcher's plain-name rule; the search index's in SQL)."""
    folded_query = _SPACE.sub("", _fold(query))
    if not folded_query or folded_query not in _SPACE.sub("", _fold(text)):
        return False
    needles = word_needles(query)
    marked = word_text(text)
    return not needles or any(needle in marked for needle in needles)
