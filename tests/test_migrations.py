"""Numbered migrations bring a database made by an older Pearl up to date in place."""

import importer
import models
from tests.conftest import DEMO_FILE, soup
from tests.test_counts import NEW_FILE, assert_counts_are_full_counts, terms_snapshot

RECORD_COLUMNS = (
    "languages",
    "grants",
    "chemicals",
    "comments_corrections",
    "other_abstracts",
    "article_ids",
)


def without_migration_11():
    """Undo migration 11: no MeSH rows in the side table, no issue size, no spared count."""
    models.ArticleFacet.delete().where(models.ArticleFacet.kind.in_(["mh", "majr"])).execute()
    models.db.execute_sql('ALTER TABLE "user" DROP COLUMN "issue_size"')
    models.db.execute_sql('ALTER TABLE "issue" DROP COLUMN "matched"')
    models.Migration.delete().where(models.Migration.number == 11).execute()


def without_migration_8():
    """Undo migration 8 (and 11, which came after it) on the open database: no search side
    table or DOI index."""
    without_migration_11()
    models.db.execute_sql("DROP TABLE article_facet")
    models.db.execute_sql("DROP INDEX article_doi_lower")
    models.Migration.delete().where(models.Migration.number == 8).execute()


def back_to_migration_4():
    """Take the open database back to how migration 4 left it (Article without the record's
    extra columns), keeping its papers."""
    without_migration_8()
    for column in RECORD_COLUMNS:
        models.db.execute_sql(f'ALTER TABLE "article" DROP COLUMN "{column}"')
    models.Migration.delete().where(models.Migration.number == 5).execute()
    # The content hash an older Pearl stored covered fewer columns.
    models.db.execute_sql("UPDATE article SET record_hash = 'hash of fewer columns'")


def test_migration_5_adds_the_record_columns_to_a_database_made_before_it(app, client):
    with app.app_context():
        back_to_migration_4()
        assert not set(RECORD_COLUMNS) & {c.name for c in models.db.get_columns("article")}
        assert models.migrate() == [5, 8, 11]
        assert models.migrate() == []
        # Papers stored before read as empty, and their page still shows.
        old = models.Article.get_by_id(25466483)
        assert (old.comments_corrections, old.grants, old.article_ids) == ([], [], {})
        models.db.close()
    page = soup(client.get("/articles/25466483"))
    assert page.select_one(".comments-corrections") is None
    assert [div.dt.text for div in page.select(".id-list div")] == ["PMID", "DOI"]
    with app.app_context():
        # Re-importing the file fills the new columns: each record counts as updated.
        summary = importer.import_file(DEMO_FILE)
        assert summary.updated == 604 and summary.added == 0
        assert len(models.Article.get_by_id(25466483).comments_corrections) == 6
        models.db.close()


def test_migration_5_adds_columns_without_copying_the_table(app, queries):
    # NOT NULL with an SQL default is one ALTER TABLE … ADD COLUMN each, on SQLite as on
    # PostgreSQL: no rebuild of the article table (which notes and issues point at).
    with app.app_context():
        back_to_migration_4()
        queries.clear()
        models.migrate()
        models.db.close()
    added = [q for q in queries if 'ALTER TABLE "article"' in q]
    assert len(added) == len(RECORD_COLUMNS)
    for column, query in zip(RECORD_COLUMNS, added, strict=True):
        assert f'ADD COLUMN "{column}" TEXT NOT NULL DEFAULT' in query
    # What a copy of the table would run (peewee's way to add NOT NULL on SQLite).
    assert not [q for q in queries if "__tmp__" in q or 'INSERT INTO "article"' in q]


def test_migration_8_fills_the_search_side_table_from_the_papers_stored(app, client):
    with app.app_context():
        before = sorted(models.ArticleFacet.select().tuples())
        without_migration_8()
        assert models.migrate() == [8, 11]
        assert sorted(models.ArticleFacet.select().tuples()) == before
        assert ("1au", "abulafia a", 25936681) in before
        assert ("pt", "review", 26702357) in before
        assert ("ta", "j biol chem", 26534965) in before
        # Deleting a paper takes its rows with it.
        models.Article.delete_pmids([26702357])
        assert not models.ArticleFacet.select().where(models.ArticleFacet.pmid == 26702357).exists()
        models.db.close()
    page = soup(client.get("/search?q=review[pt]"))
    assert "result-26702357" not in {li["id"] for li in page.select("li.result")}


