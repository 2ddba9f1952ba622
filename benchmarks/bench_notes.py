"""Notes benchmark: how fast notes render (Markdown + sanitiser) against bare
`markdown.markdown` on the same notes, and the article page with 50 notes under concurrent
load against the same page with no notes, both served by one threaded server in this process.

    .venv/bin/python benchmarks/bench_notes.py
    .venv/bin/python benchmarks/bench_notes.py --seconds 3 --clients 4   # quicker
"""

import argparse
import http.client
import logging
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import markdown

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import importer  # noqa: E402
import markup  # noqa: E402
import models  # noqa: E402
from accounts import create_account  # noqa: E402
from app import create_app  # noqa: E402

DEMO = ROOT / "demo" / "medline16n0902.xml.gz"
PIECES = [
    "Key *point*: _always_ check **K<sup>+</sup>** before starting.",
    "Ddx:\n1. MS\n2. GBS\n3. CIDP",
    "See [the trial](https://example.org/trial?a=1&b=2) for the protocol.",
    "IL-6 rises[^1](Calvo 2012, fig 2). Consider H<sub>2</sub>O balance.",
    "- steroids early\n- physio from day 2\n- review at 6 weeks",
    '![graph](https://example.org/graph.jpg "Forest plot") shows the effect.',
    "Pearl: neuropathic pain with an immune basis responds poorly to NSAIDs.",
]


def typical_notes(count, seed=7):
    """Notes of about 300 characters mixing every part of the help panel's syntax."""
    rng = random.Random(seed)
    notes = []
    for _ in range(count):
        text = ""
        while True:
            piece = rng.choice(PIECES)
            if len(text) + len(piece) + 1 > markup.MAX_LENGTH:
                break
            text = f"{text}\n{piece}" if text else piece
        notes.append(text)
    return notes


def rate(function, items, rounds=3):
    """Best of `rounds` passes, as items per second."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def bench_rendering(count):
    notes = typical_notes(count)
    mean_length = statistics.mean(len(n) for n in notes)
    bare = rate(markdown.markdown, notes)
    pearl = rate(lambda source: markup.render(source, prefix="n1"), notes)
    print(f"Note rendering: {count} notes of {mean_length:.0f} characters on average")
    print(f"  {'markdown.markdown (bare cost)':<40}{bare:>10,.0f} notes/s   1.00x")
    label = "markup.render (Markdown + sanitiser)"
    print(f"  {label:<40}{pearl:>10,.0f} notes/s   {pearl / bare:.2f}x")


def serve(app):
    from werkzeug.serving import make_server  # noqa: PLC0415

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def load(port, path, seconds, clients):
    """`clients` threads on keep-alive connections for `seconds`: (requests/s, p50, p95 ms)."""
    latencies, stop = [], time.perf_counter() + seconds
    lock = threading.Lock()

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < stop:
            start = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)] * 1000
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p95


def bench_page(seconds, clients):
    workdir = Path(tempfile.mkdtemp(prefix="pearl-bench-"))
    try:
        app = create_app({"DATABASE_URL": f"sqlite:///{workdir / 'pearl.db'}",
                          "INSTANCE_PATH": str(workdir), "SECRET_KEY": secrets.token_hex(32),
                          "NOTES_PER_PAGE": 50})  # fmt: skip
        with app.app_context():
            models.migrate()
            importer.import_file(DEMO)
            author = create_account("bench@example.org", "Dr Bench", "benchmark password")
            with_notes, without = 24997269, 17942999
            for source in typical_notes(50):
                note = models.Note.create(article=with_notes, author=author, source=source,
                                          html="", visibility="shared")  # fmt: skip
                note.html = markup.render(source, prefix=f"n{note.id}")
                note.save()
            models.db.close()
        server = serve(app)
        port = server.server_port
        for path in (f"/articles/{with_notes}", f"/articles/{without}"):
            load(port, path, 0.5, 1)  # warm up: styles loaded, templates compiled
        print(f"\nArticle page under load: {clients} concurrent clients, {seconds} s each,"
              " werkzeug threaded server, same process")  # fmt: skip
        base = load(port, f"/articles/{without}", seconds, clients)
        full = load(port, f"/articles/{with_notes}", seconds, clients)
        print(f"  {'page':<32}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'x base':>9}")
        for label, (rps, p50, p95) in (("paper with 0 notes (baseline)", base),
                                       ("paper with 50 notes", full)):  # fmt: skip
            print(f"  {label:<32}{rps:>9.1f}{p50:>9.1f}{p95:>9.1f}{rps / base[0]:>8.2f}x")
        server.shutdown()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=2000, help="notes to render")
    parser.add_argument("--seconds", type=float, default=5, help="load time per page")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    options = parser.parse_args()
    bench_rendering(options.notes)
    bench_page(options.seconds, options.clients)


if __name__ == "__main__":
    main()
