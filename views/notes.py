"""The notes panel under every paper: list, write, preview, edit, delete (with undo) and the
formatting help. Every route returns a fragment to htmx and a whole page (or a redirect)
otherwise, so the panel also works with JavaScript off."""

from urllib.parse import urlsplit

import peewee
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

import markup
from models import Article, Note, NoteKey, database_problem, db, utcnow
from views.articles import get_article, paper_page
from views.auth import signed_in_user
from views.render import database_int, fragment, page, safe_next, wants_fragment

bp = Blueprint("notes", __name__)


@bp.app_template_global()
def new_note_key():
    """A fresh one-time key for a note form (see NoteKey): one per form rendered."""
    return NoteKey.fresh()


def _note_key():
    """The posted form's one-time key; anything but what new_note_key makes is no key."""
    key = request.form.get("note_key", "")
    return key if 0 < len(key) <= 64 else None


def get_note(note_id, owner=None, deleted=False):
    """The note, if the reader may see it (404 otherwise); with `owner`, also theirs (403)."""
    note = Note.get_or_none(Note.id == note_id)
    mine = note is not None and note.author_id == _user_id()
    # A deleted note is gone for everyone but its author (who may undo the delete).
    visible = mine or (note is not None and note.visibility == Note.SHARED and not deleted)
    if not visible or (note.deleted_at is not None) != deleted:
        abort(404, description="There is no such note, or it is not shared with you.")
    if owner is not None and note.author_id != owner.id:
        abort(403, description="Only the author of a note can change it.")
    return note


def _user_id():
    return current_user.id if current_user.is_authenticated else None


def _require_reader(next_url=None):
    """Writing needs an account: htmx is sent to the sign-in page, a form is redirected,
    and either comes back to `next_url` (else the page the request came from)."""
    if current_user.is_authenticated:
        return
    came_from = urlsplit(request.referrer or "").path
    target = url_for("auth.login", next=next_url or safe_next(came_from))
    if wants_fragment():
        abort(_hx_redirect(target))
    abort(redirect(target, 303))


def _hx_redirect(target):
    response = current_app.response_class(status=401)
    response.headers["HX-Redirect"] = target
    return response


@bp.get("/articles/<int:pmid>/notes")
def panel(pmid):
    """The notes panel: a fragment for htmx, the paper's page otherwise."""
    return paper_page(get_article(pmid), block="notes")


@bp.post("/articles/<int:pmid>/notes")
def create(pmid):
    """Save a new note; the panel comes back with it on top and an empty box."""
    _require_reader(url_for("articles.show", pmid=pmid, _anchor="notes"))
    article = get_article(pmid)
    body = request.form.get("body", "")
    visibility = _visibility(request.form.get("visibility"))
    try:
        source = markup.validate(body)
    except markup.NoteError as error:
        state = {"body": markup.normalise(body), "visibility": visibility,
                 "note_error": str(error), "note_key": _note_key()}  # fmt: skip
        return paper_page(article, 422, "notes", **state)
    key = _note_key()
    try:
        note = _save_once(article, source, visibility, key)
    except peewee.OperationalError as error:
        state = {"body": markup.normalise(body), "visibility": visibility,
                 "note_error": not_saved(error), "note_key": key}  # fmt: skip
        return paper_page(article, 503, "notes", **state)
    if wants_fragment():
        return paper_page(article, block="notes", visibility=visibility, just_saved=note.id)
    return redirect(url_for("articles.show", pmid=pmid, _anchor=f"note-{note.id}"), 303)


def _save_once(article, source, visibility, key):
    """The new note; or, when the form with `key` was saved already, the note it saved (the
    reader gets the same answer as the first time)."""
    try:
        with db.atomic():  # IMMEDIATE on SQLite: a second post waits for the first's commit
            note = NoteKey.note_for(current_user.id, key)
            if note is not None:
                return note
            now = utcnow()
            note = Note.create(
                article=article, author=current_user.id, source=source, html="",
                visibility=visibility, created_at=now, updated_at=now,
            )  # fmt: skip
            note.html = markup.render(source, prefix=f"n{note.id}")
            note.save(only=[Note.html])
            if key:
                NoteKey.create(author=current_user.id, key=key, note=note)
        return note
    except peewee.IntegrityError:
        # Where two posts of one form can race (PostgreSQL), the unique key stops the second.
        note = NoteKey.note_for(current_user.id, key)
        if note is None:
            raise
        return note


