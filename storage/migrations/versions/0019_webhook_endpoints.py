"""webhook_endpoints and delivery_attempts: self-service webhook endpoints, and every webhook attempt

Endpoints made in the browser or the API are destinations ``endpoint:<id>`` beside the
configured webhooks; every attempt to a webhook destination (status code, latency, error, next
retry) is logged, bounded by age and count per destination.

Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0019_webhook_endpoints"
down_revision = "0020_change_events"


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=True),
        sa.Column("watchlist", sa.JSON(), nullable=False),
        sa.Column("allow_private", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("previous_secret", sa.String(length=200), nullable=True),
        sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_endpoints_owner_user_id", "webhook_endpoints", ["owner_user_id"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=500), nullable=False),
        sa.Column("delivery_pk", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_attempts_destination", "delivery_attempts", ["destination", "id"])
    op.create_index("ix_delivery_attempts_at", "delivery_attempts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_delivery_attempts_at", table_name="delivery_attempts")
    op.drop_index("ix_delivery_attempts_destination", table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index("ix_webhook_endpoints_owner_user_id", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
