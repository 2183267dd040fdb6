"""`flask notices ...`: the sender of e-mail notices (run it from a systemd timer or
cron every minute, or as a service with --loop), overdue checks, and the outbox for
administrators."""

from __future__ import annotations

import time
import uuid

import click
from flask import Blueprint

from fieldapp.accounts.models import Organization
from fieldapp.extensions import db
from fieldapp.notices import services
from fieldapp.notices.models import Notice

bp = Blueprint("notices_cli", __name__, cli_group="notices")


def _round() -> services.SendReport:
    queued = services.enqueue_overdue()
    db.session.commit()
    report = services.send_pending()
    if queued or report.sent or report.retrying or report.failed:
        click.echo(f"Overdue notices queued: {queued}. Sent: {report.sent}, to try again: "
                   f"{report.retrying}, failed: {report.failed}.")
    return report


@bp.cli.command("send")
@click.option("--loop", is_flag=True, help="Keep going, a round every --every seconds.")
@click.option("--every", default=60, show_default=True, type=click.IntRange(5, 3600),
              help="Seconds between rounds with --loop.")
def send_command(loop: bool, every: int) -> None:
    """Queue notices of newly overdue referrals, then send every notice that is due."""
    if not services.enabled():
        click.echo("E-mail notices are off: MAIL_SERVER is not set.")
        return
    _round()
    while loop:
        time.sleep(every)
        _round()
        db.session.remove()  # a fresh session each round: nothing stale is kept


@bp.cli.command("overdue")
def overdue_command() -> None:
    """Queue one notice per overdue referral (once), without sending."""
    if not services.enabled():
        click.echo("E-mail notices are off: MAIL_SERVER is not set.")
        return
    queued = services.enqueue_overdue()
    db.session.commit()
    click.echo(f"Overdue notices queued: {queued}.")


@bp.cli.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]),
              help="Only notices in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def list_command(status: str | None, limit: int) -> None:
    """The latest notices, newest first: what was sent, what waits, what failed."""
    rows = services.list_notices(status, limit=limit)
    if not rows:
        click.echo("No notices.")
        return
    names = {}
    for notice in rows:
        if notice.organization_id not in names:
            org = db.session.get(Organization, notice.organization_id)
            names[notice.organization_id] = org.name if org else "?"
        click.echo(_line(notice, names[notice.organization_id]))


def _line(notice: Notice, org_name: str) -> str:
    when = notice.sent_at if notice.status == "sent" else notice.next_attempt_at
    return (f"{notice.id}  {notice.created_at:%Y-%m-%d %H:%M}Z  {notice.kind:<18} "
            f"{notice.status:<7} attempts {notice.attempts}  "
            f"{'sent' if notice.status == 'sent' else 'next'} {when:%Y-%m-%d %H:%M}Z  "
            f"{org_name}" + (f"  [{notice.last_error}]" if notice.last_error else ""))


@bp.cli.command("retry")
@click.argument("notice_id", required=False)
def retry_command(notice_id: str | None) -> None:
    """Queue failed notices again (all of them, or the one given), to the organization's
    current notice address."""
    try:
        wanted = uuid.UUID(notice_id) if notice_id else None
    except ValueError:
        raise click.ClickException("Not a notice id.") from None
    count = services.retry_failed(wanted)
    db.session.commit()
    click.echo(f"Queued again: {count}.")
