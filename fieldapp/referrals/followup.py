"""The follow-up log both sides of a referral share (SPEC §11.4), and the sender's news.

An update is a note, an appointment (with its date), a contact attempt or a service
delivered (what, and when). Its text is free text, sealed under the referral's own
data key like the referral's note, so erasing the referral shreds the log too. Either
side may write while the referral is not cancelled: a declined or completed referral
still takes updates (the provider may explain a refusal or record a service given
after all; the sender may say where the person went instead). Nobody else sees the
log: the views load the referral with the referral view rule first (404 otherwise).

News: the receiving side's updates and moves set `Referral.receiver_activity_at`;
someone of the sending side opening the referral sets `sender_seen_at`. A referral
whose activity is later than the last look has news for the sender.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from fieldapp import clock
from fieldapp.accounts.models import User
from fieldapp.audit import services as audit
from fieldapp.exceptions import Conflict, NotAllowed, ValidationFailed
from fieldapp.extensions import db
from fieldapp.referrals.models import Referral, ReferralUpdate
from fieldapp.referrals.services import box_condition, has_news, organization_name, side_of

KINDS = {
    "note": _l("Note"),
    "appointment": _l("Appointment"),
    "contact_attempt": _l("Contact attempt"),
    "service_delivered": _l("Service delivered"),
}
MAX_TEXT = 2000
EARLIEST = date(2000, 1, 1)
# An appointment may be set this far ahead; what already happened cannot be in the future.
FURTHEST_AHEAD = timedelta(days=730)
PAST_ONLY = ("contact_attempt", "service_delivered")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _local_today(actor: User, now: datetime) -> date:
    """Today where the writer is (an update's date is a date on their calendar)."""
    try:
        zone = zoneinfo.ZoneInfo(actor.organization.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return now.astimezone(zone).date()


def _parse_date(value: date | str | None) -> date | None:
    """A date, `YYYY-MM-DD` text, or nothing; ValueError for anything else."""
    if value is None or isinstance(value, date):
        return value
    if not value.strip():
        return None
    if not ISO_DATE.fullmatch(value.strip()):
        raise ValueError("not YYYY-MM-DD")
    return date.fromisoformat(value.strip())


def check_update(actor: User, referral: Referral, *, kind: str, text: str | None,
                 on_date: date | str | None, now: datetime | None = None) -> date | None:
    """Every problem of this update at once (ValidationFailed), or Conflict when the
    referral takes no updates; changes nothing. Returns the date, read."""
    now = now or clock.now()
    if not side_of(actor, referral):
        raise NotAllowed(_l("Only the two organizations of a referral can write in its log."))
    if referral.status == "cancelled":
        raise Conflict(_l("This referral was cancelled: its log takes no more updates."))
    fields: dict[str, list[Any]] = {}
    if kind not in KINDS:
        fields["kind"] = [_l("Not one of the allowed values.")]
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        fields["text"] = [_l("At most %(n)d characters.", n=MAX_TEXT)]
    elif not text and kind in ("note", "service_delivered"):
        fields["text"] = [_l("Write the note.") if kind == "note"
                          else _l("Say which service was delivered.")]
    day = None
    try:
        day = _parse_date(on_date)
    except ValueError:
        fields["date"] = [_l("Give a date as YYYY-MM-DD.")]
    if "date" not in fields:
        today = _local_today(actor, now)
        if day is None and kind in ("appointment", "service_delivered"):
            fields["date"] = [_l("Give the date of the appointment.") if kind == "appointment"
                              else _l("Give the date the service was delivered.")]
        elif day is not None and kind in PAST_ONLY and day > today:
            fields["date"] = [_l("This date is in the future.")]
        elif day is not None and not EARLIEST <= day <= today + FURTHEST_AHEAD:
            fields["date"] = [_l("Give a date between %(first)s and %(last)s.",
                                 first=EARLIEST.isoformat(),
                                 last=(today + FURTHEST_AHEAD).isoformat())]
    if fields:
        raise ValidationFailed(_l("The update was not saved."), fields=fields)
    return day


def add_update(actor: User, referral: Referral, *, kind: str, text: str | None,
               on_date: date | str | None = None,
               now: datetime | None = None) -> ReferralUpdate:
    """Write an update in the referral's log, sealed; audited without its text."""
    now = now or clock.now()
    day = check_update(actor, referral, kind=kind, text=text, on_date=on_date, now=now)
    update = ReferralUpdate(id=uuid.uuid4(), kind=kind, on_date=day, author_id=actor.id,
                            author_org_id=actor.organization_id, created_at=now)
    update.referral = referral  # before sealing: the text goes under the referral's key
    update.text = (text or "").strip() or None
    db.session.add(update)
    sides = side_of(actor, referral)
    if "receiver" in sides and "sender" not in sides:
        _mark(referral, receiver_activity_at=now)
    db.session.flush()
    audit.record("referral.update_added", actor=actor, object_type="referral",
                 object_id=referral.id,
                 details={"update_id": str(update.id), "kind": kind,
                          "side": "receiver" if "receiver" in sides else "sender",
                          "dated": day is not None})
    return update


def list_updates(referral: Referral) -> list[ReferralUpdate]:
    """The referral's log, oldest first."""
    return list(db.session.scalars(
        sa.select(ReferralUpdate).where(ReferralUpdate.referral_id == referral.id)
        .order_by(ReferralUpdate.created_at, ReferralUpdate.id)))


def record_log_view(actor: User, referral: Referral) -> None:
    """Reading the log (free text about a person) is audited like reading the referral."""
    audit.record("referral.updates_viewed", actor=actor, object_type="referral",
                 object_id=referral.id, organization_id=actor.organization_id)


def author_names(updates: list[ReferralUpdate]) -> dict[uuid.UUID, str]:
    ids = {u.author_id for u in updates}
    if not ids:
        return {}
    return {row.id: row.name for row in
            db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids)))}


