"""The transfer pages through the Flask test client: giving a code with every problem in
one round, the slip (nothing personal, never cached), revoking, entering a code (one
message for every refusal, throttled), approving, declining and cancelling through the
forms, the home page's count, and a case that came without identity.

The users read English here (their own setting), so the assertions hold before and
after the catalogues get these strings."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from fieldapp import clock
from fieldapp.cases.models import Case
from fieldapp.extensions import db, limiter
from fieldapp.transfers import codes
from fieldapp.transfers.models import ContinuityCode, Transfer
from tests.conftest import csrf_from, login
from tests.transfers.conftest import SECRET, bearer, in_days, issued_code

CODE_RE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
REFUSED = "This code cannot be used here."
NOT_A_CODE = "A code has 16 letters and digits"


@pytest.fixture
def english(people):
    for key, user in people.items():
        if key != "orgs":
            user.locale = "en"
    people["orgs"]["issuer"].phone = "+57 000 555 0199"
    db.session.commit()
    return people


def _as(client, user):
    """A client of its own, logged in as this user."""
    browser = client.application.test_client()
    assert login(browser, user.email).status_code == 302
    return browser


def _token(client, path: str) -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def _issue_page(client, case, **data):
    path = f"/cases/{case.id}/continuity-code"
    return client.post(path, data={"csrf_token": _token(client, path), **data})


def _error_summary(html: str) -> str:
    match = re.search(r'<section class="error-summary".*?</section>', html, re.S)
    return match.group(0) if match else ""


def _enter(client, code: str):
    return client.post("/transfers/code", data={"csrf_token": _token(client, "/transfers"),
                                                "code": code})


def _requested(client, people, case, *, scope=("identity", "risk_summary")):
    """A code given for the case and entered by Ecuador's worker: the transfer, and the
    worker's client."""
    code = issued_code(client, people["owner"], case, scope=scope)
    requester = _as(client, people["requester"])
    response = _enter(requester, code)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    transfer = db.session.scalars(sa.select(Transfer).order_by(
        Transfer.requested_at.desc())).first()
    return transfer, requester


# -- giving a code ----------------------------------------------------------------------

def test_the_form_shows_every_problem_at_once(client, english, full_case):
    client = _as(client, english["owner"])
    page = client.get(f"/cases/{full_case.id}/continuity-code")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Read this to the person" in html
    assert in_days(90) in html  # the default date
    assert 'max="' + in_days(180) + '"' in html
    response = _issue_page(client, full_case, expires_on=in_days(200))
    assert response.status_code == 422
    summary = _error_summary(response.get_data(as_text=True))
    for anchor in ("#scope-0", "#countries-0", "#expires_on", "#given_by-0"):
        assert f'href="{anchor}"' in summary, anchor
    assert "At most 180 days" in summary
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContinuityCode)) == 0
    # A date the browser could not send as one, with the rest: still every problem.
    response = _issue_page(client, full_case, expires_on="next week", scope=["identity"])
    summary = _error_summary(response.get_data(as_text=True))
    assert response.status_code == 422
    assert all(a in summary for a in ("#countries-0", "#expires_on", "#given_by-0"))
    assert "#scope-0" not in summary


def test_only_the_owner_or_a_case_manager_gives_codes(client, english, full_case):
    client = _as(client, english["colleague"])
    assert client.get(f"/cases/{full_case.id}/continuity-code").status_code in (403, 404)
    client = _as(client, english["manager"])
    assert client.get(f"/cases/{full_case.id}/continuity-code").status_code == 200
    client = _as(client, english["requester"])
    assert client.get(f"/cases/{full_case.id}/continuity-code").status_code == 404


def test_the_slip_holds_the_code_and_nothing_personal(client, english, full_case):
    client = _as(client, english["owner"])
    response = _issue_page(client, full_case, scope=["identity", "risk_summary"],
                           countries=["EC", "PE"], expires_on=in_days(60),
                           given_by="guardian")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    slip = re.search(r'<article class="slip code-slip".*?</article>', html, re.S).group(0)
    code = CODE_RE.search(re.sub(r"<[^>]+>", "", slip)).group(0)
    assert codes.normalize_code(code) is not None
    assert 'lang="es"' in slip  # the person's language
    issuer = english["orgs"]["issuer"]
    assert issuer.name in slip and "+57 000 555 0199" in slip
    assert "Ecuador" in slip and "Perú" in slip
    assert "Print it or copy it now." in html
    for value in [*SECRET.values(), full_case.reference, str(full_case.id)]:
        assert value not in slip
    for value in SECRET.values():
        assert value not in html
    # It is a real code: Ecuador's worker can use it.
    client = _as(client, english["requester"])
    assert _enter(client, code.lower().replace("-", " ")).status_code == 302