@bp.post("/notes/preview")
def preview():
    """The note rendered exactly as it will be shown, or why it cannot be saved."""
    body = request.form.get("body", "")
    try:
        html, error = markup.render(markup.validate(body), prefix="preview"), None
    except markup.NoteError as problem:
        html, error = None, str(problem)
    status = 422 if error else 200
    if wants_fragment():
        return fragment("notes/_preview.html", status, preview_html=html, preview_error=error)
    article = Article.get_or_none(Article.pmid == request.form.get("pmid", type=database_int))
    if article is None:
        abort(404, description="Preview needs the paper the note is for.")
    context = {
        "article": article,
        "preview_html": html,
        "preview_error": error,
        "body": markup.normalise(body),
        "visibility": _visibility(request.form.get("visibility")),
        "visibilities": Note.VISIBILITIES,
        "note_error": None,
        "note_key": _note_key(),  # the same form still: saving it after a retry saves once
    }
    return render_template("notes/preview_page.html", **context), status


@bp.get("/notes/<int:note_id>")
def show(note_id):
    """One note (htmx: to cancel an edit); otherwise its place on the paper's page."""
    note = get_note(note_id)
    if wants_fragment():
        return fragment("notes/_note.html", note=note)
    return redirect(url_for("articles.show", pmid=note.article_id, _anchor=f"note-{note.id}"))


@bp.get("/notes/<int:note_id>/edit")
def edit(note_id):
    """The note's edit form, in place of the note (or on a page of its own)."""
    _require_reader()
    note = get_note(note_id, owner=current_user)
    context = {"note": note, "body": note.source, "visibility": note.visibility,
               "note_error": None, "visibilities": Note.VISIBILITIES}  # fmt: skip
    return page("notes/edit_page.html", "edit_form", **context)


@bp.post("/notes/<int:note_id>")
def update(note_id):
    """Save an edited note; the note comes back in place."""
    _require_reader()
    note = get_note(note_id, owner=current_user)
    body = request.form.get("body", "")
    visibility = _visibility(request.form.get("visibility"))
    try:
        source = markup.validate(body)
    except markup.NoteError as error:
        context = {"note": note, "body": markup.normalise(body), "visibility": visibility,
                   "note_error": str(error), "visibilities": Note.VISIBILITIES}  # fmt: skip
        return page("notes/edit_page.html", "edit_form", 422, **context)
    note.source, note.visibility, note.updated_at = source, visibility, utcnow()
    note.html = markup.render(source, prefix=f"n{note.id}")
    try:
        with db.atomic():
            note.save()
    except peewee.OperationalError as error:
        context = {"note": note, "body": markup.normalise(body), "visibility": visibility,
                   "note_error": not_saved(error), "visibilities": Note.VISIBILITIES}  # fmt: skip
        return page("notes/edit_page.html", "edit_form", 503, **context)
    if wants_fragment():
        return fragment("notes/_note.html", note=note, just_saved=note.id)
    return redirect(url_for("articles.show", pmid=note.article_id, _anchor=f"note-{note.id}"), 303)


@bp.route("/notes/<int:note_id>/delete", methods=["GET", "POST"])
def delete(note_id):
    """Delete a note: htmx at once, with Undo in its place; without JavaScript after a
    confirm page."""
    _require_reader()
    note = get_note(note_id, owner=current_user)
    if request.method == "GET":
        return render_template("notes/delete_page.html", note=note)
    note.deleted_at = utcnow()
    with db.atomic():
        note.save(only=[Note.deleted_at])
    if wants_fragment():
        return fragment("notes/_deleted.html", note=note, notes_total=_total(note.article_id))
    return redirect(url_for("articles.show", pmid=note.article_id, _anchor="notes"), 303)


@bp.post("/notes/<int:note_id>/restore")
def restore(note_id):
    """Undo a delete: the note comes back where it was."""
    _require_reader()
    note = get_note(note_id, owner=current_user, deleted=True)
    note.deleted_at = None
    with db.atomic():
        note.save(only=[Note.deleted_at])
    if wants_fragment():
        return fragment("notes/_restored.html", note=note, notes_total=_total(note.article_id))
    return redirect(url_for("articles.show", pmid=note.article_id, _anchor=f"note-{note.id}"), 303)


def not_saved(error):
    """Why a note the reader wrote could not be stored (its text stays in the box)."""
    return f"Your note was not saved: {database_problem(error)}. Your text is still here."


def _total(pmid):
    return Note.visible_to(signed_in_user()).where(Note.article == pmid).count()


def _visibility(value):
    return value if value in Note.VISIBILITIES else Note.PRIVATE
