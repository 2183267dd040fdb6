"""offline intake: phones (their signing keys), records sent from phones (sealed while
they wait for review), and possible duplicates raised on registration

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'intake_devices',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('organization_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('thumbprint', sa.String(length=64), nullable=False),
        sa.Column('public_key', sa.Text(), nullable=False),
        sa.Column('registered_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_intake_devices_organization_id_organizations')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'],
                                name=op.f('fk_intake_devices_revoked_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_intake_devices_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_devices')),
        sa.UniqueConstraint('organization_id', 'thumbprint',
                            name='uq_intake_devices_organization_thumbprint'),
    )
    op.create_index(op.f('ix_intake_devices_user_id'), 'intake_devices', ['user_id'],
                    unique=False)
    op.create_table(
        'intake_records',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('instance_id', sa.Uuid(), nullable=False),
        sa.Column('organization_id', sa.Uuid(), nullable=False),
        sa.Column('sender_id', sa.Uuid(), nullable=False),
        sa.Column('device_id', sa.Uuid(), nullable=True),
        sa.Column('kid', sa.String(length=64), nullable=False),
        sa.Column('digest', sa.LargeBinary(), nullable=False),
        sa.Column('form_version', sa.String(length=40), nullable=False),
        sa.Column('captured_at', sa.DateTime(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('problem', sa.String(length=16), nullable=True),
        sa.Column('case_id', sa.Uuid(), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.Column('reviewed_by_id', sa.Uuid(), nullable=True),
        sa.Column('answer_status', sa.SmallInteger(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('body_enc', sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("status IN ('registered', 'needs_review', 'quarantined')",
                           name=op.f('ck_intake_records_status')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_intake_records_case_id_cases')),
        sa.ForeignKeyConstraint(['device_id'], ['intake_devices.id'],
                                name=op.f('fk_intake_records_device_id_intake_devices')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_intake_records_organization_id_organizations')),
        sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'],
                                name=op.f('fk_intake_records_reviewed_by_id_users')),
        sa.ForeignKeyConstraint(['sender_id'], ['users.id'],
                                name=op.f('fk_intake_records_sender_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_records')),
        sa.UniqueConstraint('instance_id', name=op.f('uq_intake_records_instance_id')),
    )
    for column in ('case_id', 'device_id', 'organization_id', 'sender_id'):
        op.create_index(op.f(f'ix_intake_records_{column}'), 'intake_records', [column],
                        unique=False)
    op.create_table(
        'intake_record_keys',
        sa.Column('record_id', sa.Uuid(), nullable=False),
        sa.Column('kek_id', sa.String(length=40), nullable=False),
        sa.Column('wrapped', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('rewrapped_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['record_id'], ['intake_records.id'], ondelete='CASCADE',
                                name=op.f('fk_intake_record_keys_record_id_intake_records')),
        sa.PrimaryKeyConstraint('record_id', name=op.f('pk_intake_record_keys')),
    )
    op.create_index(op.f('ix_intake_record_keys_kek_id'), 'intake_record_keys', ['kek_id'],
                    unique=False)
    op.create_table(
        'duplicate_reviews',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('case_id', sa.Uuid(), nullable=False),
        sa.Column('candidate_id', sa.Uuid(), nullable=False),
        sa.Column('match', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('raised_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_by_id', sa.Uuid(), nullable=True),
        sa.Column('reason_enc', sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'same_person', 'different_person')",
                           name=op.f('ck_duplicate_reviews_status')),
        sa.ForeignKeyConstraint(['candidate_id'], ['cases.id'], ondelete='CASCADE',
                                name=op.f('fk_duplicate_reviews_candidate_id_cases')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE',
                                name=op.f('fk_duplicate_reviews_case_id_cases')),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'],
                                name=op.f('fk_duplicate_reviews_resolved_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_reviews')),
        sa.UniqueConstraint('case_id', 'candidate_id', name='uq_duplicate_reviews_pair'),
    )
    op.create_index(op.f('ix_duplicate_reviews_candidate_id'), 'duplicate_reviews',
                    ['candidate_id'], unique=False)
    op.create_index(op.f('ix_duplicate_reviews_case_id'), 'duplicate_reviews', ['case_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_duplicate_reviews_case_id'), table_name='duplicate_reviews')
    op.drop_index(op.f('ix_duplicate_reviews_candidate_id'), table_name='duplicate_reviews')
    op.drop_table('duplicate_reviews')
    op.drop_index(op.f('ix_intake_record_keys_kek_id'), table_name='intake_record_keys')
    op.drop_table('intake_record_keys')
    for column in ('sender_id', 'organization_id', 'device_id', 'case_id'):
        op.drop_index(op.f(f'ix_intake_records_{column}'), table_name='intake_records')
    op.drop_table('intake_records')
    op.drop_index(op.f('ix_intake_devices_user_id'), table_name='intake_devices')
    op.drop_table('intake_devices')
