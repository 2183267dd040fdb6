// This phone's signing key: ECDSA P-256, made here at first use, the private half not
// extractable (no script, this app's included, can read it out; it stays in the browser's
// storage). The server registers its public half; a phone reported lost is revoked, and
// what it signs from then on waits for a case manager instead of being registered.

import { toBase64 } from "./seal.js";
import { addKey, getKey, putKey } from "./store.js";

const NAME = "device";
const SIGNED_FIELDS = ["instance_id", "kid", "wrapped_key", "iv", "ciphertext", "created_at",
  "form_version", "organization_id", "device"];

function base64url(buffer) {
  return toBase64(buffer).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// RFC 7638: SHA-256 over {"crv","kty","x","y"} in that order, base64url.
async function thumbprint(jwk) {
  const text = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

export async function deviceKey() {
  const found = await getKey(NAME);
  if (found) return found;
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false,
    ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const publicJwk = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  const entry = { name: NAME, privateKey: pair.privateKey, publicJwk,
    thumbprint: await thumbprint(publicJwk), registered: [] };
  try {
    await addKey(entry);
    return entry;
  } catch {
    return getKey(NAME);  // another tab made one first: use that one
  }
}

export async function sign(device, record) {
  const text = ["fieldapp-intake/1", ...SIGNED_FIELDS.map((name) => record[name] ?? "")]
    .join("\n");
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" },
    device.privateKey, new TextEncoder().encode(text));
  return toBase64(signature);
}

// Registered once per organization that uses this phone (with the page's session);
// `again` when the server no longer knows it (it answered bad_signature).
export async function ensureRegistered(device, session, { again = false } = {}) {
  if (!again && device.registered.includes(session.organization_id)) return true;
  const response = await fetch("/api/v1/intake/devices", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": session.csrf_token },
    body: JSON.stringify({ public_key: device.publicJwk }),
  });
  // 409: this phone was revoked. Its records still go (into quarantine), so carry on.
  if (response.ok || response.status === 409) {
    if (!device.registered.includes(session.organization_id)) {
      device.registered.push(session.organization_id);
      await putKey(device);
    }
    return true;
  }
  return false;
}
