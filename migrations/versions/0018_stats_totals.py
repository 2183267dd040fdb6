"""statistics: running totals of counting flags and of groups, kept by triggers

Per organization, code, month and site: how many rows count and the sum of their
record keys. Triggers on case_flags and case_groups keep them on every insert, delete
(ON DELETE CASCADE from cases included) and update, whoever writes. A NULL month or
site is stored as '-' (a primary key column cannot hold NULL, and no month or place
code is '-'); rows without an organization are not counted (statistics never read
them). Totals that reach zero stay, as zero.

On PostgreSQL the trigger functions first take the audit chain's advisory lock: every
write that changes a total records an event under that lock anyway, and taking it before
any total's row gives one lock order (no deadlock between a transaction that flushes its
flags before its event and one that flushes them after).

The app keeps its own copy of this DDL (fieldapp/stats/totals.py, for bulk loads);
tests/stats/test_totals.py checks that the two agree.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-23
"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# fieldapp.audit.services._CHAIN_LOCK_ID (migrations do not import the app).
CHAIN_LOCK_ID = 7_340_211
NONE = "'-'"
GROUPING = 'organization_id, code, registered_month, location_code'
# base table -> (totals table, when a row counts (NEW./OLD. put in for R.), columns that
# can change whether or where it counts)
BASES = {
    'case_flags': ('flag_totals', 'R.active = {true} AND R.dismissed_at IS NULL',
                   ('organization_id', 'code', 'registered_month', 'location_code',
                    'record_key', 'active', 'dismissed_at')),
    'case_groups': ('group_totals', '1 = 1',
                    ('organization_id', 'code', 'registered_month', 'location_code',
                     'record_key')),
}


def _counts(base: str, row: str, true: str) -> str:
    return f'{row}.organization_id IS NOT NULL AND ' + \
        BASES[base][1].format(true=true).replace('R.', f'{row}.')


def _add(base: str, row: str, where: str | None = None) -> str:
    total = BASES[base][0]
    values = (f'{row}.organization_id, {row}.code, coalesce({row}.registered_month, {NONE}), '
              f'coalesce({row}.location_code, {NONE}), 1, coalesce({row}.record_key, 0)')
    source = f'VALUES ({values})' if where is None else f'SELECT {values} WHERE {where}'
    return (f'INSERT INTO {total} ({GROUPING}, n, keys) {source} '
            f'ON CONFLICT ({GROUPING}) DO UPDATE '
            f'SET n = {total}.n + excluded.n, keys = {total}.keys + excluded.keys')


def _subtract(base: str, row: str, where: str | None = None) -> str:
    # An update, not an upsert: a total is only taken from a row that exists (a missing
    # one is repaired by `flask stats rebuild-totals`, not made negative).
    total = BASES[base][0]
    return (f'UPDATE {total} SET n = n - 1, keys = keys - coalesce({row}.record_key, 0) '
            f'WHERE organization_id = {row}.organization_id AND code = {row}.code '
            f'AND registered_month = coalesce({row}.registered_month, {NONE}) '
            f'AND location_code = coalesce({row}.location_code, {NONE})'
            + ('' if where is None else f' AND {where}'))


def sqlite_triggers(base: str) -> list[str]:
    watched = BASES[base][2]
    old, new = _counts(base, 'OLD', '1'), _counts(base, 'NEW', '1')
    changed = ' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in watched)
    return [
        f'CREATE TRIGGER {base}_totals_insert AFTER INSERT ON {base} '
        f'WHEN {new} BEGIN {_add(base, "NEW")}; END',
        f'CREATE TRIGGER {base}_totals_delete AFTER DELETE ON {base} '
        f'WHEN {old} BEGIN {_subtract(base, "OLD")}; END',
        f'CREATE TRIGGER {base}_totals_update AFTER UPDATE OF {", ".join(watched)} ON {base} '
        f'WHEN {changed} BEGIN {_subtract(base, "OLD", old)}; '
        f'{_add(base, "NEW", new)}; END',
    ]


def postgresql_ddl(base: str) -> list[str]:
    watched = BASES[base][2]
    old, new = _counts(base, 'OLD', 'true'), _counts(base, 'NEW', 'true')
    olds = ', '.join(f'OLD.{c}' for c in watched)
    news = ', '.join(f'NEW.{c}' for c in watched)
    function = (
        f'CREATE FUNCTION {base}_totals() RETURNS trigger LANGUAGE plpgsql AS $$\n'
        f'BEGIN\n'
        f'    PERFORM pg_advisory_xact_lock({CHAIN_LOCK_ID});\n'
        f"    IF TG_OP <> 'INSERT' THEN\n"
        f'        IF {old} THEN\n'
        f'            {_subtract(base, "OLD")};\n'
        f'        END IF;\n'
        f'    END IF;\n'
        f"    IF TG_OP <> 'DELETE' THEN\n"
        f'        IF {new} THEN\n'
        f'            {_add(base, "NEW")};\n'
        f'        END IF;\n'
        f'    END IF;\n'
        f'    RETURN NULL;\n'
        f'END\n'
        f'$$')
    run = f'FOR EACH ROW WHEN (%s) EXECUTE FUNCTION {base}_totals()'
    return [
        function,
        f'CREATE TRIGGER {base}_totals_insert AFTER INSERT ON {base} ' + run % new,
        f'CREATE TRIGGER {base}_totals_delete AFTER DELETE ON {base} ' + run % old,
        f'CREATE TRIGGER {base}_totals_update AFTER UPDATE OF {", ".join(watched)} '
        f'ON {base} ' + run % f'({olds}) IS DISTINCT FROM ({news})',
    ]


def _backfill(base: str, true: str) -> str:
    return (f'INSERT INTO {BASES[base][0]} ({GROUPING}, n, keys) '
            f'SELECT organization_id, code, coalesce(registered_month, {NONE}), '
            f'coalesce(location_code, {NONE}), count(*), coalesce(sum(record_key), 0) '
            f'FROM {base} AS R WHERE {_counts(base, "R", true)} '
            f'GROUP BY organization_id, code, coalesce(registered_month, {NONE}), '
            f'coalesce(location_code, {NONE})')


def upgrade() -> None:
    for total in ('flag_totals', 'group_totals'):
        op.create_table(
            total,
            sa.Column('organization_id', sa.Uuid(), nullable=False),
            sa.Column('code', sa.String(length=40), nullable=False),
            sa.Column('registered_month', sa.String(length=7), nullable=False),
            sa.Column('location_code', sa.String(length=40), nullable=False),
            sa.Column('n', sa.BigInteger(), nullable=False),
            sa.Column('keys', sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint('organization_id', 'code', 'registered_month',
                                    'location_code', name=op.f(f'pk_{total}')),
        )
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for base in BASES:
        op.execute(_backfill(base, 'true' if postgresql else '1'))
        for statement in postgresql_ddl(base) if postgresql else sqlite_triggers(base):
            op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for base in BASES:
        for event in ('insert', 'delete', 'update'):
            op.execute(f'DROP TRIGGER IF EXISTS {base}_totals_{event}'
                       + (f' ON {base}' if postgresql else ''))
        if postgresql:
            op.execute(f'DROP FUNCTION IF EXISTS {base}_totals()')
    op.drop_table('group_totals')
    op.drop_table('flag_totals')
