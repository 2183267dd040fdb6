"""statistics over counting flags from a partial covering index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_case_flags_stats')
    op.create_index('ix_case_flags_counting', 'case_flags',
                    ['organization_id', 'code', 'registered_month', 'location_code'],
                    postgresql_where=sa.text('active = true AND dismissed_at IS NULL'),
                    sqlite_where=sa.text('active = 1 AND dismissed_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_case_flags_counting', table_name='case_flags')
    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.create_index('ix_case_flags_stats', ['organization_id', 'active', 'code',
                                                      'registered_month', 'location_code'],
                              unique=False)
