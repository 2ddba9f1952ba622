"""A reader in Chromium writes notes ("pearls") under a paper: the live counter and the
300-character limit, Ctrl+Enter, the formatting help and its keys, preview, edit in place,
delete with undo, what a signed-out reader sees, and that no stored note can run script."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

import markup
import models
from tests.browser.conftest import READER, wait_settled

PMID = 24997269
PAYLOADS_FILE = Path(__file__).parent.parent / "data" / "xss_payloads.txt"
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}


# --- helpers ------------------------------------------------------------------------------


def paper_url(live_server, pmid=PMID):
    return f"{live_server}/articles/{pmid}"


def note_text(length):
    """A note of exactly `length` characters (a line break counting one), several lines long,
    with nothing the note format would turn into markup."""
    lines = "\n".join(f"Pearl line {n} on the cohort size and follow up" for n in range(1, 20))
    text = lines[:length]
    assert len(text) == length and "\n" in text
    return text[:-1] + "x"  # never end on a space or a line break


def type_with_keyboard(page, text):
    """Type `text` key by key; each line break is a press of Enter, as a reader types it."""
    for number, line in enumerate(text.split("\n")):
        if number:
            page.keyboard.press("Enter")
        page.keyboard.type(line)


def stored_notes(live_app):
    """(source, visibility, deleted) of every note in the database, oldest first."""
    with live_app.app_context():
        rows = [
            (note.source, note.visibility, note.deleted_at is not None)
            for note in models.Note.select().order_by(models.Note.id)
        ]
        models.db.close()
    return rows


def add_note(live_app, source, visibility=models.Note.SHARED, pmid=PMID, email=READER["email"]):
    """Store a note straight in the database, rendered as the app renders it; its id."""
    with live_app.app_context():
        author = models.User.by_email(email)
        note = models.Note.create(
            article=pmid, author=author, source=source, html="", visibility=visibility
        )
        note.html = markup.render(source, prefix=f"n{note.id}")
        note.save(only=[models.Note.html])
        models.db.close()
    return note.id


def only_422_errors(console_errors):
    """Console errors other than the failed-resource line Chromium logs for a 422 answer."""
    return [error for error in console_errors if "422" not in error]


# --- writing a note -----------------------------------------------------------------------


def test_a_note_of_exactly_300_characters_saves_with_ctrl_enter(
    signed_in, live_server, live_app, console_errors
):
    page = signed_in
    page.goto(paper_url(live_server))
    expect(page.locator("#notes-count")).to_have_text("0 notes")
    box = page.locator("#note-body")
    expect(box).to_have_attribute("placeholder", "Knowledge, pearl, summary or comment to share?")
    expect(page.locator("#note-body-counter")).to_have_text("300 characters remaining")
    text = note_text(300)
    box.click()
    type_with_keyboard(page, text)
    expect(box).to_have_value(text)
    counter = page.locator("#note-body-counter")
    expect(counter).to_have_text("0 characters remaining")
    expect(counter).not_to_have_class(re.compile(r"\bover\b"))

    page.keyboard.press("Control+Enter")

    expect(page.locator("#note-saved")).to_have_text("Note saved.", timeout=10_000)
    expect(page.locator("#notes-count")).to_have_text("1 note")
    newest = page.locator("#notes-list article.note").first
    expect(newest).to_have_id(re.compile(r"^note-\d+$"))
    expect(page.locator("#notes-list article.note")).to_have_count(1)
    assert newest.locator(".note-text").inner_text() == text
    expect(newest.locator(".note-text br")).to_have_count(text.count("\n"))
    expect(newest.locator(".note-author")).to_have_text("You")
    box = page.locator("#note-body")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    expect(page.locator("#note-body-counter")).to_have_text("300 characters remaining")
    # The browser sent the line breaks as \r\n; the server counted them as one each.
    assert stored_notes(live_app) == [(text, models.Note.PRIVATE, False)]
    assert page.url == paper_url(live_server)
    assert console_errors == []


def test_a_note_of_301_characters_is_refused_and_kept(
    signed_in, live_server, live_app, console_errors
):
    page = signed_in
    page.goto(paper_url(live_server))
    box = page.locator("#note-body")
    text = note_text(301)
    box.click()
    type_with_keyboard(page, text)
    counter = page.locator("#note-body-counter")
    expect(counter).to_have_text("1 character over the limit")
    expect(counter).to_have_class(re.compile(r"\bover\b"))

    with page.expect_response(re.compile(rf"/articles/{PMID}/notes$")) as answer:
        page.keyboard.press("Control+Enter")
    assert answer.value.status == 422

    error = page.locator("#note-body-error")
    expect(error).to_be_visible(timeout=10_000)
    expect(error).to_have_text("This note is 301 characters; the limit is 300. Shorten it by 1.")
    box = page.locator("#note-body")
    expect(box).to_have_value(text)
    assert box.input_value() == text
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#note-body-counter")).to_have_text("1 character over the limit")
    expect(page.locator("#note-body-counter")).to_have_class(re.compile(r"\bover\b"))
    expect(page.locator("#notes-count")).to_have_text("0 notes")
    expect(page.locator("#notes-list article.note")).to_have_count(0)
    assert stored_notes(live_app) == []
    assert only_422_errors(console_errors) == []


@pytest.mark.parametrize("typed", ["", "   \n  "], ids=["empty", "whitespace"])
def test_an_empty_note_is_refused(signed_in, live_server, live_app, console_errors, typed):
    page = signed_in
    page.goto(paper_url(live_server))
    page.locator("#note-body").click()
    type_with_keyboard(page, typed)
    with page.expect_response(re.compile(rf"/articles/{PMID}/notes$")) as answer:
        page.keyboard.press("Control+Enter")
    assert answer.value.status == 422
    expect(page.locator("#note-body-error")).to_have_text(
        "Write something before saving.", timeout=10_000
    )
    expect(page.locator("#note-body")).to_have_value(typed)
    expect(page.locator("#notes-count")).to_have_text("0 notes")
    assert stored_notes(live_app) == []
    assert only_422_errors(console_errors) == []


def test_a_refused_note_keeps_a_leading_line_break(
    signed_in, live_server, live_app, console_errors
):
    page = signed_in
    page.goto(paper_url(live_server))
    text = "\n" + note_text(300)  # 301 characters, the first a line break
    page.locator("#note-body").click()
    type_with_keyboard(page, text)
    expect(page.locator("#note-body-counter")).to_have_text("1 character over the limit")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#note-body-error")).to_be_visible(timeout=10_000)
    expect(page.locator("#note-body-counter")).to_have_text("1 character over the limit")
    # Fails: the box holds 300 characters (the line break is gone) under a counter that says
    # "1 character over the limit", and saving again stores a note the reader did not write.
    assert page.locator("#note-body").input_value() == text
    assert only_422_errors(console_errors) == []


def test_editing_keeps_a_leading_line_break(signed_in, live_server, live_app, console_errors):
    page = signed_in
    note_id = add_note(live_app, "\nLeading break", models.Note.PRIVATE)
    page.goto(paper_url(live_server))
    page.locator(f"#note-{note_id}").get_by_role("button", name="Edit").click()
    field = page.locator(f"#note-{note_id}-body")
    expect(field).to_be_focused(timeout=10_000)
    expect(page.locator(f"#note-{note_id}-body-counter")).to_have_text("286 characters remaining")
    # Fails: the box shows "Leading break", and saving unchanged rewrites the stored source.
    assert field.input_value() == "\nLeading break"
    assert console_errors == []


# --- help and keys ------------------------------------------------------------------------


def test_help_opens_and_closes_by_key_and_by_link(signed_in, live_server, console_errors):
    page = signed_in
    page.goto(paper_url(live_server))
    help_text = page.locator("#notes-help-text")
    toggle = page.locator("#notes-help-toggle")
    expect(help_text).to_have_count(0)
    expect(toggle).to_have_text("help")
    assert page.evaluate("document.activeElement === document.body")

    # After each swap the app moves the focus to the new toggle once htmx has settled (and
    # wired it up): waiting for that focus is what a reader's next key or click relies on.
    page.keyboard.press("?")
    expect(help_text).to_be_visible(timeout=10_000)
    expect(help_text).to_contain_text("[my link to pubmed](http://pubmed.com)")
    expect(toggle).to_have_text("hide…")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_be_focused()

    page.keyboard.press("Escape")
    expect(help_text).to_have_count(0, timeout=10_000)
    expect(toggle).to_have_text("help")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()

    toggle.click()
    expect(help_text).to_be_visible(timeout=10_000)
    expect(toggle).to_have_text("hide…")
    expect(toggle).to_be_focused()
    page.get_by_role("button", name="hide…").click()
    expect(help_text).to_have_count(0, timeout=10_000)
    expect(toggle).to_have_text("help")
    expect(toggle).to_be_focused()
    # A button answers Space as well as Enter (the toggle is a link without the script).
    expect(toggle).to_have_attribute("role", "button")
    page.keyboard.press("Space")
    expect(help_text).to_be_visible(timeout=10_000)
    expect(toggle).to_be_focused()
    wait_settled(page)  # htmx wires up the swapped-in toggle as it settles
    page.keyboard.press("Space")
    expect(help_text).to_have_count(0, timeout=10_000)
    assert page.url == paper_url(live_server)
    assert console_errors == []


def test_question_mark_in_the_note_box_is_just_typed(signed_in, live_server, console_errors):
    page = signed_in
    page.goto(paper_url(live_server))
    help_requests = []
    page.on("request", lambda r: help_requests.append(r.url) if "help=1" in r.url else None)
    box = page.locator("#note-body")
    box.click()
    page.keyboard.type("Why?")
    page.keyboard.press("?")
    expect(box).to_have_value("Why??")
    # A round trip after the keys: had "?" asked for the help, that request went first.
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#note-preview")).to_contain_text("Why??", timeout=10_000)
    expect(page.locator("#notes-help-text")).to_have_count(0)
    expect(page.locator("#notes-help-toggle")).to_have_text("help")
    assert help_requests == []
    expect(box).to_have_value("Why??")
    assert console_errors == []


def test_n_focuses_the_note_box(signed_in, live_server, console_errors):
    page = signed_in
    page.goto(paper_url(live_server))
    box = page.locator("#note-body")
    expect(box).not_to_be_focused()
    page.keyboard.press("n")
    expect(box).to_be_focused()
    expect(box).to_have_value("")  # the key moved the focus; it typed nothing
    page.keyboard.type("no")  # in the box, "n" is a letter like any other
    expect(box).to_have_value("no")
    expect(box).to_be_focused()
    assert console_errors == []


# --- preview ------------------------------------------------------------------------------


def test_preview_renders_the_formatting_and_saves_nothing(
    signed_in, live_server, live_app, console_errors
):
    page = signed_in
    page.goto(paper_url(live_server))
    source = "Key *point*: _always_ check **K<sup>+</sup>**"
    page.locator("#note-body").click()
    page.keyboard.type(source)
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#note-preview")
    expect(preview.locator("em")).to_have_text("point", timeout=10_000)
    expect(preview.locator("u")).to_have_text("always")
    expect(preview.locator("strong")).to_have_text("K+")
    expect(preview.locator("strong > sup")).to_have_text("+")
    expect(preview.locator(".note-text")).to_have_text("Key point: always check K+")
    expect(page.locator("#note-body")).to_have_value(source)
    expect(page.locator("#notes-count")).to_have_text("0 notes")
    expect(page.locator("#notes-list article.note")).to_have_count(0)
    assert page.url == paper_url(live_server)
    assert stored_notes(live_app) == []
    assert console_errors == []


# --- edit, delete, undo -------------------------------------------------------------------


def save_note(page, text):
    """Type `text` in the note box and save it with Ctrl+Enter; the new note's locator."""
    page.locator("#note-body").click()
    type_with_keyboard(page, text)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#note-saved")).to_have_text("Note saved.", timeout=10_000)
    # The empty box takes the focus once htmx has settled the new panel (links wired up).
    expect(page.locator("#note-body")).to_be_focused()
    note = page.locator("#notes-list article.note").first
    expect(note.locator(".note-text")).to_have_text(text)
    return page.locator(f"#{note.get_attribute('id')}")


