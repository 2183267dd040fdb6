"""e-mail notices of transfer requests: a notice is about a referral or a transfer

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-22
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('new', 'overdue', 'completed')"
NEW_KINDS = ("kind IN ('new', 'overdue', 'completed', 'transfer_requested', "
             "'transfer_decided')")
SUBJECT = ("(transfer_id IS NULL AND kind IN ('new', 'overdue', 'completed')) OR "
           "(transfer_id IS NOT NULL AND referral_id IS NULL "
           "AND kind IN ('transfer_requested', 'transfer_decided'))")


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notices_transfer_id_transfers'),
                                    'transfers', ['transfer_id'], ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint('uq_notices_transfer_kind_org',
                                          ['transfer_id', 'kind', 'organization_id'])
        batch_op.drop_constraint(batch_op.f('ck_notices_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_notices_kind'), sa.text(NEW_KINDS))
        batch_op.create_check_constraint(batch_op.f('ck_notices_subject'), sa.text(SUBJECT))


def downgrade() -> None:
    # The old table cannot hold a notice about a transfer.
    op.execute(sa.text("DELETE FROM notices WHERE transfer_id IS NOT NULL"))
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_notices_subject'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_notices_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_notices_kind'), sa.text(OLD_KINDS))
        batch_op.drop_constraint('uq_notices_transfer_kind_org', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_notices_transfer_id_transfers'),
                                 type_='foreignkey')
        batch_op.drop_column('transfer_id')
