"""The predefined dimensions of SPEC §6: what can be grouped by or filtered on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fieldapp import clock
from fieldapp.cases import vocab as case_vocab
from fieldapp.extensions import db
from fieldapp.locations.models import Location, LocationLevel
from fieldapp.referrals import vocab as referral_vocab
from fieldapp.risk.labels import GROUP_LABELS

DIMENSIONS = {
    "month": _l("Month"),
    "country": _l("Country"),
    "division": _l("Division"),
    "site": _l("Site"),
    "stage": _l("Stage"),
    "sex": _l("Sex"),
    "age_band": _l("Age band"),
    "nationality": _l("Nationality"),
    "group": _l("Group"),
    "flag": _l("Flag"),
    "referral_status": _l("Referral status"),
    "service_type": _l("Service type"),
    "unmet_need": _l("Unmet need"),
}

REFERRAL_DIMS = {"referral_status", "service_type"}
PLACE_DIMS = {"country", "division", "site"}
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SENSITIVE_FLAGS = {"UNACCOMPANIED_CHILD", "SEPARATED_CHILD", "TRAFFICKING_RISK", "GBV_SURVIVOR"}

HXL_TAGS = {
    "month": "#date+month", "country": "#country+code", "division": "#adm1+code",
    "site": "#loc+code", "stage": "#indicator+stage", "sex": "#indicator+sex",
    "age_band": "#indicator+age_band", "nationality": "#country+code+origin",
    "group": "#indicator+group", "flag": "#indicator+flag",
    "referral_status": "#status+referral", "service_type": "#sector+service",
    "unmet_need": "#indicator+unmet_need",
}


def _locations(level: str) -> set[str]:
    return set(db.session.scalars(sa.select(Location.code).where(Location.level == level)))


def valid_value(dim: str, value: str) -> bool:
    """Filters take only predefined values: codes and bands, never free text."""
    if dim == "month":
        return bool(MONTH_RE.match(value))
    if dim == "country":
        return value in _locations(LocationLevel.COUNTRY)
    if dim == "division":
        return value in _locations(LocationLevel.DIVISION)
    if dim == "site":
        return value in _locations(LocationLevel.SITE)
    allowed: dict[str, Any] = {
        "stage": case_vocab.STAGES, "sex": case_vocab.SEXES,
        "age_band": dict.fromkeys(case_vocab.AGE_BANDS),
        "nationality": None, "group": GROUP_LABELS, "flag": case_vocab.FLAG_LABELS,
        "unmet_need": case_vocab.FLAG_LABELS, "referral_status": referral_vocab.STATUSES,
        "service_type": referral_vocab.SERVICE_TYPES,
    }
    if dim == "nationality":
        from fieldapp.cases.inputs import nationality_codes

        return value in nationality_codes()
    return dim in allowed and value in allowed[dim]


def label(dim: str, value: Any) -> str:
    """A value as people read it, in the request's language."""
    if value is None:
        return str(_l("(none)"))
    value = str(value)
    table: dict[str, Any] = {
        "stage": case_vocab.STAGES, "sex": case_vocab.SEXES, "group": GROUP_LABELS,
        "flag": case_vocab.FLAG_LABELS, "unmet_need": case_vocab.FLAG_LABELS,
        "referral_status": referral_vocab.STATUSES,
        "service_type": referral_vocab.SERVICE_TYPES,
    }
    if dim in table:
        return str(table[dim].get(value, value))
    if dim in PLACE_DIMS:
        return _place_label(db.session.get(Location, value), value)
    if dim == "nationality":
        from fieldapp.cases.choices import country_name

        return country_name(value)
    if dim == "age_band":
        return _age_band_label(value)
    if dim == "month" and MONTH_RE.match(value):
        return month_label(value)
    return value


def labels(dim: str, values: Iterable[Any]) -> list[str]:
    """`label` for every value of a table's axis, reading the places they name in one
    query rather than one per value."""
    values = list(values)
    if dim not in PLACE_DIMS:
        return [label(dim, v) for v in values]
    codes = {str(v) for v in values if v is not None}
    places = {loc.code: loc for loc in db.session.scalars(
        sa.select(Location).where(Location.code.in_(codes)))} if codes else {}
    return [label(dim, v) if v is None else _place_label(places.get(str(v)), str(v))
            for v in values]


# -- option lists: every filter is chosen from names, never typed -------------------------
#
# Each function returns (value, label) pairs in the request's language, sorted by label
# as people of that language look names up (accents and case aside); months and age
# bands keep their natural order. Places come grouped by country: (group label, pairs).

Option = tuple[str, str]
Grouped = list[tuple[str, list[Option]]]


def collation_key(text: str) -> tuple[str, str]:
    """Sort key for names: accents and case ignored (Ávila with Avila), ñ after n, as
    Spanish dictionaries do; ties broken by the exact text so the order is stable."""
    locale = str(get_locale() or "es")
    folded = text.casefold()
    if locale.startswith("es"):
        folded = folded.replace("ñ", "n\uffff")
    base = "".join(ch for ch in unicodedata.normalize("NFKD", folded)
                   if not unicodedata.combining(ch))
    return base, text


def by_label(pairs: Iterable[Option]) -> list[Option]:
    return sorted(pairs, key=lambda pair: collation_key(pair[1]))


def _vocabulary(labels: dict[str, Any]) -> list[Option]:
    return by_label((code, str(name)) for code, name in labels.items())


def _place_label(loc: Location | None, code: str) -> str:
    if loc is None:
        return code
    return _country_label(loc) if loc.level == LocationLevel.COUNTRY else loc.name