def test_edit_a_note_in_place(signed_in, live_server, live_app, console_errors):
    page = signed_in
    page.goto(paper_url(live_server))
    note = save_note(page, "Small cohort")
    note_id = note.get_attribute("id")
    expect(note.locator(".edited")).to_have_count(0)

    note.get_by_role("button", name="Edit").click()
    form = page.locator(f"form.editing#{note_id}")
    field = page.locator(f"#{note_id}-body")
    expect(form).to_be_visible(timeout=10_000)
    expect(field).to_be_focused()
    expect(field).to_have_value("Small cohort")
    expect(page.locator(f"#{note_id}-body-counter")).to_have_text("288 characters remaining")
    page.keyboard.press("Control+A")
    page.keyboard.type("Small cohort, *short* follow up")
    expect(page.locator(f"#{note_id}-body-counter")).to_have_text("269 characters remaining")
    page.keyboard.press("Control+Enter")

    note = page.locator(f"article.note#{note_id}")
    expect(note.locator(".note-text")).to_have_text("Small cohort, short follow up", timeout=10_000)
    expect(note.locator(".note-text em")).to_have_text("short")
    expect(note.locator(".edited")).to_have_text("(edited)")
    expect(page.locator("form.editing")).to_have_count(0)
    expect(note).to_be_focused()  # the keyboard stays where the reader was
    expect(page.locator("#notes-count")).to_have_text("1 note")
    expect(page.locator("#notes-list article.note")).to_have_count(1)
    assert stored_notes(live_app) == [
        ("Small cohort, *short* follow up", models.Note.PRIVATE, False)
    ]

    # Edit again, change the text, and Escape: nothing changes.
    note.get_by_role("button", name="Edit").click()
    expect(form).to_be_visible(timeout=10_000)
    expect(field).to_be_focused()
    page.keyboard.type(" and more")  # the caret opens after the text
    expect(field).to_have_value("Small cohort, *short* follow up and more")
    page.keyboard.press("Escape")
    expect(page.locator("form.editing")).to_have_count(0, timeout=10_000)
    expect(note.locator(".note-text")).to_have_text("Small cohort, short follow up")
    expect(note.locator(".edited")).to_have_text("(edited)")
    expect(note).to_be_focused()  # the keyboard stays where the reader was
    assert stored_notes(live_app) == [
        ("Small cohort, *short* follow up", models.Note.PRIVATE, False)
    ]
    assert console_errors == []


