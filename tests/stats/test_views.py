"""The statistics page: filters chosen from lists of names in the reader's language, a
forged value reported at the top with the right scope, and one sentence on how the
figures are protected, with as many hidden values counted as the table shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from flask_babel import force_locale, get_translations, ngettext

from fieldapp.accounts.roles import Role
from fieldapp.cases import vocab as case_vocab
from fieldapp.stats import dimensions, export, views
from fieldapp.stats import services as stats
from tests.conftest import login

LOCALES = {"es": "es", "pt_BR": "pt-BR", "en": "en"}
DIMENSION_FILTERS = ("country", "division", "site", "nationality", "stage", "sex", "age_band",
                     "group", "flag", "unmet_need", "referral_status", "service_type", "month",
                     "from", "to")

# -- a small HTML tree, enough to read forms and tables ---------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else c.text() for c in self.children)
                        .split())

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and all(
                        value in (child.attrs.get(k.rstrip("_")) or "").split()
                        if k == "class_" else child.attrs.get(k) == value
                        for k, value in attrs.items()):
                    out.append(child)
                out.extend(child.all(tag, **attrs))
        return out

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node = self.current
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root


def options(select: Node) -> list[tuple[str, str, str]]:
    """(value, label, optgroup label) of every option but the empty one."""
    out = []
    for option in select.all("option"):
        group = option.parent.attrs.get("label", "") if option.parent.tag == "optgroup" else ""
        if option.attrs.get("value"):
            out.append((option.attrs["value"], option.text(), group))
    return out


# -- fixtures ----------------------------------------------------------------------------

@pytest.fixture
def people(make, register):
    """Twenty people at three Colombian sites and one in Ecuador: enough to publish the
    sites' counts, and one count too small to show."""
    org = make.org("Sharing NGO")
    worker = make.user(Role.FIELD_WORKER, org=org)
    for i in range(20):
        site = ("CO-NSA-CUCUTA", "CO-LAG-PARAGUACHON")[i % 2]
        register(worker, given_name=f"Persona {i}", location_code=site, stage="border",
                 document=None, date_of_birth="1990-01-01", sex="female" if i % 3 else "male")
    register(worker, given_name="Sola", location_code="EC-C-TULCAN", stage="transit",
             document=None, date_of_birth="1990-01-01")
    return org


def _page(client, url: str, locale: str):
    return client.get(url, headers={"Accept-Language": LOCALES[locale]})


def _in(locale: str, text):
    with force_locale(locale):
        return str(text)


# -- lists of names, never typed codes -----------------------------------------------------

@pytest.mark.parametrize("locale", LOCALES)
def test_every_filter_is_a_list_of_names_in_the_readers_language(app, client, make, locale):
    supervisor = make.user(Role.SUPERVISOR)
    login(client, supervisor.email, **{"Accept-Language": LOCALES[locale]})
    response = _page(client, "/stats", locale)
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    assert doc.one("html").attrs["lang"] == LOCALES[locale]
    form = doc.one("form", id="stats-form")
    # Nothing to type: the only input is the referral performance checkbox.
    assert [i.attrs.get("type") for i in form.all("input")] == ["checkbox"]
    assert form.all("textarea") == []
    selects = {s.attrs["name"]: s for s in form.all("select")}
    assert set(DIMENSION_FILTERS) <= set(selects)

    with app.test_request_context(headers={"Accept-Language": LOCALES[locale]}):
        countries = options(selects["country"])
        names = dict((v, label) for v, label, _g in countries)
        assert names["CO"] == {"es": "Colombia", "pt_BR": "Colômbia", "en": "Colombia"}[locale]
        assert names["BR"] == {"es": "Brasil", "pt_BR": "Brasil", "en": "Brazil"}[locale]
        assert names["MX"] == {"es": "México", "pt_BR": "México", "en": "Mexico"}[locale]
        # Sorted as a reader of that language looks names up (accents aside).
        labels = [label for _v, label, _g in countries]
        assert labels == sorted(labels, key=dimensions.collation_key)
        nationality = dict((v, label) for v, label, _g in options(selects["nationality"]))
        assert nationality["DEU"] == {"es": "Alemania", "pt_BR": "Alemanha",
                                      "en": "Germany"}[locale]
        assert nationality["STATELESS"] == _in(locale, case_vocab.SPECIAL_NATIONALITIES[
            "STATELESS"])
        # Sites and divisions grouped by country, with the country's name.
        sites = {v: (label, group) for v, label, group in options(selects["site"])}
        assert sites["CO-NSA-CUCUTA"] == ("Cúcuta (Norte de Santander)", names["CO"])
        assert sites["EC-C-TULCAN"][1] == names["EC"]
        assert ("CO-NSA", "Norte de Santander", names["CO"]) in options(selects["division"])
        for dim, labels_of in (("stage", case_vocab.STAGES), ("sex", case_vocab.SEXES),
                               ("flag", case_vocab.FLAG_LABELS)):
            found = options(selects[dim])
            assert {v: label for v, label, _g in found} == \
                {code: _in(locale, name) for code, name in labels_of.items()}
            assert [label for _v, label, _g in found] == sorted(
                (label for _v, label, _g in found), key=dimensions.collation_key)
        assert [v for v, _l, _g in options(selects["age_band"])] == list(case_vocab.AGE_BANDS)
        months = options(selects["from"])
        assert months and all(dimensions.MONTH_RE.match(v) for v, _l, _g in months)
        assert all(label != value for value, label, _g in months)
        assert options(selects["to"]) == months == options(selects["month"])
    if locale != "en":
        stage = dict((v, label) for v, label, _g in options(selects["stage"]))
        with app.test_request_context(), force_locale("en"):
            assert stage["border"] != str(case_vocab.STAGES["border"])  # translated


