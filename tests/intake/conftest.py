"""Offline intake in Python: a phone's sealing and signing done with `cryptography` alone,
from the published key and the contract (docs/api.md, "Offline intake"), so the tests
check the format, not the server's own code against itself."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldapp.extensions import db


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(int.from_bytes(_unb64url(jwk["e"]), "big"),
                                int.from_bytes(_unb64url(jwk["n"]), "big")).public_key()


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def seal(key: dict[str, Any], body: Any, *, instance_id: str | None = None,
         created_at: str | None = None, aad: str | None = None,
         plaintext: bytes | None = None) -> dict[str, Any]:
    """A record as the contract says: AES-256-GCM, fresh key, 96-bit IV, AAD = instance id
    (or `aad`, to test a wrong one), the key wrapped RSA-OAEP SHA-256 / MGF1-SHA-256."""
    iid = instance_id or str(uuid.uuid4())
    record_key, iv = os.urandom(32), os.urandom(12)
    data = plaintext if plaintext is not None else json.dumps(body).encode("utf-8")
    ciphertext = AESGCM(record_key).encrypt(iv, data, (aad or iid).encode("ascii"))
    wrapped = public_key(key["jwk"]).encrypt(record_key, padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return {"instance_id": iid, "kid": key["kid"], "wrapped_key": b64(wrapped), "iv": b64(iv),
            "ciphertext": b64(ciphertext), "created_at": created_at or now_iso(),
            "form_version": "tests/1"}


class Phone:
    """A phone's signing key (ECDSA P-256), as WebCrypto would make and use it."""

    FIELDS = ("instance_id", "kid", "wrapped_key", "iv", "ciphertext", "created_at",
              "form_version", "organization_id", "device")

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": _b64url(numbers.x.to_bytes(32, "big")),
                    "y": _b64url(numbers.y.to_bytes(32, "big"))}
        text = json.dumps(self.jwk, separators=(",", ":"), sort_keys=True)
        digest = hashes.Hash(hashes.SHA256())
        digest.update(text.encode("ascii"))
        self.thumbprint = _b64url(digest.finalize())

    def sign(self, record: dict[str, Any]) -> dict[str, Any]:
        signed = dict(record, device=self.thumbprint)
        text = "\n".join(["fieldapp-intake/1", *(str(signed.get(f) or "") for f in self.FIELDS)])
        r, s = decode_dss_signature(self.key.sign(text.encode("utf-8"),
                                                  ec.ECDSA(hashes.SHA256())))
        signed["signature"] = b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return signed


@pytest.fixture
def intake_key(client) -> dict[str, Any]:
    response = client.get("/api/v1/intake/key")
    assert response.status_code == 200
    return response.get_json()


def database_bytes(database_url: str) -> bytes:
    """Everything the database holds, as bytes: the SQLite files, or a pg_dump."""
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        path = Path(db.engine.url.database)
        return b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to check the PostgreSQL dump"
    url = sa.engine.make_url(database_url)
    return subprocess.run(
        [pg_dump, "--no-owner", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database or "test"],
        capture_output=True, check=True, env={**os.environ, "PGPASSWORD": url.password or ""},
    ).stdout


def encodings(value: str) -> list[bytes]:
    raw = value.encode("utf-8")
    return [raw, value.encode("utf-16-le"), value.encode("utf-16-be"), raw.hex().encode(),
            base64.b64encode(raw), base64.b64encode(value.lower().encode())]
