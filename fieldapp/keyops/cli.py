"""`flask keys generate|rotate|rotate-intake|verify|retire|list`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, current_app

from fieldapp.crypto import KeyRing
from fieldapp.extensions import keys
from fieldapp.keyops import services

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
    click.echo(f"Wrote {path} (mode 0600) with primary key {ring.primary} and offline "
               f"intake key {ring.intake_primary}.")
    click.echo("Back it up now, somewhere other than the database backups.")


@bp.cli.command("list")
def list_command() -> None:
    """Key ids, which is primary, and how many data keys each wraps."""
    ring = keys.ring
    usage = services.keys_in_use()
    for kek_id in sorted(ring.keks):
        mark = " (primary)" if kek_id == ring.primary else ""
        click.echo(f"{kek_id}{mark}: wraps {usage.get(kek_id, 0)} data key(s)")
    if not ring.intake_keys:
        click.echo("No offline intake key: phones cannot seal records until you run "
                   "`flask keys rotate-intake`.")
    received = services.intake_keys_in_use()
    for kid in sorted(ring.intake_keys):
        mark = " (primary: phones seal under it)" if kid == ring.intake_primary else ""
        count, latest = received.get(kid, (0, None))
        last = f", the latest received {latest:%Y-%m-%d}" if latest else ""
        click.echo(f"{kid}{mark}: offline intake, RSA-OAEP-256, created "
                   f"{ring.created.get(kid, '?')[:10]}; opened {count} record(s){last}")


@bp.cli.command("rotate")
@click.option("--batch", default=500, show_default=True)
def rotate_command(batch: int) -> None:
    """New primary key; re-wrap every data key (resumes an interrupted rotation)."""
    result = services.rotate(batch=batch,
                             progress=lambda n: click.echo(f"  re-wrapped {n}", err=True))
    verb = "Resumed and finished" if result.resumed else "Rotated to"
    click.echo(f"{verb} {result.kek_id}: {result.rewrapped} data key(s) re-wrapped.")
    click.echo("Back up the key file again. Retire old keys with `flask keys retire ID` "
               "once backups wrapped under them may become unreadable.")


@bp.cli.command("rotate-intake")
def rotate_intake_command() -> None:
    """New offline intake key pair; phones seal under it from their next sync on."""
    kid = services.rotate_intake()
    click.echo(f"Phones now seal new records under {kid}. Older intake keys keep opening "
               "records already sealed on phones until you retire them with "
               "`flask keys retire ID`; wait until every phone has synced.")
    click.echo("Back up the key file again.")


@bp.cli.command("verify")
def verify_command() -> None:
    """Decrypt every encrypted field of every record; exit 1 on any failure."""
    report = services.verify()
    click.echo(f"{report.records} records, {report.fields} encrypted fields checked, "
               f"{len(report.failures)} failure(s).")
    for failure in report.failures[:50]:
        click.echo(f"  FAILED {failure}")
    if report.failures:
        raise SystemExit(1)


@bp.cli.command("retire")
@click.argument("kek_id")
@click.option("--force", is_flag=True,
              help="Retire an intake key even though phones may still hold records "
                   "sealed under it (it was primary within the accepted capture age).")
def retire_command(kek_id: str, force: bool) -> None:
    """Remove a key from the ring; refused while anything is still wrapped under it.

    An intake key id retires an offline intake key: records still sealed under it on
    some phone can no longer be opened (the phone keeps them and shows them). Refused,
    unless --force, while it was the primary intake key within the capture age the
    server accepts (phones out of signal keep sealing under the key they last fetched)."""
    intake = kek_id in keys.ring.intake_keys
    try:
        services.retire(kek_id, force=force)
    except services.RetireRefused as exc:
        raise click.ClickException(f"Refused: {exc}") from exc
    if intake:
        click.echo(f"Retired {kek_id}. Records still sealed under it on a phone can no "
                   "longer be opened by this server.")
        return
    click.echo(f"Retired {kek_id}. Backups whose data keys were wrapped under it are now "
               "unreadable with this key file.")
