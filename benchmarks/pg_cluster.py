"""A PostgreSQL server for the benchmarks that outlives them: its cluster lives in the
git-ignored cache (benchmarks/.cache/pg-cluster), so the million-paper library is imported
into it once, like the SQLite one, and reused. Started when a benchmark needs it, on a free
local port (kept in the cluster folder while it runs); stopped by hand.

    .venv/bin/python benchmarks/pg_cluster.py start    # prints the server's URL
    .venv/bin/python benchmarks/pg_cluster.py stop

Debian's binaries, and as root an unprivileged owner, as tests/pg_server.py finds them.
Durability stays on (fsync, synchronous commit): the numbers are a real server's. A larger
shared_buffers and maintenance_work_mem than the defaults suit a million papers.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pg_server import as_user, binaries, free_port, server_user  # noqa: E402

FOLDER = ROOT / "benchmarks" / ".cache" / "pg-cluster"
DATA, PORT_FILE, LOG = FOLDER / "data", FOLDER / "port", FOLDER / "server.log"
SETTINGS = ("-c shared_buffers=1GB -c maintenance_work_mem=1GB -c max_connections=100"
            " -c listen_addresses=127.0.0.1")  # fmt: skip


def _run(command):
    return subprocess.run(as_user(server_user(), command), check=True,
                          stdout=subprocess.DEVNULL)  # fmt: skip


def _running(bin_dir):
    status = subprocess.run(as_user(server_user(), [f"{bin_dir}/pg_ctl", "status", "-D",
                                                    str(DATA)]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return status.returncode == 0 and PORT_FILE.exists()


def start():
    """The URL of the benchmarks' server (its `postgres` database), started if need be."""
    bin_dir, user = binaries(), server_user()
    if not DATA.exists():
        FOLDER.mkdir(parents=True, exist_ok=True)
        if user is not None:
            import os  # noqa: PLC0415 - only to hand the folder over

            os.chown(FOLDER, user.pw_uid, user.pw_gid)
        _run([f"{bin_dir}/initdb", "-D", str(DATA), "-U", "pearl", "--auth=trust", "-E",
              "UTF8", "--locale=C.UTF-8"])  # fmt: skip
    if not _running(bin_dir):
        port = free_port()
        _run([f"{bin_dir}/pg_ctl", "start", "-D", str(DATA), "-l", str(LOG), "-w", "-o",
              f"-p {port} -k {FOLDER} {SETTINGS}"])  # fmt: skip
        PORT_FILE.write_text(str(port))
    return f"postgresql://pearl@127.0.0.1:{PORT_FILE.read_text().strip()}/postgres"


def stop():
    bin_dir = binaries()
    if DATA.exists() and _running(bin_dir):
        _run([f"{bin_dir}/pg_ctl", "stop", "-D", str(DATA), "-m", "fast"])
    PORT_FILE.unlink(missing_ok=True)


def database_url(name):
    """The URL of database `name` on the benchmarks' server, created if missing."""
    import psycopg  # noqa: PLC0415 - only the PostgreSQL benchmarks need it

    server = start()
    with psycopg.connect(server, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchone() is None:
            admin.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def fresh_database_url(name):
    """The URL of an empty database `name` on the benchmarks' server (dropped first)."""
    import psycopg  # noqa: PLC0415

    server = start()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return database_url(name)


if __name__ == "__main__":
    if sys.argv[1:] == ["start"]:
        print(start())
    elif sys.argv[1:] == ["stop"]:
        stop()
    else:
        sys.exit("usage: pg_cluster.py start|stop")
