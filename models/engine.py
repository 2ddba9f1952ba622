"""Connecting to the database named by a URL, and saying what a database error means."""

from peewee import SqliteDatabase
from playhouse import db_url

from .base import CORNERS, EveryPool, db
from .postgres import PearlPostgresqlDatabase
from .sqlite import SQLITE_PRAGMAS, PearlSqliteDatabase, disk_is_full


def _disk_is_full():
    """Whether the SQLite database's disk is (all but) full."""
    return isinstance(db.obj, SqliteDatabase) and disk_is_full(db.obj.database)


# Pages the WAL may hold before a commit of the import's copies them into the database
# (SQLite's default is 1,000, about 4 MB: less than one batch, so every commit checkpointed).
# About 40 MB: a checkpoint every few batches, and pages a batch rewrites (the index's, the
# terms') are copied once for several batches. Measured: about 5 % less CPU storing.
IMPORT_CHECKPOINT_PAGES = 10_000
# The import connection's page cache, in KiB (SQLite's default is 2,000 KiB). A batch of 500
# dirties more pages than that (the facet table's and the index's above all), so SQLite kept
# spilling them to the WAL in the middle of the transaction and writing some of them again
# before the commit. 8 MB holds a batch: about 4 % less CPU storing (9.80 → 9.43 CPU s at 30k,
# means of six alternating runs on a loaded machine; see benchmarks/README.md). A fixed
# size: memory stays flat.
IMPORT_CACHE_KIB = 8_192


def relax_durability():
    """For this thread's connection only (outside a transaction): commits that a power cut
    may roll back, for a bulk import that can simply be run again. SQLite's NORMAL in WAL
    mode, fewer, larger checkpoints and a page cache that holds a batch; other engines keep
    their own settings. The connection is closed afterwards, never lent to a request."""
    if isinstance(db.obj, SqliteDatabase):
        db.execute_sql("PRAGMA synchronous = NORMAL")
        db.execute_sql(f"PRAGMA wal_autocheckpoint = {IMPORT_CHECKPOINT_PAGES}")
        db.execute_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        if isinstance(db.obj, PearlSqliteDatabase):
            db.obj.single_use()  # never lent, relaxed, to a web request


def open_database(url):
    """Connect `db` to the database at `url` (sqlite:///path or postgresql://…)."""
    if url.startswith("sqlite"):
        database, engine = PearlSqliteDatabase(**db_url.parse(url)), "sqlite"
    elif url.startswith(("postgresql://", "postgres://")):
        database, engine = PearlPostgresqlDatabase(**db_url.parse(url)), "postgresql"
    else:
        database, engine = db_url.connect(url), "sqlite"
    db.initialize(database)
    for corner in CORNERS:
        corner.use(engine)
    return database


def database_problem(error):
    """What a database error means for the person who met it, in one sentence."""
    text = str(error)
    # On a full disk SQLite often says only "disk I/O error" (it could not create the WAL):
    # the disk itself tells.
    if "disk is full" in text or _disk_is_full():
        return "the disk is full: nothing more can be saved until space is freed"
    if "unable to open database file" in text:
        path = getattr(db.obj, "database", "the database file")
        return f"cannot open the database {path}: check that its folder exists and is writable"
    if "locked" in text or "busy" in text:
        seconds = SQLITE_PRAGMAS["busy_timeout"] // 1000
        return (
            f"the database is busy: another process kept it locked for over {seconds} "
            "seconds; try again"
        )
    return f"the database refused the change ({text})"


def close_all():
    """Close every connection this process holds, pooled ones too (every pool it opened):
    dropping a PostgreSQL database needs nobody connected to it, and a copy of an SQLite file
    holds only what was checkpointed, which closing the last connection does."""
    if db.obj is not None:
        db.obj.close()
    EveryPool.close_every_pool()
