"""cases: sealed personal fields, wrapped data keys, blind indexes, household, flags, groups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:09:54.644556
"""
from alembic import op
import sqlalchemy as sa
import fieldapp.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reference_counters',
    sa.Column('prefix', sa.String(length=24), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_reference_counters'))
    )
    op.create_table('cases',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('registered_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('location_code', sa.String(length=40), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('sex', sa.String(length=10), nullable=False),
    sa.Column('age_band', sa.String(length=8), nullable=False),
    sa.Column('nationality', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('priority_rank', sa.SmallInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('closed_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.Column('erased_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.Column('consent_basis', sa.String(length=16), nullable=False),
    sa.Column('consent_given_by', sa.String(length=16), nullable=False),
    sa.Column('consent_language', sa.String(length=8), nullable=False),
    sa.Column('consent_recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('consent_recorded_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('consent_withdrawn_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.Column('consent_withdrawn_by_id', sa.Uuid(), nullable=True),
    sa.Column('given_name_enc', sa.LargeBinary(), nullable=True),
    sa.Column('family_name_enc', sa.LargeBinary(), nullable=True),
    sa.Column('date_of_birth_enc', sa.LargeBinary(), nullable=True),
    sa.Column('age_years_enc', sa.LargeBinary(), nullable=True),
    sa.Column('document_type_enc', sa.LargeBinary(), nullable=True),
    sa.Column('document_number_enc', sa.LargeBinary(), nullable=True),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('address_enc', sa.LargeBinary(), nullable=True),
    sa.Column('languages_enc', sa.LargeBinary(), nullable=True),
    sa.Column('notes_enc', sa.LargeBinary(), nullable=True),
    sa.Column('consent_note_enc', sa.LargeBinary(), nullable=True),
    sa.Column('closure_reason_enc', sa.LargeBinary(), nullable=True),
    sa.Column('duplicate_reason_enc', sa.LargeBinary(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_cases_status')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_cases_assignee_id_users')),
    sa.ForeignKeyConstraint(['consent_recorded_by_id'], ['users.id'], name=op.f('fk_cases_consent_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['consent_withdrawn_by_id'], ['users.id'], name=op.f('fk_cases_consent_withdrawn_by_id_users')),
    sa.ForeignKeyConstraint(['location_code'], ['locations.code'], name=op.f('fk_cases_location_code_locations')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_cases_organization_id_organizations')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_cases_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('reference', name=op.f('uq_cases_reference'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_location_code'), ['location_code'], unique=False)
        batch_op.create_index('ix_cases_org_list', ['organization_id', 'status', 'priority_rank', 'registered_at'], unique=False)
        batch_op.create_index('ix_cases_org_registered', ['organization_id', 'registered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_owner_id'), ['owner_id'], unique=False)

    op.create_table('case_blind_indexes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_blind_indexes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_blind_indexes'))
    )
    with op.batch_alter_table('case_blind_indexes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_blind_indexes_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_blind_indexes_lookup', ['kind', 'value'], unique=False)

    op.create_table('case_flags',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('rule_set_version', sa.String(length=20), nullable=True),
    sa.Column('set_by_id', sa.Uuid(), nullable=True),
    sa.Column('set_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('dismissed_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.Column('dismissed_by_id', sa.Uuid(), nullable=True),
    sa.Column('reasons_enc', sa.LargeBinary(), nullable=True),
    sa.Column('dismissal_reason_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_flags_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dismissed_by_id'], ['users.id'], name=op.f('fk_case_flags_dismissed_by_id_users')),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_case_flags_set_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_flags')),
    sa.UniqueConstraint('case_id', 'code', name='uq_case_flags_case_code')
    )
    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_flags_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_flags_code'), ['code'], unique=False)

    op.create_table('case_groups',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_groups_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'code', name=op.f('pk_case_groups'))
    )
    op.create_table('case_keys',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kek_id', sa.String(length=40), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('rewrapped_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_keys_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_keys'))
    )
    with op.batch_alter_table('case_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_keys_kek_id'), ['kek_id'], unique=False)

    op.create_table('household_members',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('relationship', sa.String(length=20), nullable=False),
    sa.Column('sex', sa.String(length=10), nullable=False),
    sa.Column('age_band', sa.String(length=8), nullable=True),
    sa.Column('given_name_enc', sa.LargeBinary(), nullable=True),
    sa.Column('family_name_enc', sa.LargeBinary(), nullable=True),
    sa.Column('date_of_birth_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_household_members_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_members'))
    )
    with op.batch_alter_table('household_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_members_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('household_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_members_case_id'))

    op.drop_table('household_members')
    with op.batch_alter_table('case_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_keys_kek_id'))

    op.drop_table('case_keys')
    op.drop_table('case_groups')
    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_flags_code'))
        batch_op.drop_index(batch_op.f('ix_case_flags_case_id'))

    op.drop_table('case_flags')
    with op.batch_alter_table('case_blind_indexes', schema=None) as batch_op:
        batch_op.drop_index('ix_case_blind_indexes_lookup')
        batch_op.drop_index(batch_op.f('ix_case_blind_indexes_case_id'))

    op.drop_table('case_blind_indexes')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_owner_id'))
        batch_op.drop_index('ix_cases_org_registered')
        batch_op.drop_index('ix_cases_org_list')
        batch_op.drop_index(batch_op.f('ix_cases_location_code'))
        batch_op.drop_index(batch_op.f('ix_cases_assignee_id'))

    op.drop_table('cases')
    op.drop_table('reference_counters')
