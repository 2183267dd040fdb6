"""After login and after a language switch only a path of this site is followed.

Each hostile `next` is one a browser would (or might) take to another site; each
kept one stays on this site wherever a browser resolves it.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import pytest

from fieldapp.http_redirects import local_path
from tests.conftest import PASSWORD, csrf_from, csrf_token

HOSTILE = [
    "//evil.example/x",
    "///evil.example/x",
    "////evil.example",
    "/\t/evil.example/x",           # browsers drop tabs and newlines anywhere
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "/\\evil.example",              # browsers read a backslash as a slash
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "/x/\\..\\..\\/evil.example",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "evil.example/login",
    "  //evil.example",             # leading spaces
    "\x00//evil.example",           # leading control characters
    "\x1f//evil.example",
    "\u3000//evil.example",         # a non-ASCII space
    "/\x00/evil.example",           # a control character inside
    "/\x85/evil.example",
    "//evil.example@localhost/",
    "//%65vil.example",
    "//[evil",
    "",
]

# Kept: each names a path of this site, and stays here however a browser reads it.
KEPT = [
    ("/cases?status=open", "/cases?status=open"),
    ("  /cases/7\t", "/cases/7"),
    ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),   # an encoded slash is no slash
    ("/%5Cevil.example", "/%5Cevil.example"),          # nor is an encoded backslash
    ("/%09/evil.example", "/%09/evil.example"),        # ...or an encoded tab, in a form field
    ("/./evil.example", "/./evil.example"),
]

BASE = "https://fieldapp.example/login"


def _stays_here(location: str) -> bool:
    return urlsplit(urljoin(BASE, location)).netloc == "fieldapp.example"


def _went_home(response, target: str) -> None:
    # A request carrying a NUL byte may be refused outright (400): no redirect at all.
    if "\x00" in target:
        assert response.status_code in (302, 400)
    else:
        assert response.status_code == 302
    assert response.headers.get("Location", "/") == "/"


@pytest.mark.parametrize("target", HOSTILE)
def test_local_path_refuses_other_sites(target):
    assert local_path(target) is None


@pytest.mark.parametrize(("target", "expected"), KEPT)
def test_local_path_keeps_paths_of_this_site(target, expected):
    assert local_path(target) == expected
    assert _stays_here(expected)


@pytest.mark.parametrize("target", HOSTILE)
def test_login_does_not_follow_other_sites(client, make, target):
    user = make.user()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token, "next": target})
    _went_home(response, target)


@pytest.mark.parametrize(("target", "expected"), KEPT)
def test_login_follows_paths_of_this_site(client, make, target, expected):
    user = make.user()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token, "next": target})
    assert response.headers["Location"] == expected
    assert _stays_here(response.headers["Location"])


def test_login_next_from_the_query_string_with_an_encoded_tab(client, make):
    """The reported case: ?next=/%09/evil.example/x arrives as "/<TAB>/evil.example/x"."""
    user = make.user()
    page = client.get("/login?next=/%09/evil.example/x").get_data(as_text=True)
    hidden = re.search(r'name="next" type="hidden" value="([^"]*)"', page)
    assert hidden and html.unescape(hidden.group(1)) == "/\t/evil.example/x"
    response = client.post("/login", data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page),
        "next": html.unescape(hidden.group(1))})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE)
def test_language_switch_does_not_follow_other_sites(client, target):
    response = client.post("/language", data={"csrf_token": csrf_token(client),
                                              "language": "en", "next": target})
    _went_home(response, target)


@pytest.mark.parametrize(("target", "expected"), KEPT)
def test_language_switch_follows_paths_of_this_site(client, target, expected):
    response = client.post("/language", data={"csrf_token": csrf_token(client),
                                              "language": "en", "next": target})
    assert response.headers["Location"] == expected
