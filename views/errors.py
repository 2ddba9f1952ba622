"""Error pages: one handler renders every HTTP error as a real page with its status."""

from flask import render_template
from werkzeug.exceptions import HTTPException


def init_app(app):
    app.register_error_handler(HTTPException, show)


def show(error):
    """The error page: what went wrong, in words, with the right status code."""
    return render_template("error.html", error=error), error.code
