"""Browser fixtures: Pearl served over real HTTP on localhost from a thread, and Debian's
Chromium driven by Playwright (headless, no downloads, nothing beyond localhost)."""

import pytest
from playwright.sync_api import expect

import models
from accounts import create_account
from tests.conftest import make_app, new_database, serving

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            # The machine has no network: stop Chromium's own background calls home.
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "permissions": ["clipboard-read", "clipboard-write"]}


@pytest.fixture
def live_app(request, tmp_path, postgres):
    """The app the live server serves, on its own copy of the demo database."""
    return make_app(tmp_path, new_database(request, tmp_path, postgres))


@pytest.fixture
def live_server(live_app):
    """Pearl served over real HTTP at http://127.0.0.1:<port>."""
    with serving(live_app) as url:
        yield url


@pytest.fixture
def console_errors(page):
    """Messages the page logs as errors (a CSP violation, a failed script) — should stay empty."""
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


READER = {"email": "reader@example.org", "password": "correct horse battery", "name": "Dr Reader"}


@pytest.fixture
def reader(live_app):
    """A reader account in the live app's database (see READER for the credentials)."""
    with live_app.app_context():
        create_account(READER["email"], READER["name"], READER["password"])
        models.db.close()
    return READER


def sign_in(page, live_server, reader):
    """Sign the page in as `reader` through the real form."""
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(reader["email"])
    page.get_by_label("Password").fill(reader["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")


@pytest.fixture
def signed_in(page, live_server, reader):
    """The page, signed in as the reader through the real form."""
    sign_in(page, live_server, reader)
    return page


@pytest.fixture
def on_trial(live_app, reader):
    """The reader's 21-day trial has started."""
    with live_app.app_context():
        user = models.User.by_email(reader["email"])
        user.start_trial()
        user.save()
        models.db.close()
    return reader


def wait_settled(page):
    """Wait until htmx has settled: it wires up swapped-in controls as it settles, so act
    after that, as a person would."""
    expect(page.locator(".htmx-settling")).to_have_count(0)
