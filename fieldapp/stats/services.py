"""Statistics computed in the database (GROUP BY over clear columns), then protected.

Only counts leave this module, never rows. Erased cases still count: their clear
fields remain. Network-wide figures include only organizations that share statistics.
"""

from __future__ import annotations

import dataclasses
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
from fieldapp.stats import dimensions, totals
from fieldapp.stats.models import FlagTotal, GroupTotal
from fieldapp.stats.perturbation import perturbation_table, publish


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


def _stored_none(column: Any) -> Any:
    """A totals column as the base tables have it: NULL where the totals store '-'.
    Inlined, so that the select list and GROUP BY are the same expression."""
    return sa.func.nullif(column, sa.literal_column(f"'{totals.NONE}'"))


def _statement(query: Query, dims: list[str], filters: dict[str, str],
               organization_id: uuid.UUID, last_month: str) -> sa.Select:
    """Count and record-key sum grouped by `dims`, for one organization (an equality
    the indexes are ordered by), over complete months only: registered up to
    `last_month` (cases without a month, '' or '-', sort before every month and stay)."""
    used = set(dims) | set(filters) | {d for d in (query.rows, query.cols) if d}
    by_referral = bool(used & dimensions.REFERRAL_DIMS)
    flag_dim = "flag" in used or "unmet_need" in used
    group_dim = "group" in used
    case_fields = used - {"flag", "group", "referral_status", "service_type", "month", "site"}
    # Fast path: flags or groups by code, month and site, read from the running totals
    # the triggers keep (a few thousand rows), not from a million flags.
    shortcut = (not by_referral and flag_dim != group_dim and not case_fields
                and "unmet_need" not in used)
    if shortcut:
        total = FlagTotal if flag_dim else GroupTotal
        month_column = _stored_none(total.registered_month)
        columns = {"flag": total.code, "group": total.code, "month": month_column,
                   "site": _stored_none(total.location_code)}
        stmt = sa.select(*(columns[d].label(d) for d in dims), sa.func.sum(total.n).label("n"),
                         sa.func.sum(total.keys).label("keys")).select_from(total)
        org_column = total.organization_id
        stored_month = total.registered_month
    else:
        columns = {
            "month": Case.registered_month, "country": Case.country_code,
            "division": Case.division_code, "site": Case.location_code, "stage": Case.stage,
            "sex": Case.sex, "age_band": Case.age_band, "nationality": Case.nationality,
            "group": CaseGroup.code, "flag": CaseFlag.code, "unmet_need": CaseFlag.code,
            "referral_status": Referral.status, "service_type": Referral.service_type,
        }
        if by_referral:
            # People, not referrals: one person referred five times is one person, with
            # one record key.
            stmt = sa.select(*(columns[d].label(d) for d in dims), Case.id,
                             Case.record_key).distinct()
            stmt = stmt.select_from(Referral).join(Case, Case.id == Referral.case_id)
        else:
            stmt = sa.select(*(columns[d].label(d) for d in dims), sa.func.count().label("n"),
                             sa.func.sum(Case.record_key).label("keys")).select_from(Case)
        if flag_dim:
            stmt = stmt.join(CaseFlag, sa.and_(CaseFlag.case_id == Case.id, _counting_flags()))
            if "unmet_need" in used:
                stmt = stmt.where(_unmet())
        if group_dim:
            stmt = stmt.join(CaseGroup, CaseGroup.case_id == Case.id)
        org_column = Case.organization_id
        month_column = stored_month = Case.registered_month
    stmt = stmt.where(org_column == organization_id, stored_month <= last_month)
    for dim, value in filters.items():
        stmt = stmt.where(columns[dim] == value)
    if query.month_from:
        stmt = stmt.where(month_column >= query.month_from)
    if query.month_to:
        stmt = stmt.where(month_column <= query.month_to)
    if shortcut or not by_referral:
        return stmt.group_by(*(columns[d] for d in dims)) if dims else stmt
    people = stmt.subquery()
    outer = [people.c[d] for d in dims]
    stmt = sa.select(*outer, sa.func.count().label("n"),
                     sa.func.sum(people.c.record_key).label("keys")).select_from(people)
    return stmt.group_by(*outer) if outer else stmt