def test_delete_then_undo(signed_in, live_server, live_app, console_errors):
    page = signed_in
    page.goto(paper_url(live_server))
    note = save_note(page, "Pearl to delete")
    note_id = note.get_attribute("id")
    expect(page.locator("#notes-count")).to_have_text("1 note")

    note.get_by_role("button", name="Delete").click()
    slot = page.locator(f"#{note_id}")
    expect(slot).to_contain_text("Note deleted.", timeout=10_000)
    expect(page.locator("#notes-count")).to_have_text("0 notes")
    expect(page.locator(f"article.note#{note_id}")).to_have_count(0)
    undo = slot.get_by_role("button", name="Undo")
    expect(undo).to_be_focused()
    assert stored_notes(live_app) == [("Pearl to delete", models.Note.PRIVATE, True)]

    undo.click()
    note = page.locator(f"article.note#{note_id}")
    expect(note.locator(".note-text")).to_have_text("Pearl to delete", timeout=10_000)
    expect(page.locator("#notes-count")).to_have_text("1 note")
    expect(page.get_by_text("Note deleted.")).to_have_count(0)
    assert stored_notes(live_app) == [("Pearl to delete", models.Note.PRIVATE, False)]

    page.reload()
    expect(page.locator(f"article.note#{note_id} .note-text")).to_have_text("Pearl to delete")
    expect(page.locator("#notes-count")).to_have_text("1 note")
    assert console_errors == []


