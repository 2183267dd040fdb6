"""Statistics computed in the database (GROUP BY over clear columns), then protected.

Only counts leave this module, never rows. Erased cases still count: their clear
fields remain. Network-wide figures include only organizations that share statistics.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from fieldapp import clock
from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.cases.models import Case, CaseFlag, CaseGroup
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import db
from fieldapp.referrals.models import Referral, RoutingRule, Service, ServiceLocation
from fieldapp.stats import dimensions
from fieldapp.stats.suppression import Entry, protect


@dataclass
class Query:
    rows: str
    cols: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    month_from: str | None = None
    month_to: str | None = None


def parse_query(args: dict[str, Any]) -> Query:
    """From request arguments (?rows=&cols=&<dim>=&from=&to=); unknown values are refused."""
    errors: dict[str, list[Any]] = {}
    rows = args.get("rows") or ""
    cols = args.get("cols") or None
    if rows not in dimensions.DIMENSIONS:
        errors["rows"] = [_l("Not one of the allowed values.")]
    if cols is not None and (cols not in dimensions.DIMENSIONS or cols == rows):
        errors["cols"] = [_l("Not one of the allowed values.")]
    filters = {}
    for dim in dimensions.DIMENSIONS:
        value = args.get(dim)
        if value:
            if dim in (rows, cols) or not dimensions.valid_value(dim, value):
                errors[dim] = [_l("Not one of the allowed values.")]
            else:
                filters[dim] = value
    bounds = {}
    for key in ("from", "to"):
        value = args.get(key)
        if value:
            if not dimensions.MONTH_RE.match(value):
                errors[key] = [_l("Use a month like 2026-03.")]
            bounds[key] = value
    if errors:
        raise ValidationFailed(_l("Some fields need attention."), fields=errors)
    return Query(rows=rows, cols=cols, filters=filters, month_from=bounds.get("from"),
                 month_to=bounds.get("to"))


def scope_of(user: User) -> tuple[str, uuid.UUID | None]:
    """Supervisors see the network (sharing organizations); case managers their own."""
    if user.has_role(Role.SUPERVISOR):
        return "network", None
    return "organization", user.organization_id


def k_for(query: Query) -> int:
    k = max(3, int(current_app.config.get("STATS_K", 5)))
    dims = {query.rows, query.cols}
    if dims & {"flag", "unmet_need"} or \
            query.filters.get("flag") in dimensions.SENSITIVE_FLAGS or \
            query.filters.get("unmet_need") in dimensions.SENSITIVE_FLAGS:
        return max(k, 10)
    return k


# -- the SQL ----------------------------------------------------------------------------

def _counting_flags() -> Any:
    # Spelled exactly as the partial index ix_case_flags_counting is, so it is used.
    return sa.and_(CaseFlag.active == sa.true(), CaseFlag.dismissed_at.is_(None))


def _unmet() -> Any:
    """A counting flag for which no active, non-full service of a routed type covers
    the case's place (eligibility by age and sex aside)."""
    covered = (
        sa.select(sa.literal(1))
        .select_from(RoutingRule)
        .join(Service, sa.and_(Service.type == RoutingRule.service_type,
                               Service.active.is_(True), Service.capacity != "full"))
        .join(ServiceLocation, ServiceLocation.service_id == Service.id)
        .where(RoutingRule.flag_code == CaseFlag.code,
               ServiceLocation.location_code.in_([Case.location_code, Case.division_code,
                                                  Case.country_code]))
    )
    return ~sa.exists(covered)


