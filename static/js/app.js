// Pearl's one hand-written script: htmx settings, Copy Citation, the keyboard. Focus after a
// swap comes from `autofocus` in the swapped-in HTML, which htmx honours, or else from
// `data-focus-here` (below).
// Loaded with `defer` after htmx; every page works without it.
"use strict";

// htmx 2 swaps only 2xx responses by default. A 422 (what was typed is wrong) and a 503
// (the server could not store it: a full disk, a busy database) carry the form back with
// the typed text and the reason next to the field, so they are swapped too. Any other error
// leaves the page as it is, with what was typed, and says what happened (below).
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "422", swap: true, error: false },
  { code: "503", swap: true, error: false },
  { code: "[45]..", swap: false, error: true },
  { code: "...", swap: false },
];

function showRequestError(message) {
  const box = document.getElementById("request-error");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
}

document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  // The server said what happened in its own words (HX-Trigger, shown below): keep them.
  if ((xhr.getResponseHeader("HX-Trigger") || "").includes("pearl:request-error")) return;
  showRequestError(
    `That did not work: the server answered ${xhr.status} ${xhr.statusText}. ` +
      "Nothing on this page was changed or lost; try again in a moment.",
  );
});

// The server's own words, when it could not store something (views/errors.py).
document.addEventListener("pearl:request-error", (event) => {
  showRequestError(event.detail.value);
});

document.addEventListener("htmx:sendError", () => {
  showRequestError(
    "Pearl could not be reached. Nothing on this page was changed or lost; try again.",
  );
});

document.addEventListener("htmx:beforeRequest", () => {
  const box = document.getElementById("request-error");
  if (box) box.hidden = true;
});

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

// --- Notes: the live counter --------------------------------------------------------------
// Counts exactly as the server does (markup.length): code points after line endings become
// "\n". A textarea already reports "\n", but the same rule is kept for pasted "\r".
const NOTE_LIMIT = 300;

function noteLength(text) {
  return [...text.replace(/\r\n?/g, "\n")].length;
}

function counterText(remaining) {
  const count = Math.abs(remaining);
  const characters = count === 1 ? "character" : "characters";
  if (remaining >= 0) return `${count} ${characters} remaining`;
  return `${count} ${characters} over the limit`;
}

const announceTimers = new WeakMap();

function updateCounter(textarea) {
  const counter = document.querySelector(`[data-counter-for="${textarea.id}"]`);
  if (!counter) return;
  const remaining = Number(textarea.dataset.limit || NOTE_LIMIT) - noteLength(textarea.value);
  counter.textContent = counterText(remaining);
  counter.classList.toggle("over", remaining < 0);
  // Screen readers hear the count once the reader pauses, not at every keystroke.
  const live = document.querySelector(`[data-counter-announce-for="${textarea.id}"]`);
  if (!live) return;
  clearTimeout(announceTimers.get(textarea));
  announceTimers.set(textarea, setTimeout(() => { live.textContent = counterText(remaining); }, 800));
}

document.addEventListener("input", (event) => {
  if (event.target.matches("textarea[data-limit]")) updateCounter(event.target);
});

// --- Keyboard -----------------------------------------------------------------------------
// Search results: j/k or the arrow keys move a visible focus (the result's title link, so
// Enter opens it as any link would); "/" goes to the search box from anywhere.
function searchResults() {
  return [...document.querySelectorAll("#results li.result")];
}

function markResult(item) {
  for (const other of searchResults()) other.classList.toggle("is-current", other === item);
}

function moveResult(step) {
  const items = searchResults();
  if (!items.length) return false;
  const now = items.findIndex((item) => item.classList.contains("is-current"));
  const index = now < 0 ? (step > 0 ? 0 : items.length - 1) : now + step;
  const next = items[Math.min(items.length - 1, Math.max(0, index))];
  markResult(next);
  next.querySelector("a.result-title")?.focus();
  next.scrollIntoView({ block: "nearest" });
  return true;
}

