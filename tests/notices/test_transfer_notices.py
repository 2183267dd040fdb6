"""E-mail notices of transfer requests through a real SMTP server on 127.0.0.1: the
issuing organization hears of a request, the requesting one of its answer; once each,
with a link and nothing about the person, the case or the other organization."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from fieldapp import clock
from fieldapp.extensions import db
from fieldapp.notices import services as notices
from fieldapp.notices.models import Notice
from fieldapp.transfers import services as transfers
from fieldapp.transfers.models import Transfer
from tests.notices.conftest import BASE_URL, SENDER
from tests.referrals import conftest as referral_fixtures
from tests.transfers import conftest as transfer_fixtures
from tests.transfers.conftest import SECRET, bearer, issued_code

# The fixtures of both features, for this module.
people = transfer_fixtures.people
full_case = transfer_fixtures.full_case
network = referral_fixtures.network
child_case = referral_fixtures.child_case

ALL_GROUPS = ["identity", "contact", "documents", "risk_summary", "assessment_details",
              "notes"]
ISSUER_DESK = "casos@frontera-test.example"
REQUESTER_DESK = "avisos@casa-tulcan-test.example"


def _addresses(people) -> None:
    people["orgs"]["issuer"].notice_email = ISSUER_DESK
    people["orgs"]["ecuador"].notice_email = REQUESTER_DESK
    db.session.commit()


def _request(client, people, case, *, scope=None) -> Transfer:
    """A code for Ecuador, entered by Casa Tulcán's field worker through the API: the
    request's own transaction, as in the field."""
    code = issued_code(client, people["owner"], case, scope=scope or ALL_GROUPS)
    response = client.post("/api/v1/transfers", json={"code": code},
                           headers=bearer(client, people["requester"]))
    assert response.status_code == 201, response.get_json()
    return db.session.get(Transfer, uuid.UUID(response.get_json()["id"]))


def _notices() -> list[Notice]:
    return list(db.session.scalars(sa.select(Notice).order_by(Notice.created_at)))


def _forbidden(people, case) -> dict[str, str]:
    """The person's values in every group, the case's reference, and who is on the other
    side (the requesting organization's name says where the person went)."""
    words = {f"secret {k}": v for k, v in SECRET.items()}
    words["case reference"] = case.reference
    words["case id"] = str(case.id)
    words["requesting organization"] = people["orgs"]["ecuador"].name
    words["requester's e-mail"] = people["requester"].email
    words["requester's desk"] = REQUESTER_DESK
    return words


def _leaks(text: str, forbidden: dict[str, str]) -> list[str]:
    low = text.lower()
    return [name for name, word in forbidden.items() if word and word.lower() in low]


