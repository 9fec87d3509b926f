"""filing_lists.first_published_on / published_basis and list_rows.seq

A list found on a page CAC updates in place showed that page's date as "published" (the 2025-01
GenAI list said 2024-04-02). ``first_published_on`` is when CAC first published the list and
``published_basis`` on what that rests (``announced``: the date of the announcement or page that
published it; ``first_seen``: when cacwatch first saw it on the in-place page), by the rule of
``storage.list_dates``. Stores made before this revision are filled from what they hold: the
page's date and whether the page was found as an in-place page (``announcements.signal``), else
the first version's fetch time.

``list_rows.seq``: 序号 as printed. Rows stored before this revision have none (the position
says where they are) until their list is parsed again.

Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = "0023_list_dates_and_seq"
down_revision = "0017_accounts"


def upgrade() -> None:
    from storage.list_dates import first_publication

    op.add_column("filing_lists", sa.Column("first_published_on", sa.String(length=10), nullable=True))
    op.add_column("filing_lists", sa.Column("published_basis", sa.String(length=16), nullable=True))
    op.add_column("list_rows", sa.Column("seq", sa.String(length=32), nullable=True))
    bind = op.get_bind()
    lists = sa.table(
        "filing_lists", sa.column("id", sa.Integer), sa.column("list_month", sa.String),
        sa.column("page_url", sa.String), sa.column("published_on", sa.String),
        sa.column("first_seen_at", sa.DateTime(timezone=True)),
        sa.column("first_published_on", sa.String), sa.column("published_basis", sa.String),
    )
    versions = sa.table(
        "list_versions", sa.column("list_id", sa.Integer), sa.column("fetched_at", sa.DateTime(timezone=True)),
    )
    announcements = sa.table("announcements", sa.column("url", sa.String), sa.column("signal", sa.String))
    in_place = set(bind.scalars(sa.select(announcements.c.url).where(announcements.c.signal == "in_place")))
    first_fetch = dict(
        bind.execute(sa.select(versions.c.list_id, sa.func.min(versions.c.fetched_at)).group_by(versions.c.list_id)).all()
    )
    rows = bind.execute(
        sa.select(lists.c.id, lists.c.list_month, lists.c.page_url, lists.c.published_on, lists.c.first_seen_at)
    ).all()
    for list_id, list_month, page_url, published_on, first_seen_at in rows:
        seen = first_fetch.get(list_id) or first_seen_at
        if isinstance(seen, str):  # SQLite through an untyped aggregate
            from datetime import datetime

            seen = datetime.fromisoformat(seen)
        date, basis = first_publication(list_month, published_on, in_place=page_url in in_place, first_seen=seen)
        bind.execute(lists.update().where(lists.c.id == list_id).values(first_published_on=date, published_basis=basis))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (batch mode would recreate the table).
    op.execute("ALTER TABLE list_rows DROP COLUMN seq")
    op.execute("ALTER TABLE filing_lists DROP COLUMN published_basis")
    op.execute("ALTER TABLE filing_lists DROP COLUMN first_published_on")
