"""`make load`: fieldapp under gunicorn on PostgreSQL with many people at once.

What it does, in order (docs/benchmarks.md, "Load test", has the figures and why):

1. drops and creates a PostgreSQL database of its own (`fieldapp_load`), migrates it and
   seeds N invented cases through the benchmark's own seeding (the real encryption
   path, fieldapp.bench.run), a receiving organization with referrals in its inbox, and
   API tokens for the load's users (the roles that must use a second factor enrol one,
   so the tokens are what a real client holds after logging in with a code);
2. writes a production configuration into a temporary folder (mode 0700; settings
   file and key file 0600; Redis for the rate limits) and starts gunicorn with
   `config/gunicorn.conf.py`, 2 workers and then 4;
3. drives it with a closed-loop asyncio client (aiohttp): U virtual users, each sending
   its next request as soon as the last one answered, the mix of the issue (60 % case
   list and detail, 15 % registration, 10 % duplicate check, 10 % referral inbox, 5 %
   statistics), alternating every 10 s with the same users against the framework floor
   (one bare insert), so that both meet the same noise of a shared machine;
4. checks that every registration answered 201 is in the database and readable through
   the API, and runs `flask audit verify` on the database;
5. writes the figures as JSON and Markdown (bench/load-results.*).

The client runs on the same machine as the server and the database: its CPU share is
reported per step. Every request goes to 127.0.0.1 only; every step ends by itself.

Settings from the environment: LOAD_SECONDS (60), LOAD_CASES (100000), LOAD_USERS
(10,50,100), LOAD_WORKERS (2,4), LOAD_ADMIN_URL (postgresql://postgres@127.0.0.1:5432/
postgres), LOAD_DATABASE (fieldapp_load), LOAD_REDIS_URL (redis://127.0.0.1:6379/3),
LOAD_OUT (bench/load-results), LOAD_THREADS (1: sync workers), LOAD_SLICE (10: app and
floor alternate in slices of this many seconds), LOAD_KEEP (1: keep the temporary folder
with the keys).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from config import normalize_database_url

ROOT = Path(__file__).resolve().parents[2]
LOAD_PASSWORD = "benchmark passphrase only"  # noqa: S105 - the throwaway load database

# The mix of the issue, per request. Case list and detail share their 60 %.
MIX: dict[str, float] = {"case_list": 30, "case_detail": 30, "register": 15,
                         "duplicate_check": 10, "referral_inbox": 10, "statistics": 5}
EXPECTED_STATUS = {"register": 201, "floor": 201}


@dataclass
class Settings:
    seconds: float = 60.0
    cases: int = 100_000
    users: tuple[int, ...] = (10, 50, 100)
    workers: tuple[int, ...] = (2, 4)
    threads: int = 1
    admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    database: str = "fieldapp_load"
    redis_url: str = "redis://127.0.0.1:6379/3"
    out: Path = Path("bench/load-results")
    warmup_seconds: float = 5.0
    slice_seconds: float = 10.0
    keep: bool = False
    referrals: int = 300

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        numbers = lambda v: tuple(int(x) for x in v.split(",") if x.strip())  # noqa: E731
        s = cls()
        s.seconds = float(env.get("LOAD_SECONDS") or s.seconds)
        s.cases = int(env.get("LOAD_CASES") or s.cases)
        s.users = numbers(env.get("LOAD_USERS") or "10,50,100")
        s.workers = numbers(env.get("LOAD_WORKERS") or "2,4")
        s.threads = int(env.get("LOAD_THREADS") or s.threads)
        s.admin_url = env.get("LOAD_ADMIN_URL") or s.admin_url
        s.database = env.get("LOAD_DATABASE") or s.database
        s.redis_url = env.get("LOAD_REDIS_URL") or s.redis_url
        s.out = Path(env.get("LOAD_OUT") or s.out)
        s.warmup_seconds = min(s.warmup_seconds, s.seconds)
        s.slice_seconds = float(env.get("LOAD_SLICE") or s.slice_seconds)
        s.keep = (env.get("LOAD_KEEP") or "") in ("1", "true", "yes")
        return s

    @property
    def database_url(self) -> str:
        url = sa.engine.make_url(normalize_database_url(self.admin_url))
        return url.set(database=self.database).render_as_string(hide_password=False)


# -- the database and its data ---------------------------------------------------------------

def recreate_database(admin_url: str, name: str) -> None:
    """DROP and CREATE the load's own database (never the one you work in)."""
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"LOAD_DATABASE must be a plain name, not {name!r}")
    engine = sa.create_engine(normalize_database_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


@dataclass
class Fixture:
    """What the virtual users need: tokens per role and values to ask for."""

    tokens: dict[str, list[str]]
    case_ids: list[str]
    documents: list[str]
    seeding: dict[str, float] = field(default_factory=dict)


def prepare(settings: Settings, instance: Path, log: Callable[[str], None]) -> Fixture:
    """Migrate and seed through the bench's code, then the load's own rows and tokens."""
    from fieldapp.bench.run import _setup, make_app, seed
    from fieldapp.extensions import db

    app = make_app(settings.database_url, instance)
    with app.app_context():
        worker, _manager = _setup(app)
        log(f"Seeding {settings.cases:,} cases on PostgreSQL (the bench's seeding path)...")
        added, seconds = seed(worker, settings.cases, log=log)
        log(f"  {added:,} cases in {seconds:.0f} s ({added / max(seconds, 1e-9):.0f}/s)")
        db.session.commit()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        fixture = _load_rows(settings, log)
        db.session.remove()
        db.engine.dispose()
    fixture.seeding = {"seeded": added, "seed_seconds": round(seconds, 1),
                       "cases_per_s": round(added / seconds, 1) if added else 0.0}
    return fixture


def _load_rows(settings: Settings, log: Callable[[str], None]) -> Fixture:
    import pyotp

    from fieldapp.accounts import passwords, services, two_factor
    from fieldapp.accounts.models import Organization, User
    from fieldapp.accounts.roles import OrganizationKind, Role
    from fieldapp.cases.models import Case, CaseFlag
    from fieldapp.extensions import db
    from fieldapp.referrals import services as referrals
    from fieldapp.referrals.models import Service

    bench_org = db.session.scalar(sa.select(Organization).where(
        Organization.name == "Bench NGO"))
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    shelter = Organization(name="Bench Shelter", kind=OrganizationKind.SHELTER.value,
                           country_code="CO", location_code="CO-NSA-CUCUTA")
    db.session.add(shelter)
    provider = User(email="provider@bench.example", name="provider", organization=shelter,
                    password_hash=passwords.hash_password(LOAD_PASSWORD))
    provider.set_roles({Role.SERVICE_PROVIDER})
    db.session.add(provider)
    service = Service(organization=shelter, name="Bench shelter and GBV response",
                      type="gbv_response", languages="es", contact="+57 300 000 0000")
    db.session.add(service)
    db.session.commit()

    log(f"  {settings.referrals} referrals into the shelter's inbox...")
    sender = users["worker@bench.example"]
    flagged = db.session.scalars(
        sa.select(Case).join(CaseFlag, CaseFlag.case_id == Case.id).where(
            CaseFlag.code == "GBV_SURVIVOR", Case.organization_id == bench_org.id)
        .order_by(Case.id).limit(settings.referrals)).all()
    for case in flagged:
        referrals.create_referral(sender, case, service, flags=["GBV_SURVIVOR"],
                                  given_by="self", scope=["identity", "contact"], note=None)
    db.session.commit()

    # Case managers and supervisors must use a second factor in production: they enrol a
    # TOTP, and their tokens are issued as after a login that proved a code.
    tokens: dict[str, list[str]] = {}
    roles = {"worker": "worker@bench.example", "manager": "manager@bench.example",
             "supervisor": "supervisor@bench.example", "provider": "provider@bench.example"}
    for role, email in roles.items():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        enrolled = role in ("manager", "supervisor")
        if enrolled:
            secret, _uri = two_factor.begin_totp(user, LOAD_PASSWORD)
            two_factor.confirm_totp(user, pyotp.TOTP(secret).now())
        tokens[role] = [services.issue_token(user, second_factor=enrolled)[0]
                        for _ in range(max(settings.users))]
    db.session.commit()

    rng = random.Random(11)
    ids = db.session.scalars(sa.select(Case.id).where(Case.organization_id == bench_org.id)
                             .order_by(Case.id).limit(20_000)).all()
    case_ids = [str(i) for i in rng.sample(list(ids), min(5000, len(ids)))]
    with_docs = db.session.scalars(sa.select(Case.id).where(
        Case.document_number_enc.is_not(None)).order_by(Case.id).limit(5000)).all()
    documents = [db.session.get(Case, i).document_number
                 for i in rng.sample(list(with_docs), min(200, len(with_docs)))]
    db.session.commit()
    return Fixture(tokens=tokens, case_ids=case_ids, documents=documents)


def write_settings(instance: Path, settings: Settings) -> Path:
    """A production instance settings file (0600) beside the key file made by the bench."""
    lines = {
        "FIELDAPP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": settings.database_url,
        "FIELDAPP_KEY_FILE": str(instance / "bench-keys.json"),
        "RATELIMIT_STORAGE_URI": settings.redis_url,
    }
    path = instance / "fieldapp.env"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("".join(f"{k}={v}\n" for k, v in lines.items()))
    (instance / "bench-keys.json").chmod(0o600)
    return path


# -- gunicorn ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(instance: Path, workers: int, threads: int,
             log: Callable[[str], None]) -> Iterator[tuple[str, int]]:
    """gunicorn with config/gunicorn.conf.py on a free port of 127.0.0.1: its base URL and
    the master's pid."""
    port = free_port()
    env = {**os.environ, "FIELDAPP_INSTANCE_PATH": str(instance),
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
           "GUNICORN_THREADS": str(threads),
           "GUNICORN_ACCESS_LOG": str(instance / f"access-{workers}.log")}
    env.pop("FIELDAPP_ENV", None)  # the settings file says production
    err = (instance / f"gunicorn-{workers}.log").open("w")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py"),
         "fieldapp.bench.floor:create_load_app()"],
        cwd=ROOT, env=env, stdout=err, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        log(f"gunicorn: {workers} workers x {threads} thread(s) on {base} (pid {proc.pid})")
        yield base, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err.close()


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn stopped at start (exit {proc.returncode}); "
                             "see its log in the load's temporary folder")
        try:
            with urllib.request.urlopen(base + "/login", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    raise SystemExit(f"gunicorn did not answer on {base} within {timeout:.0f} s")


# -- the load generator --------------------------------------------------------------------

@dataclass
class Step:
    target: str  # "app" (the mix) or "floor"
    workers: int
    users: int
    seconds: float = 0.0
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    by_action: dict[str, dict[str, float]] = field(default_factory=dict)
    # CPU seconds per wall second (2.0 = both cores): the generator, gunicorn's workers,
    # PostgreSQL (its other clients included), and every other process on the machine.
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    postgres_cpu: float = 0.0
    other_cpu: float = 0.0
    ratio_to_floor: float | None = None


def percentile(ordered: list[float], q: float) -> float:
    """Nearest rank on a sorted list."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


def _processes() -> dict[int, tuple[str, int, int]]:
    """pid -> (command name, parent pid, CPU ticks used) of every process, from /proc."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        out[int(entry)] = (name, int(fields[1]), int(fields[11]) + int(fields[12]))
    return out


def cpu_seconds(before: dict[int, tuple[str, int, int]], after: dict[int, tuple[str, int, int]],
                server_pid: int | None) -> dict[str, float]:
    """Who used the CPU between two snapshots: this process, gunicorn (the master and its
    workers), PostgreSQL, everything else."""
    ticks = os.sysconf("SC_CLK_TCK")
    shares = {"client_cpu": 0.0, "server_cpu": 0.0, "postgres_cpu": 0.0, "other_cpu": 0.0}
    for pid, (name, parent, used) in after.items():
        used -= before[pid][2] if pid in before else 0
        if pid == os.getpid():
            key = "client_cpu"
        elif server_pid is not None and server_pid in (pid, parent):
            key = "server_cpu"
        elif name.startswith("postgres"):
            key = "postgres_cpu"
        else:
            key = "other_cpu"
        shares[key] += used / ticks
    return shares


class Generator:
    """Closed loop: each virtual user waits for its answer, then sends the next request.

    Each user draws its requests from its own seeded random generator, so a run sends the
    same sequence of requests (their interleaving depends on the server's timing). A step
    may run in slices (`run_for`), alternating with another generator, so that the app
    and the floor see the same noise of a shared machine; `step` sums the slices up.
    """

    def __init__(self, base: str, fixture: Fixture, *, target: str, users: int,
                 seed: int) -> None:
        self.base, self.fixture, self.target = base, fixture, target
        self.users, self.seed = users, seed
        self.samples: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.created: list[str] = []
        self.rngs = [random.Random(seed * 100_003 + vu) for vu in range(users)]
        self.sent = [0] * users
        self.wall = 0.0
        self.cpu: Counter[str] = Counter()

    def body(self, rng: random.Random, number: str) -> dict[str, Any]:
        from fieldapp.db import utcnow
        from fieldapp.demo.people import SITES_FRONTERA, invented_case

        data = invented_case(rng, today=utcnow().date(), sites=SITES_FRONTERA)
        return {"given_name": data.given_name, "family_name": data.family_name,
                "date_of_birth": data.date_of_birth.isoformat() if data.date_of_birth
                else None, "age_years": data.age_years, "sex": data.sex,
                "nationality": data.nationality,
                "document": {"type": "national_id", "number": number},
                "phone": "+57 300 000 0000", "location_code": data.location_code,
                "stage": data.stage, "languages": data.languages, "notes": "load test note",
                "consent": {"data_processing": True, "given_by": "self"}}

    def request(self, action: str, rng: random.Random, vu: int,
                n: int) -> tuple[str, str, dict[str, Any] | None, str | None]:
        """(method, path with query, JSON body, token role) of the user's next request."""
        f = self.fixture
        number = f"L{self.seed}-{vu}-{n}"
        if action == "floor":
            return "POST", "/bench/floor", self.body(rng, number), None
        if action == "case_list":
            return "GET", f"/api/v1/cases?page={rng.randint(1, 40)}&per_page=25", None, \
                "manager"
        if action == "case_detail":
            return "GET", f"/api/v1/cases/{rng.choice(f.case_ids)}", None, "manager"
        if action == "register":
            return "POST", "/api/v1/cases", self.body(rng, number), "worker"
        if action == "duplicate_check":
            return "POST", "/api/v1/cases/duplicate-check", {
                "document": {"type": "national_id", "number": rng.choice(f.documents)}}, \
                "manager"
        if action == "referral_inbox":
            return "GET", f"/api/v1/referrals?box=inbox&page={rng.randint(1, 4)}", None, \
                "provider"
        if action == "statistics":
            rows, cols = rng.choice([("flag", "month"), ("group", "site")])
            return "GET", f"/api/v1/stats?rows={rows}&cols={cols}", None, "supervisor"
        raise ValueError(action)

    async def user(self, session: Any, vu: int, deadline: float) -> None:
        import aiohttp

        rng = self.rngs[vu]
        actions, weights = list(MIX), list(MIX.values())
        while time.perf_counter() < deadline:
            action = "floor" if self.target == "floor" else rng.choices(actions, weights)[0]
            method, path, body, role = self.request(action, rng, vu, self.sent[vu])
            self.sent[vu] += 1
            headers = {"Accept-Language": "es"}
            if role:
                tokens = self.fixture.tokens[role]
                headers["Authorization"] = "Bearer " + tokens[vu % len(tokens)]
            start = time.perf_counter()
            try:
                async with session.request(method, self.base + path, json=body,
                                           headers=headers) as response:
                    payload = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.errors[f"{action}: {type(exc).__name__}"] += 1
                continue
            elapsed = (time.perf_counter() - start) * 1000
            if status != EXPECTED_STATUS.get(action, 200):
                code = ""
                try:
                    code = json.loads(payload)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    pass
                self.errors[f"{action}: {status} {code}".strip()] += 1
                continue
            self.samples.setdefault(action, []).append(elapsed)
            if action == "register":
                created = json.loads(payload).get("id")
                if created:
                    self.created.append(created)
                else:
                    self.errors["register: 201 without an id"] += 1

    async def _run(self, seconds: float) -> float:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=self.users)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            start = time.perf_counter()
            deadline = start + seconds
            await asyncio.gather(*(self.user(session, vu, deadline)
                                   for vu in range(self.users)))
            return time.perf_counter() - start

    def run_for(self, seconds: float, server_pid: int | None = None) -> None:
        """One slice of `seconds`: every user sends requests until then."""
        before = _processes()
        self.wall += asyncio.run(self._run(seconds))
        self.cpu.update(cpu_seconds(before, _processes(), server_pid))

    def step(self, workers: int) -> Step:
        wall = max(self.wall, 1e-9)
        shares = {k: round(self.cpu[k] / wall, 2)
                  for k in ("client_cpu", "server_cpu", "postgres_cpu", "other_cpu")}
        every = sorted(x for xs in self.samples.values() for x in xs)
        step = Step(target=self.target, workers=workers, users=self.users,
                    seconds=round(wall, 1), requests=len(every),
                    rps=round(len(every) / wall, 1),
                    p50_ms=round(percentile(every, 0.50), 1),
                    p95_ms=round(percentile(every, 0.95), 1),
                    p99_ms=round(percentile(every, 0.99), 1),
                    max_ms=round(every[-1], 1) if every else 0.0,
                    errors=sum(self.errors.values()), error_kinds=dict(self.errors),
                    **shares)
        for action, xs in sorted(self.samples.items()):
            xs.sort()
            step.by_action[action] = {"requests": len(xs),
                                      "p50_ms": round(percentile(xs, 0.5), 1),
                                      "p95_ms": round(percentile(xs, 0.95), 1)}
        return step


