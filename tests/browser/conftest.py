"""Browser fixtures: Pearl served over real HTTP on localhost from a thread, and Debian's
Chromium driven by Playwright (headless, no downloads, nothing beyond localhost)."""

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_app

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
def live_server(tmp_path, demo_database):
    """Pearl on its own copy of the demo database, at http://127.0.0.1:<port>."""
    database = tmp_path / "pearl.db"
    shutil.copy(demo_database, database)
    app = make_app(tmp_path, database)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def console_errors(page):
    """Messages the page logs as errors (a CSP violation, a failed script) — should stay empty."""
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
