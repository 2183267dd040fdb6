"""working a referral: the shared follow-up log, news for the sender, staff work phones,
organizations' public contact and notice address, HSDS directory fields, the e-mail
notice outbox

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SERVICE_TEXT = [('description', sa.Text(), ''), ('eligibility_description', sa.Text(), ''),
                ('schedule', sa.Text(), '[]'), ('schedule_description', sa.String(300), ''),
                ('location_name', sa.String(200), ''), ('address_1', sa.String(200), ''),
                ('city', sa.String(100), ''), ('state_province', sa.String(100), ''),
                ('postal_code', sa.String(20), '')]


def upgrade() -> None:
    op.create_table(
        'referral_updates',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('referral_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('on_date', sa.Date(), nullable=True),
        sa.Column('author_id', sa.Uuid(), nullable=False),
        sa.Column('author_org_id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('text_enc', sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("kind IN ('note', 'appointment', 'contact_attempt', "
                           "'service_delivered')", name=op.f('ck_referral_updates_kind')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'],
                                name=op.f('fk_referral_updates_author_id_users')),
        sa.ForeignKeyConstraint(['author_org_id'], ['organizations.id'],
                                name=op.f('fk_referral_updates_author_org_id_organizations')),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ondelete='CASCADE',
                                name=op.f('fk_referral_updates_referral_id_referrals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_updates')),
    )
    op.create_index('ix_referral_updates_referral', 'referral_updates',
                    ['referral_id', 'created_at'], unique=False)
    op.create_table(
        'notices',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('organization_id', sa.Uuid(), nullable=False),
        sa.Column('referral_id', sa.Uuid(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('to_address', sa.String(length=254), nullable=False),
        sa.Column('locale', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('new', 'overdue', 'completed')",
                           name=op.f('ck_notices_kind')),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')",
                           name=op.f('ck_notices_status')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_notices_organization_id_organizations')),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], ondelete='SET NULL',
                                name=op.f('fk_notices_referral_id_referrals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
        sa.UniqueConstraint('referral_id', 'kind', 'organization_id',
                            name='uq_notices_referral_kind_org'),
    )
    op.create_index('ix_notices_due', 'notices', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receiver_activity_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('sender_seen_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_phone', sa.String(length=32), nullable=True))
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('website', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('notice_email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('services', schema=None) as batch_op:
        for name, type_, default in SERVICE_TEXT:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=default))
        batch_op.add_column(sa.Column('url', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('services', schema=None) as batch_op:
        for name in ('phone', 'email', 'url', *(n for n, _t, _d in reversed(SERVICE_TEXT))):
            batch_op.drop_column(name)
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        for name in ('notice_email', 'website', 'email', 'phone', 'description'):
            batch_op.drop_column(name)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('work_phone')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_column('sender_seen_at')
        batch_op.drop_column('receiver_activity_at')
    op.drop_index('ix_notices_due', table_name='notices')
    op.drop_table('notices')
    op.drop_index('ix_referral_updates_referral', table_name='referral_updates')
    op.drop_table('referral_updates')
