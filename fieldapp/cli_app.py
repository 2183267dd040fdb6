"""The app as the `flask` command sees it (FLASK_APP=fieldapp.cli_app).

Unlike wsgi.py it starts without a key file, so that `flask keys generate`
can create one; commands that need keys fail with a clear message instead.
"""

from fieldapp import create_app

app = create_app({"FIELDAPP_KEYS_OPTIONAL": True})
