"""Keyset pagination: opaque, signed positions in a list ordered by (rank, time, id).

A cursor holds where a page ends (or starts) in the list's order and nothing else: the
row's rank, its time to the microsecond and its id, whether it leads forward or back,
and the number of the page it leads to (a label for display). No personal data. It is
signed (HMAC-SHA256 under a key derived from the app's SECRET_KEY and the list's name),
so a changed or made-up cursor is refused instead of read; it grants nothing, since the
query that reads it applies the caller's visibility as always.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app

_VERSION = 1
# version, direction (1 forward, 0 back), page label, rank, microseconds since 1970, id
_LAYOUT = struct.Struct(">BBIhq16s")
_MAC_BYTES = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# base64url without padding of the layout and its MAC
TOKEN_LENGTH = -(-(_LAYOUT.size + _MAC_BYTES) * 4 // 3)


class BadCursor(ValueError):
    """Not a cursor this app issued for this list (malformed, changed, or another key)."""


@dataclass(frozen=True)
class Position:
    """A place between two rows: after the row with this key (forward) or before it."""

    rank: int
    at: datetime
    id: uuid.UUID
    forward: bool = True
    page: int = 1  # the number of the page this position leads to, counted along the walk


def _key(purpose: str) -> bytes:
    secret = current_app.secret_key
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not secret:
        raise RuntimeError("SECRET_KEY is needed to sign list cursors")
    return hmac.new(secret, b"fieldapp keyset cursor/" + purpose.encode("ascii"),
                    hashlib.sha256).digest()


def encode(position: Position, *, purpose: str) -> str:
    micros = (position.at - _EPOCH) // timedelta(microseconds=1)
    raw = _LAYOUT.pack(_VERSION, 1 if position.forward else 0, min(position.page, 2**32 - 1),
                       position.rank, micros, position.id.bytes)
    mac = hmac.new(_key(purpose), raw, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(raw + mac).rstrip(b"=").decode("ascii")


def decode(token: str, *, purpose: str) -> Position:
    """The position a cursor holds; BadCursor for anything this app did not issue."""
    if len(token) != TOKEN_LENGTH or not token.isascii():
        raise BadCursor("length")
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise BadCursor("encoding") from None
    raw, mac = blob[:_LAYOUT.size], blob[_LAYOUT.size:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(
            mac, hmac.new(_key(purpose), raw, hashlib.sha256).digest()[:_MAC_BYTES]):
        raise BadCursor("signature")
    version, direction, page, rank, micros, id_bytes = _LAYOUT.unpack(raw)
    if version != _VERSION or direction not in (0, 1) or page < 1:
        raise BadCursor("content")
    try:
        at = _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise BadCursor("content") from None
    return Position(rank=rank, at=at, id=uuid.UUID(bytes=id_bytes), forward=direction == 1,
                    page=page)
