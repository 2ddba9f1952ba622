"""The Medical Journal of You on a big library: the sample issue for visitors (the mixed
interests the issue names, then varied ones), one reader's issue (`GET /journal` when an
issue is due: assembled, stored and shown), `publish-issues` for 100 readers (time and peak
memory), and the web worker's memory, each against its baseline: the bare fixed-string
endpoint of the same server, and for the command the same command when nothing is due.

    .venv/bin/python benchmarks/bench_journal.py                    # 1,000,000 papers
    .venv/bin/python benchmarks/bench_journal.py --records 20000    # quick check
    .venv/bin/python benchmarks/bench_journal.py --postgres         # on PostgreSQL

The library is bench_pages.py's (built once by the import command, cached). The benchmark
adds 100 readers (addresses at bench.invalid, removed first and at the end) with 3–5
interests each drawn from the library's own headings, keywords, journals and types, and a
first issue each that ends where the library's newest 10,000 papers begin: their next issue
draws on those papers, as a weekly issue after a week of syncing would.
"""

import argparse
import collections
import http.client
import json
import random
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pages import CACHE, Library, latencies, start_server, summary  # noqa: E402

READERS = 100
NEW_PAPERS = 10_000
DOMAIN = "bench.invalid"
PASSWORD = "bench-password-1"
TYPES = ["Review", "Randomized Controlled Trial", "Meta-Analysis", "Case Reports",
         "Comparative Study", "Multicenter Study", "Clinical Trial"]  # fmt: skip


def vocabulary(connection, seed):
    """{kind: [values]} from a sample of the library's papers, commonest first, so readers
    follow both very common terms ("Humans") and rare ones."""
    rows = connection.execute(
        "SELECT mesh, keywords, journal_title FROM article ORDER BY pmid LIMIT 5000"
    ).fetchall()
    counts = {kind: collections.Counter() for kind in ("mesh", "keyword", "journal")}
    for mesh, keywords, journal in rows:
        counts["mesh"].update(heading["name"] for heading in json.loads(mesh))
        counts["keyword"].update(json.loads(keywords))
        if journal:
            counts["journal"][journal] += 1
    terms = {
        kind: [name for name, _ in counter.most_common(200)] for kind, counter in counts.items()
    }
    terms["type"] = TYPES
    return terms


def add_readers(connection, seed=11):
    """100 readers, each with interests and a first issue ending where the newest
    NEW_PAPERS papers begin. Returns (the mixed interests of the issue's example, boundary)."""
    sys.path.insert(0, str(ROOT))
    from werkzeug.security import generate_password_hash  # noqa: PLC0415

    remove_readers(connection)
    [(boundary,)] = connection.rows(
        "SELECT added_at FROM article ORDER BY added_at DESC LIMIT 1 OFFSET ?", (NEW_PAPERS,)
    )
    terms = vocabulary(connection, seed)
    pick = random.Random(seed)
    hashed = generate_password_hash(PASSWORD)
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    for number in range(READERS):
        [(user_id,)] = connection.rows(
            'INSERT INTO "user" (email, display_name, password_hash, created_at, full_access,'
            " issue_frequency, email_issues, issue_size) VALUES (?, ?, ?, ?, TRUE, 'weekly',"
            " FALSE, 20) RETURNING id",
            (f"reader{number}@{DOMAIN}", f"Bench reader {number}", hashed, now),
        )
        chosen = set()
        while len(chosen) < pick.randint(3, 5):
            kind = pick.choice(["mesh", "mesh", "keyword", "journal", "type"])
            values = terms[kind]
            # Half from the 10 commonest, half from the rest: common and rare interests.
            value = pick.choice(values[:10] if pick.random() < 0.5 else values[10:] or values)
            chosen.add((kind, value))
        for kind, value in sorted(chosen):
            connection.execute(
                "INSERT INTO interest (user_id, kind, value, key, created_at) VALUES (?,?,?,?,?)",
                (user_id, kind, value, value.lower(), now),
            )
        connection.execute(
            "INSERT INTO issue (user_id, number, volume, frequency, period_start, period_end,"
            " covers_from, covers_until, created_at) VALUES (?, 1, 1, 'weekly',"
            " '2000-01-03 00:00:00', '2000-01-10 00:00:00', NULL, ?, ?)",
            (user_id, boundary, now),
        )
    connection.commit()
    mixed = [("mesh", terms["mesh"][0]), ("journal", terms["journal"][0]), ("type", "Review")]
    return mixed, boundary


def remove_readers(connection):
    ids = [row[0] for row in connection.rows(
        'SELECT id FROM "user" WHERE email LIKE ?', (f"%@{DOMAIN}",))]  # fmt: skip
    marks = ", ".join("?" * len(ids))
    if ids:
        issues = f"SELECT id FROM issue WHERE user_id IN ({marks})"
        connection.execute(f"DELETE FROM issue_entry WHERE issue_id IN ({issues})", ids)
        for table in ("issue", "interest"):
            connection.execute(f"DELETE FROM {table} WHERE user_id IN ({marks})", ids)
        connection.execute(f'DELETE FROM "user" WHERE id IN ({marks})', ids)
    connection.commit()


