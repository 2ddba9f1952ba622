"""Transport, caching and logging rules for a Pearl on a real server: Secure cookies and HSTS
over https, nothing a signed-in reader sees kept by a shared PC's cache, a SECRET_KEY that is
not a guessable default, and sign-in tokens and feed keys kept out of the development
server's access log (gunicorn's: access_log.py)."""

import datetime
import logging
import re

from flask import g, request, session
from flask.sessions import SecureCookieSessionInterface

from access_log import redact

# Values seen in tutorials and .env templates: whatever their length, anyone can sign cookies.
KNOWN_DEFAULTS = {"dev", "development", "changeme", "change-me", "change_me", "secret",
                  "secret-key", "secret_key", "secretkey", "your-secret-key", "mysecret",
                  "default", "test", "testing", "password", "flask", "pearl", "key",
                  "replace-me", "please-change-me", "supersecret", "notsecret"}  # fmt: skip
MIN_SECRET_BYTES = 32
_SECURE = re.compile(r";\s*secure\s*(;|$)", re.IGNORECASE)
HSTS = "max-age=31536000"  # one year; a proxy may add includeSubDomains for its own domain

# A request line in werkzeug's log: GET /auth/<token> HTTP/1.1 (colour codes glued to the
# method on 4xx and 5xx lines, so no quote is assumed before it).
_REQUEST_LINE = re.compile(r"(\S+) (\S+) (HTTP/[\d.]+)")


def init_app(app):
    # Remember-me is bounded (as its UserSession is) and not sent on cross-site requests.
    for key, value in (("REMEMBER_COOKIE_DURATION", datetime.timedelta(days=30)),
                       ("REMEMBER_COOKIE_SAMESITE", "Lax"), ("REMEMBER_COOKIE_HTTPONLY", True),
                       ("SESSION_COOKIE_HTTPONLY", True)):  # fmt: skip
        app.config.setdefault(key, value)
    if app.config.get("PREFERRED_URL_SCHEME") == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.session_interface = _SessionInterface()
    # First in the list, so it runs after every other after_request function (Flask runs
    # them in reverse), Flask-Login's remember cookie included.
    app.after_request_funcs.setdefault(None, []).insert(0, _headers)
    # The development server's log (`flask run`); gunicorn's is access_log.RedactingLogger.
    logging.getLogger("werkzeug").addFilter(_redact)


def check_secret_key(app):
    """Refuse to start (one line, no traceback) with a short or well-known SECRET_KEY outside
    development and testing; the key made in the instance folder passes."""
    if app.testing or app.debug:
        return
    key = app.config["SECRET_KEY"]
    size = len(key.encode() if isinstance(key, str) else key)
    known = isinstance(key, str) and key.strip().lower() in KNOWN_DEFAULTS
    if size < MIN_SECRET_BYTES or known:
        raise SystemExit(
            "Pearl will not start: SECRET_KEY is "
            + ("a well-known default" if known else f"shorter than {MIN_SECRET_BYTES} bytes")
            + "; set a long random one (python -c 'import secrets; print(secrets.token_hex(32))')"
            " or leave it unset to use the key in the instance folder."
        )


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, marked Secure whenever the request came over https
    (behind a proxy, ProxyFix makes request.is_secure say so)."""

    def get_cookie_secure(self, app):
        return super().get_cookie_secure(app) or request.is_secure


def signed_in():
    """Whether this request is a signed-in reader's (without loading the reader again)."""
    user = g.get("_login_user")
    if user is not None:
        return user.is_authenticated
    return "_user_id" in session or "remember_token" in request.cookies


def _headers(response):
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
        cookies = response.headers.getlist("Set-Cookie")
        if not all(_SECURE.search(c) for c in cookies):
            response.headers.setlist(
                "Set-Cookie", [c if _SECURE.search(c) else c + "; Secure" for c in cookies]
            )
    # Static files are the same for everyone, so they may be cached; anything else shown to
    # a signed-in reader (their notes, journal, library) must not stay in a shared PC's cache.
    if request.endpoint != "static" and signed_in():
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _redact(record):
    """A logging filter: the request line with its secrets hidden as gunicorn's log hides
    them (access_log.redact: sign-in tokens, feed keys, query strings)."""
    message = record.getMessage()
    redacted = _REQUEST_LINE.sub(lambda m: f"{m[1]} {redact(m[2])} {m[3]}", message)
    if redacted != message:
        record.msg, record.args = redacted, ()
    return True
