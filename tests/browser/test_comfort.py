"""Reading comfort in Chromium: every main page fits a 320 and a 375 px phone with no sideways
scroll and 24 px tap targets; a paper and a journal issue print clean; dark mode keeps AA
contrast; font sizes are in rem, so the reader's text size is respected."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

import markup
import models
from tests.browser.test_article_page import PMID

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "app.css"

NOTE = (
    "Useful for journal club: see [the trial registry](https://clinicaltrials.gov/)"
    " and the dose[^1](Ten milligrams daily.)."
)

# Every main page; the second item says whether it needs a signed-in reader on trial.
PAGES = [
    ("/", False),
    ("/", True),
    (f"/articles/{PMID}?help=1", False),
    (f"/articles/{PMID}?help=1", True),
    ("/search?q=heart", False),
    ("/search?q=heart", True),
    ("/journal/sample", False),
    ("/journal", True),
    ("/journal/interests", True),
    ("/journal/settings", True),
    ("/library", False),
    ("/library", True),
    ("/login", False),
    ("/signup", False),
    ("/my/notes", True),
    ("/shortcuts", False),
    ("/privacy", False),
    ("/password/forgot", False),
    ("/account", True),
    ("/account/delete", True),
]
PAGE_IDS = [f"{path}{' signed in' if signed else ''}" for path, signed in PAGES]


@pytest.fixture
def reading(live_app, on_trial):
    """The reader is on trial, follows a few terms (so /journal is an issue) and has left a
    note with a link and a footnote on the paper."""
    with live_app.app_context():
        user = models.User.by_email(on_trial["email"])
        for kind, value in [("keyword", "Atrial fibrillation"), ("mesh", "Lung Neoplasms")]:
            models.Interest.create(user=user, kind=kind, value=value, key=value.lower())
        note = models.Note.create(article=PMID, author=user, source=NOTE, html="")
        note.html = markup.render(NOTE, prefix=f"n{note.id}")
        note.save()
        models.db.close()
    return on_trial


@pytest.fixture
def open_page(request, page, live_server):
    """Open a path in the page, signed in as the reader first when asked."""

    def go(path, signed):
        if signed:
            request.getfixturevalue("reading")
            request.getfixturevalue("signed_in")
        page.goto(live_server + path)
        return page

    return go


# --- phones ----------------------------------------------------------------------------------


# The targets that are too small. Exempt (WCAG 2.5.8's inline exception): a link or button laid
# out inline whose line also holds words that are not its own, i.e. a link in a sentence
# ("Sign in or create an account to …", an author in the author list, the journal name before
# the date). Everything else — buttons, fields, navigation, the link alone on its line, a
# title, a chip — must be 24 × 24. A checkbox or radio is measured with its label, which takes
# the click too.
SMALL_TARGETS = """() => {
  const small = [];
  const selector = ["a", "button", "input", "select", "textarea", "summary"]
    .flatMap((tag) => [`header ${tag}`, `main ${tag}`]).join(", ");
  for (const el of document.querySelectorAll(selector)) {
    if (el.type === "hidden" || el.closest(".visually-hidden, .skip-link")) continue;
    const style = getComputedStyle(el);
    let box = el.getBoundingClientRect();
    if (style.visibility === "hidden" || (box.width === 0 && box.height === 0)) continue;
    if ((el.type === "checkbox" || el.type === "radio") && el.labels && el.labels.length) {
      box = el.labels[0].getBoundingClientRect();
    }
    if (box.width >= 23.99 && box.height >= 23.99) continue;
    if (style.display === "inline") {
      let block = el.parentElement;
      while (getComputedStyle(block).display.startsWith("inline")) block = block.parentElement;
      let words = "";
      for (const node of block.childNodes) {
        if (node === el || node.contains(el)) continue;
        if (node.nodeType === Node.TEXT_NODE) words += node.textContent;
        else if (node.nodeType === Node.ELEMENT_NODE
                 && getComputedStyle(node).display.startsWith("inline")) words += node.textContent;
      }
      if (/[A-Za-z]{2}/.test(words)) continue;
    }
    const name = (el.textContent || el.value || el.name || "").trim().slice(0, 40);
    const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
    small.push(`${el.tagName.toLowerCase()}#${el.id} "${name}" ${size}`);
  }
  return small;
}"""


@pytest.mark.parametrize(("path", "signed"), PAGES, ids=PAGE_IDS)
def test_fits_a_phone(open_page, path, signed):
    """No sideways scroll at 375 and 320 px; at 320 px every tap target is 24 × 24 px."""
    page = open_page(path, signed)
    for width in (375, 320):
        page.set_viewport_size({"width": width, "height": 740})
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= page.evaluate("window.innerWidth"), (path, width, scroll_width)
    assert page.evaluate(SMALL_TARGETS) == []


# --- print -----------------------------------------------------------------------------------


BREAK_INSIDE = "(el) => getComputedStyle(el).breakInside"


def hidden_in_print(page, selectors):
    """The selectors with an element still visible."""
    return [s for s in selectors if any(el.is_visible() for el in page.locator(s).all())]


def test_a_paper_prints_for_a_journal_club(open_page):
    page = open_page(f"/articles/{PMID}", True)
    page.emulate_media(media="print")
    shown = hidden_in_print(
        page, ["header nav", "#site-search", ".site-header", "nav", "button", "form", ".button",
               "#note-body", ".trial", "#notes-help-toggle", ".note-actions"]
    )  # fmt: skip
    assert shown == []
    readable = [
        "h1",
        ".paper-details .authors",
        "#citation-text",
        "#abstract-heading",
        ".abstract-section",
        ".note",
        ".note-text .footnote",
        "#identifiers-heading",
    ]
    for visible in readable:
        expect(page.locator(visible).first).to_be_visible()
    # Where the note's link and the DOI go, printed after them.
    after = "(el) => getComputedStyle(el, '::after').content"
    link = page.locator(".note-text a[href^=http]").first
    assert "https://clinicaltrials.gov/" in link.evaluate(after)
    doi = page.locator(".id-list a[href*='doi.org']")
    assert doi.get_attribute("href") in doi.evaluate(after)
    # Black on white, and no break inside a note or after a heading.
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    assert page.locator(".note").first.evaluate(BREAK_INSIDE) == "avoid"
    heading = page.locator("#abstract-heading").evaluate("(el) => getComputedStyle(el).breakAfter")
    assert heading == "avoid"
    page.pdf(path="/dev/null")  # the print layout renders


def test_a_journal_issue_prints_as_a_table_of_contents(open_page):
    page = open_page("/journal", True)
    page.emulate_media(media="print")
    assert hidden_in_print(page, [".site-header", "nav", "button", "form", ".entry-actions"]) == []
    for visible in ["#issue-heading", ".toc-heading", ".entry-title", ".entry-reason"]:
        expect(page.locator(visible).first).to_be_visible()
    assert page.locator(".entry").first.evaluate(BREAK_INSIDE) == "avoid"


# --- dark mode -------------------------------------------------------------------------------

# The colour a text sits on: the first ancestor (or itself) with an opaque background.
BACKDROP = """(el) => {
  for (let node = el; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
  }
  return getComputedStyle(document.documentElement).backgroundColor;
}"""


def rgb(colour):
    """(r, g, b) of a computed "rgb(…)" / "rgba(…)" colour."""
    return tuple(int(float(x)) for x in re.findall(r"[\d.]+", colour)[:3])


def luminance(colour):
    """WCAG relative luminance."""
    channels = [c / 255 for c in rgb(colour)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one, other):
    """WCAG contrast ratio of two computed colours."""
    light, dark = sorted([luminance(one), luminance(other)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_helper():
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert contrast("rgb(118, 118, 118)", "rgb(255, 255, 255)") == pytest.approx(4.54, abs=0.01)


def text_contrast(locator):
    """Contrast of a rendered element's text colour with what it sits on."""
    colour = locator.evaluate("(el) => getComputedStyle(el).color")
    return contrast(colour, locator.evaluate(BACKDROP))


