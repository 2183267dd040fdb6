"""WSGI entry point for production servers, e.g. `gunicorn wsgi:app`.

Refuses to start with an unsafe configuration (see fieldapp.create_app).
"""

from fieldapp import create_app

app = create_app()
