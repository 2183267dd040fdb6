"""Keyset pagination of the case list: cursors in the API and in the pages' links.

A walk by cursor gives every case once, in the order of the numbered pages, across ties
of the ordering key; filters hold; a cursor is only a position (it shows nobody anything
they could not list); a bad one is a 422, never a 500; and the query seeks in the list's
index instead of counting rows off (EXPLAIN, on SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from fieldapp import keyset
from fieldapp.accounts.roles import Role
from fieldapp.cases import services, views
from fieldapp.cases.models import Case
from fieldapp.cases.vocab import PRIORITY_RANK
from fieldapp.extensions import db
from tests.conftest import api_token

PRIORITIES = {rank: name for name, rank in PRIORITY_RANK.items()}
BASE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def team(make):
    org = make.org()
    return {"org": org, "manager": make.user(Role.CASE_MANAGER, org=org),
            "worker": make.user(Role.FIELD_WORKER, org=org),
            "colleague": make.user(Role.FIELD_WORKER, org=org)}


def _cases(register, owner, n: int, **overrides) -> list[Case]:
    """n cases whose ordering keys tie in rank and in time: three ranks, four instants."""
    made = [register(owner, given_name=f"Persona {i}", document=None, **overrides)
            for i in range(n)]
    for i, case in enumerate(made):
        rank = (0, 3, 4)[i % 3]
        db.session.execute(sa.update(Case).where(Case.id == case.id).values(
            priority_rank=rank, priority=PRIORITIES[rank],
            registered_at=BASE - timedelta(days=i % 4)))
    db.session.commit()
    return made


def _headers(client, user, **extra) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(client, user.email)}", **extra}


def _walk(client, headers, *, per_page: int, **filters) -> tuple[list[str], list[dict]]:
    """Follow next_cursor from the first page to the end; the ids seen and each answer."""
    answers = [client.get("/api/v1/cases", headers=headers,
                          query_string={"per_page": per_page, **filters}).get_json()]
    while answers[-1]["next_cursor"]:
        response = client.get("/api/v1/cases", headers=headers, query_string={
            "per_page": per_page, "cursor": answers[-1]["next_cursor"], **filters})
        assert response.status_code == 200, response.get_json()
        answers.append(response.get_json())
        assert len(answers) < 50
    return [i["id"] for a in answers for i in a["items"]], answers


def _by_number(client, headers, *, per_page: int, **filters) -> list[str]:
    ids, page = [], 1
    while True:
        body = client.get("/api/v1/cases", headers=headers, query_string={
            "per_page": per_page, "page": page, **filters}).get_json()
        ids += [i["id"] for i in body["items"]]
        if page * per_page >= body["total"]:
            return ids
        page += 1


def test_a_cursor_walk_gives_every_case_once_in_the_order_of_numbered_pages(
        client, register, team):
    made = _cases(register, team["worker"], 17)
    headers = _headers(client, team["manager"])
    ids, answers = _walk(client, headers, per_page=4)
    assert len(ids) == len(set(ids)) == 17
    assert set(ids) == {str(c.id) for c in made}
    assert ids == _by_number(client, headers, per_page=4)
    expected = sorted(made, key=lambda c: (c.priority_rank, c.registered_at, c.id), reverse=True)
    assert ids == [str(c.id) for c in expected]
    # page, per_page and total are there as before; with a cursor, page counts the walk
    assert [a["page"] for a in answers] == [1, 2, 3, 4, 5]
    assert {a["total"] for a in answers} == {17} and {a["per_page"] for a in answers} == {4}
    assert answers[0]["previous_cursor"] is None and answers[-1]["next_cursor"] is None
    assert all(len(a["next_cursor"]) == keyset.TOKEN_LENGTH for a in answers[:-1])

    # Back from the last page by previous_cursor: the same pages, in reverse.
    back, body = [], answers[-1]
    while body["previous_cursor"]:
        body = client.get("/api/v1/cases", headers=headers, query_string={
            "per_page": 4, "cursor": body["previous_cursor"]}).get_json()
        back.append(body)
    assert [a["page"] for a in back] == [4, 3, 2, 1]
    assert [[i["id"] for i in a["items"]] for a in back] == \
        [[i["id"] for i in a["items"]] for a in answers[-2::-1]]
    assert back[-1]["previous_cursor"] is None


def test_a_numbered_page_gives_cursors_to_walk_on(client, register, team):
    _cases(register, team["worker"], 9)
    headers = _headers(client, team["manager"])
    everything = _by_number(client, headers, per_page=3)
    second = client.get("/api/v1/cases", headers=headers,
                        query_string={"page": 2, "per_page": 3}).get_json()
    after = client.get("/api/v1/cases", headers=headers,
                       query_string={"cursor": second["next_cursor"], "per_page": 3}).get_json()
    before = client.get("/api/v1/cases", headers=headers, query_string={
        "cursor": second["previous_cursor"], "per_page": 3}).get_json()
    assert [i["id"] for i in after["items"]] == everything[6:9] and after["page"] == 3
    assert [i["id"] for i in before["items"]] == everything[0:3] and before["page"] == 1
    assert after["next_cursor"] is None and before["previous_cursor"] is None


def test_cases_registered_during_a_walk_do_not_shift_it(client, register, team):
    made = _cases(register, team["worker"], 8)
    headers = _headers(client, team["manager"])
    first = client.get("/api/v1/cases", headers=headers, query_string={"per_page": 4}).get_json()
    late = register(team["worker"], given_name="Llegó después", document=None)
    db.session.execute(sa.update(Case).where(Case.id == late.id).values(
        priority_rank=4, priority="urgent"))  # urgent and newest: the top of the list
    db.session.commit()
    rest = client.get("/api/v1/cases", headers=headers, query_string={
        "per_page": 4, "cursor": first["next_cursor"]}).get_json()
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert sorted(ids) == sorted(str(c.id) for c in made)  # nothing twice, nothing missed
    assert rest["next_cursor"] is None
    # The numbered second page has moved down by one: it shows a case of the first again.
    second = client.get("/api/v1/cases", headers=headers,
                        query_string={"per_page": 4, "page": 2}).get_json()
    assert first["items"][-1]["id"] == second["items"][0]["id"]


def test_filters_hold_along_the_walk(client, register, team):
    border = _cases(register, team["worker"], 7, stage="border")
    _cases(register, team["worker"], 5, stage="transit")
    headers = _headers(client, team["manager"])
    ids, answers = _walk(client, headers, per_page=2, stage="border")
    assert sorted(ids) == sorted(str(c.id) for c in border)
    assert ids == _by_number(client, headers, per_page=2, stage="border")
    assert {a["total"] for a in answers} == {7}


def test_a_cursor_is_only_a_position(client, register, make, team):
    """Someone else's cursor shows the holder their own cases after that place, nothing of
    the cases they may not see."""
    mine = _cases(register, team["worker"], 6)
    theirs = _cases(register, team["colleague"], 4)
    worker_ids, answers = _walk(client, _headers(client, team["worker"]), per_page=2)
    assert sorted(worker_ids) == sorted(str(c.id) for c in mine)
    cursor = answers[0]["next_cursor"]

    colleague = client.get("/api/v1/cases", headers=_headers(client, team["colleague"]),
                           query_string={"cursor": cursor, "per_page": 100}).get_json()
    seen = {i["id"] for i in colleague["items"]}
    assert seen <= {str(c.id) for c in theirs} and seen
    assert colleague["total"] == 4

    outsider = make.user(Role.CASE_MANAGER)  # another organization
    other = client.get("/api/v1/cases", headers=_headers(client, outsider),
                       query_string={"cursor": cursor}).get_json()
    assert other["items"] == [] and other["total"] == 0
    assert other["next_cursor"] is None and other["previous_cursor"] is None


def _tampered(token: str) -> str:
    i = 10
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


def test_bad_cursors_are_422_with_a_translated_message(client, register, team, app):
    _cases(register, team["worker"], 3)
    headers = _headers(client, team["manager"])
    good = client.get("/api/v1/cases", headers=headers,
                      query_string={"per_page": 1}).get_json()["next_cursor"]
    with app.test_request_context():
        forged = keyset.encode(keyset.Position(rank=4, at=BASE, id=team["worker"].id),
                               purpose="referrals")  # signed, but for another list
    for bad in (_tampered(good), good[:-1], good + "A", "x" * 64, "not a cursor", forged,
                "é" * 64, "A" * 300, good + "=="):
        response = client.get("/api/v1/cases", headers={**headers, "Accept-Language": "en"},
                              query_string={"cursor": bad})
        assert response.status_code == 422, (bad, response.get_json())
        assert "cursor" in response.get_json()["error"]["fields"], bad
    english = client.get("/api/v1/cases", headers={**headers, "Accept-Language": "en"},
                         query_string={"cursor": _tampered(good)}).get_json()["error"]
    assert english["fields"]["cursor"] == [
        "This cursor is not valid: start again from the first page."]
    spanish = client.get("/api/v1/cases", headers={**headers, "Accept-Language": "es"},
                         query_string={"cursor": _tampered(good)}).get_json()["error"]
    assert spanish["message"] != english["message"]  # the error's text is translated

    both = client.get("/api/v1/cases", headers=headers,
                      query_string={"cursor": good, "page": 2}).get_json()["error"]
    assert list(both["fields"]) == ["cursor"]
    search = client.get("/api/v1/cases", headers=headers,
                        query_string={"cursor": good, "q": "Persona 1"})
    assert search.status_code == 422 and "cursor" in search.get_json()["error"]["fields"]
    # Searches still page by number, and say there is no cursor to follow.
    found = client.get("/api/v1/cases", headers=headers, query_string={"q": "Persona 1"})
    assert found.status_code == 200 and found.get_json()["next_cursor"] is None


def test_a_cursor_signed_under_another_secret_key_is_refused(app):
    position = keyset.Position(rank=0, at=BASE, id=uuid.uuid4(), forward=False, page=7)
    with app.test_request_context():
        token = keyset.encode(position, purpose="cases")
        assert keyset.decode(token, purpose="cases") == position
        original = app.secret_key
        app.secret_key = "another secret key"
        try:
            with pytest.raises(keyset.BadCursor):
                keyset.decode(token, purpose="cases")
        finally:
            app.secret_key = original


def _links(html: str) -> dict[str, str]:
    return {rel: unescape(href) for rel, href in
            re.findall(r'<a class="button" rel="(next|prev)" href="([^"]+)"', html)}


def test_the_pages_next_and_previous_links_walk_by_cursor(client, auth, register,
                                                         monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 4)
    manager = auth(Role.CASE_MANAGER)
    border = _cases(register, manager, 10, stage="border")
    _cases(register, manager, 3, stage="transit")
    url, seen, pages = "/cases?stage=border", [], []
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r'href="/cases/([0-9a-f-]{36})"', html)
        pages.append(re.search(r'<nav class="pager".*?<span>\D*(\d+)\D+(\d+)</span>', html,
                               re.S).groups())
        links = _links(html)
        if "next" in links:
            assert "cursor=" in links["next"] and "page=" not in links["next"]
            assert "stage=border" in links["next"]  # the filters go along
        last, url = url, links.get("next")
    assert sorted(seen) == sorted(str(c.id) for c in border)
    assert len(seen) == len(set(seen))
    assert pages == [("1", "3"), ("2", "3"), ("3", "3")]
    previous = _links(client.get(last).get_data(as_text=True))["prev"]
    assert "stage=border" in previous
    html = client.get(previous).get_data(as_text=True)
    assert re.findall(r'href="/cases/([0-9a-f-]{36})"', html) == seen[4:8]

    token = re.search(r"cursor=([^&]+)", previous).group(1)
    broken = client.get("/cases?stage=border&cursor=" + _tampered(token),
                        headers={"Accept-Language": "en"})
    assert broken.status_code == 200
    text = broken.get_data(as_text=True)
    assert "That page link no longer works; here is the first page." in text
    assert re.findall(r'href="/cases/([0-9a-f-]{36})"', text) == seen[:4]


def _statements(run) -> list[tuple[str, object]]:
    captured = []

    def before(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return captured


def test_the_cursor_query_seeks_in_the_list_index(register, team):
    """EXPLAIN of the very statement the service sends: a range of ix_cases_list_order
    starting at the cursor's key, read in order (no sort), on both databases."""
    _cases(register, team["worker"], 6)
    manager = team["manager"]
    first = services.list_page(manager, services.CaseFilters(), per_page=2)
    for cursor in (first.next, keyset.Position(rank=first.next.rank, at=first.next.at,
                                               id=first.next.id, forward=False, page=1)):
        statements = _statements(lambda c=cursor: services.list_page(
            manager, services.CaseFilters(), cursor=c, per_page=2))
        seek = [(s, p) for s, p in statements
                if "(cases.priority_rank, cases.registered_at, cases.id)" in s
                and "cases.given_name_enc" in s]
        assert len(seek) == 1, [s for s, _ in statements]
        statement, parameters = seek[0]
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            plan = "\n".join(r[0] for r in connection.exec_driver_sql(
                "EXPLAIN " + statement, parameters))
            assert "ix_cases_list_order" in plan, plan
            assert re.search(r"Index Cond: .*ROW\(priority_rank, registered_at, id\) [<>] "
                             r"ROW\(", plan), plan
            assert "Sort" not in plan and "OFFSET" not in statement.upper(), plan
        else:
            plan = "\n".join(r[-1] for r in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters))
            assert re.search(r"USING INDEX ix_cases_list_order \(organization_id=\? AND "
                             r"\(priority_rank,registered_at,id\)[<>]\(\?,\?,\?\)\)", plan), plan
            assert "TEMP B-TREE" not in plan, plan
        db.session.rollback()


def test_a_page_by_cursor_sends_one_statement_more_than_the_first_page(register, team):
    """The seek replaces the OFFSET; the one extra statement is the index probe that says
    whether a previous page exists. Depth changes nothing."""
    _cases(register, team["worker"], 12)
    manager = team["manager"]
    first = services.list_page(manager, services.CaseFilters(), per_page=3)
    db.session.commit()
    near = first.next
    deep = services.list_page(manager, services.CaseFilters(), cursor=near, per_page=3)
    deep = services.list_page(manager, services.CaseFilters(), cursor=deep.next, per_page=3)
    db.session.commit()
    counts = []
    for cursor in (None, near, deep.next):
        counts.append(len([s for s, _ in _statements(lambda c=cursor: services.list_page(
            manager, services.CaseFilters(), cursor=c, per_page=3)) if s.startswith("SELECT")]))
        db.session.rollback()
    assert counts[1] == counts[2] == counts[0] + 1, counts
