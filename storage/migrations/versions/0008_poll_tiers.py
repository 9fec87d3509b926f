"""sources: when each polling tier last completed (front door, revalidation)

Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_poll_tiers"
down_revision = "0007_held_versions"


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:  # batch: SQLite cannot ALTER every column kind
        batch.add_column(sa.Column("last_front_door_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_revalidated_at", sa.DateTime(timezone=True), nullable=True))
    # Every poll before the tiers re-checked every list: the last success was a revalidation.
    op.execute("UPDATE sources SET last_revalidated_at = last_success_at, last_front_door_at = last_success_at")


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("last_revalidated_at")
        batch.drop_column("last_front_door_at")
