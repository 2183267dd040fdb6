"""The cell key method: the perturbation table's design, utility and safety.

Replaces tests/stats/test_suppression.py (cascading suppression, removed). Where its
properties went:
- "small counts are suppressed, zero stays" and "k boundaries": here
  (test_small_counts_are_never_published, test_zero_stays_zero, test_k_boundary).
- "a small cell also hides a complement" and "nothing left determined": complementary
  suppression is gone; the attacks below show that the table's arithmetic and
  differences between tables give noise, not a count (test_differencing_every_...,
  test_combined_differencing_...).
- "totals are suppressed too": totals are published cells of their own
  (test_stats.py, test_small_counts_are_hidden_and_never_published).
"""

from __future__ import annotations

import functools
import itertools
import math
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
    PTABLE_PATH,
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


def _allowed_one_pair(n: int, k: int) -> float:
    """The success rate of the best attacker on one pair (a set of n >= k people
    published, the same set plus c people in 1..k-1 published), who even knows n: for
    every pair of published values the most likely c, over a uniform c."""
    outcomes: dict[tuple, dict[int, float]] = {}
    for c in range(1, k):
        for s, ps in PT.distribution(n, k).items():
            for b, pb in PT.distribution(n + c, k).items():
                outcomes.setdefault((s, b), {})[c] = ps * pb
    return sum(max(likelihood.values()) for likelihood in outcomes.values()) / (k - 1)


@functools.cache
def _guess(big: int, small: int, k: int) -> int:
    return _posterior_guess([(big, small)], k)


def _expected_hit(n: int, c: int, k: int) -> float:
    """How often the attacker's guess from one pair would be c if the two published
    numbers had the perturbation table's noise with independent cell keys (a set of n,
    the same set plus c): what guessing from the table gives, nothing more."""
    return sum(ps * pb for s, ps in PT.distribution(n, k).items()
               for b, pb in PT.distribution(n + c, k).items() if _guess(b, s, k) == c)


MONTHS = ["2025-01", "2025-02", "2025-03"]  # complete months; the last one is small
FILTERS = {"site": ["CO-NSA-CUCUTA", "CO-LAG-PARAGUACHON", "EC-C-TULCAN"],
           "stage": ["border", "transit", "host_community"], "sex": ["female", "male"]}


