"""Seeding the benchmark database in bulk, through the real encryption path.

Each case is made as registration makes it: a new data key wrapped under the key ring's
primary key, registration's own `_apply` sealing the fields, blind indexes from
`index_values`, the reference from the place and date, the priority from the flags. Only
the bookkeeping differs: `_apply` writes onto a stand-in that carries `Case`'s `Sealed`
descriptors instead of an ORM object (the ORM's bookkeeping cost more than the
cryptography), the rows are plain tuples written per batch by COPY (PostgreSQL, binary
format) or `executemany` (SQLite), one transaction per batch with the reference counters
and the organization's tally, and forked worker processes each make and write their own
batches, so that while one writes, another computes (docs/benchmarks.md, "Seeding").
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.util
import operator
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from fieldapp.cases import assessment, vocab
from fieldapp.cases import services as case_services
from fieldapp.cases.inputs import CaseInput
from fieldapp.cases.models import (
    Case,
    CaseBlindIndex,
    CaseFlag,
    CaseGroup,
    CaseKey,
    CaseTally,
    ReferenceCounter,
)
from fieldapp.db import new_record_key, utcnow
from fieldapp.demo.people import SITES_FRONTERA, invented_case
from fieldapp.extensions import db, keys
from fieldapp.sealing import Sealed, sealed_names

FLAG_WEIGHTS = {  # roughly the demo's frequencies, per case
    "IRREGULAR_STATUS": 0.23, "DISABILITY_AT_RISK": 0.08, "INTERNATIONAL_PROTECTION_NEED": 0.12,
    "GBV_SURVIVOR": 0.10, "STATELESSNESS_RISK": 0.10, "CHILD_WITHOUT_DOCUMENTS": 0.06,
    "UNACCOMPANIED_CHILD": 0.05, "SEPARATED_CHILD": 0.05, "TRAFFICKING_RISK": 0.05,
    "SERIOUS_MEDICAL_CONDITION": 0.06, "WOMAN_AT_RISK": 0.04, "OLDER_PERSON_AT_RISK": 0.04,
    "INTERPRETER_NEEDED": 0.03, "FAMILY_SEPARATION": 0.03, "REFOULEMENT_RISK": 0.02,
    "DEFENDER_AT_RISK": 0.01, "LGBTIQ_AT_RISK": 0.01,
}

# The tables a seeded case writes, in foreign-key order.
TABLES = (Case.__table__, CaseKey.__table__, CaseBlindIndex.__table__, CaseGroup.__table__,
          CaseFlag.__table__)


def _stand_in(model: type) -> type:
    """A plain class with `model`'s sealed attributes: assigning one seals it exactly as
    on the model (same descriptor, same table, column and record id in the associated
    data), without the ORM's instrumentation."""
    return type(f"Seeded{model.__name__}", (), {
        "__tablename__": model.__tablename__,
        "__init__": _stand_in_init,
        "data_key": lambda self: self._data_key,
        **{name: Sealed(name) for name in sealed_names(model)}})


def _stand_in_init(self: Any, record_id: uuid.UUID, data_key: bytes, **values: Any) -> None:
    self.__dict__.update(values, id=record_id, _data_key=data_key)  # not a column: ignored


SeededCase = _stand_in(Case)
SeededFlag = _stand_in(CaseFlag)


class _Shape:
    """How one table's rows are laid out: its columns (the server fills an
    autoincrementing key), the values SQLAlchemy would fill in for columns left unset,
    and the dialect's conversions (what SQLAlchemy hands the driver)."""

    def __init__(self, table: sa.Table, dialect: sa.Dialect) -> None:
        columns = [c for c in table.columns if not (c.primary_key and c.autoincrement is True)]
        self.table = table
        self.keys = tuple(c.key for c in columns)
        self.template: dict[str, Any] = {}
        self.callables: list[tuple[int, str, Callable[[Any], Any]]] = []
        for i, column in enumerate(columns):
            default = column.default
            self.template[column.key] = default.arg if default is not None \
                and default.is_scalar else None
            if default is not None and default.is_callable:  # utcnow, new_record_key...
                self.callables.append((i, column.key, default.arg))
        self.pick = operator.itemgetter(*self.keys)
        # PostgreSQL's names of the column types, for COPY in binary format.
        self.pg_types = [_pg_type(c, dialect) for c in columns] \
            if dialect.name == "postgresql" else []
        self.convert = tuple((i, proc) for i, c in enumerate(columns)
                             if (proc := c.type.bind_processor(dialect)) is not None)

    def row(self, values: dict[str, Any]) -> list[Any]:
        out = list(self.pick(self.template | values))
        for i, key, make in self.callables:
            if key not in values:
                out[i] = make(None)
        for i, proc in self.convert:
            if out[i] is not None:
                out[i] = proc(out[i])
        return out