# -- checks ----------------------------------------------------------------------------------

def check_readable(base: str, fixture: Fixture, created: list[str], sample: int = 200) -> int:
    """GET a sample of the acknowledged registrations through the API; how many failed."""
    failed = 0
    token = fixture.tokens["manager"][0]
    for case_id in random.Random(3).sample(created, min(sample, len(created))):
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            base + f"/api/v1/cases/{case_id}", headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310 - loopback
                failed += json.loads(r.read())["id"] != case_id
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            failed += 1
    return failed


def count_present(database_url: str, created: list[str]) -> int:
    """How many of the acknowledged case ids are rows of the database."""
    engine = sa.create_engine(database_url)
    present = 0
    try:
        with engine.connect() as conn:
            for i in range(0, len(created), 5000):
                chunk = [uuid.UUID(x) for x in created[i:i + 5000]]
                present += conn.execute(sa.text(
                    "SELECT count(*) FROM cases WHERE id = ANY(:ids)"), {"ids": chunk}).scalar()
    finally:
        engine.dispose()
    return present


def audit_verify(instance: Path) -> tuple[int, str]:
    env = {**os.environ, "FIELDAPP_INSTANCE_PATH": str(instance),
           "FLASK_APP": "fieldapp.cli_app"}
    env.pop("FIELDAPP_ENV", None)
    out = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", "audit", "verify"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=1800, check=False)
    lines = (out.stdout + out.stderr).strip().splitlines()
    return out.returncode, lines[-1] if lines else ""


