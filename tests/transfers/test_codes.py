"""Continuity codes as people read and type them, and as the database keeps them."""

from __future__ import annotations

import hashlib
import re

from fieldapp.extensions import keys
from fieldapp.transfers import codes
from fieldapp.transfers.services import format_code, normalize_code

GROUPED = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def test_a_new_code_has_75_random_bits_and_reads_in_groups_of_four(app):
    made = {codes.new_code() for _ in range(200)}
    assert len(made) == 200
    for raw in made:
        assert len(raw) == 16 and normalize_code(raw) == raw
        assert GROUPED.match(format_code(raw))
        assert not set(raw) & set("ILOU")
    assert codes.RANDOM_CHARS * 5 >= 60 + 15  # margin over SPEC's 60 bits
    # Every character of the alphabet turns up somewhere (no bias to a few).
    assert set("".join(made)) == set(codes.ALPHABET)


def test_typing_is_forgiving_but_exact(app):
    raw = codes.new_code()
    shown = format_code(raw)
    assert normalize_code(shown) == raw
    assert normalize_code(" " + shown.lower().replace("-", " ") + " ") == raw
    assert normalize_code(shown.replace("-", "–")) == raw  # a typographic dash
    lookalike = raw.replace("0", "O").replace("1", "l")
    assert normalize_code(lookalike) == raw
    assert normalize_code(raw[:-1]) is None  # too short
    assert normalize_code(raw + "0") is None  # too long
    assert normalize_code("U" + raw[1:]) is None  # U is not in the alphabet
    assert normalize_code("") is None and normalize_code("x" * 500) is None
    assert normalize_code(None) is None  # type: ignore[arg-type]


def test_the_check_character_catches_one_wrong_character_and_swaps(app):
    raw = codes.new_code()
    for i in range(len(raw)):
        for ch in codes.ALPHABET:
            if ch != raw[i]:
                assert normalize_code(raw[:i] + ch + raw[i + 1:]) is None
    caught = 0
    swaps = 0
    for _ in range(200):
        raw = codes.new_code()
        for i in range(len(raw) - 1):
            swapped = raw[:i] + raw[i + 1] + raw[i] + raw[i + 2:]
            if swapped != raw:
                swaps += 1
                caught += normalize_code(swapped) is None
    assert caught / swaps > 0.99


def test_only_a_keyed_hash_is_kept(app):
    with app.app_context():
        raw = codes.new_code()
        digest = codes.code_hash(raw)
        assert len(digest) == 32 and digest == codes.code_hash(raw)
        assert digest != hashlib.sha256(raw.encode()).digest()
        assert raw.encode() not in digest
        # Under another key ring the same code hashes differently: no offline guessing
        # without the key file.
        ring = keys.ring
        original = ring.index_key
        try:
            ring.index_key = bytes(32)
            assert codes.code_hash(raw) != digest
        finally:
            ring.index_key = original
