"""the case follows the person: continuity codes (kept only as keyed hashes), transfer
requests with their own wrapped data keys (for the sealed decline or cancel reason)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-15
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'continuity_codes',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('case_id', sa.Uuid(), nullable=False),
        sa.Column('organization_id', sa.Uuid(), nullable=False),
        sa.Column('issued_by_id', sa.Uuid(), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('code_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('given_by', sa.String(length=16), nullable=False),
        sa.Column('scope', sa.String(length=120), nullable=False),
        sa.Column('countries', sa.String(length=200), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Uuid(), nullable=True),
        sa.Column('revoked_why', sa.String(length=20), nullable=True),
        sa.CheckConstraint("given_by IN ('self', 'guardian', 'best_interest')",
                           name=op.f('ck_continuity_codes_given_by')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_continuity_codes_case_id_cases')),
        sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'],
                                name=op.f('fk_continuity_codes_issued_by_id_users')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_continuity_codes_organization_id_organizations')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'],
                                name=op.f('fk_continuity_codes_revoked_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_continuity_codes')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_continuity_codes_code_hash')),
    )
    op.create_index(op.f('ix_continuity_codes_case_id'), 'continuity_codes', ['case_id'],
                    unique=False)
    op.create_table(
        'transfers',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('code_id', sa.Uuid(), nullable=False),
        sa.Column('case_id', sa.Uuid(), nullable=False),
        sa.Column('from_org_id', sa.Uuid(), nullable=False),
        sa.Column('to_org_id', sa.Uuid(), nullable=False),
        sa.Column('requested_by_id', sa.Uuid(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('scope', sa.String(length=120), nullable=False),
        sa.Column('given_by', sa.String(length=16), nullable=False),
        sa.Column('stage', sa.String(length=24), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Uuid(), nullable=True),
        sa.Column('ended_by', sa.String(length=20), nullable=True),
        sa.Column('keep_open', sa.Boolean(), nullable=False),
        sa.Column('new_case_id', sa.Uuid(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('reason_enc', sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("status IN ('requested', 'approved', 'declined', 'cancelled')",
                           name=op.f('ck_transfers_status')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_transfers_case_id_cases')),
        sa.ForeignKeyConstraint(['code_id'], ['continuity_codes.id'],
                                name=op.f('fk_transfers_code_id_continuity_codes')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                                name=op.f('fk_transfers_decided_by_id_users')),
        sa.ForeignKeyConstraint(['from_org_id'], ['organizations.id'],
                                name=op.f('fk_transfers_from_org_id_organizations')),
        sa.ForeignKeyConstraint(['new_case_id'], ['cases.id'],
                                name=op.f('fk_transfers_new_case_id_cases')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                                name=op.f('fk_transfers_requested_by_id_users')),
        sa.ForeignKeyConstraint(['to_org_id'], ['organizations.id'],
                                name=op.f('fk_transfers_to_org_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
        sa.UniqueConstraint('code_id', name=op.f('uq_transfers_code_id')),
    )
    op.create_index(op.f('ix_transfers_case_id'), 'transfers', ['case_id'], unique=False)
    op.create_index('ix_transfers_incoming', 'transfers',
                    ['from_org_id', 'status', 'requested_at'], unique=False)
    op.create_index('ix_transfers_outgoing', 'transfers',
                    ['to_org_id', 'status', 'requested_at'], unique=False)
    op.create_table(
        'transfer_keys',
        sa.Column('transfer_id', sa.Uuid(), nullable=False),
        sa.Column('kek_id', sa.String(length=40), nullable=False),
        sa.Column('wrapped', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('rewrapped_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], ondelete='CASCADE',
                                name=op.f('fk_transfer_keys_transfer_id_transfers')),
        sa.PrimaryKeyConstraint('transfer_id', name=op.f('pk_transfer_keys')),
    )
    op.create_index(op.f('ix_transfer_keys_kek_id'), 'transfer_keys', ['kek_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_transfer_keys_kek_id'), table_name='transfer_keys')
    op.drop_table('transfer_keys')
    op.drop_index('ix_transfers_outgoing', table_name='transfers')
    op.drop_index('ix_transfers_incoming', table_name='transfers')
    op.drop_index(op.f('ix_transfers_case_id'), table_name='transfers')
    op.drop_table('transfers')
    op.drop_index(op.f('ix_continuity_codes_case_id'), table_name='continuity_codes')
    op.drop_table('continuity_codes')
