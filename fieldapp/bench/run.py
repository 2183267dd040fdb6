"""Benchmark on a database of its own (never the one you work in).

Seeds N invented cases through the real encryption path (sealed fields, wrapped
data keys, blind indexes, groups and flags; in bulk: fieldapp.bench.seeding), then
measures through the API in this process: duplicate check by document number, a case-list page of 25
decrypted rows (near the top, and deep in the list by page number and by cursor),
and creating one case end to end against a bare route that inserts the same fields
in clear with one statement (the framework floor).
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify, request

from fieldapp import authz, create_app, keyset
from fieldapp.accounts import passwords
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.bench import seeding
from fieldapp.cases import services as case_services
from fieldapp.cases.models import Case
from fieldapp.db import utcnow
from fieldapp.demo.people import SITES_FRONTERA, invented_case
from fieldapp.extensions import csrf, db

PASSWORD = "benchmark passphrase only"  # noqa: S105 - a throwaway bench database
FLOOR_TABLE = sa.Table(
    "bench_floor", sa.MetaData(),
    sa.Column("id", sa.Uuid, primary_key=True),
    *[sa.Column(name, sa.Text) for name in (
        "given_name", "family_name", "date_of_birth", "sex", "nationality", "document_type",
        "document_number", "phone", "location_code", "stage", "languages", "notes")])


@dataclass
class Figures:
    n: int
    database: str
    machine: str
    seeded_now: int = 0
    seed_seconds: float = 0.0
    seed_rate_per_s: float = 0.0
    analyze_seconds: float = 0.0
    duplicate_check_ms: dict[str, float] = field(default_factory=dict)
    case_list_ms: dict[str, float] = field(default_factory=dict)
    case_list_deep_ms: dict[str, float] = field(default_factory=dict)
    case_list_deep_cursor_ms: dict[str, float] = field(default_factory=dict)
    case_list_at_depth_rows: int = 0
    case_list_at_depth_offset_ms: dict[str, float] = field(default_factory=dict)
    case_list_at_depth_cursor_ms: dict[str, float] = field(default_factory=dict)
    create_ms: dict[str, float] = field(default_factory=dict)
    floor_ms: dict[str, float] = field(default_factory=dict)
    create_to_floor_ratio: float = 0.0
    stats_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    stats_flag_month_cells: dict[str, float] = field(default_factory=dict)
    measured_at: str = ""


def _pct(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3),
            "min": round(ordered[0], 3), "samples": len(ordered)}


def _timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def add_floor_route(app: Flask) -> None:
    """The framework floor: `POST /bench/floor` inserts a registration's fields in clear
    with one statement, without a CSRF token: the framework and one insert, nothing of the
    app's own (the bench's app, and the load test's, fieldapp.bench.floor)."""

    @authz.rule(authz.PUBLIC)
    def floor() -> Any:
        data = request.get_json()
        doc = data.get("document") or {}
        db.session.execute(FLOOR_TABLE.insert().values(
            id=uuid.uuid4(), given_name=data["given_name"], family_name=data["family_name"],
            date_of_birth=data.get("date_of_birth"), sex=data["sex"],
            nationality=data["nationality"], document_type=doc.get("type"),
            document_number=doc.get("number"), phone=data.get("phone"),
            location_code=data["location_code"], stage=data["stage"],
            languages=json.dumps(data.get("languages")), notes=data.get("notes")))
        db.session.commit()
        return jsonify({"ok": True}), 201

    app.add_url_rule("/bench/floor", "bench_floor", csrf.exempt(floor), methods=["POST"])


def make_app(database_url: str, instance: Path) -> Flask:
    app = create_app({"FIELDAPP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                      "FIELDAPP_KEY_FILE": str(instance / "bench-keys.json"),
                      "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8192,
                      "ARGON2_PARALLELISM": 1, "WTF_CSRF_ENABLED": False})

    add_floor_route(app)
    return app


