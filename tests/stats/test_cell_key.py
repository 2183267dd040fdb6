"""The cell key method: the perturbation table's design, utility and safety.

Replaces tests/stats/test_suppression.py (cascading suppression, removed). Where its
properties went:
- "small counts are suppressed, zero stays" and "k boundaries": here
  (test_small_counts_are_never_published, test_zero_stays_zero, test_k_boundary).
- "a small cell also hides a complement" and "nothing left determined": complementary
  suppression is gone; the attacks below show that the table's arithmetic and
  differences between tables give noise, not a count (test_differencing_attack...).
- "totals are suppressed too": totals are published cells of their own
  (test_stats.py, test_small_counts_are_hidden_and_never_published).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldapp.accounts.roles import Role
from fieldapp.cases.models import Case
from fieldapp.db import RECORD_KEY_MODULUS
from fieldapp.extensions import db
from fieldapp.stats import services as stats
from fieldapp.stats.perturbation import (
    PerturbationTableError,
    load,
    perturbation_table,
    publish,
)

PT = perturbation_table()


def _keys(rng: random.Random, n: int) -> list[int]:
    return [rng.randrange(RECORD_KEY_MODULUS) for _ in range(n)]


# -- the table's design ----------------------------------------------------------------------

@pytest.mark.parametrize("k", [3, 5, 10])
def test_small_counts_are_never_published(k):
    rng = random.Random(k)
    for count in range(0, 60):
        for _ in range(200):
            value = publish(count, sum(_keys(rng, count)), k, PT)
            assert value is None or value == 0 or value >= k
            if count >= k:
                assert value is not None and abs(value - count) <= PT.max_deviation
            elif count > 0:
                assert value is None


def test_zero_stays_zero():
    assert publish(0, 0, 5, PT) == 0 and publish(0, 12345, 10, PT) == 0


@pytest.mark.parametrize("k", [3, 5, 10])
def test_k_boundary(k):
    """k itself is published as k; one below is hidden."""
    assert publish(k - 1, 777, k, PT) is None
    assert all(publish(k, key, k, PT) == k for key in range(0, RECORD_KEY_MODULUS, 2**26))


@pytest.mark.parametrize("distance", range(0, 6))
def test_noise_is_zero_mean_and_matches_the_table(distance):
    """Over uniformly random record keys the noise has the table's distribution: mean 0."""
    k = 5
    count = k + distance
    rng = random.Random(distance)
    seen = Counter(publish(count, sum(_keys(rng, count)), k, PT) - count
                   for _ in range(20_000))
    expected = PT.distribution(count, k)
    assert {count + v for v in seen} == set(expected)
    mean = sum(v * n for v, n in seen.items()) / 20_000
    assert abs(mean) < 0.05
    for value, p in expected.items():
        assert abs(seen[value - count] / 20_000 - p) < 0.02


def test_same_people_same_number():
    rng = random.Random(1)
    keys = _keys(rng, 40)
    first = publish(40, sum(keys), 5, PT)
    assert all(publish(40, sum(rng.sample(keys, 40)), 5, PT) == first for _ in range(20))


def test_a_broken_table_is_refused(tmp_path: Path):
    bad = {
        "asymmetric": "version: 1\nmodulus: 2147483648\nrows:\n  - {0: 1}\n  - {0: 1, 1: 1}\n",
        "below_k": "version: 1\nmodulus: 2147483648\nrows:\n  - {-1: 1, 0: 1, 1: 1}\n",
        "modulus": "version: 1\nmodulus: 1000\nrows:\n  - {0: 1}\n",
        "weights": "version: 1\nmodulus: 2147483648\nrows:\n  - {0: 0}\n",
    }
    for name, text in bad.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(PerturbationTableError):
            load(path)


# -- the attack: subtracting overlapping queries -----------------------------------------------

def _posterior_guess(observed: list[tuple[int | None, int | None]], k: int) -> int:
    """The Bayes-optimal guess of a small count c in 1..k-1 from pairs (published bigger
    set, published smaller set), knowing the perturbation table (the smaller sets' true
    sizes are unknown, near their published values): the attacker's best possible use of
    the published numbers."""
    best, best_p = 1, -1.0
    for c in range(1, k):
        p = 1.0
        for big, small in observed:
            # Sum over the unknown true size of the smaller set near its published value.
            total = 0.0
            for n in range(max(k, small - PT.max_deviation), small + PT.max_deviation + 1):
                total += PT.distribution(n, k).get(small, 0) * \
                    PT.distribution(n + c, k).get(big, 0)
            p *= total
        if p > best_p:
            best, best_p = c, p
    return best


