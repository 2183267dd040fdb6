"""What administrators may not do (SPEC §11.1): a platform admin keeps no path to case
data, nobody sets their own password through the admin pages, creating a user or setting
a password needs the actor's password again, a password set by someone else must be
changed, and an organization's org_admins see what platform admins did to its accounts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fieldapp.accounts import passwords, services, two_factor
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.audit.models import AuditEvent
from fieldapp.exceptions import NotAllowed, ValidationFailed
from fieldapp.extensions import db
from tests.conftest import PASSWORD, api_token, csrf_from, login

NEW = "long enough passphrase 1"
CASE_ROLES = (Role.FIELD_WORKER, Role.CASE_MANAGER, Role.SERVICE_PROVIDER)


@pytest.fixture
def world(make):
    """A platform admin in the platform organization, and an NGO with its org_admin."""
    platform = make.org("Platform", kind=OrganizationKind.PLATFORM)
    ngo = make.org("NGO")
    admin = make.user(Role.ADMIN, org=platform, email="root@platform.example")
    org_admin = make.user(Role.ORG_ADMIN, org=ngo, email="boss@ngo.example")
    for user in (admin, org_admin):
        user.locale = "en"
    db.session.commit()
    return platform, ngo, admin, org_admin


def _post(client, page_url, data, url=None):
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    return client.post(url or page_url,
                       data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def _reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def _user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


# -- the one rule -------------------------------------------------------------------------

def test_grantable_roles_by_actor_and_organization(world, make):
    platform, ngo, admin, org_admin = world
    assert services.grantable_roles(admin, ngo) == [Role.ORG_ADMIN, Role.ADMIN]
    assert services.grantable_roles(admin, platform) == [Role.SUPERVISOR, Role.ORG_ADMIN,
                                                         Role.ADMIN]
    assert services.grantable_roles(org_admin, ngo) == [r for r in Role if r is not Role.ADMIN]
    assert services.grantable_roles(org_admin, platform) == []
    both = make.user(Role.ADMIN, Role.ORG_ADMIN, org=platform)
    assert services.grantable_roles(both, platform) == list(Role)
    assert services.grantable_roles(both, ngo) == [Role.ORG_ADMIN, Role.ADMIN]
    worker = make.user(Role.CASE_MANAGER, org=ngo)
    assert services.grantable_roles(worker, ngo) == []


@pytest.mark.parametrize("role", [*CASE_ROLES, Role.SUPERVISOR])
def test_admin_cannot_create_a_case_or_supervisor_user_in_another_org(world, role):
    _platform, ngo, admin, _org_admin = world
    before = _user_count()
    with pytest.raises(NotAllowed):
        services.create_user(admin, email="x@ngo.example", name="X", organization=ngo,
                             roles={role}, password=NEW, actor_password=PASSWORD)
    with pytest.raises(NotAllowed):  # not even together with an allowed role
        services.create_user(admin, email="x@ngo.example", name="X", organization=ngo,
                             roles={Role.ORG_ADMIN, role}, password=NEW,
                             actor_password=PASSWORD)
    db.session.rollback()
    assert _user_count() == before


def test_admin_gives_no_case_role_in_its_own_org_either(world):
    platform, _ngo, admin, _org_admin = world
    with pytest.raises(NotAllowed):
        services.create_user(admin, email="x@platform.example", name="X",
                             organization=platform, roles={Role.CASE_MANAGER}, password=NEW,
                             actor_password=PASSWORD)


def test_admin_html_form_offers_no_case_role_and_refuses_a_forged_one(client, world):
    _platform, ngo, admin, _org_admin = world
    login(client, admin.email)
    page = client.get("/admin/users/new").get_data(as_text=True)
    for role in CASE_ROLES:
        assert f'value="{role.value}"' not in page
    assert 'value="org_admin"' in page
    before = _user_count()
    for role in CASE_ROLES:
        forged = _post(client, "/admin/users/new", {
            "email": "taker@ngo.example", "name": "Taker", "organization_id": str(ngo.id),
            "roles": [role.value], "password": NEW, "actor_password": PASSWORD})
        assert forged.status_code == 422, role
        assert "Choose among the roles offered for this organization." in \
            forged.get_data(as_text=True)
    assert _user_count() == before
    assert db.session.scalar(sa.select(User).where(User.email == "taker@ngo.example")) is None


def test_admin_creates_an_org_admin_in_another_org(client, world):
    _platform, ngo, admin, _org_admin = world
    login(client, admin.email)
    response = _post(client, "/admin/users/new", {
        "email": "second.boss@ngo.example", "name": "Second Boss",
        "organization_id": str(ngo.id), "roles": ["org_admin"], "password": NEW,
        "actor_password": PASSWORD})
    assert response.status_code == 302
    created = db.session.scalar(sa.select(User).where(User.email == "second.boss@ngo.example"))
    assert created.organization_id == ngo.id and created.roles == {Role.ORG_ADMIN}
    assert created.must_change_password is True


def test_admin_cannot_set_the_password_of_a_case_user_in_another_org(client, world, make):
    _platform, ngo, admin, _org_admin = world
    manager = make.user(Role.CASE_MANAGER, org=ngo, email="cm@ngo.example")
    hybrid = make.user(Role.ORG_ADMIN, Role.CASE_MANAGER, org=ngo)
    login(client, admin.email)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "cm@ngo.example" in listing
    assert f'/admin/users/{manager.id}"' not in listing  # shown, not offered
    token = csrf_from(listing)
    for target in (manager, hybrid):
        assert client.get(f"/admin/users/{target.id}").status_code == 403
        response = client.post(f"/admin/users/{target.id}/password", data={
            "csrf_token": token, "reset-new_password": NEW,
            "reset-actor_password": PASSWORD})
        assert response.status_code == 403
        assert "Only an administrator of this user&#39;s organization can change this " \
            "user." in response.get_data(as_text=True)
        reloaded = _reload(target)
        assert reloaded.password_hash == target.password_hash
        assert reloaded.must_change_password is False
        with pytest.raises(NotAllowed):
            services.reset_password(admin, reloaded, new=NEW, actor_password=PASSWORD)
    assert login(client.application.test_client(), manager.email, NEW).status_code == 401
    # The refused attempts are audited, as the admin's.
    denied = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "access.denied", AuditEvent.actor_id == admin.id)).all()
    assert {e.object_id for e in denied} == {str(manager.id), str(hybrid.id)}
    assert all(e.allowed is False for e in denied)


def test_admin_cannot_give_a_case_role_in_another_org(client, world):
    _platform, _ngo, admin, org_admin = world
    login(client, admin.email)
    token = csrf_from(client.get(f"/admin/users/{org_admin.id}").get_data(as_text=True))
    for role in CASE_ROLES:
        response = client.post(f"/admin/users/{org_admin.id}", data={
            "csrf_token": token, "name": "Test User", "roles": ["org_admin", role.value],
            "actor_password": PASSWORD})
        assert response.status_code in (403, 422), role
        assert _reload(org_admin).roles == {Role.ORG_ADMIN}
        with pytest.raises(NotAllowed):  # the service refuses even a request that got by
            services.update_user(admin, _reload(org_admin), name="Test User",
                                 roles={Role.ORG_ADMIN, role}, actor_password=PASSWORD)
        db.session.rollback()
    assert _reload(org_admin).roles == {Role.ORG_ADMIN}


def test_admin_cannot_deactivate_or_rename_a_case_user_in_another_org(client, world, make):
    _platform, ngo, admin, _org_admin = world
    worker = make.user(Role.FIELD_WORKER, org=ngo)
    login(client, admin.email)
    token = csrf_from(client.get("/admin/users").get_data(as_text=True))
    assert client.post(f"/admin/users/{worker.id}/status",
                       data={"csrf_token": token}).status_code == 403
    assert client.post(f"/admin/users/{worker.id}", data={
        "csrf_token": token, "name": "Renamed", "roles": ["field_worker"]}).status_code == 403
    reloaded = _reload(worker)
    assert reloaded.active and reloaded.name == "Test User"
    with pytest.raises(NotAllowed):
        services.set_active(admin, reloaded, active=False)
    with pytest.raises(NotAllowed):
        services.update_user(admin, reloaded, name="Renamed", roles={Role.FIELD_WORKER},
                             actor_password=None)


def test_org_admin_still_manages_its_own_organization(client, world):
    _platform, ngo, _admin, org_admin = world
    login(client, org_admin.email)
    response = _post(client, "/admin/users/new", {
        "email": "worker@ngo.example", "name": "Worker", "organization_id": str(ngo.id),
        "roles": ["field_worker", "case_manager"], "password": NEW,
        "actor_password": PASSWORD})
    assert response.status_code == 302
    created = db.session.scalar(sa.select(User).where(User.email == "worker@ngo.example"))
    assert created.roles == {Role.FIELD_WORKER, Role.CASE_MANAGER}
    reset = _post(client, f"/admin/users/{created.id}", {
        "reset-new_password": "yet another passphrase", "reset-actor_password": PASSWORD},
        url=f"/admin/users/{created.id}/password")
    assert reset.status_code == 302
    with pytest.raises(NotAllowed):
        services.create_user(org_admin, email="root2@ngo.example", name="R",
                             organization=ngo, roles={Role.ADMIN}, password=NEW,
                             actor_password=PASSWORD)


# -- one's own password -------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.ADMIN, Role.ORG_ADMIN])
def test_nobody_sets_their_own_password_through_the_admin_pages(client, make, role):
    me = make.user(role)
    login(client, me.email)
    page = client.get(f"/admin/users/{me.id}").get_data(as_text=True)
    assert "reset-new_password" not in page  # not offered
    response = client.post(f"/admin/users/{me.id}/password", data={
        "csrf_token": csrf_from(page), "reset-new_password": NEW,
        "reset-actor_password": PASSWORD})
    assert response.status_code == 403
    assert _reload(me).password_hash == me.password_hash
    with pytest.raises(NotAllowed):
        services.reset_password(_reload(me), _reload(me), new=NEW, actor_password=PASSWORD)
    assert login(client.application.test_client(), me.email, NEW).status_code == 401


# -- the actor's password again -----------------------------------------------------------

@pytest.mark.parametrize("actor_password", ["", "not my password"])
def test_creating_a_user_needs_the_actors_password(client, world, actor_password):
    _platform, ngo, _admin, org_admin = world
    login(client, org_admin.email)
    before = _user_count()
    response = _post(client, "/admin/users/new", {
        "email": "new@ngo.example", "name": "New", "organization_id": str(ngo.id),
        "roles": ["field_worker"], "password": NEW, "actor_password": actor_password})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="actor_password-err"' in html
    assert "Your own password is missing or wrong." in html
    assert _user_count() == before
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "user.created"))


@pytest.mark.parametrize("actor_password", ["", "not my password"])
def test_setting_a_password_needs_the_actors_password(client, world, make, actor_password):
    _platform, ngo, _admin, org_admin = world
    target = make.user(Role.FIELD_WORKER, org=ngo)
    other_device = client.application.test_client()
    login(other_device, target.email)
    login(client, org_admin.email)
    response = _post(client, f"/admin/users/{target.id}", {
        "reset-new_password": NEW, "reset-actor_password": actor_password},
        url=f"/admin/users/{target.id}/password")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="reset-actor_password-err"' in html
    assert "Your own password is missing or wrong." in html
    reloaded = _reload(target)
    assert reloaded.password_hash == target.password_hash
    assert reloaded.must_change_password is False
    assert other_device.get("/").status_code == 200  # nothing happened to the user
    with pytest.raises(ValidationFailed) as caught:
        services.reset_password(org_admin, reloaded, new=NEW, actor_password=actor_password)
    assert set(caught.value.fields) == {"actor_password"}


# -- a password set by someone else must be changed ---------------------------------------

def test_a_password_set_by_an_administrator_must_be_changed(client, world, make):
    _platform, ngo, _admin, org_admin = world
    target = make.user(Role.CASE_MANAGER, org=ngo)
    services.reset_password(org_admin, target, new=NEW, actor_password=PASSWORD)
    db.session.commit()
    assert _reload(target).must_change_password is True
    assert login(client, target.email, NEW).status_code == 302
    for url in ("/", "/cases", "/admin/users", "/stats", "/referrals"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"] == "/account/password", url
    page = client.get("/account/password")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    # The language switch and logging out still work.
    assert client.post("/language", data={"csrf_token": token, "language": "en",
                                          "next": "/account/password"}).status_code == 302
    assert _reload(target).locale == "en"
    same = client.post("/account/password", data={
        "csrf_token": token, "current_password": NEW, "new_password": NEW, "confirm": NEW})
    assert same.status_code == 422
    assert _reload(target).must_change_password is True
    changed = client.post("/account/password", data={
        "csrf_token": token, "current_password": NEW,
        "new_password": "my very own passphrase", "confirm": "my very own passphrase"})
    assert changed.status_code == 302
    assert _reload(target).must_change_password is False
    assert login(client, target.email, "my very own passphrase").status_code == 302
    assert client.get("/").status_code == 200


def test_logout_works_while_the_password_must_be_changed(client, make):
    user = make.user(Role.FIELD_WORKER)
    user.must_change_password = True
    db.session.commit()
    login(client, user.email)
    token = csrf_from(client.get("/account/password").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/account/password").headers["Location"].startswith("/login")


def test_a_created_user_must_change_the_password(client, world):
    _platform, ngo, _admin, org_admin = world
    user = services.create_user(org_admin, email="fresh@ngo.example", name="Fresh",
                                organization=ngo, roles={Role.FIELD_WORKER}, password=NEW,
                                actor_password=PASSWORD)
    db.session.commit()
    assert user.must_change_password is True
    login(client, "fresh@ngo.example", NEW)
    assert client.get("/cases").headers["Location"] == "/account/password"


def test_the_api_refuses_a_user_who_must_change_the_password(app, make):
    user = make.user(Role.CASE_MANAGER)
    user.must_change_password = True
    db.session.commit()
    api = app.test_client()
    token = api_token(api, user.email)
    headers = {"Authorization": f"Bearer {token}"}
    for method, url in (("GET", "/api/v1/cases"), ("GET", "/api/v1/audit"),
                        ("POST", "/api/v1/cases/duplicate-check")):
        response = api.open(url, method=method, headers=headers,
                            json={} if method == "POST" else None)
        assert response.status_code == 403, url
        assert response.get_json()["error"]["code"] == "password_change_required", url
    assert api.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    user.must_change_password = False
    db.session.commit()
    fresh = {"Authorization": f"Bearer {api_token(api, user.email)}"}
    assert api.get("/api/v1/cases", headers=fresh).status_code == 200


# -- what org_admins are shown ------------------------------------------------------------

def test_every_admin_action_on_another_orgs_account_is_audited(world):
    _platform, ngo, admin, org_admin = world
    created = services.create_user(admin, email="deputy@ngo.example", name="Deputy",
                                   organization=ngo, roles={Role.ORG_ADMIN}, password=NEW,
                                   actor_password=PASSWORD)
    services.update_user(admin, created, name="Deputy", roles={Role.ORG_ADMIN, Role.ADMIN},
                         actor_password=PASSWORD)
    services.update_user(admin, created, name="Deputy Renamed",
                         roles={Role.ORG_ADMIN, Role.ADMIN}, actor_password=None)
    services.reset_password(admin, org_admin, new=NEW, actor_password=PASSWORD)
    services.set_active(admin, org_admin, active=False)
    services.set_active(admin, org_admin, active=True)
    two_factor.reset(admin, org_admin, actor_password=PASSWORD)
    db.session.commit()
    changes = services.account_changes_from_outside(ngo.id)
    assert [c.action for c in changes] == [
        "2fa.reset", "user.activated", "user.deactivated", "user.password_reset",
        "user.updated", "user.roles_changed", "user.created"]
    assert {c.actor_email for c in changes} == {admin.email}
    assert [c.account_email for c in changes] == [org_admin.email] * 4 + \
        ["deputy@ngo.example"] * 3
    assert changes[-1].roles == (Role.ORG_ADMIN,)
    assert changes[-2].roles == (Role.ORG_ADMIN, Role.ADMIN)
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action.in_(services.ACCOUNT_ACTIONS))).all()
    assert len(events) == 7
    assert all(e.organization_id == ngo.id and e.actor_id == admin.id for e in events)


def test_org_admin_home_lists_what_a_platform_admin_did(client, world, make):
    _platform, ngo, admin, org_admin = world
    elsewhere = make.org("Elsewhere")
    admin_client = client.application.test_client()
    login(admin_client, admin.email)
    created = _post(admin_client, "/admin/users/new", {
        "email": "planted@ngo.example", "name": "Planted", "organization_id": str(ngo.id),
        "roles": ["org_admin"], "password": NEW, "actor_password": PASSWORD})
    assert created.status_code == 302
    services.create_user(admin, email="other@elsewhere.example", name="Other",
                         organization=elsewhere, roles={Role.ORG_ADMIN}, password=NEW,
                         actor_password=PASSWORD)
    two_factor.reset(admin, org_admin, actor_password=PASSWORD)
    # The org_admin's own work is not what this list is about.
    services.create_user(org_admin, email="own.hire@ngo.example", name="Own",
                         organization=ngo, roles={Role.FIELD_WORKER}, password=NEW,
                         actor_password=PASSWORD)
    db.session.commit()
    login(client, org_admin.email)
    html = client.get("/").get_data(as_text=True)
    section = html[html.index("Changes to your organization's accounts by platform "
                              "administrators"):]
    assert "planted@ngo.example" in section and "Account created" in section
    assert f"by {admin.email}" in section and "Organization administrator" in section
    assert "Second factors removed" in section and "2fa.reset" not in section
    assert "own.hire@ngo.example" not in section
    assert "other@elsewhere.example" not in section


def test_org_admin_home_says_when_nothing_was_done(client, world):
    _platform, _ngo, _admin, org_admin = world
    login(client, org_admin.email)
    html = client.get("/").get_data(as_text=True)
    assert "None: no platform administrator has changed your organization" in html


def test_only_org_admins_see_the_list(client, world, make):
    platform, _ngo, admin, _org_admin = world
    login(client, admin.email)
    assert "by platform administrators" not in client.get("/").get_data(as_text=True)


def test_command_line_changes_are_listed_too(app, world):
    _platform, ngo, _admin, org_admin = world
    runner = app.test_cli_runner()
    out = runner.invoke(args=["users", "set-password", "--email", org_admin.email],
                        input="operator chosen phrase\n" * 2)
    assert out.exit_code == 0, out.output
    [change] = services.account_changes_from_outside(ngo.id)
    assert change.action == "user.password_reset" and change.actor_email is None
    assert change.account_email == org_admin.email


# -- the server operator's command line ---------------------------------------------------

def test_cli_forces_a_change_only_with_temporary(app, make):
    make.org("CLI Org")
    runner = app.test_cli_runner()
    for email, extra in (("plain@example.org", []), ("temp@example.org", ["--temporary"])):
        out = runner.invoke(args=["users", "create", "--email", email, "--name", "N",
                                  "--organization", "CLI Org", "--role", "org_admin", *extra],
                            input="strong passphrase one\n" * 2)
        assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert services.find_user_by_email("plain@example.org").must_change_password is False
    assert services.find_user_by_email("temp@example.org").must_change_password is True
    out = runner.invoke(args=["users", "set-password", "--email", "plain@example.org",
                              "--temporary"], input="another strong passphrase\n" * 2)
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    user = services.find_user_by_email("plain@example.org")
    assert user.must_change_password is True
    assert passwords.verify_password(user.password_hash, "another strong passphrase")
    out = runner.invoke(args=["users", "set-password", "--email", "plain@example.org"],
                        input="a third strong passphrase\n" * 2)
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert services.find_user_by_email("plain@example.org").must_change_password is False


def test_organization_model_is_untouched_by_the_rule(world):
    """A platform admin still manages organizations themselves."""
    _platform, ngo, admin, _org_admin = world
    services.update_organization(admin, ngo, name="NGO renamed", kind=ngo.kind,
                                 country_code=ngo.country_code,
                                 location_code=ngo.location_code, shares_statistics=False)
    db.session.commit()
    assert db.session.get(Organization, ngo.id).name == "NGO renamed"
