"""Continuity codes as people read them, type them and as the database keeps them.

A code is 15 random characters of Crockford's base32 (no I, L, O or U, so nothing
reads as another letter or a word) plus one check character: 75 random bits, shown
in four groups of four, `7KQ4-M2XD-9TWR-AB3C`. The check character (Luhn mod 32)
catches a mistyped or swapped character before the code is looked up, so a typo
costs the worker no throttled attempt and tells nobody anything (the checksum is
public).

The database keeps only a keyed hash of the code: HMAC-SHA256 under a key derived
from the key ring's blind-index key, which lives outside the database. A thief of
the database cannot test guesses offline; the code itself is shown once, at issue.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from fieldapp.extensions import keys

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
RANDOM_CHARS = 15  # 15 x 5 = 75 random bits
LENGTH = RANDOM_CHARS + 1  # and the check character
GROUP = 4
# What people and keyboards turn these characters into (Crockford's decoding rules).
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―_.·]+")
_HASH_LABEL = b"fieldapp-continuity-code"


def _check_char(body: str) -> str:
    """Luhn mod 32 over the body: every single wrong character and nearly every swap of
    two neighbours changes it."""
    n = len(ALPHABET)
    total, factor = 0, 2
    for ch in reversed(body):
        addend = factor * ALPHABET.index(ch)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_code() -> str:
    """A fresh code, canonical form (16 characters, no dashes)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return body + _check_char(body)


def normalize_code(text: str) -> str | None:
    """What a person typed, as the canonical code; None when it cannot be one.

    Case, spaces and dashes do not matter; O reads as 0, I and L as 1. A wrong
    length, a character outside the alphabet (U included) or a wrong check
    character gives None.
    """
    if not isinstance(text, str) or len(text) > 64:
        return None
    canonical = _SEPARATORS.sub("", text).upper().translate(_LOOKALIKES)
    if len(canonical) != LENGTH or any(ch not in ALPHABET for ch in canonical):
        return None
    if _check_char(canonical[:-1]) != canonical[-1]:
        return None
    return canonical


def format_code(raw: str) -> str:
    """`7KQ4M2XD9TWRAB3C` -> `7KQ4-M2XD-9TWR-AB3C`, for reading aloud and printing.
    Text that is not a code is grouped as it is (normalize first to check it)."""
    canonical = normalize_code(raw) or _SEPARATORS.sub("", str(raw)).upper()
    return "-".join(canonical[i:i + GROUP] for i in range(0, len(canonical), GROUP))


def code_hash(canonical: str) -> bytes:
    """HMAC-SHA256 of the canonical code under a subkey of the blind-index key.

    The subkey is HMAC(index key, "fieldapp-continuity-code"), so these hashes can
    never be confused with blind indexes, and without the key file they cannot be
    recomputed from a guess.
    """
    subkey = hmac.new(keys.ring.index_key, _HASH_LABEL, hashlib.sha256).digest()
    return hmac.new(subkey, canonical.encode("ascii"), hashlib.sha256).digest()