Counted = tuple[int, int]  # (people or records, sum of their record keys)


def _grouped(user: User, query: Query, dims: list[str], last_month: str | None = None) \
        -> dict[tuple, Counted]:
    """values of `dims` -> (count, key sum), summed over the organizations in scope: one
    grouped query each (a handful), each reading its organization's slice of an index
    in order; complete months only (up to `last_month`, by default the last one)."""
    last_month = last_month or dimensions.last_complete_month()
    out: dict[tuple, Counted] = {}
    for organization_id in organizations_in_scope(user):
        for row in db.session.execute(_statement(query, dims, query.filters,
                                                 organization_id, last_month)):
            n, keys = int(row[-2]), int(row[-1] or 0)
            if n == 0:
                continue
            key = tuple(row[:-2])
            before = out.get(key, (0, 0))
            out[key] = (before[0] + n, before[1] + keys)
    return out


def organizations_in_scope(user: User) -> list[uuid.UUID]:
    mode, org_id = scope_of(user)
    if mode == "organization":
        return [org_id]
    return list(db.session.scalars(sa.select(Organization.id).where(
        Organization.shares_statistics.is_(True)).order_by(Organization.id)))


Entry = tuple  # ("c", i, j) cell, ("r", i) row total, ("k", j) column total, ("t",) total


@dataclass
class Result:
    """A published table: every value perturbed (cell key method) or hidden (None)."""

    query: Query
    k: int
    rows: list[Any]
    cols: list[Any]
    published: dict[Entry, int | None]
    ptable_version: int = 0
    max_deviation: int = 0
    # Statistics count complete months only: the last one counted (YYYY-MM).
    last_complete_month: str = ""

    def cell(self, i: int, j: int) -> int | None:
        return self.published[("c", i, j)]

    def row_total(self, i: int) -> int | None:
        return self.published[("r", i)]

    def col_total(self, j: int) -> int | None:
        return self.published[("k", j)]

    @property
    def total(self) -> int | None:
        return self.published[("t",)]

    def shown(self) -> list[Entry]:
        """The entries a reader sees: a one-way table shows its cells and its total (the
        row totals are the cells again); a two-way table shows everything."""
        entries: list[Entry] = [("c", i, j) for i in range(len(self.rows))
                                for j in range(len(self.cols))]
        if self.query.cols:
            entries += [("r", i) for i in range(len(self.rows))]
            entries += [("k", j) for j in range(len(self.cols))]
        return [*entries, ("t",)]

    @property
    def months_note(self) -> Any:
        """The sentence under a table that says which months it counts."""
        return complete_months_sentence(self.last_complete_month)

    @property
    def suppressed(self) -> int:
        """How many of the values shown are hidden."""
        return sum(1 for e in self.shown() if self.published[e] is None)


def cell_k(query: Query, base_k: int, row: Any = None, col: Any = None) -> int:
    """The smallest count published for one cell: STATS_K, or 10 where the cell counts
    people with one of the most sensitive flags (a sensitive flag filter, a sensitive
    flag row or column, or a total over flags, which includes them). Decided by what the
    cell counts, not by the table, so the same people get the same threshold, hence the
    same published number, in every table."""
    sensitive_k = max(base_k, 10)
    for dim in ("flag", "unmet_need"):
        if query.filters.get(dim) in dimensions.SENSITIVE_FLAGS:
            return sensitive_k
        for axis, value in ((query.rows, row), (query.cols, col)):
            if axis == dim and (value is None or value in dimensions.SENSITIVE_FLAGS):
                return sensitive_k
    return base_k


