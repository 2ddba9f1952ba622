"""`flask backup DEST` and `flask restore SRC`, on SQLite and on PostgreSQL: the backup holds
every committed note of a live database (which a plain `cp` of a SQLite file does not), a
restore brings the database back to it, the running app seeing the restored notes at once, and
a file that is not a Pearl backup is refused in one line."""

import shutil
import sqlite3
import subprocess

import pytest
from peewee import SqliteDatabase

import backup
import models
from tests.conftest import csrf_token
from tests.test_notes import PMID


@pytest.fixture
def reader(auth):
    auth.create()
    auth.login()
    return auth


def write_note(client, body):
    token = csrf_token(client, f"/articles/{PMID}")
    response = client.post(f"/articles/{PMID}/notes", data={"csrf_token": token, "body": body})
    assert response.status_code == 303, response.get_data(as_text=True)


def note_bodies(path):
    with sqlite3.connect(path) as connection:
        return sorted(row[0] for row in connection.execute("SELECT source FROM note"))


def other_engines_backup(app, tmp_path):
    """A backup in the engine's own format, but of a database that is not Pearl's: a SQLite
    file of another program, or on PostgreSQL a pg_dump archive of only Pearl's note table."""
    path = tmp_path / "other.backup"
    with app.app_context():
        if isinstance(models.db.obj, SqliteDatabase):
            with sqlite3.connect(path) as connection:
                connection.execute("CREATE TABLE patient (id INTEGER PRIMARY KEY, name TEXT)")
            return path
        conninfo, env = backup._pg_conninfo()
        dump = [backup._pg_tool("pg_dump"), "--format=custom", "--table=note", f"--file={path}"]
        subprocess.run([*dump, conninfo], env=env, check=True)
        models.db.close()
    return path


@pytest.mark.sqlite_only("a file copy of a live SQLite database")
def test_backup_holds_the_newest_notes_that_a_file_copy_misses(app, client, reader, tmp_path):
    live = tmp_path / "pearl.db"
    # Another process keeps the database open, as the web server does: the WAL is then
    # not folded back into the main file when a request's connection closes.
    other_process = sqlite3.connect(live)
    other_process.execute("SELECT count(*) FROM note").fetchone()  # now it uses the WAL
    try:
        for number in range(3):
            write_note(client, f"Pearl number {number}")
        copied = tmp_path / "copied.db"
        shutil.copy(live, copied)  # what the deployment guide warns against
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup.db")])
    finally:
        other_process.close()
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.output
    expected = [f"Pearl number {number}" for number in range(3)]
    assert note_bodies(tmp_path / "backup.db") == expected
    assert note_bodies(copied) != expected  # the notes sat in the WAL, which cp left behind


def test_restore_brings_the_database_back_to_the_backup(app, client, reader, tmp_path):
    write_note(client, "Kept: in the backup")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "backup.db")]).exit_code == 0
    write_note(client, "Lost: written after the backup")

    result = runner.invoke(args=["restore", "--yes", str(tmp_path / "backup.db")])
    assert result.exit_code == 0, result.output
    assert "Restored from" in result.output
    page = client.get(f"/articles/{PMID}").get_data(as_text=True)
    assert "Kept: in the backup" in page
    assert "Lost: written after the backup" not in page
    write_note(client, "Written after the restore")  # the restored database takes writes
    with app.app_context():
        assert models.Note.select().count() == 2


def test_restore_asks_first_and_does_nothing_when_told_no(app, client, reader, tmp_path):
    write_note(client, "Still here")
    runner = app.test_cli_runner()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    result = runner.invoke(args=["restore", str(empty)], input="n\n")
    assert result.exit_code == 1
    assert "Replace every paper, note and account" in result.output
    assert "Still here" in client.get(f"/articles/{PMID}").get_data(as_text=True)


def test_backup_and_restore_errors_are_one_line_and_change_nothing(app, client, reader, tmp_path):
    write_note(client, "Untouched")
    runner = app.test_cli_runner()
    existing = tmp_path / "existing.db"
    existing.write_text("a file the reader keeps")
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("not a database, but long enough to be read as one " * 200)
    other_database = other_engines_backup(app, tmp_path)
    cases = [
        (["backup", str(existing)], "already exists: choose a new file"),
        (["backup", str(tmp_path / "missing" / "b.db")], "is not a folder"),
        (["restore", "--yes", str(not_a_backup)], "is not a Pearl backup"),
        (["restore", "--yes", str(other_database)], "is not a Pearl backup"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "Traceback" not in result.output
    assert existing.read_text() == "a file the reader keeps"
    assert "Untouched" in client.get(f"/articles/{PMID}").get_data(as_text=True)
