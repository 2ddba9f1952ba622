"""Page and search latency on a big library: the home page (first and a deep page), a paper
page, its similar papers, the interests picker's suggestions (a prefix, a word's start, no
match) and search, each against a bare fixed-string endpoint of the same server; and search
against the raw FTS5 query it runs on (the bare cost of searching).

    .venv/bin/python benchmarks/bench_pages.py                    # 1,000,000 papers
    .venv/bin/python benchmarks/bench_pages.py --records 20000    # quick check
    .venv/bin/python benchmarks/bench_pages.py --postgres         # the same on PostgreSQL

The library is built once with Pearl's own import command from the synthetic corpus of
bench_import.py and cached in benchmarks/.cache/ (about 8 GB at a million papers; delete the
folder to get the space back); a cached library made by an older Pearl is migrated first.
With --postgres the library is a database on the benchmarks' own PostgreSQL server
(pg_cluster.py, its cluster cached beside the SQLite files), imported by the same command,
and the raw query is its tsvector match ranked by ts_rank_cd.
The server runs in a process of its own (werkzeug, threaded); requests are made one at a time
over one keep-alive connection, so each latency is the server's alone.
"""

import argparse
import http.client
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_import import CACHE, corpus  # noqa: E402 - after the path is set

SERVER = textwrap.dedent(
    """
    import secrets
    import sys
    from werkzeug.serving import make_server
    from app import create_app
    app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": secrets.token_hex(32),
                      "INSTANCE_PATH": sys.argv[2], "RATELIMIT_ENABLED": False})
    # The baseline: the same server and stack answering a fixed string.
    app.add_url_rule("/__bare", "bare", lambda: "bare")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()
    """
)