def reopen_issues(connection):
    """Every bench reader's issue 2 removed: their next issue is due again."""
    later = (
        'SELECT i.id FROM issue i JOIN "user" u ON u.id = i.user_id'
        " WHERE u.email LIKE ? AND i.number > 1"
    )
    connection.execute(f"DELETE FROM issue_entry WHERE issue_id IN ({later})", (f"%@{DOMAIN}",))
    connection.execute(f"DELETE FROM issue WHERE id IN ({later})", (f"%@{DOMAIN}",))
    connection.commit()


def publish_issues(url):
    """(seconds, peak RSS in MB) of `flask publish-issues`, measured by /usr/bin/time."""
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    command = ["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "flask", "--app", "app",
               "publish-issues"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seconds, kilobytes = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kilobytes) / 1024, done.stdout.strip()


class Browser:
    """One keep-alive connection with a cookie jar: enough to sign in and read pages."""

    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.cookies = {}

    def request(self, method, path, body=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";")[0]
        return response.status, text

    def sign_in(self, email):
        self.cookies.clear()
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page)[1]
        form = {"email": email, "password": PASSWORD, "csrf_token": token}
        status, _ = self.request("POST", "/login", form)
        assert status in (302, 303), f"sign-in answered {status}"


def line(name, status, times, baseline):
    """One row of the table: median, 95th percentile and its ratio to the baseline's."""
    (p50, p95), base95 = times, baseline[1]
    print(f"{name:<36} {status:>6} {p50:>8.1f} {p95:>8.1f} {p95 / base95:>10.1f}x")


def worker_memory(pid):
    """(RSS now, peak RSS) of the server process in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
    return int(values["VmRSS"]) / 1024, int(values["VmHWM"]) / 1024


def sample_path(interests):
    return "/journal/sample?" + urllib.parse.urlencode(
        [("interest", f"{kind}:{value}") for kind, value in interests]
    )


def run(records, repeat, postgres=False):
    connection = Library(records, postgres)
    mixed, boundary = add_readers(connection)
    try:
        [(size,)] = connection.rows("SELECT count(*) FROM article")
        engine = "PostgreSQL" if postgres else "SQLite"
        print(f"{size:,} papers on {engine} · {READERS} readers · their next issue draws on the "
              f"{NEW_PAPERS:,} papers added since {boundary}\n")  # fmt: skip

        # publish-issues: 100 due issues, then the same command with nothing due.
        seconds, peak, said = publish_issues(connection.url)
        idle_seconds, idle_peak, _ = publish_issues(connection.url)
        print(
            f"publish-issues, {READERS} readers: {seconds:.1f} s ({seconds / READERS:.2f} s a"
            f" reader), peak RSS {peak:.0f} MB — {said}"
        )
        print(
            f"  the same with nothing due (baseline): {idle_seconds:.1f} s, {idle_peak:.0f} MB;"
            f" per reader beyond it {(seconds - idle_seconds) / READERS:.3f} s\n"
        )
        reopen_issues(connection)

        process, port = start_server(connection.url)
        try:
            http_connection = http.client.HTTPConnection("127.0.0.1", port)
            bare, _ = latencies(http_connection, "/__bare", repeat)
            baseline = summary(bare)
            print(f"{'what':<36} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'p95 / base':>11}")
            line("bare endpoint (baseline)", 200, baseline, baseline)
            times, status = latencies(http_connection, sample_path(mixed), repeat)
            line("sample: MeSH + journal + Review", status, summary(times), baseline)
            interests = collections.defaultdict(list)
            for user_id, kind, value in connection.execute(
                'SELECT i.user_id, i.kind, i.value FROM interest i JOIN "user" u ON u.id ='
                " i.user_id WHERE u.email LIKE ? ORDER BY i.id", (f"%@{DOMAIN}",)):  # fmt: skip
                interests[user_id].append((kind, value))
            varied, status = [], None
            for chosen in interests.values():
                started = time.perf_counter()
                http_connection.request("GET", sample_path(chosen))
                response = http_connection.getresponse()
                response.read()
                status = response.status
                varied.append((time.perf_counter() - started) * 1000)
            line("sample: each reader's interests", status, summary(varied), baseline)
            browser, issue_times = Browser(port), []
            for number in range(READERS):
                browser.sign_in(f"reader{number}@{DOMAIN}")
                started = time.perf_counter()
                status, page = browser.request("GET", "/journal")
                issue_times.append((time.perf_counter() - started) * 1000)
                assert "No. 2" in page, "the reader's due issue was not made"
            line("reader's issue (due: made + shown)", status, summary(issue_times), baseline)
            rss, peak_rss = worker_memory(process.pid)
            print(f"\nweb worker RSS: {rss:.0f} MB now, {peak_rss:.0f} MB at most")
        finally:
            process.terminate()
            process.wait()
        print(
            "\ntargets: sample and reader's issue p95 ≤ 300 ms; publish-issues ≤ 0.5 s a reader"
            " and ≤ 200 MB; worker RSS ≤ 150 MB"
        )
    finally:
        remove_readers(connection)
        connection.connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50, help="requests of the fixed sample")
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL (pg_cluster.py)")
    args = parser.parse_args()
    run(args.records, args.repeat, args.postgres)


if __name__ == "__main__":
    CACHE.mkdir(exist_ok=True)
    main()
