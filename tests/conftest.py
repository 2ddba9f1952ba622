"""Fixtures: a fresh app on its own SQLite file per test (copied from a demo database built
once per session), the test client, an htmx client, and the CLI runner; and the clock.

With PEARL_TEST_DATABASE=postgresql://… (a server: `make test-postgres` starts one) each test's
app runs on a PostgreSQL database of its own instead, made with CREATE DATABASE … TEMPLATE from
a demo database built once per session. Tests marked `sqlite_only` are skipped there.

The clock: `--today=DATE` (or `PEARL_TEST_DATE=DATE`) runs the whole session as if it were
that day, its clock ticking from there, so a test that silently depends on today's date fails
on some day. A test whose outcome depends on the date says which moment it lives in with
`@pytest.mark.clock("2026-11-26T10:00Z")`: the clock stops there for the whole test, its
fixtures (sign-in included) too, whatever day the suite runs."""

import contextlib
import datetime
import itertools
import logging
import os
import shutil
import threading
from pathlib import Path

import pytest
import time_machine
from bs4 import BeautifulSoup
from werkzeug.serving import make_server

import importer
import models
from app import create_app

pytest_plugins = ["pytester", "tests.mailbox"]

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
DEMO_FILE = ROOT / "demo" / "medline16n0902.xml.gz"
# A PostgreSQL server to run the apps on (see tests/pg_server.py), or None for SQLite.
POSTGRES = os.environ.get("PEARL_TEST_DATABASE") or None


def pytest_addoption(parser):
    parser.addoption(
        "--today",
        default=os.environ.get("PEARL_TEST_DATE") or None,
        help="run the suite as if it were this day: 2031-02-28 or 2031-02-28T23:30Z (UTC)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "clock(moment): the clock stands at `moment` (UTC) for the whole test"
    )
    config.addinivalue_line(
        "markers", "sqlite_only(reason): about SQLite itself; skipped on PostgreSQL"
    )
    config.addinivalue_line(
        "markers", "postgres_todo(what): skipped on PostgreSQL until `what` is built there"
    )


def pytest_collection_modifyitems(config, items):
    if not POSTGRES:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "about SQLite itself"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        todo = item.get_closest_marker("postgres_todo")
        if todo is not None:
            item.add_marker(pytest.mark.skip(reason=f"not yet on PostgreSQL: {todo.args[0]}"))


def pytest_report_header(config):
    today = config.getoption("--today")
    lines = [f"as if it were {moment(today).isoformat()}"] if today else []
    if POSTGRES:
        lines.append(f"on PostgreSQL: {POSTGRES}")
    return lines


def moment(value):
    """A datetime from "2031-02-28", "2031-02-28T23:30Z" or a datetime; naive means UTC."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


@pytest.fixture(scope="session", autouse=True)
def session_day(request):
    """The whole session on the day `--today` names (the clock ticks on from there)."""
    today = request.config.getoption("--today")
    if not today:
        yield None
        return
    with time_machine.travel(moment(today), tick=True):
        yield moment(today)


@pytest.fixture(autouse=True)
def clock(request, session_day):
    """With @pytest.mark.clock(moment): the clock stands at that moment for the whole test.
    Autouse, so it starts before the test's other function fixtures and covers them too."""
    marker = request.node.get_closest_marker("clock")
    if marker is None:
        yield None
        return
    with time_machine.travel(moment(marker.args[0]), tick=False) as traveller:
        yield traveller


def make_app(tmp_path, database, **config):
    """An app on `database`: a SQLite file's path, or a database URL."""
    url = database if str(database).startswith("postgresql") else f"sqlite:///{database}"
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "RATELIMIT_ENABLED": False,  # tests about limits switch it back on
            **config,
        }
    )


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory):
    """A database file holding the 604 demo papers, imported once for the whole session."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    models.open_database(f"sqlite:///{path}")
    models.migrate()
    importer.import_file(DEMO_FILE)
    models.close_all()
    return path


class PostgresServer:
    """The test server's databases: each test gets one of its own, dropped afterwards."""

    def __init__(self, url):
        import psycopg  # noqa: PLC0415 - only the PostgreSQL run needs it

        self.url = url
        self.admin = psycopg.connect(url, autocommit=True)
        self.numbers = itertools.count(1)

    def url_of(self, name):
        return self.url.rsplit("/", 1)[0] + "/" + name

    def create(self, template="template0"):
        """A new database copied from `template`; returns its name."""
        name = f"pearl_{os.getpid()}_{next(self.numbers)}"
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop(self, name):
        models.close_all()
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres():
    """The PostgreSQL server under test (None on SQLite runs)."""
    if not POSTGRES:
        yield None
        return
    server = PostgresServer(POSTGRES)
    yield server
    server.admin.close()


