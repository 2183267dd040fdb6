"""The API contract lives in the repository (docs/api.md) and the served document cites it."""

from __future__ import annotations

import re
from pathlib import Path

from fieldapp.api.openapi import document

ROOT = Path(__file__).resolve().parents[2]


def test_the_contract_is_in_the_repository_and_cited():
    contract = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert contract.startswith("# fieldapp JSON API, version 1")
    assert "docs/api.md" in document()["info"]["description"]
    assert "docs/api.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_path_of_the_contract_is_served():
    """Each `METHOD /api/v1/...` the contract names, up to the second round's additions
    that are still being built, is in the OpenAPI document."""
    contract = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    first_round = contract.split("# Additions")[0]
    served = {(m.upper(), p) for p, ops in document()["paths"].items() for m in ops}
    for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) /api/v1(/[^ `?]*)",
                                   first_round):
        path = re.sub(r"\{id\}", "{case_id}", path) if path.startswith("/cases") else path
        path = path.replace("/referrals/{id}", "/referrals/{referral_id}").replace(
            "/services/{id}", "/services/{service_id}")
        assert (method, path) in served, (method, path)


def test_the_referral_work_additions_are_served():
    """The second round's "Referrals, for the people who work them" is built: each
    endpoint it names is in the OpenAPI document."""
    contract = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = contract.split("## Referrals, for the people who work them")[1].split("\n## ")[0]
    served = {(m.upper(), p) for p, ops in document()["paths"].items() for m in ops}
    named = re.findall(r"`(GET|POST|PUT|PATCH|DELETE) /api/v1(/[^ `?]*)", section)
    assert len(named) >= 5
    for method, path in named:
        path = path.replace("/cases/{id}", "/cases/{case_id}").replace(
            "/referrals/{id}", "/referrals/{referral_id}")
        assert (method, path) in served, (method, path)
