"""What the cases feature does. Plain functions; they flush, the request commits once.

Personal values are only ever handled as plaintext in memory: they are sealed
on the model, indexed through blind indexes, and never logged or audited.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import load_only, make_transient_to_detached, selectinload
from sqlalchemy.orm.exc import StaleDataError

from fieldapp import authz, keyset
from fieldapp.accounts.models import User
from fieldapp.accounts.roles import Role
from fieldapp.audit import services as audit
from fieldapp.cases import assessment, vocab
from fieldapp.cases.inputs import CaseInput, MemberInput
from fieldapp.cases.models import (
    Case,
    CaseBlindIndex,
    CaseFlag,
    CaseTally,
    HouseholdMember,
    ReferenceCounter,
)
from fieldapp.crypto import normalize_document, normalize_text
from fieldapp.db import new_record_key, utcnow
from fieldapp.exceptions import Conflict, ValidationFailed
from fieldapp.extensions import db, keys
from fieldapp.intake import queries as intake_queries
from fieldapp.sealing import sealed_names

# Other features (referrals) that hold copies of a case's data listen for its erasure,
# inside the same transaction, so nothing of the case survives anywhere readable.
_signals = Namespace()
case_erased = _signals.signal("case-erased")
# Features holding something that lives on the person's consent (fieldapp.transfers: its
# continuity codes and waiting requests) end it when consent is withdrawn, in the same
# transaction.
consent_withdrawn = _signals.signal("consent-withdrawn")

REFERENCE_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?-\d{2}-\d{6}$")


# -- references ---------------------------------------------------------------------------

def reference_prefix(location_code: str, on: date) -> str:
    parts = location_code.split("-")
    return "-".join(parts[:2]) + f"-{on:%y}"


@functools.cache
def _upsert_statement(model: Any, key: str, column: str, dialect: str) -> Any:
    """`INSERT ... ON CONFLICT (key) DO UPDATE SET column = column + :delta RETURNING
    column`, built once per process: counters are bumped on every registration."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
    target = getattr(model, column)
    return insert.values({key: sa.bindparam("key"), column: sa.bindparam("start")}) \
        .on_conflict_do_update(index_elements=[key],
                               set_={column: target + sa.bindparam("delta")}) \
        .returning(target)


def _bump(model: Any, key: str, value: Any, column: str, delta: int, *,
          connection: sa.Connection | None = None) -> int:
    """Add `delta` to a counter row (created at max(delta, 0)), atomically; its new value.
    On the session's connection unless given one (the benchmark's bulk seeding)."""
    connection = connection or db.session.connection()
    stmt = _upsert_statement(model, key, column, connection.dialect.name)
    return connection.execute(stmt, {"key": value, "start": max(delta, 0),
                                     "delta": delta}).scalar_one()


def _tally(organization_id: uuid.UUID, delta: int) -> None:
    _bump(CaseTally, "organization_id", organization_id, "readable", delta)


def next_number(prefix: str) -> int:
    """The next number of a reference sequence, atomically (one upsert)."""
    return _bump(ReferenceCounter, "prefix", prefix, "last", 1)


def next_reference(location_code: str, on: date) -> str:
    """`CO-NSA-26-000123`: division, year, sequence. Nothing personal in it."""
    prefix = reference_prefix(location_code, on)
    return f"{prefix}-{next_number(prefix):06d}"


# -- blind indexes ------------------------------------------------------------------------

def _full_name(given: str, family: str) -> str:
    return normalize_text(f"{given} {family}")


def index_values(*, given_name: str | None, family_name: str | None,
                 date_of_birth: str | None, document_number: str | None) -> list[tuple[str, int]]:
    crypto = keys.crypto
    values = []
    if document_number and normalize_document(document_number):
        values.append(("document", crypto.blind_index("document",
                                                      normalize_document(document_number))))
    if given_name or family_name:
        name = _full_name(given_name or "", family_name or "")
        if name:
            values.append(("name", crypto.blind_index("name", name)))
            if date_of_birth:
                values.append(("name_dob", crypto.blind_index("name_dob",
                                                              f"{name}|{date_of_birth}")))
    return values


