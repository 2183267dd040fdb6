// A "Print" button for pages made to be printed (the referral slip). Without scripts the
// button stays hidden and the browser's own print menu does the same.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
