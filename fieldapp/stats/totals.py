"""The statistics' running totals (flag_totals, group_totals): rebuilt, and bulk loads.

Triggers on case_flags and case_groups keep the totals on every write, whoever writes
(the unit of work, Core inserts, ON DELETE CASCADE from cases, updates that dismiss a
flag or move a case); migration 0018 creates them. Here: `rebuild` recomputes the totals
from the base tables (repair, or after a bulk load), and `bulk_load` lets a loader write
millions of rows without the triggers and rebuilds once at the end.

On SQLite a table rebuild (Alembic's batch mode on case_flags or case_groups) drops the
table's triggers: a migration that does one must create them again (`SQLITE_TRIGGERS`
here is this module's copy of migration 0018's, checked against the database by
tests/stats/test_totals.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

NONE = "-"  # a NULL month or site, in the totals' primary key
GROUPING = "organization_id, code, registered_month, location_code"
# base table -> (totals table, when a row counts (R. stands for NEW. or OLD.), the
# columns that can change whether or where a row counts)
BASES = {
    "case_flags": ("flag_totals", "R.active = {true} AND R.dismissed_at IS NULL",
                   ("organization_id", "code", "registered_month", "location_code",
                    "record_key", "active", "dismissed_at")),
    "case_groups": ("group_totals", "1 = 1",
                    ("organization_id", "code", "registered_month", "location_code",
                     "record_key")),
}
TRIGGERS = {base: [f"{base}_totals_{event}" for event in ("insert", "delete", "update")]
            for base in BASES}


def _counts(base: str, row: str, true: str) -> str:
    return f"{row}.organization_id IS NOT NULL AND " + \
        BASES[base][1].format(true=true).replace("R.", f"{row}.")


def _add(base: str, row: str, where: str | None = None) -> str:
    total = BASES[base][0]
    values = (f"{row}.organization_id, {row}.code, coalesce({row}.registered_month, '{NONE}'), "
              f"coalesce({row}.location_code, '{NONE}'), 1, coalesce({row}.record_key, 0)")
    source = f"VALUES ({values})" if where is None else f"SELECT {values} WHERE {where}"
    return (f"INSERT INTO {total} ({GROUPING}, n, keys) {source} "
            f"ON CONFLICT ({GROUPING}) DO UPDATE "
            f"SET n = {total}.n + excluded.n, keys = {total}.keys + excluded.keys")


def _subtract(base: str, row: str, where: str | None = None) -> str:
    total = BASES[base][0]
    # Names and conditions come from this module's constants, never from input.
    return (f"UPDATE {total} SET n = n - 1, "  # noqa: S608
            f"keys = keys - coalesce({row}.record_key, 0) "
            f"WHERE organization_id = {row}.organization_id AND code = {row}.code "
            f"AND registered_month = coalesce({row}.registered_month, '{NONE}') "
            f"AND location_code = coalesce({row}.location_code, '{NONE}')"
            + ("" if where is None else f" AND {where}"))


def _sqlite_triggers(base: str) -> list[str]:
    watched = BASES[base][2]
    old, new = _counts(base, "OLD", "1"), _counts(base, "NEW", "1")
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in watched)
    return [
        f"CREATE TRIGGER {base}_totals_insert AFTER INSERT ON {base} "
        f"WHEN {new} BEGIN {_add(base, 'NEW')}; END",
        f"CREATE TRIGGER {base}_totals_delete AFTER DELETE ON {base} "
        f"WHEN {old} BEGIN {_subtract(base, 'OLD')}; END",
        f"CREATE TRIGGER {base}_totals_update AFTER UPDATE OF {', '.join(watched)} ON {base} "
        f"WHEN {changed} BEGIN {_subtract(base, 'OLD', old)}; "
        f"{_add(base, 'NEW', new)}; END",
    ]


SQLITE_TRIGGERS = {base: _sqlite_triggers(base) for base in BASES}

Bind = sa.Connection | Session | scoped_session


def _dialect(bind: Bind) -> str:
    if isinstance(bind, sa.Connection):
        return bind.dialect.name
    return bind.get_bind().dialect.name  # a Session, or Flask-SQLAlchemy's scoped one


def rebuild(bind: Bind) -> None:
    """Recompute both totals tables from case_flags and case_groups, in the caller's
    transaction. On PostgreSQL the totals are locked against writes meanwhile (readers
    still see the old ones): a flag written concurrently is either seen here or added by
    its trigger once this commits, never both, never neither."""
    dialect = _dialect(bind)
    if dialect == "postgresql":
        bind.execute(sa.text("LOCK TABLE flag_totals, group_totals IN EXCLUSIVE MODE"))
    true = "true" if dialect == "postgresql" else "1"
    for base, (total, _, _) in BASES.items():
        bind.execute(sa.text(f"DELETE FROM {total}"))  # noqa: S608 - constants
        bind.execute(sa.text(
            f"INSERT INTO {total} ({GROUPING}, n, keys) "  # noqa: S608 - constants
            f"SELECT organization_id, code, coalesce(registered_month, '{NONE}'), "
            f"coalesce(location_code, '{NONE}'), count(*), coalesce(sum(record_key), 0) "
            f"FROM {base} AS R WHERE {_counts(base, 'R', true)} "
            f"GROUP BY organization_id, code, coalesce(registered_month, '{NONE}'), "
            f"coalesce(location_code, '{NONE}')"))


def suspend_triggers(bind: Bind) -> None:
    """Writes to case_flags and case_groups stop updating the totals (table owner's
    rights suffice: no superuser, no session_replication_role)."""
    postgresql = _dialect(bind) == "postgresql"
    for base, names in TRIGGERS.items():
        if postgresql:
            for name in names:
                bind.execute(sa.text(f"ALTER TABLE {base} DISABLE TRIGGER {name}"))
        else:
            for name in names:
                bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))


def restore_triggers(bind: Bind) -> None:
    """The triggers back (whether they were suspended or not), then the totals rebuilt,
    in the caller's transaction: nothing written in between is missed (PostgreSQL's
    ALTER TABLE holds both tables until the commit; SQLite has one writer)."""
    postgresql = _dialect(bind) == "postgresql"
    for base, names in TRIGGERS.items():
        if postgresql:
            for name in names:
                bind.execute(sa.text(f"ALTER TABLE {base} ENABLE TRIGGER {name}"))
        else:
            for name, ddl in zip(names, SQLITE_TRIGGERS[base], strict=True):
                bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
                bind.execute(sa.text(ddl))
    rebuild(bind)


@contextmanager
def bulk_load(session: Session) -> Iterator[None]:
    """`with bulk_load(db.session): ...insert millions of flags and groups...`: the
    triggers are off inside (the loader may commit as often as it likes) and on again,
    with the totals rebuilt once, when the block is left, however it is left.

    Commits what `session` holds on entry; on an exception inside, rolls the session
    back before restoring. Other writers meanwhile do not update the totals either; the
    final rebuild counts their rows too.
    """
    session.commit()
    suspend_triggers(session)
    session.commit()
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    finally:
        session.commit()
        restore_triggers(session)
        session.commit()
