"""Security headers on every response; no caching of authenticated pages; a
Retry-After on every 429."""

from __future__ import annotations

import time

from flask import Flask, request
from werkzeug.wrappers import Response

from fieldapp.extensions import limiter

# When a 429 did not come from a limit we can read (none today), wait a minute.
DEFAULT_RETRY_AFTER_SECONDS = 60

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    # The offline registration's service worker (/sw.js), named rather than left to the
    # fallback on script-src.
    "worker-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
])


def add_security_headers(response: Response) -> Response:
    h = response.headers
    h["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["X-Frame-Options"] = "DENY"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Cross-Origin-Resource-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if request.is_secure:
        h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        # Every dynamic page may carry personal data or a CSRF token: never cache.
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"
    return response


def add_retry_after(response: Response) -> Response:
    """Tell a throttled client when to come back: seconds until the breached window ends.

    Flask-Limiter's own headers would also put X-RateLimit-* on every response of a
    limited route (how many guesses are left): only the 429 says anything.
    """
    if response.status_code != 429 or "Retry-After" in response.headers:
        return response
    seconds = DEFAULT_RETRY_AFTER_SECONDS
    breached = limiter.current_limit
    if breached is not None and breached.breached:
        seconds = max(1, int(breached.reset_at - time.time()))
    response.headers["Retry-After"] = str(seconds)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
    app.after_request(add_retry_after)
