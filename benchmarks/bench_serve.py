"""Serving benchmark: gunicorn with the shipped gunicorn.conf.py (2 gthread workers) under
load from `wrk` on loopback. Requests/s and p50/p95 for the paper page with 20 notes, the
notes fragment, search and a note save, each against a bare fixed-string endpoint of the same
server in the same run; then 50 writers saving notes for a minute, counting what was lost or
duplicated. Each endpoint's seconds are split into rounds that take turns with the bare
endpoint's, so the speed of the machine's virtual cores, which drifts from minute to minute,
falls on both sides of a ratio alike.

    .venv/bin/python benchmarks/bench_serve.py                     # SQLite, ~2 minutes
    .venv/bin/python benchmarks/bench_serve.py --seconds 5 --writers-seconds 10   # quicker
    .venv/bin/python benchmarks/bench_serve.py --database-url postgresql://…  # empty PG
    .venv/bin/python benchmarks/bench_serve.py --postgres   # a fresh database on pg_cluster.py's

Needs `wrk` (Debian: apt-get install wrk). Target: the paper page at ≥ 40% of the bare
endpoint's requests/s; the writers lose and duplicate nothing.
"""

import argparse
import http.cookiejar
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import importer  # noqa: E402
import models  # noqa: E402
from accounts import create_account  # noqa: E402

DEMO = ROOT / "demo" / "medline16n0902.xml.gz"
PAPER = 24997269  # the seed paper: the page with 20 notes
WRITERS_PAPER = 17942999  # the writers' notes go here, so they can be counted alone
SAVES_PAPER = 18621939  # the note-save endpoint's: the paper page keeps its 20 notes meanwhile
EMAIL, PASSWORD = "bench@example.org", "bench password 1234"
# One browser: signing in and every request after send the same User-Agent. Flask-Login
# ties a session to its browser (address and User-Agent): from another it marks the session
# not fresh and sends a new cookie, which wrk would never store, on every request.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) pearl-bench"
QUERIES = [
    "neuropathic pain", "pain", "cancer", "heart failure", "diabetes mellitus", "stroke",
    '"randomized controlled trial"', "asthma OR copd", "sepsis NOT children",
    "Calvo M[au]", "mesh:humans", "year:2010-2015 pain", "type:review", "journal:lancet",
    "infection[ti]", "insulin*", "kidney AND transplantation", "depression", "hypertension",
    "(breast OR lung) cancer", "children", "mortality", "mri", "surgery", "vaccine",
]  # fmt: skip

LUA = r"""
method, headers, paths, body_format = "%(method)s", {%(headers)s}, {%(paths)s}, "%(body)s"
counter, codes, threads = 0, {}, {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end
function init(args)
  started = os.time()
end
function request()
  counter = counter + 1
  local path = paths[(counter %% #paths) + 1]
  -- A path ending in "=" gets a value no request had before: a page nobody has seen.
  if string.sub(path, -1) == "=" then path = path .. started .. "-" .. id .. "-" .. counter end
  local body = nil
  if method == "POST" then body = string.format(body_format, id, counter) end
  return wrk.format(method, path, headers, body)
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("codes")) do
      total[status] = (total[status] or 0) + count
    end
  end
  io.write(string.format("RESULT %%d %%d %%.1f %%.1f", summary.requests, summary.duration,
                         latency:percentile(50), latency:percentile(95)))
  for status, count in pairs(total) do io.write(string.format(" %%s=%%d", status, count)) end
  io.write("\n")
end
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_database(folder, database_url):
    """The demo papers and a reader."""
    url = database_url or f"sqlite:///{folder / 'pearl.db'}"
    models.open_database(url)
    models.migrate()
    importer.import_file(DEMO)
    create_account(EMAIL, "Dr Bench", PASSWORD)
    models.db.close()
    return url


def start_gunicorn(folder, url, port):
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
           "PEARL_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "RATELIMIT_ENABLED": "0"}  # fmt: skip
    log = (folder / "gunicorn.log").open("w")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "-c", "gunicorn.conf.py", "--access-logfile", str(folder / "access.log"),
               "benchmarks.serve_app:app"]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/bench/bare", timeout=2).close()
            return server, base
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    server.kill()
    sys.exit("gunicorn did not start:\n" + (folder / "gunicorn.log").read_text())


def sign_in(base):
    """The session cookie and CSRF token of a signed-in reader, through the real forms; and
    the reader's 20 notes on the benchmark's paper, half of them shared."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    opener.open(base + "/login", data=form.encode()).close()
    page = opener.open(f"{base}/articles/{PAPER}").read().decode()
    assert "Sign out" in page or "/logout" in page, "the benchmark reader did not sign in"
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    for number in range(20):
        note = {
            "csrf_token": token,
            "visibility": ("private", "shared")[number % 2],
            "body": f"Pearl {number}: check **K<sup>+</sup>** before *starting*[^1](ref).",
        }
        opener.open(f"{base}/articles/{PAPER}/notes", urllib.parse.urlencode(note).encode())
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, token


def lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(folder, base, name, paths, seconds, connections, headers, method="GET", body=""):
    """wrk against `paths` (cycled); requests/s, p50 and p95 in ms, and the status counts."""
    script = folder / f"{name}.lua"
    script.write_text(LUA % {
        "method": method,
        "headers": ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()),
        "paths": ", ".join(lua_string(path) for path in paths),
        "body": body.replace('"', '\\"'),
    })  # fmt: skip
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
               "-s", str(script), base]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    fields = line.split()
    requests, duration = int(fields[1]), int(fields[2]) / 1e6
    codes = dict(field.split("=") for field in fields[5:])
    return {
        "name": name, "rps": requests / duration, "requests": requests,
        "p50": float(fields[3]) / 1000, "p95": float(fields[4]) / 1000,
        "codes": {int(code): int(count) for code, count in codes.items()},
    }  # fmt: skip


