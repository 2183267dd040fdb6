"""The slip the person carries (service, where, when, whom to call, the reference; none
of the case's sensitive values; the person's language) and the sender's work contact
shown to the receiving side."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from fieldapp.accounts.models import User
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.risk.labels import flag_label
from tests.conftest import api_token, csrf_from, login
from tests.referrals.conftest import SECRET

# 03:30 UTC on 10 March is still 9 March in Colombia (UTC-5): the slip's date is local.
LATE_EVENING = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)
WEEKDAYS_AND_SATURDAY = [{"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "16:00"},
                         {"byday": "SA", "opens_at": "09:00", "closes_at": "12:00"}]


def _send(network, case, service="asylum", scope=("identity", "contact", "documents",
                                                  "risk_summary", "notes")):
    referral = services.create_referral(
        network["people"]["worker"], case, network["services"][service],
        flags=["UNACCOMPANIED_CHILD", "INTERNATIONAL_PROTECTION_NEED"], given_by="guardian",
        scope=list(scope), note="Private note: the uncle is in Bucaramanga")
    db.session.commit()
    return referral


@pytest.fixture
def directory_entry(network):
    """The asylum clinic's public directory data (HSDS fields)."""
    service = network["services"]["asylum"]
    service.location_name = "Casa de los Derechos"
    service.address_1 = "Carrera 7 # 12-34"
    service.city = "Bogotá"
    service.schedule_description = "Lunes a viernes, 8:00 a 16:00"
    service.phone = "+57 601 555 0101"
    db.session.commit()
    return service


def _sensitive(app, case) -> list[str]:
    values = [*SECRET.values(), "Bucaramanga", "UNACCOMPANIED_CHILD",
              "INTERNATIONAL_PROTECTION_NEED", case.reference]
    with app.test_request_context():
        for locale in ("en", "es", "pt_BR"):
            with force_locale(locale):
                values += [flag_label("UNACCOMPANIED_CHILD"),
                           flag_label("INTERNATIONAL_PROTECTION_NEED")]
    return values


def test_the_slip_holds_where_to_go_and_nothing_about_the_person(app, network, child_case,
                                                                 directory_entry):
    referral = _send(network, child_case)
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert f"/referrals/{referral.id}/slip" in detail  # linked from the sender's page
    answer = client.get(f"/referrals/{referral.id}/slip")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    for value in ("Asylum clinic", "Clinic", "Casa de los Derechos", "Carrera 7 # 12-34",
                  "Bogotá", "Lunes a viernes, 8:00 a 16:00", "+57 601 555 0101",
                  referral.reference, "Sender NGO"):
        assert value in html, value
    for value in _sensitive(app, child_case):
        assert value not in html, value
    # One page on paper: the print rules hide everything but the slip.
    css = (Path(app.root_path) / "static" / "app.css").read_text()
    assert "@media print" in css and "@page" in css


def _fact(html: str, label: str) -> str:
    """The slip's value for one label (its <dd>), tags between lines as newlines."""
    found = re.search(r"<dt>" + re.escape(label) + r"</dt>\s*<dd[^>]*>(.*?)</dd>", html,
                      re.S)
    assert found, label
    return re.sub(r"<br>", "\n", found.group(1)).strip()


