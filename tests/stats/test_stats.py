"""Statistics from a known synthetic population: correct, protected, scoped, audited.

The CSV and HXL exports (same numbers as the JSON, in the reader's language) are tested in
test_export.py."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.cases import assessment
from fieldapp.cases import services as case_services
from fieldapp.extensions import db
from fieldapp.stats import services as stats
from fieldapp.stats.perturbation import perturbation_table
from tests.conftest import api_token, login

SITES = ["CO-NSA-CUCUTA", "CO-LAG-PARAGUACHON", "EC-C-TULCAN"]
STAGES = ["border", "transit", "host_community"]


@pytest.fixture
def population(make, register):
    """60 cases in a sharing organization, 7 in one that does not share."""
    sharing = make.org("Sharing NGO")
    private = make.org("Private NGO", shares=False)
    worker = make.user(Role.FIELD_WORKER, org=sharing)
    other = make.user(Role.FIELD_WORKER, org=private)
    truth = Counter()
    for i in range(60):
        site, stage = SITES[i % 3], STAGES[(i // 3) % 3]
        sex = "female" if i % 4 else "male"
        register(worker, given_name=f"Persona {i}", location_code=site, stage=stage, sex=sex,
                 document=None, date_of_birth="1990-01-01")
        truth[(site, stage)] += 1
    for i in range(7):
        register(other, given_name=f"Privada {i}", location_code="CO-NSA-CUCUTA",
                 stage="border", document=None, date_of_birth="1990-01-01")
    return {"sharing": sharing, "private": private, "worker": worker, "truth": truth}


def _q(**kw):
    return stats.parse_query(kw)


def _near(published: dict, true: int) -> bool:
    """A published value within the perturbation table's bound of the true count."""
    bound = perturbation_table().max_deviation
    return "count" in published and abs(published["count"] - true) <= bound


def test_published_cells_stay_within_the_bound_of_the_true_counts(app, make, population):
    """Was: unsuppressed cells equal the true counts. Now every count of k or more is
    published, moved by at most the perturbation table's bound."""
    supervisor = make.user(Role.SUPERVISOR)
    result = stats.table(supervisor, _q(rows="site", cols="stage"))
    body = stats.to_json(result)
    for i, site in enumerate(body["rows"]):
        for j, stage in enumerate(body["cols"]):
            assert _near(body["cells"][i][j], population["truth"][(site, stage)])
    assert body["suppressed"] == 0
    assert _near(body["total"], 60)  # the non-sharing organization is not counted


def test_case_manager_sees_own_organization_only(app, make, population):
    manager = make.user(Role.CASE_MANAGER, org=population["private"])
    body = stats.to_json(stats.table(manager, _q(rows="site")))
    assert body["rows"] == ["CO-NSA-CUCUTA"] and _near(body["total"], 7)


def test_small_counts_are_hidden_and_never_published(app, make, population, register):
    """Was: small counts suppressed and complemented. Primary suppression stays (1..k-1
    hidden); complementary suppression went: published neighbours are perturbed, so the
    table's arithmetic no longer gives a hidden count back (see test_cell_key.py)."""
    worker = population["worker"]
    for i in range(2):  # two cases at a fourth site: a small cell
        register(worker, given_name=f"Pocas {i}", location_code="PE-TUM-TUMBES",
                 stage="border", document=None, date_of_birth="1990-01-01")
    supervisor = make.user(Role.SUPERVISOR)
    body = stats.to_json(stats.table(supervisor, _q(rows="site", cols="stage")))
    row = body["rows"].index("PE-TUM-TUMBES")
    assert body["cells"][row][body["cols"].index("border")] == {"suppressed": True}
    assert body["row_totals"][row] == {"suppressed": True}
    assert _near(body["total"], 62)
    shown = [*[c for r in body["cells"] for c in r], *body["row_totals"], *body["col_totals"],
             body["total"]]
    assert body["suppressed"] == sum(1 for c in shown if c == {"suppressed": True}) == 2
    assert not any(0 < c.get("count", 0) < 5 for c in shown)


