"""A protected table as published: the page's table, the CSV and the HXL-tagged CSV
hold the same numbers, with names and headers in the language of the request."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from flask_babel import gettext as _

from fieldapp.stats import dimensions
from fieldapp.stats.services import Result

# Dimensions read in their own order (time, age); the others by name.
ORDERED = {"month", "age_band"}
# A spreadsheet would run a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Line:
    """One row of the published table: its name, its code and its values (None: hidden)."""

    label: str
    code: str
    values: list[int | None]


@dataclass(frozen=True)
class Published:
    rows_title: str
    columns: list[tuple[str, str]]  # (name, code) of each value column; the last: total
    lines: list[Line]
    total: Line

    @property
    def hidden(self) -> int:
        """Hidden values, exactly as many as the table shows hidden."""
        return sum(v is None for line in [*self.lines, self.total] for v in line.values)


def published(result: Result) -> Published:
    """A one-way table shows one value per row (the row total is that value again); a
    two-way table shows its cells, the row and column totals and the grand total. Rows
    are sorted by name in the reader's language (months and ages in order, "(none)"
    last); columns keep one order in every language, so that a program reading the CSV
    finds them where it found them before."""
    q = result.query

    def code(value: object) -> str:
        return "" if value is None else str(value)

    total_label = _("Total")
    row_labels = dimensions.labels(q.rows, result.rows)
    if q.cols:
        columns = [(name, code(c)) for name, c in
                   zip(dimensions.labels(q.cols, result.cols), result.cols, strict=True)]
        columns.append((total_label, "total"))
        lines = [Line(row_labels[i], code(r),
                      [*(result.cell(i, j) for j in range(len(result.cols))),
                       result.row_total(i)]) for i, r in enumerate(result.rows)]
        total = Line(total_label, "", [*(result.col_total(j) for j in range(len(result.cols))),
                                       result.total])
    else:
        columns = [(total_label, "total")]
        lines = [Line(row_labels[i], code(r), [result.cell(i, 0)])
                 for i, r in enumerate(result.rows)]
        total = Line(total_label, "", [result.total])
    if q.rows not in ORDERED:
        lines.sort(key=lambda line: (not line.code, dimensions.collation_key(line.label)))
    return Published(str(dimensions.DIMENSIONS[q.rows]), columns, lines, total)


def _attribute(value: object) -> str:
    text = re.sub(r"[^a-z0-9_]", "_", str(value).lower()).strip("_") or "none"
    return text if text[0].isalpha() else "v" + text


def name_tag(dim: str) -> str:
    """The HXL hashtag of a column of names next to the column of codes."""
    tag = dimensions.HXL_TAGS[dim]
    return tag.replace("+code", "+name") if "+code" in tag else tag + "+name"


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def to_csv(result: Result, *, hxl: bool = False) -> str:
    """Header and names in the request's language, then the codes (stable for machines
    whatever the language), then the values; a hidden value is the word for hidden.
    The HXL variant adds its hashtag row under the header, in HXL's English tags."""
    q = result.query
    table = published(result)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    code_header = _("%(dimension)s (code)", dimension=table.rows_title)
    writer.writerow([table.rows_title, code_header, *(name for name, _c in table.columns)])
    if hxl:
        if q.cols:
            counts = [f"#affected+{_attribute(c)}" for c in result.cols] + ["#affected+total"]
        else:
            counts = ["#affected"]
        writer.writerow([name_tag(q.rows), dimensions.HXL_TAGS[q.rows], *counts])
    hidden = _("suppressed")

    def show(v: int | None) -> str:
        return hidden if v is None else str(v)

    for line in [*table.lines, table.total]:
        writer.writerow([_text(line.label), line.code, *(show(v) for v in line.values)])
    return out.getvalue()