// Tabbing or clicking into a result makes it the current one, so j/k go on from there.
document.addEventListener("focusin", (event) => {
  const item = event.target.closest?.("#results li.result");
  if (item) markResult(item);
});

// Links that act as buttons once the script runs (they toggle, copy, or edit and delete in
// place; without JavaScript they are plain links to a page that does it): a screen reader
// hears a button, and Space presses them as it presses a button.
const BUTTON_LINKS = "a[data-help-toggle], a[data-copy-from], article.note a[hx-get], article.note a[hx-post]";

function markButtonLinks(root) {
  const links = [...(root.matches?.(BUTTON_LINKS) ? [root] : []), ...root.querySelectorAll(BUTTON_LINKS)];
  for (const link of links) link.setAttribute("role", "button");
}

document.addEventListener("htmx:load", (event) => markButtonLinks(event.detail.elt));
document.addEventListener("DOMContentLoaded", () => markButtonLinks(document.body));

// Where a key is typed, not a command: a field, or anything editable (contenteditable in any
// of its spellings, or a widget that says it takes text).
function isTyping(element) {
  if (!(element instanceof Element)) return false;
  if (element.isContentEditable) return true;
  return element.closest("input, textarea, select, [role=textbox], [role=searchbox], [role=combobox]") !== null;
}

// --- Single-key shortcuts on or off (WCAG 2.1.4) -----------------------------------------
// A signed-in reader's choice comes with the page (<body data-shortcuts>, kept on the
// account); a signed-out reader's is kept in this browser.
const SHORTCUTS_KEY = "pearl.shortcuts";

function shortcutsOn() {
  const kept = document.body.dataset.shortcuts;
  if (kept) return kept === "on";
  try {
    return localStorage.getItem(SHORTCUTS_KEY) !== "off";
  } catch {
    return true; // storage refused (a private window): the default
  }
}

// The switch says what holds now: the page was rendered "on" for a signed-out reader before
// the browser's choice was known.
function showShortcutState(root) {
  const on = shortcutsOn();
  for (const form of root.querySelectorAll("form[data-shortcuts-form]")) {
    const state = form.querySelector("[data-shortcuts-state] strong");
    const button = form.querySelector("[data-shortcuts-switch]");
    if (state) state.textContent = on ? "on" : "off";
    if (button) {
      button.value = on ? "0" : "1";
      button.textContent = `Turn ${on ? "off" : "on"} single-key shortcuts`;
    }
  }
  const box = document.getElementById("search-box");
  if (box) {
    if (on) box.setAttribute("aria-keyshortcuts", "/");
    else box.removeAttribute("aria-keyshortcuts");
  }
}

document.addEventListener("DOMContentLoaded", () => showShortcutState(document));
document.addEventListener("htmx:load", (event) => showShortcutState(event.detail.elt.parentElement || document));

