"""The import's reader process and its two ways of indexing: the same database whichever
path a file takes, errors that cross the process boundary with their file:line, no reader
process left behind, and an index that is searchable again after an import that stopped."""

import datetime
import gzip
import multiprocessing
import os
import re
import signal

import peewee
import pytest

import importer
import models
import pubmed
from models import Article, ArticleText, search_index
from tests.conftest import DATA, DEMO_FILE

QUERIES = ["neuropathic pain", "malaria", "atrial fibrillation", "lung", "randomized trial"]
PHRASES = ["Atrial fibrillation", "Lung Neoplasms", "Malaria", "Humans", "pain"]


def open_fresh(path):
    """Point models.db at a new database file, migrated."""
    if models.db.obj is not None:
        models.db.close()
    models.open_database(f"sqlite:///{path}")
    models.migrate()


@pytest.fixture
def database(tmp_path):
    open_fresh(tmp_path / "pearl.db")
    yield
    models.db.close()


def check_index():
    """FTS5's own check of the index against article_text (raises if they disagree)."""
    models.db.execute_sql("INSERT INTO article_search (article_search) VALUES ('integrity-check')")


def snapshot():
    """Everything an import decides: the rows (without their timestamps), the indexed text,
    search results and the journal's bm25 scores."""
    check_index()
    articles = [
        {k: v for k, v in row.items() if k not in ("added_at", "updated_at")}
        for row in Article.select().order_by(Article.pmid).dicts()
    ]
    texts = list(ArticleText.select().order_by(ArticleText.pmid).tuples())
    matches = {query: search_index.match(query) for query in QUERIES}
    return articles, texts, matches, search_index.scores_many(PHRASES)


def malformed_copy(tmp_path, after):
    """The demo file with a broken tag after its `after`-th record: (path, its line)."""
    text = gzip.decompress(DEMO_FILE.read_bytes()).decode()
    parts = text.split("</MedlineCitation>")
    broken = "</MedlineCitation>".join(parts[:after]) + "</MedlineCitation>\n<Oops></Wrong>"
    path = tmp_path / "broken.xml"
    path.write_text(broken + "</MedlineCitation>".join(parts[after:]))
    return path


def copies(tmp_path, count):
    """The demo file's records `count` times over, each copy with PMIDs of its own."""
    text = gzip.decompress(DEMO_FILE.read_bytes()).decode()
    head, _, rest = text.partition("<MedlineCitation ")
    body, _, tail = ("<MedlineCitation " + rest).rpartition("</MedlineCitation>")
    body += "</MedlineCitation>"
    parts = [
        re.sub(
            r"<PMID( [^>]*)?>(\d+)</PMID>",
            lambda m, n=n: f"<PMID>{int(m[2]) + n * 10**8}</PMID>",
            body,
        )
        for n in range(count)
    ]
    path = tmp_path / f"copies{count}.xml"
    path.write_text(head + "\n".join(parts) + tail)
    return path


def no_reader_left():
    return multiprocessing.active_children() == []


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("index", ["as-you-go", "rebuild"])
def test_every_path_gives_the_same_database(tmp_path, parallel, index):
    path = copies(tmp_path, 3)  # four batches, and the DeleteCitation at the end
    open_fresh(tmp_path / "reference.db")
    reference_summary = importer.import_file(path, parallel=False, index="as-you-go")
    reference = snapshot()
    open_fresh(tmp_path / "other.db")
    summary = importer.import_file(path, parallel=parallel, index=index)
    assert str(summary) == str(reference_summary) == "1812 added, 0 updated, 0 deleted, 0 skipped"
    assert snapshot() == reference
    assert reference[2]["neuropathic pain"] and reference[3][0]
    assert not search_index.is_stale() and no_reader_left()
    models.db.close()


@pytest.mark.clock("2026-11-26T10:00Z")
@pytest.mark.parametrize("parallel", [True, False])
def test_rows_are_stamped_when_this_process_stores_them(database, parallel):
    # The reader process prepares the rows, on its own (real) clock; the stamps are this one's.
    importer.import_file(DEMO_FILE, parallel=parallel)
    stamps = set(Article.select(Article.added_at, Article.updated_at).tuples())
    assert stamps == {(datetime.datetime(2026, 11, 26, 10, 0),) * 2}


@pytest.mark.parametrize("index", ["as-you-go", "rebuild"])
def test_reimport_with_changes_updates_text_and_index(database, tmp_path, index):
    changed = tmp_path / "changed.xml"
    text = gzip.decompress(DEMO_FILE.read_bytes()).decode()
    changed.write_text(
        text.replace(
            "Neuroplasticity in the processing of pitch dimensions",
            "Xylophonic plasticity in the processing of pitch dimensions",
        )
    )
    importer.import_file(DEMO_FILE, index=index)
    assert 17942999 in search_index.match("neuroplasticity")
    summary = importer.import_file(changed, parallel=True, index=index)
    assert str(summary).startswith("0 added, 1 updated, 0 deleted, 603 skipped")
    assert search_index.match("xylophonic") == [17942999]
    assert 17942999 not in search_index.match("neuroplasticity")
    check_index()


@pytest.mark.parametrize("parallel", [True, False])
def test_malformed_file_in_the_reader_process_names_file_and_line(database, tmp_path, parallel):
    path = malformed_copy(tmp_path, after=importer.BATCH_SIZE + 20)
    summary = importer.Summary()
    with pytest.raises(pubmed.MalformedFile) as raised:
        importer.import_file(path, summary, parallel=parallel)
    assert str(raised.value).startswith(f"{path}:")
    line = int(str(raised.value).split(":")[1])
    assert "<Oops>" in path.read_text().splitlines()[line - 1]
    # The first batch stays (and can be found); nothing of the failing one is stored.
    assert Article.select().count() == importer.BATCH_SIZE == summary.added
    assert no_reader_left()
    check_index()


