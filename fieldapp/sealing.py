"""Declarative sealed (encrypted) attributes for models.

A model declares `given_name = Sealed("given_name")` next to a mapped
`given_name_enc` LargeBinary column, and implements `data_key()`. Reading the
attribute opens the ciphertext; assigning seals it. The associated data binds
every ciphertext to (table, column, record id), so the record's id must be set
before anything is sealed (ids are generated in Python, before insert).
"""

from __future__ import annotations

from typing import Any, Protocol

from fieldapp.extensions import keys


class SealedRecord(Protocol):
    id: Any
    __tablename__: str

    def data_key(self) -> bytes: ...


class Sealed:
    """A personal field stored only as ciphertext in `<name>_enc`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.column = name + "_enc"

    def __set_name__(self, owner: type, attr: str) -> None:
        if attr != self.name:
            raise TypeError(f"Sealed({self.name!r}) must be assigned to attribute {self.name!r}")

    def __get__(self, obj: SealedRecord | None, owner: type) -> Any:
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        return keys.crypto.open(obj.data_key(), table=obj.__tablename__, column=self.name,
                                record_id=str(obj.id), blob=blob)

    def __set__(self, obj: SealedRecord, value: str | None) -> None:
        if obj.id is None:
            raise ValueError("set the record id before sealing fields")
        if value is None or value == "":
            setattr(obj, self.column, None)
            return
        setattr(obj, self.column, keys.crypto.seal(
            obj.data_key(), table=obj.__tablename__, column=self.name,
            record_id=str(obj.id), value=value))


def sealed_names(model: type) -> list[str]:
    """The sealed attributes a model declares (for verify and erase)."""
    return [v.name for v in vars(model).values() if isinstance(v, Sealed)]
