"""What the registration record already answers, so the questionnaire never asks it again.

Pure, like the engine: plain values from the case record go in; out comes, for some
answer keys, the set of answers the record allows (`Known`). The engine uses it for
questions left unanswered, and the questionnaire does not show a question the record
settles. Only what registration really says is derived; where the record is silent or
ambiguous the question stays open, because unanswered is not "no".
"""

from __future__ import annotations

from collections.abc import Iterable

from fieldapp.risk.engine import Known

# Documents that state their holder's nationality.
PROVES_NATIONALITY = frozenset({"passport", "national_id"})

# The language of daily life in the country of registration, among the languages the
# registration form offers. A country not listed derives nothing.
HOST_LANGUAGES = {
    **dict.fromkeys(("AR", "BO", "CL", "CO", "CR", "CU", "DO", "EC", "GT", "HN", "MX", "NI",
                     "PA", "PE", "PY", "SV", "UY", "VE"), "es"),
    "BR": "pt",
    **dict.fromkeys(("BB", "BS", "BZ", "GY", "JM", "TT"), "en"),
    "GF": "fr",
}


def known_answers(*, document_type: str | None, nationality: str,
                  languages: Iterable[str], country_code: str) -> Known:
    """For each answer key the record settles, the answers it allows."""
    known: dict[str, frozenset] = {}
    if document_type:
        # A document was recorded (type and number), so the person holds one: not "none".
        # Registration does not record whether it has expired, so both remain possible;
        # no rule tells them apart today, so nothing is asked. (A rule that did would make
        # the question open again, and the questionnaire would show it.)
        known["document_status"] = frozenset({"valid", "expired"})
    # No document recorded is NOT "none": the registration form's choice reads "None / not
    # shown", the same for a child without papers and for one whose papers are with a
    # relative or who was afraid to show them. Deriving "none" would raise a high
    # CHILD_WITHOUT_DOCUMENTS flag on a guess, so the question is asked instead.
    if nationality == "STATELESS":
        # Stateless at registration: there is no nationality to prove (a travel document
        # a stateless person holds does not prove one).
        known["can_prove_nationality"] = frozenset({False})
    elif document_type in PROVES_NATIONALITY:
        known["can_prove_nationality"] = frozenset({True})
    host = HOST_LANGUAGES.get(country_code)
    if host and host in set(languages):
        # Only "yes" is derived: a language left unticked at registration may simply not
        # have been asked about.
        known["speaks_host_language"] = frozenset({True})
    return known
