"""The audit chain: every kind of tampering is caught by `flask audit verify`."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from fieldapp.audit import services as audit
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db, keys


def _fill(n: int = 6) -> None:
    for i in range(n):
        audit.record("test.event", object_type="thing", object_id=str(i),
                     details={"i": i})
    db.session.commit()


def _verify(checkpoint=None):
    return audit.verify(keys.ring.audit_key, checkpoint)


def test_untouched_chain_verifies(app):
    _fill()
    result = _verify()
    assert result.ok and result.count == 6 and result.head_seq == 6


def test_personal_detail_keys_are_refused(app):
    with pytest.raises(audit.AuditDetailError):
        audit.record("test.event", details={"family_name": "x"})


def test_edited_row_is_detected(app):
    _fill()
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 3)
                       .values(details=json.dumps({"i": 99})))
    db.session.commit()
    result = _verify()
    assert not result.ok and result.broken_seq == 3 and "edited" in result.problem


def test_edited_allowed_flag_is_detected(app):
    _fill()
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 2).values(allowed=False))
    db.session.commit()
    assert _verify().broken_seq == 2


def test_deleted_row_is_detected(app):
    _fill()
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 4))
    db.session.commit()
    result = _verify()
    assert not result.ok and result.broken_seq == 4 and "missing" in result.problem


def test_reordered_rows_are_detected(app):
    _fill()
    rows = {e.seq: e for e in db.session.scalars(sa.select(AuditEvent))}
    a, b = rows[2], rows[5]
    swap = ("occurred_at", "action", "object_type", "object_id", "details", "prev_mac", "mac")
    values_a = {k: getattr(a, k) for k in swap}
    values_b = {k: getattr(b, k) for k in swap}
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 2).values(**values_b))
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 5).values(**values_a))
    db.session.commit()
    result = _verify()
    assert not result.ok and result.broken_seq == 2


def test_truncation_is_detected_against_a_checkpoint(app):
    _fill()
    checkpoint = audit.checkpoint()
    assert checkpoint[0] == 6
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.seq >= 5))
    db.session.commit()
    assert _verify().ok  # a clean cut leaves a valid prefix...
    result = _verify(checkpoint)
    assert not result.ok and "truncated" in result.problem  # ...which the checkpoint exposes


def test_truncated_start_is_detected(app):
    _fill()
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.seq <= 2))
    db.session.commit()
    assert _verify().broken_seq == 1


def test_rebuilt_chain_is_detected_against_a_checkpoint(app):
    _fill(3)
    checkpoint = audit.checkpoint()
    # Someone who can write the database rebuilds the chain from scratch (without the key
    # they cannot, but even with it the checkpoint kept elsewhere differs).
    db.session.execute(sa.delete(AuditEvent))
    db.session.commit()
    for i in range(3):
        audit.record("test.event", object_type="thing", object_id=str(i), details={"i": i})
    db.session.commit()
    assert _verify().ok
    result = _verify(checkpoint)
    assert not result.ok and "rebuilt" in result.problem


def test_chain_made_with_another_key_fails(app):
    _fill(2)
    assert not audit.verify(b"k" * 32).ok


def test_verify_and_checkpoint_commands(app):
    _fill(3)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["audit", "checkpoint"])
    assert out.exit_code == 0
    checkpoint = out.output.strip()
    assert checkpoint.startswith("3:")
    ok = runner.invoke(args=["audit", "verify", "--checkpoint", checkpoint])
    assert ok.exit_code == 0 and ok.output.startswith("OK: 3 events")
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 3))
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify", "--checkpoint", checkpoint])
    assert broken.exit_code == 1 and "BROKEN at event 3" in broken.output
    bad = runner.invoke(args=["audit", "verify", "--checkpoint", "nonsense"])
    assert bad.exit_code == 2
