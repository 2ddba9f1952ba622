"""Page and search latency on a big library: the home page (first and a deep page), a paper
page, its similar papers, the interests picker's suggestions (a prefix, a word's start, no
match) and search, each against a bare fixed-string endpoint of the same server; and search
against the raw FTS5 query it runs on (the bare cost of searching).

    .venv/bin/python benchmarks/bench_pages.py                    # 1,000,000 papers
    .venv/bin/python benchmarks/bench_pages.py --records 20000    # quick check

The library is built once with Pearl's own import command from the synthetic corpus of
bench_import.py and cached in benchmarks/.cache/ (about 8 GB at a million papers; delete the
folder to get the space back); a cached library made by an older Pearl is migrated first.
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


def library(records):
    """The cached SQLite library of `records` papers, imported by `flask import` if missing
    (the import counts the papers and the suggestions' terms as it goes). A cached one is
    brought up to date first (`flask init-db`: migrations since it was made)."""
    path = CACHE / f"library_{records}.db"
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    if path.exists():
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
        subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True)
        return path
    source = corpus(records)
    partial = path.with_suffix(".partial.db")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{partial}"}
    started = time.perf_counter()
    subprocess.run([*flask, "import", str(source)], cwd=ROOT, env=env, check=True)
    print(f"built {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    sqlite3.connect(partial).execute("PRAGMA wal_checkpoint(TRUNCATE)").connection.close()
    partial.rename(path)
    return path


def start_server(database):
    """The benchmark's server in a process of its own, and its port; its log (every request,
    and a traceback if it dies at start) goes to the instance folder."""
    instance = CACHE / "bench-instance"
    instance.mkdir(parents=True, exist_ok=True)
    log = instance / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, f"sqlite:///{database}", str(instance)],
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


def queries(database, count, seed=7):
    """`count` varied searches from the library's own titles: one to three title words."""
    rows = (
        sqlite3.connect(database)
        .execute("SELECT title FROM article ORDER BY pmid LIMIT 5000")
        .fetchall()
    )
    words = [re.findall(r"[^\W\d_]{4,}", re.sub("<[^>]+>", " ", title)) for (title,) in rows]
    words = [w for w in words if w]
    pick = random.Random(seed)
    return [" ".join(pick.sample(ws, min(len(ws), pick.randint(1, 3)))) for ws in
            (pick.choice(words) for _ in range(count))]  # fmt: skip


def raw_match(database, texts):
    """The bare cost: FTS5 MATCH … ORDER BY bm25 LIMIT 20 for each text, in milliseconds."""
    connection = sqlite3.connect(database)
    sql = ("SELECT rowid FROM article_search WHERE article_search MATCH ? "
           "ORDER BY bm25(article_search) LIMIT 20")  # fmt: skip
    times = []
    for text in texts:
        query = " ".join('"' + word + '"' for word in text.split())
        started = time.perf_counter()
        connection.execute(sql, (query,)).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return times


def deep_page(database, size, per_page=20):
    """The home page's URL halfway down the list, as its Older links lead there: the page
    number and the cursor (sort date and PMID) of the paper just above it."""
    number = max(2, size // per_page // 2)
    date, pmid = (
        sqlite3.connect(database)
        .execute(
            "SELECT sort_date, pmid FROM article ORDER BY sort_date DESC, pmid DESC "
            "LIMIT 1 OFFSET ?",
            ((number - 1) * per_page - 1,),
        )
        .fetchone()
    )
    return f"/?page={number}&before={date}.{pmid}"


# The interests picker's autocomplete (htmx asks for it as the reader types): a name's
# start, a word's start inside names ("Atrial Fibrillation", "Cystic Fibrosis"), no match.
SUGGESTIONS = {
    "suggest, prefix (htmx)": "/journal/interests/suggest?kind=mesh&q=card",
    "suggest, word start (htmx)": "/journal/interests/suggest?kind=keyword&q=fibrill",
    "suggest, no match (htmx)": "/journal/interests/suggest?kind=mesh&q=zqx",
}


def run(records, repeat, count):
    database = library(records)
    size = sqlite3.connect(database).execute("SELECT count(*) FROM article").fetchone()[0]
    some = (
        sqlite3.connect(database)
        .execute("SELECT pmid FROM article ORDER BY pmid LIMIT 1 OFFSET ?", (size // 2,))
        .fetchone()[0]
    )
    deep = deep_page(database, size)
    process, port = start_server(database)
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
        print(f"{size:,} papers · {repeat} requests each · one client, keep-alive\n")
        print(f"{'what':<28} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'p95 / base':>11}")
        baseline = summary(bare)
        line("bare endpoint (baseline)", 200, baseline, baseline)
        hx = {"HX-Request": "true"}
        for name, path in pages.items():
            times, status = latencies(connection, path, repeat, hx if "htmx" in name else None)
            line(name, status, summary(times), baseline)
        texts = queries(database, count)
        search_times, status = [], None
        for text in texts:
            started = time.perf_counter()
            connection.request("GET", "/search?" + urllib.parse.urlencode({"q": text}))
            response = connection.getresponse()
            response.read()
            status = response.status
            search_times.append((time.perf_counter() - started) * 1000)
        raw = summary(raw_match(database, texts))
        print(f"\n{count} searches (1–3 title words):")
        line("raw FTS5 MATCH, LIMIT 20", "", raw, raw)
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
    args = parser.parse_args()
    run(args.records, args.repeat, args.queries)


if __name__ == "__main__":
    main()
