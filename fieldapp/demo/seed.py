"""Seeding the demo organizations and users on an empty database."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from fieldapp.accounts import passwords
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.audit import services as audit
from fieldapp.cases import services as cases
from fieldapp.cases import vocab
from fieldapp.db import utcnow
from fieldapp.demo import directory, people
from fieldapp.extensions import db

# (name, kind, country, place, shares_statistics, [(email, display name, roles)])
DEMO_ORGANIZATIONS = [
    ("Frontera Solidaria", OrganizationKind.BORDER_NGO, "CO", "CO-NSA-CUCUTA", True, [
        ("fieldworker@frontera.example", "Lucía Fernández (demo)", {Role.FIELD_WORKER}),
        ("casemanager@frontera.example", "Andrés Molina (demo)", {Role.CASE_MANAGER}),
        ("orgadmin@frontera.example", "Paula Restrepo (demo)", {Role.ORG_ADMIN}),
    ]),
    ("Casa de Acogida Rumichaca", OrganizationKind.HOST_COMMUNITY, "EC", "EC-C-TULCAN", False, [
        ("fieldworker@rumichaca.example", "Diego Quishpe (demo)", {Role.FIELD_WORKER}),
    ]),
    ("Clínica Jurídica para Migrantes", OrganizationKind.LEGAL_CLINIC, "CO", "CO-DC-BOGOTA",
     True, [
        ("provider@clinica.example", "Mariana Ortiz (demo)", {Role.SERVICE_PROVIDER}),
    ]),
    ("Protección Infantil Norte", OrganizationKind.CHILD_PROTECTION, "CO", "CO-NSA-CUCUTA",
     True, [
        ("provider@proteccion.example", "Julián Peña (demo)", {Role.SERVICE_PROVIDER}),
    ]),
    ("Red de Movilidad Humana", OrganizationKind.NETWORK, "CO", "CO", True, [
        ("supervisor@red.example", "Carolina Vélez (demo)", {Role.SUPERVISOR}),
    ]),
    ("fieldapp", OrganizationKind.PLATFORM, "CO", None, True, [
        ("admin@fieldapp.example", "Platform admin (demo)", {Role.ADMIN}),
    ]),
]

DEMO_EMAILS = [email for *_, users in DEMO_ORGANIZATIONS for email, _n, _r in users]


class DemoRefused(RuntimeError):
    pass


def database_is_empty() -> bool:
    return not db.session.scalar(sa.select(sa.func.count()).select_from(Organization))


def seed(password: str | None = None, *, with_cases: bool = True) -> str | None:
    """Seed the demo network when the database has no organization yet.

    Returns the demo password when it seeded (generated unless given), else None.
    """
    if current_app.config["FIELDAPP_ENV"] == "production" or not current_app.config.get(
            "FIELDAPP_DEMO_DATA"):
        raise DemoRefused("Demo data is refused outside development and testing.")
    if not database_is_empty():
        return None
    password = password or secrets.token_urlsafe(12)
    password_hash = passwords.hash_password(password)
    for name, kind, country, place, shares, users in DEMO_ORGANIZATIONS:
        org = Organization(name=name, kind=kind.value, country_code=country,
                           location_code=place, shares_statistics=shares)
        db.session.add(org)
        for email, display, roles in users:
            # Work phones are invented and cannot ring anyone (+57 000 ...).
            user = User(email=email, name=display, organization=org,
                        password_hash=password_hash,
                        work_phone=f"+57 000 000 {101 + DEMO_EMAILS.index(email):04d}")
            user.set_roles(roles)
            db.session.add(user)
    db.session.flush()
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@fieldapp.example"))
    services = directory.seed_directory(admin)
    cases = seed_cases() if with_cases else 0
    sent = directory.seed_referrals(random.Random(99)) if with_cases else 0
    audit.record("demo.seeded", details={"organizations": len(DEMO_ORGANIZATIONS),
                                         "users": len(DEMO_EMAILS), "cases": cases,
                                         "services": services, "referrals": sent})
    return password


DEMO_CASES = {"fieldworker@frontera.example": (260, people.SITES_FRONTERA),
              "casemanager@frontera.example": (100, people.SITES_FRONTERA),
              "fieldworker@rumichaca.example": (90, people.SITES_RUMICHACA)}


def seed_cases(seed: int = 2026) -> int:
    """A few hundred invented cases, registered through the real (encrypting) path,
    spread over the last six months (dense enough for statistics to show something)."""
    rng = random.Random(seed)  # invented demo data: reproducible, not secret
    count = 0
    for email, (n, sites) in DEMO_CASES.items():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        for _ in range(n):
            when = utcnow() - timedelta(days=rng.randint(0, 181), minutes=rng.randint(0, 1440))
            data = people.invented_case(rng, today=when.date(), sites=sites)
            age = (vocab.age_on(data.date_of_birth, when.date()) if data.date_of_birth
                   else data.age_years or 0)
            answers = people.invented_answers(rng, age=age, sex=data.sex) \
                if rng.random() < 0.85 else None
            cases.register_case(user, data, answers=answers, now=when)
            count += 1
    return count
