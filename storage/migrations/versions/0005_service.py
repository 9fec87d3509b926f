"""service: operator-alert incidents

Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_service"
down_revision = "0002"  # a sibling of 0003_telegram and 0004_email: the database migrates to "heads"


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message", sa.Text(), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovery_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_key", "incidents", ["key"])
    # At most one open incident per key (both backends support partial indexes).
    op.create_index(
        "uq_incidents_open_key",
        "incidents",
        ["key"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_incidents_open_key", table_name="incidents")
    op.drop_index("ix_incidents_key", table_name="incidents")
    op.drop_table("incidents")
