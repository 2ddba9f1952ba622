// Pearl's one hand-written script: htmx settings and Copy Citation. Focus after a swap
// comes from `autofocus` in the swapped-in HTML, which htmx honours.
// Loaded with `defer` after htmx; every page works without it.
"use strict";

// htmx 2 swaps only 2xx responses by default. A 422 carries the form back with its error
// next to the field, so it must be swapped too; other errors are left to the browser.
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "422", swap: true, error: false },
  { code: "[45]..", swap: false, error: true },
  { code: "...", swap: false },
];

function announce(message) {
  const status = document.getElementById("action-status");
  if (status) status.textContent = message;
}

// Copy Citation copies the citation shown on the page; without the clipboard API it selects
// the text and uses the older copy command, and without JavaScript the link opens the cite page.
async function copyCitation(event) {
  const link = event.target.closest("[data-copy-from]");
  if (!link) return;
  const source = document.getElementById(link.dataset.copyFrom);
  if (!source) return;
  event.preventDefault();
  const text = source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    if (!document.execCommand("copy")) {
      announce("Press Ctrl+C (⌘C) to copy the selected citation.");
      return;
    }
  }
  announce("Citation copied to the clipboard.");
}

document.addEventListener("click", copyCitation);
