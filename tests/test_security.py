"""Security settings that must hold: production refusals, headers, cookies, caching, CSRF."""

from __future__ import annotations

import os
import stat

import pytest

from fieldapp import ConfigurationError, create_app
from fieldapp.accounts.roles import Role
from fieldapp.crypto import KeyRing, KeyRingError
from tests.conftest import login

STRONG_SECRET = "x" * 48


def _prod(tmp_path, **overrides):
    settings = {"FIELDAPP_ENV": "production", "SECRET_KEY": STRONG_SECRET,
                "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "p.sqlite3"),
                "FIELDAPP_KEY_FILE": str(tmp_path / "keys.json")}
    settings.update(overrides)
    return create_app(settings)


def test_production_refuses_default_secret_key(tmp_path):
    KeyRing.generate().save(tmp_path / "keys.json")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        _prod(tmp_path, SECRET_KEY="dev-only-insecure-secret-key")


def test_production_refuses_short_secret_key(tmp_path):
    KeyRing.generate().save(tmp_path / "keys.json")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        _prod(tmp_path, SECRET_KEY="short")


def test_production_refuses_demo_data(tmp_path):
    KeyRing.generate().save(tmp_path / "keys.json")
    with pytest.raises(ConfigurationError, match="demo data"):
        _prod(tmp_path, FIELDAPP_DEMO_DATA=True)


def test_production_refuses_to_start_without_key_file(tmp_path):
    with pytest.raises(KeyRingError, match="No key file"):
        _prod(tmp_path)
    assert not (tmp_path / "keys.json").exists()  # and does not create one


def test_production_refuses_world_readable_key_file(tmp_path):
    path = tmp_path / "keys.json"
    KeyRing.generate().save(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyRingError, match="readable by others"):
        _prod(tmp_path)


def test_production_starts_with_safe_settings_and_secure_cookies(tmp_path):
    KeyRing.generate().save(tmp_path / "keys.json")
    app = _prod(tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_demo_seed_refused_in_production(tmp_path):
    from fieldapp.demo import seed

    KeyRing.generate().save(tmp_path / "keys.json")
    app = _prod(tmp_path)
    with app.app_context(), pytest.raises(seed.DemoRefused):
        seed.seed("whatever password 1")


def test_development_generates_key_file_mode_0600(tmp_path):
    path = tmp_path / "dev-keys.json"
    create_app({"FIELDAPP_ENV": "development", "FIELDAPP_KEY_FILE": str(path),
                "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "d.sqlite3")})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = KeyRing.load(path)
    assert len(ring.audit_key) == len(ring.index_key) == 32
    assert ring.audit_key != ring.index_key
    assert "key" not in repr(ring).replace("keks", "")


def test_security_headers_on_every_kind_of_response(client):
    for url in ("/login", "/static/app.css", "/no-such-page", "/api/v1/openapi.json"):
        response = client.get(url)
        response.close()
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "http" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_external_asset(client, make):
    login(client, make.user(Role.ADMIN).email)
    for url in ("/", "/admin/users", "/admin/organizations", "/account/password"):
        html = client.get(url).get_data(as_text=True)
        assert "<script" not in html and "style=" not in html
        assert "http://" not in html and "https://" not in html


def test_session_cookie_flags(client, make):
    user = make.user()
    response = login(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires" not in cookie  # a browser-session cookie: gone when the browser closes


def test_authenticated_pages_are_not_cached(client, make):
    login(client, make.user().email)
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_oversized_request_is_refused(client):
    response = client.post("/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413


def test_error_pages_do_not_echo_input(client):
    response = client.get("/no-such-page-<b>secret-name</b>")
    assert response.status_code == 404
    assert "secret-name" not in response.get_data(as_text=True)
