"""?page= on the HTML list pages: any number a link or a person types is read, never a
500 (a page number past a 64-bit OFFSET broke both databases). Out of range is the first
page (below 1, malformed) or page MAX_PAGE (above it), as fieldapp.paging says."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext

from fieldapp.accounts.roles import Role
from fieldapp.paging import MAX_PAGE, page_number

HUGE = "10000000000000000000000"

# Every HTML page that lists rows (those that read ?page= and those that do not yet).
LIST_PAGES = ["/cases", "/referrals?box=inbox", "/referrals?box=outbox", "/services",
              "/transfers", "/admin/users", "/admin/organizations", "/intake/outbox",
              "/intake/devices", "/stats"]
PAGES = [HUGE, "-" + HUGE, "-5", "0", "1e400", str(MAX_PAGE + 1), "+3", "x", ""]


@pytest.mark.parametrize("value", PAGES)
@pytest.mark.parametrize("path", LIST_PAGES)
def test_every_list_page_reads_any_page_number(client, auth, register, path, value):
    user = auth(*tuple(Role))
    register(user)
    joiner = "&" if "?" in path else "?"
    response = client.get(f"{path}{joiner}page={value}")
    assert response.status_code == 200, (path, value, response.status_code)


def test_a_page_past_the_bound_is_the_last_allowed_page(client, auth, register):
    user = auth(*tuple(Role))
    case = register(user)
    first = client.get("/cases?page=-" + HUGE).get_data(as_text=True)
    assert case.reference in first
    huge = client.get("/cases?page=" + HUGE).get_data(as_text=True)
    with force_locale("es"):
        empty = gettext("No cases here yet.")
    assert case.reference not in huge and empty in huge


@pytest.mark.parametrize(("raw", "page"), [
    (None, 1), ("", 1), ("1", 1), ("7", 7), (" 7 ", 7), ("+7", 7), ("007", 7), ("0", 1),
    ("-1", 1), ("-" + HUGE, 1), (HUGE, MAX_PAGE), (str(MAX_PAGE), MAX_PAGE),
    (str(MAX_PAGE + 1), MAX_PAGE), ("0" * 50 + "3", 3), ("9" * 100_000, MAX_PAGE),
    ("1e400", 1), ("1.5", 1), ("x", 1), ("٣", 1), ("１", 1), ("1_000", 1)])
def test_page_number(raw, page):
    assert page_number({} if raw is None else {"page": raw}) == page