def test_sensitive_flags_use_k_10(app, make, population, register):
    """k = 10 for the cells that count people with one of the most sensitive flags, 5 for
    the other cells of the same table. The JSON's `k` is the base k (STATS_K) whatever
    the table; `protection.k_sensitive_flags` is the other (was: `k` said 10 for any
    flag table, although its other flags were published from 5)."""
    worker = population["worker"]
    for i in range(7):
        case = register(worker, given_name=f"Niño {i}", date_of_birth="2014-01-01",
                        document=None, location_code="CO-NSA-CUCUTA")
        assessment.save_assessment(worker, case, {"accompaniment": "alone"})
    db.session.commit()
    supervisor = make.user(Role.SUPERVISOR)
    query = _q(rows="flag")
    body = stats.to_json(stats.table(supervisor, query))
    assert body["k"] == 5
    assert body["protection"]["k"] == 5 and body["protection"]["k_sensitive_flags"] == 10
    i = body["rows"].index("UNACCOMPANIED_CHILD")
    assert body["row_totals"][i] == {"suppressed": True}  # 7 < 10
    assert stats.cell_k(query, body["k"], "UNACCOMPANIED_CHILD") == 10
    assert stats.cell_k(query, body["k"], "IRREGULAR_STATUS") == 5  # the table's others
    plain = stats.to_json(stats.table(supervisor, _q(rows="stage")))
    assert plain["k"] == 5
    filtered = stats.to_json(stats.table(supervisor, _q(rows="stage",
                                                        flag="UNACCOMPANIED_CHILD")))
    assert filtered["k"] == 5 and filtered["total"] == {"suppressed": True}


def test_same_people_give_the_same_number_in_every_table(app, make, population, register):
    """Was: differencing with and without a site filter hid the filtered table. Now the
    same set of people always gets the same published number, whatever the query; the
    differencing attack itself is in test_cell_key.py."""
    worker = population["worker"]
    for i in range(3):
        register(worker, given_name=f"Huaquillas {i}", location_code="EC-O-HUAQUILLAS",
                 stage="border", document=None, date_of_birth="1990-01-01")
    supervisor = make.user(Role.SUPERVISOR)
    by_site = stats.to_json(stats.table(supervisor, _q(rows="site", cols="stage")))
    tulcan = stats.to_json(stats.table(supervisor, _q(rows="stage", site="EC-C-TULCAN")))
    i = by_site["rows"].index("EC-C-TULCAN")
    for j, stage in enumerate(by_site["cols"]):
        if stage in tulcan["rows"]:
            assert by_site["cells"][i][j] == tulcan["cells"][tulcan["rows"].index(stage)][0]
    assert by_site["row_totals"][i] == tulcan["total"]
    again = stats.to_json(stats.table(supervisor, _q(rows="site", cols="stage")))
    assert again["cells"] == by_site["cells"] and again["total"] == by_site["total"]
    ecuador = stats.to_json(stats.table(supervisor, _q(rows="stage", country="EC")))
    assert _near(ecuador["total"], 23) and ecuador["total"] == stats.to_json(
        stats.table(supervisor, _q(rows="country")))["cells"][1][0]


def test_erased_cases_still_count(app, make, population):
    supervisor = make.user(Role.SUPERVISOR)
    before = stats.to_json(stats.table(supervisor, _q(rows="site")))["total"]
    case = db.session.scalar(sa.select(case_services.Case).where(
        case_services.Case.organization_id == population["sharing"].id).limit(1))
    case_services.erase_case(case)
    db.session.commit()
    after = stats.to_json(stats.table(supervisor, _q(rows="site")))["total"]
    assert before == after and _near(after, 60)


def test_filters_only_on_predefined_values(app, make):
    with pytest.raises(stats.ValidationFailed):
        stats.parse_query({"rows": "given_name"})
    with pytest.raises(stats.ValidationFailed):
        stats.parse_query({"rows": "site", "stage": "anything goes"})
    with pytest.raises(stats.ValidationFailed):
        stats.parse_query({"rows": "site", "country": "ZZ"})
    with pytest.raises(stats.ValidationFailed):
        stats.parse_query({"rows": "site", "from": "last year"})


