"""`flask users ...`: create users and reset passwords from the command line."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Blueprint

from fieldapp.accounts import passwords, services
from fieldapp.accounts.models import Organization
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.extensions import db

bp = Blueprint("users_cli", __name__, cli_group="users")


@bp.cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--organization", "org_name", required=True, help="Organization name.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]))
@click.password_option()
def create_command(email: str, name: str, org_name: str, roles: tuple[str, ...],
                   password: str) -> None:
    """Create a user (for the first admin of a new installation)."""
    org = db.session.scalar(sa.select(Organization).where(Organization.name == org_name))
    if org is None:
        raise click.ClickException("No organization with that name.")
    errors = passwords.policy_errors(password, email=email)
    if errors:
        raise click.ClickException(" ".join(str(e) for e in errors))
    if services.find_user_by_email(email):
        raise click.ClickException("A user with this email already exists.")
    from fieldapp.accounts.models import User

    user = User(email=services.normalize_email(email), name=name, organization=org,
                password_hash=passwords.hash_password(password))
    user.set_roles({Role(r) for r in roles})
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", object_type="user", object_id=user.id,
                 organization_id=org.id, details={"roles": sorted(roles), "channel": "cli"})
    db.session.commit()
    click.echo(f"Created user {user.id}.")


@bp.cli.command("set-password")
@click.option("--email", required=True)
@click.password_option()
def set_password_command(email: str, password: str) -> None:
    """Set a user's password and end every session of the user."""
    user = services.find_user_by_email(email)
    if user is None:
        raise click.ClickException("No such user.")
    errors = passwords.policy_errors(password, email=email)
    if errors:
        raise click.ClickException(" ".join(str(e) for e in errors))
    user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    services.end_all_sessions(user)
    audit.record("user.password_reset", object_type="user", object_id=user.id,
                 organization_id=user.organization_id, details={"channel": "cli"})
    db.session.commit()
    click.echo("Password set; every session of the user has ended.")
