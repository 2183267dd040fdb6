"""Flask extensions, created unbound and initialised in `create_app`."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from fieldapp.crypto import KeyRing, KeyRingError
from fieldapp.db import Base


class Keys:
    """Holds the app's key ring (loaded once at start-up, never from the database)."""

    def init_app(self, app: Flask) -> None:
        path = Path(app.config["FIELDAPP_KEY_FILE"])
        env_value = os.environ.get("FIELDAPP_KEYRING")
        if not env_value and not path.exists():
            if app.config["FIELDAPP_GENERATE_KEY_FILE"]:
                KeyRing.generate().save(path)
                app.logger.warning("Generated a development key file at %s (mode 0600)", path)
            elif app.config.get("FIELDAPP_KEYS_OPTIONAL"):
                return  # the CLI, so that `flask keys generate` can create the file
            else:
                raise KeyRingError(
                    f"No key file at {path} and FIELDAPP_KEYRING is not set. "
                    "Create one with `flask keys generate` (see README, 'Keys')."
                )
        app.extensions["fieldapp.keyring"] = KeyRing.load(path, env_value=env_value)

    @property
    def ring(self) -> KeyRing:
        ring = current_app.extensions.get("fieldapp.keyring")
        if ring is None:
            raise KeyRingError("No key ring loaded: create one with `flask keys generate`.")
        return ring

    def replace(self, ring: KeyRing) -> None:
        current_app.extensions["fieldapp.keyring"] = ring


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
keys = Keys()