def count_writers_notes(url):
    models.open_database(url)
    rows = models.Note.select(models.Note.source).where(models.Note.article == WRITERS_PAPER)
    sources = [row.source for row in rows]
    models.db.close()
    return len(sources), len(set(sources))


def combine(slices):
    """One endpoint's rounds as one row: requests/s over all of them, the median round's
    p50 and p95, every status counted."""
    requests = sum(row["requests"] for row in slices)
    codes = {}
    for row in slices:
        for code, count in row["codes"].items():
            codes[code] = codes.get(code, 0) + count
    return {
        "name": slices[0]["name"], "requests": requests, "codes": codes,
        "rps": requests / sum(row["requests"] / row["rps"] for row in slices),
        "p50": statistics.median(row["p50"] for row in slices),
        "p95": statistics.median(row["p95"] for row in slices),
        "rounds": [row["rps"] for row in slices],
    }  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds per endpoint")
    turns = "rounds each endpoint's seconds are split into, taking turns with the bare endpoint"
    parser.add_argument("--rounds", type=int, default=5, help=turns)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--writers-seconds", type=int, default=60)
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use instead")
    fresh = "a fresh database on the benchmarks' PostgreSQL server (pg_cluster.py)"
    parser.add_argument("--postgres", action="store_true", help=fresh)
    args = parser.parse_args()
    if args.postgres:
        import pg_cluster  # noqa: PLC0415 - only the PostgreSQL run starts a server

        args.database_url = pg_cluster.fresh_database_url("serve_bench")
    if not shutil.which("wrk"):
        sys.exit("bench_serve needs wrk: apt-get install wrk")

    folder = Path(tempfile.mkdtemp(prefix="serve-", dir=ROOT / "benchmarks" / ".cache"))
    url = build_database(folder, args.database_url)
    server, base = start_gunicorn(folder, url, free_port())
    try:
        cookie, token = sign_in(base)
        signed_in = {"Cookie": cookie, "User-Agent": USER_AGENT}
        htmx = {**signed_in, "HX-Request": "true"}
        post = {**htmx, "X-CSRFToken": token,
                "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        search_paths = ["/search?" + urllib.parse.urlencode({"q": q}) for q in QUERIES]
        endpoints = [
            ("bare", ["/bench/bare"], signed_in),
            ("paper page, 20 notes", [f"/articles/{PAPER}"], signed_in),
            # The reader opening a page they have not seen (a new address every time): what
            # a first view costs, with only the paper's and the notes' fragments kept.
            ("paper page, first view", [f"/articles/{PAPER}?view="], signed_in),
            ("notes fragment", [f"/articles/{PAPER}/notes"], htmx),
            ("search", search_paths, signed_in),
            ("note save", [f"/articles/{SAVES_PAPER}/notes"], post, "POST",
             "visibility=private&body=Saved+by+wrk+%d-%d"),
        ]  # fmt: skip
        slices = {name: [] for name, *_ in endpoints}
        timing = (max(1, round(args.seconds / args.rounds)), args.connections)
        for _ in range(args.rounds):
            for name, paths, headers, *method in endpoints:
                row = run_wrk(folder, base, name, paths, *timing, headers, *method)
                slices[name].append(row)
        rows = [combine(slices[name]) for name, *_ in endpoints]
        writers = run_wrk(folder, base, "50 writers", [f"/articles/{WRITERS_PAPER}/notes"],
                          args.writers_seconds, args.writers, post, "POST",
                          "visibility=private&body=Writer+%d+note+%d")  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"gunicorn, 2 gthread workers × 4 threads, {engine}; wrk {args.connections} "
          f"connections, {args.seconds} s each in {args.rounds} rounds, on loopback\n")  # fmt: skip
    bare = rows[0]["rps"]
    print(f"{'endpoint':24} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'× bare':>7}  "
          f"{'rounds × bare':>17}  statuses")  # fmt: skip
    for row in rows:
        statuses = " ".join(f"{code}:{count}" for code, count in sorted(row["codes"].items()))
        pairs = zip(row["rounds"], rows[0]["rounds"], strict=True)
        each = [mine / theirs for mine, theirs in pairs]
        spread = f"{min(each):.2f}–{max(each):.2f}x"
        print(f"{row['name']:24} {row['rps']:8.0f} {row['p50']:8.1f} {row['p95']:8.1f} "
              f"{row['rps'] / bare:6.2f}x  {spread:>17}  {statuses}")  # fmt: skip
    stored, distinct = count_writers_notes(url)
    saved = writers["codes"].get(200, 0)
    print(f"\n{args.writers} writers for {args.writers_seconds} s: {saved} saves answered 200 "
          f"({writers['rps']:.0f}/s, p95 {writers['p95']:.0f} ms), other answers "
          f"{ {c: n for c, n in writers['codes'].items() if c != 200} or 'none'}; "
          f"{stored} stored, {distinct} distinct")  # fmt: skip
    page = rows[1]["rps"] / bare
    # A save still in flight when wrk stops is stored but never counted as answered: more
    # stored than answered is expected; fewer distinct than answered is a lost note.
    lost, duplicated = max(0, saved - distinct), stored - distinct
    print(f"targets: {'PASS' if page >= 0.4 else 'MISS'} paper page ≥ 0.40× bare ({page:.2f}x) · "
          f"{'PASS' if lost == 0 and duplicated == 0 else 'MISS'} writers lost {lost}, "
          f"duplicated {duplicated}")  # fmt: skip
    if not args.database_url:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
