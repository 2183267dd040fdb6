"""The MAC chain itself: canonical encoding of an event and its HMAC-SHA256.

Kept free of Flask and the database so the rule is easy to check by eye.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

GENESIS_MAC = "0" * 64


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def canonical(
    *,
    seq: int,
    occurred_at: datetime,
    actor_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    allowed: bool,
    details: str,
    prev_mac: str,
) -> bytes:
    fields = [
        seq,
        _ts(occurred_at),
        _id(actor_id),
        _id(organization_id),
        action,
        object_type,
        object_id,
        bool(allowed),
        details,
        prev_mac,
    ]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def compute_mac(key: bytes, **fields: object) -> str:
    return hmac.new(key, canonical(**fields), hashlib.sha256).hexdigest()  # type: ignore[arg-type]


def macs_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
