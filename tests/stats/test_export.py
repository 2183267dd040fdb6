"""CSV exports in the reader's language: header, names and the hidden marker translated,
codes kept in their own column for machines, the HXL hashtag row the same in every
language, and the same numbers as the JSON answer."""

from __future__ import annotations

import csv
import io

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from fieldapp.accounts.roles import Role
from fieldapp.cases import vocab as case_vocab
from fieldapp.stats import dimensions, export
from tests.conftest import api_token, login

HEADERS = {"es": "es-CO", "pt_BR": "pt-BR", "en": "en"}


@pytest.fixture
def people(make, register):
    org = make.org("Sharing NGO")
    worker = make.user(Role.FIELD_WORKER, org=org)
    for i in range(24):
        register(worker, given_name=f"Persona {i}", location_code="CO-NSA-CUCUTA",
                 stage=("border", "transit")[i % 2], sex="female", document=None,
                 date_of_birth="1990-01-01")
    for i in range(2):  # too few to show
        register(worker, given_name=f"Pocas {i}", location_code="EC-C-TULCAN",
                 stage="border", sex="male", document=None, date_of_birth="1990-01-01")
    return org


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _names(app, locale: str) -> dict[str, str]:
    with app.test_request_context(), force_locale(locale):
        return {"stage": str(dimensions.DIMENSIONS["stage"]),
                "sex": str(dimensions.DIMENSIONS["sex"]),
                "site": str(dimensions.DIMENSIONS["site"]),
                "border": str(case_vocab.STAGES["border"]),
                "transit": str(case_vocab.STAGES["transit"]),
                "female": str(case_vocab.SEXES["female"]),
                "male": str(case_vocab.SEXES["male"]),
                "total": _("Total"), "hidden": _("suppressed"),
                "stage_code": _("%(dimension)s (code)",
                                dimension=str(dimensions.DIMENSIONS["stage"]))}


@pytest.mark.parametrize("locale", ["es", "pt_BR"])
def test_page_csv_header_and_names_follow_the_language(app, client, make, people, locale):
    login(client, make.user(Role.SUPERVISOR).email)
    response = client.get("/stats/export.csv?rows=stage&cols=sex",
                          headers={"Accept-Language": HEADERS[locale]})
    assert response.status_code == 200
    assert response.headers["Content-Language"] == locale.replace("_", "-")
    rows = _rows(response.get_data(as_text=True))
    n = _names(app, locale)
    english = _names(app, "en")
    assert n["stage"] != english["stage"] and n["border"] != english["border"]  # translated
    assert rows[0][:2] == [n["stage"], n["stage_code"]]
    assert rows[0][2:] == [n["female"], n["male"], n["total"]]  # one order everywhere
    by_code = {row[1]: row for row in rows[1:-1]}
    assert by_code["border"][0] == n["border"] and by_code["transit"][0] == n["transit"]
    assert rows[-1][:2] == [n["total"], ""]
    # Two people are too few: hidden, marked with the word in the reader's language.
    male = rows[0].index(n["male"])
    assert by_code["border"][male] == n["hidden"] != english["hidden"]


@pytest.mark.parametrize("locale", ["es", "pt_BR"])
def test_api_csv_in_the_requested_language_with_the_same_numbers(app, client, make, people,
                                                                 locale):
    supervisor = make.user(Role.SUPERVISOR)
    auth = {"Authorization": f"Bearer {api_token(client, supervisor.email)}",
            "Accept-Language": HEADERS[locale]}
    params = {"rows": "site", "cols": "stage"}
    body = client.get("/api/v1/stats", query_string=params, headers=auth).get_json()
    response = client.get("/api/v1/stats.csv", query_string=params, headers=auth)
    assert response.headers["Content-Language"] == locale.replace("_", "-")
    assert "Accept-Language" in response.headers.get("Vary", "")
    rows = _rows(response.get_data(as_text=True))
    n = _names(app, locale)
    assert rows[0][0] == n["site"] and rows[0][-1] == n["total"]
    by_code = {row[1]: row for row in rows[1:-1]}
    assert set(by_code) == set(body["rows"])
    assert by_code["CO-NSA-CUCUTA"][0] == "Cúcuta"
    columns = {code: i for i, code in enumerate(body["cols"])}
    header_of = {code: label for code, label in zip(body["cols"], body["col_labels"],
                                                    strict=True)}
    for i, site in enumerate(body["rows"]):
        line = by_code[site]
        assert line[0] == body["row_labels"][i]
        for code, j in columns.items():
            cell = body["cells"][i][j]
            assert line[rows[0].index(header_of[code])] == \
                (str(cell["count"]) if "count" in cell else n["hidden"])
        total = body["row_totals"][i]
        assert line[-1] == (str(total["count"]) if "count" in total else n["hidden"])
    grand = body["total"]
    assert rows[-1][-1] == (str(grand["count"]) if "count" in grand else n["hidden"])


def test_hxl_row_is_the_same_in_every_language(app, client, make, people):
    supervisor = make.user(Role.SUPERVISOR)
    token = api_token(client, supervisor.email)
    tags = {}
    for locale, header in HEADERS.items():
        text = client.get("/api/v1/stats.csv", query_string={
            "rows": "site", "cols": "stage", "format": "hxl"},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": header}
        ).get_data(as_text=True)
        rows = _rows(text)
        plain = _rows(client.get("/api/v1/stats.csv", query_string={
            "rows": "site", "cols": "stage"},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": header}
        ).get_data(as_text=True))
        assert rows[0] == plain[0] and rows[2:] == plain[1:]
        tags[locale] = rows[1]
    assert tags["es"] == tags["pt_BR"] == tags["en"]
    assert tags["es"] == ["#loc+name", "#loc+code", "#affected+border", "#affected+transit",
                          "#affected+total"]


def test_one_way_csv_has_one_value_column(app, client, make, people):
    login(client, make.user(Role.SUPERVISOR).email)
    text = client.get("/stats/export.csv?rows=stage&format=hxl",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    rows = _rows(text)
    assert rows[0] == ["Stage", "Stage (code)", "Total"]
    assert rows[1] == ["#indicator+stage+name", "#indicator+stage", "#affected"]
    assert [r[1] for r in rows[2:-1]] == ["border", "transit"]  # by name in English
    assert rows[-1][:2] == ["Total", ""]


def test_names_that_look_like_formulas_are_defused():
    assert export._text("=SUM(A1)") == "'=SUM(A1)"
    assert export._text("-5") == "'-5"
    assert export._text("Cúcuta") == "Cúcuta"
