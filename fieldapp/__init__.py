"""fieldapp: case management and referrals for people on the move.

`create_app(overrides)` builds the application: configuration, extensions,
blueprints, CLI. Nothing else happens at import time.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import (
    DEFAULT_SECRET_KEY,
    ConfigurationError,
    load_config,
    write_instance_settings,
)

# gunicorn's "App failed to load" status: its master stops instead of starting
# workers that fail the same way forever.
EXIT_CONFIGURATION = 4


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    folder = instance_folder()
    app = Flask(__name__, instance_path=str(folder), instance_relative_config=False)
    # The instance folder holds the SQLite database, the development key file and the
    # instance settings (a SECRET_KEY): its owner's only.
    _make_private_folder(folder)
    settings = load_config((overrides or {}).get("FIELDAPP_ENV"), instance_path=folder)
    settings.update(overrides or {})
    app.config.update(settings)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(folder / "fieldapp.sqlite3")
    if not app.config.get("FIELDAPP_KEY_FILE"):
        app.config["FIELDAPP_KEY_FILE"] = str(folder / "fieldapp-keys.json")
    _check_safety(app)
    _check_mail(app)
    _protect_sqlite_file(app)
    _trust_proxies(app)
    _configure_logging(app)
    _init_extensions(app)
    _configure_templates(app)
    _register_blueprints(app)
    return app


def create_app_or_exit(overrides: dict[str, Any] | None = None) -> Flask:
    """create_app for wsgi.py and the `flask` command: a configuration problem ends
    the process with its one-sentence reason on stderr, not a traceback."""
    from fieldapp.crypto import KeyRingError

    try:
        return create_app(overrides)
    except (ConfigurationError, KeyRingError) as exc:
        print(f"fieldapp: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIGURATION) from None


def instance_folder() -> Path:
    """$FIELDAPP_INSTANCE_PATH, else Flask's instance folder for this package."""
    configured = os.environ.get("FIELDAPP_INSTANCE_PATH")
    if configured:
        return Path(configured).resolve()
    return Path(Flask(__name__).instance_path)


def prepare_instance() -> Path | None:
    """What `make run` does first: a private instance folder with development settings
    and a random SECRET_KEY (written once; returns the file's path when it wrote it)."""
    folder = instance_folder()
    _make_private_folder(folder)
    written = write_instance_settings(folder)
    if written:
        print(f"fieldapp: wrote {written} (mode 0600): development settings and a random "
              "SECRET_KEY for the flask commands of this checkout", file=sys.stderr)
    return written


def _make_private_folder(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) != 0o700:
            folder.chmod(0o700)
    except OSError as exc:
        raise ConfigurationError(f"Refusing to start: the instance folder {folder} cannot "
                                 f"be made private to its owner ({exc.strerror})") from None


