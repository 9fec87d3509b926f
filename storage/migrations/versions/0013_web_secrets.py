"""web_secrets: keys generated once per installation (the web app's cursor key)

Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_web_secrets"
down_revision = "0012_stated_totals"


def upgrade() -> None:
    op.create_table(
        "web_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("web_secrets")
