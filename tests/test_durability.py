"""What SQLite promises about a commit after a power cut: in WAL mode `synchronous=NORMAL`
may roll back the last commits, FULL keeps every acknowledged one. The web's writes (a note
a reader saw saved) use FULL; a bulk import, re-runnable, keeps NORMAL on its own connection.

The database itself observes the setting: a trigger records `pragma_synchronous` of the
connection that inserts the row, at the moment of the write."""

import sqlite3

import importer
import models
from tests.conftest import DATA
from tests.test_notes import post_note

FULL, NORMAL = 2, 1


def observe_writes(database, table):
    """Have every insert into `table` record its connection's synchronous setting."""
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE observed (tbl TEXT, synchronous INTEGER)")
        connection.execute(
            f"CREATE TRIGGER observe_{table} AFTER INSERT ON {table} BEGIN INSERT INTO observed"
            f" SELECT '{table}', synchronous FROM pragma_synchronous; END"
        )


def observed(database):
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT tbl, synchronous FROM observed").fetchall()


def test_a_fresh_connection_commits_with_full_durability(app):
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        assert models.db.execute_sql("PRAGMA synchronous").fetchone() == (FULL,)
        assert models.db.execute_sql("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_saved_note_was_written_with_full_durability(app, client, reader, tmp_path):
    observe_writes(tmp_path / "pearl.db", "note")
    assert post_note(client, "Survives a power cut.").status_code == 303
    assert observed(tmp_path / "pearl.db") == [("note", FULL)]


def test_a_bulk_import_writes_with_normal_durability_on_its_own_connection(app, tmp_path):
    observe_writes(tmp_path / "pearl.db", "article")
    with app.app_context():
        summary = importer.import_file(DATA / "biopython_pubmed4.xml", parallel=False)
        assert summary.added >= 1
        # The import's connection was its own: this thread's still commits with FULL.
        models.db.connect(reuse_if_open=True)
        assert models.db.execute_sql("PRAGMA synchronous").fetchone() == (FULL,)
    assert set(observed(tmp_path / "pearl.db")) == {("article", NORMAL)}