def test_migration_11_adds_headings_to_the_side_table_and_the_issue_size(app, auth, queries):
    with app.app_context():
        reader = auth.create()
        before = sorted(models.ArticleFacet.select().tuples())
        without_migration_11()
        assert not models.ArticleFacet.select().where(models.ArticleFacet.kind == "mh").exists()
        queries.clear()
        assert models.migrate() == [11]
        assert sorted(models.ArticleFacet.select().tuples()) == before  # as the import writes
        # Lung Neoplasms is a major topic of 25368326 through its starred qualifier only.
        assert ("majr", "lung neoplasms", 25368326) in before
        assert ("mh", "humans", 25368326) in before
        assert ("majr", "humans", 25368326) not in before
        assert models.User.get_by_id(reader.id).issue_size == 20
        models.db.close()
    added = [q for q in queries if "ALTER TABLE" in q]
    assert len(added) == 2 and not [q for q in queries if "__tmp__" in q]


def test_migration_10_adds_an_empty_mesh_tree_to_an_older_database(app, client, auth):
    from tests.test_mesh import SLICE, store  # noqa: PLC0415

    with app.app_context():
        # A database from before the tree, whose reader already follows a heading.
        models.db.execute_sql("DROP TABLE mesh_tree_number")
        models.db.execute_sql("DROP TABLE mesh_descriptor")
        models.Migration.delete().where(models.Migration.number == 10).execute()
        user = auth.create()
        models.User.update(full_access=True).where(models.User.id == user.id).execute()
        models.Interest.create(user=user, kind="mesh", value="Cardiovascular Diseases",
                               key="cardiovascular diseases")  # fmt: skip
        assert models.migrate() == [10]
        assert models.migrate() == []
        # Empty until an admin imports a descriptor file: headings match as before.
        assert models.MeshDescriptor.narrower_keys(["Cardiovascular Diseases"]) == {
            "cardiovascular diseases": ["cardiovascular diseases"]
        }
        models.db.close()
    auth.login()
    assert soup(client.get("/journal/interests")).select(".interest-narrower") == []
    with app.app_context():
        store(SLICE)
        models.db.close()
    note = soup(client.get("/journal/interests")).select_one(".interest-narrower")
    assert note.text == "includes 6 narrower headings"


def before_migration_9():
    """Take the open database back to how an older Pearl left it: no paper count, terms
    without spellings or words, counted by the old refresh (a stamp row among them)."""
    for table in ("library_stats", "term_spelling", "term_word"):
        models.db.execute_sql(f"DROP TABLE {table}")
    models.Term.delete().execute()
    models.Term.insert(kind="_stamp", key="_stamp", name="604|2026-11-20", count=0).execute()
    models.Term.insert(kind="mesh", key="humans", name="Humans", count=1).execute()  # stale
    models.Migration.delete().where(models.Migration.number == 9).execute()


def test_migration_9_counts_the_papers_and_terms_of_a_database_made_before_it(app, client):
    with app.app_context():
        kept_by_import = terms_snapshot()
        before_migration_9()
        assert models.migrate() == [9]
        assert models.migrate() == []
        assert terms_snapshot() == kept_by_import  # the stamp and the stale count gone
        assert models.LibraryStats.paper_count() == 604
        # From here on the import keeps them.
        importer.import_file(NEW_FILE)
        assert_counts_are_full_counts()
        models.db.close()
    page = soup(client.get("/"))
    assert page.select_one(".list-count").text == "605 papers · page 1 of 31"
    suggestions = soup(client.get("/journal/interests/suggest?kind=mesh&q=neopl",
                                  headers={"HX-Request": "true"}))  # fmt: skip
    assert suggestions.select("button.suggestion")[0]["value"] == "mesh:Neoplasm Transplantation"
