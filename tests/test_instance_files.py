"""The instance folder, its SQLite database and its settings file are their owner's only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

import config
from fieldapp import ConfigurationError, create_app, prepare_instance
from fieldapp.crypto import KeyRing
from fieldapp.extensions import db

STRONG_SECRET = "y" * 48


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance folder of its own, and none of the developer's variables."""
    for name in ("FIELDAPP_ENV", "FIELDAPP_KEYRING", *config._ENV_OVERRIDES):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "instance"
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(folder))
    return folder


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


def test_new_instance_folder_and_sqlite_database_are_private(instance):
    old = os.umask(0o022)  # the usual umask, under which files default to 0644
    try:
        app = create_app({"FIELDAPP_ENV": "testing"})
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        _dispose(app)
    finally:
        os.umask(old)
    assert _mode(instance) == 0o700
    files = sorted(instance.iterdir())
    assert instance / "fieldapp.sqlite3" in files
    for path in files:  # the database, its WAL and shared memory, the key file
        assert _mode(path) & 0o077 == 0, f"{path.name} is {_mode(path):o}"


def test_existing_instance_folder_is_made_private(instance):
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)  # noqa: S103 - the state being repaired
    _dispose(create_app({"FIELDAPP_ENV": "testing"}))
    assert _mode(instance) == 0o700


def test_existing_readable_database_is_narrowed_in_development(instance):
    instance.mkdir(mode=0o700)
    database = instance / "fieldapp.sqlite3"
    database.touch()
    os.chmod(database, 0o644)
    _dispose(create_app({"FIELDAPP_ENV": "development"}))
    assert _mode(database) == 0o600


def test_relative_sqlite_path_lives_in_the_instance_folder(instance):
    _dispose(create_app({"FIELDAPP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite:///rel.db"}))
    assert _mode(instance / "rel.db") == 0o600


def test_production_refuses_a_sqlite_database_others_can_read(instance, tmp_path):
    KeyRing.generate().save(tmp_path / "keys.json")
    database = tmp_path / "prod.sqlite3"
    database.touch()
    os.chmod(database, 0o640)
    settings = {"FIELDAPP_ENV": "production", "SECRET_KEY": STRONG_SECRET,
                "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(database),
                "FIELDAPP_KEY_FILE": str(tmp_path / "keys.json")}
    with pytest.raises(ConfigurationError, match="readable by group or others") as refused:
        create_app(settings)
    assert "chmod 600" in str(refused.value)
    assert _mode(database) == 0o640  # production reports; it does not quietly fix
    os.chmod(database, 0o600)
    _dispose(create_app(settings))


def test_prepare_instance_writes_private_development_settings_once(instance):
    written = prepare_instance()
    assert written == instance / "fieldapp.env"
    assert _mode(instance) == 0o700 and _mode(written) == 0o600
    values = config.read_instance_settings(instance)
    assert values["FIELDAPP_ENV"] == "development"
    assert len(values["SECRET_KEY"]) >= 48
    assert values["SECRET_KEY"] != config.DEFAULT_SECRET_KEY
    before = written.read_text()
    assert prepare_instance() is None
    assert written.read_text() == before


def test_instance_settings_sit_under_the_environment_and_the_overrides(instance, monkeypatch):
    prepare_instance()
    secret = config.read_instance_settings(instance)["SECRET_KEY"]
    app = create_app()
    assert app.config["FIELDAPP_ENV"] == "development"
    assert app.config["SECRET_KEY"] == secret
    _dispose(app)
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("FIELDAPP_ENV", "testing")
    app = create_app()
    assert (app.config["FIELDAPP_ENV"], app.config["SECRET_KEY"]) == ("testing", STRONG_SECRET)
    _dispose(app)
    app = create_app({"SECRET_KEY": "z" * 40})
    assert app.config["SECRET_KEY"] == "z" * 40
    _dispose(app)


def test_instance_settings_others_can_read_are_refused(instance):
    written = prepare_instance()
    os.chmod(written, 0o644)
    with pytest.raises(ConfigurationError, match="readable by others"):
        create_app()


def test_unknown_line_in_instance_settings_is_refused(instance):
    written = prepare_instance()
    written.write_text(written.read_text() + "SECRET_KYE=typo\n")
    with pytest.raises(ConfigurationError, match="line 5"):
        create_app()
