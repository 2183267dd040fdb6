"""Human-readable lines for suggestions ("urgent: UNACCOMPANIED_CHILD → child_protection;
same site; Spanish") and for where a referral stands, in the request's language."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from fieldapp.cases.vocab import LANGUAGES
from fieldapp.referrals.models import Referral
from fieldapp.referrals.vocab import CAPACITIES, SERVICE_TYPES, STATUSES
from fieldapp.risk.labels import SEVERITY_LABELS, flag_label
from fieldapp.times import local_time


def reason_line(reason: dict[str, Any]) -> str:
    parts = [_("%(severity)s: %(flag)s → %(service)s",
               severity=SEVERITY_LABELS.get(reason["severity"], reason["severity"]),
               flag=flag_label(reason["flag"]),
               service=SERVICE_TYPES.get(reason["service_type"], reason["service_type"]))]
    proximity = reason["proximity"]
    parts.append(_("same site") if proximity >= 3 else
                 _("same division") if proximity == 2 else _("same country"))
    if reason["capacity"] == "limited":
        parts.append(_("capacity: %(capacity)s", capacity=CAPACITIES["limited"]))
    if reason.get("language"):
        parts.append(str(LANGUAGES.get(reason["language"], reason["language"])))
    return "; ".join(parts)


def status_line(referral: Referral) -> str:
    """The status in words with the date that matters now: the acknowledgement deadline
    only while the referral waits for one, then when it was answered or closed."""
    status = referral.status
    if status == "sent":
        return _("Sent on %(sent)s; acknowledge before %(when)s",
                 sent=local_time(referral.created_at, date_only=True),
                 when=local_time(referral.due_at))
    if status in ("acknowledged", "accepted") and referral.acknowledged_at:
        when = local_time(referral.acknowledged_at)
        return (_("Acknowledged on %(when)s", when=when) if status == "acknowledged"
                else _("Accepted; acknowledged on %(when)s", when=when))
    if referral.closed_at:
        when = local_time(referral.closed_at)
        if status == "completed":
            return _("Completed on %(when)s", when=when)
        if status == "declined":
            return _("Declined on %(when)s", when=when)
        if status == "cancelled":
            return _("Cancelled on %(when)s", when=when)
    return str(STATUSES.get(status, status))
