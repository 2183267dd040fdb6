"""Human-readable lines for suggestions ("urgent: UNACCOMPANIED_CHILD → child_protection;
same site; Spanish") and for where a referral stands, in the request's language."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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


# What each consented group means, said to the person (SPEC §11.4: the person hears
# exactly what will be shared). The risk summary names its flags; the assessment's
# answers are those about the same flags.
GROUP_WORDS = {
    "identity": _l("your name, date of birth, sex and nationality"),
    "contact": _l("your phone number and your address"),
    "documents": _l("the type and number of your identity document"),
    # Only the answers the rules of the referral's flags read (build_snapshot).
    "assessment_details": _l("only your answers to the questions about the risks this "
                             "referral is for"),
    "notes": _l("the notes we wrote in your case"),
}


def shared_lines(*, scope: list[str], flags: list[str], urgency: str,
                 note: str | None) -> list[str]:
    """What one organization will know, one line per thing, in the words read to the
    person: why they are referred (always: it is the referral), each consented group
    (the risk summary with its flags by name), and the note, word for word."""
    named = ", ".join(flag_label(code) for code in flags)
    lines = [_("why we refer you: %(flags)s", flags=named)]
    for group in scope:
        if group == "risk_summary":
            lines.append(_("a summary of these risks: %(flags)s; and how urgent it is: "
                           "%(urgency)s", flags=named,
                           urgency=SEVERITY_LABELS.get(urgency, urgency)))
        elif group in GROUP_WORDS:
            lines.append(str(GROUP_WORDS[group]))
    if note and note.strip():
        lines.append(_("this note from us: “%(note)s”", note=note.strip()))
    return lines
