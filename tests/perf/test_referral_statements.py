"""The referral inbox reads the organizations its rows name in one query, whatever the
number of rows (docs/benchmarks.md, "Load test", lever 1)."""

from __future__ import annotations

import pytest

from fieldapp.accounts.roles import Role
from fieldapp.cases import assessment
from fieldapp.extensions import db
from fieldapp.referrals import services as referrals
from tests.conftest import api_token, login
from tests.perf.conftest import get_counted, listing

# The token (with its user, roles and second factor), the total, the page (each referral
# with its service and the service's organization), the organizations the page names.
INBOX = 4


def _refer(actor, case, service, times: int) -> None:
    for _ in range(times):
        referrals.create_referral(actor, case, service, flags=["UNACCOMPANIED_CHILD"],
                                  given_by="self", scope=["risk_summary"], note=None)
    db.session.commit()


@pytest.fixture
def second_sender(network, make, register):
    """Another organization, which refers a child of its own to the same office."""
    org = make.org("Second Sender")
    worker = make.user(Role.FIELD_WORKER, org=org)
    case = register(worker, given_name="Yusleidy", document=None)
    assessment.save_assessment(worker, case, {"accompaniment": "alone"})
    db.session.commit()
    return worker, case


def test_api_inbox_of_twenty_sends_what_an_inbox_of_one_sends(client, statements, network,
                                                               child_case, second_sender):
    token = api_token(client, network["people"]["child_provider"].email)
    service = network["services"]["child"]
    _refer(network["people"]["worker"], child_case, service, 1)
    _, one = get_counted(client, statements, "/api/v1/referrals?box=inbox", token)

    _refer(network["people"]["worker"], child_case, service, 11)
    _refer(second_sender[0], second_sender[1], service, 8)
    response, twenty = get_counted(client, statements, "/api/v1/referrals?box=inbox", token)
    items = response.get_json()["items"]
    assert len(items) == 20
    assert {i["sending_organization"] for i in items} == {"Sender NGO", "Second Sender"}
    assert {i["receiving_organization"] for i in items} == {"Child Office"}
    assert {i["service_name"] for i in items} == {"Child protection NSA"}
    assert len(twenty) == len(one), listing(twenty)
    assert len(twenty) <= INBOX, listing(twenty)


def test_inbox_page_of_twenty_sends_what_an_inbox_of_one_sends(client, statements, network,
                                                                child_case, second_sender):
    service = network["services"]["child"]
    _refer(network["people"]["worker"], child_case, service, 1)
    login(client, network["people"]["child_provider"].email)
    _, one = get_counted(client, statements, "/referrals?box=inbox")

    _refer(network["people"]["worker"], child_case, service, 11)
    _refer(second_sender[0], second_sender[1], service, 8)
    response, twenty = get_counted(client, statements, "/referrals?box=inbox")
    page = response.get_data(as_text=True)
    assert "Sender NGO" in page and "Second Sender" in page
    assert len(twenty) == len(one), listing(twenty)
