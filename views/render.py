"""One place decides page or fragment: an htmx request (not a history restore) gets the
named block of the page template, everything else gets the whole page."""

import functools
import unicodedata
from urllib.parse import urlsplit

from flask import abort, has_request_context, render_template, request, url_for
from flask_htmx import HTMX
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter
from werkzeug.urls import iri_to_uri

import retractions
from markup import record_html
from models import html_to_text, utcnow

htmx = HTMX()

# No page loads anything from another host — except the https images readers put in their
# notes, which the note format promises (shown lazily, with no referrer) — and no inline
# script or style exists to allow.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# The largest integer SQLite (and PostgreSQL's bigint) can store: an id or page number past it
# names nothing, and handing it to the database would fail with an OverflowError (a 500).
LARGEST_ID = 2**63 - 1
# Pages past this one cannot exist (their offset would overflow), whatever the per-page size.
LAST_POSSIBLE_PAGE = 2**31


class DatabaseIntegerConverter(IntegerConverter):
    """`<int:…>` in every route, limited to what the database can store: beyond it, a 404.
    (Not werkzeug's `max=`: a number it refuses makes a POST rule a 405, not a 404.)"""

    def to_python(self, value):
        number = super().to_python(value)
        if number > LARGEST_ID:
            raise NotFound(f"There is nothing numbered {value} in this Pearl.")
        return number


def database_int(text):
    """An int the database can store, for `request.form.get(…, type=database_int)`."""
    number = int(text)
    if not -LARGEST_ID <= number <= LARGEST_ID:
        raise ValueError(f"{text} is beyond the largest id")
    return number


def page_number():
    """?page=N from the URL (1 when absent or not a number); a page no list can have is a
    404 rather than a database error."""
    number = request.args.get("page", 1, type=int)
    if number > LAST_POSSIBLE_PAGE:
        abort(404, description=f"There is no page {number}.")
    return number


def init_app(app):
    # Before any blueprint is registered, so every <int:…> rule uses it.
    app.url_map.converters["int"] = DatabaseIntegerConverter
    htmx.init_app(app)
    app.add_template_filter(html_to_text)
    app.add_template_filter(record_markup, "record_html")
    app.add_template_filter(time_ago)
    app.add_template_filter(exact_time)
    # A paper's notices, worked out only where the page shows them: inside its kept record.
    app.add_template_filter(retractions.state_of, "paper_state")
    app.jinja_env.globals["url_for"] = remembered_url_for

    app.after_request(_headers)


def remembered_url_for(endpoint, **values):
    """Templates' url_for, each URL built once per process: a paper page asks for some sixty
    (every note's Edit and Delete, each form's action), and werkzeug's routing built each
    one afresh, a fifth of the page's rendering. The same endpoint, values and script root
    always make the same relative URL. Not remembered: URLs with a host (`_external`,
    `_scheme`), endpoints relative to the current blueprint, values that cannot be a key."""
    if endpoint.startswith(".") or "_external" in values or "_scheme" in values:
        return url_for(endpoint, **values)
    if not has_request_context():  # a mail rendered by a command: SERVER_NAME decides
        return url_for(endpoint, **values)
    try:
        return _built_url(request.script_root, endpoint, tuple(sorted(values.items())))
    except TypeError:  # an unhashable value, say a list for ?kind=…&kind=…
        return url_for(endpoint, **values)


@functools.lru_cache(maxsize=8192)
def _built_url(script_root, endpoint, values):
    # script_root is part of the key: behind a proxy that mounts Pearl under a prefix
    # (X-Forwarded-Prefix) every URL starts with it.
    return url_for(endpoint, **dict(values))


def record_markup(fragment):
    """A stored title or abstract section as markup for a template, through the record
    sanitizer (markup.record_html): `|record_html` where `|safe` would trust the database."""
    return Markup(record_html(fragment))


def safe_next(target, default="/"):
    """`target` when it is a path on this site, else `default`: never an open redirect.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, and
    werkzeug's own IRI handling strips some of them too, so `next=/%09/evil.example` would leave as
    `//evil.example` (another host). Any whitespace, control character or backslash is
    refused outright; what is left must still be a bare path once werkzeug has normalised it
    (no scheme, no host), which is what the Location header will carry."""
    if not target or "\\" in target or any(_unsafe_character(c) for c in target):
        return default
    for form in (target, iri_to_uri(target)):
        parts = urlsplit(form)
        if parts.scheme or parts.netloc or not form.startswith("/") or form.startswith("//"):
            return default
    return target


def _unsafe_character(character):
    # Cc/Cf/Zs/Zl/Zp and the rest of C and Z: tabs, CR/LF, NUL, bidi marks, odd spaces.
    return character.isspace() or unicodedata.category(character)[0] in "CZ"


def wants_fragment():
    """True for htmx's own requests; a history restore needs the whole page."""
    return bool(htmx) and not htmx.history_restore_request


def page(template, block, status=200, **context):
    """`template` whole, or only its `block` when htmx asked; varies on HX-Request."""
    if wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return body, status, {"Vary": "HX-Request"}


def time_ago(moment, now=None):
    """How long ago a naive-UTC `moment` was: "just now", "5 minutes ago", "3 days ago"."""
    seconds = int(((now or utcnow()) - moment).total_seconds())
    for unit, size in (("year", 31_536_000), ("month", 2_592_000), ("week", 604_800),
                       ("day", 86_400), ("hour", 3_600), ("minute", 60)):  # fmt: skip
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def exact_time(moment):
    """The moment as "24 Nov 2026, 08:49 UTC", shown on hover."""
    return moment.strftime("%-d %b %Y, %H:%M UTC")


def fragment(template, status=200, **context):
    """A partial template on its own (a `_name.html` shared by several pages)."""
    return render_template(template, **context), status, {"Vary": "HX-Request"}


def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
