"""Login throttling behind a reverse proxy, shared by the HTML login and the API.

FIELDAPP_TRUSTED_PROXIES=N believes the last N hops of X-Forwarded-For (werkzeug's
ProxyFix); with 0 the header changes nothing. One bucket per client and one per
account serve both ways of logging in. Every 429 says when to come back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import load_config
from fieldapp import ConfigurationError, create_app
from fieldapp.extensions import db, limiter
from tests.conftest import IsolatedClient, login

PROXY = "10.0.0.1"  # the socket address every request comes from: the proxy's
WRONG = "wrong password here"


@contextmanager
def _limits(app: Flask, **limits: str) -> Iterator[None]:
    saved = {k: app.config[k] for k in limits}
    app.config.update(limits)
    limiter.reset()
    try:
        yield
    finally:
        app.config.update(saved)
        limiter.reset()


def _api_login(client, email: str, password: str = WRONG, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/v1/auth/tokens", json={"email": email, "password": password},
                       headers=headers, environ_base={"REMOTE_ADDR": PROXY})


def _html_login(client, email: str, password: str = WRONG, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    client.environ_base["REMOTE_ADDR"] = PROXY
    return login(client, email, password, **headers)


def _retry_after(response) -> int:
    value = response.headers.get("Retry-After", "")
    assert value.isdigit(), f"Retry-After {value!r}"
    return int(value)


@pytest.fixture
def proxied_app(app: Flask, database_url: str, instance_dir: Path) -> Iterator[Flask]:
    """The same app and database, configured as behind one TLS proxy."""
    behind = create_app({
        "FIELDAPP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
        "FIELDAPP_KEY_FILE": str(instance_dir / "keys.json"), "FIELDAPP_TRUSTED_PROXIES": 1,
    })
    behind.test_client_class = IsolatedClient
    yield behind
    with behind.app_context():
        db.engine.dispose()


def test_trusted_proxies_setting_from_the_environment(monkeypatch):
    monkeypatch.delenv("FIELDAPP_TRUSTED_PROXIES", raising=False)
    assert load_config("testing")["FIELDAPP_TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("FIELDAPP_TRUSTED_PROXIES", "2")
    assert load_config("testing")["FIELDAPP_TRUSTED_PROXIES"] == 2
    for bad in ("-1", "one", "1.5"):
        monkeypatch.setenv("FIELDAPP_TRUSTED_PROXIES", bad)
        with pytest.raises(ConfigurationError, match="FIELDAPP_TRUSTED_PROXIES"):
            load_config("testing")


def test_no_proxy_is_trusted_by_default(app):
    assert app.config["FIELDAPP_TRUSTED_PROXIES"] == 0
    assert not isinstance(app.wsgi_app, ProxyFix)


def test_forged_forwarded_for_does_not_escape_the_client_bucket(app, client, make):
    user = make.user()
    with _limits(app, LOGIN_RATE_LIMIT_CLIENT="3 per minute"):
        codes = [_html_login(client, user.email, forwarded=f"198.51.100.{i}").status_code
                 for i in range(3)]
        throttled = _api_login(client, user.email, forwarded="198.51.100.99")
    assert codes == [401, 401, 401]
    assert throttled.status_code == 429


def test_clients_behind_a_trusted_proxy_have_their_own_buckets(proxied_app, make):
    assert isinstance(proxied_app.wsgi_app, ProxyFix)
    user = make.user()
    first, second = proxied_app.test_client(), proxied_app.test_client()
    with _limits(proxied_app, LOGIN_RATE_LIMIT_CLIENT="3 per minute"):
        codes = [_html_login(first, user.email, forwarded="203.0.113.7").status_code
                 for _ in range(3)]
        first_again = _api_login(first, user.email, forwarded="203.0.113.7")
        other = _api_login(second, user.email, forwarded="203.0.113.8")
        # Only the last hop is the proxy's to vouch for: what the client put in
        # front of it does not pick a new bucket.
        spoofed = _api_login(first, user.email, forwarded="192.0.2.1, 203.0.113.7")
    assert codes == [401, 401, 401]
    assert first_again.status_code == 429 and _retry_after(first_again) > 0
    assert other.status_code == 401
    assert spoofed.status_code == 429


def test_trusted_proxy_passes_on_the_scheme(proxied_app):
    client = proxied_app.test_client()
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"},
                          environ_base={"REMOTE_ADDR": PROXY})
    assert "Strict-Transport-Security" in response.headers  # the request counts as https


def test_html_failures_count_against_the_api_for_the_same_account(app, client, make):
    user, other = make.user(), make.user()
    with _limits(app, LOGIN_RATE_LIMIT_ACCOUNT="2 per hour"):
        codes = [_html_login(client, user.email).status_code for _ in range(2)]
        api = _api_login(client, user.email)
        api_other = _api_login(client, other.email)
    assert codes == [401, 401]
    assert api.status_code == 429 and _retry_after(api) > 0
    assert api.get_json()["error"]["code"] == "throttled"
    assert api_other.status_code == 401


def test_api_failures_count_against_the_html_login_for_the_same_account(app, client, make):
    user = make.user()
    with _limits(app, LOGIN_RATE_LIMIT_ACCOUNT="2 per hour"):
        codes = [_api_login(client, user.email).status_code for _ in range(2)]
        html = _html_login(client, user.email)
        right_password = _html_login(client, user.email, "correct horse battery staple")
    assert codes == [401, 401]
    assert html.status_code == 429 and _retry_after(html) > 0
    assert right_password.status_code == 429  # the account's budget is spent either way


def test_the_client_bucket_is_shared_by_html_and_api(app, client, make):
    user = make.user()
    with _limits(app, LOGIN_RATE_LIMIT_CLIENT="3 per minute"):
        codes = [_api_login(client, user.email).status_code,
                 _html_login(client, user.email).status_code,
                 _api_login(client, user.email).status_code]
        html = _html_login(client, user.email)
    assert codes == [401, 401, 401]
    assert html.status_code == 429
    assert 0 < _retry_after(html) <= 60


def test_retry_after_counts_down_to_the_end_of_the_breached_window(app, client, make):
    user = make.user()
    with _limits(app, LOGIN_RATE_LIMIT_ACCOUNT="1 per hour"):
        _api_login(client, user.email)
        throttled = _api_login(client, user.email)
    assert throttled.status_code == 429
    assert 60 < _retry_after(throttled) <= 3600
