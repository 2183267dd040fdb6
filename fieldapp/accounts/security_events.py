"""What happened lately to the sign-in of one account, read from the audit log: shown on
the security page so that a login or a change one did not make stands out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from fieldapp.accounts.models import User
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db

LABELS = {
    "login.ok": _l("Logged in"),
    "login.failed": _l("Failed login attempt"),
    "account.locked": _l("Account locked after too many failed attempts"),
    "2fa.enrolled": _l("Second factor set up"),
    "2fa.disabled": _l("Second factor removed"),
    "2fa.recovery_code_used": _l("Recovery code used"),
    "2fa.recovery_codes_renewed": _l("New recovery codes made"),
    "2fa.reset": _l("Second factors removed by an administrator"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset": _l("Password set by an administrator"),
}
# Where the details say more than the action alone.
METHOD_LABELS = {
    ("2fa.enrolled", "totp"): _l("Authenticator app set up"),
    ("2fa.enrolled", "passkey"): _l("Passkey added"),
    ("2fa.disabled", "totp"): _l("Authenticator app removed"),
    ("2fa.disabled", "passkey"): _l("Passkey removed"),
}
# The server's command line, when no administrator could (`flask users ...`).
CLI_LABELS = {
    "2fa.reset": _l("Second factors removed from the server's command line"),
    "user.password_reset": _l("Password set from the server's command line"),
}
REASON_LABELS = {
    "wrong_second_factor": _l("Failed login attempt: wrong code or passkey"),
}
ACTIONS = tuple(LABELS)


@dataclass(frozen=True)
class SecurityEvent:
    action: str
    occurred_at: datetime
    label: str


def _label(event: AuditEvent) -> str:
    try:
        details = json.loads(event.details or "{}")
    except ValueError:
        details = {}
    if not isinstance(details, dict):
        details = {}
    label = METHOD_LABELS.get((event.action, str(details.get("method"))))
    if label is None and details.get("channel") == "cli":
        label = CLI_LABELS.get(event.action)
    if label is None and event.action == "login.failed":
        label = REASON_LABELS.get(str(details.get("reason")))
    return str(label or LABELS[event.action])


def recent_events(user: User, *, limit: int = 10) -> list[SecurityEvent]:
    """The latest sign-in events about this account, newest first."""
    rows = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id),
               AuditEvent.action.in_(ACTIONS))
        .order_by(AuditEvent.seq.desc())
        .limit(limit))
    return [SecurityEvent(action=e.action, occurred_at=e.occurred_at, label=_label(e))
            for e in rows]
