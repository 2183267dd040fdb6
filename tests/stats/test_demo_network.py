"""The demo network (about 450 invented cases over six months), seeded once for this
module: the same people give the same published number whichever path the database
takes (the running totals or the join over cases), and every format and language
publishes the same numbers (the audit's check.py, issue 10, as a test)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import Flask

from fieldapp.accounts.models import User
from fieldapp.extensions import db, limiter
from fieldapp.stats import dimensions
from fieldapp.stats import services as stats
from tests.conftest import KEEP_TABLES, _restore_reference_data, api_token, login

PASSWORD = "demo password for the formats test"
SUPERVISOR = "supervisor@red.example"
LOCALES = {"es": "es-CO", "pt_BR": "pt-BR", "en": "en"}
TABLES = ("flag", "country", "nationality", "month", "group", "stage", "site", "sex",
          "age_band")


@pytest.fixture(scope="module")
def demo(app: Flask) -> Iterator[None]:
    from fieldapp.demo.seed import seed

    with app.app_context():
        assert seed(PASSWORD) is not None
        db.session.commit()
    yield
    with app.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in KEEP_TABLES:
                db.session.execute(table.delete())
        _restore_reference_data()
        db.session.commit()
        db.session.remove()


@pytest.fixture(autouse=True)
def clean_db(app: Flask, demo: None) -> Iterator[None]:
    """This module's tests share the demo network (no emptying between them)."""
    with app.app_context():
        limiter.reset()
        yield
        db.session.rollback()
        db.session.remove()


def _supervisor() -> User:
    return db.session.scalar(sa.select(User).where(User.email == SUPERVISOR))


def _json(**args) -> dict:
    return stats.to_json(stats.table(_supervisor(), stats.parse_query(args)))


def _one_way(body: dict) -> dict:
    return {r: cell[0] for r, cell in zip(body["rows"], body["cells"], strict=True)}


# -- the fast path and the join give the same number for the same people -------------------

@pytest.mark.parametrize("dim", ["flag", "group"])
def test_totals_tables_and_the_join_over_cases_publish_the_same_numbers(app, dim):
    """`rows=flag` reads the running totals; `rows=stage&flag=X` joins cases (stage is
    not in the totals). Their totals count the same people: the same number. Likewise a
    cell of flag x month (totals) and `rows=stage&flag=X&from=M&to=M` (join)."""
    by_code = _one_way(_json(rows=dim))
    by_month = _json(rows=dim, cols="month")
    assert by_code and by_month["cols"]
    compared = 0
    for code, cell in by_code.items():
        joined = _json(rows="stage", **{dim: code})
        assert joined["total"] == cell, (code, joined["total"], cell)
        i = by_month["rows"].index(code)
        assert by_month["row_totals"][i] == cell
        for j, month in enumerate(by_month["cols"]):
            one_month = _json(rows="sex", **{dim: code, "from": month, "to": month})
            assert one_month["total"] == by_month["cells"][i][j], (code, month)
            compared += 1
    assert compared >= 20
    # And the grand totals: over flags (or groups) by month, and by site.
    assert _json(rows=dim, cols="site")["total"] == by_month["total"]


# -- every format and language publishes the same numbers ----------------------------------

class _Table(HTMLParser):
    """The first statistics table's rows (None: a hidden value) and the sentences."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str | None]] = []
        self.row: list[str | None] | None = None
        self.cell: str | None = None
        self.hidden = False
        self.wrap = 0
        self.paragraph: str | None = None
        self.sentences: dict[str, str] = {}
        self.classes = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = a.get("class") or ""
        if tag == "div" and "stats-table-wrap" in classes and not self.rows:
            self.wrap = 1
        if tag == "tr" and self.wrap:
            self.row = []
        if tag in ("td", "th") and self.row is not None:
            self.cell, self.hidden = "", False
        if tag == "span" and "stats-hidden-value" in classes and self.cell is not None:
            self.hidden = True
        if tag == "p" and classes:
            self.paragraph, self.classes = "", classes

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(None if self.hidden else " ".join(self.cell.split()))
            self.cell = None
        if tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        if tag == "table":
            self.wrap = 0
        if tag == "p" and self.paragraph is not None:
            for name in self.classes.split():
                self.sentences.setdefault(name, " ".join(self.paragraph.split()))
            self.paragraph = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.paragraph is not None:
            self.paragraph += data


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and re.fullmatch(r"-?\d+", text) else None


def test_every_format_and_language_publishes_the_same_numbers(app, client):
    """HTML page, page CSV, API CSV, HXL (page and API) and JSON, in Spanish, Portuguese
    and English: the same value for every row and the total, hidden in the same places,
    the hidden count as shown, names as the JSON's labels, and nothing of 1..k-1."""
    login(client, SUPERVISOR, PASSWORD)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {api_token(api, SUPERVISOR, PASSWORD)}"}
    published: dict[str, tuple] = {}
    for rows in TABLES:
        for locale, header in LOCALES.items():
            language = {"Accept-Language": header}
            answer = api.get("/api/v1/stats", query_string={"rows": rows},
                             headers={**auth, **language})
            assert answer.status_code == 200, (rows, locale)
            body = answer.get_json()
            values = {str(code) if code is not None else "": cell[0].get("count")
                      for code, cell in zip(body["rows"], body["cells"], strict=True)}
            total = body["total"].get("count")
            labels = dict(zip(body["row_labels"],
                              [str(c) if c is not None else "" for c in body["rows"]],
                              strict=True))
            assert not [v for v in [*values.values(), total] if v is not None and 0 < v < 5]
            assert total is not None, rows
            # The page.
            page = client.get("/stats", query_string={"rows": rows}, headers=language)
            assert page.status_code == 200
            html = _Table()
            html.feed(page.get_data(as_text=True))
            lines, foot = html.rows[1:-1], html.rows[-1]
            shown = {labels[line[0]]: _number(line[1]) for line in lines}
            assert shown == values, (rows, locale)
            assert _number(foot[1]) == total
            hidden = sum(v is None for v in [*shown.values(), _number(foot[1])])
            assert body["suppressed"] == hidden
            if hidden:
                count = re.search(r"\d+", html.sentences["stats-hidden-count"])
                assert count and int(count.group()) == hidden
            assert html.sentences.get("stats-protection")
            assert html.sentences.get("stats-months")
            # The CSVs: page and API, plain and HXL.
            for who, url, headers in ((client, "/stats/export.csv", language),
                                      (api, "/api/v1/stats.csv", {**auth, **language})):
                for hxl in (False, True):
                    args = {"rows": rows, **({"format": "hxl"} if hxl else {})}
                    response = who.get(url, query_string=args, headers=headers)
                    assert response.status_code == 200, (url, hxl, rows, locale)
                    data = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
                    data = data[2:] if hxl else data[1:]
                    assert {line[1]: _number(line[2]) for line in data[:-1]} == values
                    assert _number(data[-1][2]) == total
                    names = {line[1]: line[0].lstrip("'") for line in data[:-1]}
                    assert {code: name for name, code in labels.items()} == names
            published[f"{rows}|{locale}"] = (values, total)
    for rows in TABLES:
        first, *others = (published[f"{rows}|{locale}"] for locale in LOCALES)
        assert all(other == first for other in others), rows
    with app.test_request_context():
        assert dimensions.month_options()[-1][0] == dimensions.last_complete_month()
