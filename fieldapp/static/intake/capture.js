// The registration page without signal. Online, the form goes to the server as it does
// without JavaScript (the server then warns about possible duplicates at once). Without a
// connection, or when the server cannot be reached or the session has ended, saving seals
// the record here (seal.js) and keeps only the sealed record (store.js); the page then
// reloads as an empty form with a plain message. Typed values live only in this page
// until then: no draft is written anywhere.

import { t, when } from "./texts.js";

const form = document.querySelector("form.case-form");
const panel = document.querySelector("[data-offline-intake]");
const PROBE_EVERY_MS = 30000;
const MAX_MEMBERS = 30;

// What the last looks at the server said: is it reachable (asked every half minute,
// without a session, so that an open page does not keep one alive), and is the session
// still alive (asked when the page opens, is shown again, or the connection returns).
// Until they answer, the browser's own idea of the connection decides.
let reachable = null;
let loggedIn = null;

function usable() {
  return navigator.onLine && reachable !== false && loggedIn !== false;
}

async function ping() {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 8000);
  try {
    const response = await fetch("/intake/ping", { cache: "no-store", credentials: "omit",
      signal: controller.signal });
    reachable = response.status === 204;
  } catch {
    reachable = false;
  } finally {
    clearTimeout(timer);
  }
  status();
}

async function probe() {
  const { session } = await import("./sync.js");
  const who = navigator.onLine ? await session() : null;
  loggedIn = who !== null;  // null also when unreachable: either way, seal here
  if (who) reachable = true;
  status();
  return who;
}

async function status() {
  const line = panel.querySelector("[data-intake-status]");
  const ready = await readiness();
  document.documentElement.dataset.offlineReady = String(ready);
  if (!usable()) line.textContent = t("offline");
  else line.textContent = ready ? t("ready") : t("not_ready");
  const { records } = await import("./store.js");
  const waiting = (await records()).filter((r) => r.state === "waiting");
  panel.querySelector("[data-intake-count]").textContent = waiting.length
    ? t("oldest", { count: waiting.length, when: when(waiting[0].created_at) })
    : t("none_waiting");
}

// Ready for work without signal: this page kept by the service worker, the server's key
// and this phone's signing key in the phone's storage.
async function readiness() {
  if (!("serviceWorker" in navigator) || !window.caches || !crypto.subtle) return false;
  const page = await caches.match("/cases/new", { ignoreSearch: true, ignoreVary: true });
  const { getKey } = await import("./store.js");
  return Boolean(page && await getKey("intake") && await getKey("device"));
}

// While connected: the key, this phone's signing key, its registration.
async function prepare() {
  const { refreshIntakeKey } = await import("./sync.js");
  const { deviceKey, ensureRegistered } = await import("./device.js");
  await refreshIntakeKey();
  const device = await deviceKey();
  const who = await probe();
  if (who) await ensureRegistered(device, who).catch(() => false);
  await navigator.serviceWorker?.ready;
  status();
}

function labelOf(element) {
  const label = element.id && document.querySelector(`label[for="${CSS.escape(element.id)}"]`);
  const source = element.type === "radio" || element.type === "checkbox"
    ? (element.closest("fieldset.choices")?.querySelector("legend") || label) : label;
  if (!source) return element.name;
  const copy = source.cloneNode(true);
  copy.querySelectorAll(".required").forEach((mark) => mark.remove());
  return copy.textContent.trim().replace(/[.:]$/, "");
}

// The checks a person can fix now; the server checks everything again when the record
// arrives, and keeps for review what it cannot register.
function problems() {
  const found = [];
  const el = (name) => form.elements.namedItem(name);
  const add = (element, message, prefix = "") => {
    if (element) found.push({ element, text: t("entry", { field: prefix + labelOf(element), message }) });
  };
  for (const name of ["given_name", "family_name", "sex", "nationality", "location_code", "stage"]) {
    if (el(name) && !String(el(name).value).trim()) add(el(name), t("required"));
  }
  if (el("date_of_birth") && !el("date_of_birth").value && !String(el("age_years")?.value ?? "").trim()) {
    add(el("date_of_birth"), t("dob_or_age"));
  }
  if (el("data_processing") && !el("data_processing").checked) add(el("data_processing"), t("consent"));
  form.querySelectorAll("fieldset.member").forEach((row, i) => {
    const field = (name) => el(`household-${i}-${name}`);
    if (!field("given_name")) return;
    const blank = !(field("given_name").value || field("family_name").value || field("date_of_birth").value);
    if (blank) return;
    const prefix = t("member", { n: i + 1 }) + " – ";
    if (!field("given_name").value.trim()) add(field("given_name"), t("required"), prefix);
    if (!field("relationship").value) add(field("relationship"), t("required"), prefix);
  });
  return found;
}

