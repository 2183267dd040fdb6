"""Settings per environment. Defaults live here; the environment overrides them.

`load_config(name)` returns a plain dict so that `create_app` can apply test
overrides on top. Nothing here is read at import time of the application.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - refused in production


class BaseConfig:
    SECRET_KEY = DEFAULT_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None  # None: SQLite in the instance folder
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Key ring (KEKs, blind-index key, audit MAC key). None: <instance>/fieldapp-keys.json
    FIELDAPP_KEY_FILE: str | None = None
    FIELDAPP_GENERATE_KEY_FILE = False
    FIELDAPP_DEMO_DATA = False
    # Blind indexes keep this many bits of the HMAC, so that at a million cases a
    # value shares its index with about one other: the index alone confirms nobody.
    BLIND_INDEX_BITS = 20
    # Statistics: counts from 1 to STATS_K - 1 are suppressed (never below 3; 10 for
    # tables of the most sensitive flags).
    STATS_K = 5

    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    SESSION_COOKIE_NAME = "fieldapp_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 3600 * 12

    API_TOKEN_TTL = timedelta(hours=8)

    # Login throttling (Flask-Limiter syntax). Per client address, and per account
    # (counting failures only). The database lockout below caps failures per account
    # across every process: LOGIN_LOCKOUT_THRESHOLD failures lock the account for
    # LOGIN_LOCKOUT_DURATION, so at most 4 x 10 = 40 failures an hour can ever happen.
    LOGIN_RATE_LIMIT_CLIENT = "20 per minute;200 per hour"
    LOGIN_RATE_LIMIT_ACCOUNT = "5 per minute;30 per hour"
    LOGIN_LOCKOUT_THRESHOLD = 10
    LOGIN_LOCKOUT_DURATION = timedelta(minutes=15)
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False

    # Argon2id parameters (argon2-cffi defaults are RFC 9106's low-memory profile).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    PASSWORD_MIN_LENGTH = 12

    LANGUAGES = ("es", "pt_BR", "en")
    BABEL_DEFAULT_LOCALE = "es"
    BABEL_DEFAULT_TIMEZONE = "UTC"

    MAX_CONTENT_LENGTH = 2 * 1024 * 1024


class DevelopmentConfig(BaseConfig):
    SESSION_COOKIE_SECURE = False  # served over plain http on 127.0.0.1
    FIELDAPP_GENERATE_KEY_FILE = True
    FIELDAPP_DEMO_DATA = True


class TestingConfig(BaseConfig):
    TESTING = True
    SESSION_COOKIE_SECURE = False
    FIELDAPP_GENERATE_KEY_FILE = True
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8192
    ARGON2_PARALLELISM = 1
    LOGIN_RATE_LIMIT_CLIENT = "10000 per minute"
    LOGIN_RATE_LIMIT_ACCOUNT = "10000 per minute"


class ProductionConfig(BaseConfig):
    pass


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

# Environment variable -> (setting, parser)
_ENV_OVERRIDES: dict[str, tuple[str, Any]] = {
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "FIELDAPP_KEY_FILE": ("FIELDAPP_KEY_FILE", str),
    "FIELDAPP_DEMO_DATA": ("FIELDAPP_DEMO_DATA", lambda v: v.lower() in ("1", "true", "yes")),
    "SESSION_IDLE_TIMEOUT_MINUTES": ("SESSION_IDLE_TIMEOUT", lambda v: timedelta(minutes=int(v))),
    "SESSION_ABSOLUTE_TIMEOUT_HOURS": (
        "SESSION_ABSOLUTE_TIMEOUT",
        lambda v: timedelta(hours=int(v)),
    ),
    "API_TOKEN_TTL_HOURS": ("API_TOKEN_TTL", lambda v: timedelta(hours=int(v))),
    "STATS_K": ("STATS_K", int),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "LOGIN_RATE_LIMIT_CLIENT": ("LOGIN_RATE_LIMIT_CLIENT", str),
    "LOGIN_RATE_LIMIT_ACCOUNT": ("LOGIN_RATE_LIMIT_ACCOUNT", str),
}


def load_config(name: str | None = None) -> dict[str, Any]:
    """Settings for environment `name` (default: $FIELDAPP_ENV, else production)."""
    name = name or os.environ.get("FIELDAPP_ENV", "production")
    if name not in CONFIGS:
        raise RuntimeError(f"Unknown FIELDAPP_ENV {name!r}; use one of {sorted(CONFIGS)}")
    cls = CONFIGS[name]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    settings["FIELDAPP_ENV"] = name
    for env_name, (key, parse) in _ENV_OVERRIDES.items():
        raw = os.environ.get(env_name)
        if raw not in (None, ""):
            settings[key] = parse(raw)
    if settings.get("SQLALCHEMY_DATABASE_URI"):
        settings["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(
            settings["SQLALCHEMY_DATABASE_URI"]
        )
    return settings


def normalize_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
