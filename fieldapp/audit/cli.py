"""`flask audit verify` and `flask audit checkpoint`."""

from __future__ import annotations

import click
from flask import Blueprint

from fieldapp.audit import services
from fieldapp.extensions import keys

bp = Blueprint("audit_cli", __name__, cli_group="audit")


@bp.cli.command("verify")
@click.option("--checkpoint", "checkpoint_text", default=None,
              help="SEQ:MAC printed earlier by `flask audit checkpoint`.")
def verify_command(checkpoint_text: str | None) -> None:
    """Verify the whole chain; exit 1 at the first broken link."""
    cp = None
    if checkpoint_text:
        try:
            cp = services.parse_checkpoint(checkpoint_text)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    result = services.verify(keys.ring.audit_key, cp)
    if result.ok:
        click.echo(f"OK: {result.count} events, head {result.head_seq}:{result.head_mac}")
        return
    click.echo(f"BROKEN at event {result.broken_seq}: {result.problem} "
               f"({result.count} events verified before it)")
    raise SystemExit(1)


@bp.cli.command("checkpoint")
def checkpoint_command() -> None:
    """Print SEQ:MAC of the chain head, to keep outside this server."""
    seq, mac = services.checkpoint()
    click.echo(f"{seq}:{mac}")
