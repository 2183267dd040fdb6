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


# Invented public contact data (HSDS organization). Phone numbers are fictitious on
# purpose: "000" never follows a country code, so none of them can ring anyone.
ORGANIZATION_CONTACT = {
    "Frontera Solidaria": ("Acompañamiento humanitario en la frontera de Norte de Santander: "
                           "salud, albergue y protección.", "+57 000 555 0100",
                           "frontera.example"),
    "Casa de Acogida Rumichaca": ("Acogida y orientación para personas en tránsito por "
                                  "Rumichaca.", "+593 00 555 0100", "rumichaca.example"),
    "Clínica Jurídica para Migrantes": ("Asesoría jurídica gratuita: refugio, "
                                        "regularización, nacionalidad y documentos.",
                                        "+57 000 555 0200", "clinica.example"),
    "Protección Infantil Norte": ("Protección de niñas, niños y adolescentes y reunificación "
                                  "familiar.", "+57 000 555 0300", "proteccion.example"),
    "Red de Movilidad Humana": ("Red de organizaciones que acompañan a personas en "
                                "movilidad.", "+57 000 555 0400", "red.example"),
    "Salud Sin Fronteras Tumbes": ("Atención primaria y salud sexual y reproductiva en "
                                   "Tumbes.", "+51 00 555 0100", "saludtumbes.example"),
    "Casa Acolhida Pacaraima": ("Acolhimento, interpretação e apoio a povos indígenas em "
                                "Pacaraima.", "+55 00 5555 0100", "acolhida.example"),
    "Fundación Manos Abiertas": ("Rehabilitación y cuidado de personas con discapacidad y "
                                 "personas mayores.", "+57 000 555 0500",
                                 "manosabiertas.example"),
    "Colectivo Diversidad en Movimiento": ("Acompañamiento a personas LGBTIQ+ en "
                                           "movilidad.", "+57 000 555 0600",
                                           "diversidad.example"),
    "Red Trata Cero": ("Atención a víctimas de trata y protección de personas defensoras.",
                       "+57 000 555 0700", "tratacero.example"),
}

