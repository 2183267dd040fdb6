"""Read-only selects other features ask of intake (no services imported: no circles)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.intake.models import DuplicateReview


def possible_duplicates(case_id: uuid.UUID) -> list[dict[str, Any]]:
    """The case's open duplicate review items, in the API's shape (ids, references and
    what matched: nothing personal)."""
    rows = db.session.scalars(sa.select(DuplicateReview).where(
        DuplicateReview.case_id == case_id, DuplicateReview.status == "open")
        .order_by(DuplicateReview.raised_at)).all()
    return [{"id": str(r.candidate_id), "reference": r.candidate.reference, "match": r.matches}
            for r in rows]
