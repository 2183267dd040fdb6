"""`flask keys ...`: the key ring lives in a file outside the database."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, current_app

from fieldapp.crypto import KeyRing

bp = Blueprint("keys_cli", __name__, cli_group="keys")


@bp.cli.command("generate")
@click.option("--path", "path_text", default=None,
              help="Where to write the key file (default: FIELDAPP_KEY_FILE).")
def generate_command(path_text: str | None) -> None:
    """Create a new key file (mode 0600). Refuses to overwrite an existing one."""
    path = Path(path_text or current_app.config["FIELDAPP_KEY_FILE"])
    if path.exists():
        raise click.ClickException(f"{path} exists already; refusing to overwrite keys.")
    ring = KeyRing.generate()
    ring.save(path)
    click.echo(f"Wrote {path} (mode 0600) with primary key {ring.primary}.")
    click.echo("Back it up now, somewhere other than the database backups.")
