"""A reader in Chromium keeps a library: stars a paper in place on its page (mouse, keyboard,
and with JavaScript off), then makes, renames, reorders and removes collections and puts a
paper into one from its page."""

from playwright.sync_api import expect

import models
from tests.browser.conftest import READER

PMID, OTHER_PMID = 24997269, 25466483


def wait_settled(page):
    # htmx wires up swapped-in controls as it settles; act after that, as a person would.
    expect(page.locator(".htmx-settling")).to_have_count(0)


def stars(live_app):
    with live_app.app_context():
        found = [s.article_id for s in models.Star.select()]
        models.db.close()
    return found


def test_star_in_place_on_the_paper_page(signed_in, live_server, live_app, console_errors):
    page = signed_in
    page.goto(f"{live_server}/articles/{PMID}")
    # A marker that a reload would wipe: the star must not reload the page.
    page.evaluate("document.body.dataset.marker = 'still here'")
    button = page.locator(f"#star-{PMID}-button")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_contain_text("Starred")
    expect(button).to_be_focused()
    assert page.evaluate("document.body.dataset.marker") == "still here"
    assert stars(live_app) == [PMID]
    wait_settled(page)

    # The keyboard takes it off again.
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(button).to_be_focused()
    assert stars(live_app) == []
    wait_settled(page)
    page.keyboard.press("Space")
    expect(button).to_have_attribute("aria-pressed", "true")

    page.reload()
    expect(page.locator(f"#star-{PMID}-button")).to_have_attribute("aria-pressed", "true")
    page.locator("#nav-library").click()
    expect(page.locator(".article-title")).to_have_count(1)
    expect(page.locator("#export-ris")).to_have_attribute("href", "/starred.ris")
    assert console_errors == []


