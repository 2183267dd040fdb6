"""CSV and HXL-tagged CSV of a protected table: the same numbers as the JSON."""

from __future__ import annotations

import csv
import io
import re

from fieldapp.stats import dimensions
from fieldapp.stats.services import Result

SUPPRESSED = "suppressed"


def _attribute(value: object) -> str:
    text = re.sub(r"[^a-z0-9_]", "_", str(value).lower()).strip("_") or "none"
    return text if text[0].isalpha() else "v" + text


def to_csv(result: Result, *, hxl: bool = False) -> str:
    q = result.query
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    col_labels = [str(c) for c in result.cols] if q.cols else ["count"]
    writer.writerow([q.rows, *col_labels, "total"])
    if hxl:
        counts = [f"#affected+{_attribute(c)}" if q.cols else "#affected" for c in result.cols]
        writer.writerow([dimensions.HXL_TAGS[q.rows], *counts, "#affected+total"])

    def show(v: int | None) -> str:
        return SUPPRESSED if v is None else str(v)

    for i, row in enumerate(result.rows):
        writer.writerow(["" if row is None else row,
                         *(show(result.cell(i, j)) for j in range(len(result.cols))),
                         show(result.row_total(i))])
    writer.writerow(["total", *(show(result.col_total(j)) for j in range(len(result.cols))),
                     show(result.total if result.rows else 0)])
    return out.getvalue()
