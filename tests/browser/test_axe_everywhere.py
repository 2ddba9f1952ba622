"""axe-core in Chromium over every page and the states a reader reaches on them, signed out
and signed in, in light and in dark mode: nothing serious or critical anywhere. The walk
records every GET it makes (the page's own htmx requests too) and matches it to the app's URL
map, so a new page that the walk does not visit, and that is not listed in NOT_A_PAGE with a
reason, fails the test; so does a page template it never renders (NOT_WALKED says why for the
few it cannot reach)."""

import contextlib
import email
import email.policy
import os
import re
from pathlib import Path

import flask
import pytest
from playwright.sync_api import expect
from werkzeug.exceptions import HTTPException

import markup
import models
from accounts import create_account
from tests.browser.axe import serious_violations
from tests.browser.conftest import READER, sign_in, wait_settled

PMID = 24997269  # the paper the other browser tests read: structured abstract, MeSH terms
OTHER = {"email": "colleague@example.org", "password": "another long password", "name": "Dr Col"}

# GET routes that answer with something other than an HTML page a person reads.
NOT_A_PAGE = {
    "static": "files (CSS, JavaScript, icons)",
    "articles.plaintext": "text/plain",
    "articles.download": "citation file download (RIS, BibTeX, MEDLINE)",
    "shelf.export_collection": "file download",
    "shelf.export_starred": "file download",
    "shelf.export_search": "file download",
    "my_notes.export_json": "file download",
    "my_notes.export_markdown": "file download",
    "journal.feed": "Atom feed (XML)",
}

# Page templates (not "_" fragments) the walk does not render, and why.
NOT_WALKED = {
    "base.html": "the layout every page extends",
    "database_error.html": "needs a database failing mid-request (see test_disk_full.py)",
}
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def mailed_link(live_app, base, to, path):
    """The newest link under `path` in the mail Pearl wrote to `to` (its outbox, in tests)."""
    mails = sorted((Path(live_app.instance_path) / "outbox").glob("*.eml"), key=os.path.getmtime)
    for mail in reversed(mails):
        text = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
        if to in text["To"]:
            found = re.search(re.escape(base + path) + r"\S+", text.get_content())
            if found:
                return found.group(0)
    raise AssertionError(f"no mail to {to} with a link under {path}")


def add_note(author, source, visibility):
    """A note stored as the app stores it (rendered with its own footnote prefix); its id."""
    note = models.Note.create(
        article=PMID, author=author, source=source, html="", visibility=visibility
    )
    note.html = markup.render(source, prefix=f"n{note.id}")
    note.save(only=[models.Note.html])
    return note.id


@pytest.fixture
def library(live_app, on_trial):
    """The reader's things: a shared and a private note (and a colleague's), a star, a
    collection holding the paper, and interests for their journal. Ids by name."""
    with live_app.app_context():
        create_account(OTHER["email"], OTHER["name"], OTHER["password"])
        reader = models.User.by_email(on_trial["email"])
        colleague = models.User.by_email(OTHER["email"])
        with models.db.atomic():
            ids = {
                "shared": add_note(
                    reader, "Shared: **bold** and a footnote[^1].\n\n[^1]: here", "shared"
                ),
                "private": add_note(reader, "Private: check the _potassium_.", "private"),
                "colleague": add_note(colleague, "A colleague's shared pearl.", "shared"),
            }
            models.Star.create(user=reader, article=PMID)
            collection = models.Collection.create_for(reader, "Journal club")
            collection.add(PMID)
            ids["collection"] = collection.id
            for kind, value in [("mesh", "Lung Neoplasms"), ("type", "Review")]:
                models.Interest.create(user=reader, kind=kind, value=value, key=value.lower())
        models.db.close()
    return ids


