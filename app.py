"""Pearl's application factory: configuration, extensions, blueprints and CLI, wiring only."""

import os
import secrets
from pathlib import Path

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import commands
import models
from views import (
    account,
    articles,
    auth,
    errors,
    fragments,
    journal,
    library,
    limits,
    my_notes,
    notes,
    privacy,
    render,
    search,
    security,
    shelf,
    shortcuts,
    trial,
)

# Settings read from the environment when set (DATABASE_URL=… flask --app app run);
# the `config` dict given to create_app overrides them.
ENV_KEYS = (
    "DATABASE_URL", "SECRET_KEY", "NCBI_API_KEY", "NCBI_EMAIL", "EUTILS_BASE_URL",
    "SYNC_SOURCE", "SYNC_WINDOW_DAYS", "UPDATEFILES_URL", "UPDATEFILES_FIRST", "RETRACTIONS_URL",
    "MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_SENDER",
    "RATELIMIT_STORAGE_URI", "PREFERRED_URL_SCHEME",
    "TRUSTED_PROXIES",
)  # fmt: skip

csrf = CSRFProtect()


def create_app(config=None):
    """Build a Pearl app; `config` (a dict) overrides the environment and the defaults."""
    config = config or {}
    # Tests give each app its own instance folder, so nothing is written into the checkout.
    app = Flask(__name__, instance_path=config.get("INSTANCE_PATH"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        DATABASE_URL=f"sqlite:///{Path(app.instance_path) / 'pearl.db'}",
        ARTICLES_PER_PAGE=20,
        NOTES_PER_PAGE=10,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # a page left open over lunch must still save its note
        # The largest request body: a form's text is far smaller (a note is 300 characters).
        # Larger is refused (413) unread; the notes import allows its file (_upload_limits).
        MAX_CONTENT_LENGTH=512 * 1024,
    )
    app.config.update({key: os.environ[key] for key in ENV_KEYS if key in os.environ})
    app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    security.check_secret_key(app)

    database = models.open_database(app.config["DATABASE_URL"])
    _connection_per_request(app, database)
    _upload_limits(app)
    csrf.init_app(app)
    render.init_app(app)
    fragments.init_app(app)
    security.init_app(app)
    limits.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    blueprints = (account.bp, articles.bp, auth.bp, journal.bp, library.bp, my_notes.bp, notes.bp,
                  privacy.bp, search.bp, shelf.bp, shortcuts.bp, trial.bp)  # fmt: skip
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    commands.init_app(app)
    _behind_proxies(app)
    return app


def _behind_proxies(app):
    """With TRUSTED_PROXIES=N, believe the last N proxies' X-Forwarded-For/-Proto/-Host/
    -Prefix headers: the reader's address (rate limits) and https (secure cookies) are seen
    as they are. Without it those headers are ignored, since anyone can send them."""
    value = str(app.config.get("TRUSTED_PROXIES") or "0")
    if not value.isdigit():
        raise ValueError(f"TRUSTED_PROXIES must be a number of proxies, not {value!r}")
    if int(value):
        count = int(value)
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_prefix=count
        )


def _connection_per_request(app, database):
    """Take a connection for each request (peewee's are per thread) and give it back after:
    to the pool, on both engines (models/sqlite.py, models/postgres.py). The CLI or a test
    may already hold this thread's connection: reuse it rather than fail."""

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_error):
        if not database.is_closed():
            database.close()


def _upload_limits(app):
    """The routes that take a file take a larger request. Registered before CSRFProtect's
    check, which reads the form first."""

    @app.before_request
    def _allow_upload():
        if request.endpoint == "my_notes.import_file":
            request.max_content_length = my_notes.MAX_IMPORT_BYTES + 64 * 1024  # and its form


def _instance_secret(instance_path):
    """A random key kept in the instance folder, so sessions survive restarts without one
    being configured, and no secret ever sits in the repository."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
