"""`flask demo seed`: the demo network on an empty database (development only)."""

from __future__ import annotations

import os

import click
from flask import Blueprint

from fieldapp.demo import seed as demo
from fieldapp.extensions import db

bp = Blueprint("demo_cli", __name__, cli_group="demo")


@bp.cli.command("seed")
def seed_command() -> None:
    """Seed demo organizations and users if the database is empty."""
    try:
        password = demo.seed(os.environ.get("FIELDAPP_DEMO_PASSWORD") or None)
    except demo.DemoRefused as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    if password is None:
        click.echo("Demo data already present. Demo password: the one printed when it was "
                   "first seeded, or FIELDAPP_DEMO_PASSWORD if you set it then.")
        return
    click.echo("Seeded the demo network. Demo logins (all with the same password):")
    for email in demo.DEMO_EMAILS:
        click.echo(f"  {email}")
    if os.environ.get("FIELDAPP_DEMO_PASSWORD"):
        click.echo("Demo password: the value of FIELDAPP_DEMO_PASSWORD.")
    else:
        click.echo(f"Demo password (shown only this once): {password}")
