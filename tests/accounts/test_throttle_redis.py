"""With RATELIMIT_STORAGE_URI pointing at Redis, two processes share one login budget.

Two separate Python processes (as two app workers would be) each try to log in;
the second one is throttled by what the first one used up. Redis must be
reachable at FIELDAPP_TEST_REDIS (default redis://127.0.0.1:6379/0): .ci/run
starts it, and the test fails, not skips, when it is down.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

REDIS = os.environ.get("FIELDAPP_TEST_REDIS", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[2]

WORKER = r"""
import json, sys
from flask_migrate import upgrade
from fieldapp import create_app
db_path, keys, redis_uri, prefix = sys.argv[1:5]
app = create_app({"FIELDAPP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite:///" + db_path,
                  "FIELDAPP_KEY_FILE": keys, "RATELIMIT_STORAGE_URI": redis_uri,
                  "RATELIMIT_KEY_PREFIX": prefix, "LOGIN_RATE_LIMIT_CLIENT": "3 per minute"})
with app.app_context():
    upgrade()
client = app.test_client()
codes = [client.post("/api/v1/auth/tokens",
                     json={"email": "nobody@example.org", "password": "wrong password 1"}
                     ).status_code for _ in range(2)]
print(json.dumps(codes))
"""


def _redis_reachable() -> bool:
    url = urlparse(REDIS)
    try:
        with socket.create_connection((url.hostname, url.port or 6379), timeout=2):
            return True
    except OSError:
        return False


def _worker(tmp_path: Path, prefix: str, name: str) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path / f"{name}.sqlite3"),
         str(tmp_path / "keys.json"), REDIS, prefix],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
        env={**os.environ, "FIELDAPP_ENV": "testing"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_login_throttling_is_shared_through_redis(tmp_path):
    assert _redis_reachable(), f"Redis is not reachable at {REDIS} (start it; see .ci/run)"
    prefix = "fieldapp-test-" + uuid.uuid4().hex
    first = _worker(tmp_path, prefix, "a")
    second = _worker(tmp_path, prefix, "b")
    assert first == [401, 401]
    assert second == [401, 429]  # the budget of 3 per minute was shared