def _statement(query: Query, filters: dict[str, str], organization_id: uuid.UUID) -> sa.Select:
    """The grouped count for one organization (an equality the indexes are ordered by)."""
    dims = [d for d in (query.rows, query.cols) if d]
    if "month" not in dims:
        dims.append("month")  # the month component of every count (see `table`)
    used = set(dims) | set(filters)
    by_referral = bool(used & dimensions.REFERRAL_DIMS)
    flag_dim = "flag" in used or "unmet_need" in used
    group_dim = "group" in used
    case_fields = used - {"flag", "group", "referral_status", "service_type", "month", "site"}
    # Fast path: flags or groups grouped by their own copied columns, no join to cases.
    shortcut = (not by_referral and flag_dim != group_dim and not case_fields
                and "unmet_need" not in used)
    if shortcut:
        base = CaseFlag if flag_dim else CaseGroup
        columns = {"flag": CaseFlag.code, "group": CaseGroup.code,
                   "month": base.registered_month, "site": base.location_code}
        stmt = sa.select(*(columns[d].label(d) for d in dims), sa.func.count().label("n"))
        stmt = stmt.select_from(base)
        if flag_dim:
            stmt = stmt.where(_counting_flags())
        org_column = base.organization_id
        month_column = base.registered_month
    else:
        columns = {
            "month": Case.registered_month, "country": Case.country_code,
            "division": Case.division_code, "site": Case.location_code, "stage": Case.stage,
            "sex": Case.sex, "age_band": Case.age_band, "nationality": Case.nationality,
            "group": CaseGroup.code, "flag": CaseFlag.code, "unmet_need": CaseFlag.code,
            "referral_status": Referral.status, "service_type": Referral.service_type,
        }
        # People, not referrals: one person referred five times is one person.
        counted = sa.func.count(sa.distinct(Case.id)) if by_referral else sa.func.count()
        stmt = sa.select(*(columns[d].label(d) for d in dims), counted.label("n"))
        if by_referral:
            stmt = stmt.select_from(Referral).join(Case, Case.id == Referral.case_id)
        else:
            stmt = stmt.select_from(Case)
        if flag_dim:
            stmt = stmt.join(CaseFlag, sa.and_(CaseFlag.case_id == Case.id, _counting_flags()))
            if "unmet_need" in used:
                stmt = stmt.where(_unmet())
        if group_dim:
            stmt = stmt.join(CaseGroup, CaseGroup.case_id == Case.id)
        org_column = Case.organization_id
        month_column = Case.registered_month
    stmt = stmt.where(org_column == organization_id)
    for dim, value in filters.items():
        stmt = stmt.where(columns[dim] == value)
    if query.month_from:
        stmt = stmt.where(month_column >= query.month_from)
    if query.month_to:
        stmt = stmt.where(month_column <= query.month_to)
    if dims:
        stmt = stmt.group_by(*(columns[d] for d in dims))
    return stmt


def _components(user: User, query: Query,
                filters: dict[str, str]) -> dict[tuple, dict[str, int]]:
    """(row, col) -> {month: count}: every count split by the month it belongs to.

    One grouped query per organization in scope (a handful), summed here: each query
    reads its organization's slice of an index in order, with no sort.
    """
    dims = [d for d in (query.rows, query.cols) if d]
    month_at = dims.index("month") if "month" in dims else len(dims)
    out: dict[tuple, dict[str, int]] = {}
    for organization_id in organizations_in_scope(user):
        for row in db.session.execute(_statement(query, filters, organization_id)):
            key = (row[0], row[1]) if query.cols else (row[0], "count")
            months = out.setdefault(key, {})
            months[row[month_at]] = months.get(row[month_at], 0) + int(row[-1])
    return out


def organizations_in_scope(user: User) -> list[uuid.UUID]:
    mode, org_id = scope_of(user)
    if mode == "organization":
        return [org_id]
    return list(db.session.scalars(sa.select(Organization.id).where(
        Organization.shares_statistics.is_(True)).order_by(Organization.id)))


def _counts(user: User, query: Query, filters: dict[str, str]) -> dict[tuple, int]:
    return {key: sum(parts.values()) for key, parts in
            _components(user, query, filters).items()}


@dataclass
class Result:
    query: Query
    k: int
    rows: list[Any]
    cols: list[Any]
    cells: list[list[int]]
    hidden: set[Entry]

    @property
    def suppressed(self) -> int:
        return len(self.hidden)

    def cell(self, i: int, j: int) -> int | None:
        return None if ("c", i, j) in self.hidden else self.cells[i][j]

    def row_total(self, i: int) -> int | None:
        return None if ("r", i) in self.hidden else sum(self.cells[i])

    def col_total(self, j: int) -> int | None:
        return None if ("k", j) in self.hidden else sum(r[j] for r in self.cells)

    @property
    def total(self) -> int | None:
        return None if ("t",) in self.hidden else sum(map(sum, self.cells))


def _grid(counts: dict[tuple, int], rows: list, cols: list) -> list[list[int]]:
    return [[counts.get((r, c), 0) for c in cols] for r in rows]


