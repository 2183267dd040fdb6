"""fieldapp: case management and referrals for people on the move.

`create_app(overrides)` builds the application: configuration, extensions,
blueprints, CLI. Nothing else happens at import time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask

from config import DEFAULT_SECRET_KEY, load_config


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    instance_path = os.environ.get("FIELDAPP_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=False,
    )
    settings = load_config((overrides or {}).get("FIELDAPP_ENV"))
    settings.update(overrides or {})
    app.config.update(settings)
    # The instance folder holds the SQLite database and the development key file.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            "sqlite:///" + str(Path(app.instance_path) / "fieldapp.sqlite3"))
    if not app.config.get("FIELDAPP_KEY_FILE"):
        app.config["FIELDAPP_KEY_FILE"] = str(Path(app.instance_path) / "fieldapp-keys.json")
    _check_safety(app)
    _configure_logging(app)
    _init_extensions(app)
    _configure_templates(app)
    _register_blueprints(app)
    return app


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


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        # The development server's access log prints full URLs, query strings included
        # (the API contract allows ?q=<name>): keep it quiet.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _init_extensions(app: Flask) -> None:
    from fieldapp import authz, errors, http_security, i18n
    from fieldapp.accounts import sessions
    from fieldapp.database_setup import configure_engine, sqlite_engine_options
    from fieldapp.extensions import csrf, db, keys, limiter, login_manager, migrate

    engine_options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    engine_options.setdefault("hide_parameters", True)  # no values in error messages
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        for k, v in sqlite_engine_options().items():
            engine_options.setdefault(k, v)
    else:
        engine_options.setdefault("pool_pre_ping", True)
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
    app.jinja_env.add_extension("jinja2.ext.do")


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
    from fieldapp.keyops.cli import bp as keys_cli
    from fieldapp.referrals.cli import bp as referrals_cli
    from fieldapp.referrals.views import bp as referrals_bp
    from fieldapp.stats.views import bp as stats_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(accounts_cli)
    app.register_blueprint(organizations_cli)
    app.register_blueprint(audit_cli)
    app.register_blueprint(bench_cli)
    app.register_blueprint(cases_cli)
    app.register_blueprint(keys_cli)
    app.register_blueprint(demo_cli)
    app.register_blueprint(referrals_cli)
