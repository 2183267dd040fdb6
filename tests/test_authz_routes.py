"""Every route × every role: allowed or denied, as this table says.

A route that is not in the table fails the suite, so nobody adds an endpoint
without deciding who may use it. "Allowed" means the authorization layer let
the request through (the view may still answer 404 for a made-up id, or 422
for an empty form); "denied" means 401/403 or a redirect to the login page.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from tests.conftest import api_token, csrf_token, login

ANON = "anonymous"
EVERYONE = {ANON, *Role}
SIGNED_IN = set(Role)
ADMINS = {Role.ADMIN, Role.ORG_ADMIN}
CASE_WORKERS = {Role.FIELD_WORKER, Role.CASE_MANAGER}
CASE_MANAGERS = {Role.CASE_MANAGER}

# (endpoint, method) -> who gets through
EXPECTED: dict[tuple[str, str], set] = {
    ("static", "GET"): EVERYONE,
    ("i18n.switch", "POST"): EVERYONE,
    ("accounts.login", "GET"): EVERYONE,
    ("accounts.login", "POST"): EVERYONE,
    ("accounts.logout", "POST"): SIGNED_IN,
    # Public, but without a password step just taken, anyone is sent (back) to /login
    # (counted as denied here) and a signed-in user home.
    ("accounts.login_second_factor", "GET"): SIGNED_IN,
    ("accounts.login_second_factor", "POST"): SIGNED_IN,
    ("accounts.verify", "GET"): SIGNED_IN,
    ("accounts.verify", "POST"): SIGNED_IN,
    ("accounts.home", "GET"): SIGNED_IN,
    ("accounts.change_password", "GET"): SIGNED_IN,
    ("accounts.change_password", "POST"): SIGNED_IN,
    ("accounts.profile", "GET"): SIGNED_IN,
    ("accounts.profile", "POST"): SIGNED_IN,
    ("accounts.passkey_register_options", "POST"): SIGNED_IN,
    ("accounts.passkey_register", "POST"): SIGNED_IN,
    ("accounts.passkey_remove", "POST"): SIGNED_IN,
    ("accounts.passkey_login_options", "POST"): EVERYONE,
    ("accounts.passkey_login", "POST"): EVERYONE,
    ("accounts.security", "GET"): SIGNED_IN,
    ("accounts.totp_begin", "POST"): SIGNED_IN,
    ("accounts.totp_confirm", "POST"): SIGNED_IN,
    ("accounts.recovery_codes_renew", "POST"): SIGNED_IN,
    ("accounts.totp_remove", "POST"): SIGNED_IN,
    ("admin.organizations", "GET"): ADMINS,
    ("admin.organization_new", "GET"): {Role.ADMIN},
    ("admin.organization_new", "POST"): {Role.ADMIN},
    ("admin.organization_edit", "GET"): ADMINS,
    ("admin.organization_edit", "POST"): ADMINS,
    ("admin.users", "GET"): ADMINS,
    ("admin.user_new", "GET"): ADMINS,
    ("admin.user_new", "POST"): ADMINS,
    ("admin.user_edit", "GET"): ADMINS,
    ("admin.user_edit", "POST"): ADMINS,
    ("admin.user_status", "POST"): ADMINS,
    ("admin.user_password", "POST"): ADMINS,
    ("admin.user_second_factor_reset", "POST"): ADMINS,
    ("api.create_token", "POST"): EVERYONE,
    ("api.revoke_current_token", "DELETE"): SIGNED_IN,
    ("api.get_account", "GET"): SIGNED_IN,
    ("api.begin_totp", "POST"): SIGNED_IN,
    ("api.confirm_totp", "POST"): SIGNED_IN,
    ("api.disable_two_factor", "DELETE"): SIGNED_IN,
    ("api.audit_events", "GET"): ADMINS,
    ("api.openapi_json", "GET"): EVERYONE,
    ("cases.index", "GET"): CASE_WORKERS,
    ("cases.search", "POST"): CASE_WORKERS,
    ("cases.new", "GET"): CASE_WORKERS,
    ("cases.new", "POST"): CASE_WORKERS,
    ("cases.detail", "GET"): CASE_WORKERS,
    ("cases.edit", "GET"): CASE_WORKERS,
    ("cases.edit", "POST"): CASE_WORKERS,
    ("cases.withdraw_consent", "GET"): CASE_WORKERS,
    ("cases.withdraw_consent", "POST"): CASE_WORKERS,
    ("cases.close", "POST"): CASE_MANAGERS,
    ("cases.reopen", "POST"): CASE_MANAGERS,
    ("cases.reassign", "POST"): CASE_MANAGERS,
    ("api.create_case", "POST"): CASE_WORKERS,
    ("api.list_cases", "GET"): CASE_WORKERS,
    ("api.get_case", "GET"): CASE_WORKERS,
    ("api.patch_case", "PATCH"): CASE_WORKERS,
    ("api.duplicate_check", "POST"): CASE_WORKERS,
    ("api.withdraw_consent", "POST"): CASE_WORKERS,
    ("api.put_assessment", "PUT"): CASE_WORKERS,
    ("api.get_assessment", "GET"): CASE_WORKERS,
    ("api.add_flag", "POST"): CASE_WORKERS,
    ("api.dismiss_flag", "POST"): CASE_WORKERS,
    ("risk.assessment", "GET"): CASE_WORKERS,
    ("risk.section", "GET"): CASE_WORKERS,
    ("risk.section", "POST"): CASE_WORKERS,
    ("risk.add_flag", "POST"): CASE_WORKERS,
    ("risk.dismiss_flag", "POST"): CASE_WORKERS,
    ("referrals.directory", "GET"): SIGNED_IN,
    ("referrals.directory_hsds", "GET"): SIGNED_IN,
    ("referrals.service_new", "GET"): ADMINS,
    ("referrals.service_new", "POST"): ADMINS,
    ("referrals.service_edit", "GET"): ADMINS,
    ("referrals.service_edit", "POST"): ADMINS,
    ("referrals.routing", "GET"): {Role.ADMIN},
    ("referrals.routing", "POST"): {Role.ADMIN},
    ("referrals.new", "GET"): CASE_WORKERS,
    ("referrals.new", "POST"): CASE_WORKERS,
    ("referrals.index", "GET"): CASE_WORKERS | {Role.SERVICE_PROVIDER},
    ("referrals.detail", "GET"): SIGNED_IN,
    ("referrals.transition", "POST"): SIGNED_IN,
    ("api.list_services", "GET"): SIGNED_IN,
    ("api.services_hsds", "GET"): SIGNED_IN,
    ("api.create_service", "POST"): ADMINS,
    ("api.patch_service", "PATCH"): ADMINS,
    ("api.get_routing", "GET"): SIGNED_IN,
    ("api.put_routing", "PUT"): {Role.ADMIN},
    ("api.referral_suggestions", "GET"): CASE_WORKERS,
    ("api.create_referral", "POST"): CASE_WORKERS,
    ("api.list_referrals", "GET"): CASE_WORKERS | {Role.SERVICE_PROVIDER},
    ("api.get_referral", "GET"): SIGNED_IN,
    ("api.transition", "POST"): SIGNED_IN,
    ("referrals.add_update", "POST"): SIGNED_IN,
    ("referrals.slip", "GET"): SIGNED_IN,
    ("api.list_referral_updates", "GET"): SIGNED_IN,
    ("api.add_referral_update", "POST"): SIGNED_IN,
    ("api.case_referrals", "GET"): CASE_WORKERS,
    ("stats.index", "GET"): {Role.SUPERVISOR, Role.CASE_MANAGER},
    ("stats.export_csv", "GET"): {Role.SUPERVISOR, Role.CASE_MANAGER},
    ("api.stats", "GET"): {Role.SUPERVISOR, Role.CASE_MANAGER},
    ("api.stats_csv", "GET"): {Role.SUPERVISOR, Role.CASE_MANAGER},
    ("api.referral_performance", "GET"): {Role.SUPERVISOR, Role.CASE_MANAGER},
    ("api.close_case", "POST"): CASE_MANAGERS,
    ("api.reopen_case", "POST"): CASE_MANAGERS,
    ("api.reassign_case", "POST"): CASE_MANAGERS,
    ("intake.service_worker", "GET"): EVERYONE,
    ("intake.session_token", "GET"): CASE_WORKERS,
    ("intake.ping", "GET"): EVERYONE,
    ("intake.outbox", "GET"): CASE_WORKERS,
    ("intake.review", "GET"): CASE_WORKERS,
    ("intake.review", "POST"): CASE_WORKERS,
    ("intake.resolve_duplicate", "POST"): CASE_WORKERS,
    ("intake.devices", "GET"): CASE_WORKERS,
    ("intake.revoke_device", "POST"): CASE_WORKERS,
    ("api.intake_key", "GET"): EVERYONE,
    ("api.intake_submit", "POST"): CASE_WORKERS,
    ("api.intake_register_device", "POST"): CASE_WORKERS,
    ("api.resolve_possible_duplicate", "POST"): CASE_WORKERS,
    # Transfers: who may issue, request or decide is checked on the object (the case's
    # owner or a case manager; the requester's side), behind the case workers' rule.
    ("api.issue_continuity_code", "POST"): CASE_WORKERS,
    ("api.list_continuity_codes", "GET"): CASE_WORKERS,
    ("api.revoke_continuity_code", "DELETE"): CASE_WORKERS,
    ("api.case_transfers", "GET"): CASE_WORKERS,
    ("api.request_transfer", "POST"): CASE_WORKERS,
    ("api.list_transfers", "GET"): CASE_WORKERS,
    ("api.get_transfer", "GET"): CASE_WORKERS,
    ("api.transfer_transition", "POST"): CASE_WORKERS,
    ("transfers.issue", "GET"): CASE_WORKERS,
    ("transfers.issue", "POST"): CASE_WORKERS,
    ("transfers.revoke", "POST"): CASE_WORKERS,
    ("transfers.index", "GET"): CASE_WORKERS,
    ("transfers.enter_code", "POST"): CASE_WORKERS,
    ("transfers.detail", "GET"): CASE_WORKERS,
    ("transfers.approve", "POST"): CASE_WORKERS,
    ("transfers.decline", "POST"): CASE_WORKERS,
    ("transfers.cancel", "POST"): CASE_WORKERS,
}

# Requests that would change the caller's own state are sent last or not at all.
SKIP_CALL = {("accounts.logout", "POST"), ("api.revoke_current_token", "DELETE")}


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_is_in_the_table(app):
    found = {(rule.endpoint, method) for rule, method in _routes(app)}
    missing = found - set(EXPECTED)
    assert not missing, f"routes without an authorization expectation: {sorted(missing)}"
    assert not set(EXPECTED) - found, "table lists routes that no longer exist"


def test_every_view_declares_a_rule(app):
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert getattr(view, "authz_rule", None), f"{endpoint} has no @authz.rule"


def _url(rule) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        values[arg] = uuid.uuid4() if converter == "UUIDConverter" else "app.css"
    return rule.build(values, append_unknown=False)[1]


def _denied(status: int, location: str) -> bool:
    return status in (401, 403) or (status == 302 and "/login" in location)


@pytest.mark.parametrize("who", [ANON, *Role], ids=lambda w: str(w))
def test_route_role_matrix(app, client, make, who):
    org = make.org()
    token = None
    if who != ANON:
        user = make.user(who, org=org)
        assert login(client, user.email).status_code == 302
        token = api_token(app.test_client(), user.email)
    form_token = csrf_token(client)
    mismatches = []
    for rule, method in _routes(app):
        key = (rule.endpoint, method)
        if key in SKIP_CALL:
            continue
        url = _url(rule)
        headers = {}
        if rule.rule.startswith("/api/") and token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs = {"headers": headers}
        if method == "POST" and not rule.rule.startswith("/api/"):
            kwargs["data"] = {"csrf_token": form_token}
        elif method in ("POST", "PATCH", "PUT"):
            kwargs["json"] = {}
        response = client.open(url, method=method, **kwargs)
        response.close()
        denied = _denied(response.status_code, response.headers.get("Location", ""))
        should_pass = who in EXPECTED[key]
        if denied == should_pass:
            mismatches.append((key, response.status_code))
    assert not mismatches, f"{who}: unexpected outcomes {mismatches}"


def test_denials_are_audited(client, make):
    worker = make.user(Role.FIELD_WORKER)
    login(client, worker.email)
    assert client.get("/admin/users").status_code == 403
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "access.denied"))
    assert event is not None and event.actor_id == worker.id and event.allowed is False
    assert '"endpoint":"admin.users"' in event.details