def _reindex(case: Case, data: CaseInput, *, new: bool = False) -> None:
    if not new:
        db.session.execute(sa.delete(CaseBlindIndex).where(CaseBlindIndex.case_id == case.id))
    rows = [{"case_id": case.id, "kind": kind, "value": value} for kind, value in index_values(
        given_name=data.given_name, family_name=data.family_name,
        date_of_birth=data.date_of_birth.isoformat() if data.date_of_birth else None,
        document_number=data.document_number)]
    if rows:
        if not new:
            db.session.flush()  # the case's pending changes go first
        db.session.execute(sa.insert(CaseBlindIndex), rows)


# -- registration -------------------------------------------------------------------------

def _age(data_dob: date | None, age_years: int | None, on: date) -> int:
    return vocab.age_on(data_dob, on) if data_dob else int(age_years or 0)


def _apply(case: Case, data: CaseInput, on: date) -> None:
    case.given_name = data.given_name
    case.family_name = data.family_name
    case.date_of_birth = data.date_of_birth.isoformat() if data.date_of_birth else None
    case.age_years = str(data.age_years) if data.age_years is not None else None
    case.age_band = vocab.age_band(_age(data.date_of_birth, data.age_years, on))
    case.sex = data.sex
    case.nationality = data.nationality
    case.document_type = data.document_type if data.document_number else None
    case.document_number = data.document_number
    case.phone = data.phone
    case.address = data.address
    case.location_code = data.location_code
    case.country_code = data.location_code.split("-")[0]
    case.division_code = "-".join(data.location_code.split("-")[:2]) \
        if "-" in data.location_code else None
    case.stage = data.stage
    case.languages = json.dumps(data.languages) if data.languages else None
    case.notes = data.notes


def _set_household(case: Case, members: list[MemberInput], on: date, *,
                   new: bool = False) -> None:
    if not new:
        case.household.clear()
        db.session.flush()
    for position, m in enumerate(members):
        band = vocab.age_band(vocab.age_on(m.date_of_birth, on)) if m.date_of_birth else None
        member = HouseholdMember(id=uuid.uuid4(), position=position,
                                 relationship_code=m.relationship, sex=m.sex, age_band=band)
        case.household.append(member)
        member.given_name = m.given_name
        member.family_name = m.family_name
        member.date_of_birth = m.date_of_birth.isoformat() if m.date_of_birth else None


def register_case(actor: User, data: CaseInput, *, duplicate_reason: str | None = None,
                  answers: dict[str, Any] | None = None, now: datetime | None = None) -> Case:
    """Create a case with its own data key, sealed fields and blind indexes; derive its
    groups and flags (from the assessment answers when given, else from age and sex).

    The record is built whole in memory (sealed, assessed, prioritized), then written
    with one INSERT per table (`_persist_new`)."""
    now = now or utcnow()
    on = now.date()
    case = Case(id=uuid.uuid4(), organization_id=actor.organization_id, owner_id=actor.id,
                registered_at=now, registered_on=on, updated_at=now,
                registered_month=on.strftime("%Y-%m"), record_key=new_record_key(),
                reference=next_reference(data.location_code, on), status="open",
                priority="none", priority_rank=0, version=1,
                consent_basis=data.consent_basis, consent_given_by=data.consent_given_by,
                consent_language=data.consent_language, consent_recorded_by_id=actor.id,
                consent_recorded_at=now)
    case.new_data_key()
    _apply(case, data, on)
    case.consent_note = data.consent_note
    if duplicate_reason:
        case.duplicate_reason = duplicate_reason
    case.household, case.flags, case.groups = [], [], []  # new: nothing to load
    _set_household(case, data.household, on, new=True)
    audit.record("case.created", actor=actor, object_type="case", object_id=case.id,
                 details={"duplicate_override": bool(duplicate_reason)})
    if answers is not None:
        assessment.save_assessment(actor, case, answers, now=now)
    else:
        assessment.recompute(case, actor=actor, now=now)
    _persist_new(case)
    _reindex(case, data, new=True)
    _tally(case.organization_id, +1)
    return case


