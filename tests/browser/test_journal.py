"""A reader in Chromium on their trial: picks interests with the autocomplete (mouse and
keyboard), removes one, reads the first issue, stars and marks a paper read in place; a
visitor builds a sample issue."""

from playwright.sync_api import expect

import models
from tests.browser.conftest import wait_settled


def test_pick_interests_then_read_the_first_issue(signed_in, live_server, on_trial, console_errors):
    page = signed_in
    page.goto(f"{live_server}/journal")
    expect(page.locator("#interests-welcome")).to_be_visible()
    expect(page.locator("#interests-empty")).to_be_visible()

    # With the mouse: a MeSH heading from the suggestions.
    page.get_by_label("Follow a").select_option("mesh")
    page.locator("#interest-q").fill("lung neo")
    suggestion = page.locator("#interest-suggestions button.suggestion").first
    expect(suggestion).to_contain_text("Lung Neoplasms")
    suggestion.click()
    expect(page.locator("#interest-list .interest-value")).to_have_text(["Lung Neoplasms"])
    wait_settled(page)

    # With the keyboard only: a publication type.
    page.locator("#interest-kind").focus()
    page.keyboard.press("Tab")  # to the text box
    page.get_by_label("Follow a").select_option("type")
    page.locator("#interest-q").focus()
    page.keyboard.type("randomized con")
    first = page.locator("#interest-suggestions button.suggestion").first
    expect(first).to_contain_text("Randomized Controlled Trial")
    wait_settled(page)
    first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#interest-list .interest-value")).to_have_text(
        ["Lung Neoplasms", "Randomized Controlled Trial"]
    )
    wait_settled(page)

    # A third, then removed again in place.
    page.get_by_label("Follow a").select_option("keyword")
    page.locator("#interest-q").fill("malaria")
    page.locator("#interest-suggestions button.suggestion").first.click()
    expect(page.locator("#interest-list .interest")).to_have_count(3)
    wait_settled(page)
    page.get_by_role("button", name="Remove malaria").click()
    expect(page.locator("#interest-list .interest")).to_have_count(2)
    assert page.url.startswith(f"{live_server}/journal/interests")

    # The first issue: numbered like a journal, sections with reasons.
    page.locator("#interests-done").click()
    expect(page.locator("#issue-heading")).to_contain_text("Vol. 1, No. 1")
    sections = page.locator(".toc-heading")
    expect(sections.first).to_be_visible()
    headings = sections.all_text_contents()  # inner text is CSS-uppercased
    assert any("Lung Neoplasms" in h for h in headings)
    assert any("Beyond your field" in h for h in headings)
    first_entry = page.locator("li.entry").first
    expect(first_entry.locator(".entry-reason")).to_contain_text("Matches")

    # Star and mark read in place; the page does not reload.
    entry_id = first_entry.get_attribute("id")
    page.locator(f"#{entry_id}-star").click()
    expect(page.locator(f"#{entry_id}")).to_have_class("entry starred")
    wait_settled(page)
    page.locator(f"#{entry_id}-read").click()
    expect(page.locator(f"#{entry_id} .read-flag")).to_be_visible()
    page.goto(f"{live_server}/journal/starred")
    expect(page.locator("li.entry")).to_have_count(1)
    assert [e for e in console_errors if "422" not in e] == []


def test_visitor_sees_a_sample_issue(page, live_server, console_errors):
    page.goto(f"{live_server}/journal/sample")
    page.get_by_label("Follow a").select_option("mesh")
    page.locator("#interest-q").fill("lung neo")
    page.locator("#interest-suggestions button.suggestion").first.click()
    expect(page.locator("li.entry").first).to_be_visible()
    assert "Lung Neoplasms" in " ".join(page.locator(".toc-heading").all_text_contents())
    expect(page.locator("#trial")).to_be_visible()  # the invitation is right there
    assert console_errors == []


def test_trial_ended_page(signed_in, live_server, live_app, reader):
    with live_app.app_context():
        models.User.update(trial_ends_at=models.utcnow()).execute()
        models.db.close()
    response = signed_in.goto(f"{live_server}/journal")
    assert response.status == 403
    expect(signed_in.locator("h1")).to_contain_text("trial has ended")
    signed_in.goto(f"{live_server}/articles/24997269")
    expect(signed_in.locator("#note-body")).to_be_visible()  # notes stay open
