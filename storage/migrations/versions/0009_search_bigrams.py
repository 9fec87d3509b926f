"""filing_search.bigrams: 2-character queries through an index on PostgreSQL; filter indexes in id order

pg_trgm cannot serve a LIKE whose needle is shorter than three characters (it has no trigram
to look up), and two-character Chinese words are among the most common queries (抖音, 腾讯, 百度).
PostgreSQL gets an array of the distinct two-character substrings of each search text with a GIN
index (``bigrams @> ARRAY['抖音']``); SQLite answers them from its FTS5 vocabulary and keeps the
column empty. The rows are filled by the next index refresh (the row format changed).

The filter indexes of 0006 (province, list_month, entity) become (column, id): a page of a
filter is read in primary-key order, and PostgreSQL, unlike SQLite (whose indexes end with the
rowid), otherwise walks the whole primary key filtering, or sorts every match, for 50 rows.

Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = "0009_search_bigrams"
down_revision = "0008_poll_tiers"


_FILTERS = ("province", "list_month", "entity")


def upgrade() -> None:
    for column in _FILTERS:
        op.drop_index(f"ix_filings_{column}", table_name="filings")
        op.create_index(f"ix_filings_{column}", "filings", [column, "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("filing_search", sa.Column("bigrams", postgresql.ARRAY(sa.Text()), nullable=True))
        op.execute("CREATE INDEX ix_filing_search_bigrams ON filing_search USING gin (bigrams)")
    else:
        # A plain ADD COLUMN: batch mode would recreate the table and lose the FTS triggers.
        op.add_column("filing_search", sa.Column("bigrams", sa.JSON(), nullable=True))


def downgrade() -> None:
    for column in _FILTERS:
        op.drop_index(f"ix_filings_{column}", table_name="filings")
        op.create_index(f"ix_filings_{column}", "filings", [column])
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_filing_search_bigrams", table_name="filing_search")
    op.execute("ALTER TABLE filing_search DROP COLUMN bigrams")  # SQLite 3.35+, keeps the triggers
