// The sentences these scripts show, in the reader's language: the server renders them into
// the page as a JSON data block (<script type="application/json">, never executed, so the
// Content-Security-Policy has nothing to say about it). Placeholders stay as %(name)s.

let cached = null;

export function texts() {
  if (cached === null) {
    const block = document.getElementById("intake-texts");
    cached = block ? JSON.parse(block.textContent) : {};
  }
  return cached;
}

export function format(template, values = {}) {
  return String(template ?? "").replace(/%\((\w+)\)[sd]/g,
    (whole, name) => (name in values ? String(values[name]) : whole));
}

export function t(key, values = {}) {
  return format(texts()[key], values);
}

export function when(iso) {
  const lang = document.documentElement.lang || undefined;
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" })
    .format(new Date(iso));
}
