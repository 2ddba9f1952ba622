"""A note refused because the disk is full, in Chromium: the panel comes back (htmx swaps the
503) with the reason under the box and every character still in it; once there is space
again, the same Save stores it."""

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import expect

import models
from tests.conftest import make_app
from tests.test_disk_full import fill, small_disk  # noqa: F401 - the fixture is used here

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

PMID = 24997269


@pytest.fixture
def live_app(tmp_path, demo_database, small_disk):  # noqa: F811 - the fixture, by name
    """The live server's app, its database on a small disk of its own."""
    disk = small_disk(demo_database.stat().st_size + 2 * 1024 * 1024)
    shutil.copy(demo_database, disk / "pearl.db")
    return make_app(tmp_path, disk / "pearl.db")


def test_a_note_refused_for_a_full_disk_keeps_every_character(signed_in, live_server, live_app,
                                                             console_errors):  # fmt: skip
    page = signed_in
    page.goto(f"{live_server}/articles/{PMID}")
    database = live_app.config["DATABASE_URL"].removeprefix("sqlite:///")
    other = sqlite3.connect(database)  # a busy server's other connection keeps the WAL open
    other.execute("SELECT count(*) FROM note").fetchone()
    filler = fill(Path(database).parent)
    text = "Check *potassium* before the second dose.\nAnd again at 6 h."
    box = page.locator("#note-body")
    box.fill(text)
    page.get_by_role("button", name="Save").click()
    error = page.locator("#note-body-error")
    expect(error).to_contain_text("Your note was not saved: the disk is full")
    expect(page.locator("#note-body")).to_have_value(text)
    filler.unlink()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#note-saved")).to_have_text("Note saved.", timeout=10_000)
    other.close()
    with live_app.app_context():
        assert [n.source for n in models.Note.select()] == [text]
        models.db.close()
    assert [e for e in console_errors if "503" not in e] == []