def _pg_type(column: sa.Column, dialect: sa.Dialect) -> str:
    name = column.type.compile(dialect=dialect).lower().split("(")[0]
    return {"timestamp without time zone": "timestamp"}.get(name, name)


@dataclass
class Batch:
    """Rows of each table for a batch of cases, ready for the driver; the references are
    filled in when the batch is written (they come from the counters)."""

    rows: dict[str, list[list[Any]]]
    prefixes: list[str]  # per case row, its reference prefix

    @property
    def cases(self) -> int:
        return len(self.prefixes)


@dataclass
class Recipe:
    """What every batch is made from; built in the parent, inherited by the workers."""

    app: Flask
    organization_id: uuid.UUID
    owner_id: uuid.UUID
    base: datetime
    seed_value: int
    shapes: dict[str, _Shape]
    severity: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # JSON, as registration seals it
    rule_set_version: str = ""


def make_recipe(owner_id: uuid.UUID, organization_id: uuid.UUID, *, seed_value: int) -> Recipe:
    rules = assessment.rule_set()
    first = {}
    for rule in rules.rules:  # a drawn flag is what its first rule in the table raises
        first.setdefault(rule.flag, rule)
    dialect = db.engine.dialect
    return Recipe(app=current_app._get_current_object(),  # type: ignore[attr-defined]
                  organization_id=organization_id, owner_id=owner_id, base=utcnow(),
                  seed_value=seed_value,
                  shapes={t.name: _Shape(t, dialect) for t in TABLES},
                  severity={code: first[code].severity for code in FLAG_WEIGHTS},
                  reasons={code: json.dumps([first[code].reason]) for code in FLAG_WEIGHTS},
                  rule_set_version=rules.version)


def make_batch(recipe: Recipe, number: int, count: int) -> Batch:
    """`count` invented cases with all their rows; batch `number` draws from its own
    random generator, so the data does not depend on how many processes made it."""
    rng = random.Random(recipe.seed_value * 1_000_003 + number)
    shapes = recipe.shapes
    rows: dict[str, list[list[Any]]] = {name: [] for name in shapes}
    prefixes = []
    prefix_of: dict[tuple[str, date], str] = {}
    for _ in range(count):
        when = recipe.base - timedelta(minutes=rng.randint(0, 525_600))
        data = invented_case(rng, today=when.date(), sites=SITES_FRONTERA)
        data.household = []  # household members are not part of the benchmark
        seeded = _register(recipe, rng, data, when)
        rows["cases"].append(shapes["cases"].row(seeded.case.__dict__))
        rows["case_keys"].append(shapes["case_keys"].row(seeded.key))
        rows["case_blind_indexes"] += [shapes["case_blind_indexes"].row(i)
                                       for i in seeded.indexes]
        rows["case_groups"] += [shapes["case_groups"].row(g) for g in seeded.groups]
        rows["case_flags"] += [shapes["case_flags"].row(f.__dict__) for f in seeded.flags]
        place = (data.location_code, when.date())
        if place not in prefix_of:
            prefix_of[place] = case_services.reference_prefix(*place)
        prefixes.append(prefix_of[place])
    return Batch(rows, prefixes)


@dataclass
class _Seeded:
    """One case's rows before they are laid out (`case` and `flags` are stand-ins)."""

    case: Any
    key: dict[str, Any]
    indexes: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    flags: list[Any]


