"""PostgreSQL's connection test before each request (pool_pre_ping): on unless
FIELDAPP_DB_PRE_PING turns it off (docs/benchmarks.md, "Load test", lever 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

import config
from fieldapp import create_app
from fieldapp.extensions import db

POSTGRES = "postgresql://fieldapp@127.0.0.1:5432/never_connected"


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("FIELDAPP_ENV", "FIELDAPP_KEYRING", *config._ENV_OVERRIDES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def _engine_options(**overrides: object) -> dict:
    app = create_app({"FIELDAPP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": POSTGRES,
                      **overrides})
    with app.app_context():
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        assert db.engine.pool._pre_ping is options["pool_pre_ping"]
        db.engine.dispose()
    return options


def test_postgresql_pings_pooled_connections_by_default(instance):
    assert _engine_options()["pool_pre_ping"] is True


def test_the_ping_can_be_turned_off(instance, monkeypatch):
    assert _engine_options(DATABASE_PRE_PING=False)["pool_pre_ping"] is False
    monkeypatch.setenv("FIELDAPP_DB_PRE_PING", "0")
    assert _engine_options()["pool_pre_ping"] is False
    monkeypatch.setenv("FIELDAPP_DB_PRE_PING", "on")
    assert _engine_options()["pool_pre_ping"] is True


def test_engine_options_given_outright_win(instance):
    options = _engine_options(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False})
    assert options["pool_pre_ping"] is False


def test_a_value_that_is_neither_on_nor_off_is_refused(instance, monkeypatch):
    monkeypatch.setenv("FIELDAPP_DB_PRE_PING", "sometimes")
    with pytest.raises(config.ConfigurationError, match="FIELDAPP_DB_PRE_PING"):
        config.load_config("testing")
