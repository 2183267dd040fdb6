"""The words of a notice e-mail, in the notice's language. Nothing about the person:
the referral's reference (year and sequence) and a link, and that is all, because
e-mail passes through servers and mailboxes fieldapp does not control. Not the
service type either (a child-protection or anti-trafficking service says who the
person is), nor the other organization's name, nor the flags."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask_babel import force_locale
from flask_babel import gettext as _


def subject_and_body(kind: str, reference: str, link: str) -> tuple[str, str]:
    """Call inside force_locale (compose does)."""
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
    body = "\n\n".join([
        opening,
        _("Open it in fieldapp (you will be asked to sign in):") + "\n" + link,
        _("This message carries no personal data, on purpose: everything about the "
          "referral is in fieldapp, for those allowed to see it. Please do not reply "
          "with personal data."),
        _("You receive it because this address gets your organization's referral notices "
          "in fieldapp; an administrator of your organization can change it."),
    ])
    return subject, body + "\n"


def compose(*, kind: str, reference: str, link: str, locale: str, sender: str,
            to: str) -> EmailMessage:
    with force_locale(locale):
        subject, body = subject_and_body(kind, reference, link)
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