def _register(recipe: Recipe, rng: random.Random, data: CaseInput, when: datetime) -> _Seeded:
    """The case as `register_case` makes it (the reference is left to the writer), its
    groups as the rule set derives them from age and sex, flags drawn with FLAG_WEIGHTS
    (each as the rule set raises it, reasons sealed), the priority they give."""
    on = when.date()
    case_id = uuid.uuid4()
    crypto = keys.crypto
    plain = crypto.new_data_key()  # Case.new_data_key, without the ORM's CaseKey
    wrapped = crypto.wrap(plain, owner="case", owner_id=str(case_id))
    case = SeededCase(
        case_id, plain, organization_id=recipe.organization_id, owner_id=recipe.owner_id,
        registered_at=when, registered_on=on, updated_at=when,
        registered_month=on.strftime("%Y-%m"), record_key=new_record_key(), status="open",
        consent_basis=data.consent_basis, consent_given_by=data.consent_given_by,
        consent_language=data.consent_language, consent_recorded_by_id=recipe.owner_id,
        consent_recorded_at=when, version=1)
    case_services._apply(case, data, on)  # the real sealing path
    case.consent_note = data.consent_note
    key = {"case_id": case_id, "kek_id": wrapped.kek_id, "wrapped": wrapped.blob,
           "created_at": when}
    indexes = [{"case_id": case_id, "kind": kind, "value": value}
               for kind, value in case_services.index_values(  # as _reindex
                   given_name=data.given_name, family_name=data.family_name,
                   date_of_birth=data.date_of_birth.isoformat() if data.date_of_birth else None,
                   document_number=data.document_number)]
    copy = {"case_id": case_id, "organization_id": recipe.organization_id,
            "registered_month": case.registered_month, "location_code": case.location_code,
            "record_key": case.record_key}  # assessment._stats_copy
    groups = [{**copy, "code": code} for code in _groups(case.age_band, case.sex)]
    flags = []
    for code, weight in FLAG_WEIGHTS.items():
        if rng.random() < weight:
            flag = SeededFlag(uuid.uuid4(), plain, **copy, code=code,
                              severity=recipe.severity[code], source="rule", active=True,
                              rule_set_version=recipe.rule_set_version, set_at=when)
            flag.reasons = recipe.reasons[code]
            flags.append(flag)
    top = max((f.severity for f in flags), key=vocab.PRIORITY_RANK.__getitem__,
              default="none")  # assessment.set_priority
    case.priority, case.priority_rank = top, vocab.PRIORITY_RANK[top]
    return _Seeded(case, key, indexes, groups, flags)


def _groups(age_band: str, sex: str) -> list[str]:
    """The rule set's groups that need no answers (rules.yaml: CHILDREN under 18, OLDER
    from 60, WOMEN_GIRLS for sex female), in the order registration inserts them."""
    codes = []
    if age_band in ("0-4", "5-11", "12-17"):
        codes.append("CHILDREN")
    if age_band == "60+":
        codes.append("OLDER")
    if sex == "female":
        codes.append("WOMEN_GIRLS")
    return sorted(codes)


# -- writing -------------------------------------------------------------------------------

def _number(conn: sa.Connection, batch: Batch, index: int) -> None:
    """Fill in the batch's references, taking each prefix's numbers from its counter as
    `next_number` does, a run of them at once (prefixes in order: no deadlock between
    two writers)."""
    used = Counter(batch.prefixes)
    following = {}
    for prefix in sorted(used):
        last = case_services._bump(ReferenceCounter, "prefix", prefix, "last", used[prefix],
                                   connection=conn)
        following[prefix] = last - used[prefix] + 1
    for row, prefix in zip(batch.rows["cases"], batch.prefixes, strict=True):
        row[index] = f"{prefix}-{following[prefix]:06d}"
        following[prefix] += 1


def _copy_rows(conn: sa.Connection, batch: Batch, shapes: dict[str, _Shape]) -> None:
    raw: Any = conn.connection.driver_connection
    cursor = raw.cursor()
    try:
        for name, shape in shapes.items():
            rows = batch.rows[name]
            if not rows:
                continue
            columns = ", ".join(shape.table.columns[k].name for k in shape.keys)
            if conn.dialect.name == "postgresql":
                with cursor.copy(f"COPY {name} ({columns}) FROM STDIN"
                                 " WITH (FORMAT BINARY)") as copy:
                    copy.set_types(shape.pg_types)
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(shape.keys))  # names: the models' own
                cursor.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})",  # noqa: S608
                                   rows)
    finally:
        cursor.close()


def write(conn: sa.Connection, recipe: Recipe, batch: Batch) -> None:
    """The batch in one transaction: references, every table's rows, the tally."""
    with conn.begin():
        _number(conn, batch, recipe.shapes["cases"].keys.index("reference"))
        _copy_rows(conn, batch, recipe.shapes)
        case_services._bump(CaseTally, "organization_id", recipe.organization_id,
                            "readable", batch.cases, connection=conn)
    if conn.dialect.name == "sqlite":
        _bound_wal(conn)


