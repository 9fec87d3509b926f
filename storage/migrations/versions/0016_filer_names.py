"""filer_names: every name a filer used, tied together across renames

The 7 digits after the region code of a 网信算备 number identify the filer; remarks
(原主体名称“X”变更为“Y”) and the history of re-issues tie further names to it. The table is derived
from the filings (storage.filer_identity.rebuild_filer_names) and kept up to date with the search
index; an upgraded store is filled here, and the search text of every renamed filer's filings is
rebuilt by the next index refresh so that its former names find it.

Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_filer_names"
down_revision = "0013_web_secrets"


def upgrade() -> None:
    op.create_table(
        "filer_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("folded", sa.String(length=500), nullable=False),
        sa.Column("filer_key", sa.String(length=520), nullable=False),
        sa.Column("first_month", sa.String(length=7), nullable=True),
        sa.Column("last_month", sa.String(length=7), nullable=True),
        sa.Column("filings", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("renamed_to", sa.Text(), nullable=True),
        sa.Column("renamed_month", sa.String(length=7), nullable=True),
        sa.Column("renamed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_filer_names_filer_key", "filer_names", ["filer_key"])
    op.create_index("ix_filer_names_folded", "filer_names", ["folded"])
    # Fill it from the stored filings (the same derivation the app keeps running).
    from sqlalchemy.orm import Session

    from storage.filer_identity import mark_search_stale, rebuild_filer_names

    session = Session(bind=op.get_bind())
    mark_search_stale(session, rebuild_filer_names(session))
    session.flush()
    session.close()


def downgrade() -> None:
    op.drop_index("ix_filer_names_folded", table_name="filer_names")
    op.drop_index("ix_filer_names_filer_key", table_name="filer_names")
    op.drop_table("filer_names")
