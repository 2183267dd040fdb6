"""Languages: catalogues complete, and the right language chosen for each request."""

from __future__ import annotations

from babel.messages.catalog import Message

from fieldapp import i18n_check
from fieldapp.accounts.models import User
from fieldapp.extensions import db
from tests.conftest import csrf_from, login


def test_catalogues_are_complete_current_and_consistent():
    assert i18n_check.problems() == []


def test_checker_catches_fuzzy_empty_and_broken_placeholders():
    assert "empty" in i18n_check.check_message(Message("Hello %(name)s", ""))
    assert "fuzzy" in i18n_check.check_message(Message("Save", "Guardar", flags=["fuzzy"]))
    assert "placeholders differ" in i18n_check.check_message(
        Message("Hello, %(name)s", "Hola, %(nombre)s"))
    assert "HTML tags differ" in i18n_check.check_message(
        Message("<b>Urgent</b>", "Urgente"))
    assert i18n_check.check_message(Message("Hello, %(name)s", "Hola, %(name)s")) == []


def test_spanish_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="es">' in html and "Iniciar sesión" in html


def test_browser_language_is_used_when_user_has_none(client):
    pt = client.get("/login", headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    assert '<html lang="pt-BR">' in pt.get_data(as_text=True)
    en = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert '<html lang="en">' in en.get_data(as_text=True)
    fallback = client.get("/login", headers={"Accept-Language": "de-DE"})
    assert '<html lang="es">' in fallback.get_data(as_text=True)


def test_users_own_setting_wins_over_the_browser(client, make):
    user = make.user()
    user.locale = "pt_BR"
    db.session.commit()
    login(client, user.email, **{"Accept-Language": "en"})
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="pt-BR">' in html


def test_language_switch_saves_the_users_setting(client, make):
    user = make.user()
    login(client, user.email)
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post("/language", data={"csrf_token": token, "language": "en",
                                              "next": "/account/password"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"
    # Back to "the browser's language".
    client.post("/language", data={"csrf_token": token, "language": ""})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale is None


def test_language_switch_for_anonymous_visitors(client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/language", data={"csrf_token": token, "language": "pt_BR", "next": "/login"})
    assert '<html lang="pt-BR">' in client.get("/login").get_data(as_text=True)


def test_language_switch_refuses_unknown_language_and_external_next(client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/language", data={"csrf_token": token, "language": "xx",
                                              "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert '<html lang="es">' in client.get("/login").get_data(as_text=True)


def test_role_names_are_translated(client, make):
    from fieldapp.accounts.roles import Role

    user = make.user(Role.FIELD_WORKER)
    login(client, user.email)
    es = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    user.locale = "pt_BR"
    db.session.commit()
    pt = client.get("/").get_data(as_text=True)
    assert "Trabajador(a) de campo" in es and "Agente de campo" in pt
