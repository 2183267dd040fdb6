"""Fixtures for referral tests: a sending and a receiving organization, services, cases."""

from __future__ import annotations

import pytest

from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.cases import assessment
from fieldapp.extensions import db
from fieldapp.referrals import services

SECRET = {
    "given_name": "Anacleta Pirela",
    "family_name": "Urbáez Colina",
    "date_of_birth": "2011-04-02",
    "document_number": "VX77665544",
    "phone": "+57 318 222 9911",
    "notes": "Dijo que su tío la espera en Bucaramanga",
}


@pytest.fixture
def network(make):
    """Sending NGO in Cúcuta; a child-protection office in Norte de Santander; a legal
    clinic across Colombia; another provider elsewhere."""
    sender_org = make.org("Sender NGO", location="CO-NSA-CUCUTA")
    child_org = make.org("Child Office", kind=OrganizationKind.CHILD_PROTECTION)
    clinic_org = make.org("Clinic", kind=OrganizationKind.LEGAL_CLINIC, location="CO-DC-BOGOTA")
    other_org = make.org("Other Provider", kind=OrganizationKind.HEALTH)
    people = {
        "worker": make.user(Role.FIELD_WORKER, org=sender_org),
        "manager": make.user(Role.CASE_MANAGER, org=sender_org),
        "colleague": make.user(Role.FIELD_WORKER, org=sender_org),
        "child_provider": make.user(Role.SERVICE_PROVIDER, org=child_org),
        "clinic_provider": make.user(Role.SERVICE_PROVIDER, org=clinic_org),
        "other_provider": make.user(Role.SERVICE_PROVIDER, org=other_org),
        "supervisor": make.user(Role.SUPERVISOR, org=sender_org),
    }
    admin = make.user(Role.ADMIN)

    def service(org, name, type_, places, **extra):
        data = services.parse_service({"name": name, "type": type_,
                                       "organization_id": str(org.id),
                                       "location_codes": places, **extra})
        return services.create_service(admin, data)

    svc = {
        "child": service(child_org, "Child protection NSA", "child_protection", ["CO-NSA"],
                         languages=["es"], max_age=17),
        "tracing": service(child_org, "Family tracing Cúcuta", "family_tracing",
                           ["CO-NSA-CUCUTA"], capacity="limited"),
        "asylum": service(clinic_org, "Asylum clinic", "legal_asylum", ["CO"],
                          languages=["es", "en"]),
        "health": service(other_org, "Health post", "health", ["CO-NSA-CUCUTA"]),
    }
    db.session.commit()
    return {"orgs": {"sender": sender_org, "child": child_org, "clinic": clinic_org,
                     "other": other_org}, "people": people, "services": svc, "admin": admin}


@pytest.fixture
def child_case(network, register):
    worker = network["people"]["worker"]
    case = register(worker, given_name=SECRET["given_name"], family_name=SECRET["family_name"],
                    date_of_birth=SECRET["date_of_birth"], phone=SECRET["phone"],
                    notes=SECRET["notes"],
                    document={"type": "passport", "number": SECRET["document_number"]})
    assessment.save_assessment(worker, case, {"accompaniment": "alone", "fear_of_return": True})
    db.session.commit()
    return case