def test_the_slip_speaks_the_persons_language(app, network, register, directory_entry):
    worker = network["people"]["worker"]
    case = register(worker, consent={"data_processing": True, "given_by": "self",
                                     "language": "pt"})
    from fieldapp.cases import assessment

    assessment.save_assessment(worker, case, {"fear_of_return": True})
    directory_entry.schedule = json.dumps(WEEKDAYS_AND_SATURDAY)
    db.session.commit()
    referral = services.create_referral(worker, case, directory_entry,
                                        flags=["INTERNATIONAL_PROTECTION_NEED"],
                                        given_by="self", scope=["risk_summary"], note=None,
                                        now=LATE_EVENING)
    db.session.commit()
    client = app.test_client()
    login(client, worker.email)
    # The worker reads Spanish (or English); the slip is in Portuguese, the person's.
    html = client.get(f"/referrals/{referral.id}/slip", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
    assert '<html lang="pt-BR">' in html
    # Portuguese words, not the English (or Spanish) ones they translate.
    for portuguese, other in (("Referência do encaminhamento", "Referral reference"),
                              ("Horário de atendimento", "Opening hours"),
                              ("Endereço", "Address"), ("Telefone", "Phone"),
                              ("Comprovante de encaminhamento", "Referral slip")):
        assert portuguese in html and f">{other}<" not in html, portuguese
    assert _fact(html, "Horário de atendimento") == (
        "segunda-feira a sexta-feira: 08:00–16:00\nsábado: 09:00–12:00\n"
        "Lunes a viernes, 8:00 a 16:00")
    assert _fact(html, "Data") == "9 de mar. de 2026"


def test_the_slip_shows_the_weekly_opening_hours_and_the_local_date(app, network,
                                                                   child_case):
    """Most services publish only weekly rows (HSDS schedules), no line in words."""
    service = network["services"]["asylum"]
    service.schedule = json.dumps(WEEKDAYS_AND_SATURDAY)
    assert service.schedule_description == ""
    db.session.commit()
    referral = services.create_referral(
        network["people"]["worker"], child_case, service, flags=["UNACCOMPANIED_CHILD"],
        given_by="guardian", scope=["risk_summary"], note=None, now=LATE_EVENING)
    db.session.commit()
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    html = client.get(f"/referrals/{referral.id}/slip", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
    assert '<html lang="es">' in html  # the person's language, not the worker's
    assert _fact(html, "Horario de atención") == (
        "lunes a viernes: 08:00–16:00\nsábado: 09:00–12:00")
    # The sending organization's date (Cúcuta), not UTC's.
    assert _fact(html, "Fecha") == "9 mar 2026"
    assert "10 mar 2026" not in html


def test_without_directory_data_the_slip_falls_back_to_the_contact(app, network, child_case):
    network["services"]["asylum"].contact = "Call the clinic desk: 601 555 0199"
    db.session.commit()
    referral = _send(network, child_case)
    client = app.test_client()
    login(client, network["people"]["worker"].email)
    html = client.get(f"/referrals/{referral.id}/slip").get_data(as_text=True)
    assert "Call the clinic desk: 601 555 0199" in html and referral.reference in html


def test_only_the_sending_side_prints_slips(app, network, child_case):
    referral = _send(network, child_case)
    for who in ("clinic_provider", "child_provider", "colleague"):
        client = app.test_client()
        login(client, network["people"][who].email)
        assert client.get(f"/referrals/{referral.id}/slip").status_code == 404, who
    manager = app.test_client()
    login(manager, network["people"]["manager"].email)
    assert manager.get(f"/referrals/{referral.id}/slip").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "referral.slip_viewed")) == 1


# -- who referred ---------------------------------------------------------------------------------

def test_the_receiving_side_sees_who_referred(app, network, child_case):
    worker = network["people"]["worker"]
    worker.name = "Rosalba Quintero"
    worker.work_phone = "+57 300 555 0123"
    db.session.commit()
    referral = _send(network, child_case, scope=["risk_summary"])
    provider = network["people"]["clinic_provider"]
    client = app.test_client()
    token = api_token(client, provider.email)
    body = client.get(f"/api/v1/referrals/{referral.id}",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["sender_contact"] == {"name": "Rosalba Quintero", "organization": "Sender NGO",
                                      "phone": "+57 300 555 0123", "email": worker.email}
    login(client, provider.email)
    html = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Rosalba Quintero" in html and 'href="tel:+573005550123"' in html
    assert f'href="mailto:{worker.email}"' in html


def test_the_profile_page_sets_ones_work_phone(app, network):
    worker = network["people"]["worker"]
    client = app.test_client()
    login(client, worker.email)
    en = {"Accept-Language": "en"}
    page = client.get("/account/profile", headers=en).get_data(as_text=True)
    assert "Work phone" in page and "My profile" in page
    wrong = client.post("/account/profile", headers=en, data={
        "csrf_token": csrf_from(page), "work_phone": "call me maybe"})
    assert wrong.status_code == 422
    assert "There is a problem" in wrong.get_data(as_text=True)
    assert db.session.get(User, worker.id).work_phone is None
    saved = client.post("/account/profile", data={"csrf_token": csrf_from(page),
                                                   "work_phone": " +57 (300) 555-0199 "})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, worker.id).work_phone == "+57 (300) 555-0199"
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "user.profile_changed"))
    assert event is not None and "555" not in event.details
    cleared = client.post("/account/profile", data={"csrf_token": csrf_from(page),
                                                    "work_phone": ""})
    assert cleared.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, worker.id).work_phone is None


def test_administrators_see_work_phones_in_the_user_list(app, network, make):
    from fieldapp.accounts.roles import Role

    worker = network["people"]["worker"]
    worker.work_phone = "+57 300 555 0777"
    db.session.commit()
    admin = make.user(Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    assert "+57 300 555 0777" in client.get("/admin/users").get_data(as_text=True)
