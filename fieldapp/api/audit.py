"""GET /audit: the audit trail (admin: all; org_admin: own organization)."""

from __future__ import annotations

import json
import uuid

from flask import abort, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz
from fieldapp.accounts.roles import Role
from fieldapp.api.blueprint import bp, paging
from fieldapp.audit import services as audit
from fieldapp.audit.models import AuditEvent


def event_json(ev: AuditEvent) -> dict[str, object]:
    return {
        "seq": ev.seq,
        "occurred_at": ev.occurred_at.isoformat(),
        "actor_id": str(ev.actor_id) if ev.actor_id else None,
        "organization_id": str(ev.organization_id) if ev.organization_id else None,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_id": ev.object_id,
        "allowed": ev.allowed,
        "details": json.loads(ev.details),
        "mac": ev.mac,
    }


@bp.get("/audit")
@authz.rule("audit.read")
def audit_events() -> Response:
    page, per_page = paging()
    actor_id = request.args.get("actor_id") or None
    try:
        actor_uuid = uuid.UUID(actor_id) if actor_id else None
    except ValueError:
        abort(400)
    scope = None if current_user.has_role(Role.ADMIN) else current_user.organization_id
    events, total = audit.list_events(
        organization_id=scope, object_id=request.args.get("object_id") or None,
        actor_id=actor_uuid, action=request.args.get("action") or None,
        page=page, per_page=per_page)
    return jsonify({"items": [event_json(e) for e in events], "page": page,
                    "per_page": per_page, "total": total})
