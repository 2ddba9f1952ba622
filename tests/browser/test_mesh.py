"""A reader in Chromium follows a MeSH heading that has narrower headings in the imported
tree: the suggestion and then the interest say what it includes."""

import pytest
from playwright.sync_api import expect

import models
from tests.test_mesh import SLICE, store


@pytest.fixture
def on_trial_with_tree(live_app, on_trial):
    """The reader's trial has started, and an admin has imported a slice of the MeSH tree."""
    with live_app.app_context():
        store(SLICE)
        models.db.close()
    return on_trial


def test_following_a_heading_shows_its_narrower_headings(
    signed_in, live_server, on_trial_with_tree, console_errors
):
    page = signed_in
    page.goto(f"{live_server}/journal/interests")
    page.get_by_label("Follow a").select_option("mesh")
    page.locator("#interest-q").fill("cardiovascular dis")
    suggestion = page.locator("#interest-suggestions button.suggestion")
    expect(suggestion).to_have_count(1)
    expect(suggestion.locator(".suggestion-narrower")).to_have_text("includes 6 narrower headings")
    suggestion.click()
    interest = page.locator("#interest-list .interest")
    expect(interest.locator(".interest-value")).to_have_text(["Cardiovascular Diseases"])
    note = interest.locator(".interest-narrower")
    expect(note).to_have_text("includes 6 narrower headings")
    expect(note).to_be_visible()
    assert page.url == f"{live_server}/journal/interests"  # swapped in place
    assert console_errors == []
