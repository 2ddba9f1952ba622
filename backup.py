"""A consistent copy of Pearl's database while it runs, and putting one back.

A plain `cp` of a live SQLite database in WAL mode copies the main file without the
write-ahead log, so the newest notes are missing from the copy (or it is torn mid-write).
SQLite's online backup API copies every committed page under a read transaction instead;
PostgreSQL's `pg_dump` does the same from a snapshot.
"""

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from peewee import SqliteDatabase

import models


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why, in one line."""


# Every Pearl database has it (the numbered migrations it has run), from its first start: a
# file without it is some other database, whose restore would leave nothing of Pearl's.
PEARLS_TABLE = models.Migration._meta.table_name


def back_up(destination):
    """Copy the open database to the file `destination` (which must not exist yet)."""
    destination = Path(destination)
    if destination.exists():
        raise BackupError(f"{destination} already exists: choose a new file for the backup")
    if not destination.parent.is_dir():
        raise BackupError(f"{destination.parent} is not a folder")
    if _is_sqlite():
        _sqlite_copy(_live_connection(), _open_file(destination))
    else:
        _pg_dump(destination)
    return destination


def restore(source):
    """Replace the open database's contents with the backup at `source`."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    tables = _sqlite_tables(source) if _is_sqlite() else _pg_archive_tables(source)
    if PEARLS_TABLE not in tables:
        raise BackupError(f"{source} is not a Pearl backup: it has no {PEARLS_TABLE} table")
    if _is_sqlite():
        # Into the live file through SQLite itself: the WAL and other connections see the
        # restored pages, which a file copy over a running database would not give them.
        _sqlite_copy(_open_file(source), _live_connection())
    else:
        _pg_restore(source)


def _sqlite_tables(path):
    """The tables of the SQLite database file at `path`; anything else is not a backup."""
    connection = _open_file(path)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a Pearl backup: {error}") from None
    finally:
        connection.close()


# A table in `pg_restore --list`'s table of contents: "215; 1259 16385 TABLE public note pearl".
_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", re.MULTILINE)


def _pg_archive_tables(source):
    """The tables a pg_dump archive holds, read from its table of contents (pg_restore
    --list reads nothing else); anything else is not a Pearl backup."""
    result = subprocess.run([_pg_tool("pg_restore"), "--list", str(source)],
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        reason = lines[-1].removeprefix("pg_restore: error: ")
        raise BackupError(f"{source} is not a Pearl backup: {reason}")
    return set(_TOC_TABLE.findall(result.stdout))


def _is_sqlite():
    return isinstance(models.db.obj, SqliteDatabase)


def _live_connection():
    models.db.connect(reuse_if_open=True)
    return models.db.connection()


def _open_file(path):
    return sqlite3.connect(str(path))


def _sqlite_copy(source, target):
    try:
        source.backup(target)
    except sqlite3.Error as error:
        raise BackupError(models.database_problem(error)) from None
    finally:
        # Only the connection this module opened is closed; peewee keeps its own.
        for connection in (source, target):
            if connection is not models.db.connection():
                connection.close()


def _pg_conninfo():
    """libpq's connection string for the open database, and the environment carrying its
    password (never on the command line, where `ps` shows it)."""
    database = models.db.obj
    parts = {"dbname": database.database, **database.connect_params}
    env = os.environ.copy()
    password = parts.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    conninfo = " ".join(f"{key}={value}" for key, value in parts.items() if value is not None)
    return conninfo, env


def _pg_tool(name):
    """`pg_dump` or `pg_restore` on PATH, else Debian's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    debian = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if debian:
        return str(debian[-1])
    raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")


def _pg_dump(destination):
    conninfo, env = _pg_conninfo()
    _run([_pg_tool("pg_dump"), "--format=custom", f"--file={destination}", conninfo], env)


def _pg_restore(source):
    # --clean --if-exists drops what the backup recreates; one transaction, so a failed
    # restore leaves the database as it was.
    conninfo, env = _pg_conninfo()
    command = [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
               "--single-transaction", f"--dbname={conninfo}", str(source)]  # fmt: skip
    _run(command, env)


def _run(command, env):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        raise BackupError(f"{Path(command[0]).name}: {lines[-1]}")
