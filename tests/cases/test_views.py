"""Case pages: registration (errors, duplicates), list and search, edit conflicts."""

from __future__ import annotations

import re

import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from tests.conftest import csrf_from, login

FORM = {
    "given_name": "Rosa Elvira", "family_name": "Cárdenas Mora", "date_of_birth": "1990-05-17",
    "sex": "female", "nationality": "VEN", "document_type": "national_id",
    "document_number": "V20111222", "phone": "+57 300 123 4567", "address": "",
    "location_code": "CO-NSA-CUCUTA", "stage": "border", "languages": ["es"],
    "notes": "Needs a place to sleep tonight.", "consent_basis": "consent",
    "consent_given_by": "self", "consent_language": "es", "data_processing": "y",
    "household-0-given_name": "Camilo", "household-0-family_name": "Cárdenas",
    "household-0-date_of_birth": "2019-02-03", "household-0-sex": "male",
    "household-0-relationship": "child",
}


def _post_form(client, url, data):
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "submit": "1", **data})


def test_register_through_the_form(client, auth):
    auth(Role.FIELD_WORKER)
    response = _post_form(client, "/cases/new", FORM)
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case))
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert case.given_name == "Rosa Elvira" and case.household[0].given_name == "Camilo"
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Rosa Elvira" in page and "Camilo" in page and case.reference in page


def test_rejected_form_keeps_what_was_typed_and_saves_nothing(client, auth):
    auth(Role.FIELD_WORKER)
    response = _post_form(client, "/cases/new", {**FORM, "stage": "", "data_processing": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Rosa Elvira"' in html and "Needs a place to sleep tonight." in html
    assert html.count('class="errors"') == 2  # stage, and the processing basis
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_add_household_member_without_javascript(client, auth):
    auth(Role.FIELD_WORKER)
    token = csrf_from(client.get("/cases/new").get_data(as_text=True))
    response = client.post("/cases/new", data={"csrf_token": token, **FORM,
                                               "add_member": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="household-1-given_name"' in html and 'value="Camilo"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_duplicate_warning_then_register_with_a_reason(client, auth):
    auth(Role.FIELD_WORKER)
    assert _post_form(client, "/cases/new", FORM).status_code == 302
    first = db.session.scalar(sa.select(Case))
    again = _post_form(client, "/cases/new", {**FORM, "given_name": "ROSA elvira"})
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert first.reference in html and 'value="ROSA elvira"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    forced = _post_form(client, "/cases/new", {**FORM, "duplicate_reason":
                                               "Different mother; same name in the family"})
    assert forced.status_code == 302
    cases = db.session.scalars(sa.select(Case).order_by(Case.registered_at)).all()
    assert len(cases) == 2
    assert cases[1].duplicate_reason == "Different mother; same name in the family"


def test_search_is_posted_and_no_personal_data_reaches_a_url(client, auth):
    auth(Role.FIELD_WORKER)
    _post_form(client, "/cases/new", FORM)
    token = csrf_from(client.get("/cases").get_data(as_text=True))
    response = client.post("/cases/search", data={"csrf_token": token,
                                                  "q": "rosa elvira cardenas mora"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Rosa Elvira" in html
    urls = re.findall(r'(?:href|action)="([^"]*)"', html)
    assert urls and not any(s in u.lower() for u in urls for s in ("rosa", "rdenas", "v2011"))
    listing = client.get("/cases?status=open&stage=border").get_data(as_text=True)
    assert "Rosa Elvira" in listing


def test_list_filters(client, auth):
    auth(Role.FIELD_WORKER)
    _post_form(client, "/cases/new", FORM)
    assert "Rosa Elvira" not in client.get("/cases?stage=transit").get_data(as_text=True)
    assert "Rosa Elvira" in client.get("/cases?location_code=CO-NSA").get_data(as_text=True)
    assert "Rosa Elvira" not in client.get("/cases?location_code=EC").get_data(as_text=True)


def test_two_sessions_edit_the_same_case(app, client, make):
    org = make.org()
    first = make.user(Role.CASE_MANAGER, org=org)
    second = make.user(Role.CASE_MANAGER, org=org)
    login(client, first.email)
    _post_form(client, "/cases/new", FORM)
    case = db.session.scalar(sa.select(Case))
    other = app.test_client()
    login(other, second.email)
    url = f"/cases/{case.id}/edit"
    page_a = client.get(url).get_data(as_text=True)
    page_b = other.get(url).get_data(as_text=True)
    edited = {**FORM, "version": "1"}
    a = client.post(url, data={**edited, "csrf_token": csrf_from(page_a),
                               "notes": "A: found a shelter place."})
    assert a.status_code == 302
    b = other.post(url, data={**edited, "csrf_token": csrf_from(page_b),
                              "notes": "B: still looking."})
    html = b.get_data(as_text=True)
    assert b.status_code == 409
    assert "B: still looking." in html  # what B typed is kept...
    assert "A: found a shelter place." in html  # ...next to what is saved now
    db.session.expire_all()
    assert db.session.get(Case, case.id).notes == "A: found a shelter place."
    # B saves again consciously, with the version the conflict page carried.
    retry = other.post(url, data={**edited, "csrf_token": csrf_from(html), "version": "2",
                                  "notes": "B: still looking."})
    assert retry.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).notes == "B: still looking."


def test_close_and_reopen_from_the_page(client, auth):
    auth(Role.CASE_MANAGER)
    _post_form(client, "/cases/new", FORM)
    case = db.session.scalar(sa.select(Case))
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    token = csrf_from(page)
    client.post(f"/cases/{case.id}/close", data={"csrf_token": token, "reason": "",
                                                 "version": "1"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "open"
    client.post(f"/cases/{case.id}/close", data={"csrf_token": token, "reason": "Moved on",
                                                 "version": "1"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "closed"
    client.post(f"/cases/{case.id}/reopen", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "open"


def test_field_worker_cannot_see_a_colleagues_case(app, client, make):
    org = make.org()
    owner = make.user(Role.FIELD_WORKER, org=org)
    login(client, owner.email)
    _post_form(client, "/cases/new", FORM)
    case = db.session.scalar(sa.select(Case))
    other = app.test_client()
    login(other, make.user(Role.FIELD_WORKER, org=org).email)
    assert other.get(f"/cases/{case.id}").status_code == 404
    assert "Rosa Elvira" not in other.get("/cases").get_data(as_text=True)


def test_case_pages_are_not_cached(client, auth):
    auth(Role.FIELD_WORKER)
    _post_form(client, "/cases/new", FORM)
    case = db.session.scalar(sa.select(Case))
    assert client.get(f"/cases/{case.id}").headers["Cache-Control"] == "no-store"
