"""Statistical disclosure control for a two-way table with row, column and grand totals.

Pure functions, no Flask, no database. Counts from 1 to k-1 are suppressed (primary
suppression); more entries are suppressed until no linear combination of what is
published determines any suppressed entry (complementary suppression, checked exactly
with rational arithmetic). Zero stays zero: it is published, and never used to hide.
Totals are the sums of their cells, so the table's own arithmetic is what an attacker
would use, and what the check solves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

Entry = tuple  # ("c", i, j) cell, ("r", i) row total, ("k", j) column total, ("t",) total


@dataclass
class Table:
    cells: list[list[int]]
    hidden: set[Entry] = field(default_factory=set)

    @property
    def rows(self) -> int:
        return len(self.cells)

    @property
    def cols(self) -> int:
        return len(self.cells[0]) if self.cells else 0

    def row_total(self, i: int) -> int:
        return sum(self.cells[i])

    def col_total(self, j: int) -> int:
        return sum(row[j] for row in self.cells)

    @property
    def total(self) -> int:
        return sum(map(sum, self.cells))

    def value(self, e: Entry) -> int:
        if e[0] == "c":
            return self.cells[e[1]][e[2]]
        if e[0] == "r":
            return self.row_total(e[1])
        if e[0] == "k":
            return self.col_total(e[1])
        return self.total

    def entries(self) -> list[Entry]:
        out: list[Entry] = [("c", i, j) for i in range(self.rows) for j in range(self.cols)]
        out += [("r", i) for i in range(self.rows)] + [("k", j) for j in range(self.cols)]
        return out + [("t",)]

    def lines(self) -> list[list[Entry]]:
        """Each line is a set of entries whose first members sum to its last (a total)."""
        out = [[("c", i, j) for j in range(self.cols)] + [("r", i)] for i in range(self.rows)]
        out += [[("c", i, j) for i in range(self.rows)] + [("k", j)] for j in range(self.cols)]
        out.append([("r", i) for i in range(self.rows)] + [("t",)])
        out.append([("k", j) for j in range(self.cols)] + [("t",)])
        return out


def protect(cells: list[list[int]], k: int, *, also_hide: set[Entry] | None = None) -> Table:
    """Return the table with the set of entries that must not be published."""
    if k < 2:
        raise ValueError("k must be at least 2")
    table = Table([list(map(int, row)) for row in cells])
    if table.rows == 0 or table.cols == 0:
        return table
    table.hidden = {e for e in table.entries() if 0 < table.value(e) < k}
    table.hidden |= {e for e in (also_hide or set()) if table.value(e) > 0}
    while True:
        if _hide_lonely(table):
            continue
        if _hide_determined(table):
            continue
        return table


def _candidates(table: Table, line: list[Entry]) -> list[Entry]:
    free = [e for e in line if e not in table.hidden and table.value(e) > 0]
    # Prefer the smallest cell (least information lost), totals last.
    return sorted(free, key=lambda e: (e[0] != "c", table.value(e)))


def _hide_lonely(table: Table) -> bool:
    """A line with exactly one hidden entry gives it away by subtraction."""
    for line in table.lines():
        hidden = [e for e in line if e in table.hidden]
        if len(hidden) == 1:
            options = _candidates(table, line)
            if options:
                table.hidden.add(options[0])
                return True
    return False


def determined(table: Table) -> set[Entry]:
    """Hidden entries whose value follows from the published ones (exactly, over Q)."""
    unknowns = sorted(table.hidden)
    index = {e: n for n, e in enumerate(unknowns)}
    rows = []
    for line in table.lines():
        coeffs = [Fraction(0)] * len(unknowns)
        for n, e in enumerate(line):
            if e in index:
                coeffs[index[e]] += -1 if n == len(line) - 1 else 1
        if any(coeffs):
            rows.append(coeffs)
    basis = _rref(rows, len(unknowns))
    out = set()
    for e in unknowns:
        vec = [Fraction(0)] * len(unknowns)
        vec[index[e]] = Fraction(1)
        for pivot, row in basis:
            if vec[pivot]:
                factor = vec[pivot]
                vec = [a - factor * b for a, b in zip(vec, row, strict=True)]
        if not any(vec):
            out.add(e)
    return out


def _rref(rows: list[list[Fraction]], width: int) -> list[tuple[int, list[Fraction]]]:
    basis: list[tuple[int, list[Fraction]]] = []
    work = [r[:] for r in rows]
    col = 0
    r = 0
    while r < len(work) and col < width:
        pivot = next((i for i in range(r, len(work)) if work[i][col]), None)
        if pivot is None:
            col += 1
            continue
        work[r], work[pivot] = work[pivot], work[r]
        lead = work[r][col]
        work[r] = [a / lead for a in work[r]]
        for i in range(len(work)):
            if i != r and work[i][col]:
                factor = work[i][col]
                work[i] = [a - factor * b for a, b in zip(work[i], work[r], strict=True)]
        basis.append((col, work[r]))
        r += 1
        col += 1
    return basis


def _hide_determined(table: Table) -> bool:
    exposed = determined(table)
    if not exposed:
        return False
    target = min(exposed)
    for line in table.lines():
        if target in line:
            options = _candidates(table, line)
            if options:
                table.hidden.add(options[0])
                return True
    # Nothing left to hide next to it: hide the whole table rather than leak.
    table.hidden |= {e for e in table.entries() if table.value(e) > 0}
    return True
