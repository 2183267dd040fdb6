"""The demo network of SPEC §10, and the users/keys commands."""

from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa

from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import Role
from fieldapp.crypto import KeyRing
from fieldapp.demo import seed as demo
from fieldapp.extensions import db
from tests.conftest import login

DEMO_PASSWORD = "demo passphrase for tests"

EXPECTED_ROLES = {
    "fieldworker@frontera.example": {Role.FIELD_WORKER},
    "casemanager@frontera.example": {Role.CASE_MANAGER},
    "orgadmin@frontera.example": {Role.ORG_ADMIN},
    "fieldworker@rumichaca.example": {Role.FIELD_WORKER},
    "provider@clinica.example": {Role.SERVICE_PROVIDER},
    "provider@proteccion.example": {Role.SERVICE_PROVIDER},
    "supervisor@red.example": {Role.SUPERVISOR},
    "admin@fieldapp.example": {Role.ADMIN},
}


def test_seed_command_prints_logins_and_password_once(app, monkeypatch):
    monkeypatch.delenv("FIELDAPP_DEMO_PASSWORD", raising=False)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0
    assert "Demo password (shown only this once):" in first.output
    for email in EXPECTED_ROLES:
        assert email in first.output
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0 and "already present" in second.output
    assert "shown only this once" not in second.output
    from fieldapp.demo.directory import PARTNERS

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == \
        6 + len(PARTNERS)


def test_demo_network_matches_the_spec(app):
    assert demo.seed(DEMO_PASSWORD) == DEMO_PASSWORD
    db.session.commit()
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    assert {e: u.roles for e, u in users.items()} == EXPECTED_ROLES
    assert all(u.locale is None for u in users.values())
    orgs = {o.name: o for o in db.session.scalars(sa.select(Organization))}
    for name, *_rest in demo.DEMO_ORGANIZATIONS:
        assert name in orgs
    assert orgs["Casa de Acogida Rumichaca"].shares_statistics is False
    assert all(o.shares_statistics for n, o in orgs.items() if n != "Casa de Acogida Rumichaca")
    assert orgs["Frontera Solidaria"].location_code == "CO-NSA-CUCUTA"
    assert orgs["Protección Infantil Norte"].location_code == "CO-NSA-CUCUTA"
    assert orgs["Clínica Jurídica para Migrantes"].location_code == "CO-DC-BOGOTA"
    assert orgs["Casa de Acogida Rumichaca"].location_code == "EC-C-TULCAN"


@pytest.mark.parametrize("email", sorted(EXPECTED_ROLES))
def test_every_demo_user_logs_in_and_lands_home(app, client, email):
    demo.seed(DEMO_PASSWORD, with_cases=False)
    db.session.commit()
    assert login(client, email, DEMO_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200


def test_users_cli_create_and_set_password(app, make):
    make.org("CLI Org")
    runner = app.test_cli_runner()
    out = runner.invoke(args=["users", "create", "--email", "first.admin@example.org",
                              "--name", "First Admin", "--organization", "CLI Org",
                              "--role", "admin"], input="strong passphrase one\n" * 2)
    assert out.exit_code == 0, out.output
    user = db.session.scalar(sa.select(User).where(User.email == "first.admin@example.org"))
    assert user.roles == {Role.ADMIN}
    weak = runner.invoke(args=["users", "set-password", "--email", "first.admin@example.org"],
                         input="short\nshort\n")
    assert weak.exit_code != 0
    ok = runner.invoke(args=["users", "set-password", "--email", "first.admin@example.org"],
                       input="another strong passphrase\n" * 2)
    assert ok.exit_code == 0


def test_keys_generate_refuses_to_overwrite(app, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "new-keys.json"
    out = runner.invoke(args=["keys", "generate", "--path", str(path)])
    assert out.exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    KeyRing.load(path)
    before = path.read_bytes()
    again = runner.invoke(args=["keys", "generate", "--path", str(path)])
    assert again.exit_code != 0 and path.read_bytes() == before


def test_organizations_cli_create(app):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["organizations", "create", "--name", "Platform Ops",
                              "--kind", "platform", "--country", "co"])
    assert out.exit_code == 0, out.output
    org = db.session.scalar(sa.select(Organization).where(Organization.name == "Platform Ops"))
    assert org.country_code == "CO" and org.shares_statistics
    bad = runner.invoke(args=["organizations", "create", "--name", "Nowhere", "--kind",
                              "platform", "--country", "XX"])
    assert bad.exit_code != 0
    assert db.session.scalar(sa.select(Organization).where(Organization.name == "Nowhere")) is None


def test_demo_cases_are_spread_and_readable(app):
    from fieldapp.cases.models import Case
    from fieldapp.keyops import services as keyops

    demo.seed(DEMO_PASSWORD)
    db.session.commit()
    cases = db.session.scalars(sa.select(Case)).all()
    assert len(cases) == sum(n for n, _sites in demo.DEMO_CASES.values())
    assert len({c.location_code for c in cases}) >= 5
    assert len({c.stage for c in cases}) >= 4
    assert {c.age_band for c in cases} == {"0-4", "5-11", "12-17", "18-59", "60+"}
    assert len({c.registered_on.strftime("%Y-%m") for c in cases}) >= 6
    rumichaca = db.session.scalar(sa.select(Organization).where(
        Organization.name == "Casa de Acogida Rumichaca"))
    assert sum(c.organization_id == rumichaca.id for c in cases) == 90
    assert keyops.verify().failures == []


def test_demo_directory_covers_every_default_routing_type(app):
    from fieldapp.referrals import services as referrals
    from fieldapp.referrals.vocab import DEFAULT_ROUTING

    demo.seed(DEMO_PASSWORD, with_cases=False)
    db.session.commit()
    offered = {s.type for s in referrals.list_services()}
    wanted = {t for types in DEFAULT_ROUTING.values() for t in types}
    assert wanted <= offered
    clinic = [s for s in referrals.list_services() if s.organization.name ==
              "Clínica Jurídica para Migrantes"]
    assert {s.type for s in clinic} == {"legal_asylum", "legal_regularization",
                                        "legal_nationality", "legal_documentation"}
    assert all(s.location_codes == ["CO"] for s in clinic)
    child = [s for s in referrals.list_services() if s.organization.name ==
             "Protección Infantil Norte" and s.type in ("child_protection", "family_tracing")]
    assert len(child) == 2 and all(s.location_codes == ["CO-NSA"] for s in child)
    # ...and some flags, in some places, find nothing.
    in_colombia = {s.type for s in referrals.list_services(location_code="CO-NSA-CUCUTA")}
    assert "interpretation" not in in_colombia
