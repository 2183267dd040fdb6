// On every page of a case worker: the service worker that keeps the registration page for
// work without signal, and the outbox, which sends itself now and whenever the connection
// returns. Loaded after the page, so that a slow connection shows the page first.

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

// After a login (logging out drops the kept pages), any page viewed online gets the
// phone ready again: the worker keeps a fresh empty form without a visit to it.
async function keepPagesIfMissing() {
  const worker = navigator.serviceWorker?.controller;
  if (!worker || !window.caches || !navigator.onLine) return;
  const kept = await caches.match("/cases/new", { ignoreSearch: true, ignoreVary: true });
  if (!kept) worker.postMessage({ keep: "pages" });
}

function start() {
  // Ask the browser not to evict this site's storage (the outbox) when space runs short.
  navigator.storage?.persist?.().catch(() => {});
  keepPagesIfMissing().catch(() => {});
  import("./sync.js").then(({ sync }) => {
    const run = () => sync().catch(() => {});
    run();
    window.addEventListener("online", run);
  });
}

if (document.readyState === "complete") start();
else window.addEventListener("load", start, { once: true });