def signed_out_states(base, live_app):
    """(name, what to do, selectors that must show) for a visitor: what to do is a path to
    open or a function of the page; the selectors prove the state is what its name says."""

    def older_page(page):
        page.goto(base + "/")
        page.get_by_role("link", name="Older →").click()
        expect(page.locator("#list-count")).to_contain_text("page 2")

    def trial_sent(page):
        page.goto(f"{base}/articles/{PMID}")
        page.locator("#trial-email").fill("visitor@example.org")
        page.get_by_role("button", name="Start my free trial").click()
        expect(page.locator("#trial-sent")).to_be_visible()

    def trial_error(page):
        page.goto(f"{base}/articles/{PMID}")
        page.locator("#trial-email").fill("not-an-address@")
        page.locator("#trial-email").evaluate("box => box.type = 'text'")  # past the browser
        page.get_by_role("button", name="Start my free trial").click()
        expect(page.locator("#trial-error")).to_be_visible()

    def trial_refused_page(page):
        # The form sent as a browser without JavaScript sends it: the whole refusal page.
        page.goto(f"{base}/articles/{PMID}")
        page.locator("#trial-email").fill("not-an-address@")
        with page.expect_navigation():
            page.locator(".trial-form").evaluate(
                "form => HTMLFormElement.prototype.submit.call(form)"
            )
        expect(page.locator("#trial-error")).to_be_visible()

    def sign_in_error(page):
        page.goto(base + "/login")
        page.get_by_label("Email").fill("reader@example.org")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("do not match an account")

    def signup_sent(page):
        page.goto(base + "/signup")
        page.locator("#signup-email").fill("newcomer@example.org")
        page.locator("#signup-display_name").fill("Dr New")
        page.locator("#signup-password").fill("a long enough password")
        page.get_by_role("button", name="Create account").click()
        expect(page.locator("#signup-sent-to")).to_be_visible()

    def magic_link(page):
        page.goto(mailed_link(live_app, base, "newcomer@example.org", "/auth/"))
        expect(page.locator("form[method=post] button")).to_be_visible()

    def reset_link(page):
        page.goto(base + "/password/forgot")
        page.get_by_label("Email").fill(READER["email"])
        page.get_by_role("button", name="Send the link").click()
        expect(page.locator("#reset-sent")).to_be_visible()
        page.goto(mailed_link(live_app, base, READER["email"], "/password/reset/"))
        expect(page.locator("input[type=password]").first).to_be_visible()

    def sample_picker(page):
        page.goto(base + "/journal/sample")
        page.get_by_label("Follow a").select_option("mesh")
        page.locator("#interest-q").fill("lung neo")
        expect(page.locator("#interest-suggestions button.suggestion").first).to_be_visible()
        wait_settled(page)

    return [
        ("home", "/"),
        ("home, older page", older_page),
        ("paper", f"/articles/{PMID}", "#abstract-heading", "#trial-email"),
        ("paper, help open", f"/articles/{PMID}?help=1", "#notes-help-text"),
        ("paper, trial sent", trial_sent),
        ("paper, trial refused", trial_error),
        ("trial refused, without JavaScript", trial_refused_page),
        ("search results", "/search?q=lung+cancer", "#results .result"),
        ("sign in", "/login"),
        ("sign-in error", sign_in_error),
        ("sign up", "/signup"),
        ("sign-up sent", signup_sent),
        ("sign-up link opened", magic_link),
        ("forgot password", "/password/forgot"),
        ("password reset link opened", reset_link),
        ("sample issue, picker", sample_picker),
        ("sample issue", "/journal/sample?interest=mesh:Lung+Neoplasms", "li.entry"),
        ("privacy", "/privacy"),
        ("shortcuts", "/shortcuts"),
        ("magic link, expired", "/auth/not-a-real-token", "h1"),
        ("password reset, expired", "/password/reset/not-a-real-token"),
        ("404", "/no/such/page"),
    ]