# --- signed out ---------------------------------------------------------------------------


def test_signed_out_reader_sees_shared_notes_and_signs_in_back_to_the_paper(
    page, live_server, live_app, reader, console_errors
):
    shared = add_note(live_app, "Shared *pearl*: check K<sup>+</sup>", models.Note.SHARED)
    private = add_note(live_app, "My private reminder", models.Note.PRIVATE)

    page.goto(paper_url(live_server))
    expect(page.locator("#notes-count")).to_have_text("1 note")
    note = page.locator(f"article.note#note-{shared}")
    expect(note.locator(".note-text")).to_have_text("Shared pearl: check K+")
    expect(note.locator(".note-author")).to_have_text(reader["name"])
    expect(note.get_by_role("button", name="Edit")).to_have_count(0)
    expect(note.get_by_role("button", name="Delete")).to_have_count(0)
    expect(page.locator(f"#note-{private}")).to_have_count(0)
    expect(page.locator("#notes-sign-in")).to_be_visible()
    expect(page.locator("#note-body")).to_have_count(0)
    expect(page.locator("#note-form")).to_have_count(0)

    page.locator("#notes-sign-in").get_by_role("link", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Sign in")
    page.get_by_label("Email").fill(reader["email"])
    page.get_by_label("Password").fill(reader["password"])
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile(rf"/articles/{PMID}(#notes)?$"))
    assert urlsplit(page.url).path == f"/articles/{PMID}"
    expect(page.locator("#note-body")).to_be_visible()
    expect(page.locator("#notes-sign-in")).to_have_count(0)
    expect(page.locator("#notes-count")).to_have_text("2 notes")
    expect(page.locator(f"#note-{private} .note-text")).to_have_text("My private reminder")
    assert console_errors == []