def _sqlite_file(app: Flask) -> Path | None:
    """The SQLite database file, as Flask-SQLAlchemy will resolve it (None: not a file)."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.query.get("uri"):
        return None
    path = Path(url.database)
    return path if path.is_absolute() else Path(app.instance_path) / path


def _protect_sqlite_file(app: Flask) -> None:
    """The SQLite file holds password hashes, ciphertext and the audit trail: 0600.

    Created empty with that mode before SQLite opens it (SQLite gives its WAL and
    shared-memory files the database's mode); an existing one is narrowed in
    development and testing, and refused in production.
    """
    path = _sqlite_file(app)
    if path is None:
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    except FileNotFoundError:
        return  # no such folder: SQLite itself will say so
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return
    if app.config["FIELDAPP_ENV"] == "production":
        raise ConfigurationError(f"Refusing to start: the SQLite database {path} is readable "
                                 f"by group or others (mode {mode:o}); run: chmod 600 {path}")
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        if (path.parent / name).exists():
            (path.parent / name).chmod(0o600)


def _trust_proxies(app: Flask) -> None:
    """Behind N proxies, the client address and scheme come from X-Forwarded-*."""
    count = app.config.get("FIELDAPP_TRUSTED_PROXIES", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ConfigurationError("Refusing to start: FIELDAPP_TRUSTED_PROXIES must be a "
                                 "whole number (0: no proxy is trusted)")
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def _check_safety(app: Flask) -> None:
    if app.config["FIELDAPP_ENV"] != "production":
        return
    problems = []
    key = app.config.get("SECRET_KEY") or ""
    if key == DEFAULT_SECRET_KEY or len(key) < 32:
        problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
    if app.config.get("FIELDAPP_DEMO_DATA"):
        problems.append("demo data is refused in production (unset FIELDAPP_DEMO_DATA)")
    if app.config.get("FIELDAPP_GENERATE_KEY_FILE"):
        problems.append("production never generates a key file; create it with "
                        "`flask keys generate` and keep a copy apart from the database")
    if int(app.config.get("STATS_K", 5)) < 3:
        problems.append("STATS_K may not be below 3")
    if not app.config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE must be on in production")
    if problems:
        raise ConfigurationError("Refusing to start: " + "; ".join(problems))


def _check_mail(app: Flask) -> None:
    """E-mail notices need a sender and the app's own address (their only content is a
    link to it); without MAIL_SERVER they are off and nothing else is asked."""
    if not app.config.get("MAIL_SERVER"):
        return
    problems = []
    if not app.config.get("MAIL_DEFAULT_SENDER"):
        problems.append("MAIL_DEFAULT_SENDER must be set when MAIL_SERVER is")
    base = urlsplit(app.config.get("FIELDAPP_BASE_URL") or "")
    if base.scheme not in ("http", "https") or not base.netloc or base.query or base.fragment:
        problems.append("FIELDAPP_BASE_URL must be the app's address, such as "
                        "https://fieldapp.example.org, when MAIL_SERVER is set")
    if problems:
        raise ConfigurationError("Refusing to start: " + "; ".join(problems))


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        # The development server's access log prints full URLs, query strings included
        # (the API contract allows ?q=<name>): keep it quiet.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _init_extensions(app: Flask) -> None:
    from fieldapp import authz, edge, errors, http_security, i18n
    from fieldapp.accounts import sessions
    from fieldapp.database_setup import configure_engine, sqlite_engine_options
    from fieldapp.extensions import csrf, db, keys, limiter, login_manager, migrate

    engine_options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    engine_options.setdefault("hide_parameters", True)  # no values in error messages
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        for k, v in sqlite_engine_options().items():
            engine_options.setdefault(k, v)
    else:
        engine_options.setdefault("pool_pre_ping", bool(app.config["DATABASE_PRE_PING"]))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options

    keys.init_app(app)
    _load_rules(app)
    db.init_app(app)
    with app.app_context():
        configure_engine(app, db.engine)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    sessions.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    edge.init_app(app)
    http_security.init_app(app)
    app.before_request(authz.enforce_route_rule)
    app.context_processor(authz.template_helpers)

    # Models must be imported so that metadata (and Alembic) knows every table.
    import fieldapp.models  # noqa: F401


def _load_rules(app: Flask) -> None:
    """The risk rule set, validated now: a broken file stops the app with its reason."""
    from fieldapp.risk import RuleSetError, load_rule_set

    try:
        app.extensions["fieldapp.rules"] = load_rule_set(app.config.get("RISK_RULES_PATH"))
    except RuleSetError as exc:
        raise ConfigurationError(f"Refusing to start: the risk rule set is broken: {exc}") \
            from exc


def _configure_templates(app: Flask) -> None:
    from fieldapp.forms_support import error_summary_entries

    app.jinja_env.add_extension("jinja2.ext.do")
    # For the error_summary macro, which is imported without the request's context.
    app.jinja_env.globals["error_summary_entries"] = error_summary_entries


def _register_blueprints(app: Flask) -> None:
    from fieldapp.accounts.admin_views import bp as admin_bp
    from fieldapp.accounts.cli import bp as accounts_cli
    from fieldapp.accounts.cli import orgs_bp as organizations_cli
    from fieldapp.accounts.views import bp as accounts_bp
    from fieldapp.api import bp as api_bp
    from fieldapp.audit.cli import bp as audit_cli
    from fieldapp.bench.cli import bp as bench_cli
    from fieldapp.cases.cli import bp as cases_cli
    from fieldapp.cases.views import bp as cases_bp
    from fieldapp.demo.cli import bp as demo_cli
    from fieldapp.intake.views import bp as intake_bp
    from fieldapp.keyops.cli import bp as keys_cli
    from fieldapp.notices.cli import bp as notices_cli
    from fieldapp.referrals.cli import bp as referrals_cli
    from fieldapp.referrals.views import bp as referrals_bp
    from fieldapp.risk.views import bp as risk_bp
    from fieldapp.stats.cli import bp as stats_cli
    from fieldapp.stats.views import bp as stats_bp
    from fieldapp.transfers.views import bp as transfers_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(risk_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(intake_bp)
    app.register_blueprint(transfers_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(accounts_cli)
    app.register_blueprint(organizations_cli)
    app.register_blueprint(audit_cli)
    app.register_blueprint(bench_cli)
    app.register_blueprint(cases_cli)
    app.register_blueprint(keys_cli)
    app.register_blueprint(demo_cli)
    app.register_blueprint(referrals_cli)
    app.register_blueprint(notices_cli)
    app.register_blueprint(stats_cli)