def _theoretical_success(k: int, pairs: int) -> float:
    """Exact success rate of the Bayes-optimal attacker under the table's own noise (cell
    keys independent and uniform), for a uniform small count and known other sizes."""
    n = 20  # the other sets' size: far from k, so their rows are the full one
    rows = [PT.distribution(n + c, k) for c in range(1, k)]
    base = PT.distribution(n, k)
    diffs: dict[int, list[float]] = {}
    for c, row in enumerate(rows, start=1):
        dist: Counter = Counter()
        for big, pb in row.items():
            for small, ps in base.items():
                dist[big - small] += pb * ps
        diffs[c] = dist
    success = 0.0
    outcomes = set().union(*diffs.values())
    for combo in itertools.product(sorted(outcomes), repeat=pairs):
        likelihood = {c: 1.0 for c in diffs}
        for d in combo:
            for c in diffs:
                likelihood[c] *= diffs[c].get(d, 0.0)
        success += max(likelihood.values()) / (k - 1)
    return success


@pytest.mark.parametrize("k", [5, 10])
def test_differencing_attack_does_no_better_than_the_table_allows(k):
    """Many synthetic populations: a small group of c people (1..k-1) in February between
    a January and a March of 20 each. The attacker asks every period range, sees February
    hidden, subtracts every overlapping pair that differs by February only
    ([Jan..Feb] - [Jan], [Feb..Mar] - [Mar]) and makes the Bayes-optimal guess. The exact
    count is recovered no more often than the perturbation table's noise allows (and far
    from always), so the implementation leaks nothing beyond its design."""
    rng = random.Random(2026 + k)
    trials, hits = 3000, 0
    for _ in range(trials):
        c = rng.randint(1, k - 1)
        jan, feb, mar = _keys(rng, 20), _keys(rng, c), _keys(rng, 20)
        assert publish(len(feb), sum(feb), k, PT) is None
        observed = [
            (publish(20 + c, sum(jan) + sum(feb), k, PT), publish(20, sum(jan), k, PT)),
            (publish(20 + c, sum(mar) + sum(feb), k, PT), publish(20, sum(mar), k, PT)),
        ]
        hits += _posterior_guess(observed, k) == c
    rate = hits / trials
    allowed = _theoretical_success(k, pairs=2)
    print(f"k={k}: attack recovered {rate:.3f} of small counts; the table allows "
          f"{allowed:.3f}; a blind guess {1 / (k - 1):.3f}")
    sigma = (allowed * (1 - allowed) / trials) ** 0.5
    assert rate <= allowed + 4 * sigma
    assert allowed < 0.75  # never close to certainty
    # A guess without the published numbers would be right 1/(k-1) of the time; the
    # noise keeps the attacker well short of certainty.


def test_an_unperturbed_table_would_fail_the_attack():
    """The attack test can fail: with the noise removed, subtraction gives every count."""
    rng = random.Random(5)
    for _ in range(200):
        c = rng.randint(1, 4)
        assert (20 + c) - 20 == c  # what publishing true counts would give away


# -- utility, in the database ----------------------------------------------------------------

def test_every_count_of_k_or_more_is_published_on_the_demo_network(app, make):
    """The demo network (about 450 invented cases): the supervisor's flag, country,
    nationality and month tables publish a number for every value with k or more people,
    within the table's bound, and the total; hidden values are exactly the small ones."""
    from fieldapp.demo.seed import seed

    assert seed("demo password for tests") is not None
    db.session.commit()
    supervisor = make.user(Role.SUPERVISOR)
    for rows in ("flag", "country", "nationality", "month", "group", "stage"):
        body = stats.to_json(stats.table(supervisor, stats.parse_query({"rows": rows})))
        truth = _true_counts(rows)
        assert set(body["rows"]) == {r for r, n in truth.items() if n > 0}
        for i, value in enumerate(body["rows"]):
            k = stats.cell_k(stats.parse_query({"rows": rows}), 5, value)
            cell = body["cells"][i][0]
            if truth[value] >= k:
                assert "count" in cell and abs(cell["count"] - truth[value]) <= PT.max_deviation, \
                    (rows, value)
            else:
                assert cell == {"suppressed": True}, (rows, value)
        assert "count" in body["total"], rows
        published = sum(1 for r in body["cells"] if "count" in r[0])
        assert published >= len([n for n in truth.values() if n >= 10])


def _true_counts(rows: str) -> dict:
    from fieldapp.accounts.models import Organization
    from fieldapp.cases.models import CaseFlag, CaseGroup

    sharing = sa.select(Organization.id).where(Organization.shares_statistics.is_(True))
    if rows == "flag":
        stmt = sa.select(CaseFlag.code, sa.func.count()).where(
            CaseFlag.active.is_(True), CaseFlag.dismissed_at.is_(None),
            CaseFlag.organization_id.in_(sharing)).group_by(CaseFlag.code)
    elif rows == "group":
        stmt = sa.select(CaseGroup.code, sa.func.count()).where(
            CaseGroup.organization_id.in_(sharing)).group_by(CaseGroup.code)
    else:
        column = {"country": Case.country_code, "nationality": Case.nationality,
                  "month": Case.registered_month, "stage": Case.stage}[rows]
        stmt = sa.select(column, sa.func.count()).where(
            Case.organization_id.in_(sharing)).group_by(column)
    return dict(db.session.execute(stmt).all())