def signed_in_states(base, ids):
    """The same for the signed-in reader, with their notes, star, collection and journal."""
    paper = f"{base}/articles/{PMID}"

    def editing_in_place(page):
        page.goto(paper)
        page.locator(f"#note-{ids['shared']}").get_by_role("button", name="Edit").click()
        expect(page.locator(f"#note-{ids['shared']} textarea")).to_be_visible()
        wait_settled(page)

    def refused_note(page):
        page.goto(paper)
        page.locator("#note-body").fill("x" * 301)
        page.keyboard.press("Control+Enter")
        expect(page.locator("#note-body-error")).to_be_visible(timeout=10_000)
        wait_settled(page)

    def style_picked(page):
        page.goto(paper)
        page.get_by_label("Style", exact=True).select_option("apa")
        expect(page.locator("#citation-text")).not_to_be_empty()
        wait_settled(page)

    def style_refused(page):
        page.goto(paper)
        page.get_by_label("Any CSL style by name").fill("no-such-style-at-all")
        page.get_by_role("button", name="Format").click()
        expect(page.locator("#style-error")).to_be_visible()
        wait_settled(page)

    def similar_loaded(page):
        page.goto(paper)
        page.locator("#similar").scroll_into_view_if_needed()
        expect(page.locator("#similar .similar-papers")).to_be_visible(timeout=10_000)
        wait_settled(page)

    def library_form(page):
        page.goto(paper)
        page.locator("#library-open").click()
        expect(page.locator("#actions form")).to_be_visible()
        wait_settled(page)

    def preview_shown(page):
        page.goto(paper)
        page.locator("#note-body").fill("A *preview* with a footnote[^1].\n\n[^1]: below")
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#note-preview em")).to_be_visible()

    def preview_page(page):
        # The Preview button as a browser without JavaScript sends it: the whole page.
        page.goto(paper)
        page.locator("#note-body").fill("A *preview* without JavaScript.")
        with page.expect_navigation():
            page.locator("#note-body").evaluate(
                "box => { box.form.action = '/notes/preview';"
                " HTMLFormElement.prototype.submit.call(box.form); }"
            )
        expect(page.locator("em", has_text="preview")).to_be_visible()

    def note_deleted(page):
        page.goto(paper)
        page.locator(f"#note-{ids['private']}").get_by_role("button", name="Delete").click()
        expect(page.get_by_role("button", name="Undo")).to_be_visible()

    def note_restored(page):
        page.get_by_role("button", name="Undo").click()
        expect(page.locator(f"#note-{ids['private']}")).to_be_visible()

    def issue_entry_starred_and_read(page):
        page.goto(base + "/journal")
        entry = page.locator("li.entry").first.get_attribute("id")
        page.locator(f"#{entry}-star").click()
        expect(page.locator(f"#{entry}")).to_have_class(re.compile("starred"))
        wait_settled(page)
        page.locator(f"#{entry}-read").click()
        expect(page.locator(f"#{entry} .read-flag")).to_be_visible()

    def issue_all_read(page):
        page.locator("#issue-mark-read").click()
        wait_settled(page)

    def shortcuts_off(page):
        page.goto(base + "/shortcuts")
        page.get_by_role("button", name="Turn off single-key shortcuts").click()
        expect(page.get_by_role("button", name=re.compile("Turn on"))).to_be_visible()

    def interests_suggestions(page):
        page.goto(base + "/journal/interests")
        page.get_by_label("Follow a").select_option("mesh")
        page.locator("#interest-q").fill("lung neo")
        expect(page.locator("#interest-suggestions button.suggestion").first).to_be_visible()
        wait_settled(page)

    def my_notes_search(page):
        page.goto(base + "/my/notes")
        page.get_by_label("Search your notes").fill("potass")
        expect(page.locator("#main")).to_contain_text("potassium")
        wait_settled(page)

    collection = f"/collections/{ids['collection']}"
    return [
        ("home", "/"),
        (
            "paper, notes shared and private",
            f"/articles/{PMID}",
            "article.note.private",
            f"#note-{ids['colleague']}",
        ),
        ("paper, help open", f"/articles/{PMID}?help=1"),
        ("paper, a note edited in place", editing_in_place),
        ("paper, a refused note", refused_note),
        ("paper, citation style picked", style_picked),
        ("paper, citation style refused", style_refused),
        ("paper, similar papers loaded", similar_loaded),
        ("paper, library form open", library_form),
        ("paper, note preview", preview_shown),
        ("note preview page", preview_page),
        ("paper, a note deleted (undo offered)", note_deleted),
        ("paper, the note restored", note_restored),
        ("notes panel page", f"/articles/{PMID}/notes"),
        ("citation page", f"/articles/{PMID}/cite?style=vancouver-nlm"),
        ("similar papers page", f"/articles/{PMID}/similar"),
        ("paper's collections page", f"/articles/{PMID}/collections"),
        ("a note's page", f"/notes/{ids['shared']}"),
        ("a note's edit page", f"/notes/{ids['shared']}/edit"),
        ("a note's delete page", f"/notes/{ids['private']}/delete"),
        (
            "search with filters",
            "/search?q=lung&type=Review&abstract=1&sort=date",
            "#results .result",
        ),
        ("search, no results", "/search?q=zzyzxqwv", "#search-results"),
        ("search, query error", "/search?q=year%3Aabc", "#search-error"),
        ("journal, reader's issue", "/journal", "li.entry"),
        ("journal, an entry starred and read", issue_entry_starred_and_read),
        ("journal, all marked read", issue_all_read),
        ("journal, issue 1", "/journal/issues/1"),
        ("journal, archive", "/journal/issues"),
        ("journal, starred", "/journal/starred"),
        ("journal, settings", "/journal/settings"),
        ("journal, interests", "/journal/interests"),
        ("journal, interests with suggestions", interests_suggestions),
        ("library", "/library"),
        ("starred", "/starred", f"#main a[href='/articles/{PMID}']"),
        ("collections", "/collections"),
        ("a collection", collection, f"#main a[href='/articles/{PMID}']"),
        ("a collection, confirm delete", f"{collection}/delete"),
        ("my notes", "/my/notes"),
        ("my notes, searched", my_notes_search),
        ("notes import", "/my/notes/import"),
        ("account", "/account"),
        ("account, delete", "/account/delete"),
        ("email change, expired link", "/account/email/not-a-real-token"),
        ("privacy", "/privacy"),
        ("shortcuts", "/shortcuts"),
        ("shortcuts turned off", shortcuts_off),
        ("404", "/articles/1"),
    ]


