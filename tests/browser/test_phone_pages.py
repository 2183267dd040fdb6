"""Every role's pages on a 360 px phone, in real Chromium: axe-core finds no serious or
critical violation, every link, button, radio and checkbox outside running text is at
least 44 x 44 CSS px to tap, nothing scrolls sideways but data tables, HTML + CSS stay
under 40 KB compressed, and the registration page loads within 3 s on slow 3G.

axe-core comes from the `axe-playwright-python` package on PyPI (it ships axe.min.js);
no CDN. It is evaluated in the page through the DevTools protocol, which the page's CSP
does not govern.
"""

from __future__ import annotations

import gzip
import json
import urllib.request
from pathlib import Path

import axe_playwright_python
import pytest
import sqlalchemy as sa

from fieldapp.accounts.models import User
from fieldapp.cases.models import Case
from fieldapp.demo import seed as demo
from fieldapp.extensions import db
from fieldapp.referrals.models import Referral

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase for phone pages"
AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(
    encoding="utf-8")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
MIN_TARGET = 44
PAGE_BUDGET = 40 * 1024

# What a tap target is, and what is exempt (WCAG 2.5.8's inline exception: a link in a
# sentence). Radios and checkboxes are measured with their label.
TARGETS_JS = """
() => {
  const out = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const inSentence = (el) => {
    const block = el.closest('p, dd, td, th, figcaption, .help, .meta');
    if (!block || el.tagName !== 'A') return false;
    return block.textContent.replace(/\\s+/g, ' ').trim().length >
           el.textContent.replace(/\\s+/g, ' ').trim().length + 2;
  };
  const union = (a, b) => {
    const l = Math.min(a.left, b.left), t = Math.min(a.top, b.top);
    const r = Math.max(a.right, b.right), btm = Math.max(a.bottom, b.bottom);
    return {width: r - l, height: btm - t};
  };
  const sel = 'a[href], button, input[type=radio], input[type=checkbox], select, ' +
              'input[type=submit], summary';
  for (const el of document.querySelectorAll(sel)) {
    if (el.closest('.skip') || el.classList.contains('skip')) continue;
    if (el.closest('svg')) continue;
    if (inSentence(el)) continue;
    let box = el.getBoundingClientRect();
    if (el.type === 'radio' || el.type === 'checkbox') {
      const label = el.closest('label') || (el.id && document.querySelector(
        'label[for="' + CSS.escape(el.id) + '"]'));
      if (label) box = union(box, label.getBoundingClientRect());
    } else if (!visible(el)) {
      continue;
    }
    if (box.width < 44 || box.height < 44) {
      out.push({tag: el.tagName.toLowerCase(), text: (el.textContent || el.name || el.id ||
                '').trim().slice(0, 40), width: Math.round(box.width),
                height: Math.round(box.height)});
    }
  }
  return out;
}
"""

OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.scrollingElement.scrollWidth > width) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > width + 1 && r.width > 0) {
        let scroller = el.parentElement, inside = false;
        while (scroller) {
          const o = getComputedStyle(scroller).overflowX;
          if (o === 'auto' || o === 'scroll') { inside = true; break; }
          scroller = scroller.parentElement;
        }
        if (!inside) out.push(el.tagName.toLowerCase() + '.' + el.className);
      }
    }
    if (!out.length) out.push('page scrolls sideways');
  }
  return out.slice(0, 5);
}
"""


@pytest.fixture
def demo_network(app):
    demo.seed(PASSWORD)
    db.session.commit()
    worker = db.session.scalar(sa.select(User).where(
        User.email == "fieldworker@frontera.example"))
    case = db.session.scalar(sa.select(Case).where(Case.priority == "urgent").limit(1))
    referral = db.session.scalar(
        sa.select(Referral).join(Case, Case.id == Referral.case_id)
        .where(Case.owner_id == worker.id).order_by(Referral.created_at).limit(1))
    ids = {"case": str(case.id), "referral": str(referral.id),
           "referral_case": str(referral.case_id)}
    db.session.commit()
    return ids


def _login(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[method=post] button[type=submit]")
    page.wait_for_load_state()


def _pages(ids: dict[str, str]) -> dict[str, list[str]]:
    case, ref, ref_case = ids["case"], ids["referral"], ids["referral_case"]
    return {
        "fieldworker@frontera.example": [
            "/", "/cases", "/cases/new", f"/cases/{ref_case}", f"/cases/{ref_case}/assessment",
            f"/cases/{ref_case}/assessment/travel_family",
            f"/cases/{ref_case}/withdraw-consent",
            f"/cases/{ref_case}/refer", "/referrals", f"/referrals/{ref}", "/services",
            "/account/password", "/account/profile", f"/referrals/{ref}/slip",
            "/intake/outbox", "/intake/devices", "/transfers",
            f"/cases/{ref_case}/continuity-code"],
        "casemanager@frontera.example": [
            "/", "/cases", f"/cases/{case}", f"/cases/{case}/edit", "/stats?rows=flag",
            "/referrals", "/transfers", f"/cases/{case}/continuity-code"],
        "provider@proteccion.example": ["/", "/referrals", "/services"],
        "supervisor@red.example": ["/", "/stats?rows=flag&cols=country",
                                   "/stats?rows=month&flag=IRREGULAR_STATUS"],
        "orgadmin@frontera.example": ["/", "/admin/users", "/admin/users/new",
                                      "/admin/organizations", "/services/new"],
        "admin@fieldapp.example": ["/", "/admin/organizations", "/admin/organizations/new",
                                   "/admin/users", "/admin/routing"],
    }


def _axe(page) -> list[str]:
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS)
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _weight(base: str, path: str, cookies: list[dict]) -> int:
    jar = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    request = urllib.request.Request(base + path, headers={"Cookie": jar,  # noqa: S310
                                                           "Accept-Language": "es"})
    with urllib.request.urlopen(request) as response:  # noqa: S310 - the test's own server
        html = response.read()
    css = (Path(__file__).resolve().parents[2] / "fieldapp" / "static" / "app.css").read_bytes()
    return len(gzip.compress(html)) + len(gzip.compress(css))


@pytest.mark.parametrize("email", list(_pages({"case": "", "referral": "",
                                                "referral_case": ""})))
def test_every_page_of_every_role_on_a_phone(live_server, page_factory, demo_network, email):
    page = page_factory("es-CO", width=360, height=740)
    _login(page, live_server, email)
    problems: dict[str, dict[str, object]] = {}
    for path in _pages(demo_network)[email]:
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200, (email, path)
        found = {"axe": _axe(page), "small targets": page.evaluate(TARGETS_JS),
                 "overflow": page.evaluate(OVERFLOW_JS)}
        weight = _weight(live_server, path, page.context.cookies())
        if weight > PAGE_BUDGET:
            found["weight"] = [f"{weight} bytes compressed"]
        found = {k: v for k, v in found.items() if v}
        if found:
            problems[path] = found
    if problems:
        print(json.dumps({email: problems}, indent=1, ensure_ascii=False))
    assert not problems, json.dumps(problems, ensure_ascii=False)


def test_error_summary_is_focused_with_every_error(live_server, page_factory, demo_network):
    page = page_factory("es-CO")
    _login(page, live_server, "fieldworker@frontera.example")
    page.goto(live_server + "/cases/new")
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()
    focused = page.evaluate("document.activeElement.closest('.error-summary') !== null")
    assert focused
    links = page.locator(".error-summary a").evaluate_all("els => els.map(e => e.hash)")
    assert len(links) >= 5  # names, date of birth or age, sex, stage, place, consent
    for href in links:
        assert page.locator(href).count() == 1, href
    assert page.evaluate("window.scrollY") < 200  # at the top, not four screens below


def test_flags_are_ordered_by_severity(live_server, page_factory, demo_network):
    page = page_factory("es-CO")
    _login(page, live_server, "casemanager@frontera.example")
    page.goto(live_server + f"/cases/{demo_network['case']}")
    order = page.locator("[data-severity]").evaluate_all(
        "els => els.map(e => e.dataset.severity)")
    rank = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
    assert order and order == sorted(order, key=rank.__getitem__)
    assert order[0] == "urgent"


def test_registration_page_within_3_s_on_slow_3g(live_server, page_factory, demo_network):
    page = page_factory("es-CO")
    _login(page, live_server, "fieldworker@frontera.example")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    # 400 ms latency, 400 kbit/s each way (50,000 bytes a second).
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 400, "downloadThroughput": 50_000,
        "uploadThroughput": 50_000})
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto(live_server + "/cases/new", wait_until="load")
    elapsed = page.evaluate(
        "(() => { const t = performance.getEntriesByType('navigation')[0];"
        " return t.loadEventEnd - t.startTime; })()")
    assert 0 < elapsed < 3000, elapsed
    assert page.get_by_label("Nombre(s)", exact=True).first.is_visible()
