"""Working a referral (docs/api.md, "Referrals, for the people who work them"): the
follow-up log both sides share, and the referrals of a case."""

from __future__ import annotations

import uuid

from flask import jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from fieldapp import authz, clock
from fieldapp.api.blueprint import bp, json_body
from fieldapp.api.referrals import referral_item
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.referrals import case_overview, followup
from fieldapp.referrals.models import Referral


@bp.get("/referrals/<uuid:referral_id>/updates")
@authz.rule(authz.AUTHENTICATED)
def list_referral_updates(referral_id: uuid.UUID) -> Response:
    referral = authz.get_or_404(Referral, referral_id, "referrals.view")
    updates = followup.list_updates(referral)
    names = followup.author_names(updates)
    body = {"items": [followup.update_to_dict(u, names) for u in updates]}
    followup.record_log_view(current_user, referral)
    followup.mark_seen(current_user, referral)
    db.session.commit()
    return jsonify(body)


@bp.post("/referrals/<uuid:referral_id>/updates")
@authz.rule(authz.AUTHENTICATED)
def add_referral_update(referral_id: uuid.UUID) -> tuple[Response, int]:
    referral = authz.get_or_404(Referral, referral_id, "referrals.view")
    data = json_body()
    update = followup.add_update(current_user, referral, kind=data.get("kind"),
                                 text=data.get("text"), on_date=data.get("date"))
    body = followup.update_to_dict(update)
    db.session.commit()
    return jsonify(body), 201


@bp.get("/cases/<uuid:case_id>/referrals")
@authz.rule("cases.view")
def case_referrals(case_id: uuid.UUID) -> Response:
    case = authz.get_or_404(Case, case_id, "cases.view")
    now = clock.now()
    return jsonify({"items": [referral_item(r, now=now)
                              for r in case_overview.referrals_of(case)]})
