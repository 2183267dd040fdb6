"""Disclosure control, checked independently: numpy ranks the published equations."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.stats.suppression import Table, protect


def _independently_determined(table: Table) -> set:
    """Hidden entries whose value follows linearly from everything published."""
    hidden = sorted(table.hidden)
    if not hidden:
        return set()
    index = {e: n for n, e in enumerate(hidden)}
    rows = []
    for line in table.lines():
        coeffs = np.zeros(len(hidden))
        for n, e in enumerate(line):
            if e in index:
                coeffs[index[e]] += -1 if n == len(line) - 1 else 1
        rows.append(coeffs)
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = set()
    for e in hidden:
        unit = np.zeros(len(hidden))
        unit[index[e]] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.add(e)
    return out


def test_small_counts_are_suppressed_zero_stays():
    t = protect([[0, 3, 12], [7, 0, 9]], 5)
    assert ("c", 0, 1) in t.hidden
    assert ("c", 0, 0) not in t.hidden and ("c", 1, 1) not in t.hidden  # zeros published
    assert all(t.value(e) > 0 for e in t.hidden)


def test_one_small_cell_in_a_row_also_hides_a_complement():
    t = protect([[20, 2, 30], [40, 25, 50], [10, 12, 14]], 5)
    row0 = [e for e in t.hidden if e[0] == "c" and e[1] == 0]
    col1 = [e for e in t.hidden if e[0] == "c" and e[2] == 1]
    assert len(row0) >= 2 and len(col1) >= 2
    assert _independently_determined(t) == set()


def test_totals_are_suppressed_too():
    t = protect([[1, 2], [0, 1]], 5)
    assert ("t",) in t.hidden and ("r", 0) in t.hidden
    assert _independently_determined(t) == set()


@pytest.mark.parametrize("k", [3, 5, 10])
def test_k_boundaries(k):
    t = protect([[k - 1, k, 100], [k, 100, 100], [100, 100, k + 1]], k)
    assert ("c", 0, 0) in t.hidden
    assert ("c", 0, 1) not in t.hidden or _independently_determined(t) == set()


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=6),
       st.integers(min_value=0, max_value=2**31), st.sampled_from([3, 5, 10]))
def test_random_tables_leave_nothing_determined(rows, cols, seed, k):
    rng = random.Random(seed)
    cells = [[rng.choice([0, 0, 1, 2, 3, 4, 6, 9, 15, 40]) for _ in range(cols)]
             for _ in range(rows)]
    t = protect(cells, k)
    for e in t.entries():
        if 0 < t.value(e) < k:
            assert e in t.hidden
    assert _independently_determined(t) == set()
