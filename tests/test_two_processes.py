"""Two app servers on different ports, sharing one PostgreSQL database and one Redis.

Real gunicorn processes (config/gunicorn.conf.py, production settings) on free ports of
127.0.0.1, on a PostgreSQL database made for this module and dropped after it, whatever
TEST_DATABASE_URL says: what is shared between processes only shows on PostgreSQL.
PostgreSQL (127.0.0.1:5432, or FIELDAPP_TEST_PG_ADMIN) and Redis (FIELDAPP_TEST_REDIS)
must be reachable: .ci/run starts both, and this module fails, never skips, without them.

Checked across the two: a session cookie from one works on the other (and ends on both),
the per-account login throttle counts attempts on both, failed logins on both add up to
the lockout, and concurrent registrations through both keep the audit chain whole
(`flask audit verify`, contiguous sequence numbers, no two events after the same one).
One server builds the app before forking (GUNICORN_PRELOAD), the other in each worker.
Also: the access log keeps no query string, and config/gunicorn.conf.py's settings.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import pytest
import sqlalchemy as sa

from tests.cases.conftest import case_data

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("FIELDAPP_TEST_PG_ADMIN",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("FIELDAPP_TEST_REDIS", "redis://127.0.0.1:6379/0")
PASSWORD = "two processes, one database"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
# Per account: more than the lockout's 10 failures, so that both can be seen in a minute.
ACCOUNT_LIMIT = 12
REGISTRATIONS_PER_SERVER = 24
THREADS_PER_SERVER = 8


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def cookie(self, name: str) -> str | None:
        for header in self.headers.get_all("Set-Cookie") or []:
            key, _, rest = header.partition("=")
            if key.strip() == name:
                return rest.split(";", 1)[0]
        return None


def call(base: str, method: str, path: str, *, body: Any = None, form: dict | None = None,
         headers: dict[str, str] | None = None) -> Response:
    """One HTTP request on a fresh connection (no cookie jar: cookies are passed by hand,
    since production's are Secure and these servers speak plain HTTP on 127.0.0.1)."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    sent = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    elif form is not None:
        data = urlencode(form).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=data, headers=sent)
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


@dataclass
class Cluster:
    a: str
    b: str
    instance: Path
    database_url: str
    worker_email: str


