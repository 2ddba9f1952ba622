"""Single-key shortcuts in Chromium (WCAG 2.1.4): a reader turns them off (kept on the
account when signed in, in the browser when signed out) and then "n", "/" and "?" do
nothing; typing in a field never sets one off; "?" lists every shortcut."""

from playwright.sync_api import expect

from tests.browser.conftest import wait_settled

PMID = 24997269


def test_n_does_nothing_once_the_reader_turns_shortcuts_off(signed_in, live_server, console_errors):
    page = signed_in
    paper = f"{live_server}/articles/{PMID}"
    page.goto(paper)
    box = page.locator("#note-body")
    page.keyboard.press("n")
    expect(box).to_be_focused()  # on: "n" goes to the note box

    # Off, from the list "?" opens (the notes help): a plain form, kept on the account.
    page.locator("main").focus()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts-heading")).to_have_text("Keyboard shortcuts", timeout=10_000)
    expect(page.locator("[data-shortcuts-state]")).to_have_text("Single-key shortcuts are on.")
    page.get_by_role("button", name="Turn off single-key shortcuts").click()
    expect(page.locator(".flash")).to_have_text("Single-key shortcuts are off.")
    assert page.locator("body").get_attribute("data-shortcuts") == "off"

    page.goto(paper)  # a new page: the account remembers
    help_requests = []
    page.on("request", lambda r: help_requests.append(r.url) if "help=1" in r.url else None)
    for key in ("n", "/", "?", "j"):
        page.keyboard.press(key)
    expect(box).not_to_be_focused()
    expect(page.locator("#search-box")).not_to_be_focused()
    expect(box).to_have_value("")
    # A round trip after the keys: had "?" asked for the help, that request went first.
    box.fill("x")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#note-preview")).to_contain_text("x", timeout=10_000)
    assert help_requests == []
    expect(page.locator("#notes-help-text")).to_have_count(0)

    # On again, from the /shortcuts page the footer links to.
    page.get_by_role("link", name="Keyboard shortcuts").click()
    page.get_by_role("button", name="Turn on single-key shortcuts").click()
    page.goto(paper)
    page.keyboard.press("n")
    expect(box).to_be_focused()
    assert console_errors == []


def test_typing_in_the_note_box_never_sets_a_shortcut_off(signed_in, live_server, console_errors):
    page = signed_in
    page.goto(f"{live_server}/articles/{PMID}")
    box = page.locator("#note-body")
    box.click()
    page.keyboard.type("n/?jk nn ??")
    expect(box).to_have_value("n/?jk nn ??")
    expect(box).to_be_focused()
    wait_settled(page)
    expect(page.locator("#notes-help-text")).to_have_count(0)
    # Nor with a modifier held: Alt+n is not "n".
    page.locator("main").focus()
    page.keyboard.press("Alt+n")
    expect(box).not_to_be_focused()
    assert console_errors == []


def test_a_signed_out_reader_turns_them_off_in_the_browser(page, live_server, console_errors):
    page.goto(live_server + "/")
    page.keyboard.press("/")
    expect(page.locator("#search-box")).to_be_focused()
    page.locator("main").focus()
    # "?" on a page without the notes help opens the list's own page, coming back here.
    page.keyboard.press("?")
    page.wait_for_url(f"{live_server}/shortcuts?next=%2F")
    expect(page.locator("h1")).to_have_text("Keyboard shortcuts")
    for shortcut in ("/", "n", "?", "j", "k"):
        expect(page.locator(".shortcut-list kbd", has_text=shortcut).first).to_be_visible()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.get_by_role("button", name="Turn off single-key shortcuts").click()
    expect(page.locator("[data-shortcuts-state]")).to_have_text("Single-key shortcuts are off.")
    assert requests == []  # the browser keeps it: nothing was sent
    assert page.evaluate("localStorage.getItem('pearl.shortcuts')") == "off"
    page.get_by_role("link", name="Back to where you were").click()
    page.wait_for_url(live_server + "/")
    page.keyboard.press("/")
    expect(page.locator("#search-box")).not_to_be_focused()
    assert page.locator("#search-box").get_attribute("aria-keyshortcuts") is None
    page.goto(live_server + "/shortcuts")  # the page says what this browser keeps
    expect(page.locator("[data-shortcuts-state]")).to_have_text("Single-key shortcuts are off.")
    page.get_by_role("button", name="Turn on single-key shortcuts").click()
    page.goto(live_server + "/")
    page.keyboard.press("/")
    expect(page.locator("#search-box")).to_be_focused()
    assert console_errors == []