def table(user: User, query: Query, *, channel: str = "web") -> Result:
    """The protected table, audited (who asked for which table, never the numbers)."""
    k = k_for(query)
    parts = _components(user, query, query.filters)
    counts = {key: sum(p.values()) for key, p in parts.items()}
    # Differencing: for each filter, the same table without it. A filtered entry whose
    # difference from its unfiltered counterpart is 1..k-1 would expose that many people
    # to anyone who asks both questions: it is suppressed.
    parents = [_counts(user, query, {d: v for d, v in query.filters.items() if d != dim})
               for dim in query.filters]
    # Compared on the labels of both tables (totals must match the unfiltered ones);
    # labels only the unfiltered twin has are all-zero rows here, dropped at the end.
    keys = set(counts).union(*parents) if parents else set(counts)
    rows = sorted({key[0] for key in keys}, key=_sort_key)
    cols = sorted({key[1] for key in keys}, key=_sort_key) if query.cols else ["count"]
    cells = _grid(counts, rows, cols)
    also_hide: set[Entry] = set()
    for parent in parents:
        pgrid = _grid(parent, rows, cols)
        for e, mine, theirs in _entries(cells, pgrid):
            if 0 < theirs - mine < k:
                also_hide.add(e)
    # Periods: any count of 1..k-1 in a single month is kept out of every published
    # number that includes it, so that no two periods (from/to) can be subtracted to
    # reveal it. Cells, row, column and grand totals are checked month by month.
    also_hide |= _small_months(parts, rows, cols, k)
    protected = protect(cells, k, also_hide=also_hide) if rows else None
    result = _without_absent(Result(query, k, rows, cols, cells,
                                    protected.hidden if protected else set()), counts)
    audit.record("stats.queried", actor=user, object_type="statistics",
                 details={"rows": query.rows, "cols": query.cols,
                          "filters": sorted(query.filters), "channel": channel,
                          "from": query.month_from, "to": query.month_to})
    return result


def _without_absent(result: Result, counts: dict[tuple, int]) -> Result:
    """Drop rows and columns this table has no count for: all zeros, published as such,
    so leaving them out publishes nothing different."""
    present_rows = {key[0] for key in counts}
    present_cols = {key[1] for key in counts}
    keep_r = [i for i, r in enumerate(result.rows) if r in present_rows]
    keep_c = [j for j, c in enumerate(result.cols) if c in present_cols] \
        if result.query.cols else list(range(len(result.cols)))
    new_r = {old: new for new, old in enumerate(keep_r)}
    new_c = {old: new for new, old in enumerate(keep_c)}
    hidden: set[Entry] = set()
    for e in result.hidden:
        if e[0] == "c" and e[1] in new_r and e[2] in new_c:
            hidden.add(("c", new_r[e[1]], new_c[e[2]]))
        elif e[0] == "r" and e[1] in new_r:
            hidden.add(("r", new_r[e[1]]))
        elif e[0] == "k" and e[1] in new_c:
            hidden.add(("k", new_c[e[1]]))
        elif e[0] == "t":
            hidden.add(e)
    return Result(result.query, result.k, [result.rows[i] for i in keep_r],
                  [result.cols[j] for j in keep_c],
                  [[result.cells[i][j] for j in keep_c] for i in keep_r], hidden)


def _small_months(parts: dict[tuple, dict[str, int]], rows: list, cols: list,
                  k: int) -> set[Entry]:
    def small(values: dict[str, int]) -> bool:
        return any(0 < v < k for v in values.values())

    def add(into: dict[str, int], more: dict[str, int]) -> None:
        for month, v in more.items():
            into[month] = into.get(month, 0) + v

    hide: set[Entry] = set()
    row_parts: list[dict[str, int]] = [{} for _ in rows]
    col_parts: list[dict[str, int]] = [{} for _ in cols]
    all_parts: dict[str, int] = {}
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            cell = parts.get((r, c), {})
            if small(cell):
                hide.add(("c", i, j))
            add(row_parts[i], cell)
            add(col_parts[j], cell)
            add(all_parts, cell)
    hide |= {("r", i) for i, p in enumerate(row_parts) if small(p)}
    hide |= {("k", j) for j, p in enumerate(col_parts) if small(p)}
    if small(all_parts):
        hide.add(("t",))
    return hide


