"""Administration of organizations and users: scope, roles, re-entered password."""

from __future__ import annotations

import sqlalchemy as sa

from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from tests.conftest import PASSWORD, csrf_from, login


def _post(client, url, data):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def test_org_admin_lists_only_own_users(client, make):
    mine, theirs = make.org(), make.org()
    admin = make.user(Role.ORG_ADMIN, org=mine)
    colleague = make.user(Role.FIELD_WORKER, org=mine)
    stranger = make.user(Role.FIELD_WORKER, org=theirs)
    login(client, admin.email)
    html = client.get("/admin/users").get_data(as_text=True)
    assert colleague.email in html and stranger.email not in html
    # Another organization's user is not even known to exist.
    assert client.get(f"/admin/users/{stranger.id}").status_code == 404
    assert client.get(f"/admin/organizations/{theirs.id}").status_code == 404
    assert client.get(f"/admin/organizations/{mine.id}").status_code == 200


def test_org_admin_creates_user_in_own_org_and_cannot_grant_admin(client, make):
    mine = make.org()
    admin = make.user(Role.ORG_ADMIN, org=mine)
    login(client, admin.email)
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="admin"' not in page  # not offered
    response = _post(client, "/admin/users/new", {
        "email": "new.person@example.org", "name": "New Person",
        "organization_id": str(mine.id), "roles": ["field_worker"],
        "password": "long enough passphrase 1", "actor_password": PASSWORD})
    assert response.status_code == 302
    created = db.session.scalar(sa.select(User).where(User.email == "new.person@example.org"))
    assert created.organization_id == mine.id and created.roles == {Role.FIELD_WORKER}
    refused = _post(client, "/admin/users/new", {
        "email": "sneaky@example.org", "name": "Sneaky", "organization_id": str(mine.id),
        "roles": ["admin"], "password": "long enough passphrase 1",
        "actor_password": PASSWORD})
    assert refused.status_code == 422  # "admin" is not a valid choice for an org_admin
    assert db.session.scalar(sa.select(User).where(User.email == "sneaky@example.org")) is None


def test_org_admin_cannot_create_user_in_another_org(client, make):
    mine, theirs = make.org(), make.org()
    admin = make.user(Role.ORG_ADMIN, org=mine)
    login(client, admin.email)
    response = _post(client, "/admin/users/new", {
        "email": "x@example.org", "name": "X", "organization_id": str(theirs.id),
        "roles": ["field_worker"], "password": "long enough passphrase 1",
        "actor_password": PASSWORD})
    assert response.status_code == 422  # not a choice
    assert db.session.scalar(sa.select(User).where(User.email == "x@example.org")) is None


def test_invalid_user_form_keeps_input_and_changes_nothing(client, make):
    admin = make.user(Role.ADMIN)
    login(client, admin.email)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = _post(client, "/admin/users/new", {
        "email": admin.email, "name": "Keep Me Typed",
        "organization_id": str(admin.organization_id), "roles": ["org_admin"],
        "password": "short", "actor_password": PASSWORD})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Keep Me Typed" in html
    assert html.count('class="errors"') == 2  # email taken, password too short
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_role_change_needs_the_actor_password(client, make):
    org = make.org()
    admin = make.user(Role.ORG_ADMIN, org=org)
    target = make.user(Role.FIELD_WORKER, org=org)
    other_device = client.application.test_client()
    login(other_device, target.email)
    login(client, admin.email)
    url = f"/admin/users/{target.id}"
    without = _post(client, url, {"name": "Test User", "roles": ["case_manager"]})
    assert without.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == {Role.FIELD_WORKER}
    wrong = _post(client, url, {"name": "Test User", "roles": ["case_manager"],
                                "actor_password": "not my password"})
    assert wrong.status_code == 422
    ok = _post(client, url, {"name": "Test User", "roles": ["case_manager"],
                             "actor_password": PASSWORD})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).roles == {Role.CASE_MANAGER}
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "user.roles_changed"))
    assert event.details == '{"after":["case_manager"],"before":["field_worker"]}'
    assert other_device.get("/").status_code == 302  # the changed user starts afresh


