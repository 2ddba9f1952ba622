"""After an in-place change, in Chromium: focus lands on what changed (never the page's body),
the view follows a list that paged in place, what happened is said through a live region
that was on the page before the swap, and each page's heading outline starts at its h1."""

import pytest
from playwright.sync_api import expect

import models
from tests.browser.conftest import wait_settled
from tests.browser.test_trial import mailed_server  # noqa: F401 - a fixture used below

PMID = 24997269

ACTIVE_ID = "document.activeElement && document.activeElement.id"
# Every heading in document order, as "h1 Text".
OUTLINE = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
  .filter((h) => h.getClientRects().length)
  .map((h) => h.tagName.toLowerCase() + ' ' + h.textContent.trim().replace(/\\s+/g, ' '))"""


def test_older_and_newer_focus_the_new_page_and_scroll_to_its_top(
    page, live_server, console_errors
):
    page.set_viewport_size({"width": 1000, "height": 700})
    page.goto(live_server + "/")
    older = page.get_by_role("link", name="Older →")
    older.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1000  # the pager is at the foot of a long list
    older.click()
    expect(page.locator("#list-count")).to_have_text("604 papers · page 2 of 31")
    wait_settled(page)
    assert page.evaluate(ACTIVE_ID) == "list-count"
    top = page.evaluate("document.getElementById('article-list').getBoundingClientRect().top")
    assert -1 <= top <= 50  # the list's top, not 2,000 px down
    page.get_by_role("link", name="← Newer").click()
    expect(page.locator("#list-count")).to_have_text("604 papers · page 1 of 31")
    wait_settled(page)
    assert page.evaluate(ACTIVE_ID) == "list-count"
    # The list itself is not one live region read out whole at every page.
    assert page.locator("#article-list[aria-live], #article-list [aria-live]").count() == 0
    assert console_errors == []


def test_check_your_inbox_takes_the_focus_and_is_announced(page, mailed_server, console_errors):  # noqa: F811
    base, inbox = mailed_server
    page.goto(base + "/")
    region = page.locator("#announce")
    # The live region is there from the start, empty, before anything swaps into the page.
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_text("")
    field = page.get_by_label("Email", exact=True)
    field.fill("clinician@example.org")
    field.press("Enter")
    expect(page.locator("#trial-heading")).to_have_text("Check your inbox")
    wait_settled(page)
    assert page.evaluate(ACTIVE_ID) == "trial-heading"
    expect(region).to_contain_text("We sent a sign-in link to clinician@example.org")
    assert len(inbox.messages) == 1
    assert console_errors == []


def test_note_saved_is_announced_through_the_region_already_there(
    signed_in, live_server, console_errors
):
    page = signed_in
    page.goto(f"{live_server}/articles/{PMID}")
    region = page.locator("#announce")
    expect(region).to_have_count(1)
    expect(region).to_have_text("")
    region_handle = region.element_handle()
    page.locator("#note-body").fill("Small cohort; see the supplement.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#note-saved")).to_have_text("Note saved.", timeout=10_000)
    expect(region).to_have_text("Note saved.")
    # The same element as on load: a region put in by the swap would go unannounced.
    assert page.evaluate("(el) => el === document.getElementById('announce')", region_handle)
    assert console_errors == []


@pytest.fixture
def issue_with_unread(live_app, on_trial):
    """The reader follows Lung Neoplasms, so /journal makes an issue with unread papers."""
    with live_app.app_context():
        user = models.User.by_email(on_trial["email"])
        models.Interest.create(user=user, kind="mesh", value="Lung Neoplasms", key="lung neoplasms")
        models.db.close()
    return on_trial


def test_mark_all_read_focuses_what_it_says(
    issue_with_unread, signed_in, live_server, console_errors
):
    page = signed_in
    page.goto(f"{live_server}/journal")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#issue-status")).to_have_text("Every paper marked read.")
    wait_settled(page)
    assert page.evaluate(ACTIVE_ID) == "issue-status"
    expect(page.locator("#issue-count")).to_contain_text("0 unread")
    assert console_errors == []


@pytest.mark.parametrize("path", ["/", f"/articles/{PMID}", "/journal/sample", "/shortcuts"])
def test_the_outline_starts_with_the_page_h1(page, live_server, path):
    """The trial's invitation (an h2) comes after the page's h1, and no level is skipped."""
    page.goto(live_server + path)
    outline = page.evaluate(OUTLINE)
    assert outline[0].startswith("h1 "), outline
    levels = [int(heading[1]) for heading in outline]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), outline
    if path == "/":
        assert outline[:2] == [
            "h1 Recent papers",
            "h2 What will the ‘Medical Journal of You’ look like?",
        ]
