"""Row (f) of benchmarks/bench_import.py, the floor of storing, writes exactly what Pearl's
import writes: the same rows in every table an import fills, and a whole search index. If
they ever differ, the floor no longer measures the import's work."""

import importlib.util
import sqlite3
from pathlib import Path

import pytest

import importer
import models
from tests.conftest import DEMO_FILE

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_import.py"
# Every table an import writes, and what identifies a row there; the article's clock stamps
# differ (each side stamps its own), so they are left out.
TABLES = {
    "article": None,
    "article_text": "pmid",
    "article_facet": "kind, key, pmid",
    "term": "kind, key",
    "term_spelling": "kind, key, name",
    "term_word": "kind, tail, key",
    "notice": "pmid, nature, notice_pmid",
    "library_stats": "id",
}


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("bench_import", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def contents(path):
    connection = sqlite3.connect(path)
    found = {}
    for table, order in TABLES.items():
        if table == "article":
            names = [row[1] for row in connection.execute("PRAGMA table_info(article)")]
            kept = ", ".join(n for n in names if n not in ("added_at", "updated_at"))
            sql = f"SELECT {kept} FROM article ORDER BY pmid"
        else:
            sql = f"SELECT * FROM {table} ORDER BY {order}"
        found[table] = connection.execute(sql).fetchall()
    # FTS5 checks the index against article_text; raises if they disagree.
    connection.execute("INSERT INTO article_search (article_search) VALUES ('integrity-check')")
    found["indexed"] = connection.execute("SELECT count(*) FROM article_search_docsize").fetchone()
    connection.close()
    return found


def test_the_floor_stores_what_the_import_stores(bench, tmp_path):
    imported, floored = tmp_path / "imported.db", tmp_path / "floor.db"
    models.open_database(f"sqlite:///{imported}")
    models.migrate()
    importer.import_file(DEMO_FILE, parallel=False, index="as-you-go")
    models.db.close()
    models.open_database(f"sqlite:///{floored}")
    models.migrate()
    models.db.close()
    columns, batches = bench.floor_batches(DEMO_FILE)
    parts = bench.floor_store(str(floored), columns, batches)

    expected, found = contents(imported), contents(floored)
    assert len(expected["article"]) > importer.BATCH_SIZE  # more than one batch
    assert expected["article_facet"] and expected["term_word"]
    for table in (*TABLES, "indexed"):
        assert found[table] == expected[table], table
    assert set(parts) == set(bench.FLOOR_PARTS)
    assert all(seconds >= 0 for seconds in parts.values())
