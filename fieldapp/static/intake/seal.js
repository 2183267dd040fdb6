// Sealing a record exactly as docs/api.md ("Offline intake") says: the case body as UTF-8
// JSON, AES-256-GCM under a fresh 256-bit key and a 96-bit IV, additional data = the
// record's instance id (ASCII); the AES key wrapped with RSA-OAEP (SHA-256) under the
// server's intake key. The phone keeps the public key only: it cannot open what it sealed.

export const FORM_VERSION = "cases.new/1";
const encoder = new TextEncoder();

export function toBase64(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

export async function seal(body, intake) {
  const instanceId = crypto.randomUUID();
  const plaintext = encoder.encode(JSON.stringify(body));
  try {
    const publicKey = await crypto.subtle.importKey(
      "jwk", intake.jwk, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["wrapKey"]);
    // Extractable only so that wrapKey may read it; it never leaves this function unwrapped.
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true,
      ["encrypt"]);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(instanceId), tagLength: 128 },
      key, plaintext);
    const wrapped = await crypto.subtle.wrapKey("raw", key, publicKey, { name: "RSA-OAEP" });
    return {
      instance_id: instanceId,
      kid: intake.kid,
      wrapped_key: toBase64(wrapped),
      iv: toBase64(iv),
      ciphertext: toBase64(ciphertext),
      created_at: new Date().toISOString(),
      form_version: FORM_VERSION,
    };
  } finally {
    plaintext.fill(0);
  }
}