def _persist_new(case: Case) -> None:
    """Write a new case and what it holds (data key, household, groups, flags) with one
    INSERT per table, then give the objects to the session as if just loaded.

    Registration is the hot write path: the unit of work costs more than the statements
    it sends (docs/benchmarks.md, "Creating a case"). Every column of every row is
    written, defaults included, so nothing has to be read back."""
    children = [case.key, *case.household, *case.groups, *case.flags]
    for child in children:
        child.case_id = case.id
    objects = [case, *children]
    by_model: dict[type, list[Any]] = {}
    for obj in objects:
        by_model.setdefault(type(obj), []).append(obj)
    connection = db.session.connection()
    for model, rows in by_model.items():  # cases first: the others reference it
        connection.execute(sa.insert(model.__table__),
                           [_column_values(sa.inspect(model), obj) for obj in rows])
    for obj in objects:
        make_transient_to_detached(obj)
    db.session.add(case)  # cascades to the rest: persistent, nothing left to flush


def _column_values(mapper: Any, obj: Any) -> dict[str, Any]:
    """Every column of `obj`'s row, by column name; defaults filled in on the object."""
    values = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key not in obj.__dict__:
            default = column.default
            value = None
            if default is not None and default.is_scalar:
                value = default.arg
            elif default is not None and default.is_callable:
                value = default.arg(None)
            setattr(obj, prop.key, value)
        values[column.key] = obj.__dict__[prop.key]
    return values


# -- reading ------------------------------------------------------------------------------

