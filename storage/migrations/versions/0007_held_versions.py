"""held versions: a re-issue that lost a large share of its rows is held as suspect

``filing_lists.held_version_id``: the stored version held back (not current) until it is
confirmed (the same bytes still served a day later, or ``cacwatch lists confirm``).

Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_held_versions"
down_revision = "0006_search_index"


def upgrade() -> None:
    with op.batch_alter_table("filing_lists") as batch:
        batch.add_column(sa.Column("held_version_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("filing_lists") as batch:
        batch.drop_column("held_version_id")
