"""Key rotation (resumable), verification and retirement; crypto-shredding of backups."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.cases.models import Case, CaseKey
from fieldapp.crypto import CryptoManager, DecryptionError, KeyRing, WrappedKey
from fieldapp.extensions import db, keys
from fieldapp.keyops import services as keyops


@pytest.fixture
def own_keyring(app, tmp_path):
    """Run the test on a key file of its own, restored afterwards."""
    original = keys.ring.path
    backup = tmp_path / "original-keys.json"
    shutil.copy2(original, backup)
    yield
    shutil.copy2(backup, original)
    keys.reload()


def _kek_ids() -> set[str]:
    return set(db.session.scalars(sa.select(CaseKey.kek_id)))


def _names() -> list[str]:
    db.session.expire_all()
    return sorted(c.given_name for c in db.session.scalars(sa.select(Case)))


def test_rotate_then_verify(own_keyring, make, register):
    worker = make.user(Role.FIELD_WORKER)
    for i in range(5):
        register(worker, given_name=f"Persona {i}")
    old = keys.ring.primary
    result = keyops.rotate(batch=2)
    assert not result.resumed and result.rewrapped == 5
    assert keys.ring.primary == result.kek_id != old
    assert _kek_ids() == {result.kek_id}
    report = keyops.verify()
    assert report.records == 5 and report.failures == [] and report.fields >= 5 * 6
    assert _names() == [f"Persona {i}" for i in range(5)]


def test_interrupted_rotation_resumes(own_keyring, make, register, monkeypatch):
    worker = make.user(Role.FIELD_WORKER)
    for i in range(7):
        register(worker, given_name=f"Persona {i}")
    real_rewrap = CryptoManager.rewrap
    calls = {"n": 0}

    def flaky(self, wrapped, **kw):
        calls["n"] += 1
        if calls["n"] > 4:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or a crash
        return real_rewrap(self, wrapped, **kw)

    monkeypatch.setattr(CryptoManager, "rewrap", flaky)
    with pytest.raises(KeyboardInterrupt):
        keyops.rotate(batch=2)
    db.session.rollback()
    new_primary = keys.ring.primary
    assert len(_kek_ids()) == 2  # two batches done under the new key, the rest under the old
    monkeypatch.setattr(CryptoManager, "rewrap", real_rewrap)
    result = keyops.rotate(batch=2)
    assert result.resumed and result.kek_id == new_primary and result.rewrapped == 3
    assert _kek_ids() == {new_primary}
    assert keyops.verify().failures == []


def test_retire_refused_while_in_use_then_allowed(own_keyring, make, register):
    register(make.user())
    old = keys.ring.primary
    with pytest.raises(keyops.RetireRefused, match="primary"):
        keyops.retire(old)
    # A rotation that has not re-wrapped anything yet leaves the old key in use.
    ring = keys.ring
    keys.save(KeyRing(primary="kek-new", keks={**ring.keks, "kek-new": b"n" * 32},
                      index_key=ring.index_key, audit_key=ring.audit_key))
    with pytest.raises(keyops.RetireRefused, match="still wraps 1"):
        keyops.retire(old)
    keyops.rotate()
    keyops.retire(old)
    assert old not in keys.ring.keks
    assert _names() == ["María José"]


def test_backup_becomes_unreadable_once_its_key_is_retired(own_keyring, make, register):
    case = register(make.user())
    old = WrappedKey(case.key.kek_id, case.key.wrapped)  # as in last night's backup
    keyops.rotate()
    assert keys.crypto.unwrap(old, owner="case", owner_id=str(case.id))  # still readable
    keyops.retire(old.kek_id)
    with pytest.raises(DecryptionError):
        keys.crypto.unwrap(old, owner="case", owner_id=str(case.id))


def test_verify_reports_broken_records_by_id_only(make, register):
    a = register(make.user())
    b = register(make.user(), given_name="Otra")
    b.notes_enc = a.notes_enc  # moved ciphertext
    db.session.commit()
    report = keyops.verify()
    assert report.failures == [f"cases {b.id} notes"]


def test_keys_cli(own_keyring, app, make, register):
    register(make.user())
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["keys", "list"])
    assert "(primary): wraps 1 data key(s)" in listed.output
    old = keys.ring.primary
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    verified = runner.invoke(args=["keys", "verify"])
    assert verified.exit_code == 0 and "0 failure(s)" in verified.output
    assert runner.invoke(args=["keys", "retire", keys.ring.primary]).exit_code != 0
    assert runner.invoke(args=["keys", "retire", old]).exit_code == 0


def test_cases_cli_erase_and_purge(app, make, register):
    case = register(make.user())
    runner = app.test_cli_runner()
    out = runner.invoke(args=["cases", "erase", case.reference, "--yes"])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).erased
    again = runner.invoke(args=["cases", "erase", case.reference, "--yes"])
    assert again.exit_code != 0
    purge = runner.invoke(args=["cases", "purge", "--closed-before", "2020-01-01"])
    assert purge.exit_code == 0 and "Erased 0 case(s)" in purge.output