@pytest.fixture(scope="session")
def demo_template(postgres):
    """On PostgreSQL: the name of a database holding the demo papers, made once per session
    as demo_database is, the template each test's database is copied from."""
    name = postgres.create()
    models.open_database(postgres.url_of(name))
    models.migrate()
    importer.import_file(DEMO_FILE)
    models.close_all()  # a template must have nobody connected to it
    return name


def new_database(request, tmp_path, postgres, demo=True):
    """A database for one test: on SQLite a file under tmp_path (a copy of the demo's when
    `demo`), on PostgreSQL a database of its own; returns what make_app takes."""
    if postgres is None:
        database = tmp_path / "pearl.db"
        if demo:
            shutil.copy(request.getfixturevalue("demo_database"), database)
        return database
    template = request.getfixturevalue("demo_template") if demo else "template0"
    name = postgres.create(template)
    request.addfinalizer(lambda: postgres.drop(name))
    return postgres.url_of(name)


@pytest.fixture
def empty_app(request, tmp_path, postgres):
    """An app on a new, empty database."""
    app = make_app(tmp_path, new_database(request, tmp_path, postgres, demo=False))
    with app.app_context():
        models.migrate()
    yield app
    models.close_all()


@pytest.fixture
def app(request, tmp_path, postgres):
    """An app on its own copy of the demo database."""
    yield make_app(tmp_path, new_database(request, tmp_path, postgres))
    models.close_all()


@pytest.fixture
def queries():
    """The SQL statements peewee runs while the test makes its request."""
    statements = []

    class Collect(logging.Handler):
        def emit(self, record):
            if record.name == "peewee":  # not peewee.pool's check-outs and returns
                statements.append(record.getMessage())

    logger = logging.getLogger("peewee")
    handler = Collect(level=logging.DEBUG)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield statements
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def htmx(app):
    """A client whose every request says it comes from htmx."""
    client = app.test_client()
    client.environ_base["HTTP_HX_REQUEST"] = "true"
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def soup(response):
    """The response body parsed as HTML."""
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def csrf_token(client, path="/"):
    """The CSRF token a page carries in its <meta> (what htmx and forms send back)."""
    page = soup(client.get(path, headers={"HX-Request": "false"}))
    return page.find("meta", attrs={"name": "csrf-token"})["content"]


class AuthActions:
    """Create readers and sign them in and out through the real forms."""

    PASSWORD = "correct horse battery"

    def __init__(self, app, client):
        self.app, self.client = app, client

    def create(self, email="reader@example.org", name="Dr Reader", password=PASSWORD):
        from accounts import create_account  # noqa: PLC0415 - needs the app's database

        with self.app.app_context():
            return create_account(email, name, password)

    def login(self, email="reader@example.org", password=PASSWORD, **extra):
        token = csrf_token(self.client, "/login")
        data = {"csrf_token": token, "email": email, "password": password, **extra}
        return self.client.post("/login", data=data)

    def logout(self):
        token = csrf_token(self.client)
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(app, client):
    return AuthActions(app, client)


@pytest.fixture
def reader(auth):
    """A reader with an account, signed in on `client` (test_journal's reader follows
    interests too: it has a fixture of its own)."""
    user = auth.create()
    auth.login()
    return user


def textarea_value(element):
    """A <textarea>'s value as a browser reads it: HTML drops one line break right after the
    opening tag (html.parser keeps it)."""
    text = element.text
    return text[1:] if text.startswith("\n") else text


@pytest.fixture
def efetch_server():
    """A local E-utilities server answering efetch with real PubMed XML (see test_eutils)."""
    from tests.test_eutils import EfetchServer, load_articles  # noqa: PLC0415

    server = EfetchServer(load_articles())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def smtp(app, smtp_server):
    """The app sends its mail to the test SMTP server."""
    app.config.update(smtp_server.config)
    return smtp_server


def use_link(client, token):
    """Follow an emailed sign-in link (a token, or a path) as a person does: open it, press
    its one button. Returns the button's answer (or the page's, when the link is dead)."""
    opened = client.get(token if token.startswith("/") else f"/auth/{token}")
    if opened.status_code != 200:
        return opened
    form = soup(opened).select_one("#confirm-link form")
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    return client.post(form["action"], data=data)


@contextlib.contextmanager
def serving(app):
    """`app` on a real werkzeug server (the one `flask run` uses), threaded, on a free port of
    127.0.0.1; yields its base URL and stops it after."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