function showProblems(found) {
  form.ownerDocument.querySelector("[data-intake-summary]")?.remove();
  const summary = document.createElement("section");
  summary.className = "error-summary";
  summary.tabIndex = -1;
  summary.dataset.intakeSummary = "";
  summary.setAttribute("aria-labelledby", "intake-summary-title");
  const title = document.createElement("h2");
  title.id = "intake-summary-title";
  title.textContent = t("summary_title");
  const list = document.createElement("ul");
  for (const { element, text } of found) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#${element.id || ""}`;
    link.textContent = text;
    item.append(link);
    list.append(item);
  }
  summary.append(title, list);
  document.querySelector("main").prepend(summary);
  summary.focus();
}

// "Add a household member" without the server: a copy of the last row, emptied.
function addMember() {
  const rows = form.querySelectorAll("fieldset.member");
  if (!rows.length || rows.length >= MAX_MEMBERS) return;
  const last = rows[rows.length - 1];
  const copy = last.cloneNode(true);
  const from = `household-${rows.length - 1}-`;
  const to = `household-${rows.length}-`;
  for (const node of copy.querySelectorAll("[id], [name], [for], [aria-describedby]")) {
    for (const attr of ["id", "name", "for", "aria-describedby"]) {
      const current = node.getAttribute(attr);
      if (current) node.setAttribute(attr, current.split(from).join(to));
    }
  }
  copy.querySelectorAll("input").forEach((input) => { input.value = ""; });
  copy.querySelectorAll("select").forEach((select) => {
    select.selectedIndex = [...select.options].findIndex((o) => o.defaultSelected);
    if (select.selectedIndex < 0) select.selectedIndex = 0;
  });
  copy.querySelectorAll(".errors").forEach((errors) => errors.remove());
  const legend = copy.querySelector("legend");
  if (legend) legend.textContent = t("member", { n: rows.length + 1 });
  last.after(copy);
  copy.querySelector("input")?.focus();
}

async function saveHere(button) {
  const { getKey, putRecord } = await import("./store.js");
  const intake = await getKey("intake");
  if (!intake || !crypto.subtle) {
    showProblems([{ element: form.querySelector("[type=submit]"), text: t("cannot_seal") }]);
    return;
  }
  if (button) button.disabled = true;
  try {
    const { caseBody } = await import("./case-body.js");
    const { seal } = await import("./seal.js");
    const { deviceKey, sign } = await import("./device.js");
    const record = await seal(caseBody(form), intake);
    record.organization_id = panel.dataset.organization;
    const device = await deviceKey();
    record.device = device.thumbprint;
    record.signature = await sign(device, record);
    await putRecord({ ...record, state: "waiting" });
  } finally {
    if (button) button.disabled = false;
  }
  if (navigator.serviceWorker?.controller) {
    // A new document: the typed values go with this one (and it cannot come back).
    location.replace("/cases/new?saved=1");
    return;
  }
  form.querySelectorAll("input[type=text], input[type=date], input[type=number], input[type=tel], textarea")
    .forEach((input) => { input.value = ""; });
  form.querySelectorAll("input[type=checkbox]").forEach((box) => { box.checked = false; });
  saved();
}

function saved() {
  const message = panel.querySelector("[data-intake-saved]");
  message.hidden = false;
  message.focus();
  status();
}

function onSubmit(event) {
  if (usable()) return;  // the server takes it, exactly as without JavaScript
  event.preventDefault();
  document.querySelector("[data-intake-summary]")?.remove();
  if (event.submitter?.name === "add_member") {
    addMember();
    return;
  }
  const found = problems();
  if (found.length) {
    showProblems(found);
    return;
  }
  saveHere(event.submitter).catch(() => {
    showProblems([{ element: form.querySelector("[type=submit]"), text: t("cannot_seal") }]);
  });
}

function start() {
  if (new URLSearchParams(location.search).has("saved")) {
    history.replaceState(null, "", location.pathname);
    saved();
  }
  // The message was about the person before: it goes when the next one is typed.
  form.addEventListener("input", () => {
    panel.querySelector("[data-intake-saved]").hidden = true;
  });
  window.addEventListener("online", () => { reachable = null; probe(); });
  window.addEventListener("offline", () => { reachable = false; status(); });
  window.addEventListener("intake:changed", () => status());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && navigator.onLine) probe();
  });
  setInterval(() => { if (document.visibilityState === "visible" && navigator.onLine) ping(); },
    PROBE_EVERY_MS);
  if (navigator.onLine) prepare().catch(() => status());
  else status();
}

if (form && panel) {
  form.addEventListener("submit", onSubmit);
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start, { once: true });
}
