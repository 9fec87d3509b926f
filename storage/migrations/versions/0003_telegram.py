"""telegram: watches, subscriptions, posted thread parts

Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_telegram"
down_revision = "0002"


def _per_chat_table(name: str, column: str, column_type: sa.types.TypeEngine[str]) -> None:
    """A table of one ``column`` value per chat (unique together), looked up by chat."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column(column, column_type, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", column, name=f"uq_{name}_chat_{column}"),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_chat_id"), ["chat_id"], unique=False)


def upgrade() -> None:
    _per_chat_table("telegram_watches", "pattern", sa.String(length=200))
    _per_chat_table("telegram_subscriptions", "kind", sa.String(length=32))

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
    for name in ("telegram_subscriptions", "telegram_watches"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_chat_id"))
        op.drop_table(name)
