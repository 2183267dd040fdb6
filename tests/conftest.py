"""Shared fixtures: the app on SQLite or PostgreSQL, a clean database per test,
factories, and helpers to log in through the real forms (CSRF included).

TEST_DATABASE_URL picks PostgreSQL; without it the suite runs on a SQLite file.
An unreachable PostgreSQL fails the run loudly: nothing is skipped.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from config import normalize_database_url
from fieldapp import create_app
from fieldapp.accounts import passwords
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.extensions import db, limiter

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')
KEEP_TABLES = {"locations"}


def _database_url(tmp: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return "sqlite:///" + str(tmp / "test.sqlite3")
    return normalize_database_url(url)


def _reset_schema(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as exc:
        pytest.exit(f"TEST_DATABASE_URL is set but the database cannot be reached: {exc}",
                    returncode=3)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def database_url(instance_dir: Path) -> str:
    url = _database_url(instance_dir)
    _reset_schema(url)
    return url


@pytest.fixture(scope="session")
def app(instance_dir: Path, database_url: str) -> Iterator[Flask]:
    from flask_migrate import upgrade

    application = create_app({
        "FIELDAPP_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "FIELDAPP_KEY_FILE": str(instance_dir / "keys.json"),
        "FIELDAPP_DEMO_DATA": True,
    })
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade()
        assert db.session.scalar(sa.text("SELECT count(*) FROM routing_rules")) > 0
        db.session.commit()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_db(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from the migrated schema with reference data only."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        limiter.reset()
        yield
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in KEEP_TABLES:
                db.session.execute(table.delete())
        _restore_reference_data()
        db.session.commit()
        db.session.remove()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context and database session, as in production.

    The test's own session is committed first, so the request sees what the test
    set up and no transaction of the test holds SQLite's write lock.
    """

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _restore_reference_data() -> None:
    """Reference rows that migrations seed (besides locations): the routing table."""
    from fieldapp.referrals.models import RoutingRule
    from fieldapp.referrals.vocab import DEFAULT_ROUTING

    db.session.add_all(RoutingRule(flag_code=flag, service_type=t, position=i)
                       for flag, types in DEFAULT_ROUTING.items() for i, t in enumerate(types))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- factories -----------------------------------------------------------------------

class Factory:
    def __init__(self) -> None:
        self._password_hash: str | None = None

    def org(self, name: str | None = None, *, country: str = "CO",
            location: str | None = "CO-NSA-CUCUTA", shares: bool = True,
            kind: OrganizationKind = OrganizationKind.BORDER_NGO) -> Organization:
        org = Organization(name=name or f"Org {uuid.uuid4().hex[:8]}", kind=kind.value,
                           country_code=country, location_code=location,
                           shares_statistics=shares)
        db.session.add(org)
        db.session.commit()
        return org

    def user(self, *roles: Role, org: Organization | None = None, email: str | None = None,
             password: str = PASSWORD, active: bool = True) -> User:
        if password == PASSWORD:
            if self._password_hash is None:
                self._password_hash = passwords.hash_password(PASSWORD)
            password_hash = self._password_hash
        else:
            password_hash = passwords.hash_password(password)
        user = User(email=email or f"u{uuid.uuid4().hex[:10]}@example.org",
                    name="Test User", organization=org or self.org(),
                    password_hash=password_hash, active=active)
        user.set_roles(set(roles) or {Role.FIELD_WORKER})
        db.session.add(user)
        db.session.commit()
        return user


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory()


# -- logging in through the real pages ---------------------------------------------------

def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **headers: Any):
    page = client.get("/login", headers=headers)
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token}, headers=headers)


def csrf_token(client: FlaskClient) -> str:
    """A valid CSRF token for the client's current session."""
    return csrf_from(client.get("/login" if not _logged_in(client) else "/account/password")
                     .get_data(as_text=True))


def _logged_in(client: FlaskClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def api_token(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


@pytest.fixture
def auth(client: FlaskClient, make: Factory):
    """auth(Role.ADMIN) -> a user of that role, logged in on `client`."""
    def _login_as(*roles: Role, org: Organization | None = None) -> User:
        user = make.user(*roles, org=org)
        response = login(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user
    return _login_as


@pytest.fixture
def register(app: Flask):
    """register(actor, **overrides) -> Case, through the real service (encryption included)."""
    from datetime import date

    from fieldapp.cases import inputs
    from fieldapp.cases import services as case_services
    from tests.cases.conftest import case_data

    def _register(actor: User, **overrides: Any):
        parsed = inputs.parse_case(case_data(**overrides), today=date.today())
        case = case_services.register_case(actor, parsed)
        db.session.commit()
        return case
    return _register