def walk(page, base, states, failures):
    """Reach each state and collect axe's serious and critical findings, named by state."""
    for name, step, *shown in states:
        if callable(step):
            step(page)
        else:
            page.goto(base + step)
        for selector in shown:  # the state is what its name says, not an empty page
            expect(page.locator(selector).first).to_be_visible()
        wait_settled(page)
        failures.extend(
            f"{name} ({page.url.removeprefix(base)}): {v}" for v in serious_violations(page)
        )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_and_state_passes_axe(page, live_server, live_app, library, scheme):
    page.emulate_media(color_scheme=scheme)
    adapter = live_app.url_map.bind("127.0.0.1")
    visited = set()

    def record(request):
        if request.method == "GET" and request.url.startswith(live_server):
            path = request.url.removeprefix(live_server).split("?")[0].split("#")[0]
            with contextlib.suppress(HTTPException):  # the 404 page's own address
                visited.add(adapter.match(path, method="GET")[0])

    page.on("request", record)
    rendered = set()

    def note_template(sender, template, context, **extra):
        rendered.add(template.name)

    flask.template_rendered.connect(note_template, live_app)
    failures = []
    walk(page, live_server, signed_out_states(live_server, live_app), failures)
    sign_in(page, live_server, READER)
    walk(page, live_server, signed_in_states(live_server, library), failures)
    # A reader whose journal is closed (no trial): the trial-ended page.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, OTHER)
    walk(page, live_server, [("journal, no trial", "/journal", "#main h1")], failures)

    pages = {rule.endpoint for rule in live_app.url_map.iter_rules() if "GET" in rule.methods}
    failures.extend(
        f"{endpoint}: a GET route the walk never visited (visit it, or say in NOT_A_PAGE why not)"
        for endpoint in sorted(pages - visited - set(NOT_A_PAGE))
    )
    templates = {
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if not path.name.startswith("_")
    }
    failures.extend(
        f"{name}: a page template the walk never rendered (reach it, or say in NOT_WALKED why not)"
        for name in sorted(templates - rendered - set(NOT_WALKED))
    )
    assert failures == [], "\n".join(failures)