def test_star_with_javascript_off(browser, live_server, live_app, reader):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(READER["email"])
    page.get_by_label("Password").fill(READER["password"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/articles/{PMID}")
    page.locator(f"#star-{PMID}-button").click()
    page.wait_for_url(f"{live_server}/articles/{PMID}")
    expect(page.locator(f"#star-{PMID}-button")).to_have_attribute("aria-pressed", "true")
    assert stars(live_app) == [PMID]
    # And a collection, added and filled without JavaScript.
    page.goto(f"{live_server}/collections")
    page.get_by_label("New collection").fill("Offline")
    page.get_by_role("button", name="Add collection").click()
    expect(page.locator("#collection-heading")).to_have_text("Offline")
    page.goto(f"{live_server}/articles/{PMID}")
    page.locator("#paper-collections-open").click()
    page.get_by_role("button", name="Add to “Offline”").click()
    page.wait_for_url(f"{live_server}/articles/{PMID}")
    page.goto(f"{live_server}/collections")
    expect(page.locator(".collection-size")).to_have_text("1 paper")
    context.close()


def collection_names(page):
    return page.locator("#collection-list .collection-name")


def test_make_rename_reorder_and_remove_collections(signed_in, live_server, console_errors):
    page = signed_in
    page.goto(f"{live_server}/collections")
    expect(page.locator("#collections-empty")).to_be_visible()
    box = page.get_by_label("New collection")
    for name in ("Journal club", "Atrial fibrillation", "Teaching"):
        page.get_by_label("New collection").fill(name)
        page.get_by_label("New collection").press("Enter")
        expect(page.locator("#collections-status")).to_contain_text(f"“{name}” added")
        wait_settled(page)
    expect(collection_names(page)).to_have_text(["Journal club", "Atrial fibrillation", "Teaching"])
    expect(page.get_by_label("New collection")).to_be_focused()

    # A name already used comes back with why, and the text stays.
    box = page.get_by_label("New collection")
    box.fill("journal CLUB")
    box.press("Enter")
    expect(page.locator("#new-collection-error")).to_have_text(
        "You already have a collection called “Journal club”."
    )
    expect(page.get_by_label("New collection")).to_have_value("journal CLUB")
    wait_settled(page)

    # Rename in place.
    rename = page.get_by_label("New name for Teaching")
    rename.fill("Teaching rounds")
    rename.press("Enter")
    expect(collection_names(page)).to_have_text(
        ["Journal club", "Atrial fibrillation", "Teaching rounds"]
    )
    wait_settled(page)

    # Reorder with the keyboard: the focus stays on the collection being moved.
    page.get_by_role("button", name="Move Teaching rounds up").focus()
    page.keyboard.press("Enter")
    expect(collection_names(page)).to_have_text(
        ["Journal club", "Teaching rounds", "Atrial fibrillation"]
    )
    wait_settled(page)
    expect(page.get_by_role("button", name="Move Teaching rounds up")).to_be_focused()
    page.keyboard.press("Enter")
    expect(collection_names(page)).to_have_text(
        ["Teaching rounds", "Journal club", "Atrial fibrillation"]
    )
    wait_settled(page)
    # At the top there is no "up": the focus is on "down".
    expect(page.get_by_role("button", name="Move Teaching rounds down")).to_be_focused()
    page.get_by_role("button", name="Move Journal club down").click()
    expect(collection_names(page)).to_have_text(
        ["Teaching rounds", "Atrial fibrillation", "Journal club"]
    )

    # Remove, after the confirm page.
    page.get_by_role("link", name="Remove Atrial fibrillation").click()
    expect(page.locator("h1")).to_contain_text("Remove the collection “Atrial fibrillation”?")
    page.get_by_role("button", name="Remove “Atrial fibrillation”").click()
    page.wait_for_url(f"{live_server}/collections")
    expect(collection_names(page)).to_have_text(["Teaching rounds", "Journal club"])
    page.reload()
    expect(collection_names(page)).to_have_text(["Teaching rounds", "Journal club"])
    assert [e for e in console_errors if "422" not in e] == []


def test_add_a_paper_to_a_collection_from_its_page(signed_in, live_server, console_errors):
    page = signed_in
    page.goto(f"{live_server}/collections")
    page.get_by_label("New collection").fill("Journal club")
    page.get_by_label("New collection").press("Enter")
    expect(collection_names(page)).to_have_text(["Journal club"])

    page.goto(f"{live_server}/articles/{PMID}")
    page.locator("#paper-collections-open").click()
    add = page.get_by_role("button", name="Add to “Journal club”")
    add.click()
    expect(page.locator("#paper-collections-status")).to_have_text("Added to “Journal club”.")
    expect(page.get_by_role("button", name="Take out of “Journal club”")).to_be_visible()
    wait_settled(page)
    # A new collection from the paper page takes the paper at once.
    page.get_by_label("Add to a new collection").fill("Teaching")
    page.get_by_label("Add to a new collection").press("Enter")
    expect(page.get_by_role("button", name="Take out of “Teaching”")).to_be_visible()
    assert page.url == f"{live_server}/articles/{PMID}"

    page.goto(f"{live_server}/collections")
    expect(page.locator(".collection-size")).to_have_text(["1 paper", "1 paper"])
    page.get_by_role("link", name="Journal club", exact=True).click()
    expect(page.locator(".article-title")).to_have_attribute("href", f"/articles/{PMID}")
    expect(page.locator("#export-nbib")).to_have_attribute("href", "/collections/1.nbib")
    page.get_by_role("button", name="Take out of this collection").click()
    expect(page.locator("#collection-empty")).to_be_visible()
    assert console_errors == []


def test_my_notes_search_as_you_type(signed_in, live_server, live_app, console_errors):
    import markup  # noqa: PLC0415

    with live_app.app_context():
        user = models.User.by_email(READER["email"])
        for pmid, source in ((PMID, "Check the *potassium* first."), (OTHER_PMID, "A pearl.")):
            note = models.Note.create(article=pmid, author=user, source=source, html="")
            note.html = markup.render(source, prefix=f"n{note.id}")
            note.save()
        models.db.close()
    page = signed_in
    page.locator("#nav-my-notes").click()
    expect(page.locator(".my-note")).to_have_count(2)
    # htmx wires the box's input trigger once the page has loaded: typing before that (a
    # busy machine) sent no request, and the list stayed as it was.
    page.wait_for_load_state("load")
    page.get_by_label("Search your notes").fill("potass")
    expect(page.locator(".my-note")).to_have_count(1)
    expect(page.locator(".my-note .note-text em")).to_have_text("potassium")
    expect(page).to_have_url(f"{live_server}/my/notes?q=potass")
    expect(page.locator("#export-notes-md")).to_have_attribute("href", "/my/notes.md")
    with page.expect_download() as download:
        page.locator("#export-notes-json").click()
    assert download.value.suggested_filename == "pearl-notes.json"
    assert console_errors == []
