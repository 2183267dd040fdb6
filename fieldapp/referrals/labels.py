"""Human-readable lines for suggestions ("urgent: UNACCOMPANIED_CHILD → child_protection;
same site; Spanish"), in the request's language."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from fieldapp.cases.vocab import LANGUAGES
from fieldapp.referrals.vocab import CAPACITIES, SERVICE_TYPES
from fieldapp.risk.labels import SEVERITY_LABELS, flag_label


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
