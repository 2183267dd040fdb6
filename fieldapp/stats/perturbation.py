"""The cell key method: consistent, bounded noise on every published count.

As run by statistical offices in flexible table builders: the Australian Bureau of
Statistics' TableBuilder (Thompson, Broadfoot and Elazar, "Methodology for the
automatic confidentialisation of statistical outputs from remote servers at the
Australian Bureau of Statistics", UNECE work session on statistical data
confidentiality, 2013), the UK's Office for National Statistics for Census 2021, and
Destatis' generalisation (Giessing and Tent, UNECE SDC work session 2019; the R
packages `cellKey` and `ptable` of sdcTools).

- Every counted record carries a random record key, uniform below the modulus, fixed
  at creation and never shown (`fieldapp.db.new_record_key`).
- A cell's key is the sum of its records' keys modulo the modulus: the same set of
  people always has the same cell key, whatever query, filter or period produced it.
- A fixed perturbation table (`ptable.yaml`, data under version control) maps the
  cell key and the true count to a noise: zero-mean, at most `max_deviation` units.
- Counts from 1 to k-1 are never published (primary suppression: they are hidden);
  counts of k or more are published as at least k; zero stays zero.

So the same question always gets the same answer (averaging repeated queries learns
nothing), and subtracting two overlapping tables yields a difference plus noise that
is not known, rather than a person. Pure functions: no Flask, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from fieldapp.db import RECORD_KEY_MODULUS

PTABLE_PATH = Path(__file__).with_name("ptable.yaml")


class PerturbationTableError(ValueError):
    """The perturbation table file is inconsistent; statistics refuse to run with it."""


@dataclass(frozen=True)
class PerturbationTable:
    version: int
    modulus: int
    # rows[d]: ((noise, weight), ...) for a count d above k; the last row for all beyond.
    rows: tuple[tuple[tuple[int, int], ...], ...]

    @property
    def max_deviation(self) -> int:
        return max(abs(v) for row in self.rows for v, _w in row)

    def row(self, count: int, k: int) -> tuple[tuple[int, int], ...]:
        return self.rows[min(count - k, len(self.rows) - 1)]

    def noise(self, count: int, cell_key: int, k: int) -> int:
        """The noise for a count of k or more with this cell key (0 <= cell_key < modulus)."""
        row = self.row(count, k)
        total = sum(w for _v, w in row)
        position = cell_key * total // self.modulus  # uniform in [0, total)
        for value, weight in row:
            if position < weight:
                return value
            position -= weight
        raise AssertionError("unreachable: position below the sum of the weights")

    def distribution(self, count: int, k: int) -> dict[int, float]:
        """What a count of k or more may be published as, with its probability."""
        if count < k:
            return {}
        row = self.row(count, k)
        total = sum(w for _v, w in row)
        return {count + v: w / total for v, w in row}


def publish(count: int, key_sum: int, k: int, table: PerturbationTable | None = None) \
        -> int | None:
    """The published value of a cell: None when hidden (1..k-1), else perturbed."""
    if count <= 0:
        return 0
    if count < k:
        return None
    table = table or perturbation_table()
    return count + table.noise(count, key_sum % table.modulus, k)


def load(path: Path) -> PerturbationTable:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        version, modulus = int(data["version"]), int(data["modulus"])
        rows = tuple(tuple(sorted((int(v), int(w)) for v, w in row.items()))
                     for row in data["rows"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PerturbationTableError(f"{path}: malformed ({exc})") from None
    if modulus != RECORD_KEY_MODULUS:
        raise PerturbationTableError(
            f"{path}: modulus {modulus} is not the record keys' range {RECORD_KEY_MODULUS}")
    if not rows:
        raise PerturbationTableError(f"{path}: no rows")
    for d, row in enumerate(rows):
        weights = dict(row)
        if any(w <= 0 for w in weights.values()):
            raise PerturbationTableError(f"{path}: row {d} has a weight that is not positive")
        if any(weights.get(-v) != w for v, w in weights.items()):
            raise PerturbationTableError(f"{path}: row {d} is not symmetric (zero mean)")
        if min(weights) < -d:
            raise PerturbationTableError(f"{path}: row {d} could publish a count below k")
    return PerturbationTable(version=version, modulus=modulus, rows=rows)


@lru_cache(maxsize=1)
def perturbation_table() -> PerturbationTable:
    return load(PTABLE_PATH)