def test_statistics_are_audited_and_hold_nothing_personal(app, client, make, population):
    supervisor = make.user(Role.SUPERVISOR)
    login(client, supervisor.email)
    html = client.get("/stats?rows=flag&cols=country", headers={"Accept-Language": "en"})
    assert html.status_code == 200 and b"<svg" in html.data and b"<script" not in html.data
    assert b"Persona" not in html.data and b"CO-NSA-26-" not in html.data
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "stats.queried"))
    assert '"rows":"flag"' in event.details and event.actor_id == supervisor.id
    csv_response = client.get("/stats/export.csv?rows=site")
    assert csv_response.status_code == 200 and b"Persona" not in csv_response.data


def test_roles(app, client, make, population):
    worker = population["worker"]
    auth = {"Authorization": f"Bearer {api_token(client, worker.email)}"}
    assert client.get("/api/v1/stats?rows=site", headers=auth).status_code == 403
    supervisor = make.user(Role.SUPERVISOR)
    s_auth = {"Authorization": f"Bearer {api_token(client, supervisor.email)}"}
    case_id = db.session.scalar(sa.select(case_services.Case.id).limit(1))
    assert client.get(f"/api/v1/cases/{case_id}", headers=s_auth).status_code in (403, 404)
    assert client.get("/api/v1/stats?rows=nonsense", headers=s_auth).status_code == 422


def test_referral_performance_is_computed_and_protected(app, make, population):
    supervisor = make.user(Role.SUPERVISOR)
    assert stats.referral_performance(supervisor) == []  # no referrals: nothing to show


def test_small_months_stay_hidden_and_do_not_hide_totals(app, make, register):
    """Was: periods cannot be subtracted (a small month hid every total containing it, so
    that nothing was left). Now the small month is hidden, every total is published, and
    subtracting periods gives noise (the attack is in test_cell_key.py)."""
    from datetime import UTC, datetime

    from fieldapp.cases import inputs
    from tests.cases.conftest import case_data

    org = make.org("Periods NGO")
    worker = make.user(Role.FIELD_WORKER, org=org)
    for i, month in enumerate([1] * 10 + [2] * 2):
        data = inputs.parse_case(case_data(given_name=f"P{i}", document=None, sex="female",
                                           date_of_birth="1990-01-01"),
                                 today=datetime(2026, month, 15).date())
        case_services.register_case(worker, data, now=datetime(2026, month, 15, tzinfo=UTC))
    db.session.commit()
    supervisor = make.user(Role.SUPERVISOR)
    both = stats.to_json(stats.table(supervisor, _q(rows="sex", **{"from": "2026-01",
                                                                  "to": "2026-02"})))
    jan = stats.to_json(stats.table(supervisor, _q(rows="sex", **{"from": "2026-01",
                                                                 "to": "2026-01"})))
    assert _near(jan["row_totals"][jan["rows"].index("female")], 10)
    assert _near(both["row_totals"][both["rows"].index("female")], 12)
    by_month = stats.to_json(stats.table(supervisor, _q(rows="month")))
    assert by_month["row_totals"][by_month["rows"].index("2026-02")] == {"suppressed": True}
    assert by_month["row_totals"][by_month["rows"].index("2026-01")] == \
        jan["row_totals"][jan["rows"].index("female")]  # the same ten people
    assert _near(by_month["total"], 12) and by_month["total"] == \
        both["row_totals"][both["rows"].index("female")]


def test_referral_tables_count_people_not_referrals(app, make, register):
    from fieldapp.referrals import services as referrals
    from fieldapp.referrals.models import Referral

    org = make.org("Counting NGO")
    worker = make.user(Role.FIELD_WORKER, org=org)
    case = register(worker, date_of_birth="2012-01-01")
    assessment.save_assessment(worker, case, {"accompaniment": "alone"})
    provider_org = make.org("Provider Org")
    service = referrals.create_service(make.user(Role.ADMIN), referrals.parse_service({
        "name": "CP", "type": "child_protection", "organization_id": str(provider_org.id),
        "location_codes": ["CO"]}))
    for _ in range(6):
        referrals.create_referral(worker, case, service, flags=["UNACCOMPANIED_CHILD"],
                                  given_by="self", scope=["risk_summary"], note=None)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 6
    supervisor = make.user(Role.SUPERVISOR)
    body = stats.to_json(stats.table(supervisor, _q(rows="service_type")))
    assert body["row_totals"] == [{"suppressed": True}]  # one person, not six


