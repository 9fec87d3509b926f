"""search index of the read side (cacwatch serve)

SQLite: ``filing_search`` plus an FTS5 table with the trigram tokenizer over its text,
kept in step by triggers (external content, so the text is stored once).
PostgreSQL: ``filing_search`` with a GIN pg_trgm index over its text. The extension lives
in ``public`` (never in a per-test or per-tenant schema) and the operator class is
qualified with the extension's schema, so a search_path without it still works.

Create Date: 2026-11-29
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = "0006_search_index"
down_revision = "0005_service"

log = logging.getLogger("alembic.runtime.migration")

_FTS = [
    # Two columns: everything, and the filer words alone (filer matches rank first).
    "CREATE VIRTUAL TABLE filing_search_fts USING fts5("
    "text, filer, content='filing_search', content_rowid='filing_id', tokenize='trigram')",
    # The index's vocabulary: 2-character queries expand to the trigrams that begin with them.
    "CREATE VIRTUAL TABLE filing_search_vocab USING fts5vocab(filing_search_fts, row)",
    "CREATE TRIGGER filing_search_ai AFTER INSERT ON filing_search BEGIN "
    "INSERT INTO filing_search_fts(rowid, text, filer) VALUES (new.filing_id, new.text, new.filer); END",
    "CREATE TRIGGER filing_search_ad AFTER DELETE ON filing_search BEGIN "
    "INSERT INTO filing_search_fts(filing_search_fts, rowid, text, filer) VALUES ('delete', old.filing_id, old.text, old.filer); END",
    "CREATE TRIGGER filing_search_au AFTER UPDATE ON filing_search BEGIN "
    "INSERT INTO filing_search_fts(filing_search_fts, rowid, text, filer) VALUES ('delete', old.filing_id, old.text, old.filer); "
    "INSERT INTO filing_search_fts(rowid, text, filer) VALUES (new.filing_id, new.text, new.filer); END",
]


def _trgm_schema(bind: sa.engine.Connection) -> str | None:
    """The schema holding pg_trgm, creating the extension in public when it is missing."""
    query = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )
    schema = bind.execute(query).scalar()
    if schema is not None:
        return str(schema)
    try:
        # Several databases (or test schemas) may migrate at once: a lost race is fine.
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError as err:
        log.warning("pg_trgm unavailable (%s): search works without its index", err.orig)
    found = bind.execute(query).scalar()
    return None if found is None else str(found)


def upgrade() -> None:
    op.create_table(
        "filing_search",
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filer", sa.Text(), nullable=False),
        sa.Column("entity_en", sa.Text(), nullable=False),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("filing_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("describer", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["filing_id"], ["filings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("filing_id"),
    )
    op.create_index("ix_filing_search_number", "filing_search", ["number"])
    # The API's filters (kind and status are also covered by uq_filings_kind_number's prefix).
    for column in ("province", "list_month", "entity"):
        op.create_index(f"ix_filings_{column}", "filings", [column])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _FTS:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        schema = _trgm_schema(bind)
        if schema is not None:
            for column in ("text", "filer"):
                op.execute(
                    f'CREATE INDEX ix_filing_search_{column}_trgm ON filing_search USING gin ({column} "{schema}".gin_trgm_ops)'
                )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("filing_search_au", "filing_search_ad", "filing_search_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS filing_search_vocab")
        op.execute("DROP TABLE IF EXISTS filing_search_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_filing_search_text_trgm")
        op.execute("DROP INDEX IF EXISTS ix_filing_search_filer_trgm")
    for column in ("province", "list_month", "entity"):
        op.drop_index(f"ix_filings_{column}", table_name="filings")
    op.drop_index("ix_filing_search_number", table_name="filing_search")
    op.drop_table("filing_search")
