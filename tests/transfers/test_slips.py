"""The continuity-code slip: the code, until when, where, whom to ask; nothing personal."""

from __future__ import annotations

import dataclasses
import uuid

from flask_babel import force_locale

from fieldapp.extensions import db
from fieldapp.transfers import slips
from fieldapp.transfers.models import ContinuityCode
from tests.transfers.conftest import SECRET, issue


def test_the_slip_says_nothing_about_the_person(app, client, people, full_case):
    body = issue(client, people["owner"], full_case, countries=["EC", "PE"]).get_json()
    row = db.session.get(ContinuityCode, uuid.UUID(body["id"]))
    org = people["orgs"]["issuer"]
    org.phone = "+57 607 555 0101"
    db.session.commit()
    with app.test_request_context(), force_locale(slips.slip_language(full_case)):
        slip = slips.code_slip(row, body["code"])
        choices = dict(slips.country_choices())
    assert slip.code == body["code"] and slip.expires_on.isoformat() == body["expires_on"]
    assert slip.countries == ["Ecuador", "Perú"] and slip.organization == org.name
    assert slip.phone == "+57 607 555 0101"
    text = str(dataclasses.asdict(slip))
    for value in [*SECRET.values(), str(full_case.id), full_case.reference]:
        assert value not in text
    assert choices["EC"] == "Ecuador" and "CO" in choices