def test_the_slip_is_in_the_persons_language(client, english, register):
    case = register(english["owner"], consent={"data_processing": True, "given_by": "self",
                                               "language": "pt"})
    client = _as(client, english["owner"])
    response = _issue_page(client, case, scope=["identity"], countries=["BR"],
                           expires_on=in_days(30), given_by="self")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html  # the worker's page
    assert 'class="slip code-slip" lang="pt-BR"' in html  # the person's slip
    assert "Brasil" in html


def test_the_case_page_lists_codes_and_revokes_one(client, english, full_case):
    client = _as(client, english["owner"])
    assert _issue_page(client, full_case, scope=["identity"], countries=["EC"],
                       expires_on=in_days(30), given_by="self").status_code == 200
    html = client.get(f"/cases/{full_case.id}").get_data(as_text=True)
    section = re.search(r'<section class="card" id="continuity".*?</section>', html,
                        re.S).group(0)
    assert "Give the person a continuity code" in section
    assert "Active" in section and "Ecuador" in section and "Identity" in section
    assert not CODE_RE.search(section)  # the code itself is not kept
    row = db.session.scalar(sa.select(ContinuityCode))
    path = f"/cases/{full_case.id}/continuity-codes/{row.id}/revoke"
    assert f'action="{path}"' in section
    response = client.post(path, data={"csrf_token": _token(client, f"/cases/{full_case.id}")})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ContinuityCode, row.id).revoked_at is not None
    html = client.get(f"/cases/{full_case.id}").get_data(as_text=True)
    assert "Revoked" in html and f'action="{path}"' not in html
    # Someone of another organization cannot revoke it (the case is not theirs).
    client = _as(client, english["requester"])
    response = client.post(path, data={"csrf_token": _token(client, "/transfers")})
    assert response.status_code == 404


# -- entering a code ----------------------------------------------------------------------

def test_enter_a_code_right_and_wrong(client, english, full_case):
    right = issued_code(client, english["owner"], full_case)
    own = issued_code(client, english["owner"], full_case)
    client = _as(client, english["requester"])
    page = client.get("/transfers").get_data(as_text=True)
    assert 'name="code"' in page and "Enter a continuity code" in page
    malformed = _enter(client, "7KQ4-M2XD")
    assert malformed.status_code == 422
    assert NOT_A_CODE in _error_summary(malformed.get_data(as_text=True))
    wrong = _enter(client, codes.format_code(codes.new_code()))
    assert wrong.status_code == 404
    wrong_summary = _error_summary(wrong.get_data(as_text=True))
    assert REFUSED in wrong_summary
    # One message for every cause: a code of one's own organization reads the same.
    client = _as(client, english["manager"])
    mine = _enter(client, own)
    assert mine.status_code == 404 and _error_summary(mine.get_data(as_text=True)) == \
        wrong_summary
    client = _as(client, english["requester"])
    response = _enter(client, right.lower().replace("-", " "))
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Request sent to Frontera Test" in html
    for value in [*SECRET.values(), full_case.reference, str(full_case.id)]:
        assert value not in html
    # Used: the same code again is refused like any other.
    again = _enter(client, right)
    assert again.status_code == 404 and REFUSED in again.get_data(as_text=True)


def test_refused_codes_are_throttled_like_logins(app, client, english, full_case):
    """The page and the API draw on one budget of refused codes per account."""
    code = issued_code(client, english["owner"], full_case)
    headers = bearer(client, english["requester"])
    page = _as(client, english["requester"])
    token = _token(page, "/transfers")
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "2 per hour"
    try:
        limiter.reset()
        statuses = [
            page.post("/transfers/code", data={
                "csrf_token": token, "code": codes.format_code(codes.new_code())}).status_code,
            client.post("/api/v1/transfers", headers=headers, json={
                "code": codes.format_code(codes.new_code())}).status_code,
            page.post("/transfers/code", data={
                "csrf_token": token, "code": codes.format_code(codes.new_code())}).status_code]
        blocked = page.post("/transfers/code", data={"csrf_token": token, "code": code})
        # Another account of the same organization still has its budget.
        colleague = _as(client, english["requester_manager"])
        other = colleague.post("/transfers/code", data={
            "csrf_token": _token(colleague, "/transfers"), "code": code})
    finally:
        app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "10000 per minute"
        limiter.reset()
    assert statuses == [404, 404, 429]
    assert blocked.status_code == 429 and blocked.headers.get("Retry-After", "").isdigit()
    assert other.status_code == 302


