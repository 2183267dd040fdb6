"""In a real browser on a 360 px phone screen, in Spanish: register a person, find the
case in the list, open it."""

from __future__ import annotations

import pytest

from fieldapp.demo import seed as demo
from fieldapp.extensions import db

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase in browser"


@pytest.fixture
def demo_users(app):
    demo.seed(PASSWORD, with_cases=False)
    db.session.commit()


def _login(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(base + "/")


def test_register_a_case_on_a_phone_in_spanish(live_server, page_factory, demo_users):
    page = page_factory("es-CO", width=360)
    _login(page, live_server, "fieldworker@frontera.example")
    page.get_by_role("link", name="Registrar a una persona").first.click()
    page.wait_for_url(live_server + "/cases/new")
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # Required fields say so in their label, as the person reads it.
    page.get_by_label("Nombre(s) (obligatorio)", exact=True).fill("Yulimar Andreína")
    page.get_by_label("Apellido(s) (obligatorio)", exact=True).fill("Betancourt Lugo")
    page.locator("#date_of_birth").fill("2011-08-21")
    page.get_by_label("Sexo (obligatorio)", exact=True).select_option("female")
    page.locator("#stage").select_option("border")
    page.locator("#data_processing").check()
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(live_server + "/cases/*")
    assert "Yulimar Andreína Betancourt Lugo" in page.locator("h1").inner_text()
    assert "12-17" in page.content()
    page.get_by_role("link", name="Casos").first.click()
    page.wait_for_url(live_server + "/cases")
    page.get_by_role("link", name="Yulimar Andreína Betancourt Lugo").click()
    assert "Betancourt Lugo" in page.locator("h1").inner_text()
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_search_by_name_in_the_browser(live_server, page_factory, demo_users):
    page = page_factory("es-CO", width=360)
    _login(page, live_server, "fieldworker@frontera.example")
    page.goto(live_server + "/cases/new")
    page.locator("#given_name").fill("Wilmer")
    page.locator("#family_name").fill("Ñáñez Oropeza")
    page.locator("#age_years").fill("34")
    page.locator("#sex").select_option("male")
    page.locator("#stage").select_option("transit")
    page.locator("#data_processing").check()
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(live_server + "/cases/*")
    page.goto(live_server + "/cases")
    page.get_by_label("Referencia, nombre completo o número de documento").fill(
        "wilmer nanez oropeza")
    page.get_by_role("button", name="Buscar").click()
    assert page.get_by_role("link", name="Wilmer Ñáñez Oropeza").count() == 1
    assert "nanez" not in page.url and "wilmer" not in page.url.lower()