def _seed(database_url: str, instance: Path, tag: str) -> str:
    """Migrate the new database and add an organization and a field worker (in a child
    process, so that this process's own app and database are not touched)."""
    script = r"""
import sys
from flask_migrate import upgrade
from fieldapp import create_app
from fieldapp.accounts import passwords
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.extensions import db
url, keys, password, email = sys.argv[1:5]
app = create_app({"FIELDAPP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url,
                  "FIELDAPP_KEY_FILE": keys})
with app.app_context():
    upgrade()
    org = Organization(name="Two processes", kind=OrganizationKind.BORDER_NGO.value,
                       country_code="CO", location_code="CO-NSA-CUCUTA")
    db.session.add(org)
    hashed = passwords.hash_password(password)
    for name in ("worker", "session", "throttle", "lockout", "concurrent", "control"):
        user = User(email=email.replace("worker", name), name=name, organization=org,
                    password_hash=hashed)
        user.set_roles({Role.FIELD_WORKER})
        db.session.add(user)
    db.session.commit()
    db.engine.dispose()
"""
    email = f"worker-{tag}@two.example"
    env = {k: v for k, v in os.environ.items() if k != "FIELDAPP_INSTANCE_PATH"}
    out = subprocess.run([sys.executable, "-c", script, database_url,
                          str(instance / "keys.json"), PASSWORD, email],
                         cwd=ROOT, env={**env, "FIELDAPP_ENV": "testing"},
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return email


def _start(instance: Path, name: str, *, preload: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "FIELDAPP_INSTANCE_PATH": str(instance),
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
           "GUNICORN_ACCESS_LOG": str(instance / f"access-{name}.log"),
           "GUNICORN_PRELOAD": "1" if preload else ""}
    env.pop("FIELDAPP_ENV", None)  # the settings file says production
    log = (instance / f"gunicorn-{name}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                             str(ROOT / "config" / "gunicorn.conf.py"), "wsgi:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc, f"http://127.0.0.1:{port}"


def _wait(proc: subprocess.Popen[bytes], base: str, instance: Path, name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (instance / f"gunicorn-{name}.log").read_text(errors="replace")
            pytest.fail(f"gunicorn {name} stopped at start (exit {proc.returncode}):\n"
                        f"{log[-3000:]}")
        try:
            if call(base, "GET", "/login").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn {name} did not answer within 60 s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from fieldapp.crypto import KeyRing

    admin = sa.engine.make_url(PG_ADMIN)
    if not _reachable(admin.host or "127.0.0.1", admin.port or 5432):
        pytest.fail(f"PostgreSQL is not reachable at {admin.host}:{admin.port}: this test "
                    "needs it (.ci/run starts it; never skipped)")
    redis = urlparse(REDIS)
    if not _reachable(redis.hostname or "127.0.0.1", redis.port or 6379):
        pytest.fail(f"Redis is not reachable at {REDIS}: this test needs it (.ci/run starts "
                    "it; never skipped)")
    tag = uuid.uuid4().hex[:10]
    name = f"fieldapp_two_{tag}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    database_url = admin.set(database=name).render_as_string(hide_password=False)
    instance = tmp_path_factory.mktemp("two-processes")
    instance.chmod(0o700)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        KeyRing.generate().save(instance / "keys.json")
        email = _seed(database_url, instance, tag)
        settings = {
            "FIELDAPP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url, "FIELDAPP_KEY_FILE": str(instance / "keys.json"),
            "RATELIMIT_STORAGE_URI": REDIS,
            # Only the per-account limit is under test; every request comes from 127.0.0.1.
            "LOGIN_RATE_LIMIT_CLIENT": "10000 per minute",
            "LOGIN_RATE_LIMIT_ACCOUNT": f"{ACCOUNT_LIMIT} per minute",
            "FIELDAPP_2FA_REQUIRED_ROLES": "none",
        }
        fd = os.open(instance / "fieldapp.env", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(f"{k}={v}\n" for k, v in settings.items()))
        # B builds the app once and forks (post_fork drops the engine it inherited).
        started = [_start(instance, "a", preload=False), _start(instance, "b", preload=True)]
        procs = [p for p, _ in started]
        for (proc, base), label in zip(started, "ab", strict=True):
            _wait(proc, base, instance, label)
        yield Cluster(a=started[0][1], b=started[1][1], instance=instance,
                      database_url=database_url, worker_email=email)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def _email(cluster: Cluster, name: str) -> str:
    return cluster.worker_email.replace("worker", name)


def _csrf(page: Response) -> str:
    match = CSRF_RE.search(page.body.decode())
    assert match, "no CSRF token on the page"
    return match.group(1)


def _token(base: str, email: str) -> str:
    r = call(base, "POST", "/api/v1/auth/tokens", body={"email": email, "password": PASSWORD})
    assert r.status == 201, r.body[:500]
    return r.json()["token"]


def _try_login(base: str, email: str, password: str) -> int:
    return call(base, "POST", "/api/v1/auth/tokens",
                body={"email": email, "password": password}).status


def test_a_session_from_one_process_works_on_the_other(cluster: Cluster) -> None:
    page = call(cluster.a, "GET", "/login")
    cookie = page.cookie("fieldapp_session")
    assert cookie
    r = call(cluster.a, "POST", "/login", headers={"Cookie": f"fieldapp_session={cookie}"},
             form={"email": _email(cluster, "session"), "password": PASSWORD,
                   "csrf_token": _csrf(page)})
    assert r.status == 302, r.body[:500]
    session = {"Cookie": f"fieldapp_session={r.cookie('fieldapp_session') or cookie}"}

    assert call(cluster.b, "GET", "/").status == 302  # nobody without the cookie
    home = call(cluster.b, "GET", "/", headers=session)
    assert home.status == 200, home.headers.get("Location")
    assert call(cluster.a, "GET", "/", headers=session).status == 200

    # Logging out on B ends the session on A too: the server keeps it, not the process.
    # (The page's CSRF token went into the cookie that came with it.)
    session = {"Cookie": f"fieldapp_session={home.cookie('fieldapp_session')}"}
    out = call(cluster.b, "POST", "/logout", headers=session, form={"csrf_token": _csrf(home)})
    assert out.status == 302
    assert call(cluster.a, "GET", "/", headers=session).status == 302


def test_the_per_account_login_limit_counts_on_both(cluster: Cluster) -> None:
    email = _email(cluster, "throttle")
    statuses = [_try_login(cluster.a if i % 2 == 0 else cluster.b, email, "wrong password")
                for i in range(ACCOUNT_LIMIT)]
    # Each process saw only half the limit; the shared Redis saw all of it.
    assert statuses == [401] * ACCOUNT_LIMIT
    assert _try_login(cluster.a, email, "wrong password") == 429
    assert _try_login(cluster.b, email, "wrong password") == 429
    # Another account is not held back (the limit is per account, not per address).
    assert _try_login(cluster.b, _email(cluster, "control"), PASSWORD) == 201


def test_failed_logins_on_both_add_up_to_the_lockout(cluster: Cluster) -> None:
    email = _email(cluster, "lockout")
    for i in range(10):  # LOGIN_LOCKOUT_THRESHOLD, five on each process
        assert _try_login(cluster.a if i % 2 == 0 else cluster.b, email, "wrong password") \
            == 401
    # Locked: the right password is refused on either process.
    assert _try_login(cluster.a, email, PASSWORD) == 401
    assert _try_login(cluster.b, email, PASSWORD) == 401
    engine = sa.create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            locked = conn.execute(sa.text("SELECT locked_until FROM users WHERE email = :e"),
                                  {"e": email}).scalar()
    finally:
        engine.dispose()
    assert locked is not None


def test_concurrent_writes_through_both_keep_the_audit_chain_whole(cluster: Cluster) -> None:
    email = _email(cluster, "concurrent")
    tokens = {cluster.a: _token(cluster.a, email), cluster.b: _token(cluster.b, email)}

    def register(job: tuple[str, int]) -> tuple[int, str | None]:
        base, n = job
        body = case_data(document={"type": "passport", "number": f"TP{n:05d}"},
                         given_name=f"Persona {n}")
        r = call(base, "POST", "/api/v1/cases", body=body,
                 headers={"Authorization": "Bearer " + tokens[base]})
        if r.status != 201:
            return r.status, None
        case_id = r.json()["id"]
        # A read writes an audit event too: reads and writes interleave on the chain.
        seen = call(base, "GET", f"/api/v1/cases/{case_id}",
                    headers={"Authorization": "Bearer " + tokens[base]})
        return seen.status, case_id

    jobs = [(cluster.a if n % 2 == 0 else cluster.b, n)
            for n in range(2 * REGISTRATIONS_PER_SERVER)]
    with ThreadPoolExecutor(max_workers=2 * THREADS_PER_SERVER) as pool:
        results = list(pool.map(register, jobs))
    assert [status for status, _ in results] == [200] * len(jobs)
    created = {case_id for _, case_id in results}
    assert len(created) == len(jobs)

    engine = sa.create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            count, low, high, predecessors = conn.execute(sa.text(
                "SELECT count(*), min(seq), max(seq), count(DISTINCT prev_mac) "
                "FROM audit_events")).one()
            cases = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar()
    finally:
        engine.dispose()
    assert (low, high) == (1, count)  # contiguous
    assert predecessors == count  # no two events follow the same one: no fork
    assert cases == len(jobs)

    env = {**os.environ, "FIELDAPP_INSTANCE_PATH": str(cluster.instance),
           "FLASK_APP": "fieldapp.cli_app"}
    env.pop("FIELDAPP_ENV", None)
    out = subprocess.run([sys.executable, "-m", "flask", "audit", "verify"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith(f"OK: {count} events"), out.stdout


def test_the_access_log_has_paths_without_query_strings(cluster: Cluster) -> None:
    token = _token(cluster.a, _email(cluster, "control"))
    r = call(cluster.a, "GET", "/api/v1/cases?q=Sanchez%20Quispe&per_page=5",
             headers={"Authorization": "Bearer " + token, "Referer":
                      f"{cluster.a}/cases?q=Sanchez+Quispe"})
    assert r.status == 200
    log = ""
    for _ in range(50):  # written by the worker after the response
        log = (cluster.instance / "access-a.log").read_text()
        if '"GET /api/v1/cases"' in log:
            break
        time.sleep(0.1)
    assert '"GET /api/v1/cases" 200' in log
    assert "Sanchez" not in log and "per_page" not in log and "?" not in log
    assert "127.0.0.1" not in log  # nor the client's address


def _gunicorn_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    import runpy

    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "FIELDAPP_TRUSTED_PROXIES",
                 "FORWARDED_ALLOW_IPS", "FIELDAPP_INSTANCE_PATH"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))


def test_gunicorn_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "instance"
    empty.mkdir(mode=0o700)
    settings = _gunicorn_settings(monkeypatch, FIELDAPP_INSTANCE_PATH=str(empty))
    assert settings["worker_class"] == "sync"
    assert 1 <= settings["workers"] <= 8
    assert settings["bind"] == ["127.0.0.1:8000"]
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%(h)s", "%(a)s"):
        assert atom not in settings["access_log_format"]
    # No proxy trusted by the app: gunicorn believes no X-Forwarded-Proto either.
    assert settings["forwarded_allow_ips"] == ""

    settings = _gunicorn_settings(monkeypatch, FIELDAPP_TRUSTED_PROXIES="1",
                                  GUNICORN_WORKERS="3", GUNICORN_THREADS="4")
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert (settings["workers"], settings["worker_class"]) == (3, "gthread")
    settings = _gunicorn_settings(monkeypatch, FIELDAPP_TRUSTED_PROXIES="1",
                                  FORWARDED_ALLOW_IPS="10.0.0.5")
    assert settings["forwarded_allow_ips"] == "10.0.0.5"

    # The instance settings file counts as the app reads it.
    (empty / "fieldapp.env").write_text("FIELDAPP_TRUSTED_PROXIES=2\n")
    (empty / "fieldapp.env").chmod(0o600)
    settings = _gunicorn_settings(monkeypatch, FIELDAPP_INSTANCE_PATH=str(empty))
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"
