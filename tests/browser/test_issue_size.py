"""A reader in Chromium chooses how many papers an issue holds, follows a clinical filter
from the picker's list, and reads an issue that says what it spared them."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import wait_settled


def test_a_smaller_issue_says_what_it_spared(signed_in, live_server, on_trial, console_errors):
    page = signed_in
    page.goto(f"{live_server}/journal/settings")
    page.get_by_label("At most 5", exact=True).check()
    page.locator("#settings-save").click()
    expect(page.locator("#settings-status")).to_have_text("Settings saved.")
    wait_settled(page)

    page.goto(f"{live_server}/journal/interests")
    button = page.get_by_role("button", name="Follow Therapy (narrow)")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#interest-list .interest-value")).to_have_text(["Therapy (narrow)"])
    expect(page.locator("#interest-filters")).to_contain_text("Therapy (narrow) · following")
    wait_settled(page)

    page.locator("#interests-done").click()
    expect(page.locator("#issue-heading")).to_contain_text("Vol. 1, No. 1")
    spared = page.locator("#issue-spared")
    expect(spared).to_have_text(
        re.compile(
            r"^\d+ papers in the library matched your interests; these 5 are the strongest\.$"
        )
    )
    # Five under the reader's interests, then three from beyond them.
    expect(page.locator("#issue-count")).to_contain_text("8 papers")
    expect(page.locator("li.entry .entry-reason", has_text="Matches Therapy")).to_have_count(5)
    assert console_errors == []
