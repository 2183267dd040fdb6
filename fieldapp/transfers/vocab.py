"""Words of the transfers feature that services, views and other features share."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# The groups of a record that may travel with a transfer, in a word or two, for lists,
# histories and notices.
GROUP_NAMES = {
    "identity": _l("Identity"),
    "contact": _l("Contact"),
    "documents": _l("Identity documents"),
    "risk_summary": _l("Risk summary"),
    "assessment_details": _l("Answers of the risk assessment"),
    "notes": _l("Case notes"),
}