// Signed out, the browser keeps the choice: the form does not go to the server.
document.addEventListener("submit", (event) => {
  const form = event.target.closest?.("form[data-shortcuts-form]");
  if (!form || document.body.dataset.shortcuts) return;
  event.preventDefault();
  const on = (event.submitter || form.querySelector("[data-shortcuts-switch]")).value === "1";
  try {
    localStorage.setItem(SHORTCUTS_KEY, on ? "on" : "off");
  } catch {
    form.querySelector("[data-shortcuts-state]").textContent =
      "This browser does not let Pearl keep the choice. Sign in to keep it on your account.";
    return;
  }
  showShortcutState(document);
});

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.matches("textarea.note-body")) {
    event.preventDefault();
    target.form.requestSubmit(target.form.querySelector("button[type=submit]:not([formaction])"));
    return;
  }
  if (event.key === "Escape") {
    const editing = target.closest("form.editing");
    const cancel = editing?.querySelector("[data-cancel-edit]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
      return;
    }
    const hide = document.querySelector("[data-help-toggle][aria-expanded='true']");
    if (hide) {
      event.preventDefault();
      hide.click();
    }
    return;
  }
  if (event.key === " " && target.matches?.(BUTTON_LINKS)) {
    event.preventDefault();
    target.click();
    return;
  }
  // Everything below is a shortcut the reader can turn off. None fires with a modifier
  // held (Shift makes "?" and, on some keyboards, "/"; with Shift an arrow selects text), nor
  // where a key is typed, but for ↓ from the search box to the results.
  if (!shortcutsOn() || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.shiftKey && (event.key.startsWith("Arrow") || event.key === "Enter")) return;
  if (target.id === "search-box" && event.key === "ArrowDown" && moveResult(1)) {
    event.preventDefault();
    return;
  }
  if (isTyping(target)) return;
  if (event.key === "/") {
    const box = document.getElementById("search-box");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  } else if ((event.key === "j" || event.key === "ArrowDown") && moveResult(1)) {
    event.preventDefault();
  } else if ((event.key === "k" || event.key === "ArrowUp") && moveResult(-1)) {
    event.preventDefault();
  } else if (event.key === "Enter" && !target.closest("a, button")) {
    const link = document.querySelector("#results li.result.is-current a.result-title");
    if (link) {
      event.preventDefault();
      link.click();
    }
  } else if (event.key === "n") {
    const box = document.getElementById("note-body");
    if (box) {
      event.preventDefault();
      box.focus();
    }
  } else if (event.key === "?") {
    // The notes help lists the shortcuts too; a page without it opens the list's own page.
    event.preventDefault();
    const toggle = document.querySelector("[data-help-toggle]");
    const back = document.querySelector("#shortcuts-page [data-back]");
    if (toggle) toggle.click();
    else if (back) back.click();
    else if (!document.getElementById("shortcuts-page")) {
      const here = location.pathname + location.search;
      location.assign(`/shortcuts?next=${encodeURIComponent(here)}`);
    }
  }
});

// After the help is toggled, focus stays on its toggle so the keyboard is where it was.
// After a note is cancelled or saved in place, focus goes to the note.
document.addEventListener("htmx:afterSettle", (event) => {
  const swapped = event.detail.elt;
  // An edit box opens with the caret after the text, where the reader goes on writing.
  const box = document.activeElement;
  if (box?.matches("textarea.note-body") && swapped?.contains(box)) {
    box.selectionStart = box.selectionEnd = box.value.length;
  }
  if (swapped?.id === "notes-help") {
    document.getElementById("notes-help-toggle")?.focus();
  } else if (swapped?.matches?.("article.note") && !swapped.querySelector("[autofocus]")) {
    swapped.setAttribute("tabindex", "-1");
    swapped.focus();
  } else if (swapped instanceof Element) {
    focusWhatChanged(swapped);
  }
  if (swapped instanceof Element) announceSwap(swapped);
});

// After a swap focus lands on what changed (the heading or message marked data-focus-here,
// with tabindex=-1), not on the page's body; a swap that starts above the view (the home
// list's "Older →" at the foot of the page) is scrolled to its top.
function focusWhatChanged(swapped) {
  if (swapped.querySelector("[autofocus]")) return; // htmx focuses that one
  const target = swapped.matches("[data-focus-here]") ? swapped : swapped.querySelector("[data-focus-here]");
  if (!target) return;
  target.focus({ preventScroll: true });
  if (swapped.getBoundingClientRect().top < 0) swapped.scrollIntoView({ block: "start" });
  else target.scrollIntoView({ block: "nearest" });
}

// What the swap says ([data-announce]) goes into the page's live region, which existed
// before the swap, so screen readers say it; emptied first, so the same words are said again.
function announceSwap(swapped) {
  const said = swapped.matches("[data-announce]") ? swapped : swapped.querySelector("[data-announce]");
  const region = document.getElementById("announce");
  if (!said || !region) return;
  region.textContent = "";
  setTimeout(() => { region.textContent = said.textContent.replace(/\s+/g, " ").trim(); }, 50);
}
