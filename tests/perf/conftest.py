"""Counting the SQL statements a request sends, and the referral network fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask

from fieldapp.extensions import db
from tests.referrals.conftest import child_case, network  # noqa: F401

# Not counted: transaction control (SQLite's BEGIN IMMEDIATE is a statement of ours, the
# driver sends PostgreSQL's) and the audit chain's lock, which only PostgreSQL takes.
# What is left is the same on both databases.
NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE",
               "SELECT PG_ADVISORY_XACT_LOCK")


@pytest.fixture
def statements(app: Flask) -> Callable[[], contextmanager]:
    """`with statements() as seen:` collects the SQL sent to the database meanwhile."""

    @contextmanager
    def _collect() -> Iterator[list[str]]:
        seen: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany) -> None:
            if not statement.lstrip().upper().startswith(NOT_COUNTED):
                seen.append(" ".join(statement.split()))

        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)

    return _collect


def get_counted(client, statements, url: str, token: str | None = None):
    """GET `url` (with a bearer token if given): the response and its statements."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with statements() as seen:
        response = client.get(headers=headers, path=url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response, seen


def listing(seen: list[str]) -> str:
    """The statements, one a line (shown when a bound fails)."""
    return "\n".join(f"  {s[:120]}" for s in seen)
