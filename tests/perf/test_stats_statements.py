"""A statistics table names its sites in one query, however many sites it has
(docs/benchmarks.md, "Load test", lever 2)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fieldapp import clock
from fieldapp.stats import dimensions
from fieldapp.stats import services as stats
from tests.conftest import api_token, login
from tests.perf.conftest import get_counted, listing
from tests.stats.conftest import next_month_start


@pytest.fixture(autouse=True)
def month_is_over(monkeypatch):
    """Statistics count complete months only: these people, registered now, count once
    the statistics' clock reads next month (tests/stats/conftest.py)."""
    moment = next_month_start(clock.now())
    monkeypatch.setattr(dimensions, "clock", SimpleNamespace(now=lambda: moment))

# Besides one grouped query per organization in scope (each reads its own slice of an
# index, in order): the token (with its user, roles and second factor), the
# organizations in scope, the audit chain's head and the new event, the sites' names.
STATS_FIXED = 5
SITES = ["CO-LAG-PARAGUACHON", "EC-C-TULCAN", "CO-NSA-CUCUTA"]


def test_group_by_site_of_three_sites_sends_what_one_site_sends(client, statements, network,
                                                                register):
    worker, supervisor = network["people"]["worker"], network["people"]["supervisor"]
    register(worker, given_name="Persona 0", document=None)
    token = api_token(client, supervisor.email)
    url = "/api/v1/stats?rows=group&cols=site"
    _, one_site = get_counted(client, statements, url, token)

    for i, site in enumerate(SITES * 2):
        register(worker, given_name=f"Persona {i + 1}", location_code=site, document=None)
    response, three_sites = get_counted(client, statements, url, token)
    body = response.get_json()
    assert set(body["cols"]) == set(SITES)
    assert dict(zip(body["cols"], body["col_labels"], strict=True))["CO-LAG-PARAGUACHON"] \
        == "Paraguachón"
    assert len(three_sites) == len(one_site), listing(three_sites)
    organizations = len(stats.organizations_in_scope(supervisor))
    assert len(three_sites) <= STATS_FIXED + organizations, listing(three_sites)


def test_the_statistics_page_names_its_sites_in_one_query(client, statements, network, register):
    worker, supervisor = network["people"]["worker"], network["people"]["supervisor"]
    register(worker, given_name="Persona 0", document=None)
    login(client, supervisor.email)
    url = "/stats?rows=site&cols=group"
    _, one_site = get_counted(client, statements, url)
    for i, site in enumerate(SITES * 2):
        register(worker, given_name=f"Persona {i + 1}", location_code=site, document=None)
    response, three_sites = get_counted(client, statements, url)
    assert "Paraguachón" in response.get_data(as_text=True)
    assert len(three_sites) == len(one_site), listing(three_sites)
