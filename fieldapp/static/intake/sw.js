// fieldapp's service worker (served at /sw.js, scope /). It keeps, for work without signal:
// the empty registration form and the outbox page, each fetched by this worker itself
// with the X-Fieldapp-Offline header (the server marks such an answer as an empty page
// to keep; never a page the user was shown, never an answer to a POST, never /api/), and
// the static assets. Nothing typed and nothing about a person is ever in its caches.

const VERSION = "v1";
const PAGES = `fieldapp-pages-${VERSION}`;
const ASSETS = `fieldapp-assets-${VERSION}`;
const SHELL_PAGES = ["/cases/new", "/intake/outbox"];
const STATIC_ASSETS = [
  "/static/app.css", "/static/error-summary.js",
  "/static/intake/boot.js", "/static/intake/capture.js", "/static/intake/case-body.js",
  "/static/intake/device.js", "/static/intake/outbox-page.js", "/static/intake/seal.js",
  "/static/intake/store.js", "/static/intake/sync.js", "/static/intake/texts.js",
];
const NETWORK_TIMEOUT_MS = 6000;
const SHELL_MAX_AGE_MS = 5 * 60 * 1000;
const refreshed = new Map();  // page -> when this worker last kept a fresh copy

async function keepShell(path) {
  try {
    const response = await fetch(path, {
      credentials: "same-origin", cache: "no-store", redirect: "manual",
      headers: { "X-Fieldapp-Offline": "shell" },
    });
    if (response.status === 200 && response.headers.get("X-Fieldapp-Offline-Shell") === "1") {
      await (await caches.open(PAGES)).put(path, response);
      refreshed.set(path, Date.now());
    }
  } catch {
    // no connection: keep what we have
  }
}

async function keepAssets() {
  const cache = await caches.open(ASSETS);
  await Promise.all(STATIC_ASSETS.map(async (url) => {
    try {
      const response = await fetch(url, { cache: "no-cache" });
      if (response.ok) await cache.put(url, response);
    } catch {
      // try again at the next visit
    }
  }));
}

self.addEventListener("install", (event) => {
  event.waitUntil(Promise.all([keepAssets(), ...SHELL_PAGES.map(keepShell)])
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== PAGES && name !== ASSETS) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function withTimeout(promise) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), NETWORK_TIMEOUT_MS);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); });
  });
}

// The network first (fresh form, fresh CSRF token); the kept empty page when there is no
// connection or it is too slow to wait for.
async function page(event, path) {
  try {
    const response = await withTimeout(fetch(event.request));
    const last = refreshed.get(path) ?? 0;
    if (response.status === 200 && Date.now() - last > SHELL_MAX_AGE_MS) {
      event.waitUntil(keepShell(path));
    }
    return response;
  } catch (error) {
    const kept = await caches.match(path, { cacheName: PAGES, ignoreVary: true });
    if (kept) return kept;
    throw error;
  }
}

async function asset(event) {
  const cache = await caches.open(ASSETS);
  try {
    const response = await withTimeout(fetch(event.request));
    if (response.ok) event.waitUntil(cache.put(event.request, response.clone()));
    return response;
  } catch (error) {
    const kept = await cache.match(event.request, { ignoreSearch: true, ignoreVary: true });
    if (kept) return kept;
    throw error;
  }
}

// A page of this app (boot.js) asks for the empty pages again, after a login.
self.addEventListener("message", (event) => {
  if (event.data?.keep === "pages") event.waitUntil(Promise.all(SHELL_PAGES.map(keepShell)));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    // Logged out: the kept pages go (the next login keeps fresh ones). The outbox stays.
    event.waitUntil(caches.delete(PAGES));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && SHELL_PAGES.includes(url.pathname)) {
    event.respondWith(page(event, url.pathname));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(asset(event));
  }
});