# --- no note runs script ------------------------------------------------------------------


def load_payloads():
    """The XSS payloads, one a line, with the file's escapes (\\n \\r \\t \\0) decoded."""
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").split("\n")
    return [
        re.sub(r"\\([nrt0])", lambda match: _ESCAPES[match[1]], line)
        for line in lines
        if line and not line.startswith("#")
    ]


# What may be left in a note's HTML (spec rule 6), checked in the page the browser built.
FIND_UNSAFE_MARKUP = r"""
(notes) => {
  const allowed = new Set(["p", "br", "em", "strong", "u", "sup", "sub", "ol", "ul", "li", "a",
                           "img", "div", "hr"]);
  const urlAttributes = new Set(["href", "src", "action", "formaction", "xlink:href", "data",
                                 "background", "dynsrc", "lowsrc", "srcdoc", "poster"]);
  const problems = [];
  for (const note of notes) {
    const where = note.closest("article.note").id;
    for (const element of note.querySelectorAll("*")) {
      const tag = element.localName;
      if (!allowed.has(tag) || element.namespaceURI !== "http://www.w3.org/1999/xhtml") {
        problems.push(`${where}: <${tag}>`);
      }
      for (const {name, value} of element.attributes) {
        const bad = name.startsWith("on") || name === "style"
          || (urlAttributes.has(name) && !/^(https?:\/\/[^\/\\\s]|mailto:|#x\d+-fn)/i.test(value))
          || (name === "id" && !/^x\d+-fn(ref)?-\d+(-\d+)?$/.test(value));
        if (bad) problems.push(`${where}: <${tag} ${name}="${value}">`);
      }
    }
  }
  return problems;
}
"""


def storable(payloads):
    """The payloads as Pearl stores them (markup.validate, which every way of writing a note
    goes through), and those it refuses: the ones carrying a NUL, a control character."""
    stored, refused = [], []
    for payload in payloads:
        try:
            stored.append(markup.validate(payload))
        except markup.NoteError as error:
            assert "control character (U+0000)" in str(error), (payload, error)
            refused.append(payload)
    return stored, refused


