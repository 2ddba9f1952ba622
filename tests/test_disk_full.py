"""A full disk, for real: the database lives on a small tmpfs mounted for the test. An import
stops with one line saying the disk is full (batches before it kept, nothing of the failing
one), and a note that cannot be stored comes back with its text and the reason, with and
without JavaScript."""

import datetime
import json
import os
import shutil
import sqlite3
import subprocess

import pytest

import models
from tests.conftest import AuthActions, csrf_token, make_app, soup, textarea_value
from tests.test_concurrency import renumbered_demo
from tests.test_notes import PMID

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root"),
    pytest.mark.sqlite_only("a SQLite file on a full tmpfs"),
]


@pytest.fixture
def small_disk(tmp_path):
    """A function mounting a tmpfs of `size` bytes at a folder of its own; unmounted after."""
    mounted = []

    def mount(size):
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                       check=True)  # fmt: skip
        mounted.append(folder)
        return folder

    yield mount
    models.close_all()
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder):
    """Take the disk's last free byte (the filler file is returned, to free it again)."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:  # unbuffered: nothing left to fail on close
        try:
            while out.write(b"\0" * 4096):
                pass
        except OSError:
            pass
    return filler


def test_import_onto_a_full_disk_says_so_in_one_line(tmp_path, small_disk):
    disk = small_disk(16 * 1024 * 1024)
    app = make_app(tmp_path, disk / "pearl.db")
    big = renumbered_demo(tmp_path / "big.xml.gz", copies=8)
    result = app.test_cli_runner().invoke(args=["import", str(big)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"Error: {big}: the disk is full: nothing more can be saved until space is freed" in (
        lines
    )
    assert "Traceback" not in result.output and "rollback" not in result.output
    [stopped] = [line for line in lines if "stopped;" in line]
    with app.app_context():
        stored = models.Article.select().count()
    assert 0 < stored < 8 * 604 and stored % 500 == 0  # whole batches, none of the failing one
    assert f"stopped; {stored} added, 0 updated" in stopped


@pytest.fixture(params=["busy", "idle"])
def full_disk(request, tmp_path, small_disk, demo_database):
    """The demo app on a disk with no space left and a reader signed in who follows a MeSH
    heading and has a first issue: (app, client, CSRF token, the filler file to delete for
    space). "busy": another connection stays open, as a busy server's would, so the WAL and
    its index are there. "idle": no connection is open (SQLite removed them with the last),
    so a connection cannot make the index it needs."""
    disk = small_disk(demo_database.stat().st_size + 2 * 1024 * 1024)
    shutil.copy(demo_database, disk / "pearl.db")
    app = make_app(tmp_path, disk / "pearl.db")
    reader = AuthActions(app, app.test_client())
    user = reader.create()
    with app.app_context():
        models.User.update(full_access=True).where(models.User.id == user.id).execute()
        models.Interest.create(user=user, kind="mesh", value="Humans", key="humans")
    reader.login()
    assert reader.client.get("/journal").status_code == 200  # the first issue
    token = csrf_token(reader.client, f"/articles/{PMID}")
    models.close_all()  # "idle": no connection left open, pooled ones included
    other = None
    if request.param == "busy":
        other = sqlite3.connect(disk / "pearl.db")
        other.execute("SELECT count(*) FROM note").fetchone()
    filler = fill(disk)
    yield app, reader.client, token, filler
    if other is not None:
        other.close()


def post(client, token, body, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    data = {"csrf_token": token, "body": body, "visibility": "private"}
    return client.post(f"/articles/{PMID}/notes", data=data, headers=headers)


FULL = "the disk is full: nothing more can be saved until space is freed"


@pytest.mark.parametrize("htmx", [True, False])
def test_a_note_refused_for_a_full_disk_keeps_its_text(full_disk, htmx):
    app, client, token, filler = full_disk
    response = post(client, token, "Worth *remembering*.", htmx)
    assert response.status_code == 503
    page = soup(response)
    assert (page.find("html") is None) == htmx  # the panel for htmx, the whole page without
    assert textarea_value(page.select_one("#note-body")) == "Worth *remembering*."
    error = page.select_one("#note-body-error").text
    assert error == f"Your note was not saved: {FULL}. Your text is still here."
    filler.unlink()
    assert post(client, token, "Worth *remembering*.", htmx).status_code in (200, 303)
    with app.app_context():
        assert models.Note.select().count() == 1


def test_when_the_database_cannot_even_be_opened_the_text_comes_back(full_disk):
    app, client, token, filler = full_disk
    # A database file on the full disk whose WAL is not open yet: connecting fails.
    models.close_all()
    models.open_database(f"sqlite:///{filler.parent / 'other.db'}")
    page = post(client, token, "Do not lose me.", htmx=False)
    assert page.status_code == 503
    assert soup(page).select_one("#database-problem").text == f"Pearl could not save that: {FULL}."
    assert textarea_value(soup(page).select_one("#typed")) == "Do not lose me."
    fragment = post(client, token, "Do not lose me.", htmx=True)
    assert fragment.status_code == 503 and fragment.headers["HX-Reswap"] == "none"
    assert FULL in json.loads(fragment.headers["HX-Trigger"])["pearl:request-error"]


READS = ["/", f"/articles/{PMID}", f"/articles/{PMID}/notes", "/search?q=stroke", "/journal",
         "/journal/issues/1", "/journal/interests", "/collections", "/starred", "/my/notes",
         f"/articles/{PMID}/cite?style=apa"]  # fmt: skip


@pytest.mark.parametrize("path", READS)
def test_reading_keeps_working_on_a_full_disk(full_disk, path):
    _app, client, _token, _filler = full_disk
    assert client.get(path).status_code == 200
    assert client.get(path, headers={"HX-Request": "true"}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/login", "/signup", f"/articles/{PMID}", "/search?q=pitch"])
def test_reading_signed_out_keeps_working_on_a_full_disk(full_disk, path):
    app, _client, _token, _filler = full_disk
    assert app.test_client().get(path).status_code == 200


@pytest.mark.clock("2026-11-26T10:00Z")
def test_a_due_issue_that_cannot_be_made_leaves_the_latest_readable(full_disk, clock):
    _app, client, _token, _filler = full_disk
    clock.shift(datetime.timedelta(days=8))  # a weekly issue is due: publishing must write
    page = soup(client.get("/journal"))
    assert page.select_one("#issue-status").text == f"No new issue could be made: {FULL}."
    assert "No. 1" in page.select_one("h1").text


def entry_id(app):
    with app.app_context():
        return models.IssueEntry.select().first().id


# Every kind of write a reader can make, each (path, form fields); {entry} is an issue entry.
WRITES = [
    (f"/articles/{PMID}/star", {"starred": "1"}),
    ("/collections", {"name": "Stroke"}),
    ("/journal/interests", {"kind": "keyword", "q": "aphasia"}),
    ("/search/follow", {"q": "stroke"}),
    ("/journal/entries/{entry}/feedback", {"verdict": "more"}),
    ("/journal/entries/{entry}/star", {"starred": "1"}),
    ("/journal/settings", {"frequency": "daily", "issue_size": "10"}),
    ("/library", {"kind": "ezproxy", "base": "https://ezproxy.example.org/login?url="}),
]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
@pytest.mark.parametrize(("path", "fields"), WRITES, ids=[path for path, _ in WRITES])
def test_every_write_is_refused_with_the_reason(full_disk, path, fields, htmx):
    app, client, token, _filler = full_disk
    path = path.format(entry=entry_id(app))
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(path, data={"csrf_token": token, **fields}, headers=headers)
    assert_refused(response, htmx)


def assert_refused(response, htmx):
    assert response.status_code == 503
    if htmx:
        assert response.headers["HX-Reswap"] == "none"
        message = json.loads(response.headers["HX-Trigger"])["pearl:request-error"]
        assert message == f"That was not saved: {FULL}. Nothing on this page was lost."
    else:
        assert soup(response).select_one("#database-problem").text == (
            f"Pearl could not save that: {FULL}."
        )


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
def test_signing_up_is_refused_with_the_reason(full_disk, htmx):
    app, _client, _token, _filler = full_disk
    visitor = app.test_client()
    data = {"csrf_token": csrf_token(visitor, "/signup"), "email": "new@example.org",
            "display_name": "Dr New", "password": "a long enough password"}  # fmt: skip
    headers = {"HX-Request": "true"} if htmx else {}
    assert_refused(visitor.post("/signup", data=data, headers=headers), htmx)
