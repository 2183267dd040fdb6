"""The app as the `flask` command sees it (FLASK_APP=fieldapp.cli_app; the
repository's .flaskenv says so, so a bare `flask` in a checkout finds it rather
than wsgi.py).

Unlike wsgi.py it starts without a key file, so that `flask keys generate`
can create one; commands that need keys fail with a clear message instead. A
configuration problem is one sentence on stderr, not a traceback.
"""

from fieldapp import create_app_or_exit

app = create_app_or_exit({"FIELDAPP_KEYS_OPTIONAL": True})
