"""Phones' signing keys: ECDSA P-256 public keys as JWKs, their RFC 7638 thumbprints,
and signatures as WebCrypto makes them (IEEE P1363: r || s, 64 bytes).

Imports nothing of the app.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

COORDINATE_BYTES = 32
SIGNATURE_BYTES = 64


class DeviceKeyError(ValueError):
    """Not an ECDSA P-256 public key in JWK form."""


def _b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not text or len(text) > 64:
        raise DeviceKeyError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise DeviceKeyError("not base64url") from None


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_key_from_jwk(jwk: Any) -> tuple[ec.EllipticCurvePublicKey, dict[str, str]]:
    """The key and its canonical public JWK (kty, crv, x, y only: nothing private kept)."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise DeviceKeyError("not an EC P-256 JWK")
    if "d" in jwk:
        raise DeviceKeyError("a private key was sent")
    x, y = _b64url_decode(jwk.get("x")), _b64url_decode(jwk.get("y"))
    if len(x) != COORDINATE_BYTES or len(y) != COORDINATE_BYTES:
        raise DeviceKeyError("bad coordinates")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except ValueError:
        raise DeviceKeyError("not a point on P-256") from None
    return key, {"crv": "P-256", "kty": "EC", "x": _b64url(x), "y": _b64url(y)}


def thumbprint(canonical_jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, base64url."""
    members = {k: canonical_jwk[k] for k in ("crv", "kty", "x", "y")}
    text = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(text.encode("ascii")).digest())


def verify(key: ec.EllipticCurvePublicKey, message: bytes, signature: bytes) -> bool:
    """A WebCrypto ECDSA (P-256, SHA-256) signature over `message`."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                               int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
