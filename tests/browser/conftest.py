"""A live server on 127.0.0.1 and Debian's Chromium driven by Playwright.

Playwright's own browser download does not work here; the suite uses
/usr/bin/chromium (installed by .ci/run). A missing browser fails the run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("FIELDAPP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


class _ReadWhole:
    """A WSGI file wrapper that reads the (small, static) file at once and closes it.

    Werkzeug's wrapper keeps the file open until the server closes the response; when
    the browser drops the connection first (the offline tests cut it on purpose), the
    development server can leave that file to the garbage collector, and the suite
    (warnings are errors) fails on the ResourceWarning. Reading whole files here keeps
    each file's lifetime inside the request that opened it."""

    def __init__(self, file, buffer_size: int = 8192) -> None:
        try:
            self._data = file.read()
        finally:
            file.close()

    def __iter__(self) -> Iterator[bytes]:
        yield self._data

    def close(self) -> None:
        self._data = b""


class _Traffic:
    """How many requests the live server is answering right now."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy = 0


TRAFFIC = _Traffic()


def _whole_files(app):
    """Static files read whole (see _ReadWhole), and each answer built completely before
    it is sent, so that the request counts as busy until it has done all its work."""
    def wsgi(environ, start_response):
        environ["wsgi.file_wrapper"] = _ReadWhole
        with TRAFFIC.lock:
            TRAFFIC.busy += 1
        try:
            body = app(environ, start_response)
            try:
                data = b"".join(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            with TRAFFIC.lock:
                TRAFFIC.busy -= 1
        return [data]
    return wsgi


@pytest.fixture(autouse=True)
def live_server_quiet(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a browser test (its pages closed first), wait until the live server has
    finished what the pages had asked of it: a request still running (a phone's
    background sync, say) must not write between the tables being emptied."""
    yield
    if "live_server" not in request.fixturenames:
        return
    deadline = time.monotonic() + 15
    quiet_since = None
    while time.monotonic() < deadline:
        if TRAFFIC.busy == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 0.2:
                return
        else:
            quiet_since = None
        time.sleep(0.02)
    pytest.fail("the live server was still answering requests 15 s after the test")


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _whole_files(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page_factory(browser):
    contexts = []

    def _new(locale: str = "es-CO", width: int = 360, height: int = 740):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height},
                                      extra_http_headers={"Accept-Language": locale})
        contexts.append(context)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()
