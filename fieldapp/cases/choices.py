"""Choice lists for case forms, in the language of the request."""

from __future__ import annotations

import gettext
from functools import lru_cache

import pycountry
import sqlalchemy as sa
from flask_babel import get_locale
from wtforms import SelectChoice

from fieldapp.cases import vocab
from fieldapp.extensions import db
from fieldapp.forms_support import choices
from fieldapp.locations.models import Location, LocationLevel

# Nationalities most often met in this context come first.
COMMON_NATIONALITIES = ("VEN", "COL", "ECU", "PER", "BRA", "CHL", "HTI", "CUB", "BOL")


@lru_cache(maxsize=8)
def _country_names(locale: str) -> dict[str, str]:
    try:
        tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale]).gettext
    except OSError:
        tr = str
    return {c.alpha_3: tr(getattr(c, "common_name", None) or c.name)
            if getattr(c, "common_name", None) and tr(c.common_name) != c.common_name
            else tr(c.name) for c in pycountry.countries}


def country_name(alpha3: str) -> str:
    if alpha3 in vocab.SPECIAL_NATIONALITIES:
        return str(vocab.SPECIAL_NATIONALITIES[alpha3])
    return _country_names(str(get_locale() or "es")).get(alpha3, alpha3)


def nationality_choices() -> list[SelectChoice]:
    names = _country_names(str(get_locale() or "es"))
    first = [(code, names[code]) for code in COMMON_NATIONALITIES]
    special = [(k, str(v)) for k, v in vocab.SPECIAL_NATIONALITIES.items()]
    rest = sorted(((c, n) for c, n in names.items() if c not in COMMON_NATIONALITIES),
                  key=lambda cn: cn[1])
    return choices(first + special + rest)


def location_choices(*, countries_too: bool = False) -> list[SelectChoice]:
    """Sites and divisions (and, for filters, whole countries), grouped by country."""
    rows = db.session.scalars(sa.select(Location).order_by(Location.code)).all()
    countries = {r.code: r.name for r in rows if r.level == LocationLevel.COUNTRY}
    divisions = {r.code: r.name for r in rows if r.level == LocationLevel.DIVISION}
    out = []
    for r in rows:
        if r.level == LocationLevel.COUNTRY:
            if countries_too:
                out.append(SelectChoice(r.code, r.name, optgroup=r.name))
            continue
        country = r.code.split("-")[0]
        label = r.name if r.level == LocationLevel.DIVISION else \
            f"{r.name} ({divisions.get(r.parent_code or '', r.parent_code)})"
        out.append(SelectChoice(r.code, label, optgroup=countries.get(country, country)))
    return out


def location_name(code: str) -> str:
    loc = db.session.get(Location, code)
    return loc.name if loc else code
