"""filings.registration and filings.scenario: GenAI filed / registered rows and on-device scenarios

GenAI lists hold filed models (备案), apps registered by provincial offices (登记, numbers ending
``S`` + 4 digits) and, from 2026-08, on-device services with 适用场景. Stores made before this
revision get ``registration`` from the number's form on every GenAI filing and list row, so the
first parse under the new parser finds the rows it already holds unchanged (no spurious
``registration: null → filed`` change announced for every row).

Create Date: 2026-12-07
"""
import re

from alembic import op
import sqlalchemy as sa


revision = "0010_genai_registration"
down_revision = "0009_search_bigrams"

_REGISTERED = re.compile(r"S\d{4}$")


def _registration(number: str) -> str:
    return "registered" if _REGISTERED.search(number) else "filed"


def upgrade() -> None:
    op.add_column("filings", sa.Column("registration", sa.String(length=16), nullable=True))
    op.add_column("filings", sa.Column("scenario", sa.Text(), nullable=True))
    bind = op.get_bind()
    filings = sa.table(
        "filings", sa.column("id", sa.Integer), sa.column("kind", sa.String),
        sa.column("filing_number", sa.String), sa.column("registration", sa.String),
    )
    for row_id, number in bind.execute(sa.select(filings.c.id, filings.c.filing_number).where(filings.c.kind == "genai_service")):
        bind.execute(filings.update().where(filings.c.id == row_id).values(registration=_registration(number)))
    rows = sa.table(
        "list_rows", sa.column("id", sa.Integer), sa.column("kind", sa.String),
        sa.column("filing_number", sa.String), sa.column("fields", sa.JSON),
    )
    for row_id, number, fields in bind.execute(sa.select(rows.c.id, rows.c.filing_number, rows.c.fields).where(rows.c.kind == "genai_service")):
        updated = {**(fields or {}), "registration": _registration(number), "scenario": None}
        bind.execute(rows.update().where(rows.c.id == row_id).values(fields=updated))
    op.create_index("ix_filings_registration", "filings", ["registration", "id"])


def downgrade() -> None:
    op.drop_index("ix_filings_registration", table_name="filings")
    # SQLite 3.35+ drops a column in place (batch mode would recreate the table).
    op.execute("ALTER TABLE filings DROP COLUMN scenario")
    op.execute("ALTER TABLE filings DROP COLUMN registration")
