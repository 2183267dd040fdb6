"""What a phone's browser leaves on its disk: Debian's Chromium with a real profile
directory (as on a phone, not an in-memory context), a field worker registers two people
with the network cut, pausing as people do while they type, types a third person into
the fresh form and a note into a case's edit form without saving, and closes the browser.
Then every file of the profile is searched, as a thief with the phone would: none of the
typed values may be there, in UTF-8 or UTF-16, as text, hex or base64.

Chromium keeps the state of the forms in a tab's history in its session-restore files
(Default/Sessions) for every field it may "autocomplete": the forms that take what a
person tells are marked autocomplete="off" as a whole."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from fieldapp.demo import seed as demo
from fieldapp.extensions import db
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_offline_intake import (
    MEMBER_DOB,
    PASSWORD,
    _cases_by_api,
    _fill_person,
    _login,
    _ready_for_offline,
    _save_offline,
    _wait_for_empty_outbox,
    _wait_for_quiet_server,
)

pytestmark = pytest.mark.browser

PAUSE_MS = 4000  # a worker listens, asks again, types: Chromium saves the tab meanwhile

PERSON = {"given_name": "Maigualida Rosmery", "family_name": "Quintero Arrieche",
          "document_number": "V-19.876.543", "phone": "+57 311 555 0177",
          "address": "Bajo el puente de Tienditas",
          "notes": "Huyó de su pareja, no dar su paradero a nadie",
          "member": "Keiber Quintero"}
PERSON_DOB = "1987-11-23"
AGED = {"given_name": "Wuilmer Enrique", "family_name": "Tovar Landaeta",
        "notes": "Perdió la cédula en la trocha"}
AGED_AGE = "61"
# Typed into the fresh form after the second save, never saved.
UNSAVED = {"given_name": "Yulimar Andreína", "family_name": "Pacheco Guédez",
           "document_number": "E-44.556.677", "notes": "Llegó sola con dos niños"}
UNSAVED_DOB = "1999-08-30"
# Typed into the first person's edit form once the signal is back, never saved.
EDIT_NOTE = "Pidió cambiar de albergue por amenazas"


@pytest.fixture
def demo_users(app):
    demo.seed(PASSWORD, with_cases=False)
    db.session.commit()


def _encodings(value: str) -> list[bytes]:
    """The value as a file may hold it: UTF-8 and UTF-16 (both byte orders), and the hex
    and base64 of those (base64 at each of the three alignments, edges trimmed)."""
    raw = [value.encode("utf-8"), value.encode("utf-16-le"), value.encode("utf-16-be")]
    forms = list(raw)
    for data in raw:
        forms += [data.hex().encode(), data.hex().upper().encode()]
        for shift in range(3):
            text = base64.b64encode(b"\0" * shift + data)
            start = (shift * 8 + 5) // 6 if shift else 0
            forms.append(text[start:len(text) - 4])
    return forms


def _age_pattern(age: str) -> re.Pattern[bytes]:
    """Two digits are everywhere in a binary file: the age counts as found only near the
    field's name, as a saved form's state would hold it."""
    parts = []
    for codec in ("utf-8", "utf-16-le"):
        name, value = re.escape("age_years".encode(codec)), re.escape(age.encode(codec))
        parts.append(name + b".{0,200}?" + value)
    return re.compile(b"|".join(parts), re.S)


def _search(profile: Path, values: list[str], age: str | None = None) -> list[tuple[str, str]]:
    wanted = {value: _encodings(value) for value in values}
    age_pattern = _age_pattern(age) if age else None
    hits = []
    for path in sorted(profile.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        where = str(path.relative_to(profile))
        hits += [(where, value) for value, forms in wanted.items()
                 if any(form in data for form in forms)]
        if age_pattern and age_pattern.search(data):
            hits.append((where, f"age_years={age}"))
    return hits


def test_nothing_typed_stays_in_the_browser_profile_on_disk(
        live_server, browser, demo_users, app, tmp_path):
    profile = tmp_path / "profile"
    db.session.remove()  # hold no transaction open while the live server writes (SQLite)
    context = browser.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM,
        args=CHROMIUM_ARGS, locale="es-CO", viewport={"width": 360, "height": 740},
        extra_http_headers={"Accept-Language": "es-CO"})
    try:
        page = context.pages[0] if context.pages else context.new_page()
        _login(page, live_server)
        _ready_for_offline(page, live_server, app)
        context.set_offline(True)
        page.wait_for_timeout(1500)
        _wait_for_quiet_server()
        page.reload()

        _fill_person(page, PERSON, dob=PERSON_DOB)
        page.wait_for_timeout(PAUSE_MS)
        _save_offline(page, app)
        _fill_person(page, AGED, age=AGED_AGE)
        page.wait_for_timeout(PAUSE_MS)
        _save_offline(page, app)
        # The next person, typed into the fresh form and left there.
        page.get_by_label("Nombre(s) (obligatorio)", exact=True).fill(UNSAVED["given_name"])
        page.get_by_label("Apellido(s) (obligatorio)", exact=True).fill(
            UNSAVED["family_name"])
        page.locator("#date_of_birth").fill(UNSAVED_DOB)
        page.locator("#document_type").select_option("passport")
        page.locator("#document_number").fill(UNSAVED["document_number"])
        page.locator("#notes").fill(UNSAVED["notes"])
        page.wait_for_timeout(PAUSE_MS)

        # The signal returns; the records leave; a note typed into a case's edit form
        # (another page of the tab's history), never saved.
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        _wait_for_empty_outbox(page)
        _wait_for_quiet_server()
        found = _cases_by_api(app.test_client(),
                              f"{PERSON['given_name']} {PERSON['family_name']}")
        assert len(found) == 1 and found[0]["date_of_birth"] == PERSON_DOB
        db.session.remove()
        page.goto(f"{live_server}/cases/{found[0]['id']}/edit")
        page.locator("#notes").fill(EDIT_NOTE)
        page.wait_for_timeout(PAUSE_MS)
    finally:
        context.close()

    sessions = [p for p in (profile / "Default" / "Sessions").glob("*") if p.is_file()]
    assert sessions, "Chromium wrote no session-restore file: the search proves nothing"
    # The search does find what the browser keeps: the pages of the tab's history.
    assert _search(profile, [f"{live_server}/cases/new"]) != []
    values = [*PERSON.values(), PERSON_DOB, MEMBER_DOB, *AGED.values(), *UNSAVED.values(),
              UNSAVED_DOB, EDIT_NOTE]
    hits = _search(profile, values, age=AGED_AGE)
    assert not hits, "typed values on disk:\n" + "\n".join(f"{f}: {v!r}" for f, v in hits)
