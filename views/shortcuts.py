"""The keyboard shortcuts: the list of every one, and the reader's switch to turn the
single-key ones off (WCAG 2.1.4). Signed in, the choice is kept on the account; signed out,
the script keeps it in the browser (localStorage), since only the script has shortcuts."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from models import db
from views.render import safe_next

bp = Blueprint("shortcuts", __name__)


@bp.get("/shortcuts")
def show():
    """Every keyboard shortcut, and the switch that turns the single-key ones off."""
    return render_template("shortcuts/show.html", next=_next_url())


@bp.post("/shortcuts")
def update():
    """Turn single-key shortcuts on (`enabled=1`) or off (`enabled=0`), back to `next`."""
    enabled = request.form.get("enabled") == "1"
    if current_user.is_authenticated:
        current_user.shortcuts = enabled
        with db.atomic():
            current_user.save(only=["shortcuts"])
        flash(f"Single-key shortcuts are {'on' if enabled else 'off'}.")
    else:
        # Only the script has shortcuts, and with it this form never reaches the server.
        flash("Without JavaScript Pearl has no shortcuts to turn off. With it, this browser "
              "keeps your choice; signed in, your account keeps it.")  # fmt: skip
    return redirect(_next_url(), 303)


def _next_url():
    return safe_next(request.values.get("next"), url_for("shortcuts.show"))
