"""Registering without signal, in Debian's Chromium on a 360 px phone, in Spanish: open the
form online, cut the network, reload, register two people; nothing of what was typed is
anywhere in the browser's storage, in any encoding; the connection returns and both
cases arrive, once; logging out keeps what was not sent, and the next login sends it."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from fieldapp.accounts.models import User
from fieldapp.api import intake as intake_api
from fieldapp.demo import seed as demo
from fieldapp.exceptions import DomainError
from fieldapp.extensions import db
from tests.browser.conftest import TRAFFIC

pytestmark = pytest.mark.browser
PASSWORD = "demo passphrase in browser"
WORKER = "fieldworker@frontera.example"

FIRST = {"given_name": "Ysmairy Coromoto", "family_name": "Barrientos Ochoa",
         "document_number": "V-27.123.456", "phone": "+57 320 555 0101",
         "address": "Detrás de la terminal de La Parada",
         "notes": "Duerme en la terminal, pidió no llamar a su hermano"}
SECOND = {"given_name": "Jhoandry", "family_name": "Mujica Pernía",
          "notes": "Viaja con su sobrina menor", "member": "Yéssica Mujica"}
FIRST_DOB, SECOND_AGE, MEMBER_DOB = "2009-05-14", "34", "2015-03-09"
# An age is two digits, found by chance in any hex run: looked for as it would be stored.
AGE_AS_STORED = [f'"age_years":{SECOND_AGE}', f'"age_years": {SECOND_AGE}',
                 f'"age_years":"{SECOND_AGE}"', f"age_years={SECOND_AGE}"]

# Every IndexedDB database and store, localStorage, sessionStorage and the Cache Storage,
# as one JSON text; bytes (ArrayBuffers, typed arrays) as hex, keys as their description.
DUMP_JS = """
async () => {
  const bytes = (view) => Array.from(view, (b) => b.toString(16).padStart(2, "0")).join("");
  const plain = (value) => JSON.parse(JSON.stringify(value, (key, v) => {
    if (v instanceof ArrayBuffer) return {hex: bytes(new Uint8Array(v))};
    if (ArrayBuffer.isView(v)) return {hex: bytes(new Uint8Array(v.buffer))};
    if (v instanceof CryptoKey) return {cryptoKey: v.type, extractable: v.extractable,
                                        algorithm: v.algorithm.name};
    return v;
  }));
  const out = {indexedDB: {}, localStorage: {}, sessionStorage: {}, caches: {}};
  for (const info of await indexedDB.databases()) {
    const idb = await new Promise((ok, no) => {
      const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = no; });
    for (const name of idb.objectStoreNames) {
      out.indexedDB[info.name + "/" + name] = await new Promise((ok, no) => {
        const r = idb.transaction(name).objectStore(name).getAll();
        r.onsuccess = () => ok(plain(r.result)); r.onerror = no; });
    }
    idb.close();
  }
  for (let i = 0; i < localStorage.length; i++) {
    out.localStorage[localStorage.key(i)] = localStorage.getItem(localStorage.key(i)); }
  for (let i = 0; i < sessionStorage.length; i++) {
    out.sessionStorage[sessionStorage.key(i)] = sessionStorage.getItem(sessionStorage.key(i)); }
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      out.caches[name + " " + request.url] = bytes(new Uint8Array(await response.arrayBuffer()));
    }
  }
  return JSON.stringify(out);
}
"""

OUTBOX_COUNT_JS = """
async () => new Promise((ok) => {
  const r = indexedDB.open("fieldapp-intake");
  r.onsuccess = () => {
    const idb = r.result;
    if (!idb.objectStoreNames.contains("outbox")) { idb.close(); ok(0); return; }
    const c = idb.transaction("outbox").objectStore("outbox").count();
    c.onsuccess = () => { idb.close(); ok(c.result); };
  };
})
"""


def _decoded_blobs(dump: str) -> list[bytes]:
    """Every hex and base64 run in the dump, decoded: what a thief would try first."""
    blobs = []
    for run in re.findall(r"\b[0-9a-f]{16,}\b", dump):
        blobs.append(binascii.unhexlify(run[: len(run) // 2 * 2]))
    for run in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", dump):
        try:
            blobs.append(base64.b64decode(run + "=" * (-len(run) % 4)))
        except binascii.Error:
            continue
    blobs.append(dump.encode("utf-8"))
    return blobs


def _assert_nothing_typed_in(dump: str, values: list[str]) -> None:
    blobs = _decoded_blobs(dump)
    for value in values:
        for form in {value, value.lower(), json.dumps(value)[1:-1]}:
            assert form not in dump, f"{value!r} found as text"
            for encoded in (form.encode("utf-8"), form.encode("utf-16-le"),
                            form.encode("utf-16-be"), form.encode("latin-1", "ignore")):
                assert encoded.hex() not in dump, f"{value!r} found as hex"
                assert base64.b64encode(encoded).decode() not in dump, f"{value!r} as base64"
                for blob in blobs:
                    assert encoded not in blob, f"{value!r} found inside a decoded blob"


@pytest.fixture
def demo_users(app):
    demo.seed(PASSWORD, with_cases=False)
    db.session.commit()


def _login(page, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Correo electrónico").fill(WORKER)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(base + "/")


def _wait(page, predicate: str, what: str, timeout: float = 20) -> None:
    """Poll a predicate through page.evaluate (wait_for_function evaluates strings with
    eval, which the app's CSP rightly refuses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(200)


def spanish(app, text: str, **values: object) -> str:
    """What the page says in Spanish (the catalogue's translation once there is one)."""
    with app.test_request_context(), force_locale("es"):
        return gettext(text, **values)


def _ready_for_offline(page, base: str, app) -> None:
    page.goto(base + "/cases/new")
    _wait(page, "() => document.documentElement.dataset.offlineReady === 'true'",
          "the page never became ready for work without signal")
    ready = spanish(app, "Ready to work without signal: this form and the key that seals "
                         "records are on this phone.")
    assert page.locator("[data-intake-status]").inner_text() == ready


def _register_offline(page, app, person: dict[str, str], *, age: str | None = None,
                      dob: str | None = None) -> None:
    _fill_person(page, person, age=age, dob=dob)
    _save_offline(page, app)


def _fill_person(page, person: dict[str, str], *, age: str | None = None,
                 dob: str | None = None) -> None:
    """Type a person into the registration form (a household member's birth date is
    MEMBER_DOB), without saving."""
    page.get_by_label("Nombre(s) (obligatorio)", exact=True).fill(person["given_name"])
    page.get_by_label("Apellido(s) (obligatorio)", exact=True).fill(person["family_name"])
    if dob:
        page.locator("#date_of_birth").fill(dob)
    if age:
        page.locator("#age_years").fill(age)
    page.get_by_label("Sexo (obligatorio)", exact=True).select_option(
        "female" if dob else "male")
    if "document_number" in person:
        page.locator("#document_type").select_option("passport")
        page.locator("#document_number").fill(person["document_number"])
    for name in ("phone", "address", "notes"):
        if name in person:
            page.locator(f"#{name}").fill(person[name])
    if "member" in person:
        page.get_by_role("button", name="Agregar integrante del grupo familiar").click()
        page.locator("#household-1-given_name").fill(person["member"])
        page.locator("#household-1-date_of_birth").fill(MEMBER_DOB)
        page.locator("#household-1-relationship").select_option("child")
    page.locator("#stage").select_option("border")
    page.locator("#data_processing").check()


def _save_offline(page, app) -> None:
    page.get_by_role("button", name="Guardar").click()
    saved = page.locator("[data-intake-saved]")
    saved.wait_for(state="visible", timeout=15_000)
    assert spanish(app, "Saved on this phone.") in saved.inner_text()
    assert page.get_by_label("Nombre(s) (obligatorio)", exact=True).input_value() == ""


def _crypto_keys(value: object) -> list[dict]:
    """Every CryptoKey in a dumped store (DUMP_JS describes each as {"cryptoKey": type,
    "extractable": ..., "algorithm": name})."""
    if isinstance(value, dict):
        if "cryptoKey" in value:
            return [value]
        return [k for v in value.values() for k in _crypto_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _crypto_keys(v)]
    return []


def _jwks_with_private_parts(value: object) -> list[dict]:
    """JWKs carrying a private or secret part ("d": RSA/EC private, "k": symmetric)."""
    if isinstance(value, dict):
        mine = [value] if "kty" in value and ({"d", "k"} & set(value)) else []
        return mine + [k for v in value.values() for k in _jwks_with_private_parts(v)]
    if isinstance(value, list):
        return [k for v in value for k in _jwks_with_private_parts(v)]
    return []


def _assert_only_the_phones_signing_key(stored: dict) -> None:
    """The only key material kept on the phone: its non-extractable ECDSA signing key
    (and public keys). Never a secret key: a record's AES key exists only in the page
    while it seals, and only wrapped under the intake key afterwards."""
    found = _crypto_keys(stored["indexedDB"])
    assert {"cryptoKey": "private", "extractable": False, "algorithm": "ECDSA"} in found
    for key in found:
        assert key["cryptoKey"] != "secret" and key["algorithm"] not in (
            "AES-GCM", "AES-CBC", "AES-CTR", "AES-KW", "HMAC"), key
        if key["cryptoKey"] == "private":
            assert key == {"cryptoKey": "private", "extractable": False,
                           "algorithm": "ECDSA"}, key
    assert _jwks_with_private_parts(stored) == []


def _wait_for_empty_outbox(page, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while page.evaluate(OUTBOX_COUNT_JS) != 0:
        assert time.monotonic() < deadline, "the outbox did not send itself"
        page.wait_for_timeout(250)


def _cases_by_api(client, name: str) -> list[dict]:
    token = client.post("/api/v1/auth/tokens",
                        json={"email": WORKER, "password": PASSWORD}).get_json()["token"]
    found = client.get("/api/v1/cases", query_string={"q": name},
                       headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    return [client.get(f"/api/v1/cases/{c['id']}",
                       headers={"Authorization": f"Bearer {token}"}).get_json() for c in found]


def _wait_for_quiet_server() -> None:
    deadline = time.monotonic() + 10
    while TRAFFIC.busy and time.monotonic() < deadline:
        time.sleep(0.02)
    assert TRAFFIC.busy == 0, "the live server is still answering the online page"


def _watch_server(app, monkeypatch) -> list[str]:
    """The paths of every request that reaches the live server from now on."""
    reached: list[str] = []
    inner = app.wsgi_app

    def watched(environ, start_response):
        reached.append(environ.get("PATH_INFO", ""))
        return inner(environ, start_response)

    monkeypatch.setattr(app, "wsgi_app", watched)
    return reached


def test_register_two_people_without_signal_then_sync(live_server, page_factory, demo_users,
                                                      app, monkeypatch):
    page = page_factory("es-CO", width=360)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    _login(page, live_server)
    _ready_for_offline(page, live_server, app)

    page.context.set_offline(True)
    # What the online page sent just before the cut (its scripts' session check) may
    # land well after it on a busy machine: let it land and be answered, then watch.
    page.wait_for_timeout(1500)
    _wait_for_quiet_server()
    reached = _watch_server(app, monkeypatch)
    reloaded = page.reload()
    # The kept empty page (the server marked it for keeping), not a fresh one.
    assert reloaded is not None and reloaded.from_service_worker
    assert reloaded.headers.get("x-fieldapp-offline-shell") == "1"
    assert page.locator("h1").inner_text() == "Registrar a una persona"
    offline = spanish(app, "No connection: what you save now is sealed and kept on this "
                           "phone until the connection returns.")
    _wait(page, "() => document.querySelector('[data-intake-status]').textContent === "
                + json.dumps(offline), "the form does not say it works without connection")
    started = datetime.now(UTC) - timedelta(seconds=2)
    _register_offline(page, app, FIRST, dob=FIRST_DOB)
    _register_offline(page, app, SECOND, age=SECOND_AGE)
    waiting = spanish(app, "Waiting: %(count)s", count=2)
    _wait(page, "() => document.querySelector('[data-intake-count]').textContent !== ''",
          "the form does not say what waits on the phone")
    assert page.locator("[data-intake-count]").inner_text().startswith(waiting)

    dump = page.evaluate(DUMP_JS)
    stored = json.loads(dump)
    assert len(stored["indexedDB"]["fieldapp-intake/outbox"]) == 2
    assert stored["caches"], "the service worker keeps the empty form"
    _assert_only_the_phones_signing_key(stored)
    _assert_nothing_typed_in(dump, [v for p in (FIRST, SECOND) for v in p.values()]
                             + [FIRST_DOB, MEMBER_DOB, *AGE_AS_STORED])

    # The outbox page, itself offline: how many and since when, never whose.
    page.goto(live_server + "/intake/outbox")
    _wait(page, "() => !!document.querySelector('[data-outbox-list] li')",
          "the outbox page lists nothing")
    assert page.locator("[data-outbox-summary]").inner_text().startswith(waiting)
    assert page.locator("[data-outbox-list] li").count() == 2
    assert FIRST["family_name"] not in page.content()

    assert reached == [], f"requests reached the server while offline: {reached}"
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    _wait_for_empty_outbox(page)
    page.reload()
    nothing = spanish(app, "Nothing is waiting on this phone.")
    _wait(page, f"() => document.querySelector('[data-outbox-summary]').textContent === "
                f"{json.dumps(nothing)}", "the outbox page does not say it is empty")

    client = app.test_client()
    first = _cases_by_api(client, f"{FIRST['given_name']} {FIRST['family_name']}")
    second = _cases_by_api(client, f"{SECOND['given_name']} {SECOND['family_name']}")
    assert len(first) == 1 and len(second) == 1
    assert first[0]["document"] == {"type": "passport", "number": FIRST["document_number"]}
    assert first[0]["notes"] == FIRST["notes"] and first[0]["phone"] == FIRST["phone"]
    assert second[0]["age_years"] == 34
    assert [m["given_name"] for m in second[0]["household"]] == [SECOND["member"]]
    for case in (first[0], second[0]):
        captured = datetime.fromisoformat(case["registered_at"])
        assert started <= captured <= datetime.now(UTC)
    worker = db.session.scalar(sa.select(User).where(User.email == WORKER))
    assert first[0]["owner_id"] == str(worker.id)
    assert not [p for p in problems if "Content Security Policy" in p], problems


def test_logout_keeps_unsent_records_and_the_next_login_sends_them(
        live_server, page_factory, demo_users, app, monkeypatch):
    page = page_factory("es-CO", width=360)
    _login(page, live_server)
    _ready_for_offline(page, live_server, app)
    page.context.set_offline(True)
    page.reload()
    _register_offline(page, app, FIRST, dob=FIRST_DOB)

    # The signal comes back, but the server cannot take records right now.
    attempts = []

    class Unavailable(DomainError):
        code = "unavailable"
        status = 503

    def busy(*args, **kwargs):
        attempts.append(1)
        raise Unavailable("try later")

    monkeypatch.setattr(intake_api.services, "receive", busy)
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 20
    while not attempts:
        assert time.monotonic() < deadline, "the outbox did not try to send"
        page.wait_for_timeout(200)
    page.wait_for_timeout(500)
    assert page.evaluate(OUTBOX_COUNT_JS) == 1

    page.get_by_role("button", name="Cerrar sesión").click()
    page.wait_for_url(live_server + "/login*")
    stored = json.loads(page.evaluate(DUMP_JS))
    assert len(stored["indexedDB"]["fieldapp-intake/outbox"]) == 1  # still on the phone
    assert not any(" " + live_server + "/cases/new" in k for k in stored["caches"])
    _assert_nothing_typed_in(page.evaluate(DUMP_JS), list(FIRST.values()))

    monkeypatch.undo()
    _login(page, live_server)
    _wait_for_empty_outbox(page)
    # Ready again for work without signal, without a visit to the form.
    _wait(page, """async () => !!(await caches.match("/cases/new", {ignoreVary: true}))""",
          "the empty form was not kept again after the login")
    found = _cases_by_api(app.test_client(), f"{FIRST['given_name']} {FIRST['family_name']}")
    assert len(found) == 1 and found[0]["address"] == FIRST["address"]


def test_a_forgotten_phone_registers_again_and_a_conflict_stays_shown(
        live_server, page_factory, demo_users, app):
    from fieldapp.intake.models import IntakeDevice
    from tests.cases.conftest import case_data
    from tests.intake.conftest import seal

    page = page_factory("es-CO", width=360)
    _login(page, live_server)
    _ready_for_offline(page, live_server, app)
    db.session.execute(sa.delete(IntakeDevice))  # the server forgot this phone
    db.session.commit()
    page.context.set_offline(True)
    page.reload()
    _register_offline(page, app, FIRST, dob=FIRST_DOB)
    _register_offline(page, app, SECOND, age=SECOND_AGE)
    stored = json.loads(page.evaluate(DUMP_JS))["indexedDB"]["fieldapp-intake/outbox"]
    taken = sorted(stored, key=lambda r: r["created_at"])[1]["instance_id"]
    # Someone else's record already arrived under the second one's instance id.
    client = app.test_client()
    token = client.post("/api/v1/auth/tokens",
                        json={"email": WORKER, "password": PASSWORD}).get_json()["token"]
    key = client.get("/api/v1/intake/key").get_json()
    assert client.post("/api/v1/intake", json=seal(key, case_data(), instance_id=taken),
                       headers={"Authorization": f"Bearer {token}"}).status_code == 201

    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    _wait(page, """async () => new Promise((ok) => {
        const r = indexedDB.open("fieldapp-intake");
        r.onsuccess = () => { const q = r.result.transaction("outbox").objectStore("outbox")
          .getAll(); q.onsuccess = () => { r.result.close();
          ok(q.result.length === 1 && q.result[0].state === "conflict"); }; };
      })""", "the first record was not sent, or the second not kept as a conflict")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntakeDevice)) == 1
    assert len(_cases_by_api(client, f"{FIRST['given_name']} {FIRST['family_name']}")) == 1
    assert _cases_by_api(client, f"{SECOND['given_name']} {SECOND['family_name']}") == []
    page.goto(live_server + "/intake/outbox")
    conflict = spanish(app, "refused: the server already has another record with the same "
                            "identifier; kept on this phone")
    row = page.locator("[data-outbox-list] li[data-state=conflict]")
    row.wait_for()
    assert conflict in row.inner_text()
