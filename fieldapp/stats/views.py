"""The statistics page (supervisors: the network; case managers: their organization)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp import authz
from fieldapp.exceptions import ValidationFailed
from fieldapp.extensions import db
from fieldapp.referrals import vocab as referral_vocab
from fieldapp.stats import charts, dimensions, export, services

bp = Blueprint("stats", __name__, url_prefix="/stats", template_folder="templates")


def _select_filters() -> dict[str, dict[str, object]]:
    from fieldapp.cases import vocab as case_vocab

    return {"stage": case_vocab.STAGES, "sex": case_vocab.SEXES,
            "age_band": {band: band for band in case_vocab.AGE_BANDS},
            "flag": case_vocab.FLAG_LABELS, "service_type": referral_vocab.SERVICE_TYPES}


def _args() -> dict[str, str]:
    args = {k: v.strip().upper() if k in ("country", "division", "site") else v
            for k, v in request.args.items() if v and v.strip()}
    args.setdefault("rows", "flag")
    return args


@bp.get("")
@authz.rule("stats.view")
def index() -> tuple[str, int] | str:
    args = _args()
    try:
        query = services.parse_query(args)
    except ValidationFailed as exc:
        return render_template("stats/index.html", result=None, errors=exc.fields, args=args,
                               dims=dimensions.DIMENSIONS,
                               select_filters=_select_filters()), 422
    result = services.table(current_user, query)
    body = services.to_json(result)
    chart = charts.bar_chart(result, body["row_labels"],
                             _("Totals by %(dimension)s",
                               dimension=dimensions.DIMENSIONS[query.rows]),
                             _("suppressed"))
    performance = services.referral_performance(current_user) \
        if request.args.get("performance") else None
    db.session.commit()  # the audit events
    scope, _org = services.scope_of(current_user)
    return render_template("stats/index.html", result=result, body=body, chart=chart,
                           errors={}, args=args, dims=dimensions.DIMENSIONS, scope=scope,
                           select_filters=_select_filters(),
                           performance=performance,
                           service_types=referral_vocab.SERVICE_TYPES,
                           export_args={k: v for k, v in args.items()
                                        if k != "performance"})


@bp.get("/export.csv")
@authz.rule("stats.view")
def export_csv() -> Response:
    query = services.parse_query(_args())
    result = services.table(current_user, query, channel="csv")
    hxl = request.args.get("format") == "hxl"
    text = export.to_csv(result, hxl=hxl)
    db.session.commit()
    name = f"fieldapp-{query.rows}{'-' + query.cols if query.cols else ''}"
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}{"-hxl" if hxl else ""}.csv"'})
