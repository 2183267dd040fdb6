"""`flask bench`: run the benchmark against a database of its own."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint

bp = Blueprint("bench_cli", __name__, cli_group=None)


@bp.cli.command("bench")
@click.option("--cases", "n", default=100_000, show_default=True, help="N cases to seed up to.")
@click.option("--database-url", default="sqlite:///bench/bench.sqlite3", show_default=True,
              help="A database used only for the benchmark (seeding is kept between runs).")
@click.option("--out", default=None, help="Write the figures as JSON here.")
@click.option("--repeat", default=200, show_default=True)
def bench_command(n: int, database_url: str, out: str | None, repeat: int) -> None:
    """Seed N cases (real encryption) and measure lookups, listing and creation."""
    from fieldapp.bench.run import run

    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        # Relative to the current directory (Flask-SQLAlchemy would read it as relative
        # to the instance folder).
        path = Path(database_url.removeprefix("sqlite:///")).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        database_url = "sqlite:///" + str(path)
    run(database_url, n, Path("bench"), Path(out) if out else None, repeat=repeat,
        log=click.echo)