WEEKDAYS = {"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "17:00"}
MORNINGS = {"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "12:00"}
SATURDAY = {"byday": "SA", "opens_at": "09:00", "closes_at": "13:00"}
EVERY_DAY = {"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "07:00", "closes_at": "19:00"}

# Where each organization receives people: (place, street, city, department, postal code).
# Invented addresses.
SITES = {
    "Clínica Jurídica para Migrantes": ("Consultorio jurídico (demo)",
                                        "Carrera de los Almendros 12", "Bogotá",
                                        "Bogotá D.C.", "110311"),
    "Protección Infantil Norte": ("Centro de protección (demo)", "Calle de los Naranjos 45",
                                  "Cúcuta", "Norte de Santander", "540001"),
    "Frontera Solidaria": ("Punto de atención del puente (demo)", "Avenida del Puente 3",
                           "Villa del Rosario", "Norte de Santander", "541030"),
    "Casa de Acogida Rumichaca": ("Casa de acogida (demo)", "Vía a Rumichaca km 2",
                                  "Tulcán", "Carchi", "040101"),
    "Salud Sin Fronteras Tumbes": ("Módulo CEBAF (demo)", "Carretera Panamericana km 1",
                                   "Aguas Verdes", "Tumbes", "24101"),
    "Casa Acolhida Pacaraima": ("Casa de acolhida (demo)", "Rua das Palmeiras 20",
                                "Pacaraima", "Roraima", "69345-000"),
    "Fundación Manos Abiertas": ("Sede de rehabilitación (demo)", "Calle de los Cedros 8",
                                 "Cúcuta", "Norte de Santander", "540003"),
    "Colectivo Diversidad en Movimiento": ("Casa comunitaria (demo)",
                                           "Calle de las Acacias 30", "Bogotá",
                                           "Bogotá D.C.", "110231"),
    "Red Trata Cero": ("Oficina de atención (demo)", "Calle del Faro 5", "Maicao", "La Guajira",
                       "442001"),
}

# What each demo service publishes (HSDS): (description, eligibility, [hours], hours in
# words). Invented, plausible.
DETAILS = {
    "Asesoría en refugio y asilo": (
        "Orientación y acompañamiento para solicitar la condición de refugiado y recurrir "
        "decisiones.", "Personas con temor de regresar a su país; sin costo.",
        [MORNINGS], "Citas por teléfono; atención sin cita los martes."),
    "Regularización migratoria (PPT)": (
        "Ayuda para tramitar el Permiso por Protección Temporal y renovar documentos.",
        "Personas venezolanas en Colombia.", [WEEKDAYS], ""),
    "Nacionalidad y registro de nacimiento": (
        "Registro de nacimiento tardío y prevención de la apatridia de niñas y niños.",
        "Familias con hijos sin registro o en riesgo de apatridia.", [MORNINGS], ""),
    "Documentos de identidad": (
        "Acompañamiento para obtener o reponer documentos, también por identidad de género.",
        "Cualquier persona sin documentos válidos.", [WEEKDAYS], "Cupos limitados."),
    "Protección de niñas, niños y adolescentes": (
        "Atención y medidas de protección para niñas, niños y adolescentes solos o en "
        "riesgo.", "Menores de 18 años.", [EVERY_DAY], "Línea de turno las 24 horas."),
    "Búsqueda y reunificación familiar": (
        "Búsqueda de familiares y reunificación segura.",
        "Niñas, niños y familias separadas.", [WEEKDAYS], ""),
    "Apoyo psicosocial": (
        "Primeros auxilios psicológicos y acompañamiento individual y en grupo.",
        "Niñas, niños, adolescentes y sus familias.", [WEEKDAYS, SATURDAY], ""),
    "Puesto de salud del puente": (
        "Atención primaria, vacunación y orientación en salud.", "Cualquier persona.",
        [EVERY_DAY], ""),
    "Albergue temporal": (
        "Alojamiento temporal, alimentación y kit de aseo.",
        "Personas en tránsito, prioridad familias con niños.", [EVERY_DAY],
        "Ingreso hasta las 19:00."),
    "Atención a violencias basadas en género": (
        "Atención confidencial, orientación jurídica y acompañamiento a sobrevivientes.",
        "Mujeres, niñas y personas sobrevivientes de violencia.", [WEEKDAYS],
        "Atención de urgencia por teléfono todos los días."),
    "Transferencias monetarias": (
        "Apoyo económico temporal para necesidades básicas.", "Personas adultas; con "
        "evaluación previa.", [MORNINGS], ""),
    "Albergue Rumichaca": (
        "Alojamiento de corta estancia cerca del puente.", "Personas en tránsito.",
        [EVERY_DAY], ""),
    "Comedor": ("Almuerzo caliente.", "Cualquier persona.",
                [{"byday": "MO,TU,WE,TH,FR,SA", "opens_at": "11:30", "closes_at": "14:00"}],
                ""),
    "Intérpretes comunitarios": (
        "Interpretación en lenguas indígenas para trámites y atención en salud.",
        "Personas que no hablan español.", [WEEKDAYS], "Solicitar con un día de antelación."),
    "Centro de salud CEBAF": (
        "Atención primaria y tamizaje en el paso fronterizo.", "Cualquier persona.",
        [EVERY_DAY], ""),
    "Salud sexual y reproductiva": (
        "Anticoncepción, control prenatal y atención confidencial.",
        "Mujeres, adolescentes y personas gestantes.", [WEEKDAYS], ""),
    "Respuesta a violencia de género": (
        "Atención médica y psicosocial a sobrevivientes.", "Sobrevivientes de violencia.",
        [WEEKDAYS], ""),
    "Abrigo": ("Abrigo temporário com alimentação.", "Pessoas em trânsito.", [EVERY_DAY],
               ""),
    "Intérpretes warao": ("Interpretação em warao e espanhol.",
                          "Pessoas que falam warao.", [WEEKDAYS], ""),
    "Apoio a povos indígenas": ("Orientação e apoio a comunidades indígenas.",
                                "Povos indígenas.", [WEEKDAYS], ""),
    "Rehabilitación y ayudas técnicas": (
        "Valoración, rehabilitación y entrega de ayudas técnicas.",
        "Personas con discapacidad.", [MORNINGS], ""),
    "Cuidado de personas mayores": (
        "Acompañamiento, salud y cuidado para personas mayores.", "Personas de 60 años o más.",
        [WEEKDAYS], ""),
    "Acompañamiento LGBTIQ+": (
        "Espacio seguro, orientación jurídica y psicosocial.", "Personas LGBTIQ+.",
        [{"byday": "TU,TH", "opens_at": "14:00", "closes_at": "18:00"}, SATURDAY], ""),
    "Atención a víctimas de trata": (
        "Atención inmediata, protección y acompañamiento a víctimas de trata.",
        "Cualquier persona en riesgo o víctima de trata.", [EVERY_DAY],
        "Línea de atención las 24 horas."),
    "Protección de personas defensoras": (
        "Medidas de protección y acompañamiento a personas defensoras de derechos.",
        "Personas defensoras en riesgo.", [WEEKDAYS], ""),
}


def _hsds_fields(org_name: str, number: int, name: str) -> dict:
    """The HSDS fields of demo service `name`, the `number`th of its organization."""
    description, eligibility, rows, in_words = DETAILS[name]
    _about, phone, domain = ORGANIZATION_CONTACT[org_name]
    place, street, city, department, postal = SITES[org_name]
    return {"description": description, "eligibility_description": eligibility,
            "schedule": rows, "schedule_description": in_words,
            "phone": phone[:-1] + str(number + 1), "email": f"servicios@{domain}",
            "url": f"https://{domain}/servicios/{number + 1}", "location_name": place,
            "address_1": street, "city": city, "state_province": department,
            "postal_code": postal}


def seed_directory(actor: User) -> int:
    for name, kind, country, place in PARTNERS:
        db.session.add(Organization(name=name, kind=kind.value, country_code=country,
                                    location_code=place, shares_statistics=True))
    db.session.flush()
    orgs = {o.name: o for o in db.session.scalars(sa.select(Organization))}
    for org_name, (about, phone, domain) in ORGANIZATION_CONTACT.items():
        org = orgs[org_name]
        org.description, org.phone = about, phone
        org.email, org.website = f"contacto@{domain}", f"https://{domain}"
        org.notice_email = f"avisos@{domain}"
    counts: dict[str, int] = {}
    for org_name, name, type_, places, extra in SERVICES:
        number = counts[org_name] = counts.get(org_name, -1) + 1
        data = referrals.parse_service({"name": name, "type": type_,
                                        "organization_id": str(orgs[org_name].id),
                                        "location_codes": places,
                                        "contact": "demo@" + org_name.split()[0].lower()
                                        + ".example", **extra,
                                        **_hsds_fields(org_name, number, name)})
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
