"""risk assessment: sealed answers, assessment date and author, manual flag reasons

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 04:24:32.374715
"""
from alembic import op
import sqlalchemy as sa
import fieldapp.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manual_reason_enc', sa.LargeBinary(), nullable=True))

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assessment_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('assessed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('assessed_at', fieldapp.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('assessed_by_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cases_assessed_by_id_users'), 'users', ['assessed_by_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_assessed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('assessed_by_id')
        batch_op.drop_column('assessed_at')
        batch_op.drop_column('assessed_on')
        batch_op.drop_column('assessment_enc')

    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.drop_column('manual_reason_enc')

