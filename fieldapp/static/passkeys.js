// Passkeys (WebAuthn): adding one on the security page (accounts/_passkeys_section.html)
// and using one at the login's second step or "Confirm it is you"
// (accounts/_passkey_login.html). The server sends the options as JSON with binary
// values in base64url; the browser's API wants ArrayBuffers, and the answer goes back in
// the standard JSON form (every binary value in base64url). Messages come from the
// server, translated: its error text, or the page's generic one in `data-error`.

const supported = typeof window.PublicKeyCredential === "function" &&
  typeof navigator.credentials?.create === "function";

function toBase64url(buffer) {
  let text = "";
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(value) {
  const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
  const text = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return bytes.buffer;
}

// A refusal the server explained (its message is already in the reader's language).
class ServerRefusal extends Error {}

function csrfToken() {
  return document.querySelector("input[name='csrf_token']")?.value || "";
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json",
               "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  let data = null;
  if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
    data = await response.json();
  }
  if (!response.ok || !data) throw new ServerRefusal(data?.error || "");
  return data;
}

function descriptors(list) {
  return (list || []).map((item) => ({ ...item, id: fromBase64url(item.id) }));
}

function creationOptions(options) {
  return { ...options, challenge: fromBase64url(options.challenge),
           user: { ...options.user, id: fromBase64url(options.user.id) },
           excludeCredentials: descriptors(options.excludeCredentials) };
}

function requestOptions(options) {
  return { ...options, challenge: fromBase64url(options.challenge),
           allowCredentials: descriptors(options.allowCredentials) };
}

function credentialJSON(credential) {
  const answer = credential.response;
  const response = { clientDataJSON: toBase64url(answer.clientDataJSON) };
  if (answer.attestationObject) {
    response.attestationObject = toBase64url(answer.attestationObject);
    if (typeof answer.getTransports === "function") response.transports = answer.getTransports();
  } else {
    response.authenticatorData = toBase64url(answer.authenticatorData);
    response.signature = toBase64url(answer.signature);
    if (answer.userHandle) response.userHandle = toBase64url(answer.userHandle);
  }
  return { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
           response, authenticatorAttachment: credential.authenticatorAttachment || null,
           clientExtensionResults: credential.getClientExtensionResults() };
}

function showError(region, text) {
  if (!region) return;
  region.replaceChildren();
  if (!text) return;
  const message = document.createElement("p");
  message.className = "flash flash-error";
  message.textContent = text;
  region.append(message);
}

// One ceremony at a time per control; on success the page goes where the server says.
async function run(control, region, genericError, ceremony) {
  if (control.disabled) return;
  control.disabled = true;
  showError(region, "");
  try {
    const result = await ceremony();
    location.assign(result.redirect);
  } catch (error) {
    showError(region, error instanceof ServerRefusal && error.message ? error.message
                                                                      : genericError);
    control.disabled = false;
  }
}

async function addPasskey(form) {
  const options = await postJSON(form.dataset.optionsUrl, {});
  const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
  return postJSON(form.dataset.registerUrl, { label: form.elements.label.value,
                                              credential: credentialJSON(credential) });
}

async function usePasskey(button) {
  const options = await postJSON(button.dataset.optionsUrl, {});
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
  return postJSON(button.dataset.loginUrl, { next: button.dataset.next || "",
                                             credential: credentialJSON(credential) });
}

for (const box of document.querySelectorAll("[data-passkey-box]")) {
  for (const element of box.querySelectorAll(
    supported ? "[data-passkey-action]" : "[data-passkey-unsupported]")) {
    element.hidden = false;
  }
  if (!supported) continue;
  const region = box.querySelector("[data-passkey-error]");
  const form = box.querySelector("form[data-passkey-register]");
  if (form) {
    const submit = form.querySelector("button[type='submit']");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(submit, region, form.dataset.error, () => addPasskey(form));
    });
  }
  const button = box.querySelector("button[data-passkey-login]");
  if (button) {
    button.addEventListener("click", () => {
      run(button, region, button.dataset.error, () => usePasskey(button));
    });
  }
}
