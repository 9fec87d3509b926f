"""Bring the search index up to date, in a child process (``cacwatch serve``) or inline.

The words of the index come from ``bot.changes.companies`` (English names via pypinyin, whose
dictionaries take ~55 MB). `cacwatch serve` keeps its own memory small by never importing
them: it builds the index in a short-lived spawned child, which exits when done. A process
that already holds them (`cacwatch run`) can refresh inline.
"""

from __future__ import annotations

import multiprocessing

__all__ = ["reindex_database", "reindex_in_child"]


def reindex_database(url: str) -> int:
    """Open the database at ``url``, refresh its search index, close it; returns rows rebuilt."""
    from bot.web.search_text import refresh_index
    from storage.corpus import Corpus
    from storage.db import Database

    db = Database(url)
    try:
        return refresh_index(Corpus(db))
    finally:
        db.dispose()


def reindex_in_child(url: str) -> int:
    """``reindex_database`` in a spawned process (the URL travels by pipe, not on a command line)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return int(pool.apply(reindex_database, (url,)))
