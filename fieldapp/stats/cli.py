"""`flask stats rebuild-totals`."""

from __future__ import annotations

import click
from flask import Blueprint

from fieldapp.extensions import db
from fieldapp.stats import totals

bp = Blueprint("stats_cli", __name__, cli_group="stats")


@bp.cli.command("rebuild-totals")
def rebuild_totals_command() -> None:
    """Recompute the statistics' running totals from the flags and groups (after a bulk
    load, or to repair them); puts their triggers back if a bulk load left them off."""
    totals.restore_triggers(db.session)
    db.session.commit()
    click.echo("Statistics totals rebuilt.")
