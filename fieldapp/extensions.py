"""Flask extensions, created unbound and initialised in `create_app`."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from fieldapp.crypto import CryptoManager, KeyRing, KeyRingError
from fieldapp.db import Base


class Keys:
    """Holds the app's key ring, loaded from outside the database.

    When the key file changes on disk (a rotation run by `flask keys rotate` in
    another process), the next access reloads it, so every worker can unwrap
    data keys re-wrapped under the new primary key.
    """

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
                    f"No key file at {path} and FIELDAPP_KEYRING is not set: "
                    "create one with `flask keys generate` (see README, 'Keys')"
                )
        ring = KeyRing.load(path, env_value=env_value)
        if not ring.intake_keys and not env_value and app.config["FIELDAPP_GENERATE_KEY_FILE"]:
            # A development key file from before offline intake: give it an intake key.
            ring.with_new_intake_key().save(path)
            ring = KeyRing.load(path)
            app.logger.warning("Added an offline intake key to the development key file %s",
                               path)
        self._install(app, ring, None if env_value else path)

    @staticmethod
    def _install(app: Flask, ring: KeyRing, path: Path | None) -> None:
        app.extensions["fieldapp.keyring"] = ring
        app.extensions["fieldapp.keyring.mtime"] = path.stat().st_mtime_ns if path else None
        app.extensions["fieldapp.crypto"] = CryptoManager(
            ring, index_bits=app.config["BLIND_INDEX_BITS"])

    def _fresh(self) -> None:
        ext = current_app.extensions
        ring = ext.get("fieldapp.keyring")
        if ring is None:
            raise KeyRingError("No key ring loaded: create one with `flask keys generate`.")
        if ring.path is None or ext.get("fieldapp.keyring.mtime") is None:
            return
        now = time.monotonic()
        if now - ext.get("fieldapp.keyring.checked", 0.0) < 1.0:
            return  # look at the file at most once a second
        ext["fieldapp.keyring.checked"] = now
        try:
            mtime = ring.path.stat().st_mtime_ns
        except FileNotFoundError:
            return  # keep what we have; a missing file is reported at the next start
        if mtime != ext["fieldapp.keyring.mtime"]:
            self._install(current_app, KeyRing.load(ring.path), ring.path)

    @property
    def ring(self) -> KeyRing:
        self._fresh()
        return current_app.extensions["fieldapp.keyring"]

    @property
    def crypto(self) -> CryptoManager:
        self._fresh()
        return current_app.extensions["fieldapp.crypto"]

    def reload(self) -> None:
        """Read the key file again now (after restoring it from a backup, say)."""
        current = current_app.extensions.get("fieldapp.keyring")
        if current is not None and current.path is not None:
            self._install(current_app, KeyRing.load(current.path), current.path)

    def save(self, ring: KeyRing) -> None:
        """Write the ring to its file (atomically, 0600) and use it from now on."""
        current = self.ring
        if current.path is None:
            raise KeyRingError("The key ring comes from FIELDAPP_KEYRING; update it there.")
        ring.save(current.path)
        self._install(current_app, KeyRing.load(current.path), current.path)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
keys = Keys()
