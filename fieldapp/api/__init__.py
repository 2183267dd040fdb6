"""The JSON API under /api/v1 (contract: docs/api.md). Thin endpoints over the services."""

from fieldapp.api import audit, auth, cases, openapi, referrals, stats  # noqa: F401  (registers routes)
from fieldapp.api.blueprint import bp

__all__ = ["bp"]