def test_page_filters_by_stage_and_place(app, client, make, population):
    supervisor = make.user(Role.SUPERVISOR)
    login(client, supervisor.email)
    page = client.get("/stats?rows=site&stage=border&country=co",
                      headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="border" selected' in html
    assert "Tulcán" not in html and "Cúcuta" in html  # filtered to Colombia
    bad = client.get("/stats?rows=site&stage=somewhere")
    assert bad.status_code == 422


def test_the_current_month_is_never_counted(app, client, make, register, real_month):
    """Complete months only (issue 10): differencing `from=a&to=<this month>` against
    `to=<last month>` over many filters recovered the current month's one person. Now
    nothing registered this month counts, in any table, total, filter, chart, export or
    API answer; a `to` after the last complete month is brought back to it, not refused."""
    from datetime import UTC, datetime, timedelta

    from fieldapp.cases import inputs
    from fieldapp.stats import dimensions
    from tests.cases.conftest import case_data

    worker = make.user(Role.FIELD_WORKER, org=make.org("Months NGO"))
    now = datetime.now(UTC)
    this_month = now.strftime("%Y-%m")
    last_month = dimensions.last_complete_month()
    assert last_month < this_month and last_month == (
        now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    before = now.replace(day=1, hour=12) - timedelta(days=10)  # in the last month
    for i in range(12):
        data = inputs.parse_case(case_data(given_name=f"Antes {i}", document=None,
                                           sex="female", date_of_birth="1990-01-01",
                                           stage="border"), today=before.date())
        case_services.register_case(worker, data, now=before)
    # This month's one person: male, in transit; and one more flagged person.
    register(worker, given_name="Ahora", document=None, sex="male", stage="transit",
             date_of_birth="1990-01-01")
    db.session.commit()
    supervisor = make.user(Role.SUPERVISOR)

    def table(**args):
        return stats.to_json(stats.table(supervisor, _q(**args)))

    by_month = table(rows="month")
    assert this_month not in by_month["rows"] and last_month in by_month["rows"]
    assert by_month["last_complete_month"] == last_month
    assert by_month["protection"]["complete_months_only"] is True
    everything = [table(rows=d) for d in ("sex", "stage", "month", "flag", "group", "site")]
    # The male in transit is nowhere: no row, no cell, and every total is the twelve.
    assert all("male" not in t["rows"] and "transit" not in t["rows"] for t in everything)
    capped = table(rows="sex", **{"from": last_month, "to": this_month})
    assert capped["to"] == last_month and capped["total"] == table(rows="sex")["total"]
    assert table(rows="sex", **{"from": last_month, "to": "2099-12"})["to"] == last_month
    assert table(rows="sex", month=this_month)["total"] == {"count": 0}
    assert table(rows="sex", **{"from": this_month})["total"] == {"count": 0}
    assert table(rows="sex", stage="transit")["total"] == {"count": 0}
    # The audit's attack: the two periods publish the same number, for every filter.
    for filters in ({}, {"sex": "male"}, {"stage": "transit"}, {"sex": "female"}):
        rows = "age_band"
        assert table(rows=rows, **{"from": last_month, "to": this_month}, **filters) == \
            {**table(rows=rows, **{"from": last_month, "to": last_month}, **filters),
             "to": last_month}
    # The month lists end with the last complete month.
    with app.test_request_context():
        assert dimensions.month_options()[-1][0] == last_month
    # The page says so under the table, and the API answers a `to` beyond with 200.
    login(client, supervisor.email)
    page = client.get(f"/stats?rows=month&to={this_month}",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    with app.test_request_context(), force_locale("en"):
        sentence = str(stats.complete_months_sentence(last_month))
    assert sentence in page.replace("\n", " ") and f'value="{this_month}"' not in \
        page.split('id="f-from"')[1].split("</select>")[0]
    auth = {"Authorization": f"Bearer {api_token(client, supervisor.email)}"}
    answer = client.get(f"/api/v1/stats?rows=stage&to={this_month}", headers=auth)
    assert answer.status_code == 200 and answer.get_json()["to"] == last_month
    assert "transit" not in answer.get_json()["rows"]
    csv_text = client.get(f"/api/v1/stats.csv?rows=stage&to={this_month}",
                          headers=auth).get_data(as_text=True)
    assert "transit" not in csv_text