def table(user: User, query: Query, *, channel: str = "web") -> Result:
    """The published table, audited (who asked for which table, never the numbers).

    Complete months only: nothing registered in the current month (on the app's clock)
    is counted, in any cell, total or filter; a `to` after the last complete month is
    brought back to it (not refused), and the answer says which month that is."""
    ptable = perturbation_table()
    base_k = max(3, int(current_app.config.get("STATS_K", 5)))
    last_month = dimensions.last_complete_month()
    if query.month_to and query.month_to > last_month:
        query = dataclasses.replace(query, month_to=last_month)
    dims = [d for d in (query.rows, query.cols) if d]
    cells = _grouped(user, query, dims, last_month)
    rows = sorted({key[0] for key in cells}, key=_sort_key)
    cols = sorted({key[1] for key in cells}, key=_sort_key) if query.cols else ["count"]
    by_referral = bool((set(dims) | set(query.filters)) & dimensions.REFERRAL_DIMS)
    if by_referral and query.cols:
        # People counted once per total, however many referrals or statuses they have.
        row_totals = {key[0]: v for key, v in
                      _grouped(user, query, [query.rows], last_month).items()}
        col_totals = {key[0]: v for key, v in
                      _grouped(user, query, [query.cols], last_month).items()}
        grand = _grouped(user, query, [], last_month).get((), (0, 0))
    else:
        def add(into: dict[Any, Counted], key: Any, v: Counted) -> None:
            before = into.get(key, (0, 0))
            into[key] = (before[0] + v[0], before[1] + v[1])

        row_totals, col_totals = {}, {}
        grand_parts: dict[Any, Counted] = {}
        for key, v in cells.items():
            add(row_totals, key[0], v)
            add(col_totals, key[1] if query.cols else "count", v)
            add(grand_parts, None, v)
        grand = grand_parts.get(None, (0, 0))
        if by_referral:
            grand = _grouped(user, query, [], last_month).get((), (0, 0))

    def pub(counted: Counted, k: int) -> int | None:
        return publish(counted[0], counted[1], k, ptable)

    published: dict[Entry, int | None] = {}
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            key = (r, c) if query.cols else (r,)
            published[("c", i, j)] = pub(cells.get(key, (0, 0)),
                                         cell_k(query, base_k, r, c if query.cols else None))
        published[("r", i)] = pub(row_totals.get(r, (0, 0)), cell_k(query, base_k, r, None))
    for j, c in enumerate(cols):
        published[("k", j)] = pub(col_totals.get(c, (0, 0)),
                                  cell_k(query, base_k, None, c if query.cols else None))
    published[("t",)] = pub(grand, cell_k(query, base_k))
    result = Result(query, base_k, rows, cols, published,
                    ptable_version=ptable.version, max_deviation=ptable.max_deviation,
                    last_complete_month=last_month)
    audit.record("stats.queried", actor=user, object_type="statistics",
                 details={"rows": query.rows, "cols": query.cols,
                          "filters": sorted(query.filters), "channel": channel,
                          "from": query.month_from, "to": query.month_to})
    return result


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
        "row_labels": dimensions.labels(q.rows, result.rows),
        "col_labels": dimensions.labels(q.cols, result.cols) if q.cols else [],
        "cells": [[cell(result.cell(i, j)) for j in range(len(result.cols))]
                  for i in range(len(result.rows))],
        "row_totals": [cell(result.row_total(i)) for i in range(len(result.rows))],
        "col_totals": [cell(result.col_total(j)) for j in range(len(result.cols))]
        if q.cols else [],
        "total": cell(result.total),
        "suppressed": result.suppressed,
        "filters": q.filters, "from": q.month_from, "to": q.month_to,
        "last_complete_month": result.last_complete_month,
        "protection": protection(result),
    }


def protection(result: Result) -> dict[str, Any]:
    """How the figures were protected, for machines and for the sentence under a table."""
    base_k = max(3, int(current_app.config.get("STATS_K", 5)))
    return {"method": "cell_key", "perturbation_table_version": result.ptable_version,
            "max_deviation": result.max_deviation, "k": base_k,
            "k_sensitive_flags": max(base_k, 10),
            "sensitive_flags": sorted(dimensions.SENSITIVE_FLAGS),
            "totals_add_up": False,
            "complete_months_only": True,
            "last_complete_month": result.last_complete_month,
            "note": str(protection_sentence(result))}