def test_differencing_every_overlapping_period_pair_through_the_real_queries(app, make,
                                                                             register):
    """Synthetic populations in the database: January and February of about 20 people
    each, March of c people (1..k-1, hidden). For every population the attacker asks the
    real query path (services.table) every period range, with no filter and with every
    single filter (site, stage, sex), and subtracts every pair of overlapping ranges that
    differ by March only ([a..Mar] - [a..Feb]). Each pair on its own, with the
    Bayes-optimal guess, recovers the exact small count (of the whole month or of its
    filtered part) no more often than the perturbation table allows for that pair: the
    implementation leaks nothing beyond the table's design (each published number uses
    its own set's cell key, whatever the path)."""
    k = 5
    rng = random.Random(10)
    worker = make.user(Role.FIELD_WORKER, org=make.org("Sharing NGO"))
    supervisor = make.user(Role.SUPERVISOR)
    for i in range(44):
        register(worker, given_name=f"Persona {i}", document=None,
                 date_of_birth="1990-01-01", location_code=FILTERS["site"][i % 3],
                 stage=FILTERS["stage"][(i // 3) % 3], sex=FILTERS["sex"][i % 2])
    people = list(db.session.execute(sa.select(Case.id, Case.location_code, Case.stage,
                                                Case.sex).order_by(Case.id)))
    fixed, floating = people[:40], people[40:]  # the floating four: February or March
    hits = tried = 0
    expected = best_possible = 0.0
    for _trial in range(60):
        c = rng.randint(1, k - 1)
        months = {p.id: MONTHS[i % 2] for i, p in enumerate(fixed)}
        months.update({p.id: MONTHS[2] if i < c else MONTHS[1]
                       for i, p in enumerate(floating)})
        cases = Case.__table__
        db.session.execute(
            sa.update(cases).where(cases.c.id == sa.bindparam("pid"))
            .values(registered_month=sa.bindparam("month"), record_key=sa.bindparam("key")),
            [{"pid": p.id, "month": months[p.id], "key": rng.randrange(RECORD_KEY_MODULUS)}
             for p in people])
        db.session.commit()
        in_march = [p for p in floating if months[p.id] == MONTHS[2]]
        settings = [({}, len(in_march))] + [
            ({dim: value}, sum(1 for p in in_march
                               if {"site": p.location_code, "stage": p.stage,
                                   "sex": p.sex}[dim] == value))
            for dim, values in FILTERS.items() for value in values]
        for filters, small_count in settings:
            for start in MONTHS[:2]:
                def total(to: str, filters=filters, start=start) -> int | None:
                    query = stats.parse_query({"rows": "month", "from": start, "to": to,
                                               **filters})
                    return stats.table(supervisor, query).total
                big, small = total(MONTHS[2]), total(MONTHS[1])
                if small_count == 0:
                    assert big == small  # the same people: the same number
                    continue
                if big is None or small is None:
                    continue
                smaller_set = sum(1 for p in people if months[p.id] >= start
                                  and months[p.id] <= MONTHS[1]
                                  and all({"site": p.location_code, "stage": p.stage,
                                           "sex": p.sex}[d] == v for d, v in filters.items()))
                tried += 1
                hits += _guess(big, small, k) == small_count
                expected += _expected_hit(smaller_set, small_count, k)
                best_possible = max(best_possible, _allowed_one_pair(smaller_set, k))
    rate, bound = hits / tried, expected / tried
    print(f"k={k}: {tried} pairs through services.table; one pair recovered the exact "
          f"small count {rate:.3f} of the time; guessing from the perturbation table "
          f"{bound:.3f}; the best attacker on one pair, knowing the other set's size, at "
          f"most {best_possible:.3f}")
    sigma = (bound * (1 - bound) / tried) ** 0.5
    assert tried > 300
    assert rate <= bound + 4 * sigma
    assert best_possible < 0.75  # one pair never comes close to certainty


# What the combined attack recovers (tests/stats/test_cell_key.py, 3000 synthetic small
# groups per point; quoted in the README's "Statistics"): pairs -> share recovered exactly.
COMBINED = {5: {1: 0.37, 2: 0.44, 4: 0.51, 8: 0.61, 16: 0.72, 32: 0.83},
            10: {1: 0.26, 2: 0.33, 4: 0.42, 8: 0.52, 16: 0.67, 32: 0.78}}


def _combined_attack(k: int, pairs: int, trials: int, seed: int) -> float:
    """A small group of c people (1..k-1) hidden in `pairs` different overlapping pairs
    (each a set of 20 other people with and without them, as period ranges times
    filters give an attacker); the Bayes-optimal guess from all the differences."""
    rng = random.Random(seed)
    base = {v - 20: p for v, p in PT.distribution(20, k).items()}
    diff: Counter = Counter()
    for a, pa in base.items():
        for b, pb in base.items():
            diff[a - b] += pa * pb
    hits = 0
    for _ in range(trials):
        c = rng.randint(1, k - 1)
        group = sum(_keys(rng, c))
        observed = []
        for _pair in range(pairs):
            other = sum(_keys(rng, 20))
            observed.append(publish(20 + c, other + group, k, PT) - publish(20, other, k, PT))
        best = max(range(1, k), key=lambda cc: sum(
            math.log(diff.get(d - cc, 1e-300)) for d in observed))
        hits += best == c
    return hits / trials


@pytest.mark.parametrize("k", [5, 10])
def test_combined_differencing_grows_with_the_number_of_pairs(k):
    """The residual risk, measured (README "Statistics"): every pair gives the small
    count plus fresh noise, so an attacker who finds many different pairs around the
    same small group (many filters, many period ranges) averages the noise away. One
    pair is what the table allows; the rate grows with the pairs, as stated in the
    README. The cell key method bounds one comparison, not an unlimited number of them."""
    rates = {pairs: _combined_attack(k, pairs, trials=3000, seed=pairs)
             for pairs in COMBINED[k]}
    print(f"k={k}: exact recovery by number of pairs", rates)
    assert rates[1] <= _theoretical_success(k, pairs=1) + 0.03
    assert abs(rates[2] - _theoretical_success(k, pairs=2)) <= 0.03
    for pairs, rate in rates.items():
        assert abs(rate - COMBINED[k][pairs]) <= 0.03, (pairs, rate)
    assert list(rates.values()) == sorted(rates.values())


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


# -- the perturbation table is versioned ------------------------------------------------------

# Every version of ptable.yaml ever published, by the fingerprint of what changes figures
# (its rows and its modulus). A change to either without a new `version` fails here; a new
# version adds its line here and to the README's "Perturbation table versions".
PTABLE_VERSIONS = {
    1: "6207710b5238d23f5d6454af1a06676001bd60044e2648f2fc8074a4d0bf236a",
}
README = Path(__file__).resolve().parents[2] / "README.md"


def _fingerprint(table) -> str:
    import hashlib
    import json

    content = {"modulus": table.modulus, "rows": [[list(pair) for pair in row]
                                                  for row in table.rows]}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def test_the_perturbation_table_matches_its_version():
    assert PTABLE_VERSIONS.get(PT.version) == _fingerprint(PT), (
        "ptable.yaml changed: raise its `version`, add the new fingerprint to "
        "PTABLE_VERSIONS and a line to the README's \"Perturbation table versions\"")
    assert PT.version == max(PTABLE_VERSIONS)


def test_a_changed_table_without_a_new_version_is_caught(tmp_path: Path):
    changed = PTABLE_PATH.read_text(encoding="utf-8").replace(
        "{-3: 1, -2: 2, -1: 3, 0: 3, 1: 3, 2: 2, 3: 1}",
        "{-3: 1, -2: 3, -1: 3, 0: 3, 1: 3, 2: 3, 3: 1}")
    path = tmp_path / "ptable.yaml"
    path.write_text(changed, encoding="utf-8")
    table = load(path)
    assert table.version == PT.version and _fingerprint(table) != PTABLE_VERSIONS[PT.version]


def test_the_readme_states_the_table_as_it_is():
    """The README's "Statistics" gives the maximum deviation and lists every version,
    the current one included; README and ptable.yaml send a change to the same place."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Statistics\n", 1)[1].split("\n## ", 1)[0]
    assert f"at most ±{PT.max_deviation} " in section
    history = section.split("Perturbation table versions", 1)[1]
    for version in PTABLE_VERSIONS:
        assert f"\n- **{version}**" in history, version
    assert "Perturbation table versions" in PTABLE_PATH.read_text(encoding="utf-8")