def test_org_admin_cannot_touch_a_platform_admin(client, make):
    org = make.org()
    org_admin = make.user(Role.ORG_ADMIN, org=org)
    platform_admin = make.user(Role.ADMIN, Role.FIELD_WORKER, org=org)
    login(client, org_admin.email)
    assert client.get(f"/admin/users/{platform_admin.id}").status_code == 403
    token = csrf_from(client.get("/admin/users").get_data(as_text=True))
    for url, data in ((f"/admin/users/{platform_admin.id}/password",
                       {"new_password": "taken over passphrase"}),
                      (f"/admin/users/{platform_admin.id}/status", {}),
                      (f"/admin/users/{platform_admin.id}",
                       {"name": "Renamed", "roles": ["field_worker"],
                        "actor_password": PASSWORD})):
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    db.session.expire_all()
    user = db.session.get(User, platform_admin.id)
    assert user.active and user.name == "Test User"
    assert user.roles == {Role.ADMIN, Role.FIELD_WORKER}
    assert login(client.application.test_client(), user.email,
                 "taken over passphrase").status_code == 401


def test_nobody_changes_their_own_roles(client, make):
    org = make.org()
    org_admin = make.user(Role.ORG_ADMIN, org=org)
    login(client, org_admin.email)
    response = _post(client, f"/admin/users/{org_admin.id}", {
        "name": "Test User", "roles": ["org_admin", "case_manager"],
        "actor_password": PASSWORD})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, org_admin.id).roles == {Role.ORG_ADMIN}


def test_deactivate_and_reset_password(client, make):
    org = make.org()
    admin = make.user(Role.ORG_ADMIN, org=org)
    target = make.user(Role.FIELD_WORKER, org=org)
    login(client, admin.email)
    page = client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    token = csrf_from(page)
    assert client.post(f"/admin/users/{target.id}/status",
                       data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False
    client.post(f"/admin/users/{target.id}/password",
                data={"csrf_token": token, "reset-new_password": "fresh passphrase here",
                      "reset-actor_password": PASSWORD})
    fresh = client.application.test_client()
    assert login(fresh, target.email, "fresh passphrase here").status_code == 401  # inactive
    client.post(f"/admin/users/{target.id}/status", data={"csrf_token": token})
    assert login(fresh, target.email, "fresh passphrase here").status_code == 302


def test_cannot_deactivate_self(client, make):
    admin = make.user(Role.ADMIN)
    login(client, admin.email)
    token = csrf_from(client.get(f"/admin/users/{admin.id}").get_data(as_text=True))
    assert client.post(f"/admin/users/{admin.id}/status",
                       data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True


def test_admin_creates_and_edits_organization(client, make):
    admin = make.user(Role.ADMIN)
    login(client, admin.email)
    response = _post(client, "/admin/organizations/new", {
        "name": "Casa Nueva", "kind": "shelter", "country_code": "PE",
        "location_code": "pe-tum-tumbes", "shares_statistics": "y"})
    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organization).where(Organization.name == "Casa Nueva"))
    assert org.location_code == "PE-TUM-TUMBES" and org.shares_statistics
    bad = _post(client, f"/admin/organizations/{org.id}", {
        "name": "Casa Nueva", "kind": "shelter", "country_code": "PE",
        "location_code": "CO-NSA-CUCUTA"})
    assert bad.status_code == 422
    db.session.expire_all()
    assert db.session.get(Organization, org.id).location_code == "PE-TUM-TUMBES"
    ok = _post(client, f"/admin/organizations/{org.id}", {
        "name": "Casa Nueva", "kind": "shelter", "country_code": "PE", "location_code": ""})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).shares_statistics is False


def test_org_admin_cannot_create_organizations(client, make):
    login(client, make.user(Role.ORG_ADMIN).email)
    assert client.get("/admin/organizations/new").status_code == 403
