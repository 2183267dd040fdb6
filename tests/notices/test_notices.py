"""E-mail notices of referrals through a real SMTP server on 127.0.0.1: what arrives,
what never does (nothing about the person), and what happens when the server is down."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from fieldapp import clock, create_app
from fieldapp.cases import assessment
from fieldapp.extensions import db
from fieldapp.notices import services as notices
from fieldapp.notices.models import Notice
from fieldapp.referrals import services, vocab
from fieldapp.risk.labels import flag_label
from tests.conftest import api_token
from tests.notices.conftest import BASE_URL
from tests.referrals.conftest import SECRET

ALL_SCOPES = list(vocab.SCOPES)


def _notice_addresses(network) -> None:
    network["orgs"]["child"].notice_email = "referrals@child-office.example"
    network["orgs"]["sender"].notice_email = "casework@sender-ngo.example"
    db.session.commit()


def _send(network, case, *, now=None):
    """A referral sharing every group the person could agree to: the snapshot holds the
    name, document, phone and notes, so a leak would show."""
    referral = services.create_referral(
        network["people"]["worker"], case, network["services"]["child"],
        flags=["UNACCOMPANIED_CHILD"], given_by="best_interest", scope=ALL_SCOPES,
        note="She waits at the bus terminal", now=now)
    db.session.commit()
    return referral


def _complete(network, referral) -> None:
    provider = network["people"]["child_provider"]
    for action in ("acknowledge", "accept"):
        services.transition(provider, referral, action)
    db.session.commit()


def _forbidden(app, network, case, referral) -> dict[str, str]:
    """Everything about the person, the case and the referral's purpose, in every
    language the app speaks."""
    words = {f"secret {k}": v for k, v in SECRET.items()}
    words["case reference"] = case.reference
    words["sender name"] = network["people"]["worker"].name
    words["sending organization"] = network["orgs"]["sender"].name
    words["service"] = network["services"]["child"].name
    words["service type"] = referral.service_type
    words["note"] = "bus terminal"
    for code in assessment.rule_set().flag_codes():
        words[f"flag {code}"] = code
    for locale in app.config["LANGUAGES"]:
        with force_locale(locale):
            for code in assessment.rule_set().flag_codes():
                words[f"flag {code} ({locale})"] = str(flag_label(code))
            words[f"service type ({locale})"] = str(vocab.SERVICE_TYPES[referral.service_type])
    return words


def _leaks(text: str, forbidden: dict[str, str]) -> list[str]:
    low = text.lower()
    return [name for name, word in forbidden.items() if word and word.lower() in low]


def test_a_new_referral_arrives_with_its_reference_and_link_and_nothing_personal(
        app, network, child_case, mail_on):
    _notice_addresses(network)
    referral = _send(network, child_case)
    notice = db.session.scalar(sa.select(Notice))
    assert (notice.kind, notice.status, notice.attempts, notice.to_address) == (
        "new", "pending", 0, "referrals@child-office.example")
    assert notice.organization_id == network["orgs"]["child"].id
    assert mail_on.inbox.arrived == []  # queued with the referral, not sent by it

    report = notices.send_pending(clock.now())
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [mail] = mail_on.inbox.arrived
    assert mail.rcpt_tos == ["referrals@child-office.example"]
    message = mail.message
    assert referral.reference in str(message["Subject"])
    with force_locale("es"):  # Colombia's organizations get Spanish notices
        expected = gettext("New referral %(reference)s needs attention",
                           reference=referral.reference)
    assert str(message["Subject"]) == expected
    assert message["From"] == "fieldapp <notices@fieldapp.example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "es"  # Colombia's organizations: Spanish
    link = f"{BASE_URL}/referrals/{referral.id}"
    assert link in mail.text and referral.reference in mail.text
    forbidden = _forbidden(app, network, child_case, referral)
    assert _leaks(mail.text, forbidden) == []
    assert _leaks(mail.raw.decode("utf-8", "replace"), forbidden) == []
    db.session.expire_all()
    sent = db.session.get(Notice, notice.id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert sent.sent_at is not None
    # Sent once: later rounds find nothing to do.
    assert notices.send_pending(clock.now() + timedelta(days=1)).sent == 0
    assert len(mail_on.inbox.arrived) == 1


def test_a_stopped_server_fails_nothing_and_a_later_round_delivers_once(
        app, client, network, child_case, mail_on, caplog):
    _notice_addresses(network)
    referral = _send(network, child_case)
    assert notices.send_pending(clock.now()).sent == 1  # the "new" notice
    _complete(network, referral)
    mail_on.stop()

    # The request that causes the notice succeeds, server or not.
    token = api_token(client, network["people"]["child_provider"].email)
    response = client.post(f"/api/v1/referrals/{referral.id}/transitions",
                           json={"action": "complete", "outcome": "Placed with family"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["status"] == "completed"
    completed = db.session.scalar(sa.select(Notice).where(Notice.kind == "completed"))
    assert completed.to_address == "casework@sender-ngo.example"
    assert completed.status == "pending" and completed.attempts == 0

    now = clock.now()
    with caplog.at_level(logging.WARNING, logger="fieldapp.notices"):
        report = notices.send_pending(now)
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    db.session.expire_all()
    waiting = db.session.get(Notice, completed.id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error == "ConnectionRefusedError"
    assert waiting.next_attempt_at == now + timedelta(minutes=1)
    # Logged without the address, the reference or anything of the case.
    assert str(completed.id) in caplog.text and "attempt 1 of 10" in caplog.text
    for word in ("casework@sender-ngo.example", referral.reference, SECRET["given_name"],
                 child_case.reference):
        assert word not in caplog.text
    # Not due yet: the same moment tries nothing.
    assert notices.send_pending(now) == notices.SendReport()
    assert db.session.get(Notice, completed.id).attempts == 1

    mail_on.start()
    assert notices.send_pending(now + timedelta(minutes=2)).sent == 1
    assert notices.send_pending(now + timedelta(hours=7)).sent == 0
    completed_mails = [m for m in mail_on.inbox.arrived
                       if m.rcpt_tos == ["casework@sender-ngo.example"]]
    assert len(completed_mails) == 1
    assert completed_mails[0].rcpt_tos == ["casework@sender-ngo.example"]
    assert f"{BASE_URL}/referrals/{referral.id}" in completed_mails[0].text
    db.session.expire_all()
    done = db.session.get(Notice, completed.id)
    assert (done.status, done.attempts) == ("sent", 2)


def test_after_the_last_attempt_a_notice_is_kept_as_failed_and_can_be_sent_again(
        app, network, child_case, mail_on, monkeypatch):
    monkeypatch.setitem(app.config, "NOTICE_MAX_ATTEMPTS", 2)
    _notice_addresses(network)
    _send(network, child_case)
    mail_on.stop()
    now = clock.now()
    assert notices.send_pending(now).retrying == 1
    assert notices.send_pending(now + timedelta(minutes=1)).failed == 1
    db.session.expire_all()
    failed = db.session.scalar(sa.select(Notice))
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert notices.send_pending(now + timedelta(days=1)) == notices.SendReport()

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["notices", "list", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert str(failed.id) in listed.output and "ConnectionRefusedError" in listed.output
    assert "referrals@child-office.example" not in listed.output
    # The organization fixed its address meanwhile: the retry goes there.
    network["orgs"]["child"].notice_email = "new-desk@child-office.example"
    db.session.commit()
    retried = runner.invoke(args=["notices", "retry"])
    assert retried.exit_code == 0 and "Queued again: 1." in retried.output
    mail_on.start()
    sent = runner.invoke(args=["notices", "send"])
    assert sent.exit_code == 0, sent.output
    assert "Sent: 1" in sent.output
    assert [m.rcpt_tos for m in mail_on.inbox.arrived] == [["new-desk@child-office.example"]]


def test_a_refused_recipient_is_failed_at_once(app, network, child_case, mail_on):
    _notice_addresses(network)
    _send(network, child_case)
    mail_on.inbox.refuse_recipients = True
    report = notices.send_pending(clock.now())
    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    db.session.expire_all()
    notice = db.session.scalar(sa.select(Notice))
    assert (notice.status, notice.attempts, notice.last_error) == (
        "failed", 1, "SMTPRecipientsRefused 550")


def test_overdue_referrals_get_one_notice_each(app, network, child_case, mail_on):
    _notice_addresses(network)
    past = clock.now() - timedelta(days=3)  # urgent: due within 24 hours
    late = _send(network, child_case, now=past)
    answered = _send(network, child_case, now=past)
    services.transition(network["people"]["child_provider"], answered, "acknowledge")
    _send(network, child_case)  # not due yet
    db.session.commit()
    assert notices.enqueue_overdue() == 1
    db.session.commit()
    assert notices.enqueue_overdue() == 0  # once, however often it runs
    assert notices.enqueue(late.id, late.receiving_org_id, "overdue") is False
    db.session.commit()
    overdue = db.session.scalars(sa.select(Notice).where(Notice.kind == "overdue")).all()
    assert [(n.referral_id, n.organization_id) for n in overdue] == [
        (late.id, network["orgs"]["child"].id)]

    runner = app.test_cli_runner()
    result = runner.invoke(args=["notices", "send"])
    assert result.exit_code == 0, result.output
    subjects = sorted(str(m.message["Subject"]) for m in mail_on.inbox.arrived)
    assert len(subjects) == 4  # three new, one overdue
    with force_locale("es"):
        overdue_subject = gettext("Referral %(reference)s is overdue and needs attention",
                                  reference=late.reference)
    assert [s for s in subjects if s == overdue_subject] == [overdue_subject]
    assert runner.invoke(args=["notices", "overdue"]).output.strip() == \
        "Overdue notices queued: 0."


def test_notices_are_off_without_a_server_or_an_address(app, network, child_case, smtp,
                                                         monkeypatch):
    # No MAIL_SERVER (the test app's default): nothing queued, nothing sent, no error.
    _notice_addresses(network)
    referral = _send(network, child_case)
    _complete(network, referral)
    services.transition(network["people"]["child_provider"], referral, "complete",
                        outcome="Done")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    assert notices.send_pending() == notices.SendReport()
    assert notices.enqueue_overdue(clock.now() + timedelta(days=30)) == 0
    output = app.test_cli_runner().invoke(args=["notices", "send"]).output
    assert "off" in output
    # On, but the receiving organization has no notice address: nothing for it.
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
                       "MAIL_USE_TLS": False, "FIELDAPP_BASE_URL": BASE_URL,
                       "MAIL_DEFAULT_SENDER": "notices@fieldapp.example.org"}.items():
        monkeypatch.setitem(app.config, key, value)
    network["orgs"]["child"].notice_email = None
    db.session.commit()
    _send(network, child_case)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    assert smtp.inbox.arrived == []


def test_a_notice_is_claimed_before_it_is_sent(app, network, child_case, mail_on):
    """Two senders at once (a timer and a hand-run command): one claim wins."""
    _notice_addresses(network)
    _send(network, child_case)
    notice = db.session.scalar(sa.select(Notice))
    now = clock.now()
    assert notices._claim(notice.id, now) == 1
    assert notices._claim(notice.id, now) is None
    assert notices.send_pending(now).sent == 0  # held by the first claim
    assert notices.send_pending(now + notices.CLAIM_LEASE).sent == 1
    assert len(mail_on.inbox.arrived) == 1


def test_a_brazilian_organization_reads_its_notices_in_portuguese(app, make, network,
                                                                  child_case, mail_on):
    shelter = make.org("Abrigo Pacaraima", country="BR", location="BR-RR-PACARAIMA")
    assert notices.notice_locale(shelter) == "pt_BR"
    assert notices.notice_locale(network["orgs"]["child"]) == "es"
    shelter.notice_email = "avisos@abrigo.example"
    db.session.commit()
    referral = _send(network, child_case)
    assert notices.enqueue(referral.id, shelter.id, "overdue") is True
    db.session.commit()
    notices.send_pending(clock.now())
    [mail] = [m for m in mail_on.inbox.arrived if m.rcpt_tos == ["avisos@abrigo.example"]]
    assert mail.message["Content-Language"] == "pt-BR"


@pytest.mark.parametrize("settings, problem", [
    ({"MAIL_SERVER": "smtp.example.org"}, "MAIL_DEFAULT_SENDER"),
    ({"MAIL_SERVER": "smtp.example.org", "MAIL_DEFAULT_SENDER": "n@example.org"},
     "FIELDAPP_BASE_URL"),
    ({"MAIL_SERVER": "smtp.example.org", "MAIL_DEFAULT_SENDER": "n@example.org",
      "FIELDAPP_BASE_URL": "fieldapp.example.org"}, "FIELDAPP_BASE_URL"),
])
def test_mail_settings_are_checked_at_start(tmp_path, monkeypatch, settings, problem):
    from config import ConfigurationError

    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match=problem):
        create_app({"FIELDAPP_ENV": "testing", **settings,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite3"})


def test_mail_settings_come_from_the_environment(monkeypatch):
    from config import load_config

    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_USE_TLS", "0")
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "fieldapp <n@example.org>")
    monkeypatch.setenv("FIELDAPP_BASE_URL", "https://fieldapp.example.org")
    settings = load_config("testing")
    assert (settings["MAIL_SERVER"], settings["MAIL_PORT"], settings["MAIL_USE_TLS"],
            settings["FIELDAPP_BASE_URL"]) == ("smtp.example.org", 2525, False,
                                               "https://fieldapp.example.org")
    monkeypatch.setenv("MAIL_PORT", "70000")
    from config import ConfigurationError

    with pytest.raises(ConfigurationError, match="MAIL_PORT"):
        load_config("testing")


def test_overdue_and_completed_notices_carry_nothing_personal_either(
        app, network, child_case, mail_on):
    """Every kind of referral notice, checked like the "new" one: the outcome the
    provider wrote, too, stays in fieldapp."""
    _notice_addresses(network)
    referral = _send(network, child_case, now=clock.now() - timedelta(days=3))
    assert notices.enqueue_overdue() == 1
    db.session.commit()
    _complete(network, referral)
    outcome = "Placed with her aunt Herminia in Pamplona"
    services.transition(network["people"]["child_provider"], referral, "complete",
                        outcome=outcome)
    db.session.commit()
    assert notices.send_pending(clock.now()).sent == 3
    forbidden = {**_forbidden(app, network, child_case, referral), "outcome": outcome,
                 "outcome words": "Herminia"}
    mails = {tuple(m.rcpt_tos): m for m in mail_on.inbox.arrived}
    assert set(mails) == {("referrals@child-office.example",),
                          ("casework@sender-ngo.example",)} and len(mail_on.inbox.arrived) == 3
    with force_locale("es"):
        subjects = {"overdue": gettext("Referral %(reference)s is overdue and needs attention",
                                       reference=referral.reference),
                    "completed": gettext("Referral %(reference)s was completed",
                                         reference=referral.reference)}
    by_subject = {str(m.message["Subject"]): m for m in mail_on.inbox.arrived}
    for kind, subject in subjects.items():
        mail = by_subject[subject]
        assert mail.rcpt_tos == (["casework@sender-ngo.example"] if kind == "completed"
                                 else ["referrals@child-office.example"])
        assert f"{BASE_URL}/referrals/{referral.id}" in mail.text
        assert _leaks(mail.text, forbidden) == [], kind
        assert _leaks(mail.raw.decode("utf-8", "replace"), forbidden) == [], kind


def test_several_services_in_one_request_queue_one_new_notice_per_organization(
        app, client, network, child_case, mail_on):
    """One request, three services at three organizations: each organization hears of
    its own referral, by its own reference, and of no other."""
    orgs = network["orgs"]
    addresses = {"child": "referrals@child-office.example", "clinic": "desk@clinic.example",
                 "other": "intake@other.example"}
    for name, address in addresses.items():
        orgs[name].notice_email = address
    tracing = services.create_service(network["admin"], services.parse_service({
        "name": "Tracing elsewhere", "type": "family_tracing",
        "organization_id": str(orgs["other"].id), "location_codes": ["CO"]}))
    db.session.commit()
    svc = network["services"]
    token = api_token(client, network["people"]["worker"].email)
    answer = client.post("/api/v1/referrals", headers={"Authorization": f"Bearer {token}"},
                         json={"case_id": str(child_case.id),
                               "service_ids": [str(svc["child"].id), str(svc["asylum"].id),
                                               str(tracing.id)],
                               "flags": ["UNACCOMPANIED_CHILD"],
                               "consent": {"given_by": "guardian",
                                           "scope": ["risk_summary"]}})
    assert answer.status_code == 201, answer.get_json()
    items = answer.get_json()["items"]
    assert len(items) == 3
    queued = db.session.scalars(sa.select(Notice)).all()
    assert sorted((n.kind, n.to_address) for n in queued) == sorted(
        ("new", address) for address in addresses.values())
    reference_of = {i["id"]: i["reference"] for i in items}
    org_of = {i["id"]: i["service"]["id"] for i in items}
    expected_org = {str(svc["child"].id): orgs["child"].id,
                    str(svc["asylum"].id): orgs["clinic"].id, str(tracing.id): orgs["other"].id}
    assert {(str(n.referral_id), n.organization_id) for n in queued} == {
        (rid, expected_org[sid]) for rid, sid in org_of.items()}

    assert notices.send_pending(clock.now()).sent == 3
    address_of = {n.to_address: str(n.referral_id) for n in queued}
    for mail in mail_on.inbox.arrived:
        [to] = mail.rcpt_tos
        own = address_of[to]
        assert reference_of[own] in mail.text
        assert [r for rid, r in reference_of.items() if rid != own and r in mail.text] == []