def protection_sentence(result: Result) -> Any:
    base_k = max(3, int(current_app.config.get("STATS_K", 5)))
    return _l("To protect the people counted, every figure is moved at random by up to "
              "%(d)d, always the same way for the same people, and counts below %(k)d "
              "(below %(ks)d for trafficking, gender-based violence and children alone or "
              "separated) are hidden. Totals are protected on their own, so they may not add "
              "up.", d=result.max_deviation, k=base_k, ks=max(base_k, 10))


def complete_months_sentence(last_month: str) -> Any:
    """One sentence: the figures count complete months only, up to `last_month`."""
    month = dimensions.month_label(last_month) if dimensions.MONTH_RE.match(last_month or "") \
        else last_month
    return _l("Only complete months are counted: these figures end with %(month)s, and the "
              "current month is added once it is over.", month=month)


# -- referral performance --------------------------------------------------------------

DEADLINE_SECONDS = sa.case({"urgent": 86400, "high": 259200}, value=Referral.urgency,
                           else_=604800)


def referral_performance(user: User, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """By service type and month (complete months only): referrals, median hours to
    acknowledgement, share acknowledged on time, share overdue. Groups of fewer than k
    referrals are hidden.

    The shares must not give the exact count back: each is a perturbed numerator (the
    cell key method, with the record keys of the referrals it counts) over the perturbed
    number of referrals, in tens of percent, and a share whose numerator is 1..k-1 is
    hidden, as that count itself would be (`shares`)."""
    now = now or clock.now()
    k = max(3, int(current_app.config.get("STATS_K", 5)))
    last_month = dimensions.last_complete_month()
    mode, org_id = scope_of(user)
    if mode == "network":
        scope = Referral.sending_org_id.in_(sa.select(Organization.id).where(
            Organization.shares_statistics.is_(True)))
    else:
        scope = Referral.sending_org_id == org_id
    scope = sa.and_(scope, Referral.created_month <= last_month)
    on_time = Referral.ack_seconds <= DEADLINE_SECONDS
    overdue = sa.and_(Referral.status == "sent", Referral.due_at <= now)

    def counted(condition: Any) -> tuple[Any, Any]:
        return (sa.func.sum(sa.case((condition, 1), else_=0)),
                sa.func.sum(sa.case((condition, Referral.record_key), else_=0)))

    totals = db.session.execute(
        sa.select(Referral.service_type, Referral.created_month, sa.func.count(),
                  sa.func.sum(Referral.record_key), *counted(on_time), *counted(overdue))
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
    for service_type, month, n, keys, n_on_time, on_time_keys, n_overdue, overdue_keys in \
            sorted(totals, key=lambda r: (r[0], r[1])):
        referrals = publish(int(n), int(keys or 0), k)
        hidden = referrals is None
        median = medians.get((service_type, month))
        share_on_time, share_overdue = shares(
            referrals, [(int(n_on_time or 0), int(on_time_keys or 0)),
                        (int(n_overdue or 0), int(overdue_keys or 0))], k)
        out.append({
            "service_type": service_type, "month": month,
            # Referrals, perturbed by the referrals' own record keys (cell key method).
            "referrals": referrals,
            "median_hours_to_acknowledge": None if hidden or median is None
            else round(median / 3600, 1),
            "share_on_time": share_on_time,
            "share_overdue": share_overdue,
            "suppressed": hidden,
        })
    audit.record("stats.queried", actor=user, object_type="statistics",
                 details={"table": "referral_performance", "to": last_month})
    return out


def shares(referrals: int | None, numerators: list[Counted], k: int) -> list[float | None]:
    """Each numerator (count, record-key sum) as a share of the published referrals:
    perturbed numerator over perturbed denominator, to the nearest tenth, at most 1.
    None where the denominator is hidden or the numerator is 1..k-1 (a published share
    times the published referrals then never lands on a small count: it is 0, or it
    stands for k or more, moved by the numerator's own noise and the rounding)."""
    if not referrals:
        return [None] * len(numerators)
    out: list[float | None] = []
    for count, keys in numerators:
        numerator = publish(count, keys, k)
        out.append(None if numerator is None else min(1.0, round(numerator / referrals, 1)))
    return out