# -- the whole run ---------------------------------------------------------------------------

@dataclass
class Results:
    machine: str
    settings: dict[str, Any]
    seeding: dict[str, float] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    registrations_acknowledged: int = 0
    registrations_in_database: int = 0
    registrations_unreadable_in_sample: int = 0
    floor_acknowledged: int = 0
    floor_rows: int = 0
    audit_verify_exit: int | None = None
    audit_verify_output: str = ""
    measured_at: str = ""


def run(settings: Settings, log: Callable[[str], None] = print) -> Results:
    results = Results(
        machine=f"{platform.machine()}, {os.cpu_count()} cores, Python "
                f"{platform.python_version()}",
        settings={"seconds": settings.seconds, "cases": settings.cases,
                  "users": list(settings.users), "workers": list(settings.workers),
                  "threads": settings.threads, "database": settings.database})
    instance = Path(tempfile.mkdtemp(prefix="fieldapp-load-"))  # mode 0700
    os.environ["FIELDAPP_INSTANCE_PATH"] = str(instance)  # the seeding app's too
    created: list[str] = []
    try:
        log(f"Database {settings.database}: dropped and created")
        recreate_database(settings.admin_url, settings.database)
        fixture = prepare(settings, instance, log)
        results.seeding = fixture.seeding
        write_settings(instance, settings)
        for workers in settings.workers:
            run_created: list[str] = []
            with gunicorn(instance, workers, settings.threads, log) as (base, pid):
                Generator(base, fixture, target="app", users=10,
                          seed=999).run_for(settings.warmup_seconds)
                for users in settings.users:
                    gens = {target: Generator(base, fixture, target=target, users=users,
                                              seed=workers * 1000 + users)
                            for target in ("app", "floor")}
                    # App and floor alternate in slices, so both meet the same moments of
                    # a machine that other work shares.
                    slices = max(1, round(settings.seconds / settings.slice_seconds))
                    for _ in range(slices):
                        for gen in gens.values():
                            gen.run_for(settings.seconds / slices, pid)
                    for target, gen in gens.items():
                        step = gen.step(workers)
                        results.steps.append(step)
                        run_created += gen.created
                        if target == "floor":
                            results.floor_acknowledged += step.requests
                        log(f"  {target:<5} {users:>3} users: {step.rps:8.1f} req/s  p50 "
                            f"{step.p50_ms:6.1f}  p95 {step.p95_ms:6.1f}  p99 "
                            f"{step.p99_ms:6.1f} ms  errors {step.errors}  CPU: client "
                            f"{step.client_cpu:.2f} server {step.server_cpu:.2f} postgres "
                            f"{step.postgres_cpu:.2f} other {step.other_cpu:.2f}")
                results.registrations_unreadable_in_sample += check_readable(
                    base, fixture, run_created)
            created += run_created
        _ratios(results.steps)
        results.registrations_acknowledged = len(created)
        results.registrations_in_database = count_present(settings.database_url, created)
        results.floor_rows = _floor_rows(settings.database_url)
        log("flask audit verify...")
        results.audit_verify_exit, results.audit_verify_output = audit_verify(instance)
        log(f"  exit {results.audit_verify_exit}: {results.audit_verify_output}")
    finally:
        os.environ.pop("FIELDAPP_INSTANCE_PATH", None)
        if settings.keep:
            log(f"Kept {instance} (keys and logs): remove it when done")
        else:
            shutil.rmtree(instance, ignore_errors=True)
    results.measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def _ratios(steps: list[Step]) -> None:
    floors = {(s.workers, s.users): s.rps for s in steps if s.target == "floor"}
    for s in steps:
        floor = floors.get((s.workers, s.users))
        if s.target == "app" and floor:
            s.ratio_to_floor = round(s.rps / floor, 2)


