"""What a case that came by transfer shows afterwards: its consent note names the groups
that came in words of the requester's language, and a referral of a case that came
without its identity group says the name was not shared."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale, gettext

from fieldapp.accounts.roles import Role
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.referrals import services as referrals
from fieldapp.transfers import services
from fieldapp.transfers.models import Transfer
from fieldapp.transfers.vocab import GROUP_NAMES
from tests.conftest import login
from tests.transfers.conftest import SECRET, issued_code


def _approved(client, people, case, scope) -> Case:
    code = issued_code(client, people["owner"], case, scope=scope)
    transfer = services.request_transfer(people["requester"], code)
    services.decide(people["owner"], transfer, "approve", keep_open=True)
    db.session.commit()
    return db.session.get(Case, db.session.get(Transfer, transfer.id).new_case_id)


@pytest.mark.parametrize("locale", [None, "en", "pt_BR"])
def test_the_consent_note_names_the_groups_in_the_requesters_language(client, people,
                                                                      full_case, locale):
    people["requester"].locale = locale
    db.session.commit()
    scope = ["identity", "risk_summary", "assessment_details"]
    new = _approved(client, people, full_case, scope)
    with force_locale(locale or "es"):  # no setting: the default language
        names = ", ".join(str(GROUP_NAMES[g]) for g in scope)
    note = new.consent_note
    assert names in note
    for code in ("risk_summary", "assessment_details"):
        assert code not in note


def test_a_referral_of_a_case_that_came_without_its_identity_says_name_not_shared(
        client, make, people, full_case):
    new = _approved(client, people, full_case, ["risk_summary"])
    assert new.given_name is None and new.family_name is None
    admin = make.user(Role.ADMIN)
    service = referrals.create_service(admin, referrals.parse_service({
        "name": "Protección Tulcán Test", "type": "child_protection",
        "organization_id": str(make.org("Tulcán Provider Test", country="EC",
                                        location="EC-C-TULCAN").id),
        "location_codes": ["EC-C-TULCAN"]}))
    flag = next(f.code for f in new.flags if f.counts)
    referral = referrals.create_referral(people["requester"], new, service, flags=[flag],
                                         given_by="guardian", scope=["identity", "risk_summary"],
                                         note=None)
    db.session.commit()

    assert login(client, people["requester"].email).status_code == 302
    page = client.get(f"/referrals/{referral.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # The page's language: the requester has no setting, so the default (Spanish).
    with force_locale("es"):
        label = gettext("Name not shared")
        name = gettext("Name")
    shown = re.search(rf"<dt>{re.escape(name)}</dt><dd>(.*?)</dd>", html)
    assert shown is not None and shown.group(1) == label
    assert "None None" not in html
    for value in (SECRET["given_name"], SECRET["family_name"]):
        assert value not in html
