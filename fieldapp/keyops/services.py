"""Rotating key-encryption keys, verifying that everything decrypts, retiring old keys.

The key ring file is the source of truth for keys; the database only holds
wrapped data keys and the id of the key that wrapped each one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from fieldapp import clock
from fieldapp.accounts.models import TotpCredential
from fieldapp.audit import services as audit
from fieldapp.cases.models import Case, CaseFlag, CaseKey, HouseholdMember
from fieldapp.crypto import DecryptionError, KeyRingError, WrappedKey
from fieldapp.crypto.keyring import KEY_BYTES, new_kek_id
from fieldapp.db import utcnow
from fieldapp.extensions import db, keys
from fieldapp.intake.models import DuplicateReview, IntakeRecord, IntakeRecordKey
from fieldapp.intake.services import MAX_CAPTURE_AGE
from fieldapp.referrals.models import Referral, ReferralKey, ReferralUpdate
from fieldapp.sealing import sealed_names
from fieldapp.transfers.models import Transfer, TransferKey


@dataclass(frozen=True)
class WrappedKeyTable:
    """A table of wrapped data keys: the model, the owner label used as associated
    data when wrapping, and the column holding the owner's id."""

    model: Any
    owner: str
    owner_id_column: Any


def wrapped_key_tables() -> list[WrappedKeyTable]:
    return [WrappedKeyTable(CaseKey, "case", CaseKey.case_id),
            WrappedKeyTable(ReferralKey, "referral", ReferralKey.referral_id),
            WrappedKeyTable(IntakeRecordKey, "intake_record", IntakeRecordKey.record_id),
            WrappedKeyTable(TotpCredential, "totp", TotpCredential.id),
            WrappedKeyTable(TransferKey, "transfer", TransferKey.transfer_id)]


def keys_in_use() -> dict[str, int]:
    """How many data keys each key-encryption key still wraps."""
    counts: dict[str, int] = {}
    for t in wrapped_key_tables():
        for kek_id, n in db.session.execute(
                sa.select(t.model.kek_id, sa.func.count()).group_by(t.model.kek_id)):
            counts[kek_id] = counts.get(kek_id, 0) + n
    return counts


@dataclass
class RotationResult:
    kek_id: str
    resumed: bool
    rewrapped: int


def _pending(primary: str) -> int:
    return sum(db.session.scalar(sa.select(sa.func.count()).select_from(t.model)
                                 .where(t.model.kek_id != primary)) or 0
               for t in wrapped_key_tables())


def rotate(*, batch: int = 500, progress: Callable[[int], None] | None = None) -> RotationResult:
    """Make a new primary key and re-wrap every data key under it, in batches.

    Each batch commits on its own, so an interrupted rotation keeps its work;
    running `rotate` again while data keys remain under an older key resumes
    instead of making yet another key.
    """
    ring = keys.ring
    resumed = _pending(ring.primary) > 0
    if not resumed:
        kek_id = new_kek_id()
        new_ring = replace(ring, primary=kek_id, keks={**ring.keks, kek_id: _random_key()},
                           created={**ring.created, kek_id: datetime.now(UTC).isoformat()})
        keys.save(new_ring)
        audit.record("keys.rotation_started", object_type="kek", object_id=kek_id,
                     details={"previous": ring.primary})
        db.session.commit()
    primary = keys.ring.primary
    crypto = keys.crypto
    done = 0
    for t in wrapped_key_tables():
        while True:
            rows = db.session.scalars(sa.select(t.model).where(t.model.kek_id != primary)
                                      .limit(batch)).all()
            if not rows:
                break
            for row in rows:
                owner_id = str(getattr(row, t.owner_id_column.key))
                fresh = crypto.rewrap(WrappedKey(row.kek_id, row.wrapped), owner=t.owner,
                                      owner_id=owner_id)
                row.kek_id, row.wrapped, row.rewrapped_at = fresh.kek_id, fresh.blob, utcnow()
            done += len(rows)
            db.session.commit()
            if progress:
                progress(done)
    audit.record("keys.rotated", object_type="kek", object_id=primary,
                 details={"rewrapped": done, "resumed": resumed})
    db.session.commit()
    return RotationResult(primary, resumed, done)