def test_month_labels_follow_the_language(app):
    with app.test_request_context():
        assert _in("es", dimensions.month_label("2026-03")) == "marzo de 2026"
        with force_locale("pt_BR"):
            assert dimensions.month_label("2026-03") == "março de 2026"
        with force_locale("en"):
            assert dimensions.month_label("2026-03") == "March 2026"


def test_collation_ignores_accents_and_puts_enye_after_n(app):
    with app.test_request_context(), force_locale("es"):
        assert [n for _c, n in dimensions.by_label(
            [("1", "Ñuble"), ("2", "Nariño"), ("3", "Ávila"), ("4", "Oruro"), ("5", "azul")])
        ] == ["Ávila", "azul", "Nariño", "Ñuble", "Oruro"]


def test_choosing_a_country_from_the_list_filters_the_table(app, client, make, people):
    supervisor = make.user(Role.SUPERVISOR)
    login(client, supervisor.email)
    response = _page(client, "/stats?rows=site&stage=border&country=CO", "en")
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    assert ("CO", "Colombia", "") in [o for o in options(doc.one("select", id="f-country"))]
    assert doc.one("select", id="f-country").one("option", value="CO").attrs.get(
        "selected") is not None
    table = doc.one("div", class_="stats-table-wrap").one("table")
    rows = [th.text() for th in table.one("tbody").all("th")]
    assert rows == ["Cúcuta", "Paraguachón"]
    assert "Country: Colombia" in doc.one("p", class_="stats-applied").text()
    # With a country chosen, divisions and sites narrow to it (elsewhere counts nobody).
    for dim in ("division", "site"):
        found = options(doc.one("select", id=f"f-{dim}"))
        assert found and {group for _v, _l, group in found} == {"Colombia"}
        assert all(v.startswith("CO-") for v, _l, _g in found)
    assert "Tulcán" not in response.get_data(as_text=True)


# -- a forged value -----------------------------------------------------------------------

@pytest.mark.parametrize("role, scope", [(Role.SUPERVISOR, "Network-wide"),
                                         (Role.CASE_MANAGER, "Your organization only.")])
def test_forged_filter_is_reported_at_the_top_with_the_scope_kept(app, client, make, role,
                                                                   scope):
    login(client, make.user(role).email)
    response = _page(client, "/stats?rows=site&country=ZZ&sex=robot", "en")
    assert response.status_code == 422
    doc = parse(response.get_data(as_text=True))
    main = doc.one("main")
    first = next(c for c in main.children if isinstance(c, type(main)))
    assert "stats-error-summary" in first.attrs.get("class", ""), "the summary comes first"
    assert first.attrs.get("role") == "alert" and "autofocus" in first.attrs
    assert first.attrs.get("tabindex") == "-1"
    links = [(a.attrs["href"], a.text()) for a in first.all("a")]
    assert links == [("#f-country", "Country: Not one of the allowed values."),
                     ("#f-sex", "Sex: Not one of the allowed values.")]
    assert doc.one("select", id="f-country").attrs.get("aria-invalid") == "true"
    assert doc.one("h1").text() == "Statistics"
    assert scope in main.one("p", class_="help").text()
    assert doc.one("title").text().startswith("Error: ")
    assert main.all("table") == []  # nothing counted on a forged question


def test_filter_on_the_grouping_dimension_says_why(app, client, make):
    login(client, make.user(Role.SUPERVISOR).email)
    response = _page(client, "/stats?rows=country&country=CO", "en")
    assert response.status_code == 422
    summary = parse(response.get_data(as_text=True)).one("div", class_="stats-error-summary")
    assert "already grouped by this" in summary.text()


# -- how figures are protected ---------------------------------------------------------------

