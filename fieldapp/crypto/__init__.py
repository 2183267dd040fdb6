"""Key ring and (later) envelope encryption and blind indexes.

This package imports nothing from the rest of fieldapp, so it can be read and
reviewed on its own.
"""

from fieldapp.crypto.envelope import (
    CryptoManager,
    DecryptionError,
    UnknownKeyError,
    WrappedKey,
    normalize_document,
    normalize_text,
)
from fieldapp.crypto.intake import UndecryptableRecord
from fieldapp.crypto.keyring import KeyRing, KeyRingError

__all__ = ["CryptoManager", "DecryptionError", "KeyRing", "KeyRingError", "UndecryptableRecord",
           "UnknownKeyError", "WrappedKey", "normalize_document", "normalize_text"]
