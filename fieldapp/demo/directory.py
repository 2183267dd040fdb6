"""The demo service directory (SPEC §10) and a few demo referrals between the demo
organizations. Partner organizations listed here offer services but have no users."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.cases.models import Case
from fieldapp.db import utcnow
from fieldapp.extensions import db
from fieldapp.referrals import services as referrals

PARTNERS = [
    ("Salud Sin Fronteras Tumbes", OrganizationKind.HEALTH, "PE", "PE-TUM-TUMBES"),
    ("Casa Acolhida Pacaraima", OrganizationKind.SHELTER, "BR", "BR-RR-PACARAIMA"),
    ("Fundación Manos Abiertas", OrganizationKind.HEALTH, "CO", "CO-NSA-CUCUTA"),
    ("Colectivo Diversidad en Movimiento", OrganizationKind.HOST_COMMUNITY, "CO", "CO-DC-BOGOTA"),
    ("Red Trata Cero", OrganizationKind.BORDER_NGO, "CO", "CO-LAG-MAICAO"),
]

# (organization, service name, type, places, extra)
SERVICES = [
    ("Clínica Jurídica para Migrantes", "Asesoría en refugio y asilo", "legal_asylum", ["CO"],
     {"languages": ["es", "en"]}),
    ("Clínica Jurídica para Migrantes", "Regularización migratoria (PPT)",
     "legal_regularization", ["CO"], {"languages": ["es"]}),
    ("Clínica Jurídica para Migrantes", "Nacionalidad y registro de nacimiento",
     "legal_nationality", ["CO"], {"languages": ["es"]}),
    ("Clínica Jurídica para Migrantes", "Documentos de identidad", "legal_documentation",
     ["CO"], {"languages": ["es"], "capacity": "limited"}),
    ("Protección Infantil Norte", "Protección de niñas, niños y adolescentes",
     "child_protection", ["CO-NSA"], {"languages": ["es"], "max_age": 17}),
    ("Protección Infantil Norte", "Búsqueda y reunificación familiar", "family_tracing",
     ["CO-NSA"], {"languages": ["es"]}),
    ("Protección Infantil Norte", "Apoyo psicosocial", "mental_health_psychosocial", ["CO-NSA"],
     {"languages": ["es"], "capacity": "limited"}),
    ("Frontera Solidaria", "Puesto de salud del puente", "health", ["CO-NSA-VILLADELROSARIO",
                                                                    "CO-NSA-CUCUTA"],
     {"languages": ["es"]}),
    ("Frontera Solidaria", "Albergue temporal", "safe_shelter", ["CO-NSA-CUCUTA"],
     {"languages": ["es"], "capacity": "limited"}),
    ("Frontera Solidaria", "Atención a violencias basadas en género", "gbv_response",
     ["CO-NSA"], {"languages": ["es"], "sexes": ["female", "intersex", "unknown"]}),
    ("Frontera Solidaria", "Transferencias monetarias", "cash_assistance", ["CO-NSA"],
     {"languages": ["es"], "min_age": 18}),
    ("Casa de Acogida Rumichaca", "Albergue Rumichaca", "safe_shelter", ["EC-C"],
     {"languages": ["es"]}),
    ("Casa de Acogida Rumichaca", "Comedor", "food", ["EC-C"], {"languages": ["es"]}),
    ("Casa de Acogida Rumichaca", "Intérpretes comunitarios", "interpretation", ["EC"],
     {"languages": ["es", "other_indigenous"]}),
    ("Salud Sin Fronteras Tumbes", "Centro de salud CEBAF", "health", ["PE-TUM"],
     {"languages": ["es"]}),
    ("Salud Sin Fronteras Tumbes", "Salud sexual y reproductiva", "sexual_reproductive_health",
     ["PE"], {"languages": ["es"]}),
    ("Salud Sin Fronteras Tumbes", "Respuesta a violencia de género", "gbv_response", ["PE"],
     {"languages": ["es"]}),
    ("Casa Acolhida Pacaraima", "Abrigo", "safe_shelter", ["BR-RR"],
     {"languages": ["pt", "es"]}),
    ("Casa Acolhida Pacaraima", "Intérpretes warao", "interpretation", ["BR-RR"],
     {"languages": ["pt", "es", "warao"]}),
    ("Casa Acolhida Pacaraima", "Apoio a povos indígenas", "indigenous_support", ["BR-RR"],
     {"languages": ["pt", "warao"]}),
    ("Fundación Manos Abiertas", "Rehabilitación y ayudas técnicas", "disability_services",
     ["CO-NSA"], {"languages": ["es"]}),
    ("Fundación Manos Abiertas", "Cuidado de personas mayores", "older_persons_care",
     ["CO-NSA"], {"languages": ["es"], "min_age": 60}),
    ("Colectivo Diversidad en Movimiento", "Acompañamiento LGBTIQ+", "lgbtiq_support", ["CO"],
     {"languages": ["es"]}),
    ("Red Trata Cero", "Atención a víctimas de trata", "anti_trafficking", ["CO", "EC"],
     {"languages": ["es"]}),
    ("Red Trata Cero", "Protección de personas defensoras", "defender_protection", ["CO"],
     {"languages": ["es"], "capacity": "full"}),
]


def seed_directory(actor: User) -> int:
    for name, kind, country, place in PARTNERS:
        db.session.add(Organization(name=name, kind=kind.value, country_code=country,
                                    location_code=place, shares_statistics=True))
    db.session.flush()
    orgs = {o.name: o for o in db.session.scalars(sa.select(Organization))}
    for org_name, name, type_, places, extra in SERVICES:
        data = referrals.parse_service({"name": name, "type": type_,
                                        "organization_id": str(orgs[org_name].id),
                                        "location_codes": places,
                                        "contact": "demo@" + org_name.split()[0].lower()
                                        + ".example", **extra})
        referrals.create_service(actor, data)
    return len(SERVICES)


def seed_referrals(rng: random.Random, limit: int = 24) -> int:
    """Referrals from demo cases with suggestions, in every status, some overdue."""
    sent = 0
    cases = db.session.scalars(sa.select(Case).where(Case.priority.in_(("urgent", "high")))
                               .order_by(Case.registered_at.desc())).all()
    for case in cases:
        if sent >= limit:
            break
        result = referrals.suggest(case)
        if not result.suggestions:
            continue
        top = result.suggestions[0]
        sender = db.session.get(User, case.owner_id)
        when = utcnow() - timedelta(hours=rng.randint(1, 24 * 20))
        referral = referrals.create_referral(
            sender, case, top.service, flags=top.flags, given_by=rng.choice(
                ["self", "guardian", "best_interest"]), scope=["risk_summary"]
            + rng.sample(["identity", "contact", "notes"], rng.randint(0, 2)),
            note=None, now=when)
        providers = [u for u in db.session.scalars(sa.select(User).where(
            User.organization_id == top.service.organization_id))
            if u.has_role(Role.SERVICE_PROVIDER)]
        if providers:
            step = rng.choice(["sent", "acknowledged", "accepted", "completed", "declined"])
            actor = providers[0]
            later = when + timedelta(hours=rng.randint(1, 30))
            path = {"acknowledged": ["acknowledge"], "accepted": ["acknowledge", "accept"],
                    "completed": ["acknowledge", "accept", "complete"],
                    "declined": ["decline"], "sent": []}[step]
            for action in path:
                referrals.transition(actor, referral, action, now=later,
                                     reason="Fuera de nuestra zona de cobertura",
                                     outcome="Atención brindada")
                later += timedelta(hours=rng.randint(1, 48))
        sent += 1
    return sent
