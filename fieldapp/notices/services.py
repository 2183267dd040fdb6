"""E-mail notices of referrals and transfer requests: queued in the transaction that
caused them, sent later.

`on_referral_status` (called by the referral services when a referral is sent or
completed), `on_transfer_status` (called by the transfer services when a transfer is
requested or decided) and `enqueue_overdue` (run by `flask notices send`) write Notice
rows; `send_pending` hands the due ones to the SMTP server, one at a time, outside any
request: a slow or broken mail server never delays or fails what a person did. Each
notice is claimed before it is sent (so two senders never send it twice), tried again
with growing pauses when the server does not take it, and kept as `failed` after
NOTICE_MAX_ATTEMPTS, never deleted (a transfer notice goes with its transfer, which
fieldapp never deletes). The database's unique constraints make each kind of notice
about a referral or a transfer go once to each organization.

With MAIL_SERVER unset, notices are off: nothing is queued and nothing is sent.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from fieldapp import clock
from fieldapp.accounts.models import Organization
from fieldapp.extensions import db
from fieldapp.notices import mailer, messages
from fieldapp.notices.models import REFERRAL_KINDS, TRANSFER_KINDS, Notice
from fieldapp.referrals.models import Referral
from fieldapp.transfers.models import Transfer

log = logging.getLogger("fieldapp.notices")

# Who hears of what: the receiving organization of a new or overdue referral, the
# sending organization of a completed one; the issuing organization of a transfer
# request, the requesting organization of its approval or decline.
KINDS = REFERRAL_KINDS + TRANSFER_KINDS
# There is no language per organization: the country's, else the default (Spanish).
LOCALE_BY_COUNTRY = {"BR": "pt_BR", "GY": "en", "TT": "en"}
LONGEST_PAUSE = timedelta(hours=6)
# A claimed notice whose sender died before saying how it went is tried again after this.
CLAIM_LEASE = timedelta(minutes=10)


def enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def notice_locale(org: Organization) -> str:
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    locale = LOCALE_BY_COUNTRY.get(org.country_code, default)
    return locale if locale in current_app.config["LANGUAGES"] else default


def enqueue(referral_id: uuid.UUID, organization_id: uuid.UUID, kind: str, *,
            now: datetime | None = None) -> bool:
    """Queue one notice about a referral in the caller's transaction. False when notices
    are off, the organization has no notice address (or is inactive), or this notice
    exists already."""
    if kind not in REFERRAL_KINDS:
        raise ValueError(kind)
    return _enqueue({"referral_id": referral_id}, organization_id, kind, now=now)


def enqueue_transfer(transfer_id: uuid.UUID, organization_id: uuid.UUID, kind: str, *,
                     now: datetime | None = None) -> bool:
    """Queue one notice about a transfer request, as `enqueue` does for a referral."""
    if kind not in TRANSFER_KINDS:
        raise ValueError(kind)
    return _enqueue({"transfer_id": transfer_id}, organization_id, kind, now=now)


def _enqueue(subject: dict[str, uuid.UUID], organization_id: uuid.UUID, kind: str, *,
             now: datetime | None) -> bool:
    if not enabled():
        return False
    org = db.session.get(Organization, organization_id)
    if org is None or not org.active or not org.notice_email:
        return False
    now = now or clock.now()
    values = {"id": uuid.uuid4(), "organization_id": org.id, **subject,
              "kind": kind, "to_address": org.notice_email, "locale": notice_locale(org),
              "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    # The constraint, not a look first, says "once": two requests at the same moment
    # cannot both queue it.
    inserted = db.session.execute(dialect.insert(Notice).values(**values)
                                  .on_conflict_do_nothing().returning(Notice.id)).first()
    return inserted is not None


def on_referral_status(referral: Referral, *, now: datetime | None = None) -> bool:
    """The referral was just sent (the receiver hears of it) or completed (the sender
    does); other moves send nothing. Call after the referral is flushed."""
    if referral.status == "sent":
        return enqueue(referral.id, referral.receiving_org_id, "new", now=now)
    if referral.status == "completed":
        return enqueue(referral.id, referral.sending_org_id, "completed", now=now)
    return False


def on_transfer_status(transfer: Transfer, *, now: datetime | None = None) -> bool:
    """The transfer was just requested (the issuing organization hears of it) or
    approved or declined (the requesting organization does); a cancel sends nothing
    (the requester did it, and the issuer's list shows it). Call after the flush."""
    if transfer.status == "requested":
        return enqueue_transfer(transfer.id, transfer.from_org_id, "transfer_requested",
                                now=now)
    if transfer.status in ("approved", "declined"):
        return enqueue_transfer(transfer.id, transfer.to_org_id, "transfer_decided", now=now)
    return False


def enqueue_overdue(now: datetime | None = None) -> int:
    """One notice per referral still unacknowledged after its deadline, to the receiving
    organization, once. Returns how many were queued; the caller commits."""
    if not enabled():
        return 0
    now = now or clock.now()
    noticed = sa.exists().where(Notice.referral_id == Referral.id, Notice.kind == "overdue")
    rows = db.session.execute(sa.select(Referral.id, Referral.receiving_org_id).where(
        Referral.status == "sent", Referral.due_at <= now, Referral.erased_at.is_(None),
        ~noticed).order_by(Referral.due_at)).all()
    return sum(enqueue(referral_id, org_id, "overdue", now=now) for referral_id, org_id in rows)


def page_link(endpoint: str, **values: Any) -> str:
    """A page at FIELDAPP_BASE_URL (checked at start-up when mail is on)."""
    base = urlsplit(current_app.config["FIELDAPP_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def referral_link(referral_id: uuid.UUID) -> str:
    return page_link("referrals.detail", referral_id=referral_id)


def transfer_link(transfer_id: uuid.UUID) -> str:
    return page_link("transfers.detail", transfer_id=transfer_id)


def pause_after(attempt: int) -> timedelta:
    """1, 2, 4, 8... minutes (NOTICE_RETRY_SECONDS doubled), at most six hours."""
    base = int(current_app.config.get("NOTICE_RETRY_SECONDS", 60))
    return min(timedelta(seconds=base * 2 ** min(attempt - 1, 20)), LONGEST_PAUSE)


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def send_pending(now: datetime | None = None, *, limit: int = 100) -> SendReport:
    """Send the notices that are due at `now`, oldest first; commits after each one."""
    report = SendReport()
    if not enabled():
        return report
    now = now or clock.now()
    due = db.session.scalars(sa.select(Notice.id).where(
        Notice.status == "pending", Notice.next_attempt_at <= now)
        .order_by(Notice.next_attempt_at, Notice.created_at).limit(limit)).all()
    db.session.commit()
    for notice_id in due:
        attempt = _claim(notice_id, now)
        if attempt is None:
            continue  # another sender has it
        notice = db.session.get(Notice, notice_id)
        if notice is None:
            continue  # its transfer was deleted meanwhile, and the notice with it
        outcome = _send(notice, attempt, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
        db.session.commit()
    return report


def _claim(notice_id: uuid.UUID, now: datetime) -> int | None:
    """Count the attempt and hold the notice for CLAIM_LEASE, if it is still due; the
    attempt's number, or None when another sender was quicker."""
    attempt = db.session.execute(
        sa.update(Notice).where(Notice.id == notice_id, Notice.status == "pending",
                                Notice.next_attempt_at <= now)
        .values(attempts=Notice.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
        .returning(Notice.attempts)
        .execution_options(synchronize_session=False)).scalar()
    db.session.commit()
    return attempt


def _parts(notice: Notice) -> dict[str, Any] | None:
    """What the message says besides its kind: the referral's reference, or the
    transfer's outcome; and the link. None when the subject is gone."""
    if notice.transfer_id is not None:
        status = db.session.scalar(sa.select(Transfer.status).where(
            Transfer.id == notice.transfer_id))
        if status is None:
            return None
        return {"reference": None, "link": transfer_link(notice.transfer_id),
                "outcome": status if notice.kind == "transfer_decided" else None}
    reference = db.session.scalar(sa.select(Referral.reference).where(
        Referral.id == notice.referral_id)) if notice.referral_id else None
    if reference is None:
        return None
    return {"reference": reference, "link": referral_link(notice.referral_id),
            "outcome": None}


def _send(notice: Notice, attempt: int, now: datetime) -> str:
    config = current_app.config
    parts = _parts(notice)
    if parts is None:  # the referral or transfer is gone: nothing to point at
        subject = "transfer" if notice.transfer_id is not None else "referral"
        notice.status, notice.last_error = "failed", f"{subject}_missing"
        log.error("notice %s (%s) not sent: its %s no longer exists", notice.id,
                  notice.kind, subject)
        return "failed"
    message = messages.compose(kind=notice.kind, locale=notice.locale,
                               sender=config["MAIL_DEFAULT_SENDER"], to=notice.to_address,
                               **parts)
    try:
        mailer.send(message, config)
    except (OSError, smtplib.SMTPException) as exc:
        text, permanent = mailer.problem(exc)
        notice.last_error = text
        most = int(config.get("NOTICE_MAX_ATTEMPTS", 10))
        if permanent or attempt >= most:
            notice.status = "failed"
            log.error("notice %s (%s) failed after attempt %d of %d: %s; kept, see "
                      "`flask notices list --status failed`", notice.id, notice.kind,
                      attempt, most, text)
            return "failed"
        notice.next_attempt_at = now + pause_after(attempt)
        log.warning("notice %s (%s) not sent, attempt %d of %d: %s; next try at %s",
                    notice.id, notice.kind, attempt, most, text,
                    notice.next_attempt_at.isoformat())
        return "retrying"
    notice.status, notice.sent_at, notice.last_error = "sent", now, None
    log.info("notice %s (%s) sent", notice.id, notice.kind)
    return "sent"


def retry_failed(notice_id: uuid.UUID | None = None, *,
                 now: datetime | None = None) -> int:
    """Put failed notices (all, or one) back in the queue, to the organization's current
    notice address, with a fresh count of attempts. Returns how many."""
    now = now or clock.now()
    stmt = sa.select(Notice).where(Notice.status == "failed")
    if notice_id is not None:
        stmt = stmt.where(Notice.id == notice_id)
    count = 0
    for notice in db.session.scalars(stmt):
        org = db.session.get(Organization, notice.organization_id)
        if org is not None and org.notice_email:
            notice.to_address = org.notice_email
        notice.status, notice.attempts, notice.next_attempt_at = "pending", 0, now
        count += 1
    db.session.flush()
    return count


def list_notices(status: str | None = None, *, limit: int = 50) -> list[Notice]:
    stmt = sa.select(Notice).order_by(Notice.created_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(Notice.status == status)
    return list(db.session.scalars(stmt))
