"""The statistics page (supervisors: the network; case managers: their organization)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from fieldapp import authz
from fieldapp.accounts import login_flow
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import db
from fieldapp.referrals import vocab as referral_vocab
from fieldapp.stats import charts, dimensions, export, services

bp = Blueprint("stats", __name__, url_prefix="/stats", template_folder="templates")

# The filters of the form, in the order a person looks for them.
FILTERS = ("country", "division", "site", "nationality", "stage", "sex", "age_band", "group",
           "flag", "unmet_need", "referral_status", "service_type", "month")
BOUNDS = {"from": _l("From month"), "to": _l("To month")}
# What a table is asked with: its shape, its filters, its bounds. Nothing else in the
# query string is read into it or carried into the links the page builds (there a
# `format=` or `_scheme=` would collide with url_for's own arguments).
QUERY_KEYS = frozenset(("rows", "cols", *dimensions.DIMENSIONS, *BOUNDS))


@dataclass
class Choice:
    """One select of the form: its options grouped (places by country), and its error."""

    name: str
    id: str
    label: str
    groups: dimensions.Grouped
    value: str = ""
    errors: list[str] = field(default_factory=list)


def _args() -> dict[str, str]:
    """The table's arguments from the query string (QUERY_KEYS only)."""
    args = {k: v.strip().upper() if k in ("country", "division", "site") else v.strip()
            for k, v in request.args.items() if k in QUERY_KEYS and v and v.strip()}
    args.setdefault("rows", "flag")
    return args


def _choices(args: dict[str, str], errors: dict[str, list[str]]) -> list[Choice]:
    months = dimensions.month_options()
    country = args.get("country")
    if "country" in errors or not country or not dimensions.valid_value("country", country):
        country = None
    out = []
    for dim in FILTERS:
        groups = dimensions.options(dim, country=country)
        out.append(Choice(dim, f"f-{dim}", str(dimensions.DIMENSIONS[dim]), groups))
    for key, label in BOUNDS.items():
        out.append(Choice(key, f"f-{key}", str(label), [("", months)]))
    for choice in out:
        choice.value = args.get(choice.name, "")
        choice.errors = errors.get(choice.name, [])
        offered = {v for _g, pairs in choice.groups for v, _label in pairs}
        if choice.value and choice.value not in offered and not choice.errors:
            # A valid value the list lacks (a month before the first case, a site outside
            # the chosen country): the table counts with it, so the form shows it.
            dim = "month" if choice.name in BOUNDS else choice.name
            choice.groups = [*choice.groups,
                             ("", [(choice.value, dimensions.label(dim, choice.value))])]
    return out


def _errors(exc: ValidationFailed, args: dict[str, str]) -> dict[str, list[str]]:
    """The service's messages by field; a filter on the dimension the table is already
    grouped by gets a message that says so, since its value came from the list."""
    out: dict[str, list[str]] = {}
    for name, messages in exc.fields.items():
        value = args.get(name, "")
        if name in dimensions.DIMENSIONS and name in (args.get("rows"), args.get("cols")) \
                and dimensions.valid_value(name, value):
            out[name] = [_("The table is already grouped by this: choose “Any” here, or "
                           "group the table by something else.")]
        else:
            out[name] = [str(m) for m in messages]
    return out


def _summary(errors: dict[str, list[str]], choices: list[Choice]) -> list[tuple[str, str]]:
    """(field id, "Label: message") for the error summary at the top, in form order."""
    labels = {"rows": (_("Rows"), "rows"), "cols": (_("Columns (optional)"), "cols")}
    labels.update({c.name: (c.label, c.id) for c in choices})
    out = []
    for name in ["rows", "cols", *(c.name for c in choices)] + sorted(errors):
        for message in errors.pop(name, []):
            label, field_id = labels.get(name, (name, "stats-form"))
            out.append((field_id, f"{label}: {message}"))
    return out


def _chart(result: services.Result, table: export.Published) -> Markup:
    q = result.query
    description = _("The figures are in the table below.")
    if q.rows == "month" and not q.cols and table.lines:
        points = [charts.Point(dimensions.short_month_label(line.code), line.code[:4],
                               line.label, line.values[-1])
                  for line in table.lines if dimensions.MONTH_RE.match(line.code)]
        flag = q.filters.get("flag")
        title = _("People with the flag “%(flag)s”, by month",
                  flag=dimensions.label("flag", flag)) if flag else \
            _("People counted, by month")
        return charts.line_chart(points, title=title, description=description,
                                 y_title=_("People"), x_title=table.rows_title)
    return charts.bar_chart([(line.label, line.values[-1]) for line in table.lines],
                            title=_("Totals by %(dimension)s", dimension=table.rows_title),
                            description=description)


def _applied(query: services.Query) -> list[tuple[str, str]]:
    """The filters a table was counted with, as (dimension, value) names."""
    out = [(str(dimensions.DIMENSIONS[dim]), dimensions.label(dim, value))
           for dim in FILTERS if (value := query.filters.get(dim))]
    for key, bound in (("from", query.month_from), ("to", query.month_to)):
        if bound:
            out.append((str(BOUNDS[key]), dimensions.label("month", bound)))
    return out


def protection_note(result: services.Result, body: dict[str, Any]) -> str:
    """One plain sentence on how the figures are protected: the statistics service's own
    when it gives one (it knows its method), else this one."""
    note = (body.get("protection") or {}).get("note") if isinstance(body, dict) else None
    if note:
        return str(note)
    # result.k is the base k; cells of the most sensitive flags use at least 10.
    return _("To protect the people counted, every figure is changed at random by a few "
             "units, always the same way for the same people, and counts below %(k)d "
             "(below %(ks)d for the most sensitive flags) are hidden; totals are protected "
             "on their own, so they may not add up.", k=result.k, ks=max(result.k, 10))


def _page(args: dict[str, str], errors: dict[str, list[str]], **context: Any) -> str:
    choices = _choices(args, errors)
    context.setdefault("performance", None)
    scope, _org = services.scope_of(current_user)
    return render_template(
        "stats/index.html", args=args, dims=dimensions.DIMENSIONS, scope=scope,
        choices=choices, field_errors={k: list(v) for k, v in errors.items()},
        summary=_summary(dict(errors), choices), flags=dimensions.flag_options(),
        wants_performance=bool(request.args.get("performance")),
        label=dimensions.label, service_types=referral_vocab.SERVICE_TYPES,
        **context)


@bp.get("")
@authz.rule("stats.view")
def index() -> tuple[str, int] | str:
    args = _args()
    try:
        query = services.parse_query(args)
    except ValidationFailed as exc:
        return _page(args, _errors(exc, args), result=None), 422
    result = services.table(current_user, query)
    body = services.to_json(result)
    table = export.published(result)
    performance = services.referral_performance(current_user) \
        if request.args.get("performance") else None
    db.session.commit()  # the audit events
    return _page(args, {}, result=result, table=table, chart=_chart(result, table),
                 applied=_applied(query),
                 protection=protection_note(result, body), performance=performance)


@bp.get("/export.csv")
@authz.rule("stats.view")
@login_flow.require_fresh_second_factor
def export_csv() -> Response:
    query = services.parse_query(_args())
    result = services.table(current_user, query, channel="csv")
    hxl = request.args.get("format") == "hxl"
    text = export.to_csv(result, hxl=hxl)
    db.session.commit()
    name = f"fieldapp-{query.rows}{'-' + query.cols if query.cols else ''}"
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}{"-hxl" if hxl else ""}.csv"',
        "Content-Language": str(get_locale() or "es").replace("_", "-")})
