"""filing_changes.event_pk: the outbox event that announced a change

``cacwatch export --changes`` names, for each change, the event (its ``id`` and ``seq``) that
announced it, so a tool reading webhooks or /api/v1/changes can match the two. Set in the
ingest transaction that writes the event; changes made before this revision, on a baseline
(first) poll, or by a list that makes no event (a summary) have none. A plain number, no
foreign key: it names an outbox row, and the outbox is not the history's owner.

Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0020_change_events"
down_revision = "0023_list_dates_and_seq"


def upgrade() -> None:
    op.add_column("filing_changes", sa.Column("event_pk", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("filing_changes") as batch_op:
        batch_op.drop_column("event_pk")
