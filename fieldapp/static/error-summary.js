// The error summary after a failed submit (templates/macros.html). The page already
// works without this: the summary carries `autofocus` and its links are plain anchors.
// This module focuses the summary where a browser ignores `autofocus` on an element
// that is not a control, and, as GOV.UK does, makes a link move the focus into the
// field while showing its label or legend (and opens a <details> around it).

const summary = document.querySelector("[data-error-summary]");

if (summary) {
  if (!document.activeElement || document.activeElement === document.body) {
    summary.focus();
  }
  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#']");
    if (!link) return;
    const input = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!input) return;
    event.preventDefault();
    const details = input.closest("details");
    if (details) details.open = true;
    const choice = input.type === "radio" || input.type === "checkbox";
    const legend = choice ? input.closest("fieldset")?.querySelector("legend") : null;
    const label = input.id ? document.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
    (legend || label || input).scrollIntoView();
    input.focus({ preventScroll: true });
  });
}