def test_a_request_queues_one_notice_to_the_issuer_and_the_sender_delivers_it(
        app, client, people, full_case, mail_on):
    _addresses(people)
    transfer = _request(client, people, full_case)

    [notice] = _notices()
    assert (notice.kind, notice.status, notice.attempts, notice.to_address) == (
        "transfer_requested", "pending", 0, ISSUER_DESK)
    assert (notice.organization_id, notice.transfer_id, notice.referral_id) == (
        people["orgs"]["issuer"].id, transfer.id, None)
    assert mail_on.inbox.arrived == []  # queued with the request, not sent by it

    report = notices.send_pending(clock.now())
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [mail] = mail_on.inbox.arrived
    assert mail.rcpt_tos == [ISSUER_DESK]
    message = mail.message
    with force_locale("es"):  # a Colombian organization: Spanish
        subject = gettext("A transfer request is waiting for your organization's decision")
    assert str(message["Subject"]) == subject
    assert (message["From"], message["Content-Language"], message["Auto-Submitted"]) == (
        SENDER, "es", "auto-generated")
    assert f"{BASE_URL}/transfers/{transfer.id}" in mail.text
    forbidden = _forbidden(people, full_case)
    assert _leaks(mail.text, forbidden) == []
    assert _leaks(mail.raw.decode("utf-8", "replace"), forbidden) == []

    db.session.expire_all()
    sent = db.session.get(Notice, notice.id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    # One notice per request: queuing it again does nothing, later rounds send nothing.
    assert notices.enqueue_transfer(transfer.id, transfer.from_org_id,
                                    "transfer_requested") is False
    assert notices.send_pending(clock.now() + timedelta(days=1)).sent == 0
    assert len(mail_on.inbox.arrived) == 1


def test_the_requester_hears_of_the_answer_and_a_cancel_sends_nothing(
        app, client, people, full_case, mail_on):
    _addresses(people)
    approved = _request(client, people, full_case)
    declined = _request(client, people, full_case)
    cancelled = _request(client, people, full_case)
    transfers.decide(people["owner"], approved, "approve", keep_open=True)
    transfers.decide(people["manager"], declined, "decline", reason="Ya no está aquí")
    transfers.decide(people["requester"], cancelled, "cancel")
    db.session.commit()
    decided = [n for n in _notices() if n.kind == "transfer_decided"]
    assert sorted((n.transfer_id, n.to_address) for n in decided) == sorted(
        [(approved.id, REQUESTER_DESK), (declined.id, REQUESTER_DESK)])

    assert notices.send_pending(clock.now()).sent == 5  # three requests, two answers
    to_requester = {str(m.message["Subject"]): m.text for m in mail_on.inbox.arrived
                    if m.rcpt_tos == [REQUESTER_DESK]}
    with force_locale("es"):  # Ecuador's organizations: Spanish too
        yes = gettext("Your organization's transfer request was approved")
        no = gettext("Your organization's transfer request was declined")
    assert sorted(to_requester) == sorted([yes, no])
    assert f"{BASE_URL}/transfers/{approved.id}" in to_requester[yes]
    assert f"{BASE_URL}/transfers/{declined.id}" in to_requester[no]
    assert "Ya no está aquí" not in to_requester[no]  # the reason stays behind the login
    new_case = db.session.get(Transfer, approved.id).new_case_id
    for text in to_requester.values():
        assert _leaks(text, _forbidden(people, full_case)) == []
        assert str(new_case) not in text


def test_withdrawn_consent_declines_the_waiting_request_and_the_requester_hears(
        app, client, people, full_case, mail_on):
    from fieldapp.cases import services as case_services

    _addresses(people)
    transfer = _request(client, people, full_case)
    case_services.withdraw_consent(people["owner"], full_case, reason="Lo pidió")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Transfer, transfer.id).status == "declined"
    assert [(n.kind, n.to_address) for n in _notices()] == [
        ("transfer_requested", ISSUER_DESK), ("transfer_decided", REQUESTER_DESK)]


def test_no_mail_server_no_address_or_a_refused_code_queue_nothing(
        app, client, people, full_case, smtp, monkeypatch):
    # No MAIL_SERVER (the test app's default): nothing queued, nothing sent.
    _addresses(people)
    transfer = _request(client, people, full_case)
    transfers.decide(people["owner"], transfer, "approve", keep_open=True)
    db.session.commit()
    assert _notices() == []
    assert notices.send_pending() == notices.SendReport()

    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
                       "MAIL_USE_TLS": False, "FIELDAPP_BASE_URL": BASE_URL,
                       "MAIL_DEFAULT_SENDER": SENDER}.items():
        monkeypatch.setitem(app.config, key, value)
    # A code that cannot be used here (Peru is not among its countries): no request, no
    # notice, whatever the issuer's address.
    code = issued_code(client, people["owner"], full_case, countries=["EC"])
    refused = client.post("/api/v1/transfers", json={"code": code},
                          headers=bearer(client, people["peru"]))
    assert refused.status_code == 404
    assert _notices() == []
    # On, but the issuing organization has no notice address: nothing for it.
    people["orgs"]["issuer"].notice_email = None
    db.session.commit()
    _request(client, people, full_case)
    assert _notices() == []
    assert notices.send_pending().sent == 0 and smtp.inbox.arrived == []