def _floor_rows(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM bench_floor")).scalar() or 0
    finally:
        engine.dispose()


def problems(results: Results) -> list[str]:
    """The issue's targets that this run missed (empty: all met)."""
    out = []
    for s in results.steps:
        if s.errors:
            out.append(f"{s.errors} errors: {s.target}, {s.workers} workers, {s.users} users")
    if results.registrations_in_database != results.registrations_acknowledged:
        out.append(f"lost writes: {results.registrations_acknowledged} registrations "
                   f"acknowledged, {results.registrations_in_database} in the database")
    if results.registrations_unreadable_in_sample:
        out.append(f"{results.registrations_unreadable_in_sample} acknowledged "
                   "registrations could not be read back")
    if results.floor_rows != results.floor_acknowledged:
        out.append(f"floor: {results.floor_acknowledged} acknowledged, "
                   f"{results.floor_rows} rows")
    if results.audit_verify_exit != 0:
        out.append("flask audit verify failed: " + results.audit_verify_output)
    for s in results.steps:
        if s.target == "app" and s.users == 50:
            if s.ratio_to_floor is not None and s.ratio_to_floor < 1 / 3:
                out.append(f"{s.workers} workers, 50 users: throughput {s.ratio_to_floor:.2f}"
                           " of the floor's (target at least 0.33)")
            if s.p95_ms >= 250:
                out.append(f"{s.workers} workers, 50 users: p95 {s.p95_ms:.0f} ms "
                           "(target under 250)")
    return out


def markdown(results: Results) -> str:
    lines = [f"# Load test, {results.measured_at}", "",
             f"{results.machine}; {results.settings['cases']:,} cases; "
             f"{results.settings['seconds']:.0f} s per step; "
             f"{results.settings['threads']} thread(s) per worker.", "",
             "CPU columns: CPU seconds per second (2.00 = both cores) of the load generator, "
             "gunicorn, PostgreSQL and every other process on the machine.", "",
             "| workers | users | target | req/s | p50 ms | p95 ms | p99 ms | errors "
             "| / floor | CPU client | server | postgres | other |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in results.steps:
        ratio = f"{s.ratio_to_floor:.2f}" if s.ratio_to_floor is not None else ""
        lines.append(f"| {s.workers} | {s.users} | {s.target} | {s.rps:,.1f} | {s.p50_ms:.1f} "
                     f"| {s.p95_ms:.1f} | {s.p99_ms:.1f} | {s.errors} | {ratio} "
                     f"| {s.client_cpu:.2f} | {s.server_cpu:.2f} | {s.postgres_cpu:.2f} "
                     f"| {s.other_cpu:.2f} |")
    lines += ["", "Per request kind (p50 / p95 ms):", "",
              "| workers | users | " + " | ".join(MIX) + " |",
              "|---|---|" + "---|" * len(MIX)]
    for s in results.steps:
        if s.target == "app":
            cells = [f"{s.by_action[a]['p50_ms']:.1f} / {s.by_action[a]['p95_ms']:.1f}"
                     if a in s.by_action else "" for a in MIX]
            lines.append(f"| {s.workers} | {s.users} | " + " | ".join(cells) + " |")
    seeded = results.seeding
    lines += ["", f"Seeding: {seeded.get('seeded', 0):,.0f} cases in "
              f"{seeded.get('seed_seconds', 0):.0f} s.",
              f"Registrations acknowledged: {results.registrations_acknowledged}; in the "
              f"database: {results.registrations_in_database}; unreadable in a sample read "
              f"back through the API: {results.registrations_unreadable_in_sample}.",
              f"Floor inserts acknowledged: {results.floor_acknowledged}; rows: "
              f"{results.floor_rows}.",
              f"flask audit verify: exit {results.audit_verify_exit}, "
              f"{results.audit_verify_output}"]
    missed = problems(results)
    verdict = "all met." if not missed else "missed: " + "; ".join(missed)
    if not any(s.users == 50 and s.target == "app" for s in results.steps):
        verdict += " (No step with 50 users: throughput and p95 targets not measured.)"
    lines += ["", "Targets: " + verdict]
    return "\n".join(lines) + "\n"


def main() -> int:
    settings = Settings.from_env()
    results = run(settings)
    settings.out.parent.mkdir(parents=True, exist_ok=True)
    json_path = settings.out.with_suffix(".json")
    md_path = settings.out.with_suffix(".md")
    json_path.write_text(json.dumps(asdict(results), indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    print(f"Wrote {json_path} and {md_path}")
    # The checks of integrity decide the exit status; speed is reported, not enforced.
    integrity = [p for p in problems(results) if "errors" in p or "lost" in p
                 or "read back" in p or "floor:" in p or "audit" in p]
    return 1 if integrity else 0


if __name__ == "__main__":
    raise SystemExit(main())
