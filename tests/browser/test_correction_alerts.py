"""A reader in Chromium opens their journal after a paper they wrote a note on was retracted:
the notice at the top names it, and "Got it" takes it away in place."""

import datetime

from playwright.sync_api import expect

import models
from tests.browser.conftest import wait_settled
from tests.test_correction_alerts import NOTED, retract


def test_got_it_dismisses_the_notice_in_place(
    signed_in, live_server, live_app, on_trial, console_errors, tmp_path
):
    with live_app.app_context():
        user = models.User.by_email(on_trial["email"])
        models.Interest.create(user=user, kind="keyword", value="malaria", key="malaria")
        written = datetime.datetime(2026, 1, 15, 9, 0)
        models.Note.create(article=NOTED, author=user, source="A pearl", html="<p>A pearl</p>",
                           created_at=written, updated_at=written)  # fmt: skip
        retract(tmp_path, NOTED, date="3/3/2026 0:00")
        models.db.close()
    page = signed_in
    page.goto(f"{live_server}/journal")
    notice = page.get_by_role("region", name="Papers you know have changed")
    expect(notice).to_contain_text("A paper you wrote a note on was retracted on 3 Mar 2026")
    wait_settled(page)
    notice.get_by_role("button", name="Got it").click()
    expect(page.locator("#correction-alerts")).to_have_count(0)
    assert page.url == f"{live_server}/journal"  # in place, no reload
    # The issue still prints it under Corrections, first.
    expect(page.locator(".toc-heading").first).to_have_text("Corrections")
    page.reload()
    expect(page.locator("#correction-alerts")).to_have_count(0)
    assert console_errors == []