def _bound_wal(conn: sa.Connection) -> None:
    """Writers taking turns without a pause never let SQLite restart its write-ahead log,
    which then grows with the seeding (past 14 GB on the way to a million): past a limit, the
    writer that just committed waits for the other's transaction and truncates it."""
    try:
        size = os.path.getsize(f"{conn.engine.url.database}-wal")
    except OSError:
        return
    if size > SQLITE_WAL_LIMIT:
        raw: Any = conn.connection.driver_connection
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


# -- in worker processes -------------------------------------------------------------------

# Per batch, so that the transactions are few: on SQLite each commit also empties the
# other workers' page caches.
BATCH = {"postgresql": 5_000, "sqlite": 20_000}
SQLITE_CACHE_KIB = 256 * 1024
SQLITE_WAL_LIMIT = 1 << 30
_RECIPE: Recipe | None = None  # set in the parent before the workers fork
_CONNECTION: sa.Connection | None = None  # each worker's own


def default_workers() -> int:
    """One process per core: while one writes its batch, another makes the next."""
    return os.cpu_count() or 1


def _worker_start() -> None:
    assert _RECIPE is not None
    _RECIPE.app.app_context().push()
    db.engine.dispose(close=False)  # nothing of the parent's pool (it was empty anyway)


@contextmanager
def _bulk_connection() -> Iterator[sa.Connection]:
    """A connection for writing batches. On SQLite with a page cache of 256 MiB instead of
    2 MiB while it seeds (the indexes take random inserts), set back before it goes."""
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection  # pragmas outside a transaction
        before = None
        if conn.dialect.name == "sqlite":
            before = int(raw.execute("PRAGMA cache_size").fetchone()[0])
            raw.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        try:
            yield conn
        finally:
            if before is not None:
                conn.rollback()
                raw.execute(f"PRAGMA cache_size = {before}")


def _worker_batch(job: tuple[int, int]) -> int:
    global _CONNECTION
    assert _RECIPE is not None
    if _CONNECTION is None:  # here, not in the initializer: a failure reaches the parent
        connection = _bulk_connection()
        _CONNECTION = connection.__enter__()
        multiprocessing.util.Finalize(None, connection.__exit__, args=(None, None, None),
                                      exitpriority=10)
    batch = make_batch(_RECIPE, *job)
    write(_CONNECTION, _RECIPE, batch)
    return batch.cases


def statistics_totals_bulk_load() -> AbstractContextManager[Any]:
    """The statistics totals' bulk load (fieldapp.stats.totals, migration 0018): the
    triggers that keep flag_totals and group_totals are off while the batches go in and
    the totals are rebuilt once at the end (COPY fires row triggers too). Seeding runs
    inside it, so the rebuild counts in the seeding time."""
    from fieldapp.stats import totals

    return totals.bulk_load(db.session)


def seed_cases(owner_id: uuid.UUID, organization_id: uuid.UUID, *, have: int, target: int,
               batch: int | None, seed_value: int, workers: int,
               log: Callable[[str], None]) -> int:
    """Add `target - have` cases with all their rows, in batches made and written by
    `workers` forked processes (none: here, one after the other); returns how many."""
    global _RECIPE
    recipe = make_recipe(owner_id, organization_id, seed_value=seed_value + have)
    batch = batch or BATCH.get(db.engine.dialect.name, 5_000)
    jobs = []
    left, number = target - have, 0
    while left > 0:
        jobs.append((number, min(batch, left)))
        left -= jobs[-1][1]
        number += 1
    added, reported = 0, 0

    def done(cases: int) -> None:
        nonlocal added, reported
        added += cases
        if added - reported >= 50_000:
            reported = added
            log(f"  seeded {have + added} cases")

    db.session.commit()  # the recipe's reads end here: SQLite has one writer at a time
    if workers <= 0:
        with _bulk_connection() as conn:
            for job in jobs:
                one = make_batch(recipe, *job)
                write(conn, recipe, one)
                done(one.cases)
        return added
    db.engine.dispose()  # no open connection is copied into the workers
    _RECIPE = recipe
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start)
    try:
        for cases in pool.imap_unordered(_worker_batch, jobs):
            done(cases)
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()  # the workers close their connections on the way out
    finally:
        pool.join()
        _RECIPE = None
    return added