def _setup(app: Flask) -> tuple[User, User]:
    from flask_migrate import upgrade

    upgrade()
    FLOOR_TABLE.create(db.engine, checkfirst=True)
    org = db.session.scalar(sa.select(Organization).where(Organization.name == "Bench NGO"))
    if org is None:
        org = Organization(name="Bench NGO", kind=OrganizationKind.BORDER_NGO.value,
                           country_code="CO", location_code="CO-NSA-CUCUTA")
        db.session.add(org)
        hashed = passwords.hash_password(PASSWORD)
        for email, role in (("worker@bench.example", Role.FIELD_WORKER),
                            ("manager@bench.example", Role.CASE_MANAGER),
                            ("supervisor@bench.example", Role.SUPERVISOR)):
            user = User(email=email, name=email, organization=org, password_hash=hashed)
            user.set_roles({role})
            db.session.add(user)
        db.session.commit()
    if db.session.scalar(sa.select(User).where(User.email == "supervisor@bench.example")) \
            is None:  # a bench database seeded before supervisors were measured
        user = User(email="supervisor@bench.example", name="supervisor", organization=org,
                    password_hash=passwords.hash_password(PASSWORD))
        user.set_roles({Role.SUPERVISOR})
        db.session.add(user)
        db.session.commit()
    users = {u.email: u for u in db.session.scalars(sa.select(User).where(
        User.organization_id == org.id))}
    db.session.commit()
    return users["worker@bench.example"], users["manager@bench.example"]


def seed(owner: User, target: int, *, batch: int | None = None, seed_value: int = 7,
         workers: int | None = None, log: Callable[[str], None] = print) -> tuple[int, float]:
    """Bring the bench organization up to `target` cases, each with its key, blind
    indexes, groups and flags, the tally and the reference counters (fieldapp.bench.seeding).
    Returns (added, seconds): from the first case made to the last commit."""
    owner_id, org_id = owner.id, owner.organization_id
    have = db.session.scalar(sa.select(sa.func.count()).select_from(Case)) or 0
    db.session.commit()
    if have >= target:
        return 0, 0.0
    if workers is None:
        workers = seeding.default_workers()
    start = time.perf_counter()
    # The statistics totals' triggers off, one rebuild at the end (counted in the time).
    with seeding.statistics_totals_bulk_load():
        added = seeding.seed_cases(owner_id, org_id, have=have, target=target, batch=batch,
                                   seed_value=seed_value, workers=workers, log=log)
    return added, time.perf_counter() - start


