"""axe-core in Chromium on the pages and states issue 13 added or changed (shortcuts,
privacy, account, forgot password, the swaps' new focus targets): nothing serious or
critical, in light and dark mode; and a reader deletes their account in the browser."""

import pytest
from playwright.sync_api import expect

from tests.browser.axe import serious_violations
from tests.browser.conftest import wait_settled

PMID = 24997269

SIGNED_OUT = ["/shortcuts", "/privacy", "/password/forgot", "/login", f"/articles/{PMID}?help=1"]
SIGNED_IN = ["/shortcuts", "/privacy", "/account", "/account/delete", f"/articles/{PMID}?help=1"]


def test_axe_finds_what_it_should(page, live_server):
    """The check itself: a page with an unlabelled field and an image without text fails."""
    page.goto(live_server + "/privacy")
    page.evaluate("""() => {
      const main = document.getElementById('main');
      main.insertAdjacentHTML('beforeend', '<input type="text"><img src="/static/favicon.svg">');
    }""")
    found = serious_violations(page)
    assert any("label" in v for v in found) and any("image-alt" in v for v in found), found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", SIGNED_OUT)
def test_signed_out_pages(page, live_server, path, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto(live_server + path)
    assert serious_violations(page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", SIGNED_IN)
def test_signed_in_pages(signed_in, live_server, path, scheme):
    page = signed_in
    page.emulate_media(color_scheme=scheme)
    page.goto(live_server + path)
    assert serious_violations(page) == []


def test_states_after_swaps_and_errors(signed_in, live_server):
    page = signed_in
    page.goto(live_server + "/")
    page.get_by_role("link", name="Older →").click()
    expect(page.locator("#list-count")).to_contain_text("page 2 of 31")
    wait_settled(page)
    assert serious_violations(page) == []
    page.goto(f"{live_server}/articles/{PMID}")
    page.locator("#note-body").fill("Worth a look.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#note-saved")).to_be_visible(timeout=10_000)
    assert serious_violations(page) == []
    page.goto(live_server + "/account")
    page.get_by_label("Current password").fill("wrong password here")
    page.get_by_label("New password").fill("a long new password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#account-current-password-error")).to_be_visible()
    assert serious_violations(page) == []


def test_the_forgot_answer_passes_axe(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_role("link", name="Choose a new one").click()
    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#reset-sent")).to_contain_text("We sent a message to nobody@example.org")
    assert serious_violations(page) == []


def test_a_reader_deletes_their_account_by_keyboard(signed_in, live_server, console_errors):
    """Shortcuts off, then keyboard only: from the header's Account link to the deletion."""
    page = signed_in
    page.goto(live_server + "/shortcuts")
    page.get_by_role("button", name="Turn off single-key shortcuts").click()
    page.get_by_role("link", name="Account").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/account")
    page.locator("#account-delete-link").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/account/delete")
    expect(page.locator("#delete-counts")).to_contain_text("Your notes: 0")
    page.get_by_label("Type your address").focus()
    page.keyboard.type("reader@example.org")  # "n", "?" and "/" in it are only letters
    expect(page.get_by_label("Type your address")).to_have_value("reader@example.org")
    page.keyboard.press("Tab")
    delete = page.get_by_role("button", name="Delete my account and everything in it")
    expect(delete).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/")
    expect(page.locator(".flash")).to_contain_text("Your account is deleted")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert console_errors == []
