"""Envelope encryption and blind indexes, behind one small manager.

Every record that holds personal data has its own random 256-bit data key. The
data key is stored only wrapped (AES-256-GCM) under a key-encryption key (KEK)
from the key ring. Each field is sealed with the data key and associated data
naming (table, column, record id), so a ciphertext moved to another row or
column fails to open, loudly.

Ciphertext format, version 1:  0x01 || 12-byte random nonce || AES-GCM output.
The low-level functions stay private: callers use `CryptoManager`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldapp.crypto import intake
from fieldapp.crypto.keyring import KeyRing

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
DATA_KEY_BYTES = 32


class DecryptionError(Exception):
    """A ciphertext could not be opened: wrong key, wrong place, tampered or erased.

    Deliberately says nothing more, and never carries partial plaintext.
    """

    def __init__(self, what: str = "ciphertext") -> None:
        super().__init__(f"cannot decrypt {what}: wrong key, moved, tampered with or erased")


class UnknownKeyError(DecryptionError):
    """The wrapping key is not in the key ring (retired, or a different ring)."""

    def __init__(self, kek_id: str) -> None:
        Exception.__init__(self, f"key-encryption key {kek_id!r} is not in the key ring")
        self.kek_id = kek_id


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes, what: str) -> bytes:
    if not blob or blob[:1] != FORMAT_V1 or len(blob) < 1 + NONCE_BYTES + 16:
        raise DecryptionError(what)
    nonce, body = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError(what) from None


def _field_aad(table: str, column: str, record_id: str) -> bytes:
    return f"fieldapp/v1/field/{table}/{column}/{record_id}".encode()


def _wrap_aad(owner: str, owner_id: str) -> bytes:
    return f"fieldapp/v1/data-key/{owner}/{owner_id}".encode()


# -- normalization for blind indexes ------------------------------------------------------

_SPACE = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def normalize_text(value: str) -> str:
    """Case-folded, accents stripped, whitespace collapsed: "  José  PÉREZ" -> "jose perez"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACE.sub(" ", stripped).strip()


def normalize_document(value: str) -> str:
    """Document numbers ignore case, accents, spaces, punctuation: "V-12.345.678" -> "v12345678"."""
    return _NOT_ALNUM.sub("", normalize_text(value))


@dataclass(frozen=True)
class WrappedKey:
    kek_id: str
    blob: bytes


class CryptoManager:
    """Intent-level operations over a key ring. Holds no per-record state."""

    def __init__(self, ring: KeyRing, *, index_bits: int = 20) -> None:
        if not 8 <= index_bits <= 63:  # stored in a signed 64-bit column
            raise ValueError("index_bits must be between 8 and 63")
        self._ring = ring
        self.index_bits = index_bits
        self._intake: dict[str, rsa.RSAPrivateKey] = {}

    @property
    def primary_kek_id(self) -> str:
        return self._ring.primary

    # -- data keys ----------------------------------------------------------------------
    @staticmethod
    def new_data_key() -> bytes:
        return AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)

    def wrap(self, data_key: bytes, *, owner: str, owner_id: str) -> WrappedKey:
        kek_id = self._ring.primary
        blob = _seal(self._ring.keks[kek_id], data_key, _wrap_aad(owner, owner_id))
        return WrappedKey(kek_id, blob)

    def unwrap(self, wrapped: WrappedKey, *, owner: str, owner_id: str) -> bytes:
        kek = self._ring.keks.get(wrapped.kek_id)
        if kek is None:
            raise UnknownKeyError(wrapped.kek_id)
        return _open(kek, wrapped.blob, _wrap_aad(owner, owner_id), "data key")

    def rewrap(self, wrapped: WrappedKey, *, owner: str, owner_id: str) -> WrappedKey:
        """The same data key, wrapped under the current primary KEK."""
        return self.wrap(self.unwrap(wrapped, owner=owner, owner_id=owner_id),
                         owner=owner, owner_id=owner_id)

    # -- fields ---------------------------------------------------------------------------
    @staticmethod
    def seal(data_key: bytes, *, table: str, column: str, record_id: str, value: str) -> bytes:
        return _seal(data_key, value.encode("utf-8"), _field_aad(table, column, record_id))

    @staticmethod
    def open(data_key: bytes, *, table: str, column: str, record_id: str, blob: bytes) -> str:
        plain = _open(data_key, blob, _field_aad(table, column, record_id),
                      f"{table}.{column}")
        return plain.decode("utf-8")

    # -- blind indexes ----------------------------------------------------------------------
    def blind_index(self, kind: str, normalized: str) -> int:
        """HMAC-SHA256 under the index key, truncated to `index_bits` bits.

        Truncation makes each value share its index with a few others at scale,
        so the index alone cannot confirm who is in the database; candidates are
        decrypted and compared by the caller.
        """
        mac = hmac.new(self._ring.index_key, f"{kind}\x00{normalized}".encode(),
                       hashlib.sha256).digest()
        return int.from_bytes(mac, "big") >> (256 - self.index_bits)

    # -- offline intake ---------------------------------------------------------------------
    @property
    def intake_kid(self) -> str | None:
        """The intake key phones seal new records under (None: the ring has none yet)."""
        return self._ring.intake_primary

    def _intake_key(self, kid: str) -> rsa.RSAPrivateKey:
        key = self._intake.get(kid)
        if key is None:
            pem = self._ring.intake_keys.get(kid)
            if pem is None:
                raise intake.UndecryptableRecord("unknown key id")
            key = self._intake[kid] = intake.load_private_key(pem)
        return key

    def intake_public_jwk(self) -> dict[str, Any] | None:
        kid = self._ring.intake_primary
        return intake.public_jwk(self._intake_key(kid), kid) if kid else None

    def open_intake(self, kid: str, *, wrapped_key: bytes, iv: bytes, ciphertext: bytes,
                    instance_id: str) -> bytes:
        """Open a record sealed on a phone under any intake key still in the ring (old key
        ids keep working until retired); UndecryptableRecord otherwise."""
        return intake.open_record(self._intake_key(kid), wrapped_key=wrapped_key, iv=iv,
                                  ciphertext=ciphertext, instance_id=instance_id)
