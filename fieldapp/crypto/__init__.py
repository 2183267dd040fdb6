"""Key ring and (later) envelope encryption and blind indexes.

This package imports nothing from the rest of fieldapp, so it can be read and
reviewed on its own.
"""

from fieldapp.crypto.keyring import KeyRing, KeyRingError

__all__ = ["KeyRing", "KeyRingError"]
