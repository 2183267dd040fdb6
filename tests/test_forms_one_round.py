"""Every HTML form reports every problem in one round, in an error summary at the top.

For each form (login, own password, organization, new and edited user, an
administrator's password reset, case registration and edit, referral, service,
routing): an empty or all-invalid submit answers 422 with an error summary at the
top of <main>, focused without JavaScript, linking to every field in error (ids that
exist in the page), the title starts with "Error: ", nothing is saved and what was
typed is still there (except passwords). Required fields say so in their label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa

from fieldapp.accounts.models import Organization, User
from fieldapp.accounts.roles import Role
from fieldapp.audit.models import AuditEvent
from fieldapp.cases.models import Case
from fieldapp.extensions import db
from fieldapp.referrals import services as referral_services
from fieldapp.referrals.models import Referral, RoutingRule, Service
from tests.conftest import csrf_from, login
from tests.referrals.conftest import child_case, network  # noqa: F401 - fixtures

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def ancestors(self) -> list[Element]:
        out, node = [], self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out

    def all_text(self) -> str:
        return " ".join((self.text + " " + " ".join(c.all_text() for c in self.children))
                        .split())

    def walk(self) -> list[Element]:
        out = [self]
        for child in self.children:
            out += child.walk()
        return out


class Page(HTMLParser):
    """A small DOM: enough to find the summary, labels, fields and what they hold."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.node = self.root
        self.feed(html)
        self.elements = self.root.walk()[1:]
        self.by_id: dict[str, list[Element]] = {}
        for el in self.elements:
            if "id" in el.attrs:
                self.by_id.setdefault(el.attrs["id"], []).append(el)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v if v is not None else "" for k, v in attrs}, self.node)
        self.node.children.append(el)
        if tag not in VOID:
            self.node = el

    def handle_endtag(self, tag: str) -> None:
        node = self.node
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.node = node.parent

    def handle_data(self, data: str) -> None:
        self.node.text += data

    # -- queries ---------------------------------------------------------------------

    def find(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [el for el in self.elements if (tag is None or el.tag == tag)
                and all(el.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def title(self) -> str:
        return self.find("title")[0].all_text()

    def summary(self) -> Element | None:
        found = [el for el in self.elements if "data-error-summary" in el.attrs]
        assert len(found) <= 1
        return found[0] if found else None

    def summary_links(self) -> list[str]:
        summary = self.summary()
        assert summary is not None
        return [a.attrs["href"][1:] for a in summary.walk() if a.tag == "a"]

    def label_text(self, el: Element) -> str:
        """The label of a control: its <label for>; for a radio, its group's legend."""
        labels = self.find("label", for_=el.attrs.get("id", "\0"))
        if labels and el.attrs.get("type") != "radio":
            return labels[0].all_text()
        for up in el.ancestors():
            if up.tag == "fieldset":
                legends = [c for c in up.children if c.tag == "legend"]
                return legends[0].all_text() if legends else ""
        return ""

    def value(self, name: str) -> Any:
        """What a control shows: text, the selected option(s), the checked box(es)."""
        controls = [el for el in self.elements if el.attrs.get("name") == name
                    and el.tag in ("input", "textarea", "select")]
        assert controls, name
        first = controls[0]
        if first.tag == "textarea":
            return first.all_text()
        if first.tag == "select":
            return [o.attrs.get("value") for o in first.walk()
                    if o.tag == "option" and "selected" in o.attrs]
        if first.attrs.get("type") in ("radio", "checkbox"):
            return [c.attrs.get("value") for c in controls if "checked" in c.attrs]
        return first.attrs.get("value", "")


@pytest.fixture(autouse=True)
def english(client) -> None:
    """The pages in English (Spanish is the default), so the tests can read the words."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def _csrf(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return csrf_from(page.get_data(as_text=True))


def _submit(client, url: str, data: dict[str, Any], *, page_url: str | None = None):
    return client.post(url, data={"csrf_token": _csrf(client, page_url or url), **data})


def assert_one_round(response, *expected: str) -> Page:
    """422, "Error: " title, a focused summary first in <main> that links to every
    field in error (at least `expected`), each link to an id of the page."""
    assert response.status_code == 422, response.status_code
    page = Page(response.get_data(as_text=True))
    assert page.title().startswith("Error: "), page.title()
    summary = page.summary()
    assert summary is not None, "no error summary"
    assert summary.attrs.get("tabindex") == "-1" and "autofocus" in summary.attrs
    assert "There is a problem" in summary.all_text()
    assert summary.attrs.get("aria-labelledby") in page.by_id
    # At the top of <main>: nothing but the summary comes before the page's <h1>.
    main = page.find("main")[0]
    top = [el for el in main.children if el.tag not in ("p",) or "flash" not in
           el.attrs.get("class", "")]
    assert top[0] is summary, [el.tag for el in top[:3]]
    links = page.summary_links()
    for target in links:
        assert len(page.by_id.get(target, [])) == 1, f"#{target} is not one element of the page"
    missing = set(expected) - set(links)
    assert not missing, (missing, links)
    # Every field showing an error has its link: the link's target is the control that
    # the error describes, or a control inside the group (fieldset) it describes.
    for errors in page.find("ul", class_="errors"):
        error_id = errors.attrs["id"]
        described = [el for el in page.elements
                     if error_id in el.attrs.get("aria-describedby", "").split()]
        targets = set()
        for el in described:
            targets |= {c.attrs.get("id") for c in el.walk()}
        assert targets & set(links), f"{error_id} has no link in the summary"
    # Modules served by the app (the one that focuses the summary where autofocus is
    # ignored, the offline outbox's); no inline script, and the form needs none.
    scripts = page.find("script")
    assert any(s.attrs.get("src", "").endswith("error-summary.js") for s in scripts)
    # (A JSON data block, for the offline form's words, is data: never executed.)
    assert all((s.attrs.get("type") == "module" and s.attrs.get("src") and not s.all_text())
               or s.attrs.get("type") == "application/json" for s in scripts)
    return page


def _count(model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- accounts ------------------------------------------------------------------------------

def test_login_empty(client, make):
    user = make.user()
    events = _count(AuditEvent)
    response = _submit(client, "/login", {"email": "", "password": ""})
    assert_one_round(response, "email", "password")
    assert _count(AuditEvent) == events
    assert client.get("/").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 0


def test_login_keeps_the_email_not_the_password(client, make):
    make.user()
    response = _submit(client, "/login", {"email": "someone@example.org", "password": ""})
    page = assert_one_round(response, "password")
    assert page.value("email") == "someone@example.org"
    assert page.value("password") == ""


def test_own_password_every_problem_at_once(client, make):
    user = make.user()
    login(client, user.email)
    empty = _submit(client, "/account/password",
                    {"current_password": "", "new_password": "", "confirm": ""})
    assert_one_round(empty, "current_password", "new_password", "confirm")
    # Wrong current password, a refused new one and a different confirmation: all three
    # in one response (the current password used to be checked alone, first).
    wrong = _submit(client, "/account/password", {
        "current_password": "not my password", "new_password": "short", "confirm": "other"})
    page = assert_one_round(wrong, "current_password", "new_password", "confirm")
    assert all(page.value(n) == "" for n in ("current_password", "new_password", "confirm"))
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == user.password_hash
    assert client.get("/").status_code == 200  # still logged in: nothing changed


def test_organization_new_all_invalid(client, make):
    admin = make.user(Role.ADMIN)
    login(client, admin.email)
    before = _count(Organization)
    response = _submit(client, "/admin/organizations/new", {
        "name": "", "kind": "", "country_code": "", "location_code": "zz-nowhere"})
    page = assert_one_round(response, "name", "kind", "country_code", "location_code")
    assert page.value("location_code") == "zz-nowhere"
    assert _count(Organization) == before


def test_organization_edit_reports_name_and_place_together(client, make):
    admin = make.user(Role.ADMIN)
    org = make.org("Keep This Name")
    login(client, admin.email)
    url = f"/admin/organizations/{org.id}"
    # The name is missing (the form's check) and the place is unknown (the service's):
    # both in the same response.
    response = _submit(client, url, {"name": "", "kind": org.kind, "country_code": "CO",
                                     "location_code": "CO-NOWHERE"})
    page = assert_one_round(response, "name", "location_code")
    assert page.value("location_code") == "CO-NOWHERE"
    db.session.expire_all()
    fresh = db.session.get(Organization, org.id)
    assert fresh.name == "Keep This Name" and fresh.location_code == "CO-NSA-CUCUTA"


def test_new_user_empty(client, make):
    admin = make.user(Role.ORG_ADMIN)
    login(client, admin.email)
    before = _count(User)
    response = _submit(client, "/admin/users/new", {
        "email": "", "name": "", "organization_id": str(admin.organization_id),
        "password": "", "actor_password": ""})
    assert_one_round(response, "email", "name", "roles-0", "password", "actor_password")
    assert _count(User) == before


def test_new_user_all_invalid_keeps_what_was_typed(client, make):
    admin = make.user(Role.ORG_ADMIN)
    login(client, admin.email)
    before = _count(User)
    # Not an email, no role, a short password, a wrong own password: the form's check
    # (email) and the service's (roles, password, own password) in one response.
    response = _submit(client, "/admin/users/new", {
        "email": "not-an-email", "name": "Typed Name",
        "organization_id": str(admin.organization_id), "password": "short",
        "actor_password": "wrong"})
    page = assert_one_round(response, "email", "roles-0", "password", "actor_password")
    assert page.value("email") == "not-an-email" and page.value("name") == "Typed Name"
    assert page.value("password") == "" and page.value("actor_password") == ""
    assert _count(User) == before


def test_edit_user_name_roles_and_password_together(client, make):
    admin = make.user(Role.ORG_ADMIN)
    target = make.user(Role.FIELD_WORKER, org=admin.organization)
    login(client, admin.email)
    url = f"/admin/users/{target.id}"
    response = _submit(client, url, {"name": "", "actor_password": ""})
    assert_one_round(response, "name", "roles-0", "actor_password")
    db.session.expire_all()
    fresh = db.session.get(User, target.id)
    assert fresh.name == "Test User" and fresh.roles == {Role.FIELD_WORKER}


def test_password_reset_on_the_user_page(client, make):
    admin = make.user(Role.ORG_ADMIN)
    target = make.user(Role.FIELD_WORKER, org=admin.organization)
    login(client, admin.email)
    response = client.post(f"/admin/users/{target.id}/password", data={
        "reset-csrf_token": _csrf(client, f"/admin/users/{target.id}"),
        "reset-new_password": "", "reset-actor_password": ""})
    assert_one_round(response, "reset-new_password", "reset-actor_password")
    db.session.expire_all()
    assert db.session.get(User, target.id).password_hash == target.password_hash


# -- cases ---------------------------------------------------------------------------------

CASE_FIELDS = ("given_name", "family_name", "date_of_birth", "sex", "location_code", "stage",
               "data_processing")


def test_case_registration_empty_reports_everything_at_once(client, auth):
    auth(Role.FIELD_WORKER)
    response = _submit(client, "/cases/new", {
        "given_name": "", "family_name": "", "date_of_birth": "", "age_years": "", "sex": "",
        "nationality": "VEN", "document_type": "", "location_code": "", "stage": "",
        "consent_basis": "consent", "consent_given_by": "self", "consent_language": "es",
        "submit": "1"})
    # Names, date of birth or age, sex, stage, place and consent: one response.
    assert_one_round(response, *CASE_FIELDS)
    assert _count(Case) == 0


def test_case_registration_all_invalid_keeps_what_was_typed(client, auth):
    auth(Role.FIELD_WORKER)
    response = _submit(client, "/cases/new", {
        "given_name": "Rosa Elvira", "family_name": "", "date_of_birth": "2011-02-31",
        "age_years": "", "sex": "", "nationality": "XXX", "location_code": "CO-NOWHERE",
        "stage": "", "phone": "call me", "notes": "Needs a place to sleep tonight.",
        "document_type": "",
        "consent_basis": "other", "consent_given_by": "self", "consent_language": "es",
        "household-0-given_name": "", "household-0-family_name": "Cárdenas",
        "household-0-sex": "male", "household-0-relationship": "", "submit": "1"})
    page = assert_one_round(response, "family_name", "date_of_birth", "sex", "nationality",
                            "location_code", "stage", "phone", "consent_note",
                            "data_processing", "household-0-given_name",
                            "household-0-relationship")
    assert page.value("given_name") == "Rosa Elvira"
    assert page.value("date_of_birth") == "2011-02-31"
    assert page.value("phone") == "call me"
    assert page.value("notes") == "Needs a place to sleep tonight."
    assert page.value("household-0-family_name") == "Cárdenas"
    assert page.value("consent_basis") == ["other"]
    texts = page.summary().all_text()
    assert "Member 1 – Given name(s)" in texts
    assert _count(Case) == 0


def test_case_registration_bad_age_is_named_as_such(client, auth):
    auth(Role.FIELD_WORKER)
    response = _submit(client, "/cases/new", {
        "given_name": "Rosa", "family_name": "Mora", "age_years": "two hundred",
        "sex": "female", "document_type": "", "nationality": "VEN",
        "location_code": "CO-NSA-CUCUTA", "stage": "border", "data_processing": "y",
        "consent_basis": "consent", "consent_given_by": "self", "consent_language": "es",
        "submit": "1"})
    page = assert_one_round(response, "age_years")
    assert page.summary_links() == ["age_years"]  # not also "give a date of birth"
    assert page.value("age_years") == "two hundred"
    assert _count(Case) == 0


def test_possible_duplicate_links_to_the_reason(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    register(worker)
    response = _submit(client, "/cases/new", {
        "given_name": "María José", "family_name": "Pérez Rojas", "date_of_birth": "2011-04-02",
        "sex": "female", "nationality": "VEN", "document_type": "",
        "location_code": "CO-NSA-CUCUTA", "stage": "border", "data_processing": "y",
        "consent_basis": "consent", "consent_given_by": "self", "consent_language": "es",
        "submit": "1"})
    assert response.status_code == 409
    page = Page(response.get_data(as_text=True))
    assert page.title().startswith("Error: ")
    assert page.summary_links() == ["duplicate_reason"]
    assert len(page.by_id["duplicate_reason"]) == 1
    assert _count(Case) == 1


def test_case_edit_all_invalid(client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker)
    url = f"/cases/{case.id}/edit"
    response = _submit(client, url, {
        "given_name": "", "family_name": "Nueva", "date_of_birth": "", "age_years": "",
        "sex": "", "nationality": "VEN", "location_code": "", "stage": "", "phone": "?",
        "document_type": "",
        "version": str(case.version), "submit": "1"})
    page = assert_one_round(response, "given_name", "date_of_birth", "sex",
                            "location_code", "stage", "phone")
    assert page.value("family_name") == "Nueva"
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert fresh.version == case.version and fresh.family_name == "Pérez Rojas"


def test_case_edit_conflict_is_in_the_summary(app, client, auth, register):
    worker = auth(Role.FIELD_WORKER)
    case = register(worker)
    url = f"/cases/{case.id}/edit"
    token = _csrf(client, url)
    from fieldapp.cases import services as case_services
    from fieldapp.cases.inputs import parse_case
    from tests.cases.conftest import case_data

    case_services.update_case(worker, case, parse_case(case_data(notes="Changed elsewhere."),
                                                       today=case.registered_on),
                              expected_version=case.version)
    db.session.commit()
    response = client.post(url, data={
        "csrf_token": token, "given_name": "María José", "family_name": "Pérez Rojas",
        "date_of_birth": "2011-04-02", "sex": "female", "nationality": "VEN",
        "location_code": "CO-NSA-CUCUTA", "stage": "border", "notes": "Mine.",
        "document_type": "", "version": "1", "submit": "1"})
    assert response.status_code == 409
    page = Page(response.get_data(as_text=True))
    assert page.title().startswith("Error: ")
    assert "changed" in page.summary().all_text()
    assert page.value("notes") == "Mine."


# -- referrals -----------------------------------------------------------------------------

def test_referral_empty(client, network, child_case):  # noqa: F811 - fixtures
    login(client, network["people"]["worker"].email)
    url = f"/cases/{child_case.id}/refer"
    response = _submit(client, url, {"note": "Typed note", "given_by": ""})
    # No service chosen: no flags to check yet (each service's flags are its own).
    page = assert_one_round(response, "given_by-0", "scope-0")
    links = page.summary_links()
    assert any(link.startswith("service-") for link in links)  # the first service's radio
    assert page.value("note") == "Typed note"
    assert _count(Referral) == 0


def test_referral_refused_by_the_service_alone(client, network, child_case):  # noqa: F811
    """Every WTForms check passes; the service refuses (no scope): the summary says so."""
    login(client, network["people"]["worker"].email)
    url = f"/cases/{child_case.id}/refer"
    service = network["services"]["child"]
    response = _submit(client, url, {"service_id": str(service.id), "given_by": "self",
                                     "flags": [f"{service.id}:TRAFFICKING_RISK_DOES_NOT_EXIST"]})
    assert_one_round(response, "flags-0", "scope-0")
    assert _count(Referral) == 0


def test_service_form_all_invalid(client, make):
    admin = make.user(Role.ADMIN)
    login(client, admin.email)
    before = _count(Service)
    response = _submit(client, "/services/new", {
        "name": "", "type": "legal_asylum", "organization_id": str(admin.organization_id),
        "location_codes": "ZZ-NOWHERE", "min_age": "old", "max_age": "200",
        "capacity": "open", "contact": "Typed contact"})
    page = assert_one_round(response, "name", "location_codes", "min_age", "max_age")
    assert page.value("contact") == "Typed contact"
    assert page.value("location_codes") == "ZZ-NOWHERE"
    assert _count(Service) == before


def test_service_form_reports_the_services_check_with_the_forms(client, make):
    admin = make.user(Role.ADMIN)
    login(client, admin.email)
    # The name is missing (the form's check); the ages are crossed (the service's).
    response = _submit(client, "/services/new", {
        "name": "", "type": "legal_asylum", "organization_id": str(admin.organization_id),
        "location_codes": "CO", "min_age": "18", "max_age": "5", "capacity": "open"})
    assert_one_round(response, "name", "max_age")
    assert _count(Service) == 0


def test_routing_all_invalid(client, make):
    admin = make.user(Role.ADMIN)
    login(client, admin.email)
    code = "TRAFFICKING_RISK"
    before = referral_services.routing_table()
    page_html = client.get("/admin/routing").get_data(as_text=True)
    token = Page(page_html).find("input", name=f"{code}-csrf_token")[0].attrs["value"]
    response = client.post("/admin/routing", data={
        "flag": code, f"{code}-csrf_token": token, f"{code}-first": "nope",
        f"{code}-second": "nope", f"{code}-third": "nope", f"{code}-fourth": "nope"})
    page = assert_one_round(response, *(f"{code}-{n}" for n in
                                        ("first", "second", "third", "fourth")))
    # The other flags' forms still show what is saved.
    other = next(c for c in before if c != code and before[c])
    assert page.value(f"{other}-first") == [before[other][0]]
    unknown = client.post("/admin/routing", data={"flag": "NO_SUCH_FLAG",
                                                  f"{code}-csrf_token": token})
    assert_one_round(unknown)
    db.session.expire_all()
    assert referral_services.routing_table() == before
    assert _count(RoutingRule) == sum(len(v) for v in before.values())


# -- required fields are marked -------------------------------------------------------------

@pytest.mark.parametrize("url", ["/cases/new", "/admin/users/new", "/services/new",
                                 "/admin/organizations/new", "/account/password", "refer",
                                 "/login"])
def test_required_fields_say_so(client, make, network, child_case, url):  # noqa: F811
    if url == "refer":
        url = f"/cases/{child_case.id}/refer"
        login(client, network["people"]["worker"].email)
    elif url != "/login":
        login(client, make.user(Role.ORG_ADMIN, Role.ADMIN, Role.FIELD_WORKER).email)
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    page = Page(html)
    assert page.summary() is None and not page.title().startswith("Error")
    controls = [el for el in page.elements if el.tag in ("input", "select", "textarea")
                and el.attrs.get("type") not in ("hidden", "submit")]
    assert controls
    marked = 0
    for el in controls:
        label = page.label_text(el)
        if "required" in el.attrs:
            assert "(required)" in label, (el.attrs, label)
            if el.attrs.get("type") not in ("radio", "checkbox"):
                assert el.attrs.get("aria-required") == "true", el.attrs
            marked += 1
        elif el.attrs.get("type") == "checkbox":
            pass  # a group of checkboxes is required as a whole, by its legend
        else:
            assert "(required)" not in label, (el.attrs, label)
    assert marked
    # Each radio and checkbox has its own label right after it, as one tap target.
    for el in controls:
        if el.attrs.get("type") in ("radio", "checkbox"):
            siblings = el.parent.children
            following = siblings[siblings.index(el) + 1]
            assert following.tag == "label" and following.attrs["for"] == el.attrs["id"]
            assert "choice" in el.parent.attrs.get("class", "")


def test_case_form_marks_names_place_stage_and_consent(client, auth):
    auth(Role.FIELD_WORKER)
    page = Page(client.get("/cases/new").get_data(as_text=True))
    for name in ("given_name", "family_name", "sex", "location_code", "stage",
                 "data_processing"):
        control = page.find(name=name)[0]
        assert "required" in control.attrs, name
        assert "(required)" in page.label_text(control), name
    for name in ("phone", "notes", "document_number", "date_of_birth", "age_years"):
        control = page.find(name=name)[0]
        assert "required" not in control.attrs, name
    radios = page.find("input", name="consent_basis")
    assert radios and all("required" in r.attrs for r in radios)
    assert radios[0].ancestors()[1].tag == "fieldset"  # options grouped under a legend


def test_the_script_is_served(client):
    response = client.get("/static/error-summary.js")
    try:
        assert response.status_code == 200
        assert "javascript" in response.headers["Content-Type"]
        assert "data-error-summary" in response.get_data(as_text=True)
    finally:
        response.close()


# -- forms on the case page and the referral page ------------------------------------------
# They post to their own URLs; a failed one shows the page again (no redirect to the
# top with a flash): the summary first, the fold-out holding the form open, what was
# typed kept.

def _open_details_around(page: Page, element_id: str) -> Element:
    [target] = page.by_id[element_id]
    [details] = [up for up in target.ancestors() if up.tag == "details"][:1]
    assert "open" in details.attrs, f"#{element_id}'s fold-out is closed"
    return details


def _flag(case, code):
    db.session.expire_all()
    return next((f for f in db.session.get(Case, case.id).flags if f.code == code), None)


def test_add_flag_by_hand_empty_and_wrong(client, network, child_case):  # noqa: F811
    login(client, network["people"]["worker"].email)
    url, page_url = f"/cases/{child_case.id}/flags", f"/cases/{child_case.id}"
    response = _submit(client, url, {"code": "", "severity": "high", "reason": ""},
                       page_url=page_url)
    page = assert_one_round(response, "code", "reason")
    _open_details_around(page, "code")
    assert page.value("severity") == ["high"]
    response = _submit(client, url, {"code": "NOT_A_FLAG", "severity": "",
                                     "reason": "Seen alone at the crossing"},
                       page_url=page_url)
    page = assert_one_round(response, "code")
    assert page.summary_links() == ["code"]
    assert page.by_id["reason"][0].all_text() == "Seen alone at the crossing"
    _open_details_around(page, "reason")
    assert _flag(child_case, "NOT_A_FLAG") is None


def test_dismiss_flag_without_a_reason(client, network, child_case):  # noqa: F811
    login(client, network["people"]["worker"].email)
    page_url = f"/cases/{child_case.id}"
    url = f"{page_url}/flags/UNACCOMPANIED_CHILD/dismiss"
    page = assert_one_round(_submit(client, url, {"reason": ""}, page_url=page_url),
                            "dismiss-UNACCOMPANIED_CHILD")
    assert page.summary_links() == ["dismiss-UNACCOMPANIED_CHILD"]
    _open_details_around(page, "dismiss-UNACCOMPANIED_CHILD")
    # Only that flag's fold-out is open.
    others = [d for d in page.find("details") if "open" in d.attrs]
    assert len(others) == 1
    # Blank is no reason either (the service says so); too long keeps what was typed.
    assert_one_round(_submit(client, url, {"reason": "   "}, page_url=page_url),
                     "dismiss-UNACCOMPANIED_CHILD")
    long = "Not alone: " + "x" * 2000
    page = assert_one_round(_submit(client, url, {"reason": long}, page_url=page_url),
                            "dismiss-UNACCOMPANIED_CHILD")
    assert page.by_id["dismiss-UNACCOMPANIED_CHILD"][0].all_text() == long
    assert _flag(child_case, "UNACCOMPANIED_CHILD").counts


def test_close_case_without_a_reason_and_on_a_conflict(client, network, child_case):  # noqa: F811
    login(client, network["people"]["manager"].email)
    page_url = f"/cases/{child_case.id}"
    url = f"{page_url}/close"
    version = str(child_case.version)
    page = assert_one_round(_submit(client, url, {"reason": "", "version": version},
                                    page_url=page_url), "close-reason")
    assert page.summary_links() == ["close-reason"]
    # Someone saved the case meanwhile: 409, the summary says so, the reason is kept.
    response = _submit(client, url, {"reason": "Moved to Bogotá", "version": "0"},
                       page_url=page_url)
    assert response.status_code == 409
    page = Page(response.get_data(as_text=True))
    assert page.title().startswith("Error: ") and page.summary() is not None
    assert page.by_id["close-reason"][0].all_text() == "Moved to Bogotá"
    db.session.expire_all()
    assert db.session.get(Case, child_case.id).status == "open"


def test_reassign_to_nobody_of_the_organization(client, network, child_case):  # noqa: F811
    login(client, network["people"]["manager"].email)
    page_url = f"/cases/{child_case.id}"
    stranger = network["people"]["child_provider"]  # another organization
    page = assert_one_round(_submit(client, f"{page_url}/reassign",
                                    {"assignee_id": str(stranger.id)}, page_url=page_url),
                            "assignee_id")
    assert page.summary_links() == ["assignee_id"]
    db.session.expire_all()
    assert db.session.get(Case, child_case.id).assignee_id != stranger.id


def _referral(people_and_services, case):
    referral = referral_services.create_referral(
        people_and_services["people"]["worker"], case,
        people_and_services["services"]["child"],
        flags=["UNACCOMPANIED_CHILD"], given_by="guardian", scope=["risk_summary"], note=None)
    db.session.commit()
    return referral


def _status(referral):
    db.session.expire_all()
    return db.session.get(Referral, referral.id).status


def test_decline_without_a_reason(client, network, child_case):  # noqa: F811
    referral = _referral(network, child_case)
    login(client, network["people"]["child_provider"].email)
    page_url = f"/referrals/{referral.id}"
    response = _submit(client, f"{page_url}/transition", {"action": "decline", "reason": ""},
                       page_url=page_url)
    page = assert_one_round(response, "reason-decline")
    assert page.summary_links() == ["reason-decline"]
    assert _status(referral) == "sent"


def test_complete_without_an_outcome_and_cancel_with_a_long_reason(
        client, network, child_case):  # noqa: F811
    referral = _referral(network, child_case)
    provider = network["people"]["child_provider"]
    for action in ("acknowledge", "accept"):
        referral_services.transition(provider, referral, action)
    db.session.commit()
    login(client, provider.email)
    page_url = f"/referrals/{referral.id}"
    page = assert_one_round(_submit(client, f"{page_url}/transition",
                                    {"action": "complete", "outcome": "  "},
                                    page_url=page_url), "outcome")
    assert page.summary_links() == ["outcome"]
    assert _status(referral) == "accepted"
    client.post("/logout", data={"csrf_token": _csrf(client, "/")})
    login(client, network["people"]["worker"].email)
    long = "Found another place: " + "y" * 2000
    page = assert_one_round(_submit(client, f"{page_url}/transition",
                                    {"action": "cancel", "reason": long}, page_url=page_url),
                            "reason-cancel")
    assert page.by_id["reason-cancel"][0].all_text() == long
    _open_details_around(page, "reason-cancel")
    assert _status(referral) == "accepted"


def test_cancelling_a_referral_asks_first(client, network, child_case):  # noqa: F811
    """Straight after sending, the referral page offers cancelling behind a fold-out,
    closed: one stray tap does not cancel it."""
    referral = _referral(network, child_case)
    login(client, network["people"]["worker"].email)
    page = Page(client.get(f"/referrals/{referral.id}").get_data(as_text=True))
    [box] = page.by_id["reason-cancel"]
    [details] = [up for up in box.ancestors() if up.tag == "details"][:1]
    assert "open" not in details.attrs
    assert any(c.tag == "summary" for c in details.children)


def test_date_of_birth_or_age_says_one_of_the_two_is_required(app, client, auth):
    from flask_babel import force_locale, gettext
    auth(Role.FIELD_WORKER)
    for lang in ("es", "en"):
        page = Page(client.get("/cases/new", headers={"Accept-Language": lang})
                    .get_data(as_text=True))
        [dob] = page.find(name="date_of_birth")
        [age] = page.find(name="age_years")
        group = next(up for up in dob.ancestors() if up.tag == "fieldset")
        assert group in age.ancestors()
        legend = next(c for c in group.children if c.tag == "legend").all_text()
        with app.test_request_context(), force_locale(lang):
            assert gettext("(one of the two required)") in legend
