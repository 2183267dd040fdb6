"""fieldapp.crypto's offline intake pieces on their own: sealing and opening records,
the public key as a JWK, phones' signing keys and their signatures."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from fieldapp.crypto import CryptoManager, KeyRing, UndecryptableRecord, devices, intake
from tests.intake.conftest import Phone, public_key


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return KeyRing.generate()


def test_sealed_in_python_opens_only_with_its_instance_id(ring):
    crypto = CryptoManager(ring)
    jwk = crypto.intake_public_jwk()
    assert jwk["kid"] == ring.intake_primary and public_key(jwk).key_size == 3072
    iid = str(uuid.uuid4())
    sealed = intake.seal_record(public_key(jwk), jwk["kid"], b'{"given_name": "Ana"}', iid)
    assert len(sealed.iv) == 12 and b"Ana" not in sealed.ciphertext
    opened = crypto.open_intake(sealed.kid, wrapped_key=sealed.wrapped_key, iv=sealed.iv,
                                ciphertext=sealed.ciphertext, instance_id=iid)
    assert opened == b'{"given_name": "Ana"}'
    for spoiled in ({"instance_id": str(uuid.uuid4())},
                    # one bit of the tag flipped (setting a byte to 0 changed nothing when
                    # it was 0 already: one run in 256)
                    {"ciphertext": sealed.ciphertext[:-1] + bytes([sealed.ciphertext[-1] ^ 1])},
                    {"iv": b"\x00" * 12}, {"wrapped_key": b"\x00" * 384},
                    {"wrapped_key": b"short"}, {"instance_id": "ñ"}):
        args = {"wrapped_key": sealed.wrapped_key, "iv": sealed.iv,
                "ciphertext": sealed.ciphertext, "instance_id": iid, **spoiled}
        with pytest.raises(UndecryptableRecord):
            crypto.open_intake(sealed.kid, **args)
    with pytest.raises(UndecryptableRecord):
        crypto.open_intake("intake-unknown", wrapped_key=sealed.wrapped_key, iv=sealed.iv,
                           ciphertext=sealed.ciphertext, instance_id=iid)


def test_small_rsa_keys_are_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with pytest.raises(intake.IntakeKeyError, match="3072"):
        intake.load_private_key(small)
    with pytest.raises(intake.IntakeKeyError):
        intake.generate_private_pem(2048)


def test_phone_signatures_in_webcrypto_form():
    phone = Phone()
    key, canonical = devices.public_key_from_jwk(phone.jwk)
    assert devices.thumbprint(canonical) == phone.thumbprint
    message = b"fieldapp-intake/1\nsomething"
    r, s = decode_dss_signature(phone.key.sign(message, ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert devices.verify(key, message, raw)
    assert not devices.verify(key, message + b"!", raw)
    assert not devices.verify(key, message, raw[:63])
    for bad in ({"kty": "RSA"}, {**phone.jwk, "crv": "P-384"}, {**phone.jwk, "d": "secret"},
                {**phone.jwk, "x": "AAAA"}, "not a dict"):
        with pytest.raises(devices.DeviceKeyError):
            devices.public_key_from_jwk(bad)
