"""The production app plus the framework-floor route, for `make load` only.

gunicorn serves `fieldapp.bench.floor:create_load_app()`: the same app as wsgi.py
(the same configuration checks, hooks and middleware) with one more route,
`POST /bench/floor`, which inserts the fields of a registration in clear with one
statement into the benchmark's own table (`bench_floor`, made by the load test's
set-up). Nothing else serves it: production runs wsgi.py.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Flask, jsonify, request

from fieldapp import authz, create_app_or_exit
from fieldapp.bench.run import FLOOR_TABLE
from fieldapp.extensions import csrf, db


def add_floor_route(app: Flask) -> None:
    """The bench's floor (as in fieldapp.bench.run), without a CSRF token: a bare route
    measures the framework and one insert, nothing of the app's own."""

    @authz.rule(authz.PUBLIC)
    def floor() -> Any:
        data = request.get_json()
        doc = data.get("document") or {}
        db.session.execute(FLOOR_TABLE.insert().values(
            id=uuid.uuid4(), given_name=data["given_name"], family_name=data["family_name"],
            date_of_birth=data.get("date_of_birth"), sex=data["sex"],
            nationality=data["nationality"], document_type=doc.get("type"),
            document_number=doc.get("number"), phone=data.get("phone"),
            location_code=data["location_code"], stage=data["stage"],
            languages=json.dumps(data.get("languages")), notes=data.get("notes")))
        db.session.commit()
        return jsonify({"ok": True}), 201

    app.add_url_rule("/bench/floor", "bench_floor", csrf.exempt(floor), methods=["POST"])


def create_load_app() -> Flask:
    app = create_app_or_exit()
    add_floor_route(app)
    return app
