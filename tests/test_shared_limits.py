"""Rate limits shared by every worker: with RATELIMIT_STORAGE_URI=redis://…, two apps (two
gunicorn workers, or two hosts) count against one limit, on a real Redis server started for
the test; in memory, each worker counts alone (why production sets it)."""

import json
import shutil
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.mailbox import free_port
from views import trial

LIMIT = int(trial.PER_CLIENT.split()[0])  # requests per client per hour


@pytest.fixture
def redis_url(tmp_path):
    """A Redis server of its own on a free local port, nothing saved to disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (Debian: apt-get install redis-server; .ci/run does)")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


# A worker of its own: a process with its own app (as a gunicorn worker is) asking for the
# trial `count` times from one client address, printing each answer's status.
WORKER = """
import json, sys
from app import create_app
from tests.conftest import csrf_token
config, count, start = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
client = create_app(config).test_client()
for number in range(start, start + count):
    data = {"csrf_token": csrf_token(client), "email": f"reader{number}@example.org"}
    print(client.post("/trial", data=data).status_code)
"""


def asks_from_a_worker(config, count, start):
    """The statuses of `count` trial requests made by a worker process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(config), str(count), str(start)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [int(line) for line in done.stdout.split()]


def workers_config(tmp_path, demo_database, smtp_server, storage):
    """What each worker runs with: one database, limits on, counted in `storage`."""
    database = tmp_path / "pearl.db"
    shutil.copy(demo_database, database)
    return {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": f"sqlite:///{database}",
            "INSTANCE_PATH": str(tmp_path / "instance"), "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage, **smtp_server.config}  # fmt: skip


def test_workers_share_one_limit_in_redis(tmp_path, demo_database, smtp_server, redis_url):
    config = workers_config(tmp_path, demo_database, smtp_server, redis_url)
    half = LIMIT // 2
    assert asks_from_a_worker(config, half, 0) == [200] * half
    # The second worker has used none of its own allowance, but the limit is shared.
    assert asks_from_a_worker(config, LIMIT - half + 1, half) == [200] * (LIMIT - half) + [429]
    assert len(smtp_server.messages) == LIMIT


def test_in_memory_each_worker_counts_alone(tmp_path, demo_database, smtp_server):
    config = workers_config(tmp_path, demo_database, smtp_server, "memory://")
    assert asks_from_a_worker(config, LIMIT + 1, 0) == [200] * LIMIT + [429]
    assert asks_from_a_worker(config, 1, LIMIT + 1) == [200]  # a count of its own