def test_both_paths_raise_the_same_error(database, tmp_path):
    path = malformed_copy(tmp_path, after=3)
    messages = []
    for parallel in (True, False):
        with pytest.raises(pubmed.MalformedFile) as raised:
            importer.import_file(path, parallel=parallel)
        messages.append((str(raised.value), raised.value.path, raised.value.line))
    assert messages[0] == messages[1]


def test_error_while_storing_stops_the_reader_and_commits_nothing_of_the_batch(database):
    models.db.execute_sql("DROP TABLE article_text")
    with pytest.raises(peewee.OperationalError, match="article_text"):
        importer.import_file(DEMO_FILE, parallel=True)
    assert Article.select().count() == 0
    assert no_reader_left()


def test_a_reader_process_that_dies_is_an_error_not_a_hang(database, tmp_path):
    def kill_reader(_count):
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)

    # Twenty batches: the reader is killed long before it could have sent them all.
    with pytest.raises(importer.ReaderError, match="ended without a word"):
        importer.import_file(copies(tmp_path, 16), on_batch=kill_reader, parallel=True)
    assert no_reader_left()


def test_progress_follows_the_bytes_the_reader_process_has_read(database):
    seen = []
    importer.import_file(DEMO_FILE, on_read=seen.append, parallel=True)
    assert seen == sorted(seen) and 0 < seen[-1] <= DEMO_FILE.stat().st_size
    assert len(seen) == 2  # 605 items: two batches


def test_error_midway_in_rebuild_mode_still_leaves_committed_batches_searchable(database, tmp_path):
    path = malformed_copy(tmp_path, after=importer.BATCH_SIZE + 20)
    with pytest.raises(pubmed.MalformedFile):
        importer.import_file(path, parallel=True, index="rebuild")
    assert not search_index.is_stale()
    first = Article.select().order_by(Article.pmid).first()
    assert first.pmid in search_index.match(f'"{first.title_text}"', limit=600)
    check_index()


def test_interrupted_import_leaves_the_index_stale_until_the_next_import(database, tmp_path):
    def interrupt(_count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        importer.import_file(DEMO_FILE, on_batch=interrupt, parallel=True, index="rebuild")
    assert no_reader_left()
    stored = Article.select().count()
    assert stored == importer.BATCH_SIZE
    assert search_index.is_stale() and search_index.match("neuropathic pain") == []
    # Any later import, however small, rebuilds first.
    importer.import_file(DATA / "biopython_pubmed4.xml")
    assert not search_index.is_stale()
    assert search_index.match("neuropathic pain")
    check_index()


def test_auto_rebuilds_only_a_large_one_process_import_into_a_smaller_database(database):
    plan = importer._IndexPlan("auto", size=100_000_000, parallel=False)
    assert plan.defer(500, 1_000_000)  # about 50,000 records into an empty database
    assert plan.defer(500, 100_000_000)  # decided once, at the first batch
    assert not importer._IndexPlan("auto", 1_000_000, parallel=False).defer(500, 1_000_000)
    # With a reader process the index is built while the reader reads: no rebuild.
    assert not importer._IndexPlan("auto", 100_000_000, parallel=True).defer(500, 1_000_000)
    importer.import_file(DEMO_FILE)
    small = importer._IndexPlan("auto", size=6_000_000, parallel=False)
    assert small.defer(500, 500_000)  # 6,000 records expected, more than the 604 stored
    assert not importer._IndexPlan("auto", size=None, parallel=False).defer(500, None)
    assert importer._IndexPlan("rebuild", size=None, parallel=True).defer(500, None)
    with pytest.raises(ValueError, match="index must be one of"):
        importer._IndexPlan("later", size=None, parallel=False)


def test_migration_6_moves_an_old_index_into_article_text(database):
    importer.import_file(DEMO_FILE)
    before = snapshot()
    # Back to the schema migration 1 made before migration 6: an FTS5 table holding its own
    # copy of the text, no article_text.
    for statement in (
        "DROP TABLE article_search",
        'CREATE VIRTUAL TABLE "article_search" USING fts5 ("title", "abstract", "mesh", '
        '"keywords", tokenize="porter unicode61 remove_diacritics 2")',
        "INSERT INTO article_search (rowid, title, abstract, mesh, keywords) "
        "SELECT pmid, title, abstract, mesh, keywords FROM article_text",
        "DROP TABLE article_text",
        "DROP TABLE search_index_state",
        "DELETE FROM migration WHERE number = 6",
    ):
        models.db.execute_sql(statement)
    assert models.migrate() == [6]
    assert snapshot() == before
    assert models.migrate() == []
    # And the converted database goes on importing as a new one does.
    assert str(importer.import_file(DEMO_FILE)).startswith("0 added, 0 updated, 0 deleted, 604")


def test_a_reader_process_only_for_files_of_thousands_of_records(database, tmp_path):
    def note_readers(_count):
        seen.append(len(multiprocessing.active_children()))

    seen = []
    importer.import_file(DEMO_FILE, on_batch=note_readers)  # 604 records, 0.65 MB gzipped
    assert seen == [0, 0]
    seen.clear()
    importer.import_file(copies(tmp_path, 6), on_batch=note_readers)  # 3,624 records, 23 MB
    assert seen and seen[0] == 1 and no_reader_left()