def case_to_dict(case: Case, *, possible_duplicates: list[dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """Every field of the case, decrypted (API shape). Only for those allowed to see it.
    `possible_duplicates`, when the caller knows them, saves reading them."""
    if possible_duplicates is None:
        possible_duplicates = intake_queries.possible_duplicates(case.id)
    return {
        "id": str(case.id),
        "reference": case.reference,
        "version": case.version,
        "organization_id": str(case.organization_id),
        "owner_id": str(case.owner_id),
        "assignee_id": str(case.assignee_id) if case.assignee_id else None,
        "status": case.status,
        "priority": case.priority,
        "registered_at": case.registered_at.isoformat(),
        "age_band": case.age_band,
        "groups": [g.code for g in case.groups],
        "flags": [assessment.flag_to_dict(f) for f in case.flags],
        "given_name": case.given_name,
        "family_name": case.family_name,
        "date_of_birth": case.date_of_birth,
        "age_years": int(case.age_years) if case.age_years is not None else None,
        "sex": case.sex,
        "nationality": case.nationality,
        "document": ({"type": case.document_type, "number": case.document_number}
                     if case.document_number else None),
        "phone": case.phone,
        "address": case.address,
        "location_code": case.location_code,
        "stage": case.stage,
        "languages": json.loads(case.languages) if case.languages else [],
        "notes": case.notes,
        "consent": {
            "data_processing": True,
            "basis": case.consent_basis,
            "given_by": case.consent_given_by,
            "language": case.consent_language,
            "note": case.consent_note,
            "recorded_by": str(case.consent_recorded_by_id),
            "recorded_at": case.consent_recorded_at.isoformat(),
            "withdrawn_at": case.consent_withdrawn_at.isoformat()
            if case.consent_withdrawn_at else None,
            "withdrawal_reason": case.consent_withdrawal_reason,
        },
        "household": [
            {"given_name": m.given_name, "family_name": m.family_name or None,
             "date_of_birth": m.date_of_birth, "sex": m.sex,
             "relationship": m.relationship_code}
            for m in case.household
        ],
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "closure_reason": case.closure_reason,
        # Raised when a record sent from a phone was registered, until someone decides.
        "possible_duplicates": possible_duplicates,
    }


def record_view(actor: User, case: Case, *, channel: str) -> None:
    audit.record("case.viewed", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id, details={"channel": channel})


@dataclass
class CaseFilters:
    status: str | None = None
    priority: str | None = None
    flag: str | None = None
    location_code: str | None = None
    stage: str | None = None


def _filtered(actor: User, filters: CaseFilters) -> sa.Select:
    stmt = sa.select(Case).where(authz.case_visibility(actor))
    if filters.status:
        stmt = stmt.where(Case.status == filters.status)
    if filters.priority:
        stmt = stmt.where(Case.priority == filters.priority)
    if filters.stage:
        stmt = stmt.where(Case.stage == filters.stage)
    if filters.location_code:
        code = filters.location_code
        stmt = stmt.where(sa.or_(Case.location_code == code,
                                 Case.location_code.startswith(code + "-", autoescape=True)))
    if filters.flag:
        stmt = stmt.where(Case.id.in_(sa.select(CaseFlag.case_id).where(
            CaseFlag.code == filters.flag, CaseFlag.active.is_(True))))
    return stmt


# The list's order: most urgent first, newest first within a priority, then by id so that
# every row has one place (cases registered in the same microsecond, bulk imports). The
# partial index ix_cases_list_order holds exactly this key after the organization.
_LIST_KEY = (Case.priority_rank, Case.registered_at, Case.id)
CURSOR_PURPOSE = "cases"


@dataclass
class CasePage:
    """A page of the case list, and where the pages next to it start (None: no more)."""

    cases: list[Case]
    total: int
    page: int  # with a cursor, the page's number counted along the walk (a label)
    next: keyset.Position | None = None
    previous: keyset.Position | None = None


def _seek(rank: int, at: datetime, case_id: uuid.UUID, *, after: bool) -> Any:
    """Rows after a key (later in the list: smaller) or before it, as one row-value
    comparison, which PostgreSQL and SQLite both read as a range of the list's index."""
    key = sa.tuple_(*_LIST_KEY)
    value = sa.tuple_(sa.literal(rank, Case.priority_rank.type),
                      sa.literal(at, Case.registered_at.type),
                      sa.literal(case_id, Case.id.type))
    return key < value if after else key > value


def _exists(stmt: sa.Select, key: tuple[int, datetime, uuid.UUID], *, after: bool) -> bool:
    """Whether a row of the list lies after (or before) a key: one step in the index."""
    order = [c.desc() for c in _LIST_KEY] if after else list(_LIST_KEY)
    return db.session.scalar(stmt.with_only_columns(Case.id).where(_seek(*key, after=after))
                             .order_by(*order).limit(1)) is not None


# What a row of the list shows (API summary and page): the ORM loads these columns of the
# page's cases, not all fifty (loading whole rows was half of a list request's CPU).
_LIST_COLUMNS = load_only(
    Case.id, Case.reference, Case.organization_id, Case.version, Case.status, Case.priority,
    Case.priority_rank, Case.registered_at, Case.sex, Case.age_band, Case.location_code,
    Case.stage, Case.given_name_enc, Case.family_name_enc, Case.erased_at)


def list_page(actor: User, filters: CaseFilters, *, page: int = 1,
              cursor: keyset.Position | None = None, per_page: int = 25) -> CasePage:
    """A page of visible cases, most urgent first, newest first within a priority.

    Without a cursor the page is found by its number (OFFSET: the database walks every row
    before it); with one, by seeking to the cursor's position in the list's index, which
    costs the same at any depth. Either way the answer says where the next and previous
    pages start, so that a client can walk on by cursor."""
    stmt = _filtered(actor, filters)
    if actor.has_role(Role.CASE_MANAGER) and filters == CaseFilters():
        total = db.session.scalar(sa.select(CaseTally.readable).where(
            CaseTally.organization_id == actor.organization_id)) or 0
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(
            stmt.with_only_columns(Case.id).subquery())) or 0
    loading = _LIST_COLUMNS, selectinload(Case.flags)  # the row, and its flags in one more
    if cursor is None:
        rows = list(db.session.scalars(stmt.order_by(*[c.desc() for c in _LIST_KEY])
                                       .limit(per_page + 1).offset((page - 1) * per_page)
                                       .options(*loading)))
        label, more_after = page, len(rows) > per_page
        rows = rows[:per_page]
        more_before = page > 1 and bool(rows)  # the offset skipped rows of this very list
    else:
        mark = (cursor.rank, cursor.at, cursor.id)
        if cursor.forward:
            rows = list(db.session.scalars(stmt.where(_seek(*mark, after=True))
                                           .order_by(*[c.desc() for c in _LIST_KEY])
                                           .limit(per_page + 1).options(*loading)))
            label, more_after = cursor.page, len(rows) > per_page
            rows = rows[:per_page]
            first = _key_of(rows[0]) if rows else mark
            more_before = _exists(stmt, first, after=False)
        else:  # the rows just before the mark, read upwards from it, shown in list order
            rows = list(db.session.scalars(stmt.where(_seek(*mark, after=False))
                                           .order_by(*_LIST_KEY)
                                           .limit(per_page + 1).options(*loading)))
            more_before = len(rows) > per_page
            rows = rows[:per_page][::-1]
            # Nothing further back: this is the first page, whatever the walk counted.
            label = cursor.page if more_before else 1
            last = _key_of(rows[-1]) if rows else mark
            more_after = _exists(stmt, last, after=True)
    audit.record("cases.listed", actor=actor, object_type="case",
                 details={"count": len(rows), "case_ids": [str(c.id) for c in rows]})
    found = CasePage(cases=rows, total=total, page=label)
    if more_after:
        found.next = _mark(rows[-1] if rows else cursor, forward=True, page=label + 1)
    if more_before:
        found.previous = _mark(rows[0] if rows else cursor, forward=False, page=label - 1)
    return found


def _key_of(case: Case) -> tuple[int, datetime, uuid.UUID]:
    return case.priority_rank, case.registered_at, case.id


def _mark(row: Case | keyset.Position, *, forward: bool, page: int) -> keyset.Position:
    """The position just after (forward) or before a row (or an earlier position)."""
    if isinstance(row, Case):
        rank, at, case_id = _key_of(row)
    else:
        rank, at, case_id = row.rank, row.at, row.id
    return keyset.Position(rank=rank, at=at, id=case_id, forward=forward, page=max(1, page))


def list_cases(actor: User, filters: CaseFilters, *, page: int = 1,
               per_page: int = 25) -> tuple[list[Case], int]:
    """A page of visible cases by its number, and how many there are (see list_page)."""
    found = list_page(actor, filters, page=page, per_page=per_page)
    return found.cases, found.total


def search_cases(actor: User, query: str) -> list[Case]:
    """Exact search: a reference code, or a full name or document number (blind indexes)."""
    text = query.strip()
    if not text:
        return []
    visible = authz.case_visibility(actor)
    if REFERENCE_RE.match(text.upper()):
        found = list(db.session.scalars(sa.select(Case).where(
            visible, Case.reference == text.upper())))
        kind = "reference"
    else:
        name = normalize_text(text)
        document = normalize_document(text)
        probes = [("name", keys.crypto.blind_index("name", name))]
        if document:
            probes.append(("document", keys.crypto.blind_index("document", document)))
        candidates = _candidates(visible, probes)
        found = [c for c in candidates
                 if _full_name(c.given_name or "", c.family_name or "") == name
                 or (document and c.document_number
                     and normalize_document(c.document_number) == document)]
        kind = "name_or_document"
    audit.record("cases.searched", actor=actor, object_type="case",
                 details={"kind": kind, "results": len(found)})
    return found


def _candidates(visible: Any, probes: list[tuple[str, int]]) -> list[Case]:
    """Cases whose blind indexes match, in two indexed steps: the index rows first, then
    the cases by primary key (a planner left to itself may walk every case instead)."""
    if not probes:
        return []
    condition = sa.or_(*[sa.and_(CaseBlindIndex.kind == k, CaseBlindIndex.value == v)
                         for k, v in probes])
    ids = list(set(db.session.scalars(sa.select(CaseBlindIndex.case_id).where(condition))))
    if not ids:
        return []
    cases = db.session.scalars(sa.select(Case).where(Case.id.in_(ids), visible)).all()
    return sorted(cases, key=lambda c: c.registered_at, reverse=True)


@dataclass
class DuplicateCandidate:
    case: Case
    match: list[str] = field(default_factory=list)


def find_duplicates(actor: User, *, given_name: str | None, family_name: str | None,
                    date_of_birth: str | None, document_number: str | None,
                    exclude: uuid.UUID | None = None) -> list[DuplicateCandidate]:
    """Visible cases that share a document number, a name and birth date, or a name."""
    probes = index_values(given_name=given_name, family_name=family_name,
                          date_of_birth=date_of_birth, document_number=document_number)
    name = _full_name(given_name or "", family_name or "")
    document = normalize_document(document_number or "")
    out = []
    for case in _candidates(authz.case_visibility(actor), probes):
        if case.id == exclude:
            continue
        match = []
        if document and case.document_number and normalize_document(
                case.document_number) == document:
            match.append("document")
        case_name = _full_name(case.given_name or "", case.family_name or "")
        if name and case_name == name:
            if date_of_birth and case.date_of_birth == date_of_birth:
                match.append("name_dob")
            match.append("name")
        if match:
            out.append(DuplicateCandidate(case, match))
    order = {"document": 0, "name_dob": 1, "name": 2}
    out.sort(key=lambda d: min(order[m] for m in d.match))
    audit.record("cases.duplicate_checked", actor=actor, object_type="case",
                 details={"candidates": len(out)})
    return out


# -- changing -----------------------------------------------------------------------------

def _require_open(case: Case) -> None:
    if case.status != "open":
        raise Conflict(_l("This case is closed. Reopen it first."))


def check_version(case: Case, expected_version: int) -> None:
    if case.version != expected_version:
        raise Conflict(_l("Someone else changed this case in the meantime. "
                          "Nothing was saved: review the current values and try again."))


def current_input(case: Case) -> dict[str, Any]:
    """The case's editable values in the API's shape (for PATCH merges and edit forms)."""
    return {
        "given_name": case.given_name, "family_name": case.family_name,
        "date_of_birth": case.date_of_birth,
        "age_years": int(case.age_years) if case.age_years is not None else None,
        "sex": case.sex, "nationality": case.nationality,
        "document": ({"type": case.document_type, "number": case.document_number}
                     if case.document_number else None),
        "phone": case.phone, "address": case.address, "location_code": case.location_code,
        "stage": case.stage,
        "languages": json.loads(case.languages) if case.languages else [],
        "notes": case.notes,
        "household": [
            {"given_name": m.given_name, "family_name": m.family_name or None,
             "date_of_birth": m.date_of_birth, "sex": m.sex, "relationship": m.relationship_code}
            for m in case.household],
        "consent": {"data_processing": True, "basis": case.consent_basis,
                    "given_by": case.consent_given_by, "language": case.consent_language,
                    "note": case.consent_note},
    }


def update_case(actor: User, case: Case, data: CaseInput, *, expected_version: int,
                now: datetime | None = None) -> list[str]:
    """Apply a full set of values; returns the names of the fields that changed.

    A stale `expected_version` (someone saved in between) raises Conflict and
    changes nothing; so does a concurrent save racing this one (the version is
    checked again by the UPDATE itself).
    """
    now = now or utcnow()
    check_version(case, expected_version)
    _require_open(case)
    before = current_input(case)
    _apply(case, data, case.registered_on)
    after_members = [m.__dict__ for m in data.household]
    before_members = [
        {"given_name": m["given_name"], "family_name": m["family_name"] or "",
         "date_of_birth": date.fromisoformat(m["date_of_birth"]) if m["date_of_birth"] else None,
         "sex": m["sex"], "relationship": m["relationship"]} for m in before["household"]]
    if after_members != before_members:
        _set_household(case, data.household, case.registered_on)
    after = current_input(case)
    changed = sorted(k for k in after if k != "consent" and after[k] != before[k])
    if not changed:
        return []
    if {"given_name", "family_name", "date_of_birth", "document"} & set(changed):
        _reindex(case, data)
    if {"date_of_birth", "age_years", "sex", "nationality"} & set(changed):
        assessment.recompute(case, actor=actor, now=now)
    if "location_code" in changed:
        for row in [*case.flags, *case.groups]:
            row.location_code = case.location_code
    case.updated_at = now
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_l("Someone else changed this case in the meantime. "
                          "Nothing was saved: review the current values and try again.")) from None
    audit.record("case.updated", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id, details={"fields": changed})
    return changed