def _hidden_marks(doc: Node) -> int:
    return len(doc.one("div", class_="stats-table-wrap").all("span",
                                                             class_="stats-hidden-value"))


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("url, params", [("/stats?rows=site", {"rows": "site"}),
                                         ("/stats?rows=site&cols=stage",
                                          {"rows": "site", "cols": "stage"})])
def test_protection_sentence_and_hidden_count_in_three_languages(app, client, make, people,
                                                                 locale, url, params):
    supervisor = make.user(Role.SUPERVISOR)
    login(client, supervisor.email)
    response = _page(client, url, locale)
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    with app.test_request_context(headers={"Accept-Language": LOCALES[locale]}):
        result = stats.table(supervisor, stats.parse_query(params))
        expected = views.protection_note(result, stats.to_json(result))
        hidden = export.published(result).hidden
        count_text = ngettext("%(num)d value in this table is hidden.",
                              "%(num)d values in this table are hidden.", hidden)
    assert expected and doc.one("p", class_="stats-protection").text() == " ".join(
        expected.split())
    if locale != "en":
        with app.test_request_context(), force_locale("en"):
            english = views.protection_note(result, stats.to_json(result))
        assert expected != english, "the sentence must be translated"
    # Tulcán's one person is hidden: the sentence counts exactly the marks in the table.
    assert hidden >= 1 and _hidden_marks(doc) == hidden
    assert doc.one("p", class_="stats-hidden-count").text().startswith(count_text)


def test_protection_sentence_is_looked_up_in_the_catalogue(app, monkeypatch):
    """Without a sentence from the statistics service the page says its own, through
    gettext with the table's k in a named placeholder."""
    msgid = ("To protect the people counted, every figure is changed at random by a few "
             "units, always the same way for the same people, and counts below %(k)d "
             "(below %(ks)d for the most sensitive flags) are hidden; totals are protected "
             "on their own, so they may not add up.")
    spanish = ("Para proteger a las personas contadas, se ocultan las cifras menores de %(k)d "
               "(de %(ks)d para las marcas más sensibles).")
    with app.test_request_context(headers={"Accept-Language": "es"}):
        monkeypatch.setitem(get_translations()._catalog, msgid, spanish)
        result = stats.Result.__new__(stats.Result)
        result.k = 7
        # The base k, and 10 for the most sensitive flags (was: the table's k alone).
        assert views.protection_note(result, {}) == spanish % {"k": 7, "ks": 10}
        assert views.protection_note(result, {"protection": {"note": "Given."}}) == "Given."


# -- query arguments the page does not read ---------------------------------------------------

# Names url_for takes for itself, the export's own format, the page's checkbox, and names
# nobody declared: none may reach the links the page builds.
STRAY = ["format=hxl", "format=csv", "performance=1", "_scheme=javascript", "_external=1",
         "_anchor=x", "_method=POST", "endpoint=x", "values=x", "zz=1", "rows_=site"]


@pytest.mark.parametrize("stray", STRAY)
def test_page_and_its_download_links_ignore_other_query_arguments(app, client, make, people,
                                                                  stray):
    login(client, make.user(Role.SUPERVISOR).email)
    response = _page(client, f"/stats?rows=site&sex=female&{stray}", "en")
    assert response.status_code == 200, response.status_code
    doc = parse(response.get_data(as_text=True))
    links = [a.attrs["href"] for a in doc.one("p", class_="stats-downloads").all("a")]
    assert links == ["/stats/export.csv?rows=site&sex=female",
                     "/stats/export.csv?format=hxl&rows=site&sex=female"]
    checkbox = doc.one("input", name="performance")
    assert ("checked" in checkbox.attrs) == (stray == "performance=1")
    assert bool(doc.all("h2", id="perf-h")) == (stray == "performance=1")


@pytest.mark.parametrize("stray", STRAY)
def test_export_ignores_other_query_arguments(app, client, make, people, stray):
    login(client, make.user(Role.SUPERVISOR).email)
    plain = client.get("/stats/export.csv?rows=site&sex=female")
    response = client.get(f"/stats/export.csv?rows=site&sex=female&{stray}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    hxl = client.get("/stats/export.csv?rows=site&sex=female&format=hxl")
    assert response.get_data() == (hxl if stray == "format=hxl" else plain).get_data()


def test_a_refused_table_keeps_the_checkbox_and_ignores_other_arguments(app, client, make):
    login(client, make.user(Role.SUPERVISOR).email)
    response = _page(client, "/stats?rows=zz&performance=1&format=hxl&_scheme=x", "en")
    assert response.status_code == 422
    doc = parse(response.get_data(as_text=True))
    assert "checked" in doc.one("input", name="performance").attrs
    summary = doc.one("div", class_="stats-error-summary").text()
    assert "format" not in summary and "_scheme" not in summary