class Library:
    """A cached library of `records` papers on one engine: its URL for Pearl, and SQL on it
    for the benchmark (written with `?` placeholders, as Pearl's own is)."""

    def __init__(self, records, postgres=False):
        self.records, self.postgres = records, postgres
        self.url = self._postgres_url() if postgres else f"sqlite:///{self._sqlite_path()}"
        if postgres:
            import psycopg  # noqa: PLC0415 - only the PostgreSQL run needs it

            self.connection = psycopg.connect(self.url, autocommit=True)
        else:
            self.connection = sqlite3.connect(self.url.removeprefix("sqlite:///"))

    def execute(self, sql, params=()):
        if self.postgres:
            sql = sql.replace("?", "%s")
        return self.connection.execute(sql, params)

    def rows(self, sql, params=()):
        return self.execute(sql, params).fetchall()

    def commit(self):
        self.connection.commit()

    def _sqlite_path(self):
        """The SQLite file, imported by `flask import` if missing (the import counts the
        papers and the suggestions' terms as it goes), else brought up to date (`flask
        init-db`: migrations since it was made)."""
        path = CACHE / f"library_{self.records}.db"
        if path.exists():
            _flask(f"sqlite:///{path}", "init-db")
            return path
        partial = path.with_suffix(".partial.db")
        for leftover in CACHE.glob(partial.name + "*"):
            leftover.unlink()
        self._import(f"sqlite:///{partial}", path.name)
        sqlite3.connect(partial).execute("PRAGMA wal_checkpoint(TRUNCATE)").connection.close()
        partial.rename(path)
        return path

    def _postgres_url(self):
        """The PostgreSQL database: imported until it holds every paper (an import cut short
        goes on where it stopped: what is stored already is skipped), then migrated."""
        import pg_cluster  # noqa: PLC0415 - only the PostgreSQL run starts a server

        url = pg_cluster.database_url(f"library_{self.records}")
        _flask(url, "init-db")
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url) as connection:
            (stored,) = connection.execute("SELECT count(*) FROM article").fetchone()
        if stored < self.records:
            self._import(url, f"library_{self.records} on PostgreSQL")
        return url

    def _import(self, url, name):
        source = corpus(self.records)
        started = time.perf_counter()
        _flask(url, "import", str(source))
        print(f"built {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    def raw_match(self, texts):
        """The bare cost of a search, in milliseconds a text: SQLite's FTS5 MATCH … ORDER BY
        bm25 LIMIT 20, or PostgreSQL's tsvector match ORDER BY ts_rank_cd LIMIT 20 (the same
        weights Pearl ranks by), every word required."""
        if self.postgres:
            from models.postgres import RANK_WEIGHTS  # noqa: PLC0415

            sql = (f"SELECT pmid FROM article_text, plainto_tsquery('english', %s) q"
                   f" WHERE document @@ q ORDER BY ts_rank_cd({RANK_WEIGHTS}, document, q) DESC"
                   " LIMIT 20")  # fmt: skip
        else:
            sql = ("SELECT rowid FROM article_search WHERE article_search MATCH ? "
                   "ORDER BY bm25(article_search) LIMIT 20")  # fmt: skip
        times = []
        for text in texts:
            query = text if self.postgres else " ".join(f'"{word}"' for word in text.split())
            started = time.perf_counter()
            self.connection.execute(sql, (query,)).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        return times


def _flask(url, *command):
    flask = [sys.executable, "-m", "flask", "--app", "app", *command]
    subprocess.run(flask, cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True)


def start_server(url):
    """The benchmark's server in a process of its own, and its port; its log (every request,
    and a traceback if it dies at start) goes to the instance folder."""
    instance = CACHE / "bench-instance"
    instance.mkdir(parents=True, exist_ok=True)
    log = instance / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, url, str(instance)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    if not line.strip().isdigit():
        sys.exit(f"the benchmark's server did not start:\n{log.read_text()[-2000:]}")
    return process, int(line)


def latencies(connection, path, repeat, headers=None):
    """Milliseconds of `repeat` GETs of `path` (after one warm-up), and the last status."""
    times, status = [], None
    for number in range(repeat + 1):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        if number:
            times.append((time.perf_counter() - started) * 1000)
        status = response.status
    return times, status


def summary(times):
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def line(name, status, times, baseline):
    """One row of the table: median, 95th percentile and its ratio to the baseline's."""
    (p50, p95), base95 = times, baseline[1]
    print(f"{name:<28} {status:>6} {p50:>8.1f} {p95:>8.1f} {p95 / base95:>10.1f}x")


def queries(library, count, seed=7):
    """`count` varied searches from the library's own titles: one to three title words."""
    rows = library.rows("SELECT title FROM article ORDER BY pmid LIMIT 5000")
    words = [re.findall(r"[^\W\d_]{4,}", re.sub("<[^>]+>", " ", title)) for (title,) in rows]
    words = [w for w in words if w]
    pick = random.Random(seed)
    return [" ".join(pick.sample(ws, min(len(ws), pick.randint(1, 3)))) for ws in
            (pick.choice(words) for _ in range(count))]  # fmt: skip


def deep_page(library, size, per_page=20):
    """The home page's URL halfway down the list, as its Older links lead there: the page
    number and the cursor (sort date and PMID) of the paper just above it."""
    number = max(2, size // per_page // 2)
    [(date, pmid)] = library.rows(
        "SELECT sort_date, pmid FROM article ORDER BY sort_date DESC, pmid DESC LIMIT 1 OFFSET ?",
        ((number - 1) * per_page - 1,),
    )
    return f"/?page={number}&before={date}.{pmid}"


# The interests picker's autocomplete (htmx asks for it as the reader types): a name's
# start, a word's start inside names ("Atrial Fibrillation", "Cystic Fibrosis"), no match.
SUGGESTIONS = {
    "suggest, prefix (htmx)": "/journal/interests/suggest?kind=mesh&q=card",
    "suggest, word start (htmx)": "/journal/interests/suggest?kind=keyword&q=fibrill",
    "suggest, no match (htmx)": "/journal/interests/suggest?kind=mesh&q=zqx",
}


def run(records, repeat, count, postgres=False):
    library = Library(records, postgres)
    [(size,)] = library.rows("SELECT count(*) FROM article")
    [(some,)] = library.rows("SELECT pmid FROM article ORDER BY pmid LIMIT 1 OFFSET ?",
                             (size // 2,))  # fmt: skip
    deep = deep_page(library, size)
    process, port = start_server(library.url)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        bare, _ = latencies(connection, "/__bare", repeat)
        pages = {
            "home page": "/",
            "home page, deep": deep,
            "paper page": f"/articles/{some}",
            "similar papers (htmx)": f"/articles/{some}/similar",
            **SUGGESTIONS,
        }
        engine = "PostgreSQL" if postgres else "SQLite"
        print(f"{size:,} papers on {engine} · {repeat} requests each · one client, keep-alive\n")
        print(f"{'what':<28} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'p95 / base':>11}")
        baseline = summary(bare)
        line("bare endpoint (baseline)", 200, baseline, baseline)
        hx = {"HX-Request": "true"}
        for name, path in pages.items():
            times, status = latencies(connection, path, repeat, hx if "htmx" in name else None)
            line(name, status, summary(times), baseline)
        texts = queries(library, count)
        search_times, status = [], None
        for text in texts:
            started = time.perf_counter()
            connection.request("GET", "/search?" + urllib.parse.urlencode({"q": text}))
            response = connection.getresponse()
            response.read()
            status = response.status
            search_times.append((time.perf_counter() - started) * 1000)
        raw = summary(library.raw_match(texts))
        print(f"\n{count} searches (1–3 title words):")
        line("raw tsvector match, LIMIT 20" if postgres else "raw FTS5 MATCH, LIMIT 20", "",
             raw, raw)  # fmt: skip
        line("GET /search", status, summary(search_times), raw)
        print("\ntargets: every page p95 ≤ 50 ms; search p95 ≤ 50 ms and ≤ 2× the raw query")
    finally:
        process.terminate()
        process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=100, help="requests per page")
    parser.add_argument("--queries", type=int, default=1000, help="searches to time")
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL (pg_cluster.py)")
    args = parser.parse_args()
    run(args.records, args.repeat, args.queries, args.postgres)


if __name__ == "__main__":
    main()
