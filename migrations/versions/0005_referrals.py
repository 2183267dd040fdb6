"""referrals: services, coverage, routing rules, referrals with their own keys, history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:33:33.159486
"""
from alembic import op
import sqlalchemy as sa
import fieldapp.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routing_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('flag_code', sa.String(length=40), nullable=False),
    sa.Column('service_type', sa.String(length=40), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules')),
    sa.UniqueConstraint('flag_code', 'service_type', name='uq_routing_rules_flag_type')
    )
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rules_flag_code'), ['flag_code'], unique=False)

    op.create_table('services',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('languages', sa.String(length=200), nullable=False),
    sa.Column('min_age', sa.SmallInteger(), nullable=True),
    sa.Column('max_age', sa.SmallInteger(), nullable=True),
    sa.Column('sexes', sa.String(length=60), nullable=False),
    sa.Column('capacity', sa.String(length=10), nullable=False),
    sa.Column('contact', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("capacity IN ('open', 'limited', 'full')", name=op.f('ck_services_capacity')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_services_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services'))
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_services_type'), ['type'], unique=False)

    op.create_table('service_locations',
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('location_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['location_code'], ['locations.code'], name=op.f('fk_service_locations_location_code_locations')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_service_locations_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'location_code', name=op.f('pk_service_locations'))
    )
    with op.batch_alter_table('service_locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_locations_location_code'), ['location_code'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('sending_org_id', sa.Uuid(), nullable=False),
    sa.Column('sender_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('receiving_org_id', sa.Uuid(), nullable=False),
    sa.Column('service_type', sa.String(length=40), nullable=False),
    sa.Column('flags', sa.String(length=400), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('consent_given_by', sa.String(length=16), nullable=False),
    sa.Column('consent_scope', sa.String(length=120), nullable=False),
    sa.Column('created_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('due_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.Column('erased_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note_enc', sa.LargeBinary(), nullable=True),
    sa.Column('snapshot_enc', sa.LargeBinary(), nullable=True),
    sa.Column('decline_reason_enc', sa.LargeBinary(), nullable=True),
    sa.Column('outcome_enc', sa.LargeBinary(), nullable=True),
    sa.Column('cancel_reason_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referrals_case_id_cases')),
    sa.ForeignKeyConstraint(['receiving_org_id'], ['organizations.id'], name=op.f('fk_referrals_receiving_org_id_organizations')),
    sa.ForeignKeyConstraint(['sender_id'], ['users.id'], name=op.f('fk_referrals_sender_id_users')),
    sa.ForeignKeyConstraint(['sending_org_id'], ['organizations.id'], name=op.f('fk_referrals_sending_org_id_organizations')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_referrals_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_referrals_inbox', ['receiving_org_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_referrals_outbox', ['sending_org_id', 'status', 'created_at'], unique=False)

    op.create_table('referral_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_referral_events_actor_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_referral_events_organization_id_organizations')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_events_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_events'))
    )
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_events_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_keys',
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('kek_id', sa.String(length=40), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', fieldapp.db.UTCDateTime(), nullable=False),
    sa.Column('rewrapped_at', fieldapp.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_keys_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_referral_keys'))
    )
    with op.batch_alter_table('referral_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_keys_kek_id'), ['kek_id'], unique=False)



    # The default routing table of SPEC §5 (admins edit it afterwards).
    routing = sa.table("routing_rules", sa.column("flag_code", sa.String),
                       sa.column("service_type", sa.String), sa.column("position", sa.Integer))
    op.bulk_insert(routing, [
        {"flag_code": flag, "service_type": service_type, "position": position}
        for flag, types in DEFAULT_ROUTING.items()
        for position, service_type in enumerate(types)])


DEFAULT_ROUTING = {
    "UNACCOMPANIED_CHILD": ["child_protection", "family_tracing", "legal_asylum"],
    "SEPARATED_CHILD": ["child_protection", "family_tracing"],
    "CHILD_WITHOUT_DOCUMENTS": ["legal_documentation", "legal_nationality", "child_protection"],
    "TRAFFICKING_RISK": ["anti_trafficking", "safe_shelter", "mental_health_psychosocial",
                         "legal_regularization"],
    "GBV_SURVIVOR": ["gbv_response", "sexual_reproductive_health", "mental_health_psychosocial",
                     "safe_shelter"],
    "STATELESSNESS_RISK": ["legal_nationality"],
    "DISABILITY_AT_RISK": ["disability_services", "health"],
    "OLDER_PERSON_AT_RISK": ["older_persons_care", "health"],
    "LGBTIQ_AT_RISK": ["lgbtiq_support", "legal_documentation", "mental_health_psychosocial"],
    "WOMAN_AT_RISK": ["sexual_reproductive_health", "cash_assistance"],
    "INTERPRETER_NEEDED": ["interpretation", "indigenous_support"],
    "INTERNATIONAL_PROTECTION_NEED": ["legal_asylum"],
    "REFOULEMENT_RISK": ["legal_asylum"],
    "FAMILY_SEPARATION": ["family_tracing"],
    "SERIOUS_MEDICAL_CONDITION": ["health"],
    "DEFENDER_AT_RISK": ["defender_protection", "legal_asylum"],
    "IRREGULAR_STATUS": ["legal_regularization"],
}


def downgrade() -> None:
    with op.batch_alter_table('referral_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_keys_kek_id'))

    op.drop_table('referral_keys')
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_events_referral_id'))

    op.drop_table('referral_events')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_outbox')
        batch_op.drop_index('ix_referrals_inbox')
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('service_locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_locations_location_code'))

    op.drop_table('service_locations')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_type'))
        batch_op.drop_index(batch_op.f('ix_services_organization_id'))

    op.drop_table('services')
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rules_flag_code'))

    op.drop_table('routing_rules')
