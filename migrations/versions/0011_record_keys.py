"""statistics: record keys for the cell key method (cases, their flags and groups, referrals)

Every counted record gets a random integer below 2**31, fixed at creation and never
shown; a published count is perturbed by the sum of its records' keys (see
fieldapp/stats/perturbation.py). Existing rows get keys drawn by the database.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

MODULUS = 2**31


def _random_key() -> str:
    if op.get_bind().dialect.name == 'postgresql':
        return f'floor(random() * {MODULUS})::integer'
    return f'abs(random() % {MODULUS})'


def upgrade() -> None:
    for table in ('cases', 'referrals', 'case_flags', 'case_groups'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('record_key', sa.Integer(), nullable=True))
    op.execute(f'UPDATE cases SET record_key = {_random_key()}')
    op.execute(f'UPDATE referrals SET record_key = {_random_key()}')
    for table in ('case_flags', 'case_groups'):
        op.execute(f'UPDATE {table} SET record_key = (SELECT cases.record_key FROM cases '
                   f'WHERE cases.id = {table}.case_id)')
    for table in ('cases', 'referrals'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('record_key', existing_type=sa.Integer(), nullable=False)
    # The covering indexes statistics read from carry the key as well.
    op.drop_index('ix_case_flags_counting', table_name='case_flags')
    op.create_index('ix_case_flags_counting', 'case_flags',
                    ['organization_id', 'code', 'registered_month', 'location_code',
                     'record_key'],
                    postgresql_where=sa.text('active = true AND dismissed_at IS NULL'),
                    sqlite_where=sa.text('active = 1 AND dismissed_at IS NULL'))
    with op.batch_alter_table('case_groups', schema=None) as batch_op:
        batch_op.drop_index('ix_case_groups_stats')
        batch_op.create_index('ix_case_groups_stats', ['organization_id', 'code',
                                                       'location_code', 'registered_month',
                                                       'record_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_groups', schema=None) as batch_op:
        batch_op.drop_index('ix_case_groups_stats')
        batch_op.create_index('ix_case_groups_stats', ['organization_id', 'code',
                                                       'location_code', 'registered_month'],
                              unique=False)
    op.drop_index('ix_case_flags_counting', table_name='case_flags')
    op.create_index('ix_case_flags_counting', 'case_flags',
                    ['organization_id', 'code', 'registered_month', 'location_code'],
                    postgresql_where=sa.text('active = true AND dismissed_at IS NULL'),
                    sqlite_where=sa.text('active = 1 AND dismissed_at IS NULL'))
    for table in ('case_groups', 'case_flags', 'referrals', 'cases'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('record_key')
