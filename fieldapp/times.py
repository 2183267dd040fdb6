"""Times in the organization's time zone (SPEC §11.3).

Timestamps are stored in UTC and the API sends them as UTC ISO 8601; pages show
them in the signed-in user's organization's zone (an IANA name such as
America/Bogota, by default the usual zone of its country), with the zone named.
`local_time` is the one formatter the templates use (the `localtime` filter).
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from functools import lru_cache

import pytz
from babel import Locale
from babel.core import get_global
from babel.dates import format_date, format_time, get_timezone_name
from flask import Flask, has_request_context
from flask_babel import get_locale
from flask_babel import get_timezone as babel_timezone
from flask_babel import gettext as _

# The usual zone of each country the network works in (migration 0012 holds a copy).
COUNTRY_ZONES = {
    "AR": "America/Argentina/Buenos_Aires", "AW": "America/Aruba", "BO": "America/La_Paz",
    "BR": "America/Sao_Paulo", "CL": "America/Santiago", "CO": "America/Bogota",
    "CR": "America/Costa_Rica", "CW": "America/Curacao", "DO": "America/Santo_Domingo",
    "EC": "America/Guayaquil", "GY": "America/Guyana", "MX": "America/Mexico_City",
    "PA": "America/Panama", "PE": "America/Lima", "PY": "America/Asuncion",
    "TT": "America/Port_of_Spain", "UY": "America/Montevideo", "VE": "America/Caracas",
}
# Border divisions whose clocks differ from the country's capital.
DIVISION_ZONES = {"BR-RR": "America/Boa_Vista", "BR-AM": "America/Manaus"}


@lru_cache(maxsize=1)
def all_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in all_zones()


def default_zone(country_code: str | None, location_code: str | None = None) -> str:
    """The zone an organization gets unless an administrator picks another."""
    division = "-".join((location_code or "").upper().split("-")[:2])
    if division in DIVISION_ZONES:
        return DIVISION_ZONES[division]
    code = (country_code or "").upper()
    if code in COUNTRY_ZONES:
        return COUNTRY_ZONES[code]
    zones = [z for z in get_global("territory_zones").get(code, ()) if is_zone(z)]
    return zones[0] if len(zones) == 1 else "UTC"


def country_zones(country_code: str | None) -> list[str]:
    """The zones of a country, its usual one first."""
    code = (country_code or "").upper()
    zones = sorted(z for z in get_global("territory_zones").get(code, ()) if is_zone(z))
    usual = default_zone(code)
    return [usual, *[z for z in zones if z != usual]] if usual in zones else zones


def zone_name(zone: str, locale: str | None = None) -> str:
    """A zone as people say it: "hora de Colombia", "Horário do Chile"; UTC stays UTC."""
    if zone in ("UTC", "Etc/UTC"):
        return "UTC"
    return get_timezone_name(zoneinfo.ZoneInfo(zone), width="long",
                             locale=locale or _locale())


def current_zone() -> str:
    """The zone of this request (Flask-Babel's selector), UTC outside one."""
    if not has_request_context():
        return "UTC"
    return getattr(babel_timezone(), "zone", None) or "UTC"


def _locale() -> str:
    return str((get_locale() if has_request_context() else None) or "es")


def local_time(value: datetime | date | None, *, date_only: bool = False,
               zone: str | None = None, locale: str | None = None) -> str:
    """`15 ene 2026, 14:05 (hora de Colombia)`, or `15 ene 2026` with `date_only`.

    A datetime is converted to the zone first (so its date is the local date); a
    plain date is shown as it is.
    """
    if value is None:
        return ""
    locale = locale or _locale()
    pattern = Locale.parse(locale).datetime_skeletons["yMMMd"]
    if not isinstance(value, datetime):
        return format_date(value, pattern, locale=locale)
    zone = zone or current_zone()
    local = value.astimezone(zoneinfo.ZoneInfo(zone))
    day = format_date(local.date(), pattern, locale=locale)
    if date_only:
        return day
    moment = str(Locale.parse(locale).datetime_formats["medium"]).replace(
        "{1}", day).replace("{0}", format_time(local, "short", locale=locale))
    return _("%(datetime)s (%(zone)s)", datetime=moment, zone=zone_name(zone, locale))


def select_timezone() -> str | None:
    """Flask-Babel's selector: the signed-in user's organization's zone on pages.

    The API answers in UTC (None: Flask-Babel's default, UTC).
    """
    from flask_login import current_user

    from fieldapp import authz

    if not has_request_context() or authz.is_api_request():
        return None
    if not getattr(current_user, "is_authenticated", False):
        return None
    zone = current_user.organization.time_zone
    # Flask-Babel reads zones with pytz, whose database may lag the system's.
    return zone if zone in pytz.all_timezones_set else None


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "localtime")
