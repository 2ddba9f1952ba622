"""Serving Pearl in production: a real gunicorn with the shipped gunicorn.conf.py (threaded
workers, an access log that keeps sign-in tokens and feed keys out), and TRUSTED_PROXIES
(werkzeug's ProxyFix) so a reader behind the hospital's reverse proxy gets links that work."""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import models
from tests.conftest import ROOT, make_app, soup
from tests.mailbox import free_port

FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "pearl.hospital.example",
}


def mailed_link(tmp_path, demo_database, inbox, **config):
    """The sign-in link Pearl mails when the trial is asked for through the proxy."""
    database = tmp_path / "pearl.db"
    shutil.copy(demo_database, database)
    app = make_app(tmp_path, database, **inbox.config, **config)
    client = app.test_client()
    # As a browser sends them, through the proxy: the page, then the form with its referrer
    # (over https Flask-WTF checks that the form came from this site).
    page = soup(client.get("/", headers=FORWARDED))
    token = page.find("meta", attrs={"name": "csrf-token"})["content"]
    data = {"csrf_token": token, "email": "ward@example.org"}
    headers = {**FORWARDED, "Referer": "https://pearl.hospital.example/"}
    assert client.post("/trial", data=data, headers=headers).status_code == 200
    models.db.close()
    body = inbox.messages[-1].content.decode()
    return next(word for word in body.split() if "/auth/" in word)


def test_behind_a_trusted_proxy_mailed_links_use_the_public_address(
    tmp_path, demo_database, smtp_server
):
    link = mailed_link(tmp_path, demo_database, smtp_server, TRUSTED_PROXIES="1")
    assert link.startswith("https://pearl.hospital.example/auth/")


def test_without_trusted_proxies_forwarded_headers_are_ignored(
    tmp_path, demo_database, smtp_server
):
    link = mailed_link(tmp_path, demo_database, smtp_server)
    assert link.startswith("http://localhost/auth/")


def test_trusted_proxies_must_be_a_number(tmp_path):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES must be a number of proxies"):
        make_app(tmp_path, tmp_path / "pearl.db", TRUSTED_PROXIES="yes")


@pytest.fixture
def gunicorn(tmp_path, demo_database):
    """gunicorn started as the deployment guide says, on a copy of the demo database; yields
    its address and a function returning everything it logged (after stopping it)."""
    database = tmp_path / "pearl.db"
    shutil.copy(demo_database, database)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "PEARL_BIND": f"127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": secrets.token_hex(32),
    }
    gunicorn_bin = Path(sys.executable).parent / "gunicorn"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(gunicorn_bin), "-c", "gunicorn.conf.py"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=5).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("gunicorn did not start:\n" + log.read_text())
            time.sleep(0.1)

    def stop_and_read_log():
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        return log.read_text()

    yield base, stop_and_read_log
    if server.poll() is None:
        server.kill()
        server.wait()


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_gunicorn_serves_pearl_with_threaded_workers(gunicorn):
    base, stop_and_read_log = gunicorn
    status, body = fetch(base + "/articles/24997269")
    assert status == 200 and "<h1" in body
    assert fetch(base + "/articles/1")[0] == 404
    log = stop_and_read_log()
    assert "Using worker: gthread" in log
    assert log.count("Booting worker with pid") == 2
    assert '"GET /articles/24997269 HTTP/1.1" 200' in log


def test_the_access_log_keeps_sign_in_tokens_and_feed_keys_out(gunicorn):
    base, stop_and_read_log = gunicorn
    token, key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    fetch(f"{base}/auth/{token}")
    fetch(f"{base}/journal/feed.atom?key={key}")
    fetch(f"{base}/journal/feed/{key}.atom")
    request = urllib.request.Request(base + "/", headers={"Referer": f"{base}/auth/{token}"})
    urllib.request.urlopen(request, timeout=10).close()
    log = stop_and_read_log()
    assert '"GET /auth/[redacted] HTTP/1.1"' in log
    assert '"GET /journal/feed.atom?[redacted] HTTP/1.1"' in log
    assert token not in log and key not in log
