"""case page and times: referral references, organization time zones, the reason for
withdrawing consent

- `referrals.reference`: `R-26-000123` (year of sending, sequence per year), to say
  aloud; existing referrals are numbered in the order they were sent and the
  sequences continue from there (`reference_counters`, prefix `R-YY`).
- `organizations.time_zone`: an IANA name; existing organizations get their
  country's usual zone (or their border division's), as new ones do.
- `cases.consent_withdrawal_reason_enc`: sealed like the other free texts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# A copy of fieldapp/times.py as of this revision (a migration does not import the app).
COUNTRY_ZONES = {
    'AR': 'America/Argentina/Buenos_Aires', 'AW': 'America/Aruba', 'BO': 'America/La_Paz',
    'BR': 'America/Sao_Paulo', 'CL': 'America/Santiago', 'CO': 'America/Bogota',
    'CR': 'America/Costa_Rica', 'CW': 'America/Curacao', 'DO': 'America/Santo_Domingo',
    'EC': 'America/Guayaquil', 'GY': 'America/Guyana', 'MX': 'America/Mexico_City',
    'PA': 'America/Panama', 'PE': 'America/Lima', 'PY': 'America/Asuncion',
    'TT': 'America/Port_of_Spain', 'UY': 'America/Montevideo', 'VE': 'America/Caracas',
}
DIVISION_ZONES = {'BR-RR': 'America/Boa_Vista', 'BR-AM': 'America/Manaus'}


def _zone(country_code: str | None, location_code: str | None) -> str:
    division = '-'.join((location_code or '').upper().split('-')[:2])
    if division in DIVISION_ZONES:
        return DIVISION_ZONES[division]
    return COUNTRY_ZONES.get((country_code or '').upper(), 'UTC')


def _number_referrals() -> None:
    """Number existing referrals per year of sending, oldest first, in one statement."""
    if op.get_bind().dialect.name == 'postgresql':
        year = "to_char(created_at, 'YY')"
        padded = "lpad(CAST(n AS text), 6, '0')"
    else:
        year = "substr(strftime('%Y', created_at), 3, 2)"
        padded = "printf('%06d', n)"
    op.execute(f"""
        UPDATE referrals SET reference = numbered.ref
        FROM (SELECT id, 'R-' || yy || '-' || {padded} AS ref
              FROM (SELECT id, {year} AS yy,
                           row_number() OVER (PARTITION BY {year}
                                              ORDER BY created_at, id) AS n
                    FROM referrals) AS ranked) AS numbered
        WHERE referrals.id = numbered.id""")
    op.execute(f"""
        INSERT INTO reference_counters (prefix, last)
        SELECT 'R-' || {year}, count(*) FROM referrals GROUP BY {year}""")


def upgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=16), nullable=True))
    _number_referrals()
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.alter_column('reference', existing_type=sa.String(length=16),
                              nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_referrals_reference'), ['reference'])

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
    organizations = sa.table('organizations', sa.column('id', sa.Uuid()),
                             sa.column('country_code', sa.String()),
                             sa.column('location_code', sa.String()),
                             sa.column('time_zone', sa.String()))
    bind = op.get_bind()
    for row in bind.execute(sa.select(organizations.c.id, organizations.c.country_code,
                                      organizations.c.location_code)).all():
        bind.execute(organizations.update().where(organizations.c.id == row.id).values(
            time_zone=_zone(row.country_code, row.location_code)))
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.alter_column('time_zone', existing_type=sa.String(length=64), nullable=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_withdrawal_reason_enc', sa.LargeBinary(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('consent_withdrawal_reason_enc')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
    op.execute("DELETE FROM reference_counters WHERE prefix LIKE 'R-%'")
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_referrals_reference'), type_='unique')
        batch_op.drop_column('reference')
