"""Offline intake: records sealed on a phone under the server's RSA intake key.

The phone holds only the public half, so it can seal what it captures but never
read it back; the private half stays in the key ring, outside the database.

Record format (docs/api.md, "Offline intake"): the case body as UTF-8 JSON,
encrypted with AES-256-GCM under a fresh 256-bit key and a 96-bit IV, additional
data = the record's instance id as ASCII; the AES key wrapped with RSA-OAEP
(SHA-256, MGF1-SHA-256) under the intake key named by its key id.

Like the rest of fieldapp.crypto, this module imports nothing of the app.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALG = "RSA-OAEP-256"
MIN_BITS = 3072
DEFAULT_BITS = 3072
IV_BYTES = 12
RECORD_KEY_BYTES = 32
TAG_BYTES = 16


class IntakeKeyError(ValueError):
    """An intake key in the key ring is not an RSA private key of MIN_BITS or more."""


class UndecryptableRecord(Exception):
    """A sealed record could not be opened: unknown key id, wrong key, wrong instance id,
    tampered with or garbage. Says nothing more, and never carries partial plaintext."""

    def __init__(self, reason: str = "undecryptable") -> None:
        super().__init__(f"cannot open the sealed record ({reason})")
        self.reason = reason


def new_intake_id() -> str:
    return "intake-" + datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(4)


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(),
                        label=None)


def generate_private_pem(bits: int = DEFAULT_BITS) -> bytes:
    """A new RSA private key (PKCS#8 PEM, unencrypted: the key file itself is the secret)."""
    if bits < MIN_BITS:
        raise IntakeKeyError(f"intake keys have {MIN_BITS} bits or more")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_key(pem: bytes, what: str = "intake key") -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise IntakeKeyError(f"key ring: {what} is not a PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_BITS:
        raise IntakeKeyError(f"key ring: {what} must be an RSA key of {MIN_BITS} bits or more")
    return key


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey | rsa.RSAPublicKey, kid: str) -> dict[str, Any]:
    """The public half as a JWK that WebCrypto imports for RSA-OAEP with SHA-256."""
    numbers = (key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key).public_numbers()
    return {"kty": "RSA", "kid": kid, "alg": ALG, "key_ops": ["wrapKey"],
            "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}


@dataclass(frozen=True)
class SealedRecord:
    """What travels (base64 in JSON): never the plaintext, never the AES key."""

    instance_id: str
    kid: str
    wrapped_key: bytes
    iv: bytes
    ciphertext: bytes


def seal_record(public_key: rsa.RSAPublicKey, kid: str, plaintext: bytes,
                instance_id: str) -> SealedRecord:
    """What a phone does, in Python (for API clients written in Python, and tests)."""
    record_key = AESGCM.generate_key(bit_length=RECORD_KEY_BYTES * 8)
    iv = os.urandom(IV_BYTES)
    ciphertext = AESGCM(record_key).encrypt(iv, plaintext, instance_id.encode("ascii"))
    return SealedRecord(instance_id, kid, public_key.encrypt(record_key, _oaep()), iv,
                        ciphertext)


def open_record(private_key: rsa.RSAPrivateKey, *, wrapped_key: bytes, iv: bytes,
                ciphertext: bytes, instance_id: str) -> bytes:
    """The plaintext of a sealed record, or UndecryptableRecord."""
    if len(iv) != IV_BYTES or len(ciphertext) < TAG_BYTES \
            or len(wrapped_key) != private_key.key_size // 8:
        raise UndecryptableRecord("malformed")
    try:
        aad = instance_id.encode("ascii")
    except UnicodeEncodeError:
        raise UndecryptableRecord("malformed") from None
    try:
        record_key = private_key.decrypt(wrapped_key, _oaep())
    except ValueError:
        raise UndecryptableRecord() from None
    if len(record_key) != RECORD_KEY_BYTES:
        raise UndecryptableRecord()
    try:
        return AESGCM(record_key).decrypt(iv, ciphertext, aad)
    except InvalidTag:
        raise UndecryptableRecord() from None