def update_to_dict(update: ReferralUpdate, names: dict[uuid.UUID, str] | None = None,
                   ) -> dict[str, Any]:
    if names is None:
        names = author_names([update])
    return {"id": str(update.id), "at": update.created_at.isoformat(), "kind": update.kind,
            "text": update.text, "date": update.on_date.isoformat() if update.on_date else None,
            "author": {"name": names.get(update.author_id),
                       "organization": organization_name(update.author_org_id)}}


def latest_by_referral(referrals: list[Referral], *, limit: int = 3,
                       ) -> dict[uuid.UUID, tuple[list[ReferralUpdate], int]]:
    """For the case page: each referral's last `limit` updates (oldest of them first)
    and how many came before them; one query for all."""
    ids = [r.id for r in referrals]
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(ReferralUpdate).where(ReferralUpdate.referral_id.in_(ids))
        .order_by(ReferralUpdate.created_at, ReferralUpdate.id))
    grouped: dict[uuid.UUID, list[ReferralUpdate]] = defaultdict(list)
    for row in rows:
        grouped[row.referral_id].append(row)
    return {rid: (items[-limit:], max(0, len(items) - limit)) for rid, items in grouped.items()}


# -- news for the sender -----------------------------------------------------------------

def _mark(referral: Referral, **values: datetime) -> None:
    """Set a news marker without touching the referral's version: looking at a
    referral must not make the other side's concurrent move fail as a stale write."""
    db.session.execute(sa.update(Referral).where(Referral.id == referral.id).values(**values))


def mark_seen(actor: User, referral: Referral, *, now: datetime | None = None) -> None:
    """Someone of the sending side opened the referral: its news are read."""
    if "sender" in side_of(actor, referral):
        _mark(referral, sender_seen_at=now or clock.now())


def news_count(user: User) -> int:
    """Referrals in the user's outbox with news (the home page's "N referrals with news")."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(
        box_condition(user, "outbox"), Referral.erased_at.is_(None), has_news())) or 0
