"""The intake key in the key ring: generated with the other keys, rotated with records
still sealed under the old key on phones, retired, listed; and the key-encryption keys
that wrap what waits for review."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fieldapp import clock, create_app
from fieldapp.accounts.roles import Role
from fieldapp.crypto import KeyRing, KeyRingError
from fieldapp.extensions import db, keys
from fieldapp.intake.models import IntakeRecord, IntakeRecordKey
from fieldapp.intake.services import MAX_CAPTURE_AGE
from fieldapp.keyops import services as keyops
from tests.cases.conftest import case_data
from tests.conftest import api_token
from tests.intake.conftest import seal


@pytest.fixture
def own_keyring(app, tmp_path):
    original = keys.ring.path
    backup = tmp_path / "original-keys.json"
    shutil.copy2(original, backup)
    yield
    shutil.copy2(backup, original)
    keys.reload()


def _post(client, token, record):
    return client.post("/api/v1/intake", json=record,
                       headers={"Authorization": f"Bearer {token}"})


def test_records_sealed_under_the_old_key_open_until_it_is_retired(
        own_keyring, client, make, intake_key):
    token = api_token(client, make.user(Role.FIELD_WORKER).email)
    old_kid = intake_key["kid"]
    # Three phones sealed records under the key of the day, then went out of signal.
    early, late, too_late = (seal(intake_key, case_data(given_name=f"Persona {i}"))
                             for i in range(3))
    new_kid = keyops.rotate_intake()
    assert new_kid != old_kid and keys.ring.intake_primary == new_kid
    served = client.get("/api/v1/intake/key").get_json()
    assert served["kid"] == new_kid and served["jwk"]["n"] != intake_key["jwk"]["n"]
    assert _post(client, token, early).status_code == 201
    # A phone that refreshed its key seals under the new one.
    assert _post(client, token, seal(served, case_data(given_name="Nueva"))).status_code == 201
    assert _post(client, token, late).status_code == 201
    with pytest.raises(keyops.RetireRefused, match="rotate-intake"):
        keyops.retire(new_kid)
    keyops.retire(old_kid, force=True)  # primary a moment ago: only forced
    assert old_kid not in keys.ring.intake_keys
    refused = _post(client, token, too_late)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "undecryptable"
    assert sorted(db.session.scalars(sa.select(IntakeRecord.kid))) == sorted(
        [old_kid, old_kid, new_kid])


def test_keys_cli_lists_rotates_and_retires_intake_keys(own_keyring, app, client, make,
                                                        intake_key):
    token = api_token(client, make.user(Role.FIELD_WORKER).email)
    assert _post(client, token, seal(intake_key, case_data())).status_code == 201
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["keys", "list"]).output
    assert f"{intake_key['kid']} (primary: phones seal under it): offline intake" in listed
    assert "opened 1 record(s)" in listed
    rotated = runner.invoke(args=["keys", "rotate-intake"])
    assert rotated.exit_code == 0 and keys.ring.intake_primary in rotated.output
    refused = runner.invoke(args=["keys", "retire", intake_key["kid"]])
    assert refused.exit_code != 0 and "--force" in refused.output
    assert intake_key["kid"] in keys.ring.intake_keys
    retired = runner.invoke(args=["keys", "retire", intake_key["kid"], "--force"])
    assert retired.exit_code == 0, retired.output
    assert "can no longer be opened" in retired.output
    assert intake_key["kid"] not in runner.invoke(args=["keys", "list"]).output


def test_an_intake_key_primary_within_the_capture_age_is_kept_unless_forced(
        own_keyring, monkeypatch, intake_key):
    """Phones out of signal keep sealing under the key they last fetched: retiring it
    before the accepted capture age has passed since the rotation would leave their
    records unreadable, so it takes --force."""
    old_kid = intake_key["kid"]
    rotated_at = clock.now()
    keyops.rotate_intake()
    assert keyops.intake_primary_until(old_kid) >= rotated_at - timedelta(seconds=1)
    later = rotated_at + MAX_CAPTURE_AGE - timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(keyops.RetireRefused, match="--force"):
        keyops.retire(old_kid)
    assert old_kid in keys.ring.intake_keys
    past = rotated_at + MAX_CAPTURE_AGE + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: past)
    keyops.retire(old_kid)
    assert old_kid not in keys.ring.intake_keys


def test_an_intake_key_with_no_known_rotation_time_is_kept_unless_forced(
        own_keyring, monkeypatch, intake_key):
    old_kid = intake_key["kid"]
    keyops.rotate_intake()
    keys.save(replace(keys.ring, created={**keys.ring.created, old_kid: ""}))
    monkeypatch.setattr(clock, "now", lambda: datetime(2100, 1, 1, tzinfo=UTC))
    with pytest.raises(keyops.RetireRefused, match="until an unknown date"):
        keyops.retire(old_kid)
    keyops.retire(old_kid, force=True)
    assert old_kid not in keys.ring.intake_keys


def test_kek_rotation_rewraps_what_waits_for_review_and_verify_opens_it(
        own_keyring, client, make, intake_key):
    token = api_token(client, make.user(Role.FIELD_WORKER).email)
    kept = _post(client, token, seal(intake_key, case_data(sex="none of these")))
    assert kept.status_code == 202
    old_kek = keys.ring.primary
    result = keyops.rotate()
    assert result.rewrapped >= 1
    assert set(db.session.scalars(sa.select(IntakeRecordKey.kek_id))) == {result.kek_id}
    keyops.retire(old_kek)
    report = keyops.verify()
    assert report.failures == [] and report.records >= 1
    record = db.session.scalar(sa.select(IntakeRecord))
    db.session.expire_all()
    assert json.loads(db.session.get(IntakeRecord, record.id).body)["sex"] == "none of these"


def test_generated_rings_carry_an_intake_key_and_old_ones_load_without(tmp_path):
    ring = KeyRing.generate()
    assert ring.intake_primary in ring.intake_keys
    loaded = KeyRing.from_json(ring.to_json())
    assert loaded.intake_keys == ring.intake_keys and loaded.intake_primary == ring.intake_primary
    old = json.loads(ring.to_json())
    del old["intake"]
    assert KeyRing.from_json(json.dumps(old)).intake_keys == {}
    broken = json.loads(ring.to_json())
    broken["intake"]["keys"][ring.intake_primary]["private_key"] = "-----BEGIN nonsense"
    with pytest.raises(KeyRingError, match="intake key"):
        KeyRing.from_json(json.dumps(broken))
    assert "PRIVATE" not in repr(ring)


def test_a_development_key_file_from_before_gets_an_intake_key(tmp_path, monkeypatch):
    monkeypatch.delenv("FIELDAPP_KEYRING", raising=False)
    doc = json.loads(KeyRing.generate().to_json())
    del doc["intake"]
    path = tmp_path / "keys.json"
    KeyRing.from_json(json.dumps(doc)).save(path)
    app = create_app({"FIELDAPP_ENV": "testing", "FIELDAPP_KEY_FILE": str(path),
                      "FIELDAPP_GENERATE_KEY_FILE": True,
                      "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "t.sqlite3")})
    with app.app_context():
        assert keys.ring.intake_primary in keys.ring.intake_keys
        db.engine.dispose()
    assert KeyRing.load(path).intake_keys
