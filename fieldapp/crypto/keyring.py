"""The key ring: key-encryption keys, the blind-index key, the audit MAC key and the
offline intake keys (RSA key pairs whose public half seals records on phones).

It lives outside the database, in a JSON file readable only by its owner
(mode 0600) or in the FIELDAPP_KEYRING environment variable. A thief of the
database alone learns nothing that these keys protect.

File format (version 1)::

    {"format": 1,
     "primary": "<kek id>",
     "keks": {"<kek id>": {"key": "<base64 32 bytes>", "created_at": "<ISO 8601>"}},
     "index_key": "<base64 32 bytes>",
     "audit_key": "<base64 32 bytes>",
     "intake": {"primary": "<intake key id>",
                "keys": {"<intake key id>": {"private_key": "<PKCS#8 PEM>",
                                            "created_at": "<ISO 8601>"}}}}

The "intake" block is optional (key files written before offline intake lack
it; `flask keys rotate-intake` adds one). Old intake keys stay in the block,
opening records sealed under them, until `flask keys retire` removes them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from fieldapp.crypto import intake

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
    # Offline intake: RSA private keys (PKCS#8 PEM) by key id, and the one phones seal
    # new records under. `created` holds their creation times too.
    intake_primary: str | None = None
    intake_keys: dict[str, bytes] = field(default_factory=dict)

    # -- construction -------------------------------------------------------
    @classmethod
    def generate(cls) -> KeyRing:
        kek_id = new_kek_id()
        intake_id = intake.new_intake_id()
        now = datetime.now(UTC).isoformat()
        return cls(
            primary=kek_id,
            keks={kek_id: secrets.token_bytes(KEY_BYTES)},
            index_key=secrets.token_bytes(KEY_BYTES),
            audit_key=secrets.token_bytes(KEY_BYTES),
            created={kek_id: now, intake_id: now},
            intake_primary=intake_id,
            intake_keys={intake_id: intake.generate_private_pem()},
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
        created = {kid: str(entry.get("created_at", "")) for kid, entry in keks_doc.items()}
        intake_primary, intake_keys = _intake_from_doc(doc.get("intake"), created)
        return cls(
            primary=primary,
            keks=keks,
            index_key=_unb64(doc.get("index_key", ""), "index_key"),
            audit_key=_unb64(doc.get("audit_key", ""), "audit_key"),
            created=created,
            path=path,
            intake_primary=intake_primary,
            intake_keys=intake_keys,
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

    def with_new_intake_key(self) -> KeyRing:
        """A copy of this ring with a new primary intake key; older ones stay."""
        kid = intake.new_intake_id()
        return replace(self, intake_primary=kid,
                       intake_keys={**self.intake_keys, kid: intake.generate_private_pem()},
                       created={**self.created, kid: datetime.now(UTC).isoformat()}, path=None)

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
        if self.intake_keys:
            doc["intake"] = {
                "primary": self.intake_primary,
                "keys": {kid: {"private_key": pem.decode("ascii"),
                               "created_at": self.created.get(kid, "")}
                         for kid, pem in self.intake_keys.items()},
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
        return (f"KeyRing(primary={self.primary!r}, keks={sorted(self.keks)!r}, "
                f"intake={sorted(self.intake_keys)!r})")


def _intake_from_doc(block: object, created: dict[str, str]) -> tuple[str | None,
                                                                      dict[str, bytes]]:
    """The optional "intake" block: every key must load as RSA of 3072 bits or more, so a
    damaged key file stops the app at start, not at the first phone that syncs."""
    if block is None:
        return None, {}
    if not isinstance(block, dict) or not isinstance(block.get("keys"), dict):
        raise KeyRingError("key ring: the intake block is malformed")
    keys: dict[str, bytes] = {}
    for kid, entry in block["keys"].items():
        pem = entry.get("private_key") if isinstance(entry, dict) else None
        if not isinstance(pem, str):
            raise KeyRingError(f"key ring: intake key {kid} has no private_key")
        try:
            intake.load_private_key(pem.encode("ascii"), f"intake key {kid}")
        except (intake.IntakeKeyError, UnicodeEncodeError) as exc:
            raise KeyRingError(str(exc)) from None
        keys[kid] = pem.encode("ascii")
        created[kid] = str(entry.get("created_at", ""))
    primary = block.get("primary")
    if keys and primary not in keys:
        raise KeyRingError("key ring: the intake primary key id is not in the ring")
    return (primary if keys else None), keys
