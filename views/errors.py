"""Error pages: one handler renders every HTTP error as a real page with its status, and one
answers when the database itself cannot be reached or written (a full disk, a lock held too
long) without touching it again, giving back what the reader typed."""

import json

import peewee
from flask import current_app, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from models import database_problem
from views.render import wants_fragment


def init_app(app):
    app.before_request(refuse_nul)
    app.register_error_handler(HTTPException, show)
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(peewee.OperationalError, database_unavailable)


def show(error):
    """The error page: what went wrong, in words, with the right status code."""
    return render_template("error.html", error=error), error.code


def too_large(error):
    """413, in words: a request over MAX_CONTENT_LENGTH (an upload), or a form field over
    MAX_FORM_MEMORY_SIZE. htmx leaves the page as it is and app.js shows the message."""
    error.description = (
        f"That was not saved: it is larger than Pearl accepts here "
        f"({_size(request.max_content_length)}). Nothing was changed."
    )
    if wants_fragment():
        message = json.dumps({"pearl:request-error": error.description})
        headers = {"HX-Reswap": "none", "HX-Trigger": message}
        return "", 413, headers
    return show(error)


NUL = (
    "That contains a NUL character (U+0000), which Pearl can neither store nor search for: "
    "remove it and try again. Nothing was changed."
)


# Fields whose own view deals with a NUL better: a note's text (markup.validate says where,
# the text kept), a search's words (control characters read as spaces, search_query.clean),
# and where to go next (safe_next refuses it for the home page).
OWN_CHECK = {"body", "q", "next"}


def refuse_nul():
    """400 for a NUL character in the URL's query or a form, on both engines alike:
    PostgreSQL's text cannot hold one (a sign-in, a collection's name, the journal's sample
    with one were a 500 there), and no reader means one. Fields in OWN_CHECK are left to
    their views."""
    fields = [*request.args.items(multi=True)]
    if request.method == "POST":
        fields += request.form.items(multi=True)
    if not any("\x00" in key or ("\x00" in value and key not in OWN_CHECK)
               for key, value in fields):  # fmt: skip
        return None
    if wants_fragment():
        headers = {"HX-Reswap": "none", "HX-Trigger": json.dumps({"pearl:request-error": NUL})}
        return "", 400, headers
    return show(BadRequest(NUL))


def _size(limit):
    if limit is None:  # a form field over MAX_FORM_MEMORY_SIZE, with no limit on the whole
        limit = request.max_form_memory_size
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.0f} MB"
    return f"{limit / 1024:.0f} KB"


def database_unavailable(error):
    """503, saying what happened. htmx leaves the page as it is (the typed text stays in its
    box) and app.js shows the message; a plain form gets a page with the text to copy."""
    problem = database_problem(error)
    if wants_fragment():
        message = f"That was not saved: {problem}. Nothing on this page was lost."
        headers = {"HX-Reswap": "none", "HX-Trigger": json.dumps({"pearl:request-error": message})}
        return "", 503, headers
    # Rendered without the context processors, which read the database (the signed-in
    # reader, their trial): this page must not touch it again.
    typed = request.form.get("body", "") if request.method == "POST" else ""
    template = current_app.jinja_env.get_template("database_error.html")
    return template.render(problem=problem, typed=typed), 503
