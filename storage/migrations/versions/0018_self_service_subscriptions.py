"""email_subscribers for self-service sign-up: status (double opt-in), confirmation and manage tokens, owner

- ``status``: ``pending`` (signed up, confirmation link not yet followed: nothing but that one
  mail is ever sent to it) or ``active``. Rows made before (CLI and config bookkeeping) are active.
- ``confirm_hash`` / ``confirm_expires_at``: the SHA-256 of the emailed confirmation token (the
  token itself is never stored) and when it stops working.
- ``manage_token``: the token of the preferences link every digest carries (random, URL-safe,
  stored as is like the unsubscribe ``token``: each digest must be able to carry it).
- ``owner_user_id``: the account that made it (no foreign key: a removed account leaves its
  records to the operator); NULL is the operator's / config's / a public sign-up's.
- ``attach_brief``: the PDF brief attached, or NULL for the ``notify.email`` default.
- ``mails_window_at`` / ``mails_in_window``: self-service mails (confirmations, "already
  subscribed" notices) to the address in the current hour, for the per-address bound.

Create Date: 2026-12-07
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = "0018_self_service_subscriptions"
# Also a merge of the email branch (0004_email: the table this changes) into the main line.
down_revision = ("0019_webhook_endpoints", "0004_email")


def upgrade() -> None:
    with op.batch_alter_table("email_subscribers") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="active"))
        batch.add_column(sa.Column("confirm_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("confirm_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("manage_token", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("owner_user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("attach_brief", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("mails_window_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("mails_in_window", sa.Integer(), nullable=False, server_default="0"))
    bind = op.get_bind()
    table = sa.table("email_subscribers", sa.column("id", sa.Integer), sa.column("manage_token", sa.String))
    for (row_id,) in bind.execute(sa.select(table.c.id)).all():
        bind.execute(table.update().where(table.c.id == row_id).values(manage_token=secrets.token_urlsafe(24)))
    op.create_index("ix_email_subscribers_confirm_hash", "email_subscribers", ["confirm_hash"], unique=True)
    op.create_index("ix_email_subscribers_manage_token", "email_subscribers", ["manage_token"], unique=True)
    op.create_index("ix_email_subscribers_owner_user_id", "email_subscribers", ["owner_user_id"])


def downgrade() -> None:
    op.drop_index("ix_email_subscribers_owner_user_id", table_name="email_subscribers")
    op.drop_index("ix_email_subscribers_manage_token", table_name="email_subscribers")
    op.drop_index("ix_email_subscribers_confirm_hash", table_name="email_subscribers")
    with op.batch_alter_table("email_subscribers") as batch:
        for name in ("mails_in_window", "mails_window_at", "attach_brief", "owner_user_id", "manage_token",
                     "confirm_expires_at", "confirm_hash", "status"):
            batch.drop_column(name)
