"""The envelope-encryption core, on its own (no app, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldapp.crypto import (
    CryptoManager,
    DecryptionError,
    KeyRing,
    UnknownKeyError,
    normalize_document,
    normalize_text,
)


@pytest.fixture
def crypto() -> CryptoManager:
    return CryptoManager(KeyRing.generate())


def _seal(crypto, dek, value="Pérez", table="cases", column="family_name", rid="r1"):
    return crypto.seal(dek, table=table, column=column, record_id=rid, value=value)


def test_round_trip_and_fresh_nonce(crypto):
    dek = crypto.new_data_key()
    a, b = _seal(crypto, dek), _seal(crypto, dek)
    assert a != b  # a fresh nonce every time
    assert a[:1] == b"\x01"  # versioned format
    assert b"P\xc3\xa9rez" not in a
    assert crypto.open(dek, table="cases", column="family_name", record_id="r1", blob=a) == "Pérez"


@pytest.mark.parametrize("where", [
    {"table": "household_members"}, {"column": "given_name"}, {"record_id": "r2"}])
def test_ciphertext_moved_elsewhere_fails_loudly(crypto, where):
    dek = crypto.new_data_key()
    blob = _seal(crypto, dek)
    target = {"table": "cases", "column": "family_name", "record_id": "r1", **where}
    with pytest.raises(DecryptionError):
        crypto.open(dek, blob=blob, **target)


def test_tampered_or_truncated_ciphertext_fails(crypto):
    dek = crypto.new_data_key()
    blob = bytearray(_seal(crypto, dek))
    blob[-1] ^= 1
    for bad in (bytes(blob), bytes(blob[:10]), b"", b"\x02" + bytes(blob[1:])):
        with pytest.raises(DecryptionError) as info:
            crypto.open(dek, table="cases", column="family_name", record_id="r1", blob=bad)
        assert "Pérez" not in str(info.value)


def test_wrong_data_key_fails(crypto):
    blob = _seal(crypto, crypto.new_data_key())
    with pytest.raises(DecryptionError):
        crypto.open(crypto.new_data_key(), table="cases", column="family_name",
                    record_id="r1", blob=blob)


def test_wrapped_key_is_bound_to_its_owner_and_kek(crypto):
    dek = crypto.new_data_key()
    wrapped = crypto.wrap(dek, owner="case", owner_id="c1")
    assert crypto.unwrap(wrapped, owner="case", owner_id="c1") == dek
    with pytest.raises(DecryptionError):
        crypto.unwrap(wrapped, owner="case", owner_id="c2")
    other = CryptoManager(KeyRing.generate())
    with pytest.raises(UnknownKeyError):
        other.unwrap(wrapped, owner="case", owner_id="c1")


def test_normalization():
    assert normalize_text("  María   JOSÉ\tpérez ") == "maria jose perez"
    assert normalize_text("Ñandú") == "nandu"
    assert normalize_document("V-12.345.678") == normalize_document("v12345678")


def test_blind_index_normalized_keyed_and_truncated(crypto):
    a = crypto.blind_index("name", normalize_text("María José Pérez"))
    assert a == crypto.blind_index("name", normalize_text("maria jose PEREZ"))
    assert a != crypto.blind_index("document", normalize_text("María José Pérez"))
    assert 0 <= a < 2 ** crypto.index_bits
    other = CryptoManager(KeyRing.generate())
    values = {other.blind_index("name", f"person {i}") for i in range(200)}
    assert len(values) > 190  # spread out, not constant


@pytest.fixture(scope="module")
def any_text_crypto() -> CryptoManager:
    """One key ring for every example, made outside them: generating one makes an RSA
    intake key pair, too slow for Hypothesis' deadline."""
    return CryptoManager(KeyRing.generate())


@given(st.text(max_size=200))
def test_seal_open_any_text(any_text_crypto, text):
    crypto = any_text_crypto
    dek = crypto.new_data_key()
    blob = crypto.seal(dek, table="t", column="c", record_id="i", value=text)
    assert crypto.open(dek, table="t", column="c", record_id="i", blob=blob) == text
