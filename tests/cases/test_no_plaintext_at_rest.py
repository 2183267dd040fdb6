"""No plaintext of an encrypted field reaches the database file, a dump, the logs or
the audit trail, in any encoding we might store it in."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from tests.cases.conftest import case_data
from tests.conftest import api_token

DISTINCTIVE = {
    "given_name": "Xiomara Filomena",
    "family_name": "Quintanilla Zurbarán",
    "document_number": "ZX98765432",
    "phone": "+57 319 876 5432",
    "address": "Calle Ficticia 123, Barrio Inventado",
    "notes": "Habló de una bodega en Calle Imaginaria",
    "member": "Eustaquio Quintanilla",
    "consent_note": "Acta de interés superior número 4471",
}


def _encodings(value: str) -> list[bytes]:
    raw = value.encode("utf-8")
    return [raw, value.encode("utf-16-le"), base64.b64encode(raw), raw.hex().encode(),
            base64.b64encode(value.lower().encode())] + (
        [value.encode("latin-1")] if all(ord(c) < 256 for c in value) else [])


def _register_distinctive(client, make) -> None:
    worker = make.user(Role.FIELD_WORKER)
    token = api_token(client, worker.email)
    body = case_data(
        given_name=DISTINCTIVE["given_name"], family_name=DISTINCTIVE["family_name"],
        document={"type": "passport", "number": DISTINCTIVE["document_number"]},
        phone=DISTINCTIVE["phone"], address=DISTINCTIVE["address"], notes=DISTINCTIVE["notes"],
        household=[{"given_name": DISTINCTIVE["member"], "sex": "male",
                    "relationship": "sibling"}],
        consent={"data_processing": True, "given_by": "self", "basis": "other",
                 "note": DISTINCTIVE["consent_note"]})
    response = client.post("/api/v1/cases", json=body,
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["id"]
    # Read, search, edit and close too, so every code path has written what it writes.
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth).status_code == 200
    found = client.get("/api/v1/cases", query_string={"q": DISTINCTIVE["document_number"]},
                       headers=auth).get_json()
    assert found["total"] == 1
    patched = client.patch(f"/api/v1/cases/{case_id}", json={"notes": DISTINCTIVE["notes"] + "!"},
                           headers={**auth, "If-Match": "1"})
    assert patched.status_code == 200


def _assert_absent(blob: bytes, where: str) -> None:
    for label, value in DISTINCTIVE.items():
        for encoded in _encodings(value):
            assert encoded not in blob, f"{label} found in {where} ({encoded[:20]!r})"


def test_database_bytes_hold_no_plaintext(app, client, make, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    _register_distinctive(client, make)
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        path = Path(db.engine.url.database)
        files = list(path.parent.glob(path.name + "*"))  # the database, its -wal and -shm
        assert path in files and sum(f.stat().st_size for f in files) > 100_000
        everything = b"".join(f.read_bytes() for f in files)
        assert b"CO-NSA-" in everything  # clear fields are there: the search itself works
        for file in files:
            _assert_absent(file.read_bytes(), file.name)
    else:
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "pg_dump is needed to check the PostgreSQL dump"
        url = sa.engine.make_url(database_url)
        dump = subprocess.run(
            [pg_dump, "--no-owner", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
             "-U", url.username or "postgres", url.database or "test"],
            capture_output=True, check=True, env={**os.environ, "PGPASSWORD": url.password or ""},
        ).stdout
        assert b"case_keys" in dump and b"CO-NSA-" in dump  # the dump really holds our rows
        _assert_absent(dump, "pg_dump")
    _assert_absent(caplog.text.encode(), "the log output")
    details = " ".join(db.session.scalars(sa.select(AuditEvent.details)))
    _assert_absent(details.encode(), "the audit trail")
