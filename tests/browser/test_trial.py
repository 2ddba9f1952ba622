"""A visitor in Chromium starts the free trial: types an address, sees "Check your inbox" in
place, follows the emailed link (caught by a real SMTP server), presses its one button and is
signed in with 21 days."""

import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.mailbox import Inbox, free_port


@pytest.fixture
def mailed_server(live_app):
    """The live app sending its mail to a real SMTP server on localhost."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", inbox
    server.shutdown()
    thread.join()
    server.server_close()
    controller.stop()


def test_trial_form_then_magic_link(page, mailed_server, console_errors):
    base, inbox = mailed_server
    page.goto(f"{base}/articles/24997269")
    trial = page.locator("#trial")
    expect(trial).to_contain_text("Start your free 21 day trial now.")
    field = page.get_by_label("Email", exact=True)
    field.fill("not an address")
    field.press("Enter")
    # The browser's own check stops a malformed address before it is sent.
    assert inbox.messages == []
    field.fill("clinician@example.org")
    field.press("Enter")
    expect(page.locator("#trial h2")).to_have_text("Check your inbox")
    expect(page.locator("#trial-sent")).to_contain_text("clinician@example.org")
    assert page.url == f"{base}/articles/24997269"
    assert len(inbox.messages) == 1
    link = re.search(r"https?://\S+/auth/[\w-]+", inbox.texts()[0]).group(0)
    assert link.startswith(base)  # the link points back at this Pearl
    page.goto(link)
    # The link opens a page with one button (a mail scanner's fetch signs nobody in); it
    # has the focus, so Enter signs in.
    button = page.get_by_role("button", name="Sign in to Pearl")
    expect(button).to_be_focused()
    expect(page.locator(".signed-in")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator(".signed-in")).to_have_text("Signed in as clinician")
    expect(page.locator(".trial-days")).to_have_text("21 days left in your trial")
    expect(page.locator(".flash")).to_contain_text("Your free trial has started")
    assert console_errors == []


def test_server_side_error_is_shown_in_place(page, mailed_server):
    base, inbox = mailed_server
    page.goto(base + "/")
    field = page.get_by_label("Email", exact=True)
    # Passes the browser's check (type=email) but not the server's: the reply is a 422 swap.
    field.fill("someone@localhost")
    field.press("Enter")
    expect(page.locator("#trial-error")).to_contain_text("does not look right")
    expect(page.get_by_label("Email", exact=True)).to_have_value("someone@localhost")
    expect(page.get_by_label("Email", exact=True)).to_be_focused()
    assert inbox.messages == []