# -- deciding ---------------------------------------------------------------------------------

def test_decline_needs_a_reason_then_the_requester_reads_it(client, english, full_case):
    transfer, _ = _requested(client, english, full_case)
    path = f"/transfers/{transfer.id}"
    client = _as(client, english["owner"])
    html = client.get(path).get_data(as_text=True)
    assert "Approve the transfer" in html and "Decline the transfer" in html
    assert "Cancel the request" not in html
    empty = client.post(path + "/decline", data={"csrf_token": _token(client, path),
                                                 "decline-reason": "  "})
    assert empty.status_code == 422
    assert 'href="#decline-reason"' in _error_summary(empty.get_data(as_text=True))
    done = client.post(path + "/decline", data={"csrf_token": _token(client, path),
                                                "decline-reason": "Ya no atendemos ese caso"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Transfer, transfer.id).status == "declined"
    client = _as(client, english["requester"])
    html = client.get(path).get_data(as_text=True)
    assert "Declined" in html and "Ya no atendemos ese caso" in html
    assert "Cancel the request" not in html


def test_the_requester_cancels_before_a_decision(client, english, full_case):
    transfer, client = _requested(client, english, full_case)
    path = f"/transfers/{transfer.id}"
    html = client.get(path).get_data(as_text=True)
    assert "Cancel the request" in html and "Approve the transfer" not in html
    # Not theirs to approve: refused, nothing changes.
    refused = client.post(path + "/approve", data={"csrf_token": _token(client, path)})
    assert refused.status_code == 302
    db.session.expire_all()
    assert db.session.get(Transfer, transfer.id).status == "requested"
    response = client.post(path + "/cancel", data={"csrf_token": _token(client, path),
                                                   "cancel-reason": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Transfer, transfer.id).status == "cancelled"
    assert "Transfer request cancelled." in client.get(path).get_data(as_text=True)


def test_approve_through_the_form_and_open_the_new_case(client, english, full_case):
    transfer, _ = _requested(client, english, full_case, scope=("risk_summary",))
    path = f"/transfers/{transfer.id}"
    # Others see nothing: another organization's worker, a colleague whose case it is not.
    client = _as(client, english["bogota"])
    assert client.get(path).status_code == 404
    client = _as(client, english["manager"])
    home = client.get("/").get_data(as_text=True)
    assert "1 transfer request waiting" in home
    boxes = client.get("/transfers").get_data(as_text=True)
    assert "Request from Casa Tulcán Test" in boxes and full_case.reference in boxes
    response = client.post(path + "/approve", data={"csrf_token": _token(client, path)})
    assert response.status_code == 302
    db.session.expire_all()
    transfer = db.session.get(Transfer, transfer.id)
    assert transfer.status == "approved" and transfer.new_case_id is not None
    assert db.session.get(Case, full_case.id).status == "closed"  # not kept open
    assert "transfer request waiting" not in client.get("/").get_data(as_text=True)
    history = client.get(f"/cases/{full_case.id}").get_data(as_text=True)
    assert "To Casa Tulcán Test" in history and "Approved" in history
    # The requester: a link to the new case, which came without identity.
    client = _as(client, english["requester"])
    html = client.get(path).get_data(as_text=True)
    new_url = f"/cases/{transfer.new_case_id}"
    assert f'href="{new_url}"' in html
    page = client.get(new_url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Name not shared" in text and "None None" not in text
    assert "Age not known" in text and "From Frontera Test" in text
    for value in SECRET.values():
        assert value not in text
    listing = client.get("/cases").get_data(as_text=True)
    assert "Name not shared" in listing and ">unknown<" not in listing
    assert " · unknown · " not in listing


def test_keep_open_for_joint_work(client, english, full_case):
    transfer, _ = _requested(client, english, full_case)
    path = f"/transfers/{transfer.id}"
    client = _as(client, english["owner"])
    response = client.post(path + "/approve", data={"csrf_token": _token(client, path),
                                                    "approve-keep_open": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, full_case.id).status == "open"
    assert "Kept open for joint work" in client.get(path).get_data(as_text=True)


def test_a_transfer_that_does_not_exist_is_not_found(client, english):
    client = _as(client, english["owner"])
    assert client.get(f"/transfers/{uuid.uuid4()}").status_code == 404


def test_an_expired_code_shows_as_expired(client, english, full_case, monkeypatch):
    issued_code(client, english["owner"], full_case, days=1)
    later = clock.now() + timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    client = _as(client, english["owner"])
    html = client.get(f"/cases/{full_case.id}").get_data(as_text=True)
    assert "Expired" in html and "Revoke this code" not in html
