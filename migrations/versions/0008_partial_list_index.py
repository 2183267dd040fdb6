"""case list order from a partial index of readable cases

PostgreSQL does not treat `erased_at IS NULL` as an equality when choosing an index
for ORDER BY, so the previous index made it sort every case of the organization.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_org_order')
    op.create_index('ix_cases_list_order', 'cases',
                    ['organization_id', 'priority_rank', 'registered_at', 'id'],
                    postgresql_where=sa.text('erased_at IS NULL'),
                    sqlite_where=sa.text('erased_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_cases_list_order', table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_org_order', ['organization_id', 'erased_at',
                                                     'priority_rank', 'registered_at', 'id'],
                              unique=False)
