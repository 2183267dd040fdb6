"""WSGI entry point for production servers, e.g. `gunicorn wsgi:app`.

Refuses to start with an unsafe configuration (see fieldapp.create_app): the
reason is printed as one sentence and the process exits with status 4, which
gunicorn reads as "App failed to load".
"""

from fieldapp import create_app_or_exit

app = create_app_or_exit()
