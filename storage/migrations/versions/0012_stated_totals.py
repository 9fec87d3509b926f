"""stated_totals and filing_lists.is_summary: CAC's stated GenAI totals; summary lists

GenAI announcements state cumulative totals (截至…共有N款…完成备案，M款…完成登记): they are
kept per announcement and date so every GenAI list can be reconciled with them. Summary
lists (``2024年生成式人工智能服务已备案信息``) repeat earlier entries; ``is_summary`` keeps
their rows from making new filings of their own. Existing lists are not summaries (the
next revalidation's description marks those that are).

Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_stated_totals"
down_revision = "0010_genai_registration"


def upgrade() -> None:
    op.create_table(
        "stated_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.String(length=10), nullable=False),
        sa.Column("filed", sa.Integer(), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=True),
        sa.Column("source_url", sa.String(length=1000), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published_on", sa.String(length=10), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "source_url", "as_of", name="uq_stated_totals_source_as_of"),
    )
    op.create_index("ix_stated_totals_as_of", "stated_totals", ["as_of"])
    op.add_column("filing_lists", sa.Column("is_summary", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_index("ix_stated_totals_as_of", table_name="stated_totals")
    op.drop_table("stated_totals")
    # SQLite 3.35+ drops a column in place (batch mode would recreate the table).
    op.execute("ALTER TABLE filing_lists DROP COLUMN is_summary")
