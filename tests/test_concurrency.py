"""Several processes writing one SQLite database, as on a busy site: an import and
`publish-issues` run to completion while a reader saves notes in another process, two imports
run at once, and nobody meets "database is locked" (write transactions begin IMMEDIATE and
wait for the lock)."""

import datetime
import gzip
import os
import re
import subprocess
import sys
import time

import pytest

import models
from tests.conftest import DEMO_FILE, ROOT

# Other processes open the SQLite file the app uses (tests/writers.py, the CLI).
pytestmark = pytest.mark.sqlite_only("processes sharing one SQLite file's write lock")

PMID_TAG = re.compile(rb'<PMID Version="1">(\d+)</PMID>')


def renumbered_demo(path, copies):
    """The demo file's 604 citations `copies` times over, PMIDs shifted per copy: a bigger
    real file, so the import runs long enough to meet the other process's writes."""
    text = gzip.decompress(DEMO_FILE.read_bytes())
    start, end = text.index(b"<MedlineCitation "), text.index(b"<DeleteCitation>")
    body = text[start:end]
    with gzip.open(path, "wb") as out:
        out.write(text[:start])
        for copy in range(1, copies + 1):
            out.write(PMID_TAG.sub(lambda m, copy=copy: shifted(m, 100_000_000 * copy), body))
        out.write(b"</MedlineCitationSet>\n")
    return path


def shifted(match, by):
    return b'<PMID Version="1">%d</PMID>' % (int(match[1]) + by)


@pytest.fixture
def note_writer(app, tmp_path):
    """Another process saving notes on the app's database until the test is done; yields a
    function that stops it and returns how many notes it saved."""
    stop = tmp_path / "stop"
    database = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.writers", database, str(stop)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    with app.app_context():  # wait until it is writing
        while not models.Note.select().exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the note writer never started"
            time.sleep(0.05)

    def finish():
        stop.touch()
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        return int(out)

    yield finish
    if process.poll() is None:
        process.kill()
        process.wait()


def test_import_runs_to_completion_while_notes_are_written(app, note_writer, tmp_path):
    big = renumbered_demo(tmp_path / "big.xml.gz", copies=8)
    result = app.test_cli_runner().invoke(args=["import", str(big)])
    saved = note_writer()
    assert result.exit_code == 0, result.output
    assert "4832 added, 0 updated, 0 deleted, 0 skipped" in result.output
    assert "locked" not in result.output and "Traceback" not in result.output
    with app.app_context():
        assert models.Article.select().count() == 604 + 4832
        assert models.Note.select().count() == saved > 0


@pytest.mark.clock(datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC))
def test_publish_issues_runs_to_completion_while_notes_are_written(app, note_writer):
    with app.app_context():
        for number in range(30):
            user = models.User.create(email=f"r{number}@example.org", display_name=f"R{number}",
                                      full_access=True)  # fmt: skip
            for value in ("Atrial fibrillation", "Malaria", "Lung Neoplasms"):
                models.Interest.create(user=user, kind="keyword", value=value, key=value.lower())
        models.db.close()
    result = app.test_cli_runner().invoke(args=["publish-issues"])
    saved = note_writer()
    assert result.exit_code == 0, result.output
    assert "30 new issues for 30 readers" in result.output
    with app.app_context():
        assert models.Issue.select().count() == 30
        assert models.Note.select().count() == saved > 0


def test_two_imports_at_once_both_complete(app, tmp_path):
    first = renumbered_demo(tmp_path / "first.xml.gz", copies=4)
    second = tmp_path / "second.xml.gz"
    second.write_bytes(first.read_bytes())  # the same records: one adds, the other skips
    database = app.config["DATABASE_URL"]
    other = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "import", str(second)],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    result = app.test_cli_runner().invoke(args=["import", str(first)])
    out, err = other.communicate(timeout=120)
    assert result.exit_code == 0, result.output
    assert other.returncode == 0, err
    assert "locked" not in result.output + out + err and "Traceback" not in err
    with app.app_context():
        assert models.Article.select().count() == 604 + 4 * 604
