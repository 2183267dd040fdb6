"""case list at scale: ordering index, per-organization tallies

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:44:02.862288
"""
from alembic import op
import sqlalchemy as sa
import fieldapp.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_tallies',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('readable', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_case_tallies_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_case_tallies'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_org_list'))
        batch_op.create_index('ix_cases_org_order', ['organization_id', 'erased_at', 'priority_rank', 'registered_at', 'id'], unique=False)
    # Tallies of the cases that exist already.
    op.execute("INSERT INTO case_tallies (organization_id, readable) "
               "SELECT organization_id, count(*) FROM cases WHERE erased_at IS NULL "
               "GROUP BY organization_id")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_org_order')
        batch_op.create_index(batch_op.f('ix_cases_org_list'), ['organization_id', 'status', 'priority_rank', 'registered_at'], unique=False)

    op.drop_table('case_tallies')