def _touch(case: Case, now: datetime) -> None:
    case.updated_at = now
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_l("Someone else changed this case in the meantime.")) from None


def close_case(actor: User, case: Case, *, reason: str, expected_version: int | None = None,
               now: datetime | None = None) -> None:
    now = now or utcnow()
    if expected_version is not None:
        check_version(case, expected_version)
    _require_open(case)
    if not reason or not reason.strip():
        raise ValidationFailed(_l("Give a reason for closing."),
                               fields={"reason": [_l("This field is required.")]})
    case.status = "closed"
    case.closed_at = now
    case.closure_reason = reason.strip()[:2000]
    _touch(case, now)
    audit.record("case.closed", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id)


def reopen_case(actor: User, case: Case, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    if case.status != "closed":
        raise Conflict(_l("This case is already open."))
    case.status = "open"
    case.closed_at = None
    _touch(case, now)
    audit.record("case.reopened", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id)


def assignable_users(case: Case) -> list[User]:
    """Colleagues who can work on the case: field workers and case managers of its org."""
    users = db.session.scalars(sa.select(User).where(
        User.organization_id == case.organization_id, User.active.is_(True)).order_by(User.name))
    return [u for u in users if u.has_role(Role.FIELD_WORKER, Role.CASE_MANAGER)]


def reassign_case(actor: User, case: Case, *, assignee: User | None,
                  now: datetime | None = None) -> None:
    now = now or utcnow()
    if assignee is not None and assignee not in assignable_users(case):
        raise ValidationFailed(_l("Choose a field worker or case manager of this organization."),
                               fields={"assignee_id": [_l("Not one of the allowed values.")]})
    case.assignee_id = assignee.id if assignee else None
    _touch(case, now)
    audit.record("case.reassigned", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id,
                 details={"assignee_id": str(assignee.id) if assignee else None})


def withdraw_consent(actor: User, case: Case, *, reason: str | None = None,
                     now: datetime | None = None) -> None:
    """Record that the person withdrew consent: no new referrals from now on.

    Referrals already sent stay as they are (the sender may cancel them). The reason
    is free text, so it is sealed, and the audit event says only whether one was given.
    """
    now = now or utcnow()
    if case.consent_withdrawn_at is not None:
        raise Conflict(_l("Consent was already withdrawn."))
    text = (reason or "").strip()[:2000]
    case.consent_withdrawn_at = now
    case.consent_withdrawn_by_id = actor.id
    case.consent_withdrawal_reason = text or None
    _touch(case, now)
    consent_withdrawn.send(case, actor=actor, now=now)
    audit.record("case.consent_withdrawn", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id, details={"reason_given": bool(text)})


# -- erasure ------------------------------------------------------------------------------

def erase_case(case: Case, *, actor: User | None = None, reason: str = "request") -> None:
    """Crypto-shred: delete the wrapped data key and the blind indexes.

    The ciphertext is also cleared; copies of it elsewhere (backups) become
    unreadable once the key-encryption key they were wrapped under is retired.
    The clear routing fields remain, so statistics still count the case.
    """
    if case.erased_at is not None:
        return
    db.session.execute(sa.delete(CaseBlindIndex).where(CaseBlindIndex.case_id == case.id))
    for model, rows in ((Case, [case]), (HouseholdMember, case.household),
                        (CaseFlag, case.flags)):
        for row in rows:
            for name in sealed_names(model):
                setattr(row, name + "_enc", None)
    case.key = None
    case.forget_data_key()
    case.erased_at = utcnow()
    db.session.flush()
    _tally(case.organization_id, -1)
    case_erased.send(case, reason=reason)
    audit.record("case.erased", actor=actor, object_type="case", object_id=case.id,
                 organization_id=case.organization_id, details={"reason": reason})


def find_by_reference(reference: str) -> Case | None:
    return db.session.scalar(sa.select(Case).where(Case.reference == reference.strip().upper()))


def purge_closed_before(cutoff: date, *, batch: int = 200) -> int:
    """Erase every case closed before `cutoff` (the retention rule). Returns how many."""
    count = 0
    while True:
        ids = db.session.scalars(sa.select(Case.id).where(
            Case.status == "closed", Case.erased_at.is_(None),
            Case.closed_at < datetime(cutoff.year, cutoff.month, cutoff.day,
                                      tzinfo=utcnow().tzinfo)).limit(batch)).all()
        if not ids:
            return count
        for case in db.session.scalars(sa.select(Case).where(Case.id.in_(ids))
                                       .options(selectinload(Case.household))):
            erase_case(case, reason="retention")
            count += 1
        db.session.commit()
