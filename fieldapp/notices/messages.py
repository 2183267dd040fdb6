"""The words of a notice e-mail, in the notice's language. Nothing about the person:
the referral's reference (year and sequence) and a link, and that is all, because
e-mail passes through servers and mailboxes fieldapp does not control. Not the
service type either (a child-protection or anti-trafficking service says who the
person is), nor the other organization's name, nor the flags.

A transfer notice has less still: no reference (a transfer has none, and the case's
would name the person's record), not the requesting organization's name (it says
where the person went and what help they sought: a timeline of that in a mailbox is
what the transfers' threat model keeps out), only that a request waits or was
answered, and the link."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask_babel import force_locale
from flask_babel import gettext as _


def subject_and_body(kind: str, reference: str | None, link: str, *,
                     outcome: str | None = None) -> tuple[str, str]:
    """Call inside force_locale (compose does). `reference`: the referral's (referral
    kinds); `outcome`: approved | declined (transfer_decided)."""
    if kind in ("transfer_requested", "transfer_decided"):
        subject, opening = _transfer_words(kind, outcome)
        about = _("This message carries no personal data, on purpose: everything about the "
                  "transfer request is in fieldapp, for those allowed to see it. Please do "
                  "not reply with personal data.")
        why = _("You receive it because this address gets your organization's notices in "
                "fieldapp; an administrator of your organization can change it.")
    else:
        subject, opening = _referral_words(kind, reference or "")
        about = _("This message carries no personal data, on purpose: everything about the "
                  "referral is in fieldapp, for those allowed to see it. Please do not reply "
                  "with personal data.")
        why = _("You receive it because this address gets your organization's referral "
                "notices in fieldapp; an administrator of your organization can change it.")
    body = "\n\n".join([
        opening,
        _("Open it in fieldapp (you will be asked to sign in):") + "\n" + link,
        about,
        why,
    ])
    return subject, body + "\n"


def _referral_words(kind: str, reference: str) -> tuple[str, str]:
    if kind == "new":
        subject = _("New referral %(reference)s needs attention", reference=reference)
        opening = _("Your organization has received a new referral, %(reference)s. It "
                    "needs attention.", reference=reference)
    elif kind == "overdue":
        subject = _("Referral %(reference)s is overdue and needs attention",
                    reference=reference)
        opening = _("Referral %(reference)s to your organization has not been "
                    "acknowledged in time. It needs attention.", reference=reference)
    else:
        subject = _("Referral %(reference)s was completed", reference=reference)
        opening = _("Referral %(reference)s, sent by your organization, was completed. It "
                    "needs attention: read the outcome.", reference=reference)
    return subject, opening


def _transfer_words(kind: str, outcome: str | None) -> tuple[str, str]:
    if kind == "transfer_requested":
        return (_("A transfer request is waiting for your organization's decision"),
                # Translators: a continuity code is the code a person carries so that
                # their case can follow them to another organization.
                _("Another organization has asked, with a continuity code that your "
                  "organization gave, for a case to be transferred to it. Nothing is sent "
                  "before your organization approves: a case manager, or the case's "
                  "owner, approves or declines the request."))
    if outcome == "approved":
        return (_("Your organization's transfer request was approved"),
                _("A transfer request made by your organization was approved: the new "
                  "case is among your organization's cases."))
    return (_("Your organization's transfer request was declined"),
            _("A transfer request made by your organization was declined."))


def compose(*, kind: str, reference: str | None, link: str, locale: str, sender: str,
            to: str, outcome: str | None = None) -> EmailMessage:
    with force_locale(locale):
        subject, body = subject_and_body(kind, reference, link, outcome=outcome)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    # RFC 3834: no vacation replies to a robot.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    message["Content-Language"] = locale.replace("_", "-")  # set_content drops Content-*
    return message
