"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

MAX_LENGTH = 256


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def burn_verify_time(password: str) -> None:
    """Spend about the time of a real check, so an unknown account is not faster."""
    cfg = current_app.config
    verify_password(
        _timing_hash(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"]),
        password,
    )


@lru_cache(maxsize=4)
def _timing_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
    ).hash("fieldapp-timing-equalizer")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("fieldapp.accounts").joinpath("common-passwords.txt").read_text(
        encoding="utf-8"
    )
    return frozenset(
        _fold(line) for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def policy_errors(password: str, *, email: str = "") -> list[str]:
    """Reasons the password is refused (translated lazily); empty when acceptable."""
    errors = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        errors.append(_l("Use at least %(n)d characters.", n=minimum))
    if len(password) > MAX_LENGTH:
        errors.append(_l("Use at most %(n)d characters.", n=MAX_LENGTH))
    folded = _fold(password)
    if folded in common_passwords() or len(set(folded)) <= 2:
        errors.append(_l("This password is too common or too easy to guess."))
    local = _fold(email.partition("@")[0])
    if len(local) >= 4 and local in folded:
        errors.append(_l("The password may not contain your email address."))
    return errors
