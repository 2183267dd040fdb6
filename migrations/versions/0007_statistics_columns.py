"""statistics: clear grouping columns on cases, flags and groups

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 04:50:15.648070
"""
from alembic import op
import sqlalchemy as sa
import fieldapp.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns first (plain ADD COLUMN), values next, indexes last.
    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('registered_month', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('location_code', sa.String(length=40), nullable=True))

    with op.batch_alter_table('case_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('registered_month', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('location_code', sa.String(length=40), nullable=True))

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country_code', sa.String(length=2), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column('division_code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('registered_month', sa.String(length=7), nullable=False,
                                      server_default=""))

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_month', sa.String(length=7), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column('ack_seconds', sa.Integer(), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE referrals SET created_month = to_char(created_at, 'YYYY-MM'), "
                   "ack_seconds = CAST(EXTRACT(EPOCH FROM acknowledged_at - created_at) AS INTEGER)")
        month = "to_char(registered_on, 'YYYY-MM')"
        division = ("CASE WHEN position('-' in location_code) = 0 THEN NULL ELSE "
                    "split_part(location_code, '-', 1) || '-' || split_part(location_code, '-', 2) END")
    else:
        op.execute("UPDATE referrals SET created_month = substr(created_at, 1, 7), "
                   "ack_seconds = CAST(round((julianday(acknowledged_at) - julianday(created_at))"
                   " * 86400) AS INTEGER)")
        month = "substr(registered_on, 1, 7)"
        rest = "substr(location_code, instr(location_code, '-') + 1)"
        division = (f"CASE WHEN instr(location_code, '-') = 0 THEN NULL "
                    f"WHEN instr({rest}, '-') = 0 THEN location_code "
                    f"ELSE substr(location_code, 1, instr(location_code, '-') + instr({rest}, '-') - 1) END")
    op.execute(f"UPDATE cases SET registered_month = {month}, "
               f"country_code = substr(location_code, 1, 2), division_code = {division}")
    for table in ("case_flags", "case_groups"):
        op.execute(
            f"UPDATE {table} SET "
            f"organization_id = (SELECT c.organization_id FROM cases c WHERE c.id = {table}.case_id), "
            f"registered_month = (SELECT c.registered_month FROM cases c WHERE c.id = {table}.case_id), "
            f"location_code = (SELECT c.location_code FROM cases c WHERE c.id = {table}.case_id)")

    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.create_index('ix_case_flags_stats', ['organization_id', 'active', 'code', 'registered_month', 'location_code'], unique=False)
    with op.batch_alter_table('case_groups', schema=None) as batch_op:
        batch_op.create_index('ix_case_groups_stats', ['organization_id', 'code', 'location_code', 'registered_month'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_stats', ['organization_id', 'registered_month', 'country_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_column('ack_seconds')
        batch_op.drop_column('created_month')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_stats')
        batch_op.drop_column('registered_month')
        batch_op.drop_column('division_code')
        batch_op.drop_column('country_code')

    with op.batch_alter_table('case_groups', schema=None) as batch_op:
        batch_op.drop_index('ix_case_groups_stats')
        batch_op.drop_column('location_code')
        batch_op.drop_column('registered_month')
        batch_op.drop_column('organization_id')

    with op.batch_alter_table('case_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_case_flags_stats')
        batch_op.drop_column('location_code')
        batch_op.drop_column('registered_month')
        batch_op.drop_column('organization_id')