def test_a_notice_is_about_one_thing_and_its_kind_says_which(app, client, people,
                                                              full_case, network, child_case,
                                                              mail_on):
    """The database refuses a notice about both a referral and a transfer, a transfer
    notice without its transfer, and a referral's kind on a transfer or the reverse."""
    from tests.notices.test_notices import _send

    _addresses(people)
    transfer = _request(client, people, full_case)
    referral = _send(network, child_case)
    org_id = people["orgs"]["issuer"].id
    now = clock.now()
    bad = [
        {"referral_id": referral.id, "transfer_id": transfer.id, "kind": "transfer_decided"},
        {"referral_id": referral.id, "transfer_id": transfer.id, "kind": "new"},
        {"referral_id": None, "transfer_id": None, "kind": "transfer_requested"},
        {"referral_id": None, "transfer_id": transfer.id, "kind": "overdue"},
        {"referral_id": referral.id, "transfer_id": None, "kind": "transfer_requested"},
    ]
    for values in bad:
        with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
            db.session.execute(sa.insert(Notice).values(
                id=uuid.uuid4(), organization_id=org_id, to_address=ISSUER_DESK,
                locale="es", status="pending", attempts=0, next_attempt_at=now,
                created_at=now, **values))
    with pytest.raises(ValueError):
        notices.enqueue_transfer(transfer.id, org_id, "new")
    with pytest.raises(ValueError):
        notices.enqueue(referral.id, org_id, "transfer_requested")
    db.session.rollback()
    # What the services queued is still there (the referral's goes nowhere: the child
    # office has no notice address here).
    assert [n.kind for n in _notices()] == ["transfer_requested"]


def test_the_outbox_lists_transfer_notices_without_addresses(app, client, people, full_case,
                                                              mail_on):
    _addresses(people)
    _request(client, people, full_case)
    mail_on.stop()
    assert notices.send_pending(clock.now()).retrying == 1
    listed = app.test_cli_runner().invoke(args=["notices", "list"])
    assert listed.exit_code == 0, listed.output
    assert "transfer_requested" in listed.output and "ConnectionRefusedError" in listed.output
    assert ISSUER_DESK not in listed.output
    assert people["orgs"]["issuer"].name in listed.output


def test_a_brazilian_issuer_reads_it_in_portuguese(app, client, make, people, full_case,
                                                   mail_on):
    shelter = make.org("Abrigo Pacaraima Test", country="BR", location="BR-RR-PACARAIMA")
    shelter.notice_email = "avisos@abrigo.example"
    db.session.commit()
    transfer = _request(client, people, full_case)
    assert notices.enqueue_transfer(transfer.id, shelter.id, "transfer_requested") is True
    db.session.commit()
    notices.send_pending(clock.now())
    [mail] = [m for m in mail_on.inbox.arrived if m.rcpt_tos == ["avisos@abrigo.example"]]
    assert mail.message["Content-Language"] == "pt-BR"
    with force_locale("pt_BR"):
        subject = gettext("A transfer request is waiting for your organization's decision")
    assert str(mail.message["Subject"]) == subject


def test_migration_0017_downgrades_and_upgrades_with_notices_in_the_outbox(
        app, client, people, full_case, network, child_case, mail_on):
    """Down to 0016 the outbox keeps its referral notices and drops the transfer ones
    (the old table cannot hold them); up again, both kinds can be queued and the
    database checks them again."""
    from flask_migrate import downgrade, upgrade

    from tests.notices.test_notices import _send

    _addresses(people)
    network["orgs"]["child"].notice_email = "referrals@child-office.example"
    db.session.commit()
    transfer = _request(client, people, full_case)
    referral = _send(network, child_case)
    kept = db.session.scalar(sa.select(Notice.id).where(Notice.referral_id == referral.id))
    transfer_id, issuer_id, referral_id = transfer.id, transfer.from_org_id, referral.id
    db.session.commit()
    db.session.remove()

    downgrade(revision="0016")
    with db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("notices")}
        rows = conn.execute(sa.text("SELECT kind FROM notices")).scalars().all()
    assert "transfer_id" not in columns
    assert rows == ["new"]

    upgrade()
    db.session.remove()
    assert [(n.id, n.kind, n.transfer_id) for n in _notices()] == [(kept, "new", None)]
    assert notices.enqueue_transfer(transfer_id, issuer_id,
                                    "transfer_requested") is True
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.execute(sa.insert(Notice).values(
            id=uuid.uuid4(), organization_id=issuer_id, to_address=ISSUER_DESK,
            locale="es", status="pending", attempts=0, next_attempt_at=clock.now(),
            created_at=clock.now(), referral_id=referral_id, transfer_id=transfer_id,
            kind="transfer_requested"))
    db.session.rollback()
    assert notices.send_pending(clock.now()).sent == 2
