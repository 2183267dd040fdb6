"""The current time, in one replaceable place (tests move it to check deadlines)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
