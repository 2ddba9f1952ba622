"""The reader's privacy page: what Pearl stores about them and who can see what, made from
the models' own descriptions (privacy.py) so it cannot drift from what is stored."""

from flask import Blueprint, render_template

import privacy

bp = Blueprint("privacy", __name__)


@bp.get("/privacy")
def show():
    """What this Pearl keeps about a reader, table by table, and who can see each."""
    return render_template("privacy/show.html", kept=privacy.descriptions())
