// The outbox sends itself: on every page load and whenever the connection returns. A
// record leaves the phone only after the server answered 200, 201 or 202; a 409 (the
// server has other content under its id) or an unopenable record stays and is shown on
// the outbox page. Replays are harmless: the server answers a record it has with its
// first answer. Records saved for another organization's account wait for it.

import { deviceKey, ensureRegistered, sign } from "./device.js";
import { getKey, putKey, putRecord, records, removeRecord } from "./store.js";

const SENT = new Set([200, 201, 202]);
const PROBE_TIMEOUT_MS = 8000;

function changed() {
  window.dispatchEvent(new CustomEvent("intake:changed"));
}

// Logged in and reachable: a fresh CSRF token and the organization; otherwise null.
export async function session() {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    const response = await fetch("/intake/session", {
      credentials: "same-origin", cache: "no-store", redirect: "manual",
      headers: { Accept: "application/json" }, signal: controller.signal,
    });
    if (response.status !== 200) return null;
    return await response.json();
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

// The server's public intake key, kept for the hours without signal (a public key: no
// secret). A rotated key replaces it; records sealed under the old one still open.
export async function refreshIntakeKey() {
  try {
    const response = await fetch("/api/v1/intake/key", { cache: "no-store" });
    if (!response.ok) return;
    const { kid, jwk } = await response.json();
    await putKey({ name: "intake", kid, jwk, fetched_at: new Date().toISOString() });
  } catch {
    // offline: keep the key we have
  }
}

async function post(record, token) {
  const body = {};
  for (const name of ["instance_id", "kid", "wrapped_key", "iv", "ciphertext", "created_at",
    "form_version", "organization_id", "device", "signature"]) {
    body[name] = record[name] ?? null;
  }
  return fetch("/api/v1/intake", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": token },
    body: JSON.stringify(body),
  });
}

async function errorCode(response) {
  try {
    return (await response.json()).error?.code ?? "";
  } catch {
    return "";
  }
}

async function sendAll() {
  const who = await session();
  if (who === null) return { sent: 0, stopped: true };
  await refreshIntakeKey();
  const waiting = (await records()).filter((r) => r.state === "waiting"
    && r.organization_id === who.organization_id);
  let sent = 0;
  const device = waiting.length ? await deviceKey() : null;
  if (device && !(await ensureRegistered(device, who))) return { sent, stopped: true };
  let registeredAgain = false;
  for (const record of waiting) {
    let response;
    let code = "";
    try {
      response = await post(record, who.csrf_token);
      code = response.status === 422 ? await errorCode(response) : "";
      if (code === "bad_signature" && !registeredAgain) {
        // The server does not know this phone (any more): register it, then try again.
        registeredAgain = true;
        if (await ensureRegistered(device, who, { again: true })) {
          response = await post(record, who.csrf_token);
          code = response.status === 422 ? await errorCode(response) : "";
        }
      }
    } catch {
      return { sent, stopped: true };  // the connection went again: later
    }
    if (SENT.has(response.status)) {
      await removeRecord(record.instance_id);
      sent += 1;
    } else if (response.status === 409) {
      await putRecord({ ...record, state: "conflict" });
    } else if (response.status === 422 && code !== "bad_signature") {
      await putRecord({ ...record, state: "refused" });  // it will never open: shown
    } else {
      return { sent, stopped: true };  // logged out, throttled, server trouble: later
    }
    changed();
  }
  return { sent, stopped: false };
}

// One sync at a time across this phone's tabs (the server would cope; the phone saves work).
export async function sync() {
  if (!navigator.onLine) return { sent: 0, stopped: true };
  const result = navigator.locks
    ? await navigator.locks.request("fieldapp-intake-sync", { ifAvailable: true },
      (lock) => (lock ? sendAll() : { sent: 0, stopped: true }))
    : await sendAll();
  changed();
  return result;
}