def _random_key() -> bytes:
    import secrets

    return secrets.token_bytes(KEY_BYTES)


class RetireRefused(RuntimeError):
    pass


def retire(kek_id: str, *, force: bool = False) -> None:
    """Remove a key from the ring, once nothing is wrapped under it any more (an intake
    key: once it is not the one phones seal under, and, unless forced, once phones stopped
    sealing under it longer ago than the capture age the server accepts)."""
    ring = keys.ring
    if kek_id in ring.intake_keys:
        _retire_intake(kek_id, force=force)
        return
    if kek_id not in ring.keks:
        raise RetireRefused(f"no key {kek_id!r} in the key ring")
    if kek_id == ring.primary:
        raise RetireRefused(f"{kek_id} is the primary key; rotate first")
    in_use = keys_in_use().get(kek_id, 0)
    if in_use:
        raise RetireRefused(f"{kek_id} still wraps {in_use} data key(s); "
                            "finish `flask keys rotate` first")
    remaining = {k: v for k, v in ring.keks.items() if k != kek_id}
    if not remaining:
        raise KeyRingError("refusing to remove the last key")
    keys.save(replace(ring, keks=remaining,
                      created={k: v for k, v in ring.created.items() if k != kek_id}))
    audit.record("keys.retired", object_type="kek", object_id=kek_id)
    db.session.commit()


# -- offline intake keys ------------------------------------------------------------------

def rotate_intake() -> str:
    """A new intake key pair becomes the one phones seal under. The old ones stay in the
    ring, so records already sealed on phones still open, until `retire`."""
    ring = keys.ring
    new_ring = ring.with_new_intake_key()
    keys.save(new_ring)
    audit.record("keys.intake_rotated", object_type="intake_key",
                 object_id=new_ring.intake_primary,
                 details={"previous": ring.intake_primary})
    db.session.commit()
    return str(new_ring.intake_primary)


def _retire_intake(kid: str, *, force: bool = False) -> None:
    """Records still sealed under this key on some phone can no longer be opened: those
    phones keep them (the server answers 422 undecryptable) until a person re-enters them.

    A phone out of signal keeps sealing under the key it last fetched, so a key that was
    primary less than the accepted capture age ago (MAX_CAPTURE_AGE) may still be under
    records waiting on phones: refused unless forced."""
    ring = keys.ring
    if kid == ring.intake_primary:
        raise RetireRefused(f"{kid} is the intake key phones seal under; "
                            "run `flask keys rotate-intake` first")
    until = intake_primary_until(kid)
    if not force and (until is None or clock.now() - until < MAX_CAPTURE_AGE):
        until_text = f"{until:%Y-%m-%d}" if until else "an unknown date"
        raise RetireRefused(
            f"{kid} was the primary intake key until {until_text}; phones out of signal may "
            f"still hold records sealed under it for up to {MAX_CAPTURE_AGE.days} days "
            "after the rotation. Wait until every phone has synced, or pass --force")
    keys.save(replace(ring, intake_keys={k: v for k, v in ring.intake_keys.items() if k != kid},
                      created={k: v for k, v in ring.created.items() if k != kid}))
    audit.record("keys.retired", object_type="intake_key", object_id=kid)
    db.session.commit()


def intake_primary_until(kid: str) -> datetime | None:
    """When phones were told to stop sealing under this intake key: the creation time of
    the next intake key made after it (None when that is unknown)."""
    ring = keys.ring
    made = _created(ring.created.get(kid))
    if made is None:
        return None
    later = [t for k in ring.intake_keys if k != kid
             and (t := _created(ring.created.get(k))) is not None and t > made]
    return min(later, default=None)