def measure(app: Flask, n: int, *, repeat: int = 200,
            log: Callable[[str], None] = print) -> Figures:
    """Runs outside any app context: every request gets its own, as in production."""
    rng = random.Random(11)
    with app.app_context():
        dialect = db.engine.dialect.name
        sample_ids = db.session.scalars(sa.select(Case.id).where(
            Case.document_number_enc.is_not(None)).limit(5000)).all()
        docs = [db.session.get(Case, case_id).document_number
                for case_id in rng.sample(list(sample_ids), min(repeat, len(sample_ids)))]
        db.session.commit()
    figures = Figures(n=n, database=dialect,
                      machine=f"{platform.machine()} {platform.python_version()}")
    client = app.test_client()

    def token(email: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/tokens", json={"email": email, "password": PASSWORD})
        return {"Authorization": "Bearer " + r.get_json()["token"]}

    w_auth, m_auth = token("worker@bench.example"), token("manager@bench.example")

    def dup() -> None:
        number = docs[rng.randrange(len(docs))]
        r = client.post("/api/v1/cases/duplicate-check", headers=m_auth,
                        json={"document": {"type": "national_id", "number": number}})
        assert r.status_code == 200 and r.get_json()["candidates"], r.get_json()

    def listing(last_page: int) -> Callable[[], None]:
        def _list() -> None:
            r = client.get("/api/v1/cases", headers=m_auth,
                           query_string={"page": rng.randint(1, last_page), "per_page": 25})
            assert r.status_code == 200 and len(r.get_json()["items"]) == 25
        return _list

    first_pages = listing(max(1, min(n // 25, 40)))  # the first 1,000 cases: daily work
    deep_pages = listing(max(1, min(n // 25, 2000)))  # up to 50,000 cases deep

    # The same depths by cursor (keyset pagination): the position after row d of the list,
    # as the API hands it out in next_cursor, for d up to 50,000.
    depth = max(0, min(50_000, n - 25))
    with app.test_request_context():
        manager = db.session.scalar(sa.select(User).where(User.email == "manager@bench.example"))
        keys = db.session.execute(
            sa.select(Case.priority_rank, Case.registered_at, Case.id)
            .where(authz.case_visibility(manager))
            .order_by(Case.priority_rank.desc(), Case.registered_at.desc(), Case.id.desc())
            .limit(depth + 1)).all()
        cursors = {d: (keyset.encode(keyset.Position(*keys[d - 1], page=d // 25 + 1),
                                     purpose=case_services.CURSOR_PURPOSE), keys[d][2])
                   for d in range(25, depth + 1, 25)}
        db.session.commit()

    def by_cursor(d: int) -> None:
        token, first_id = cursors[d]
        r = client.get("/api/v1/cases", headers=m_auth,
                       query_string={"cursor": token, "per_page": 25})
        items = r.get_json()["items"]
        assert r.status_code == 200 and len(items) == 25 and items[0]["id"] == str(first_id)

    depths = list(cursors)

    def deep_cursor() -> None:
        by_cursor(rng.choice(depths))

    def at_depth_offset() -> None:
        r = client.get("/api/v1/cases", headers=m_auth,
                       query_string={"page": depth // 25 + 1, "per_page": 25})
        assert r.status_code == 200 and len(r.get_json()["items"]) == 25

    body_rng = random.Random(5)

    def body() -> dict[str, Any]:
        data = invented_case(body_rng, today=utcnow().date(), sites=SITES_FRONTERA)
        return {"given_name": data.given_name, "family_name": data.family_name,
                "date_of_birth": data.date_of_birth.isoformat() if data.date_of_birth else None,
                "age_years": data.age_years, "sex": data.sex, "nationality": data.nationality,
                "document": {"type": "national_id", "number": f"B{body_rng.randint(1, 10**9)}"},
                "phone": "+57 300 000 0000", "location_code": data.location_code,
                "stage": data.stage, "languages": data.languages, "notes": "benchmark note",
                "consent": {"data_processing": True, "given_by": "self"}}

    def create() -> None:
        r = client.post("/api/v1/cases", headers=w_auth, json=body())
        assert r.status_code == 201, r.get_json()

    def floor() -> None:
        r = client.post("/bench/floor", json=body())
        assert r.status_code == 201

    log("  measuring duplicate check...")
    _timed(dup, 10)  # warm caches
    figures.duplicate_check_ms = _pct(_timed(dup, repeat))
    log("  measuring case list...")
    _timed(first_pages, 10)
    figures.case_list_ms = _pct(_timed(first_pages, repeat))
    figures.case_list_deep_ms = _pct(_timed(deep_pages, max(20, repeat // 4)))
    if cursors:
        log("  measuring deep pages by cursor against OFFSET...")
        _timed(deep_cursor, 5)
        figures.case_list_deep_cursor_ms = _pct(_timed(deep_cursor, max(20, repeat // 4)))
        figures.case_list_at_depth_rows = depth
        offset_samples, cursor_samples = [], []
        for _ in range(max(20, repeat // 4)):  # interleaved, as creation and the floor
            offset_samples += _timed(at_depth_offset, 1)
            cursor_samples += _timed(lambda: by_cursor(depth), 1)
        figures.case_list_at_depth_offset_ms = _pct(offset_samples)
        figures.case_list_at_depth_cursor_ms = _pct(cursor_samples)
    log("  measuring creation against the floor...")
    _timed(create, 10)
    _timed(floor, 10)
    create_samples, floor_samples = [], []
    for _ in range(repeat):  # interleaved, so both see the same machine noise
        create_samples += _timed(create, 1)
        floor_samples += _timed(floor, 1)
    figures.create_ms = _pct(create_samples)
    figures.floor_ms = _pct(floor_samples)
    figures.create_to_floor_ratio = round(figures.create_ms["p50"] / figures.floor_ms["p50"], 2)
    s_auth = token("supervisor@bench.example")

    def stats_table(rows: str, cols: str) -> Callable[[], None]:
        def _stats() -> None:
            r = client.get("/api/v1/stats", headers=s_auth,
                           query_string={"rows": rows, "cols": cols})
            assert r.status_code == 200 and r.get_json()["rows"], r.get_json()
        return _stats

    log("  measuring statistics tables...")
    stats_repeat = max(10, repeat // 5)
    for label, (rows, cols) in (("flag x month", ("flag", "month")),
                                ("group x site", ("group", "site"))):
        fn = stats_table(rows, cols)
        _timed(fn, 2)
        figures.stats_ms[label] = _pct(_timed(fn, stats_repeat))
    flag_month = client.get("/api/v1/stats", headers=s_auth,
                            query_string={"rows": "flag", "cols": "month"}).get_json()
    figures.stats_flag_month_cells = published_share(flag_month)
    figures.measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    return figures


def published_share(body: dict[str, Any]) -> dict[str, float]:
    """Of a table's non-zero cells, how many are published (the rest: hidden, 1..k-1)."""
    cells = [c for row in body["cells"] for c in row if c != {"count": 0}]
    published = sum(1 for c in cells if "count" in c)
    return {"cells": len(cells), "published": published,
            "share_published": round(published / len(cells), 4) if cells else 0.0}


def run(database_url: str, n: int, instance: Path, out: Path | None, repeat: int = 200,
        log: Callable[[str], None] = print) -> Figures:
    instance.mkdir(parents=True, exist_ok=True)
    app = make_app(database_url, instance)
    analyze_seconds = 0.0
    with app.app_context():
        worker, _manager = _setup(app)
        log(f"Seeding up to {n} cases on {db.engine.dialect.name}...")
        added, seconds = seed(worker, n, log=log)
        if added:
            log(f"  {added:,} cases in {seconds:.1f} s ({added / seconds:,.0f}/s)")
            # Planner statistics after a bulk load (PostgreSQL's autovacuum would get
            # there on its own, later; SQLite keeps none until asked). Not in the rate.
            analyze_seconds = analyze()
            log(f"  analyzed in {analyze_seconds:.1f} s")
        db.session.remove()
    figures = measure(app, n, repeat=repeat, log=log)
    figures.seeded_now = added
    figures.seed_seconds = round(seconds, 1)
    figures.seed_rate_per_s = round(added / seconds, 1) if added else 0.0
    figures.analyze_seconds = round(analyze_seconds, 1)
    table(figures, log)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
        log(f"Wrote {out}")
    return figures


def analyze() -> float:
    """ANALYZE after a bulk load; returns the seconds it took."""
    db.session.commit()
    start = time.perf_counter()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return time.perf_counter() - start


def table(f: Figures, log: Callable[[str], None] = print) -> None:
    log(f"\nfieldapp benchmark: N = {f.n:,} cases on {f.database} ({f.machine})")
    log(f"{'measure':<44}{'p50 ms':>10}{'p95 ms':>10}")
    if f.seeded_now:
        log(f"{'seeding (cases/s, this run)':<44}{f.seed_rate_per_s:>10.0f}")
    for label, d in (("duplicate check by document (API)", f.duplicate_check_ms),
                     ("case list, 25 decrypted rows (API)", f.case_list_ms),
                     ("  same, pages up to 50,000 rows deep", f.case_list_deep_ms),
                     ("  same by cursor (keyset)", f.case_list_deep_cursor_ms),
                     (f"  one page {f.case_list_at_depth_rows:,} rows deep, OFFSET",
                      f.case_list_at_depth_offset_ms),
                     (f"  one page {f.case_list_at_depth_rows:,} rows deep, cursor",
                      f.case_list_at_depth_cursor_ms),
                     ("create one case (API, full path)", f.create_ms),
                     ("framework floor (bare insert in clear)", f.floor_ms)):
        if d:
            log(f"{label:<44}{d['p50']:>10.2f}{d['p95']:>10.2f}")
    log(f"{'create / floor (p50)':<44}{f.create_to_floor_ratio:>10.2f}")
    for label, d in f.stats_ms.items():
        log(f"{'statistics table ' + label + ' (API)':<44}{d['p50']:>10.2f}{d['p95']:>10.2f}")
    if f.stats_flag_month_cells:
        c = f.stats_flag_month_cells
        log(f"flag x month: {c['published']:.0f} of {c['cells']:.0f} non-zero cells published "
            f"({100 * c['share_published']:.1f} %)")
