"""A reader in Chromium tells the journal "More like this" and "Fewer like this" on an issue's
papers, with the mouse and with the keyboard: the entry changes in place, the pressed button
shows it (aria-pressed) and keeps the focus, the confirmation is shown and announced, and the
verdict is still there when the page is loaded again; then the reset in settings."""

import pytest
from playwright.sync_api import expect

import models
from tests.browser.conftest import wait_settled


@pytest.fixture
def following(live_app, on_trial):
    """The reader's trial has started and their journal follows a few terms."""
    with live_app.app_context():
        user = models.User.by_email(on_trial["email"])
        for kind, value in [("keyword", "Atrial fibrillation"), ("mesh", "Lung Neoplasms")]:
            models.Interest.create(user=user, kind=kind, value=value, key=value.lower())
        models.db.close()
    return on_trial


def test_more_and_fewer_like_this_in_place(signed_in, live_server, following, console_errors):
    page = signed_in
    page.goto(f"{live_server}/journal")
    entry = page.locator("li.entry").first
    entry_id = entry.get_attribute("id")
    title = " ".join(entry.locator(".entry-title").inner_text().split())
    more = page.get_by_role("button", name=f"More like this: {title}")
    fewer = page.get_by_role("button", name=f"Fewer like this: {title}")
    expect(more).to_have_attribute("aria-pressed", "false")
    expect(fewer).to_have_attribute("aria-pressed", "false")

    # With the mouse: pressed, confirmed in the entry and in the live region, focus kept.
    more.click()
    expect(more).to_have_attribute("aria-pressed", "true")
    note = page.locator(f"#{entry_id}-feedback-note")
    expect(note).to_have_text("Thanks — later issues will have more like this.")
    expect(page.locator("#journal-announce")).to_have_text(
        "Thanks — later issues will have more like this."
    )
    expect(page.locator("#journal-announce")).to_have_attribute("role", "status")
    wait_settled(page)
    expect(more).to_be_focused()
    assert page.url == f"{live_server}/journal"  # in place: no page load

    # With the keyboard: Tab to "Fewer like this", Enter; then Space takes it back.
    page.keyboard.press("Tab")
    expect(fewer).to_be_focused()
    page.keyboard.press("Enter")
    expect(fewer).to_have_attribute("aria-pressed", "true")
    expect(more).to_have_attribute("aria-pressed", "false")
    expect(note).to_have_text("Thanks — later issues will have fewer like this.")
    wait_settled(page)
    expect(fewer).to_be_focused()
    page.keyboard.press("Space")
    expect(fewer).to_have_attribute("aria-pressed", "false")
    expect(note).to_contain_text("Taken back")
    wait_settled(page)
    expect(fewer).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(more).to_be_focused()
    page.keyboard.press("Space")
    expect(more).to_have_attribute("aria-pressed", "true")
    wait_settled(page)

    # Loaded again, the page shows the verdict; the settings say what was learnt.
    page.reload()
    expect(more).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".entry-feedback-note")).to_have_count(0)
    page.goto(f"{live_server}/journal/settings")
    expect(page.locator("#learnt-summary")).to_contain_text("You rated 1 paper")
    expect(page.locator("#learnt-up")).to_contain_text("Atrial fibrillation")
    page.locator("#learnt-reset").click()
    expect(page.locator("#settings-status")).to_have_text(
        "Feedback reset: the journal has forgotten the 1 paper you rated."
    )
    expect(page.locator("#learnt-none")).to_be_visible()
    expect(page.locator("#learnt-heading")).to_be_focused()
    page.goto(f"{live_server}/journal")
    expect(more).to_have_attribute("aria-pressed", "false")
    assert console_errors == []


def test_more_like_this_without_javascript(browser, live_server, following):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(following["email"])
    page.get_by_label("Password").fill(following["password"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/journal")
    entry_id = page.locator("li.entry").first.get_attribute("id")
    page.locator(f"#{entry_id}-more").click()
    page.wait_for_url(f"{live_server}/journal/issues/1#{entry_id}")
    expect(page.locator(".flash")).to_have_text("Thanks — later issues will have more like this.")
    expect(page.locator(f"#{entry_id}-more")).to_have_attribute("aria-pressed", "true")
    context.close()
