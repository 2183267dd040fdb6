"""The production app plus the framework-floor route, for `make load` only.

gunicorn serves `fieldapp.bench.floor:create_load_app()`: the same app as wsgi.py
(the same configuration checks, hooks and middleware) with one more route,
`POST /bench/floor`, which inserts the fields of a registration in clear with one
statement into the benchmark's own table (`bench_floor`, made by the load test's
set-up). Nothing else serves it: production runs wsgi.py.
"""

from __future__ import annotations

from flask import Flask

from fieldapp import create_app_or_exit
from fieldapp.bench.run import add_floor_route


def create_load_app() -> Flask:
    app = create_app_or_exit()
    add_floor_route(app)
    return app
