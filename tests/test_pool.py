"""SQLite connections are pooled: a request takes one and gives it back, so the next request
does not read and parse the schema again. A connection that is not what a new one would be
(relaxed for an import) never goes back; closing every connection leaves a file that a plain
copy reads whole; a forked child never uses its parent's connections."""

import concurrent.futures
import os
import shutil
import sqlite3
import threading
import urllib.request

import pytest
from flask import request

import models
from tests.conftest import make_app, serving

pytestmark = pytest.mark.sqlite_only("the SQLite pool")


def connection_route(app):
    """A route answering which connection served it, and its `synchronous` setting."""

    @app.get("/test/connection")
    def connection():
        if "mark" in request.args:  # a setting that lives as long as the connection
            models.db.execute_sql("PRAGMA cache_size = -12345")
        (level,) = models.db.execute_sql("PRAGMA synchronous").fetchone()
        (cache,) = models.db.execute_sql("PRAGMA cache_size").fetchone()
        return {"connection": id(models.db.connection()), "synchronous": level, "cache": cache}

    return app.test_client()


def test_requests_reuse_one_connection(app):
    client = connection_route(app)
    first = client.get("/test/connection?mark").json
    second = client.get("/test/connection").json
    assert first["connection"] == second["connection"]
    assert second["cache"] == -12345  # the same connection, not a new one at the same address
    assert first["synchronous"] == second["synchronous"] == 2  # FULL


def test_a_connection_relaxed_for_an_import_is_never_lent_to_a_request(app):
    client = connection_route(app)
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        models.relax_durability()
        (cache,) = models.db.execute_sql("PRAGMA cache_size").fetchone()
        assert cache == -models.engine.IMPORT_CACHE_KIB  # a batch's pages fit, for the import only
        models.db.execute_sql("PRAGMA cache_size = -12345")  # to know this connection again
        (level,) = models.db.execute_sql("PRAGMA synchronous").fetchone()
        assert level == 1  # NORMAL, for the import only
        models.db.close()
    served = client.get("/test/connection").json
    assert served["synchronous"] == 2
    # A new connection (ids of freed ones are reused), with the default page cache.
    assert served["cache"] not in (-12345, -models.engine.IMPORT_CACHE_KIB)


def test_a_copy_after_closing_every_connection_holds_every_write(app, tmp_path):
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        models.db.execute_sql("CREATE TABLE written (value TEXT)")
        models.db.execute_sql("INSERT INTO written VALUES ('kept')")
        models.db.close()  # back to the pool: still open, the write may sit in the WAL
    models.close_all()
    copy = tmp_path / "copy.db"
    shutil.copy(tmp_path / "pearl.db", copy)  # the file alone, no -wal beside it
    assert sqlite3.connect(copy).execute("SELECT value FROM written").fetchall() == [("kept",)]


def test_a_forked_child_opens_its_own_connection(tmp_path, demo_database):
    database = tmp_path / "pearl.db"
    shutil.copy(demo_database, database)
    app = make_app(tmp_path, database)
    client = connection_route(app)
    parents = client.get("/test/connection").json["connection"]
    pid = os.fork()
    if pid == 0:  # the child: answer by exit status, never return into pytest
        status = 1
        try:
            child = client.get("/test/connection").json["connection"]
            status = 0 if child != parents else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.get("/test/connection").json["connection"] == parents


def test_forty_requests_at_once_each_get_a_connection(app):
    # More than any fixed cap would allow: a threaded server runs a thread per request.
    count = 40
    everyone_connected = threading.Barrier(count, timeout=30)

    @app.get("/test/hold")
    def hold():
        models.db.execute_sql("SELECT 1")  # this request's connection is open now
        everyone_connected.wait()
        return "held"

    with serving(app) as base, concurrent.futures.ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda _: urllib.request.urlopen(f"{base}/test/hold").read(),
                                range(count)))  # fmt: skip
    assert answers == [b"held"] * count
