"""Sync benchmark: applying a 30,000-record update file to a library of N papers, against the
plain import of the same file into an empty library (records/s, the ratio, peak memory).

    .venv/bin/python benchmarks/bench_sync.py                    # N = 100,000, a few minutes
    .venv/bin/python benchmarks/bench_sync.py --library 20000    # quicker

The update file is shaped like NCBI's: half its records revise papers of the library (a
changed title), half are new, and it ends with a DeleteCitation of 1,000 of the library's
papers. It is made from the real demo file (PMIDs renumbered, as bench_import.py does) and,
like the library (built once by a plain import of bench_import's synthetic corpus), cached
in benchmarks/.cache/ (bench_pages.py's library of the same size when there is one: it is
copied for each measurement, never written).
Every run works on a copy, deleted afterwards. Rows:

  (a) import into an empty library      `importer.import_file`, the plain import
  (b) import into the N-paper library   the same call, revising and deleting
  (c) sync into the N-paper library     `sync_updatefiles`: listing, download over local
                                        HTTP, MD5 check, import, the run recorded
"""

import argparse
import gzip
import http.server
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_import  # noqa: E402 - after sys.path is set
from bench_import import CACHE, FOOTER, HEADER, PMID_STEP, SOURCE, memory_kb  # noqa: E402

UPDATE_RECORDS = 30_000
DELETED = 1_000
NEW_COPIES = 50_000  # new records get copy numbers from here: beyond any library's copies
VERSION = 1  # bump when the update file's recipe changes
UPDATE_NAME = "pubmed26n1500.xml.gz"


def library(records):
    """A cached SQLite library of `records` papers (the synthetic corpus, imported). The
    pages benchmark's library of the same corpus and size serves when it is there: it is
    only ever copied (see `measure`), never written, and 9 GB is not built twice."""
    shared = CACHE / f"library_{records}.db"
    if shared.exists():
        return shared
    path = CACHE / f"sync_library_v{VERSION}_{records}.db"
    if path.exists():
        return path
    corpus = bench_import.corpus(records)
    partial = path.with_suffix(".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    _child("import", corpus, partial)
    partial.rename(path)
    print(f"built {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def update_file(library_records):
    """The cached update file for a library of `library_records` papers (see the module)."""
    folder = CACHE / f"sync_update_v{VERSION}_{library_records}"
    path = folder / UPDATE_NAME
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    parts = bench_import.templates(SOURCE)

    def pmid(n, copy_base=0):
        copy, index = divmod(n, len(parts))
        return parts[index][0] + (copy + copy_base) * PMID_STEP, parts[index]

    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=6) as out:
        out.write(HEADER)
        for n in range(UPDATE_RECORDS):
            if n % 2 == 0 and n < library_records:  # a revision of library paper n
                number, (_, before, after) = pmid(n)
                after = after.replace(b"<ArticleTitle>", b"<ArticleTitle>[Revised] ", 1)
            else:  # a new paper
                number, (_, before, after) = pmid(n, NEW_COPIES)
            out.write(before + str(number).encode() + after)
        first = max(UPDATE_RECORDS, library_records - DELETED)
        gone = [pmid(n)[0] for n in range(first, library_records)]
        out.write(b"<DeleteCitation>\n")
        out.write(b"".join(b'<PMID Version="1">%d</PMID>\n' % p for p in gone))
        out.write(b"</DeleteCitation>\n" + FOOTER)
    partial.rename(path)
    return path


# --- the measurements, each in a fresh process ---


def _child(mode, file, database):
    command = [sys.executable, __file__, "--child", mode, str(file), str(database)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode:
        sys.exit(f"the {mode} child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(mode, file, base=None):
    """Run one mode on a copy of `base` (or an empty database), deleted afterwards."""
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="sync-db-") as folder:
        database = Path(folder) / "pearl.db"
        if base is not None:
            shutil.copyfile(base, database)
        return _child(mode, file, database)


def child_main(mode, file, database):
    """In a fresh process: import (or sync) `file` into `database`; prints JSON."""
    import importer  # noqa: PLC0415
    import models  # noqa: PLC0415
    from pubmed import sync, updatefiles  # noqa: PLC0415

    models.open_database(f"sqlite:///{database}")
    models.migrate()
    before = memory_kb()[0]
    stored_before = models.article_count()
    started = time.perf_counter()
    if mode == "import":
        summary = importer.import_file(file)
    else:
        with _serving(Path(file).parent) as url:
            (run,) = sync.sync_updatefiles(updatefiles.Downloader(url), Path(database).parent)
        assert run.succeeded, run.error
        summary = run
    seconds = time.perf_counter() - started
    result = {
        "seconds": seconds, "added": summary.added, "updated": summary.updated,
        "deleted": summary.deleted, "stored_before": stored_before,
        "stored": models.article_count(), "rss_before_kb": before, "rss_peak_kb": memory_kb()[1],
        "reader_peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }  # fmt: skip
    models.db.close()
    print(json.dumps(result))


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _serving:
    """A local HTTP server for a folder holding the update file, its .md5 and a listing."""

    def __init__(self, folder):
        name = UPDATE_NAME
        from pubmed.updatefiles import md5_of  # noqa: PLC0415

        digest = md5_of(folder / name)
        (folder / f"{name}.md5").write_text(f"MD5({name})= {digest}\n")

        def handler(*args, **kwargs):
            return _Files(*args, directory=str(folder), **kwargs)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}/"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def megabytes(kb):
    return f"{kb / 1024:,.0f} MB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=int, default=100_000, help="papers in the library")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return
    if args.library < UPDATE_RECORDS + DELETED:
        sys.exit(f"--library must be at least {UPDATE_RECORDS + DELETED:,}")
    CACHE.mkdir(parents=True, exist_ok=True)
    base = library(args.library)
    update = update_file(args.library)
    bench_import.warm(update)
    rows = [
        ("(a) import into an empty library", measure("import", update)),
        (f"(b) import into a {args.library:,}-paper library", measure("import", update, base)),
        (f"(c) sync into a {args.library:,}-paper library", measure("sync", update, base)),
    ]
    plain = rows[0][1]["seconds"]
    print(f"Pearl sync benchmark: a {UPDATE_RECORDS:,}-record update file ({update.name}, "
          f"{update.stat().st_size / 1e6:,.0f} MB: half revisions, half new, "
          f"{DELETED:,} deletions)")  # fmt: skip
    print(f"library: {args.library:,} papers (built from bench_import's corpus, cached as "
          f"{base.name}); {os.cpu_count()} CPUs\n")  # fmt: skip
    width = max(len(label) for label, _ in rows)
    print(f"{'measurement':<{width}}  {'seconds':>8}  {'records/s':>9}  {'x (a)':>6}  "
          f"{'added':>6}  {'updated':>7}  {'deleted':>7}  {'peak RSS':>9}  reader")  # fmt: skip
    for label, r in rows:
        print(f"{label:<{width}}  {r['seconds']:>8.2f}  {UPDATE_RECORDS / r['seconds']:>9,.0f}  "
              f"{r['seconds'] / plain:>5.2f}x  {r['added']:>6,}  {r['updated']:>7,}  "
              f"{r['deleted']:>7,}  {megabytes(r['rss_peak_kb']):>9}  "
              f"{megabytes(r['reader_peak_kb'])}")  # fmt: skip
    print("\nx (a): seconds against the plain import of the same file into an empty library."
          "\npeak RSS: the importing process; reader: the reader process it starts (ru_maxrss"
          "\nof children, an upper bound).")  # fmt: skip


if __name__ == "__main__":
    main()
