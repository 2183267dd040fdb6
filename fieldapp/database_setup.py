"""Engine settings per database: SQLite pragmas and transaction mode."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask


def sqlite_engine_options() -> dict[str, Any]:
    return {"connect_args": {"timeout": 30, "check_same_thread": False}}


def configure_engine(app: Flask, engine: sa.Engine) -> None:
    """On SQLite: WAL, foreign keys, and BEGIN IMMEDIATE.

    BEGIN IMMEDIATE takes the single write lock at the start of each transaction,
    so a transaction never fails half-way because another writer slipped in
    between its reads and its writes (which would otherwise fork the audit chain
    or lose an optimistic-lock check). PostgreSQL needs none of this.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
