"""Forms of the transfers feature: giving a continuity code, entering one, deciding.

The forms check little themselves: the services check every value at once with their
own messages (code_errors, request_transfer, decide), so that a page shows every
problem in one round. Choices are not checked here either (`validate_choice=False`):
a forged value gets the service's "Not one of the allowed values", not a second
message from WTForms.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from fieldapp.accounts.forms import MultiCheckboxField
from fieldapp.cases import vocab as case_vocab
from fieldapp.forms_support import RequiredMark, choices
from fieldapp.referrals import vocab as referral_vocab

# The groups of the record that may travel, as the consent question lists them: the
# referral scopes, except the risk summary and the assessment's answers, which for a
# transfer are the case's (a referral's are "about the flags this referral answers").
GROUP_CHOICES = {
    **referral_vocab.SCOPES,
    "risk_summary": _l("Risk summary: the case's risk flags and how urgent they are"),
    "assessment_details": _l("Answers of the risk assessment"),
}
DEFAULT_DAYS = 90


class IssueCodeForm(FlaskForm):
    """The person's consent to a continuity code: what travels, where, until when, and
    who gave it. `countries` gets its choices in the view (names in the page's
    language)."""

    scope = MultiCheckboxField(
        _l("What may travel with the person"), choices=choices(GROUP_CHOICES.items()),
        validate_choice=False, validators=[RequiredMark()],
        description=_l("Only what the person agrees to. The household members and the "
                       "referrals never travel."))
    countries = MultiCheckboxField(
        _l("Countries where the code may be used"), validate_choice=False,
        validators=[RequiredMark()],
        description=_l("An organization in another country cannot use the code."))
    expires_on = DateField(
        _l("Valid until"), validators=[RequiredMark(), Optional()],
        description=_l("At most 180 days from today. After this day the code stops "
                       "working."))
    given_by = RadioField(_l("Consent given by"),
                          choices=choices(case_vocab.CONSENT_GIVERS.items()),
                          validate_choice=False, validators=[RequiredMark()])
    submit = SubmitField(_l("Give the code and print the slip"))


class RevokeCodeForm(FlaskForm):
    """Revoking a code: the confirmation is the button inside the opened details."""


class EnterCodeForm(FlaskForm):
    # Forgiving: spaces, dashes and small letters are fine (the service normalizes).
    code = StringField(
        _l("Continuity code"), validators=[RequiredMark(), Length(max=64)],
        description=_l("16 letters and digits, as on the person's slip. Spaces, dashes "
                       "and small letters do not matter."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters",
                   "spellcheck": "false", "autocorrect": "off"})
    submit = SubmitField(_l("Send the request"))


class ApproveForm(FlaskForm):
    keep_open = BooleanField(
        _l("Keep our case open for joint work"),
        description=_l("Otherwise our case is closed as transferred. It stays here, under "
                       "our own retention, either way."))
    submit = SubmitField(_l("Approve the transfer"))


class DeclineForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for declining"), validators=[RequiredMark(), Length(max=2000)],
        description=_l("The other organization reads it. No details about the person."))
    submit = SubmitField(_l("Decline the transfer"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Cancel the request"))
