"""Opening hours of a service: HSDS schedule rows (`{"byday": "MO,TU", "opens_at":
"08:00", "closes_at": "16:00"}`, weekly, local time of the service), their checks and
their words on pages and slips."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

# iCal's day codes (HSDS `byday`), in the order of the week.
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_ROWS = 7
TIME = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$")


def day_name(code: str) -> str:
    """The day's name in the request's language (from the CLDR, through Babel)."""
    return str(get_day_names("wide", locale=str(get_locale() or "es"))[DAY_CODES.index(code)])


# Labels for forms, resolved in the language of the request that shows them.
DAYS: dict[str, LazyString] = {code: LazyString(day_name, code) for code in DAY_CODES}


def parse_schedule(value: Any, err: Callable[[str, Any], None]) -> list[dict[str, str]]:
    """Checked rows, each day list in week order; problems go to `err(name, message)`
    under `schedule`, `schedule.<i>.byday`, `schedule.<i>.opens_at` or `.closes_at`."""
    if value is None:
        return []
    if not isinstance(value, list):
        err("schedule", _l("Must be a list."))
        return []
    if len(value) > MAX_ROWS:
        err("schedule", _l("At most %(n)d rows of opening hours.", n=MAX_ROWS))
        return []
    rows = []
    for i, row in enumerate(value):
        name = f"schedule.{i}"
        if not isinstance(row, dict):
            err(name, _l("Must be an object."))
            continue
        days = _days(row.get("byday"))
        if days is None:
            err(f"{name}.byday", _l("Choose at least one day."))
        times = []
        for key in ("opens_at", "closes_at"):
            text = row.get(key)
            if not isinstance(text, str) or not TIME.match(text.strip()):
                err(f"{name}.{key}", _l("Give a time as HH:MM (24 hours), for example "
                                        "08:30."))
                times.append(None)
            else:
                times.append(text.strip())
        opens, closes = times
        if opens and closes and opens >= closes:
            err(f"{name}.closes_at", _l("The closing time must be after the opening time."))
        if days and opens and closes and opens < closes:
            rows.append({"byday": ",".join(days), "opens_at": opens, "closes_at": closes})
    return rows


def _days(value: Any) -> list[str] | None:
    """`"MO,TU"` (HSDS) -> ["MO", "TU"]; None when empty, unknown or repeated."""
    if not isinstance(value, str):
        return None
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    if not codes or len(set(codes)) != len(codes) or set(codes) - set(DAY_CODES):
        return None
    return sorted(codes, key=DAY_CODES.index)


def rows_of(stored: str | None) -> list[dict[str, str]]:
    """The stored JSON list, or nothing when it is unreadable (never an error page)."""
    try:
        rows = json.loads(stored or "[]")
    except ValueError:
        return []
    return [r for r in rows if isinstance(r, dict) and _days(r.get("byday"))
            and isinstance(r.get("opens_at"), str) and isinstance(r.get("closes_at"), str)] \
        if isinstance(rows, list) else []


def describe_days(byday: str) -> str:
    """`MO,TU,WE,TH,FR,SA` -> "Monday to Friday, Saturday"; runs of three days or more
    become a range."""
    codes = _days(byday) or []
    runs: list[list[str]] = []
    for code in codes:
        if runs and DAY_CODES.index(code) == DAY_CODES.index(runs[-1][-1]) + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    parts = []
    for run in runs:
        if len(run) >= 3:
            # Translators: a run of days of the week, "Monday to Friday" (names given).
            parts.append(_("%(first)s to %(last)s", first=day_name(run[0]),
                           last=day_name(run[-1])))
        else:
            parts.extend(day_name(c) for c in run)
    return ", ".join(parts)


def describe(rows: list[dict[str, str]]) -> list[str]:
    """One line per row, in the request's language: "Monday to Friday: 08:00–16:00"."""
    # Translators: opening hours, "Monday to Friday: 08:00–16:00" (24-hour times).
    return [_("%(days)s: %(opens)s–%(closes)s", days=describe_days(r["byday"]),
              opens=r["opens_at"], closes=r["closes_at"]) for r in rows]
