"""The organization form: a time zone, the country's zones first, checked on the server."""

from __future__ import annotations

import sqlalchemy as sa

from fieldapp.accounts.models import Organization
from fieldapp.accounts.roles import Role
from fieldapp.extensions import db
from tests.conftest import csrf_from

EN = {"Accept-Language": "en"}


def _org_form(client, org, **changes):
    page = client.get(f"/admin/organizations/{org.id}").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "name": org.name, "kind": org.kind,
            "country_code": org.country_code, "location_code": org.location_code or "",
            "shares_statistics": "y", "time_zone": org.time_zone, **changes}
    return page, client.post(f"/admin/organizations/{org.id}", data=data, headers=EN)


def test_the_organization_form_offers_the_countrys_zones_first(client, auth, make):
    org = make.org(country="BR", location="BR-RR-PACARAIMA")
    auth(Role.ADMIN)
    page = client.get(f"/admin/organizations/{org.id}", headers=EN).get_data(as_text=True)
    assert 'name="time_zone"' in page and "Time zone" in page
    first_group = page[page.index("<optgroup"):page.index("</optgroup>")]
    assert "America/Sao_Paulo" in first_group and "America/Boa_Vista" in first_group
    assert "Europe/Madrid" not in first_group and "Europe/Madrid" in page
    assert 'selected value="America/Boa_Vista"' in page  # the default of its division


def test_the_organization_form_checks_the_zone(client, auth, make):
    org = make.org(country="CO", location="CO-NSA-CUCUTA")
    auth(Role.ADMIN)
    _, bad = _org_form(client, org, time_zone="Mars/Olympus_Mons")
    assert bad.status_code == 422
    assert "Unknown time zone" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organization, org.id).time_zone == "America/Bogota"

    _, ok = _org_form(client, org, time_zone="America/Lima")
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).time_zone == "America/Lima"

    # The empty choice: the usual zone of the (new) country.
    _, back = _org_form(client, db.session.get(Organization, org.id), time_zone="",
                        country_code="EC", location_code="")
    assert back.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).time_zone == "America/Guayaquil"


def test_a_new_organization_from_the_form_takes_the_usual_zone(client, auth):
    auth(Role.ADMIN)
    page = client.get("/admin/organizations/new").get_data(as_text=True)
    response = client.post("/admin/organizations/new", data={
        "csrf_token": csrf_from(page), "name": "Frontera Sur", "kind": "border_ngo",
        "country_code": "PE", "location_code": "", "shares_statistics": "y",
        "time_zone": ""})
    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organization).where(Organization.name == "Frontera Sur"))
    assert org.time_zone == "America/Lima"
