"""`flask users ...`: create users and reset passwords from the command line."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Blueprint

from fieldapp.accounts import passwords, services
from fieldapp.accounts.models import Organization
from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.audit import services as audit
from fieldapp.db import utcnow
from fieldapp.extensions import db

bp = Blueprint("users_cli", __name__, cli_group="users")


@bp.cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--organization", "org_name", required=True, help="Organization name.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]))
@click.option("--temporary", is_flag=True,
              help="The user must change this password at the first login.")
@click.password_option()
def create_command(email: str, name: str, org_name: str, roles: tuple[str, ...],
                   temporary: bool, password: str) -> None:
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
                password_hash=passwords.hash_password(password),
                must_change_password=temporary)
    user.set_roles({Role(r) for r in roles})
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", object_type="user", object_id=user.id,
                 organization_id=org.id, details={"roles": sorted(roles), "channel": "cli",
                                                  "temporary": temporary})
    db.session.commit()
    click.echo(f"Created user {user.id}.")


@bp.cli.command("set-password")
@click.option("--email", required=True)
@click.option("--temporary", is_flag=True,
              help="The user must change this password at the next login.")
@click.password_option()
def set_password_command(email: str, temporary: bool, password: str) -> None:
    """Set a user's password and end every session of the user.

    The server operator's own tool: unlike the administration pages it does not force a
    change at the next login unless --temporary is given."""
    user = services.find_user_by_email(email)
    if user is None:
        raise click.ClickException("No such user.")
    errors = passwords.policy_errors(password, email=email)
    if errors:
        raise click.ClickException(" ".join(str(e) for e in errors))
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = temporary
    user.failed_logins = 0
    user.locked_until = None
    services.end_all_sessions(user)
    audit.record("user.password_reset", object_type="user", object_id=user.id,
                 organization_id=user.organization_id,
                 details={"channel": "cli", "temporary": temporary})
    db.session.commit()
    click.echo("Password set; every session of the user has ended.")


@bp.cli.command("reset-second-factor")
@click.option("--email", required=True)
def reset_second_factor_command(email: str) -> None:
    """Remove every second factor of a user (authenticator app, recovery codes, passkeys)
    and end their sessions: for when no administrator of their organization can (the
    last administrator lost their phone). Audited; the user is told at the next login."""
    from fieldapp.accounts import two_factor

    user = services.find_user_by_email(email)
    if user is None:
        raise click.ClickException("No such user.")
    two_factor.remove_all(user, actor=None, channel="cli")
    db.session.commit()
    click.echo("Second factor removed; every session of the user has ended.")


orgs_bp = Blueprint("organizations_cli", __name__, cli_group="organizations")


@orgs_bp.cli.command("create")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice([k.value for k in OrganizationKind]))
@click.option("--country", "country_code", required=True, help="ISO 3166-1 alpha-2, e.g. CO.")
@click.option("--place", "location_code", default=None, help="Location code, e.g. CO-NSA-CUCUTA.")
@click.option("--no-statistics", is_flag=True, help="Do not contribute to network statistics.")
def create_organization_command(name: str, kind: str, country_code: str,
                                location_code: str | None, no_statistics: bool) -> None:
    """Create an organization (for the platform's own, before the first admin exists)."""
    from fieldapp.exceptions import ValidationFailed

    try:
        services.check_organization_fields(name, country_code.upper(),
                                           location_code.upper() if location_code else None)
    except ValidationFailed as exc:
        raise click.ClickException(
            " ".join(str(m) for msgs in exc.fields.values() for m in msgs)) from exc
    org = Organization(name=name.strip(), kind=kind, country_code=country_code.upper(),
                       location_code=location_code.upper() if location_code else None,
                       shares_statistics=not no_statistics)
    db.session.add(org)
    db.session.flush()
    audit.record("organization.created", object_type="organization", object_id=org.id,
                 organization_id=org.id, details={"channel": "cli"})
    db.session.commit()
    click.echo(f"Created organization {org.id}.")
