// The outbox page: how many records wait on this phone and since when, each by the moment
// it was saved and its state, never whose (the phone cannot tell). "Send now" runs the
// same sync as every page load.

import { t, when } from "./texts.js";

const box = document.querySelector("[data-outbox]");

async function render() {
  const { records } = await import("./store.js");
  const all = await records();
  const waiting = all.filter((r) => r.state === "waiting");
  const summary = box.querySelector("[data-outbox-summary]");
  summary.textContent = waiting.length
    ? t("oldest", { count: waiting.length, when: when(waiting[0].created_at) })
    : t("none_waiting");
  const mine = box.dataset.organization;
  const list = box.querySelector("[data-outbox-list]");
  list.replaceChildren(...all.map((record) => {
    const item = document.createElement("li");
    let state = t("state_waiting");
    if (record.state === "conflict") state = t("state_conflict");
    else if (record.state === "refused") state = t("state_refused");
    else if (mine && record.organization_id !== mine) state = t("state_other_org");
    item.dataset.state = record.state;
    item.textContent = `${t("row", { when: when(record.created_at) })}: ${state}`;
    return item;
  }));
  box.querySelector("[data-outbox-send]").hidden = waiting.length === 0;
}

async function sendNow(button) {
  const summary = box.querySelector("[data-outbox-summary]");
  button.disabled = true;
  summary.textContent = t("sending");
  try {
    const { sync } = await import("./sync.js");
    const result = await sync();
    await render();
    summary.textContent = result.stopped && !result.sent
      ? t("not_sent") : `${t("sent", { count: result.sent })}. ${summary.textContent}`;
  } finally {
    button.disabled = false;
  }
}

if (box) {
  const button = box.querySelector("[data-outbox-send]");
  button.addEventListener("click", () => sendNow(button));
  window.addEventListener("intake:changed", () => render());
  render();
}