def focus_ring_contrast(locator):
    """Contrast of the focus ring with the background it is drawn on (outside the element)."""
    locator.focus()
    colour, style = locator.evaluate(
        "(el) => [getComputedStyle(el).outlineColor, getComputedStyle(el).outlineStyle]"
    )
    assert style != "none", "no focus ring"
    return contrast(colour, locator.evaluate(f"(el) => ({BACKDROP})(el.parentElement)"))


TEXT = ["body", ".paper-title", ".journal-line", ".paper-details .affiliation", ".abstract-section",
        ".copyright", ".citation-text", "#pubmed-link", "#library-open", ".id-list a", ".note-text",
        ".note-meta", ".note-actions a", "#note-body", ".counter", "button[type=submit]",
        "button.secondary", ".hint", ".terms li", "#notes-help-toggle", ".trial-days"]  # fmt: skip


def test_dark_mode_keeps_aa_contrast_on_a_paper(open_page):
    page = open_page(f"/articles/{PMID}?help=1", True)
    page.emulate_media(color_scheme="dark")
    body = page.locator("body")
    assert luminance(body.evaluate(BACKDROP)) < 0.05  # it is dark
    low = {s: round(text_contrast(page.locator(s).first), 2) for s in TEXT}
    assert {s: r for s, r in low.items() if r < 4.5} == {}
    # The focus ring against the page, on a link, a button and the note box.
    page.keyboard.press("Tab")  # keyboard modality, so :focus-visible applies
    for target in ["#pubmed-link", "button[type=submit]", "#note-body", "#library-open"]:
        assert focus_ring_contrast(page.locator(target).first) >= 3, target
    # The note box's border, a UI boundary: 3:1.
    border = page.locator("#note-body").evaluate("(el) => getComputedStyle(el).borderTopColor")
    assert contrast(border, page.locator("#notes").evaluate(BACKDROP)) >= 3


