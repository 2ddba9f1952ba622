"""`make test-postgres`: the suite against a real PostgreSQL server that this script starts.

It finds Debian's `initdb` and `pg_ctl` (in /usr/lib/postgresql/N/bin, not on PATH; installs
the `postgresql` package with apt-get when they are missing), makes a cluster in a temporary
folder, starts it on a free port of 127.0.0.1 with its unix socket in that folder, runs pytest
with PEARL_TEST_DATABASE pointing at it (tests/conftest.py gives each test a database of its
own), and stops and removes the server afterwards, whatever the tests did.

initdb refuses to run as root: as root the cluster belongs to the `postgres` user that Debian's
package creates (`nobody` when there is none), and the server runs as that user.

    python tests/pg_server.py [pytest arguments…]
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binaries():
    """The folder holding initdb and pg_ctl, installing Debian's postgresql when needed."""
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(found)
    for attempt in range(2):
        folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
        folders = [f for f in folders if os.path.exists(os.path.join(f, "initdb"))]
        if folders:
            return folders[0]
        if attempt == 0:
            print("pg_server: installing Debian's postgresql", flush=True)
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env,
                           stdout=subprocess.DEVNULL)  # fmt: skip
    sys.exit("pg_server: no initdb/pg_ctl found, and installing postgresql did not add them")


def _version(folder):
    name = folder.split("/")[-2]
    return int(name) if name.isdigit() else 0


def server_user():
    """Who owns and runs the cluster: ourselves, or an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    sys.exit("pg_server: running as root and no unprivileged user (postgres, nobody) exists")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_user(user, command):
    return command if user is None else ["runuser", "-u", user.pw_name, "--", *command]


def main(arguments):
    bin_dir = binaries()
    user = server_user()
    folder = tempfile.mkdtemp(prefix="pearl-pg-")
    data = os.path.join(folder, "data")
    log = os.path.join(folder, "server.log")
    port = free_port()
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    started = False
    try:
        subprocess.run(
            as_user(user, [f"{bin_dir}/initdb", "-D", data, "-U", "pearl", "--auth=trust",
                           "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        # Durability is not under test: fsync off makes CREATE DATABASE per test quick.
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            as_user(user, [f"{bin_dir}/pg_ctl", "start", "-D", data, "-l", log, "-w", "-o",
                           options]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        started = True
        env = {**os.environ, "PEARL_TEST_DATABASE": f"postgresql://pearl@127.0.0.1:{port}/postgres"}
        pytest = os.path.join(ROOT, ".venv", "bin", "pytest")
        return subprocess.run([pytest, *arguments], cwd=ROOT, env=env).returncode
    finally:
        if started:
            subprocess.run(as_user(user, [f"{bin_dir}/pg_ctl", "stop", "-D", data, "-m", "fast"]),
                           stdout=subprocess.DEVNULL)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
