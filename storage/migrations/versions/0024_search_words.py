"""filing_words: whole-word texts; filing_search: the filer's company group

``filing_words.words`` and ``filer_words`` are the search text and its filer part as
``storage.words.word_text`` marks them (a table of its own: searches without Latin words read
``filing_search`` rows as narrow as before) (Latin runs between marks): a query's Latin words are then matched whole
(``Intel`` is not "Intelligence") by a plain containment test on the rows the trigram
index found. ``company_key``, ``company_zh`` and ``is_foreign`` say which company group or
foreign company the filer belongs to (computed with the search text, by the refresh child),
for the group column and the group / foreign filters of search, the API and downloads.
The rows are rebuilt by the next index refresh (the row format changed).

Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0024_search_words"
down_revision = "0018_self_service_subscriptions"

_COLUMNS = ("company_key", "company_zh", "is_foreign")


def upgrade() -> None:
    op.create_table(
        "filing_words",
        sa.Column("filing_id", sa.Integer(), sa.ForeignKey("filings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("filer_words", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("filing_id"),
    )
    # Plain ADD COLUMNs: batch mode would recreate the table and lose SQLite's FTS triggers.
    op.add_column("filing_search", sa.Column("company_key", sa.String(length=64), nullable=True))
    op.add_column("filing_search", sa.Column("company_zh", sa.Text(), nullable=True))
    op.add_column("filing_search", sa.Column("is_foreign", sa.Boolean(), nullable=True))
    op.create_index("ix_filing_search_company_key", "filing_search", ["company_key", "filing_id"])


def downgrade() -> None:
    op.drop_index("ix_filing_search_company_key", table_name="filing_search")
    for column in reversed(_COLUMNS):
        op.execute(f'ALTER TABLE filing_search DROP COLUMN "{column}"')  # SQLite 3.35+, keeps the triggers
    op.drop_table("filing_words")
