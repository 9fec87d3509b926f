"""telegram: watches, subscriptions, posted thread parts

Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_telegram"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "telegram_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "pattern", name="uq_telegram_watches_chat_pattern"),
    )
    with op.batch_alter_table("telegram_watches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_watches_chat_id"), ["chat_id"], unique=False)

    op.create_table(
        "telegram_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "kind", name="uq_telegram_subscriptions_chat_kind"),
    )
    with op.batch_alter_table("telegram_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_subscriptions_chat_id"), ["chat_id"], unique=False)

    op.create_table(
        "telegram_posted_parts",
        sa.Column("delivery_id", sa.String(length=120), nullable=False),
        sa.Column("part_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", "part_index"),
    )
    with op.batch_alter_table("telegram_posted_parts", schema=None) as batch_op:
        batch_op.create_index("ix_telegram_posted_parts_posted_at", ["posted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("telegram_posted_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_posted_parts_posted_at")
    op.drop_table("telegram_posted_parts")
    with op.batch_alter_table("telegram_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_subscriptions_chat_id"))
    op.drop_table("telegram_subscriptions")
    with op.batch_alter_table("telegram_watches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_watches_chat_id"))
    op.drop_table("telegram_watches")
