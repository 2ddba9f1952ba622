"""One place decides page or fragment: an htmx request (not a history restore) gets the
named block of the page template, everything else gets the whole page."""

from flask import render_template
from flask_htmx import HTMX
from jinja2_fragments.flask import render_block

from models import html_to_text

htmx = HTMX()

# No page loads anything from another host, and no inline script or style exists to allow.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def init_app(app):
    htmx.init_app(app)
    app.add_template_filter(html_to_text)

    app.after_request(_headers)


def safe_next(target, default="/"):
    """`target` when it is a path on this site, else `default`: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


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


def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
