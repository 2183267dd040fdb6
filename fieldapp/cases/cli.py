"""`flask cases erase REFERENCE` and `flask cases purge --closed-before DATE`."""

from __future__ import annotations

from datetime import date

import click
from flask import Blueprint

from fieldapp.cases import services
from fieldapp.extensions import db

bp = Blueprint("cases_cli", __name__, cli_group="cases")


@bp.cli.command("erase")
@click.argument("reference")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(reference: str, yes: bool) -> None:
    """Crypto-shred one case: its data key and blind indexes are deleted for good."""
    case = services.find_by_reference(reference)
    if case is None or case.erased:
        raise click.ClickException("No readable case with that reference.")
    if not yes:
        click.confirm(f"Erase {case.reference} for good?", abort=True)
    services.erase_case(case, reason="request")
    db.session.commit()
    click.echo(f"Erased {case.reference}. It still counts in statistics; nobody can read it.")


@bp.cli.command("purge")
@click.option("--closed-before", "closed_before", required=True,
              type=click.DateTime(formats=["%Y-%m-%d"]))
def purge_command(closed_before) -> None:  # noqa: ANN001 - click passes a datetime
    """Retention: erase every case closed before DATE (YYYY-MM-DD)."""
    cutoff: date = closed_before.date()
    n = services.purge_closed_before(cutoff)
    click.echo(f"Erased {n} case(s) closed before {cutoff.isoformat()}.")
