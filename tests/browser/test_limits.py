"""A request over Pearl's size limit, in Chromium: htmx leaves the page as it is, with what
was typed, and the server's own words say why (not a bare status code)."""

from playwright.sync_api import expect

import models

PMID = 24997269


def test_a_note_too_large_to_send_keeps_its_text_and_says_why(signed_in, live_server, live_app,
                                                              console_errors):  # fmt: skip
    page = signed_in
    page.goto(f"{live_server}/articles/{PMID}")
    text = "pasted by mistake " * 30_000  # some 540 KB: over the 512 KB a form may send
    page.locator("#note-body").fill(text)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#request-error")).to_have_text(
        "That was not saved: it is larger than Pearl accepts here (512 KB). Nothing was changed."
    )
    expect(page.locator("#note-body")).to_have_value(text)
    with live_app.app_context():
        assert models.Note.select().count() == 0
        models.db.close()
    assert [e for e in console_errors if "413" not in e] == []
