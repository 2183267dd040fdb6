"""The key ring: key-encryption keys, the blind-index key and the audit MAC key.

It lives outside the database, in a JSON file readable only by its owner
(mode 0600) or in the FIELDAPP_KEYRING environment variable. A thief of the
database alone learns nothing that these keys protect.

File format (version 1)::

    {"format": 1,
     "primary": "<kek id>",
     "keks": {"<kek id>": {"key": "<base64 32 bytes>", "created_at": "<ISO 8601>"}},
     "index_key": "<base64 32 bytes>",
     "audit_key": "<base64 32 bytes>"}
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

KEY_BYTES = 32
FORMAT = 1


class KeyRingError(RuntimeError):
    """The key ring is missing, unreadable, too widely readable or malformed."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise KeyRingError(f"key ring: {what} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyRingError(f"key ring: {what} must be {KEY_BYTES} bytes")
    return raw


def new_kek_id() -> str:
    return "kek-" + datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(4)


@dataclass
class KeyRing:
    primary: str
    keks: dict[str, bytes]
    index_key: bytes
    audit_key: bytes
    created: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    # -- construction -------------------------------------------------------
    @classmethod
    def generate(cls) -> KeyRing:
        kek_id = new_kek_id()
        return cls(
            primary=kek_id,
            keks={kek_id: secrets.token_bytes(KEY_BYTES)},
            index_key=secrets.token_bytes(KEY_BYTES),
            audit_key=secrets.token_bytes(KEY_BYTES),
            created={kek_id: datetime.now(UTC).isoformat()},
        )

    @classmethod
    def from_json(cls, text: str, *, path: Path | None = None) -> KeyRing:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise KeyRingError("key ring: not valid JSON") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise KeyRingError(f"key ring: unsupported format (expected {FORMAT})")
        keks_doc = doc.get("keks")
        if not isinstance(keks_doc, dict) or not keks_doc:
            raise KeyRingError("key ring: no key-encryption keys")
        keks = {kid: _unb64(entry.get("key", ""), f"kek {kid}") for kid, entry in keks_doc.items()}
        primary = doc.get("primary")
        if primary not in keks:
            raise KeyRingError("key ring: primary key id is not in the ring")
        return cls(
            primary=primary,
            keks=keks,
            index_key=_unb64(doc.get("index_key", ""), "index_key"),
            audit_key=_unb64(doc.get("audit_key", ""), "audit_key"),
            created={kid: str(entry.get("created_at", "")) for kid, entry in keks_doc.items()},
            path=path,
        )

    @classmethod
    def load(cls, path: Path, *, env_value: str | None = None) -> KeyRing:
        """Load from `env_value` when given, else from the file at `path`."""
        if env_value:
            return cls.from_json(env_value)
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise KeyRingError(f"key file not found: {path}") from exc
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyRingError(
                f"key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                "run: chmod 600 " + str(path)
            )
        return cls.from_json(path.read_text(encoding="utf-8"), path=path)

    # -- persistence ----------------------------------------------------------
    def to_json(self) -> str:
        doc = {
            "format": FORMAT,
            "primary": self.primary,
            "keks": {
                kid: {"key": _b64(key), "created_at": self.created.get(kid, "")}
                for kid, key in self.keks.items()
            },
            "index_key": _b64(self.index_key),
            "audit_key": _b64(self.audit_key),
        }
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"

    def save(self, path: Path) -> None:
        """Write atomically with mode 0600 (never a moment with wider permissions)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_json())
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        self.path = path

    def __repr__(self) -> str:  # never print key material
        return f"KeyRing(primary={self.primary!r}, keks={sorted(self.keks)!r})"