def _entries(a: list[list[int]], b: list[list[int]]):
    for i, row in enumerate(a):
        for j, v in enumerate(row):
            yield ("c", i, j), v, b[i][j]
        yield ("r", i), sum(row), sum(b[i])
    for j in range(len(a[0]) if a else 0):
        yield ("k", j), sum(r[j] for r in a), sum(r[j] for r in b)
    yield ("t",), sum(map(sum, a)), sum(map(sum, b))


def _sort_key(value: Any) -> tuple:
    return (value is None, str(value))


def to_json(result: Result) -> dict[str, Any]:
    def cell(v: int | None) -> dict[str, Any]:
        return {"suppressed": True} if v is None else {"count": v}

    q = result.query
    return {
        "k": result.k,
        "rows_dimension": q.rows, "cols_dimension": q.cols,
        "rows": result.rows, "cols": result.cols if q.cols else [],
        "row_labels": [dimensions.label(q.rows, r) for r in result.rows],
        "col_labels": [dimensions.label(q.cols, c) for c in result.cols] if q.cols else [],
        "cells": [[cell(result.cell(i, j)) for j in range(len(result.cols))]
                  for i in range(len(result.rows))],
        "row_totals": [cell(result.row_total(i)) for i in range(len(result.rows))],
        "col_totals": [cell(result.col_total(j)) for j in range(len(result.cols))]
        if q.cols else [],
        "total": cell(result.total if result.rows else 0),
        "suppressed": result.suppressed,
        "filters": q.filters, "from": q.month_from, "to": q.month_to,
    }


# -- referral performance --------------------------------------------------------------

DEADLINE_SECONDS = sa.case({"urgent": 86400, "high": 259200}, value=Referral.urgency,
                           else_=604800)


def referral_performance(user: User, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """By service type and month: referrals, median hours to acknowledgement, share
    acknowledged on time, share overdue. Groups of fewer than k referrals are hidden."""
    now = now or clock.now()
    k = max(3, int(current_app.config.get("STATS_K", 5)))
    mode, org_id = scope_of(user)
    if mode == "network":
        scope = Referral.sending_org_id.in_(sa.select(Organization.id).where(
            Organization.shares_statistics.is_(True)))
    else:
        scope = Referral.sending_org_id == org_id
    totals = db.session.execute(
        sa.select(Referral.service_type, Referral.created_month, sa.func.count(),
                  sa.func.sum(sa.case((Referral.ack_seconds <= DEADLINE_SECONDS, 1), else_=0)),
                  sa.func.sum(sa.case((sa.and_(Referral.status == "sent",
                                               Referral.due_at <= now), 1), else_=0)))
        .where(scope).group_by(Referral.service_type, Referral.created_month)).all()
    ranked = (
        sa.select(Referral.service_type.label("st"), Referral.created_month.label("m"),
                  Referral.ack_seconds.label("s"),
                  sa.func.row_number().over(
                      partition_by=(Referral.service_type, Referral.created_month),
                      order_by=Referral.ack_seconds).label("rn"),
                  sa.func.count().over(
                      partition_by=(Referral.service_type, Referral.created_month)).label("n"))
        .where(scope, Referral.ack_seconds.is_not(None)).subquery())
    medians = {(st, m): float(v) for st, m, v in db.session.execute(
        sa.select(ranked.c.st, ranked.c.m, sa.func.avg(ranked.c.s))
        .where(ranked.c.rn.in_([(ranked.c.n + 1) / 2, (ranked.c.n + 2) / 2]))
        .group_by(ranked.c.st, ranked.c.m))}
    out = []
    for service_type, month, n, on_time, overdue in sorted(totals, key=lambda r: (r[0], r[1])):
        hidden = n < k
        median = medians.get((service_type, month))
        out.append({
            "service_type": service_type, "month": month,
            "referrals": None if hidden else n,
            "median_hours_to_acknowledge": None if hidden or median is None
            else round(median / 3600, 1),
            "share_on_time": None if hidden else round((on_time or 0) / n, 3),
            "share_overdue": None if hidden else round((overdue or 0) / n, 3),
            "suppressed": hidden,
        })
    audit.record("stats.queried", actor=user, object_type="statistics",
                 details={"table": "referral_performance"})
    return out
