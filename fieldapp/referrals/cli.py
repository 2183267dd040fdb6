"""`flask referrals erase ID`: crypto-shred one referral's snapshot."""

from __future__ import annotations

import uuid

import click
from flask import Blueprint

from fieldapp.extensions import db
from fieldapp.referrals import services
from fieldapp.referrals.models import Referral

bp = Blueprint("referrals_cli", __name__, cli_group="referrals")


@bp.cli.command("erase")
@click.argument("referral_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(referral_id: str, yes: bool) -> None:
    """Delete the referral's data key: its snapshot, note and reasons become unreadable."""
    try:
        referral = db.session.get(Referral, uuid.UUID(referral_id))
    except ValueError:
        referral = None
    if referral is None or referral.erased_at is not None:
        raise click.ClickException("No readable referral with that id.")
    if not yes:
        click.confirm("Erase this referral's shared data for good?", abort=True)
    services.erase_referral(referral)
    db.session.commit()
    click.echo("Erased. The referral's status and dates remain for statistics.")