def _created(text: str | None) -> datetime | None:
    try:
        when = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def intake_keys_in_use() -> dict[str, tuple[int, datetime | None]]:
    """Per intake key id: how many records phones sent sealed under it, and the latest."""
    rows = db.session.execute(sa.select(IntakeRecord.kid, sa.func.count(),
                                        sa.func.max(IntakeRecord.received_at))
                              .group_by(IntakeRecord.kid))
    return {kid: (n, latest) for kid, n, latest in rows}


@dataclass
class VerifyReport:
    records: int = 0
    fields: int = 0
    failures: list[str] = field(default_factory=list)  # "table id column", never values


def _readable(model: Any, batch: int, *options: Any) -> Iterator[list[Any]]:
    """Every record not erased, in batches by id; the session is cleared between them."""
    last = None
    while True:
        stmt = (sa.select(model).where(model.erased_at.is_(None)).order_by(model.id)
                .limit(batch).options(*options))
        if last is not None:
            stmt = stmt.where(model.id > last)
        rows = db.session.scalars(stmt).unique().all()
        if not rows:
            return
        yield list(rows)
        last = rows[-1].id
        db.session.expunge_all()


def _check(report: VerifyReport, model: Any, row: Any) -> None:
    for name in sealed_names(model):
        if getattr(row, name + "_enc") is None:
            continue
        report.fields += 1
        try:
            getattr(row, name)
        except DecryptionError:
            report.failures.append(f"{model.__tablename__} {row.id} {name}")


def verify(*, batch: int = 500) -> VerifyReport:
    """Open every sealed field of every readable record; report what fails, by id."""
    report = VerifyReport()
    for cases in _readable(Case, batch, selectinload(Case.household), selectinload(Case.flags)):
        for case in cases:
            if not _opens(report, "cases", case):
                continue
            _check(report, Case, case)
            for member in case.household:
                _check(report, HouseholdMember, member)
            for flag in case.flags:
                _check(report, CaseFlag, flag)
    for referrals in _readable(Referral, batch, selectinload(Referral.updates)):
        for referral in referrals:
            if not _opens(report, "referrals", referral):
                continue
            _check(report, Referral, referral)
            for update in referral.updates:  # the follow-up log, under the referral's key
                _check(report, ReferralUpdate, update)
    _verify_intake(report)
    _verify_transfers(report)
    audit.record("keys.verified", details={"records": report.records, "fields": report.fields,
                                           "failures": len(report.failures)})
    db.session.commit()
    return report


def _opens(report: VerifyReport, table: str, record: Any) -> bool:
    """Count a record and unwrap its data key; a key that does not open is a failure."""
    report.records += 1
    try:
        record.data_key()
    except DecryptionError:
        report.failures.append(f"{table} {record.id} data_key")
        return False
    return True


def _verify_intake(report: VerifyReport) -> None:
    """Records from phones that wait for a person (sealed bodies), and the reasons given
    for possible duplicates (sealed under their case's key)."""
    waiting = db.session.scalars(sa.select(IntakeRecord).where(
        IntakeRecord.body_enc.is_not(None)).order_by(IntakeRecord.id)).all()
    for record in waiting:
        if _opens(report, "intake_records", record):
            _check(report, IntakeRecord, record)
    reviews = db.session.scalars(sa.select(DuplicateReview).where(
        DuplicateReview.reason_enc.is_not(None)).order_by(DuplicateReview.id)).all()
    for review in reviews:
        _check(report, DuplicateReview, review)


def _verify_transfers(report: VerifyReport) -> None:
    """Transfers whose decline or cancel reason is sealed under their own data key."""
    rows = db.session.scalars(sa.select(Transfer).where(
        Transfer.reason_enc.is_not(None)).order_by(Transfer.id)).unique().all()
    for transfer in rows:
        if _opens(report, "transfers", transfer):
            _check(report, Transfer, transfer)