def test_light_mode_focus_ring_and_field_edges_reach_3_to_1(open_page):
    page = open_page(f"/articles/{PMID}?help=1", True)
    page.emulate_media(color_scheme="light")
    assert luminance(page.locator("body").evaluate(BACKDROP)) > 0.8  # it is light
    page.keyboard.press("Tab")  # keyboard modality, so :focus-visible applies
    for target in ["#pubmed-link", "button[type=submit]", "#note-body", "#library-open"]:
        assert focus_ring_contrast(page.locator(target).first) >= 3, target
    border = page.locator("#note-body").evaluate("(el) => getComputedStyle(el).borderTopColor")
    assert contrast(border, page.locator("#notes").evaluate(BACKDROP)) >= 3


def test_dark_mode_keeps_aa_contrast_in_messages_and_results(open_page, live_server):
    page = open_page("/search?q=heart", True)
    page.emulate_media(color_scheme="dark")
    for target in [".result mark", ".result .result-title", ".snippet", ".facets a", ".count"]:
        assert text_contrast(page.locator(target).first) >= 4.5, target
    # A status message ("Note saved.") and an error next to its field.
    page.goto(f"{live_server}/articles/{PMID}")
    page.locator("#note-body").fill("A short pearl.")
    page.get_by_role("button", name="Save", exact=True).click()
    status = page.locator("#notes-list .status")
    expect(status).to_be_visible()
    assert text_contrast(status) >= 4.5
    page.locator("#style-name").fill("no-such-style-at-all")
    page.get_by_role("button", name="Format").click()
    error = page.locator("#style-error")
    expect(error).to_be_visible()
    assert text_contrast(error) >= 4.5
    # The error box the page shows when a request fails.
    page.locator("#request-error").evaluate("(el) => { el.hidden = false; el.textContent = 'No'; }")
    assert text_contrast(page.locator("#request-error")) >= 4.5


def test_dark_mode_keeps_aa_contrast_in_the_journal(open_page):
    page = open_page("/journal", True)
    page.emulate_media(color_scheme="dark")
    for target in [".masthead-name", ".issue-period", ".toc-heading", ".entry-title", ".entry-meta",
                   ".entry-reason", ".entry-actions button", ".journal-nav a", "#issue-mark-read",
                   ".journal-nav a[aria-current]"]:  # fmt: skip
        assert text_contrast(page.locator(target).first) >= 4.5, target
    page.locator(".entry-actions button").first.click()  # Mark read: the entry turns muted
    expect(page.locator(".entry.read").first).to_be_visible()
    assert text_contrast(page.locator(".entry.read .entry-title").first) >= 4.5
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    assert focus_ring_contrast(focused) >= 3


# --- text size -------------------------------------------------------------------------------


def test_no_font_size_in_pixels():
    css = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S)
    sizes = re.findall(r"font(?:-size)?\s*:\s*([^;}]*)", css)
    assert sizes
    assert [s for s in sizes if re.search(r"\d\s*px", s)] == []


def test_text_grows_with_the_readers_text_size(browser, live_server):
    # The page's policy forbids inline styles: this context alone may add one.
    page = browser.new_context(bypass_csp=True).new_page()
    page.goto(f"{live_server}/articles/{PMID}")
    sizes = ["body", ".paper-title", ".abstract-section", ".copyright", "#pubmed-link"]
    measure = "(el) => parseFloat(getComputedStyle(el).fontSize)"
    before = {s: page.locator(s).first.evaluate(measure) for s in sizes}
    page.add_style_tag(content="html { font-size: 20px; }")  # the reader's default, made larger
    after = {s: page.locator(s).first.evaluate(measure) for s in sizes}
    assert before["body"] == 16
    for selector in sizes:
        assert after[selector] == pytest.approx(before[selector] * 20 / 16, abs=0.5), selector
    page.context.close()
