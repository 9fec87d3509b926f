"""initial schema

Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None


def upgrade() -> None:
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('published_on', sa.String(length=10), nullable=True),
    sa.Column('signal', sa.String(length=16), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('url')
    )
    op.create_table('filing_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attachment_key', sa.String(length=1000), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('list_month', sa.String(length=7), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('page_url', sa.String(length=1000), nullable=False),
    sa.Column('attachment_url', sa.String(length=2000), nullable=False),
    sa.Column('published_on', sa.String(length=10), nullable=True),
    sa.Column('is_cancellation', sa.Boolean(), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('attachment_key')
    )
    with op.batch_alter_table('filing_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filing_lists_kind'), ['kind'], unique=False)

    op.create_table('http_validators',
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.Text(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('url')
    )
    op.create_table('sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('filings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('filing_number', sa.String(length=128), nullable=False),
    sa.Column('list_month', sa.String(length=7), nullable=False),
    sa.Column('first_list_id', sa.Integer(), nullable=False),
    sa.Column('current_list_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('entity', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('province', sa.String(length=32), nullable=True),
    sa.Column('remark', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('filed_on', sa.String(length=10), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['current_list_id'], ['filing_lists.id'], ),
    sa.ForeignKeyConstraint(['first_list_id'], ['filing_lists.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'filing_number', name='uq_filings_kind_number')
    )
    op.create_table('list_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('rows_digest', sa.String(length=64), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['filing_lists.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('list_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_list_versions_list_id'), ['list_id'], unique=False)

    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('lists_seen', sa.Integer(), nullable=False),
    sa.Column('lists_changed', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('bytes_downloaded', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('filing_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('change_type', sa.String(length=16), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['filing_id'], ['filings.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['list_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('filing_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filing_changes_filing_id'), ['filing_id'], unique=False)

    op.create_table('list_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('row_index', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('filing_number', sa.String(length=128), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['list_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('list_rows', schema=None) as batch_op:
        batch_op.create_index('ix_list_rows_kind_number', ['kind', 'filing_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_list_rows_version_id'), ['version_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('list_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_list_rows_version_id'))
        batch_op.drop_index('ix_list_rows_kind_number')

    op.drop_table('list_rows')
    with op.batch_alter_table('filing_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_changes_filing_id'))

    op.drop_table('filing_changes')
    op.drop_table('polls')
    with op.batch_alter_table('list_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_list_versions_list_id'))

    op.drop_table('list_versions')
    op.drop_table('filings')
    op.drop_table('sources')
    op.drop_table('http_validators')
    with op.batch_alter_table('filing_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_lists_kind'))

    op.drop_table('filing_lists')
    op.drop_table('announcements')
