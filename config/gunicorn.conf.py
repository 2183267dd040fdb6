"""gunicorn settings for fieldapp in production: `gunicorn -c config/gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment (README, "Deploying on PostgreSQL"):

- GUNICORN_BIND        where to listen (127.0.0.1:8000: a TLS proxy on the same host
                       talks to it; a unix socket is `unix:/run/fieldapp/gunicorn.sock`)
- GUNICORN_WORKERS     worker processes (2 x cores + 1, at most 8)
- GUNICORN_THREADS     threads per worker (1: plain `sync` workers; more: `gthread`)
- GUNICORN_TIMEOUT     seconds a request may take before its worker is killed (60)
- GUNICORN_ACCESS_LOG  file for the access log, `-` for standard output (the default),
                       empty for none
- GUNICORN_PRELOAD     1: build the app once in the master before forking (less memory,
                       a broken configuration stops the master at once)
- FIELDAPP_TRUSTED_PROXIES and FORWARDED_ALLOW_IPS, see `forwarded_allow_ips` below.

Why sync workers by default: a request is short CPU work (token check, AES-GCM,
HMAC, JSON) around a few database round trips, and the TLS proxy in front buffers slow
clients, so one request per process is the simplest model that keeps both cores busy;
the worker timeout then also kills a request that hangs. `make load` measures it
(docs/benchmarks.md, "Load test").
"""

from __future__ import annotations

import os
from typing import Any


def _int(name: str, default: int, low: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw)
    if value < low:
        raise ValueError(f"{name} must be at least {low}")
    return value


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = [part.strip() for part in
        os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",") if part.strip()]
# The usual 2 x cores + 1, capped: each worker holds its own database connection pool and
# an Argon2 hash takes 64 MiB while it runs; beyond 8 on one host, add hosts instead.
workers = _int("GUNICORN_WORKERS", min(2 * _cores() + 1, 8))
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5  # gthread only; the sync worker closes every connection

# No configuration is read at import time of the app, so a worker builds it on start.
# With preload the master builds it once and forks: the key ring in memory is shared
# (copy-on-write; each worker still re-reads the key file when it changes on disk), but
# the database engine must not be: post_fork below drops the inherited pool.
preload_app = os.environ.get("GUNICORN_PRELOAD", "").lower() in ("1", "true", "yes")

# The access log never carries a query string (`?q=` holds names people searched for)
# nor the Referer (which holds such a URL of the previous page), nor the client's
# address or user agent: method, path, status, size, milliseconds and the worker.
_access_log = os.environ.get("GUNICORN_ACCESS_LOG", "-")
accesslog = _access_log or None
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms %(p)s'
errorlog = "-"
loglevel = "info"
# gunicorn's runtime control socket (~/.gunicorn/gunicorn.ctl): the service manager
# (systemd) starts, reloads and stops the server; two instances on one host would fight
# over the one path.
control_socket_disable = True

# Who may say, through X-Forwarded-Proto, that a request came over HTTPS. The app itself
# believes X-Forwarded-For/-Proto only from FIELDAPP_TRUSTED_PROXIES proxies (werkzeug's
# ProxyFix); gunicorn must not believe them either when that is 0. Otherwise the
# proxies' addresses come from FORWARDED_ALLOW_IPS (gunicorn's own variable; default the
# same host).
def _trusted_proxies() -> int:
    """FIELDAPP_TRUSTED_PROXIES as the app reads it: the environment, else the instance
    settings file."""
    value = os.environ.get("FIELDAPP_TRUSTED_PROXIES") or None
    if value is None:
        from config import read_instance_settings
        from fieldapp import instance_folder

        value = read_instance_settings(instance_folder()).get("FIELDAPP_TRUSTED_PROXIES")
    return int(value or "0")


if _trusted_proxies() > 0:
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
else:
    forwarded_allow_ips = ""


def post_fork(server: Any, worker: Any) -> None:
    """A preloaded app's engine came from the master: never share its connections."""
    app = getattr(worker.app, "callable", None)
    if app is None or not hasattr(app, "app_context"):
        return
    from fieldapp.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            # close=False: leave the parent's connections alone, just forget them here.
            engine.dispose(close=False)
