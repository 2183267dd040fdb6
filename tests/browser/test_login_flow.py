"""In a real browser: the demo field worker logs in in Spanish and out again; the
login page fits a 360 px wide phone screen."""

from __future__ import annotations

import pytest

from fieldapp.demo import seed as demo
from fieldapp.extensions import db

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase in browser"


@pytest.fixture
def demo_network(app):
    demo.seed(PASSWORD, with_cases=False)
    db.session.commit()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_field_worker_logs_in_in_spanish_and_out(live_server, page_factory, demo_network):
    page = page_factory("es-CO")
    page.goto(live_server + "/")
    assert page.url.startswith(live_server + "/login")
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_label("Correo electrónico").fill("fieldworker@frontera.example")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Hola")
    assert "Frontera Solidaria" in page.content()
    assert "Trabajador(a) de campo" in page.content()
    assert _no_horizontal_scroll(page)
    page.get_by_role("button", name="Cerrar sesión").click()
    page.wait_for_url(live_server + "/login")
    page.goto(live_server + "/")
    assert page.url.startswith(live_server + "/login")


def test_wrong_password_shows_generic_error(live_server, page_factory, demo_network):
    page = page_factory("es-CO")
    page.goto(live_server + "/login")
    page.get_by_label("Correo electrónico").fill("fieldworker@frontera.example")
    page.get_by_label("Contraseña").fill("not the right one")
    page.get_by_role("button", name="Iniciar sesión").click()
    assert page.locator(".errors").count() == 1
    assert page.url.startswith(live_server + "/login")


def test_login_page_fits_a_360px_screen(live_server, page_factory):
    for locale in ("es-CO", "pt-BR", "en-US"):
        page = page_factory(locale, width=360)
        page.goto(live_server + "/login")
        assert _no_horizontal_scroll(page), locale
        # Nothing fetched from elsewhere: every resource is on our own origin.
        resources = page.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name)")
        assert resources and all(r.startswith(live_server) for r in resources)


def test_language_switch_in_the_browser(live_server, page_factory):
    page = page_factory("es-CO")
    page.goto(live_server + "/login")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Log in").count() == 1
