"""Fixtures for transfers: an issuing organization in Cúcuta, requesting organizations in
Ecuador, Colombia and Peru, and a case with a known, distinctive value in every group."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fieldapp import clock
from fieldapp.accounts.roles import OrganizationKind, Role
from fieldapp.cases import assessment
from fieldapp.extensions import db
from tests.conftest import api_token

# One distinctive value per group, to look for where it must not be.
SECRET = {
    # identity
    "given_name": "Wenceslaa Eduviges",
    "family_name": "Trujillo Barboza",
    "date_of_birth": "2010-03-14",
    # contact
    "phone": "+57 316 404 8812",
    "address": "Barrio El Callejón, casa de la señora Rufina",
    # documents
    "document_number": "VQ55443322",
    # notes
    "notes": "Su padrastro la buscaba en la terminal de Pamplona",
    # a person's words on a manual flag (travel only with notes)
    "flag_reason": "Vio a los reclutadores en la trocha de Puerto Santander",
    # household (never travels) and the consent note (the original's)
    "member": "Filiberto Trujillo",
    "consent_note": "Acta de interés superior número 8812",
}
ANSWERS = {"accompaniment": "alone", "fear_of_return": True, "gbv": "past",
           "trafficking_indicators": ["debt_bondage"]}


@pytest.fixture
def people(make) -> dict[str, Any]:
    issuer = make.org("Frontera Test", location="CO-NSA-CUCUTA")
    ecuador = make.org("Casa Tulcán Test", country="EC", location="EC-C-TULCAN",
                       kind=OrganizationKind.HOST_COMMUNITY)
    bogota = make.org("Bogotá Test", country="CO", location="CO-DC-BOGOTA",
                      kind=OrganizationKind.HOST_COMMUNITY)
    peru = make.org("Lima Test", country="PE", location=None,
                    kind=OrganizationKind.HOST_COMMUNITY)
    return {
        "orgs": {"issuer": issuer, "ecuador": ecuador, "bogota": bogota, "peru": peru},
        "owner": make.user(Role.FIELD_WORKER, org=issuer),
        "manager": make.user(Role.CASE_MANAGER, org=issuer),
        "colleague": make.user(Role.FIELD_WORKER, org=issuer),
        "requester": make.user(Role.FIELD_WORKER, org=ecuador),
        "requester_manager": make.user(Role.CASE_MANAGER, org=ecuador),
        "requester_colleague": make.user(Role.FIELD_WORKER, org=ecuador),
        "bogota": make.user(Role.FIELD_WORKER, org=bogota),
        "peru": make.user(Role.FIELD_WORKER, org=peru),
        "provider": make.user(Role.SERVICE_PROVIDER, org=ecuador),
    }


@pytest.fixture
def full_case(people, register):
    """A girl of 16 travelling alone, with a value in every group of the record."""
    owner = people["owner"]
    case = register(owner, given_name=SECRET["given_name"], family_name=SECRET["family_name"],
                    date_of_birth=SECRET["date_of_birth"], phone=SECRET["phone"],
                    address=SECRET["address"], notes=SECRET["notes"],
                    document={"type": "passport", "number": SECRET["document_number"]},
                    household=[{"given_name": SECRET["member"], "sex": "male",
                                "relationship": "sibling"}],
                    consent={"data_processing": True, "given_by": "guardian",
                             "basis": "other", "note": SECRET["consent_note"]})
    assessment.save_assessment(owner, case, ANSWERS)
    assessment.add_manual_flag(owner, case, code="DEFENDER_AT_RISK",
                               reason=SECRET["flag_reason"])
    db.session.commit()
    return case


def bearer(client, user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(client, user.email)}"}


def in_days(n: int) -> str:
    return (clock.now().date() + timedelta(days=n)).isoformat()


def issue(client, user, case, *, scope=None, countries=("EC",), days=30,
          given_by="guardian"):
    """POST a code through the API; returns the response."""
    return client.post(f"/api/v1/cases/{case.id}/continuity-codes", headers=bearer(client, user),
                       json={"scope": list(scope or ["identity", "risk_summary"]),
                             "countries": list(countries), "expires_on": in_days(days),
                             "consent": {"given_by": given_by}})


def issued_code(client, user, case, **kwargs) -> str:
    response = issue(client, user, case, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def database_bytes(database_url: str) -> bytes:
    """The SQLite files, or a pg_dump of the PostgreSQL database."""
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        path = Path(db.engine.url.database)
        return b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))
    url = sa.engine.make_url(database_url)
    return subprocess.run(
        [shutil.which("pg_dump") or "pg_dump", "--no-owner", "-h", url.host or "127.0.0.1",
         "-p", str(url.port or 5432), "-U", url.username or "postgres", url.database or "test"],
        capture_output=True, check=True,
        env={**os.environ, "PGPASSWORD": url.password or ""}).stdout
