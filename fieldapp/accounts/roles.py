"""The six roles of SPEC §1 and the organization kinds, with translatable labels."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    FIELD_WORKER = "field_worker"
    CASE_MANAGER = "case_manager"
    SERVICE_PROVIDER = "service_provider"
    SUPERVISOR = "supervisor"
    ORG_ADMIN = "org_admin"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.FIELD_WORKER: _l("Field worker"),
    Role.CASE_MANAGER: _l("Case manager"),
    Role.SERVICE_PROVIDER: _l("Service provider"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ORG_ADMIN: _l("Organization administrator"),
    Role.ADMIN: _l("Platform administrator"),
}

ROLE_DESCRIPTIONS = {
    Role.FIELD_WORKER: _l("Registers people and works on own and assigned cases."),
    Role.CASE_MANAGER: _l("Works on every case of the organization; reassigns, closes, reopens."),
    Role.SERVICE_PROVIDER: _l("Works the referral inbox of the organization."),
    Role.SUPERVISOR: _l("Sees anonymized statistics; never personal data."),
    Role.ORG_ADMIN: _l("Manages the organization's users and service directory entries."),
    Role.ADMIN: _l("Manages organizations, locations, routing rules and keys."),
}


class OrganizationKind(StrEnum):
    BORDER_NGO = "border_ngo"
    HOST_COMMUNITY = "host_community"
    LEGAL_CLINIC = "legal_clinic"
    CHILD_PROTECTION = "child_protection"
    HEALTH = "health"
    SHELTER = "shelter"
    UN_AGENCY = "un_agency"
    GOVERNMENT_OFFICE = "government_office"
    NETWORK = "network"
    PLATFORM = "platform"


ORGANIZATION_KIND_LABELS = {
    OrganizationKind.BORDER_NGO: _l("Border NGO"),
    OrganizationKind.HOST_COMMUNITY: _l("Host-community organization"),
    OrganizationKind.LEGAL_CLINIC: _l("Legal clinic"),
    OrganizationKind.CHILD_PROTECTION: _l("Child protection"),
    OrganizationKind.HEALTH: _l("Health"),
    OrganizationKind.SHELTER: _l("Shelter"),
    OrganizationKind.UN_AGENCY: _l("UN agency"),
    OrganizationKind.GOVERNMENT_OFFICE: _l("Government office"),
    OrganizationKind.NETWORK: _l("Network coordination"),
    OrganizationKind.PLATFORM: _l("Platform operator"),
}
