"""The search index of the read side: one normalised text per filing.

The text is built by storage (from the filing's own fields) plus words the application
layer supplies for the filer (English name, company group): storage never imports ``bot``,
so those words are handed in (see ``storage.corpus.refresh_search_text``). SQLite indexes
``text`` with an FTS5 trigram table kept in step by triggers; PostgreSQL with a pg_trgm GIN
index (both created by migration 0006, which this model mirrors).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, Filing

__all__ = ["FilingSearch", "FilingWords", "FILTER_INDEXES", "FILTER_COVER"]


class FilingSearch(Base):
    __tablename__ = "filing_search"

    filing_id: Mapped[int] = mapped_column(ForeignKey("filings.id", ondelete="CASCADE"), primary_key=True)
    # Everything a query may match, normalised (NFKC, casefold, no whitespace), fields
    # separated by a newline so that no query (which has no whitespace) spans two fields.
    text: Mapped[str] = mapped_column(Text)
    # The filer part alone (entity, English name, group): ranks filer matches first.
    filer: Mapped[str] = mapped_column(Text)
    # How the app names the filer (English name; its big-tech group or foreign parent), stored so
    # that reading them needs none of the naming machinery.
    entity_en: Mapped[str] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(Text)
    # The normalised filing number: an exact number ranks first.
    number: Mapped[str] = mapped_column(String(128), index=True)
    # Staleness: the filing's updated_at and the describer version the text was built from.
    filing_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    describer: Mapped[str] = mapped_column(String(64))
    # PostgreSQL: the distinct 2-character substrings of ``text`` (GIN-indexed, migration 0009),
    # for the 2-character queries pg_trgm cannot serve. SQLite: empty (FTS5 serves them).
    bigrams: Mapped[list[str] | None] = mapped_column(JSON().with_variant(postgresql.ARRAY(Text()), "postgresql"))
    # The filer's company group or foreign company (key, Chinese name; ``company`` is its English
    # name) and whether it is a foreign company: the group column and filters (migration 0024).
    company_key: Mapped[str | None] = mapped_column(String(64))
    company_zh: Mapped[str | None] = mapped_column(Text)
    is_foreign: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (Index("ix_filing_search_company_key", "company_key", "filing_id"),)


class FilingWords(Base):
    """``text`` and ``filer`` of the search index as storage.words.word_text marks them
    (migration 0024): a query's Latin words are matched whole by a containment test on the rows
    the trigram index found. A table of its own, so that searches without Latin words read
    ``filing_search`` rows as narrow as before."""

    __tablename__ = "filing_words"

    filing_id: Mapped[int] = mapped_column(ForeignKey("filings.id", ondelete="CASCADE"), primary_key=True)
    words: Mapped[str] = mapped_column(Text)
    filer_words: Mapped[str] = mapped_column(Text)


# The read side's filters on filings (kind and status ride on uq_filings_kind_number's prefix),
# each ending with the id so that a filtered page is read in id order (migrations 0006, 0009).
# Declared here, beside the migrations that create them, not in storage.models.
FILTER_INDEXES = tuple(
    Index(f"ix_filings_{column.key}", column, Filing.id) for column in (Filing.province, Filing.list_month, Filing.entity, Filing.registration)
)
# Every filter column in one narrow index (migration 0025), led by what nearly every read
# names: a filtered count is answered from the index without reading the wide filing rows.
FILTER_COVER = Index(
    "ix_filings_filters",
    Filing.kind, Filing.present, Filing.status, Filing.province, Filing.list_month, Filing.role, Filing.category, Filing.registration,
)
