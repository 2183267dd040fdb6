"""Writing audit events into the chain, and verifying the chain.

`record` adds an event to the current transaction, so an action that is rolled
back leaves no trace of having happened. Denials and failed logins are
recorded by callers that first roll back whatever the request did and then
commit the event on its own (see `fieldapp.authz.deny`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fieldapp.audit.chain import GENESIS_MAC, compute_mac, macs_equal
from fieldapp.audit.models import AuditEvent
from fieldapp.db import utcnow
from fieldapp.extensions import db, keys

# Any constant: the advisory lock that serializes appends to the chain on PostgreSQL.
_CHAIN_LOCK_ID = 7_340_211

# Keys whose values might carry personal data are refused outright.
_FORBIDDEN_DETAIL_KEYS = frozenset(
    {"name", "given_name", "family_name", "email", "password", "phone", "document",
     "date_of_birth", "notes", "note", "reason_text", "query", "q"}
)


class AuditDetailError(ValueError):
    """An audit event was given a detail that could carry personal data."""


# Built once: every audited request runs these (on the session's connection, without
# the ORM's flush and execution steps, which the chain does not need).
_LOCK = sa.text("SELECT pg_advisory_xact_lock(:k)")
_HEAD = sa.select(AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.seq.desc()).limit(1)
_APPEND = sa.insert(AuditEvent)


def _lock_chain(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"k": _CHAIN_LOCK_ID})
    # SQLite: every transaction begins IMMEDIATE (see fieldapp.database_setup), so
    # the writer already holds the database's single write lock.


def _head(connection: sa.Connection) -> tuple[int, str]:
    row = connection.execute(_HEAD).first()
    return (0, GENESIS_MAC) if row is None else (row.seq, row.mac)


def record(
    action: str,
    *,
    actor: Any = None,
    organization_id: uuid.UUID | None = None,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    allowed: bool = True,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an event to the chain within the current transaction."""
    details = details or {}
    bad = _FORBIDDEN_DETAIL_KEYS.intersection(details)
    if bad:
        raise AuditDetailError(f"audit details may not contain {sorted(bad)}")
    actor_id = getattr(actor, "id", None)
    if organization_id is None and actor is not None:
        organization_id = getattr(actor, "organization_id", None)
    details_text = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)
    connection = db.session.connection()
    _lock_chain(connection)
    seq, prev_mac = _head(connection)
    fields = dict(
        seq=seq + 1,
        occurred_at=utcnow(),
        actor_id=actor_id,
        organization_id=organization_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        allowed=allowed,
        details=details_text,
        prev_mac=prev_mac,
    )
    mac = compute_mac(keys.ring.audit_key, **fields)
    # A plain INSERT: cheaper than the unit of work, and the row is never updated.
    connection.execute(_APPEND, {**fields, "mac": mac})


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_seq: int
    head_mac: str
    broken_seq: int | None = None
    problem: str | None = None


@contextmanager
def _events() -> Iterator[Iterator[AuditEvent]]:
    """All events in order, fetched in batches; the cursor is closed however we leave."""
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    result = db.session.scalars(stmt)
    try:
        yield iter(result)
    finally:
        result.close()


def verify(key: bytes, checkpoint: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the chain from the first event; report the first broken link.

    With a checkpoint (sequence number and MAC kept elsewhere) also detect a
    truncated or rebuilt chain: the event at that sequence must still exist and
    carry that MAC.
    """
    checkpoint_seen = checkpoint is not None and checkpoint[0] == 0
    with _events() as events:
        return _walk(key, events, checkpoint, checkpoint_seen)


def _walk(key: bytes, events: Iterator[AuditEvent], checkpoint: tuple[int, str] | None,
          checkpoint_seen: bool) -> VerifyResult:
    expected_seq, prev_mac, count = 1, GENESIS_MAC, 0
    for ev in events:
        fields = dict(
            seq=ev.seq, occurred_at=ev.occurred_at, actor_id=ev.actor_id,
            organization_id=ev.organization_id, action=ev.action,
            object_type=ev.object_type, object_id=ev.object_id, allowed=ev.allowed,
            details=ev.details, prev_mac=ev.prev_mac,
        )
        if ev.seq != expected_seq:
            return VerifyResult(False, count, expected_seq - 1, prev_mac, expected_seq,
                                f"event {expected_seq} is missing (found {ev.seq} next)")
        if not macs_equal(ev.prev_mac, prev_mac):
            return VerifyResult(False, count, expected_seq - 1, prev_mac, ev.seq,
                                "does not link to the previous event")
        if not macs_equal(ev.mac, compute_mac(key, **fields)):
            return VerifyResult(False, count, expected_seq - 1, prev_mac, ev.seq,
                                "content does not match its MAC (edited)")
        if checkpoint and ev.seq == checkpoint[0]:
            if not macs_equal(ev.mac, checkpoint[1]):
                return VerifyResult(False, count, ev.seq, ev.mac, ev.seq,
                                    "differs from the checkpoint (chain rebuilt)")
            checkpoint_seen = True
        count += 1
        prev_mac = ev.mac
        expected_seq += 1
    if checkpoint and not checkpoint_seen:
        return VerifyResult(False, count, expected_seq - 1, prev_mac, checkpoint[0],
                            "the checkpoint's event is gone (chain truncated)")
    return VerifyResult(True, count, expected_seq - 1, prev_mac)


def checkpoint() -> tuple[int, str]:
    """The current head of the chain: keep it somewhere the database's owner cannot edit."""
    return _head(db.session.connection())


def parse_checkpoint(text: str) -> tuple[int, str]:
    seq_text, _, mac = text.strip().partition(":")
    if not seq_text.isdigit() or len(mac) != 64:
        raise ValueError("a checkpoint looks like 1234:<64 hex digits>")
    return int(seq_text), mac.lower()


def list_events(
    *,
    organization_id: uuid.UUID | None,
    object_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> tuple[list[AuditEvent], int]:
    """Events newest first; `organization_id` None means every organization."""
    stmt = sa.select(AuditEvent)
    if organization_id is not None:
        stmt = stmt.where(AuditEvent.organization_id == organization_id)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(AuditEvent.seq.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total