@pytest.mark.parametrize("csp", ["enforced", "bypassed"])
def test_no_stored_note_runs_script(browser, live_server, live_app, reader, csp):
    """Every payload stored as a shared note on one paper: the page shows them all and no
    script runs. With the Content-Security-Policy bypassed, the sanitizer alone must hold.
    (The payloads with a NUL can never be stored: markup.validate refuses them, and
    tests/test_markup.py renders them all the same.)"""
    payloads, refused = storable(load_payloads())
    assert len(payloads) > 150
    assert refused == [p for p in load_payloads() if "\0" in p] and len(refused) == 4
    live_app.config["NOTES_PER_PAGE"] = 1000
    with live_app.app_context():
        author = models.User.by_email(reader["email"])
        with models.db.atomic():
            ids = [
                models.Note.create(
                    article=PMID,
                    author=author,
                    source=payload,
                    html=markup.render(payload, prefix=f"x{i}"),
                    visibility=models.Note.SHARED,
                ).id
                for i, payload in enumerate(payloads)
            ]
        models.db.close()

    context = browser.new_context(bypass_csp=csp == "bypassed")
    try:
        page = context.new_page()
        outside = []

        def refuse(route):
            outside.append(route.request.url)
            route.abort()

        page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), refuse)
        dialogs, errors = [], []

        def on_dialog(dialog):
            dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))

        page.goto(paper_url(live_server))
        page.wait_for_load_state("load")
        notes = page.locator("#notes-list article.note")
        expect(notes).to_have_count(len(payloads))
        expect(page.locator("#notes-count")).to_have_text(f"{len(payloads)} notes")

        # What a mouse would set off: hover every note, and fire mouseover on every element.
        for text in page.locator("#notes-list .note-text").all():
            text.hover()
        page.eval_on_selector_all(
            "#notes-list .note-text, #notes-list .note-text *",
            """elements => elements.forEach(element => {
                 for (const type of ["mouseover", "mouseenter", "mousemove"]) {
                   element.dispatchEvent(new MouseEvent(type, {bubbles: true}));
                 }
               })""",
        )

        unsafe = page.eval_on_selector_all("#notes-list .note-text", FIND_UNSAFE_MARKUP)
        refused = [e for e in errors if "Failed to load resource" not in e]
        if csp == "enforced":
            # The policy reports what it stops: no inline script or handler ever got there.
            refused = [e for e in refused if "Loading the image" not in e]
        found = {"dialogs": dialogs, "unsafe markup": unsafe, "console errors": refused}
        assert found == {"dialogs": [], "unsafe markup": [], "console errors": []}
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.evaluate("document.scripts.length") == 2  # htmx and app.js, no more
        # Nothing is lost: what was not allowed is shown as text (spec rule 7).
        first = page.locator(f"#note-{ids[0]} .note-text")
        expect(first).to_have_text("<script>alert(1)</script>")
        assert urlsplit(page.url).path == f"/articles/{PMID}"
        # Only images the sanitizer allowed (http/https) tried to leave localhost.
        assert all(url.startswith(("http://", "https://")) for url in outside), outside
    finally:
        context.close()


# A 1x1 transparent PNG, served in place of the image host so nothing leaves localhost.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201ffa1d5e30000000049454e44ae426082"
)


def test_an_image_in_a_note_is_shown(page, live_server, live_app, reader):
    image = "https://example.org/graph.jpg"
    fetched = []

    def serve(route):
        fetched.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    page.route(image, serve)
    add_note(live_app, f'![alt text]({image} "Image Title Text")')
    page.goto(paper_url(live_server))
    img = page.locator("#notes-list .note-text img")
    expect(img).to_have_attribute("alt", "alt text")
    expect(img).to_have_attribute("title", "Image Title Text")
    img.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('#notes-list .note-text img').complete")
    # Fails: the browser never asks for the image (naturalWidth 0, nothing fetched).
    assert img.evaluate("image => image.naturalWidth") == 1
    assert fetched == [image]
