"""The JSON API under /api/v1 (contract: docs/api.md). Thin endpoints over the services."""

from fieldapp.api import (  # noqa: F401  (registers routes)
    account,
    audit,
    auth,
    cases,
    followup,
    intake,
    openapi,
    referrals,
    stats,
    transfers,
)
from fieldapp.api.blueprint import bp

__all__ = ["bp"]
