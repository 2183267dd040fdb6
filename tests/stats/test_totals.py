"""The statistics' running totals (flag_totals, group_totals) are what a GROUP BY over the
flags and groups gives, exactly, after whatever writes: the services, Core statements,
cascades from deleted cases, a rebuild, a bulk load, writers at the same time."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.cases import assessment, inputs
from fieldapp.cases import services as case_services
from fieldapp.cases.models import Case, CaseFlag, CaseGroup
from fieldapp.db import utcnow
from fieldapp.extensions import db
from fieldapp.stats import services as stats
from fieldapp.stats import totals
from fieldapp.stats.models import FlagTotal, GroupTotal
from fieldapp.stats.perturbation import perturbation_table, publish
from tests.cases.conftest import case_data
from tests.conftest import api_token

SITES = ["CO-NSA-CUCUTA", "CO-LAG-PARAGUACHON", "EC-C-TULCAN"]
BIRTHS = ["2012-05-01", "1990-01-01", "1950-03-03"]  # a child, an adult, an older person
ANSWERS = [{}, {"fear_of_return": True}, {"gbv": "past"}, {"serious_medical_condition": True},
           {"fear_of_return": True, "gbv": "recent"}, {"accompaniment": "alone"}]
Totals = dict[tuple, tuple[int, int]]


def from_base(model: Any) -> Totals:
    """What the totals must hold: a GROUP BY over the flags that count, or the groups."""
    stmt = sa.select(model.organization_id, model.code, model.registered_month,
                     model.location_code, sa.func.count(),
                     sa.func.coalesce(sa.func.sum(model.record_key), 0)).where(
        model.organization_id.is_not(None)).group_by(
        model.organization_id, model.code, model.registered_month, model.location_code)
    if model is CaseFlag:
        stmt = stmt.where(CaseFlag.active.is_(True), CaseFlag.dismissed_at.is_(None))
    return {tuple(row[:4]): (int(row[4]), int(row[5])) for row in db.session.execute(stmt)}


def kept(model: Any) -> Totals:
    """The totals the triggers keep, '-' read back as None; zeros left out (and checked)."""
    out = {}
    for row in db.session.scalars(sa.select(model)):
        assert row.n >= 0, (row.code, row.n)
        if row.n == 0:
            assert row.keys == 0, row.code
            continue
        out[(row.organization_id, row.code,
             None if row.registered_month == totals.NONE else row.registered_month,
             None if row.location_code == totals.NONE else row.location_code)] = (row.n, row.keys)
    return out


def assert_exact() -> None:
    db.session.commit()
    assert kept(FlagTotal) == from_base(CaseFlag)
    assert kept(GroupTotal) == from_base(CaseGroup)


def _data(**overrides: Any) -> inputs.CaseInput:
    return inputs.parse_case(case_data(**overrides), today=date.today())


class World:
    """Cases registered through the real services, with what they were registered with."""

    def __init__(self, make: Any) -> None:
        self.orgs = [make.org("Totals A"), make.org("Totals B")]
        self.workers = [make.user(Role.CASE_MANAGER, org=org) for org in self.orgs]
        self.cases: dict[uuid.UUID, dict[str, Any]] = {}

    def register(self, rng: random.Random) -> Case:
        i = rng.randrange(2)
        overrides = {"given_name": f"Persona {len(self.cases)}", "document": None,
                     "location_code": rng.choice(SITES), "sex": rng.choice(["female", "male"]),
                     "date_of_birth": rng.choice(BIRTHS)}
        case = case_services.register_case(self.workers[i], _data(**overrides),
                                           answers=rng.choice(ANSWERS) or None)
        db.session.commit()
        self.cases[case.id] = {"overrides": overrides, "worker": self.workers[i]}
        return case

    def pick(self, rng: random.Random, *, readable: bool = True) -> tuple[Case, Any] | None:
        ids = sorted(self.cases, key=str)
        rng.shuffle(ids)
        for case_id in ids:
            case = db.session.get(Case, case_id)
            if not readable or (case.erased_at is None and case.status == "open"):
                return case, self.cases[case_id]
        return None


def _step(world: World, rng: random.Random) -> str:
    """One random write; returns its name (for the failure message)."""
    action = rng.choice(["register", "register", "assess", "dismiss", "manual", "move",
                         "erase", "purge", "delete_core", "delete_orm", "core_update"])
    picked = world.pick(rng, readable=action not in ("delete_core", "delete_orm"))
    if action == "register" or picked is None:
        world.register(rng)
        return "register"
    case, info = picked
    actor = info["worker"]
    if action == "assess":  # raises, clears and reinstates rule flags
        assessment.save_assessment(actor, case, rng.choice(ANSWERS))
    elif action == "dismiss":
        counting = [f.code for f in case.flags if f.counts]
        if counting:
            assessment.dismiss_flag(actor, case, code=rng.choice(counting), reason="No")
    elif action == "manual":  # a new flag, or a dismissed one back
        codes = sorted(assessment.rule_set().flag_codes())
        not_counting = [c for c in codes if not any(f.code == c and f.counts
                                                     for f in case.flags)]
        assessment.add_manual_flag(actor, case, code=rng.choice(not_counting), reason="Seen")
    elif action == "move":
        info["overrides"]["location_code"] = rng.choice(SITES)
        case_services.update_case(actor, case, _data(**info["overrides"]),
                                  expected_version=case.version)
    elif action == "erase":
        case_services.erase_case(case, actor=actor)
    elif action == "purge":
        case_services.close_case(actor, case, reason="Done")
        db.session.commit()
        case_services.purge_closed_before(date.today() + timedelta(days=1))
    elif action == "delete_core":  # ON DELETE CASCADE in the database
        db.session.execute(sa.delete(Case).where(Case.id == case.id))
        db.session.expire_all()
        del world.cases[case.id]
    elif action == "delete_orm":  # the unit of work deletes the flags and groups first
        db.session.delete(case)
        del world.cases[case.id]
    elif action == "core_update":  # a month moved and a flag reactivated behind the ORM
        db.session.execute(sa.update(CaseGroup).where(CaseGroup.case_id == case.id)
                           .values(registered_month="2024-02"))
        db.session.execute(sa.update(CaseFlag).where(CaseFlag.case_id == case.id)
                           .values(registered_month="2024-02", active=True, dismissed_at=None))
        db.session.expire_all()
    db.session.commit()
    return action


@pytest.fixture
def world(make):
    return World(make)


def test_totals_follow_every_kind_of_write_exactly(world):
    rng = random.Random(16)
    for _ in range(6):
        world.register(rng)
    assert_exact()
    done = []
    for _ in range(45):
        done.append(_step(world, rng))
        try:
            assert_exact()
        except AssertionError:
            pytest.fail(f"after {done}")
    assert {"assess", "dismiss", "manual", "move", "erase", "purge", "delete_core",
            "delete_orm", "core_update"} <= set(done)
    assert kept(FlagTotal) and kept(GroupTotal)


def test_rows_without_a_month_place_or_key_are_counted_under_none(world):
    rng = random.Random(3)
    case = world.register(rng)
    org = case.organization_id
    db.session.execute(sa.insert(CaseGroup), [
        {"case_id": case.id, "code": "ETHNIC", "organization_id": org},
        {"case_id": case.id, "code": "LGBTIQ", "organization_id": None,
         "registered_month": "2026-01"}])
    db.session.execute(sa.insert(CaseFlag), [{
        "id": uuid.uuid4(), "case_id": case.id, "code": "DEFENDER_AT_RISK", "severity": "high",
        "source": "manual", "active": True, "set_at": utcnow(), "organization_id": org,
        "registered_month": None, "location_code": "EC-C-TULCAN", "record_key": None}])
    assert_exact()
    assert kept(GroupTotal)[(org, "ETHNIC", None, None)] == (1, 0)
    db.session.execute(sa.update(CaseFlag).where(CaseFlag.code == "DEFENDER_AT_RISK")
                       .values(registered_month="2026-05", record_key=7))
    assert_exact()
    assert kept(FlagTotal)[(org, "DEFENDER_AT_RISK", "2026-05", "EC-C-TULCAN")] == (1, 7)
    db.session.execute(sa.delete(CaseGroup).where(CaseGroup.code.in_(["ETHNIC", "LGBTIQ"])))
    assert_exact()


def _base_cells(user: Any, query: stats.Query, dims: list[str]) -> dict[tuple, tuple[int, int]]:
    """What the statistics counted before the totals: a GROUP BY over the base table."""
    flag = "flag" in dims or "flag" in query.filters
    model = CaseFlag if flag else CaseGroup
    columns = {"flag": CaseFlag.code, "group": CaseGroup.code,
               "month": model.registered_month, "site": model.location_code}
    stmt = sa.select(*(columns[d] for d in dims), sa.func.count(),
                     sa.func.sum(model.record_key)).where(
        model.organization_id.in_(stats.organizations_in_scope(user)))
    if flag:
        stmt = stmt.where(CaseFlag.active.is_(True), CaseFlag.dismissed_at.is_(None))
    for dim, value in query.filters.items():
        stmt = stmt.where(columns[dim] == value)
    if query.month_from:
        stmt = stmt.where(model.registered_month >= query.month_from)
    if query.month_to:
        stmt = stmt.where(model.registered_month <= query.month_to)
    return {tuple(row[:-2]): (int(row[-2]), int(row[-1] or 0))
            for row in db.session.execute(stmt.group_by(*(columns[d] for d in dims)))}


QUERIES = [
    {"rows": "flag", "cols": "month"}, {"rows": "group", "cols": "site"},
    {"rows": "site", "cols": "flag"}, {"rows": "month", "cols": "group"},
    {"rows": "flag"}, {"rows": "group"}, {"rows": "site", "flag": "GBV_SURVIVOR"},
    {"rows": "flag", "site": "EC-C-TULCAN"}, {"rows": "month", "group": "WOMEN_GIRLS"},
    {"rows": "flag", "cols": "site", "from": "2024-01", "to": "2024-03"},
    {"rows": "group", "cols": "month", "from": "2024-03"},
    {"rows": "flag", "cols": "month", "to": "2024-02"},
]


def test_the_statistics_read_from_the_totals_what_the_base_tables_give(app, make, world,
                                                                       client):
    rng = random.Random(5)
    for _ in range(25):
        _step(world, rng)
    # Flags and groups of a month of their own, and one without a place: bounds and NULLs.
    case = world.register(rng)
    db.session.execute(sa.update(CaseFlag).where(CaseFlag.case_id == case.id)
                       .values(registered_month="2024-02"))
    db.session.execute(sa.update(CaseGroup).where(CaseGroup.case_id == case.id)
                       .values(registered_month="2024-02", location_code=None))
    db.session.commit()
    supervisor = make.user(Role.SUPERVISOR, org=world.orgs[0])
    manager = world.workers[1]
    for user in (supervisor, manager):
        for args in QUERIES:
            query = stats.parse_query(args)
            dims = [d for d in (query.rows, query.cols) if d]
            assert stats._grouped(user, query, dims) == _base_cells(user, query, dims), args

    token = api_token(client, supervisor.email)
    ptable, k = perturbation_table(), max(3, int(app.config.get("STATS_K", 5)))
    for url, args in (("/api/v1/stats?rows=flag&cols=month", QUERIES[0]),
                      ("/api/v1/stats?rows=group&cols=site", QUERIES[1])):
        body = client.get(url, headers={"Authorization": f"Bearer {token}"}).get_json()
        query = stats.parse_query(args)
        cells = _base_cells(supervisor, query, [query.rows, query.cols])
        assert body["rows"] == sorted({r for r, _ in cells}, key=stats._sort_key)
        assert body["cols"] == sorted({c for _, c in cells}, key=stats._sort_key)
        for i, r in enumerate(body["rows"]):
            for j, c in enumerate(body["cols"]):
                n, keys = cells.get((r, c), (0, 0))
                expected = publish(n, keys, stats.cell_k(query, k, r, c), ptable)
                assert body["cells"][i][j] == (
                    {"suppressed": True} if expected is None else {"count": expected})


def test_rebuild_gives_the_same_totals(world):
    rng = random.Random(8)
    for _ in range(20):
        _step(world, rng)
    before = (kept(FlagTotal), kept(GroupTotal))
    db.session.execute(sa.update(FlagTotal).values(n=FlagTotal.n + 5))  # damaged
    db.session.execute(sa.delete(GroupTotal))
    totals.rebuild(db.session)
    assert_exact()
    assert (kept(FlagTotal), kept(GroupTotal)) == before


def _bulk_rows(cases: list[Case], rng: random.Random) -> tuple[list[dict], list[dict]]:
    groups, flags = [], []
    for case in cases:
        copy = {"case_id": case.id, "organization_id": case.organization_id,
                "registered_month": case.registered_month, "location_code": case.location_code,
                "record_key": case.record_key}
        groups.append({**copy, "code": "ETHNIC"})
        for code in rng.sample(["TRAFFICKING_RISK", "LGBTIQ_AT_RISK", "DEFENDER_AT_RISK"], 2):
            flags.append({**copy, "id": uuid.uuid4(), "code": code, "severity": "high",
                          "source": "rule", "active": rng.random() < 0.8, "set_at": utcnow()})
    return groups, flags


def test_a_bulk_load_skips_the_triggers_and_rebuilds_once(world):
    rng = random.Random(11)
    for _ in range(8):
        world.register(rng)
    assert_exact()
    before = (kept(FlagTotal), kept(GroupTotal))
    cases = list(db.session.scalars(sa.select(Case)))
    with totals.bulk_load(db.session):
        groups, flags = _bulk_rows(cases, rng)
        db.session.execute(sa.insert(CaseGroup), groups)
        db.session.commit()  # a loader commits per batch
        db.session.execute(sa.insert(CaseFlag), flags)
        db.session.execute(sa.delete(Case).where(Case.id == cases[0].id))
        db.session.commit()
        assert (kept(FlagTotal), kept(GroupTotal)) == before  # nothing kept meanwhile
    assert_exact()
    assert (kept(FlagTotal), kept(GroupTotal)) != before
    world.cases.pop(cases[0].id)
    world.register(rng)  # the triggers are back
    _step(world, rng)
    assert_exact()


def test_a_failed_bulk_load_still_puts_the_triggers_back(world):
    rng = random.Random(12)
    world.register(rng)
    with pytest.raises(RuntimeError), totals.bulk_load(db.session):
        db.session.execute(sa.delete(CaseFlag))
        raise RuntimeError("the loader broke")
    assert_exact()
    world.register(rng)
    assert_exact()
    _assert_triggers_are_migration_0018s()


def _assert_triggers_are_migration_0018s() -> None:
    if db.engine.dialect.name == "sqlite":
        stored = dict(db.session.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
        expected = {name: ddl for base, names in totals.TRIGGERS.items()
                    for name, ddl in zip(names, totals.SQLITE_TRIGGERS[base], strict=True)}
        assert stored == expected
    else:
        stored = dict(db.session.execute(sa.text(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal")).all())
        assert stored == {name: "O" for names in totals.TRIGGERS.values() for name in names}


def test_the_apps_copy_of_the_triggers_is_the_migrations(app):
    _assert_triggers_are_migration_0018s()


def test_rebuild_totals_command(app, world):
    world.register(random.Random(2))
    db.session.execute(sa.delete(FlagTotal))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["stats", "rebuild-totals"])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    assert_exact()


def test_writers_at_the_same_time_keep_the_totals_exact(app, world):
    """Registrations (their flags inserted after their audit event) next to dismissals
    and manual flags (flushed before theirs), all in the same organization, month and
    site: no deadlock, no lost update."""
    worker = world.workers[0]
    answers = {"fear_of_return": True, "serious_medical_condition": True, "gbv": "past"}
    overrides = {"document": None, "location_code": "CO-NSA-CUCUTA", "sex": "female",
                 "date_of_birth": "1990-01-01"}
    existing = []
    for i in range(4):
        case = case_services.register_case(worker, _data(given_name=f"Existing {i}",
                                                         **overrides), answers=answers)
        db.session.commit()
        existing.append(case.id)
    worker_id = worker.id
    assert_exact()
    db.session.commit()  # no transaction of the test holds SQLite's write lock
    barrier = threading.Barrier(3, timeout=30)
    errors: list[BaseException] = []

    def registering(name: str) -> None:
        with app.app_context():
            try:
                actor = db.session.get(type(worker), worker_id)
                db.session.commit()  # SQLite: not waiting with the write lock
                barrier.wait()
                for i in range(6):
                    case_services.register_case(actor, _data(given_name=f"{name} {i}",
                                                             **overrides), answers=answers)
                    db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    def dismissing() -> None:
        with app.app_context():
            try:
                actor = db.session.get(type(worker), worker_id)
                db.session.commit()  # SQLite: not waiting with the write lock
                barrier.wait()
                for round_ in range(3):
                    for case_id in existing:
                        case = db.session.get(Case, case_id)
                        code = ["INTERNATIONAL_PROTECTION_NEED", "GBV_SURVIVOR"][round_ % 2] \
                            if round_ < 2 else "SERIOUS_MEDICAL_CONDITION"
                        if any(f.code == code and f.counts for f in case.flags):
                            assessment.dismiss_flag(actor, case, code=code, reason="No")
                        else:
                            assessment.add_manual_flag(actor, case, code=code, reason="Yes")
                        db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=registering, args=("A",)),
               threading.Thread(target=registering, args=("B",)),
               threading.Thread(target=dismissing)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 4 + 12
    assert_exact()
    flags = kept(FlagTotal)
    assert sum(n for (_, code, _, _), (n, _) in flags.items()
               if code == "INTERNATIONAL_PROTECTION_NEED") >= 12
