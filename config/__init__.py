"""Settings per environment. Defaults live here; the environment overrides them.

`load_config(name)` returns a plain dict so that `create_app` can apply test
overrides on top. Nothing here is read at import time of the application.

Between the defaults and the environment sits the instance settings file
(`<instance>/fieldapp.env`, `KEY=value` lines, mode 0600) that `make run`
writes once: it says `FIELDAPP_ENV=development` and keeps a random
`SECRET_KEY`, so that the `flask` commands of a development checkout need no
variables set by hand. Environment variables win over it.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - refused in production
INSTANCE_SETTINGS_FILE = "fieldapp.env"


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


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
    # How many reverse proxies in front of the app add to X-Forwarded-For (and set
    # X-Forwarded-Proto). 0: the header is never believed and the client address is
    # the socket's; behind one TLS proxy, 1.
    FIELDAPP_TRUSTED_PROXIES = 0

    # Argon2id parameters (argon2-cffi defaults are RFC 9106's low-memory profile).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    PASSWORD_MIN_LENGTH = 12

    LANGUAGES = ("es", "pt_BR", "en")
    BABEL_DEFAULT_LOCALE = "es"
    BABEL_DEFAULT_TIMEZONE = "UTC"

    MAX_CONTENT_LENGTH = 2 * 1024 * 1024

    # The address people reach the app at (`https://fieldapp.example.org`): links in
    # e-mails are built from it. Required when MAIL_SERVER is set.
    FIELDAPP_BASE_URL: str | None = None
    # E-mail notices of referrals (fieldapp/notices). No MAIL_SERVER: notices are off,
    # nothing is queued or sent.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USE_TLS = True  # STARTTLS before anything else is said
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER: str | None = None  # e.g. "fieldapp <notices@example.org>"
    MAIL_TIMEOUT = 10  # seconds, per SMTP operation
    # A failed send is tried again after 1, 2, 4... minutes (at most 6 hours apart);
    # after NOTICE_MAX_ATTEMPTS it is kept as failed (`flask notices list`).
    NOTICE_MAX_ATTEMPTS = 10
    NOTICE_RETRY_SECONDS = 60

    # Roles whose users must set up a second factor (TOTP or a passkey) before reaching
    # anything else (FIELDAPP_2FA_REQUIRED_ROLES, comma-separated; empty or "none": no
    # role must). Every user may set one up whatever this says.
    TWO_FACTOR_REQUIRED_ROLES: tuple[str, ...] = (
        "admin", "org_admin", "case_manager", "supervisor")

    # PostgreSQL: test each pooled connection with a round trip before a request uses it
    # (FIELDAPP_DB_PRE_PING=0 turns it off). It costs about 25 µs of CPU and one round
    # trip per request (docs/benchmarks.md) and saves the request that would otherwise
    # meet a connection the server, a proxy or a firewall closed while it sat idle.
    DATABASE_PRE_PING = True


class DevelopmentConfig(BaseConfig):
    SESSION_COOKIE_SECURE = False  # served over plain http on 127.0.0.1
    FIELDAPP_GENERATE_KEY_FILE = True
    FIELDAPP_DEMO_DATA = True
    TWO_FACTOR_REQUIRED_ROLES: tuple[str, ...] = ()  # the demo logs in with a password


class TestingConfig(BaseConfig):
    TESTING = True
    SESSION_COOKIE_SECURE = False
    FIELDAPP_GENERATE_KEY_FILE = True
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8192
    ARGON2_PARALLELISM = 1
    LOGIN_RATE_LIMIT_CLIENT = "10000 per minute"
    LOGIN_RATE_LIMIT_ACCOUNT = "10000 per minute"
    TWO_FACTOR_REQUIRED_ROLES: tuple[str, ...] = ()  # the policy's tests set it


class ProductionConfig(BaseConfig):
    pass


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

def _whole_number(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("negative")
    return number


def _port(value: str) -> int:
    number = int(value)
    if not 0 < number < 65536:
        raise ValueError("not a port")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("not positive")
    return number


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def _switch(value: str) -> bool:
    """On or off, said plainly: anything else is refused rather than read as off."""
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError("neither on nor off")


ROLE_NAMES = ("admin", "org_admin", "supervisor", "case_manager", "field_worker",
              "service_provider")


def _role_list(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if names in ((), ("none",)):
        return ()
    if any(n not in ROLE_NAMES for n in names):
        raise ValueError("unknown role")
    return names


# Environment variable -> (setting, parser)
_ENV_OVERRIDES: dict[str, tuple[str, Callable[[str], Any]]] = {
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
    "FIELDAPP_TRUSTED_PROXIES": ("FIELDAPP_TRUSTED_PROXIES", _whole_number),
    "FIELDAPP_BASE_URL": ("FIELDAPP_BASE_URL", str),
    "MAIL_SERVER": ("MAIL_SERVER", str),
    "MAIL_PORT": ("MAIL_PORT", _port),
    "MAIL_USE_TLS": ("MAIL_USE_TLS", _flag),
    "MAIL_USERNAME": ("MAIL_USERNAME", str),
    "MAIL_PASSWORD": ("MAIL_PASSWORD", str),
    "MAIL_DEFAULT_SENDER": ("MAIL_DEFAULT_SENDER", str),
    "MAIL_TIMEOUT": ("MAIL_TIMEOUT", _positive),
    "NOTICE_MAX_ATTEMPTS": ("NOTICE_MAX_ATTEMPTS", _positive),
    "FIELDAPP_2FA_REQUIRED_ROLES": ("TWO_FACTOR_REQUIRED_ROLES", _role_list),
    "FIELDAPP_DB_PRE_PING": ("DATABASE_PRE_PING", _switch),
}
# Settings for which an empty value means something (no role must use 2FA), instead of
# "not set".
_EMPTY_ALLOWED = frozenset({"FIELDAPP_2FA_REQUIRED_ROLES"})


def load_config(name: str | None = None, *,
                instance_path: str | Path | None = None) -> dict[str, Any]:
    """Settings for environment `name` (default: $FIELDAPP_ENV, else the instance
    settings file's, else production)."""
    variables: dict[str, str] = {}
    if instance_path is not None:
        variables.update(read_instance_settings(instance_path))
    variables.update({k: v for k, v in os.environ.items() if v != "" or k in _EMPTY_ALLOWED})
    name = name or variables.get("FIELDAPP_ENV") or "production"
    if name not in CONFIGS:
        raise ConfigurationError(f"Refusing to start: FIELDAPP_ENV is {name!r}, which is "
                                 f"none of {', '.join(sorted(CONFIGS))}")
    cls = CONFIGS[name]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    settings["FIELDAPP_ENV"] = name
    for env_name, (key, parse) in _ENV_OVERRIDES.items():
        raw = variables.get(env_name)
        if raw is None:
            continue
        try:
            settings[key] = parse(raw)
        except ValueError:
            raise ConfigurationError(
                f"Refusing to start: {env_name} has a value that is not valid here") from None
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


# -- the instance settings file ----------------------------------------------------

def _instance_settings_names() -> set[str]:
    return {"FIELDAPP_ENV", *_ENV_OVERRIDES}


def read_instance_settings(instance_path: str | Path) -> dict[str, str]:
    """`KEY=value` lines of `<instance>/fieldapp.env`, if there is one.

    It may hold a SECRET_KEY: like the key file, it is refused when others can read it.
    """
    path = Path(instance_path) / INSTANCE_SETTINGS_FILE
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"Refusing to start: the settings file {path} is readable "
                                 f"by others (mode {mode:o}); run: chmod 600 {path}")
    allowed = _instance_settings_names()
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or name not in allowed:
            raise ConfigurationError(f"Refusing to start: line {number} of {path} is not a "
                                     f"known NAME=value setting")
        values[name] = value.strip()
    return values


def write_instance_settings(instance_path: str | Path) -> Path | None:
    """Create `<instance>/fieldapp.env` (mode 0600) for development, once.

    Returns its path, or None when it exists already (it is never overwritten:
    changing SECRET_KEY would end every session).
    """
    path = Path(instance_path) / INSTANCE_SETTINGS_FILE
    settings = {"FIELDAPP_ENV": "development", "SECRET_KEY": secrets.token_urlsafe(48)}
    text = ("# Written once by `make run`: settings for the `flask` commands of this checkout.\n"
            "# Environment variables win over these lines. Keep this file to yourself.\n"
            + "".join(f"{k}={v}\n" for k, v in settings.items()))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
