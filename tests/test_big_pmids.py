"""PMIDs are 64-bit integers on both engines. SQLite's integers always were; PostgreSQL's
`integer` stops at 2^31, so an import of a PMID past it failed there alone (the benchmarks'
million-paper corpus numbers its copies past it). Migration 20 widens an older PostgreSQL
database's columns."""

import pytest

import importer
import models
from tests.conftest import csrf_token, soup

BIG = 3_000_000_001  # past 2^31 - 1 = 2,147,483,647
RECORD = f"""PMID- {BIG}
TI  - A paper numbered past two to the thirty-first.
AB  - Its abstract says so.
DP  - 2020 Jan
TA  - Test J
JT  - Test Journal
"""


def test_a_pmid_past_2_31_is_stored_shown_noted_and_starred(app, client, reader, tmp_path):
    source = tmp_path / "big.txt"
    source.write_text(RECORD)
    with app.app_context():
        assert importer.import_file(source).added == 1
    page = soup(client.get(f"/articles/{BIG}"))
    assert page.select_one("h1").text == "A paper numbered past two to the thirty-first."
    token = csrf_token(client, f"/articles/{BIG}")
    note = {"csrf_token": token, "body": "Big number.", "visibility": "private"}
    assert client.post(f"/articles/{BIG}/notes", data=note).status_code == 303
    star = client.post(f"/articles/{BIG}/star", data={"csrf_token": token, "starred": "1"})
    assert star.status_code in (200, 303)
    with app.app_context():
        assert models.Note.get().article_id == BIG
        assert models.Star.get().article_id == BIG


def paper_columns():
    """(table, column, type) of every PostgreSQL column holding a PMID: the papers' own and
    every foreign key to a paper (read from the catalog, not from the models)."""
    rows = models.db.execute_sql(
        """SELECT c.table_name, c.column_name, c.data_type
           FROM information_schema.columns c
           WHERE c.table_schema = 'public' AND (
             c.column_name IN ('pmid', 'notice_pmid', 'origin') OR (c.table_name, c.column_name)
             IN (SELECT kcu.table_name, kcu.column_name
                 FROM information_schema.referential_constraints rc
                 JOIN information_schema.key_column_usage kcu
                   ON kcu.constraint_name = rc.constraint_name
                 JOIN information_schema.constraint_column_usage ccu
                   ON ccu.constraint_name = rc.unique_constraint_name
                 WHERE ccu.table_name = 'article'))"""
    )
    return sorted(rows)


@pytest.mark.usefixtures("postgres")
def test_migration_20_widens_an_older_postgresql_database(app, postgres):
    if postgres is None:
        pytest.skip("PostgreSQL only: SQLite's integers are 64-bit already")
    with app.app_context():
        columns = paper_columns()
        assert len(columns) >= 11  # article, article_text, article_facet, notice ×3, 6 keys
        assert {kind for _, _, kind in columns} == {"bigint"}  # a new database
        for table, column, _ in columns:  # as a database made before migration 20 was
            models.db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE integer')
        models.Migration.delete().where(models.Migration.number == 20).execute()
        assert models.migrate() == [20]
        assert {kind for _, _, kind in paper_columns()} == {"bigint"}
