"""The importer's batches: a batch that fails to store commits nothing, the error reaches the
caller, and batches before a reader error stay committed."""

import peewee
import pytest

import importer
import models
import pubmed
from tests.conftest import DEMO_FILE


@pytest.fixture
def database(tmp_path):
    models.open_database(f"sqlite:///{tmp_path / 'pearl.db'}")
    models.migrate()
    yield
    models.db.close()


def test_a_batch_that_fails_to_store_commits_nothing(database):
    # Without the search table the batch's second statement fails after its first succeeded.
    models.db.execute_sql("DROP TABLE article_search")
    with pytest.raises(peewee.OperationalError, match="article_search"):
        importer.import_file(DEMO_FILE)
    assert models.Article.select().count() == 0


def test_batches_before_a_reader_error_stay_committed(database):
    def records_then_error():
        for number, item in enumerate(pubmed.read(DEMO_FILE)):
            if number == importer.BATCH_SIZE + 10:
                raise pubmed.MalformedFile("demo.xml", 42, "broken here")
            yield item

    summary = importer.Summary()
    with pytest.raises(pubmed.MalformedFile, match="demo.xml:42"):
        importer.import_records(records_then_error(), summary)
    assert models.Article.select().count() == importer.BATCH_SIZE == summary.added


def test_summary_counts_each_kind():
    summary = importer.Summary(added=2, updated=1)
    summary.skip("unchanged")
    summary.skip("unchanged")
    summary.skip("without a PMID")
    assert str(summary) == (
        "2 added, 1 updated, 0 deleted, 3 skipped (2 unchanged, 1 without a PMID)"
    )
