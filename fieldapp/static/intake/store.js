// The phone's outbox, in IndexedDB. It holds sealed records only (the server's public key
// sealed them; nothing on the phone can open them), the server's public intake key, and
// this phone's signing key pair (the private half cannot be exported). No typed value is
// ever written here, nor in localStorage, sessionStorage or the Cache Storage.

const DB_NAME = "fieldapp-intake";
const VERSION = 1;

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("outbox")) {
        db.createObjectStore("outbox", { keyPath: "instance_id" });
      }
      if (!db.objectStoreNames.contains("keys")) {
        db.createObjectStore("keys", { keyPath: "name" });
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// One request in its own transaction. Writes are "strict": the record is on disk before
// the page says it is saved, even if the phone dies a second later.
async function run(store, mode, action) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const options = mode === "readwrite" ? { durability: "strict" } : {};
    const transaction = db.transaction(store, mode, options);
    const request = action(transaction.objectStore(store));
    transaction.oncomplete = () => { db.close(); resolve(request.result); };
    transaction.onerror = () => { db.close(); reject(transaction.error); };
    transaction.onabort = () => { db.close(); reject(transaction.error); };
  });
}

export async function records() {
  const all = await run("outbox", "readonly", (s) => s.getAll());
  return all.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

export const putRecord = (record) => run("outbox", "readwrite", (s) => s.put(record));
export const removeRecord = (id) => run("outbox", "readwrite", (s) => s.delete(id));
export const getKey = (name) => run("keys", "readonly", (s) => s.get(name));
export const putKey = (entry) => run("keys", "readwrite", (s) => s.put(entry));
// Fails when the entry exists already (two tabs making a key at once: one wins).
export const addKey = (entry) => run("keys", "readwrite", (s) => s.add(entry));