def _country_label(loc: Location) -> str:
    """A country's name in the request's language (the table holds one spelling)."""
    if not loc.alpha3:
        return loc.name
    from fieldapp.cases.choices import country_name

    name = country_name(loc.alpha3)
    return name if name != loc.alpha3 else loc.name


def _age_band_label(band: str) -> str:
    if band == "unknown":  # a case that came by transfer without its identity group
        return _("Age not known")
    return _("%(band)s years", band=band.replace("-", "–"))


def month_label(month: str) -> str:
    """"2026-03" as "marzo de 2026" / "March 2026"."""
    year, number = (int(part) for part in month.split("-"))
    return format_skeleton("yMMMM", date(year, number, 1), locale=get_locale() or "es")


def short_month_label(month: str) -> str:
    """"2026-03" as "mar" / "Mar": for a chart axis, where the year is shown apart."""
    year, number = (int(part) for part in month.split("-"))
    return format_skeleton("MMM", date(year, number, 1), locale=get_locale() or "es")


def _places(level: str) -> list[Location]:
    return list(db.session.scalars(sa.select(Location).where(Location.level == level)))


def country_options() -> list[Option]:
    return by_label((loc.code, _country_label(loc)) for loc in _places(LocationLevel.COUNTRY))


def _by_country(level: str, describe: Callable[[Location], str],
                country: str | None) -> Grouped:
    countries = {code: name for code, name in country_options()}
    groups: dict[str, list[Option]] = {}
    for loc in _places(level):
        code = loc.code.split("-")[0]
        if country is None or code == country:
            groups.setdefault(code, []).append((loc.code, describe(loc)))
    return [(countries.get(code, code), by_label(pairs)) for code, pairs in
            sorted(groups.items(), key=lambda item: collation_key(countries.get(item[0],
                                                                               item[0])))]


def division_options(country: str | None = None) -> Grouped:
    """Divisions by country; only that country's when one is chosen (a place elsewhere
    would only ever count nobody)."""
    return _by_country(LocationLevel.DIVISION, lambda loc: loc.name, country)


def site_options(country: str | None = None) -> Grouped:
    """Sites by country, or of the chosen country; the division follows the name, since
    names repeat (Panamá)."""
    divisions = {loc.code: loc.name for loc in _places(LocationLevel.DIVISION)}

    def describe(loc: Location) -> str:
        division = divisions.get(loc.parent_code or "")
        return f"{loc.name} ({division})" if division and division != loc.name else loc.name

    return _by_country(LocationLevel.SITE, describe, country)


def nationality_options() -> list[Option]:
    from fieldapp.cases.choices import country_name
    from fieldapp.cases.inputs import nationality_codes

    return by_label((code, country_name(code)) for code in nationality_codes())


def stage_options() -> list[Option]:
    return _vocabulary(case_vocab.STAGES)


def sex_options() -> list[Option]:
    return _vocabulary(case_vocab.SEXES)


def age_band_options() -> list[Option]:
    return [(band, _age_band_label(band)) for band in case_vocab.AGE_BANDS]


def group_options() -> list[Option]:
    return _vocabulary(GROUP_LABELS)


def flag_options() -> list[Option]:
    return _vocabulary(case_vocab.FLAG_LABELS)


def unmet_need_options() -> list[Option]:
    return flag_options()


def referral_status_options() -> list[Option]:
    return _vocabulary(referral_vocab.STATUSES)


def service_type_options() -> list[Option]:
    return _vocabulary(referral_vocab.SERVICE_TYPES)


# A select of a decade of months is the most a person scrolls through.
MAX_MONTHS = 120


def last_complete_month(now: datetime | None = None) -> str:
    """The last month that has ended, on the app's clock (`fieldapp.clock`): statistics
    count complete months only. The current month is almost always small (a few days of
    registrations), and differencing a period that ends with it against one that ends
    the month before gives its few people away (issue 10); it is counted once it ends."""
    today = (now or clock.now()).date()
    previous = today.year * 12 + today.month - 2
    return f"{previous // 12:04d}-{previous % 12 + 1:02d}"


def month_options() -> list[Option]:
    """The months that hold cases, from the first registration to the last complete
    month, oldest first. The first month is one index seek per organization
    (ix_cases_stats)."""
    from fieldapp.accounts.models import Organization
    from fieldapp.cases.models import Case

    first_of_each = (
        sa.select(sa.func.min(Case.registered_month))
        .where(Case.organization_id == Organization.id, Case.registered_month > "")
        .correlate(Organization).scalar_subquery())
    per_org = sa.select(first_of_each.label("first")).select_from(Organization).subquery()
    first = db.session.scalar(sa.select(sa.func.min(per_org.c.first)))
    year, number = (int(part) for part in last_complete_month().split("-"))
    last = year * 12 + number - 1
    start = last
    if first and MONTH_RE.match(first):
        year, number = (int(part) for part in first.split("-"))
        start = max(min(year * 12 + number - 1, last), last - MAX_MONTHS + 1)
    months = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(start, last + 1)]
    return [(month, month_label(month)) for month in months]


OPTIONS: dict[str, Callable[[], list[Option] | Grouped]] = {
    "country": country_options, "division": division_options, "site": site_options,
    "nationality": nationality_options, "stage": stage_options, "sex": sex_options,
    "age_band": age_band_options, "group": group_options, "flag": flag_options,
    "unmet_need": unmet_need_options, "referral_status": referral_status_options,
    "service_type": service_type_options, "month": month_options,
}


def options(dim: str, *, country: str | None = None) -> Grouped:
    """Any dimension's choices as groups, for one template loop: a flat list is one
    group without a label. Divisions and sites narrow to `country` when given."""
    if dim == "division":
        return division_options(country)
    if dim == "site":
        return site_options(country)
    return [("", OPTIONS[dim]())]  # type: ignore[list-item]
