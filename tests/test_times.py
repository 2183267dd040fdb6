"""Times in the organization's time zone: defaults by country, the formatter around a
DST-free zone (America/Bogota) and a DST zone (America/Santiago), the selector (pages in
the signed-in user's organization's zone, the API in UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fieldapp import times
from fieldapp.accounts.roles import Role

JANUARY = datetime(2026, 1, 15, 17, 5, tzinfo=UTC)  # Santiago in summer time: UTC-3
JULY = datetime(2026, 7, 15, 17, 5, tzinfo=UTC)  # Santiago in winter time: UTC-4
EN = {"Accept-Language": "en"}


@pytest.mark.parametrize(("country", "location", "zone"), [
    ("CO", "CO-NSA-CUCUTA", "America/Bogota"), ("EC", None, "America/Guayaquil"),
    ("PE", "PE-TUM-TUMBES", "America/Lima"), ("VE", None, "America/Caracas"),
    ("BR", "BR-SP", "America/Sao_Paulo"), ("BR", "BR-RR-PACARAIMA", "America/Boa_Vista"),
    ("CL", "CL-AP-CHACALLUTA", "America/Santiago"),
    ("AR", None, "America/Argentina/Buenos_Aires"), ("ZZ", None, "UTC"),
])
def test_default_zone_by_country(country, location, zone):
    assert times.default_zone(country, location) == zone
    assert times.is_zone(zone)


def test_a_new_organization_gets_its_countrys_zone(make):
    assert make.org(country="CL", location=None).time_zone == "America/Santiago"
    assert make.org(country="PE", location="PE-TUM-TUMBES").time_zone == "America/Lima"


def test_country_zones_put_the_usual_one_first():
    zones = times.country_zones("BR")
    assert zones[0] == "America/Sao_Paulo" and "America/Boa_Vista" in zones
    assert times.country_zones("CO") == ["America/Bogota"]


def test_bogota_has_no_summer_time(app):
    for instant in (JANUARY, JULY):
        text = times.local_time(instant, zone="America/Bogota", locale="es")
        assert "12:05 (hora de Colombia)" in text
    assert times.local_time(JANUARY, zone="America/Bogota", locale="es") == \
        "15 ene 2026, 12:05 (hora de Colombia)"


def test_santiago_moves_its_clock(app):
    assert times.local_time(JANUARY, zone="America/Santiago", locale="es") == \
        "15 ene 2026, 14:05 (hora de Chile)"
    assert times.local_time(JULY, zone="America/Santiago", locale="es") == \
        "15 jul 2026, 13:05 (hora de Chile)"
    assert times.local_time(JULY, zone="America/Santiago", locale="pt_BR") == \
        "15 de jul. de 2026 13:05 (Horário do Chile)"


def test_the_local_date_is_the_date_in_the_zone(app):
    late = datetime(2026, 1, 16, 3, 30, tzinfo=UTC)  # still the 15th in Bogota
    assert times.local_time(late, date_only=True, zone="America/Bogota", locale="es") == \
        "15 ene 2026"
    assert times.local_time(late, date_only=True, zone="UTC", locale="es") == "16 ene 2026"
    assert times.local_time(date(2026, 7, 1), locale="en") == "Jul 1, 2026"
    assert times.local_time(None) == ""


def test_the_time_zone_selector_is_the_signed_in_users_organization(app, make):
    from flask_babel import get_timezone, refresh
    from flask_login import login_user

    user = make.user(Role.FIELD_WORKER, org=make.org(country="VE", location=None))
    assert user.organization.time_zone == "America/Caracas"
    with app.test_request_context("/cases"):
        refresh()
        assert get_timezone().zone == "UTC"  # nobody signed in
    with app.test_request_context("/cases"):
        login_user(user)
        refresh()  # the test's app context outlives requests; each real request has its own
        assert get_timezone().zone == "America/Caracas" == times.current_zone()
        assert times.local_time(JULY).endswith("13:05 (hora de Venezuela)")
    with app.test_request_context("/api/v1/cases"):
        login_user(user)
        refresh()
        assert get_timezone().zone == "UTC"  # the API answers in UTC
