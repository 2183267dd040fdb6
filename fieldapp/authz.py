"""The one place that answers "may this user do this (to this object)?".

Every view and API endpoint declares a rule with `@authz.rule(...)`; a
before-request hook enforces it, so a route without a rule is refused
(default deny). Object-level checks go through `require`, which answers 404
for objects the user may not even know exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import abort, current_app, has_request_context, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.extensions import db

PUBLIC = "public"
AUTHENTICATED = "authenticated"

F = TypeVar("F", bound=Callable[..., Any])
Check = Callable[[Any, Any], bool]


def _org_id_of(obj: Any) -> uuid.UUID | None:
    """The organization an object belongs to (an Organization is its own)."""
    if obj is None:
        return None
    if isinstance(obj, uuid.UUID):
        return obj
    if obj.__class__.__name__ == "Organization":
        return obj.id
    return getattr(obj, "organization_id", None)


def _admin_or_own_org_admin(user: Any, obj: Any) -> bool:
    if user.has_role(Role.ADMIN):
        return True
    if not user.has_role(Role.ORG_ADMIN):
        return False
    return obj is None or _org_id_of(obj) == user.organization_id


def _has(*roles: Role) -> Check:
    return lambda user, obj: user.has_role(*roles)


def _case_worker(user: Any, case: Any) -> bool:
    """Field workers: own or assigned cases; case managers: every case of their org."""
    if not user.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
        return False
    if case is None:
        return True
    if case.organization_id != user.organization_id or case.erased_at is not None:
        return False
    if user.has_role(Role.CASE_MANAGER):
        return True
    return user.id in (case.owner_id, case.assignee_id)


def _case_manager(user: Any, case: Any) -> bool:
    if not user.has_role(Role.CASE_MANAGER):
        return False
    return case is None or (case.organization_id == user.organization_id
                            and case.erased_at is None)


def _service_manager(user: Any, service: Any) -> bool:
    """Admins manage every service; an org_admin those of the own organization."""
    return _admin_or_own_org_admin(user, service)


def _referral_viewer(user: Any, referral: Any) -> bool:
    if referral is None:
        return user.has_role(Role.SERVICE_PROVIDER, Role.FIELD_WORKER, Role.CASE_MANAGER)
    if referral.erased_at is not None:
        return False
    from fieldapp.referrals.services import side_of

    return bool(side_of(user, referral))


def _intake_reviewer(user: Any, record: Any) -> bool:
    """A record from a phone kept for a person: its sender fixes it; a case manager of the
    organization may too, and alone handles what a revoked phone sent (quarantine)."""
    if not user.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
        return False
    if record is None:
        return True
    if record.organization_id != user.organization_id:
        return False
    if user.has_role(Role.CASE_MANAGER):
        return True
    return record.sender_id == user.id and record.status != "quarantined"


def _device_keeper(user: Any, device: Any) -> bool:
    """A phone registered for offline intake: its user, and the organization's case
    managers (who revoke a lost phone when its user cannot)."""
    if not user.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
        return False
    if device is None:
        return True
    if device.organization_id != user.organization_id:
        return False
    return user.has_role(Role.CASE_MANAGER) or device.user_id == user.id


def case_visibility(user: Any) -> Any:
    """SQL condition: the cases this user may see (lists, search, duplicate checks)."""
    import sqlalchemy as sa

    from fieldapp.cases.models import Case

    if not user.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER):
        return sa.false()
    mine = sa.and_(Case.organization_id == user.organization_id, Case.erased_at.is_(None))
    if user.has_role(Role.CASE_MANAGER):
        return mine
    return sa.and_(mine, sa.or_(Case.owner_id == user.id, Case.assignee_id == user.id))


# permission -> check(user, obj). obj None asks "for some object at all?" (route level).
PERMISSIONS: dict[str, Check] = {
    "organizations.view": _admin_or_own_org_admin,
    "organizations.create": _has(Role.ADMIN),
    "organizations.edit": _admin_or_own_org_admin,
    "users.view": _admin_or_own_org_admin,
    "users.create": _admin_or_own_org_admin,
    "users.edit": _admin_or_own_org_admin,
    "audit.read": _admin_or_own_org_admin,
    "cases.list": _case_worker,
    "cases.create": _case_worker,
    "cases.view": _case_worker,
    "cases.edit": _case_worker,
    "cases.close": _case_manager,
    "cases.reopen": _case_manager,
    "cases.reassign": _case_manager,
    "services.manage": _service_manager,
    "routing.manage": _has(Role.ADMIN),
    "referrals.create": _case_worker,
    "referrals.inbox": _has(Role.SERVICE_PROVIDER),
    "referrals.outbox": _has(Role.FIELD_WORKER, Role.CASE_MANAGER),
    "referrals.view": _referral_viewer,
    "stats.view": _has(Role.SUPERVISOR, Role.CASE_MANAGER),
    "intake.review": _intake_reviewer,
    "intake.device": _device_keeper,
}


def can(user: Any, permission: str, obj: Any = None) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if permission == AUTHENTICATED:
        return True
    check = PERMISSIONS.get(permission)
    return bool(check and check(user, obj))


def rule(permission: str) -> Callable[[F], F]:
    """Declare the access rule of a view: PUBLIC, AUTHENTICATED or a permission name."""
    if permission not in (PUBLIC, AUTHENTICATED) and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorate(view: F) -> F:
        view.authz_rule = permission  # type: ignore[attr-defined]
        return view

    return decorate


def is_api_request() -> bool:
    """Under /api/: answers are JSON, also when no route matched (404, 405)."""
    if not has_request_context():
        return False
    if request.blueprint is not None:
        return request.blueprint.split(".")[0] == "api"
    return request.path == "/api" or request.path.startswith("/api/")


def deny(permission: str, *, status: int = 403, object_type: str | None = None,
         object_id: Any = None) -> NoReturn:
    """Roll back whatever the request did, record the denial, and abort."""
    db.session.rollback()
    user = current_user if current_user.is_authenticated else None
    audit.record("access.denied", actor=user, allowed=False, object_type=object_type,
                 object_id=object_id,
                 details={"permission": permission, "endpoint": request.endpoint or "",
                          "method": request.method})
    db.session.commit()
    abort(status)


def require(permission: str, obj: Any, *, object_type: str | None = None) -> None:
    """Allow, or deny with 404 (object hidden). Use for objects that belong to an org."""
    if not can(current_user, permission, obj):
        deny(permission, status=404, object_type=object_type,
             object_id=getattr(obj, "id", None))


def get_or_404(model: Any, object_id: Any, permission: str, *,
               options: tuple[Any, ...] = ()) -> Any:
    """Load an object and check access in one call; absent and hidden look the same.
    `options`: loader options, for what the caller reads next (in the same statement)."""
    obj = db.session.get(model, object_id, options=options) if object_id is not None \
        else None
    if obj is None:
        abort(404)
    require(permission, obj, object_type=model.__tablename__.rstrip("s"))
    return obj


def enforce_route_rule() -> Response | None:
    """before_request: apply the endpoint's declared rule; no rule means no access."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    permission = getattr(view, "authz_rule", None)
    if permission is None:
        current_app.logger.error("route %s has no authorization rule: denied", request.endpoint)
        deny("undeclared")
    if permission == PUBLIC:
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            abort(401)
        # Only the path: query strings may one day carry search terms.
        return redirect(url_for("accounts.login",
                                next=request.path if request.method == "GET" else None))
    if not can(current_user, permission):
        deny(permission)
    return None


def template_helpers() -> dict[str, Any]:
    return {"authz_can": lambda permission, obj=None: can(current_user, permission, obj)}
