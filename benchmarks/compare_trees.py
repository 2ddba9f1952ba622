"""In-process CPU per request of two checkouts of Pearl, side by side: the bare endpoint and
the paper page with 20 notes, signed in, through Flask's test client. Each checkout runs in a
process of its own on a copy of the same database; the two take turns, round after round, so
the machine's drift (its virtual cores' speed changes from minute to minute) falls on both,
and the median of the paired rounds' ratios is the answer.

    .venv/bin/python benchmarks/compare_trees.py OTHER_CHECKOUT [--rounds 30]

OTHER_CHECKOUT is, say, `git worktree add /tmp/before HEAD~3` (with this checkout's .venv
and static/vendor beside it). Prints, for each path, both checkouts' median and best µs and
this checkout ÷ the other.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["/bench/bare", "/articles/24997269"]  # the seed paper
EMAIL, PASSWORD = "bench@example.org", "bench password 1234"  # bench_serve.py's reader
CHILD = "--child"


def child(tree, database):
    """Serve `N path` lines from stdin with the app of `tree`: CPU µs per request."""
    sys.path.insert(0, tree)
    os.chdir(tree)
    os.environ.update(DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="c" * 40,
                      RATELIMIT_ENABLED="0")  # fmt: skip
    from benchmarks.serve_app import app  # noqa: PLC0415 - the checkout's own app

    client, headers = signed_in(app)
    for _ in range(200):
        client.get(PATHS[1], headers=headers)
    print("ready", flush=True)
    for line in sys.stdin:
        count, path = line.split()
        started = time.process_time()
        for _ in range(int(count)):
            answer = client.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.status_code)
        print((time.process_time() - started) / int(count) * 1e6, flush=True)


def signed_in(app):
    """A test client of `app` signed in as the benchmark's reader, through the real form."""
    client, headers = app.test_client(), {"User-Agent": "pearl-compare"}
    form = {"csrf_token": form_token(client, "/login", headers), "email": EMAIL,
            "password": PASSWORD}  # fmt: skip
    client.post("/login", data=form, headers=headers)
    return client, headers


def form_token(client, path, headers):
    page = client.get(path, headers=headers).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page)[1]


def build(folder):
    """The demo papers, the benchmark reader and their 20 notes on the seed paper, as
    bench_serve.py makes them (through the real forms)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_serve  # noqa: PLC0415

    url = bench_serve.build_database(folder, None)
    os.environ.update(DATABASE_URL=url, SECRET_KEY="c" * 40, RATELIMIT_ENABLED="0")
    from benchmarks.serve_app import app  # noqa: PLC0415

    client, headers = signed_in(app)
    token = form_token(client, PATHS[1], headers)
    for number in range(20):
        body = f"Pearl {number}: check **K<sup>+</sup>** before *starting*[^1](ref)."
        note = {"csrf_token": token, "visibility": ("private", "shared")[number % 2], "body": body}
        client.post(f"{PATHS[1]}/notes", data=note, headers=headers)
    return folder / "pearl.db"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", help="the other checkout")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="compare-", dir=ROOT / "benchmarks" / ".cache"))
    database = build(folder)
    trees = [str(Path(args.other).resolve()), str(ROOT)]
    kids = []
    for number, tree in enumerate(trees):
        copy = folder / f"tree{number}.db"
        shutil.copy(database, copy)
        command = [sys.executable, __file__, CHILD, tree, str(copy)]
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
        kids.append(subprocess.Popen(command, **pipes))
    for kid in kids:
        assert kid.stdout.readline().strip() == "ready", "a checkout did not start"
    times = {(kid, path): [] for kid in range(2) for path in PATHS}
    for turn in range(args.rounds):
        for path in PATHS:
            for kid in (0, 1) if turn % 2 == 0 else (1, 0):
                kids[kid].stdin.write(f"{100 if 'bare' in path else 40} {path}\n")
                kids[kid].stdin.flush()
                times[(kid, path)].append(float(kids[kid].stdout.readline()))
    for kid in kids:
        kid.stdin.close()
        kid.wait()
    print(f"CPU µs per request, {args.rounds} rounds: {trees[0]} (other) against this checkout")
    for path in PATHS:
        other, this = times[(0, path)], times[(1, path)]
        ratio = statistics.median(mine / theirs for mine, theirs in zip(this, other, strict=True))
        print(f"{path:22} other median {statistics.median(other):7.0f} best {min(other):7.0f} · "
              f"this median {statistics.median(this):7.0f} best {min(this):7.0f} · "
              f"this ÷ other {ratio:.2f}")  # fmt: skip
    shutil.rmtree(folder)


if __name__ == "__main__":
    if sys.argv[1:2] == [CHILD]:
        child(*sys.argv[2:4])
    else:
        main()
