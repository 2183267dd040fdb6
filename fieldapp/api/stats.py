"""GET /stats, /stats.csv (and ?format=hxl), /stats/referral-performance."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import get_locale
from flask_login import current_user

from fieldapp import authz
from fieldapp.accounts import login_flow
from fieldapp.api.blueprint import bp
from fieldapp.extensions import db
from fieldapp.stats import export, services


@bp.get("/stats")
@authz.rule("stats.view")
def stats() -> Response:
    query = services.parse_query(request.args.to_dict())
    result = services.table(current_user, query, channel="api")
    body = services.to_json(result)
    db.session.commit()
    return jsonify(body)


@bp.get("/stats.csv")
@authz.rule("stats.view")
@login_flow.require_fresh_second_factor
def stats_csv() -> Response:
    query = services.parse_query(request.args.to_dict())
    result = services.table(current_user, query, channel="api-csv")
    # Headers and names in the request's language (Accept-Language, else the user's).
    text = export.to_csv(result, hxl=request.args.get("format") == "hxl")
    db.session.commit()
    return Response(text, mimetype="text/csv", headers={
        "Content-Language": str(get_locale() or "es").replace("_", "-"),
        "Vary": "Accept-Language"})


@bp.get("/stats/referral-performance")
@authz.rule("stats.view")
def referral_performance() -> Response:
    rows = services.referral_performance(current_user)
    db.session.commit()
    return jsonify({"items": rows})
