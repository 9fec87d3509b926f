"""email: digest subscribers

Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_email"
down_revision = "0002"  # a sibling of 0003_telegram: the database migrates to "heads"


def upgrade() -> None:
    op.create_table(
        "email_subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("at", sa.String(length=5), nullable=False),
        sa.Column("weekday", sa.String(length=10), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("provinces", sa.JSON(), nullable=False),
        sa.Column("watchlist", sa.JSON(), nullable=False),
        sa.Column("watch_only", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("unsubscribed", sa.Boolean(), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("address"),
        sa.UniqueConstraint("token"),
    )


def downgrade() -> None:
    op.drop_table("email_subscribers")
