"""My notes: every note the reader wrote, newest first, searchable; all of them exported as
Markdown (grouped by paper, with a citation and a link back) or JSON, and that JSON imported
into this Pearl or another without duplicates. Nothing a reader wrote is only inside Pearl.

The JSON shape (version 1), what `/my/notes.json` writes and `/my/notes/import` reads:

    {"format": "pearl-notes", "version": 1, "exported_at": "2026-12-01T11:50:00Z",
     "exported_from": "https://pearl.example.org/",
     "notes": [{"id": 12, "pmid": 24997269, "source": "as typed", "visibility": "private",
                "created_at": "2026-11-24T08:49:03.123456Z", "updated_at": "…Z",
                "title": "…", "doi": "…"}]}

`source`, `pmid`, `visibility` ("private" or "shared") and `created_at` are required;
`updated_at` defaults to `created_at`; `id`, `title` and `doi` are there for people and are
ignored on import. A note is a duplicate of one the reader already has (or of one earlier in
the file) when its PMID, source and `created_at` are the same: importing a file twice adds
nothing the second time."""

import datetime
import json

from flask import Blueprint, Response, abort, current_app, request, url_for
from peewee import fn

import citations
import markup
import search_query
from models import Article, Note, db, utcnow
from views.render import exact_time, page, page_number
from views.shelf import reader

bp = Blueprint("my_notes", __name__)

FORMAT, VERSION = "pearl-notes", 1
NOTES_PER_PAGE = 20
MAX_IMPORT_BYTES = 20 * 1024 * 1024


@bp.get("/my/notes")
def index():
    """Every note the reader wrote, newest first, a page at a time; `q` searches their text."""
    user = reader()
    q = search_query.clean(request.args.get("q", ""))[:200]  # a NUL too: PostgreSQL refuses
    number = max(1, page_number())
    notes = list(
        Note.by_author(user, q)
        .select_extend(fn.COUNT(Note.id).over().alias("total"))
        .paginate(number, NOTES_PER_PAGE)
    )
    total = notes[0].total if notes else 0
    last_page = max(1, -(-total // NOTES_PER_PAGE))
    if number > last_page:
        abort(404, description=f"There is no page {number} of your notes.")
    context = {"notes": notes, "total": total, "q": q, "page_number": number,
               "last_page": last_page}  # fmt: skip
    return page("my_notes/index.html", "my_notes", **context)


# --- export ---


def timestamp(moment):
    """A stored (naive UTC) moment as ISO 8601 with its microseconds: the identity of a note
    on import compares it exactly."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _all_notes(user):
    """Every note of the reader with its whole paper, grouped by paper (newest note first)."""
    return list(
        Note.select(Note, Article)
        .join(Article)
        .where((Note.author == user) & Note.deleted_at.is_null())
        .order_by(Note.created_at.desc(), Note.id.desc())
    )


def notes_document(user):
    """The reader's notes as the versioned JSON document (a dict)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timestamp(utcnow()),
        "exported_from": url_for("articles.index", _external=True),
        "notes": [
            {
                "id": note.id,
                "pmid": note.article.pmid,
                "source": note.source,
                "visibility": note.visibility,
                "created_at": timestamp(note.created_at),
                "updated_at": timestamp(note.updated_at),
                "title": note.article.title_text,
                "doi": note.article.doi,
            }
            for note in _all_notes(user)
        ],
    }


def _attachment(text, mimetype, filename):
    return Response(
        text,
        content_type=f"{mimetype}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/my/notes.json")
def export_json():
    """All of the reader's notes as JSON, to keep or to import into a Pearl."""
    document = notes_document(reader())
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return _attachment(text, "application/json", "pearl-notes.json")


def _markdown_link_text(text):
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def notes_markdown(user):
    """The reader's notes as one Markdown file: a section per paper (its title linking back
    to its page here, its citation), then each note as typed, quoted, with its visibility and
    date."""
    papers = {}
    for note in _all_notes(user):
        papers.setdefault(note.article.pmid, (note.article, []))[1].append(note)
    lines = [
        f"# Notes by {user.display_name}",
        "",
        f"{sum(len(notes) for _, notes in papers.values())} notes on {len(papers)} papers, "
        f"exported from Pearl ({url_for('articles.index', _external=True)}) "
        f"on {exact_time(utcnow())}.",
    ]
    for article, notes in papers.values():
        link = url_for("articles.show", pmid=article.pmid, _external=True)
        lines += ["", f"## [{_markdown_link_text(article.title_text)}]({link})", ""]
        lines += [citations.format_citation(article) + f" PMID: {article.pmid}."]
        for note in notes:
            when = exact_time(note.created_at)
            if note.updated_at and note.updated_at != note.created_at:
                when += f", edited {exact_time(note.updated_at)}"
            visibility = Note.VISIBILITIES.get(note.visibility, note.visibility)
            lines += ["", f"*{visibility}* · {when}", ""]
            lines += [f"> {line}" if line else ">" for line in note.source.split("\n")]
    return "\n".join(lines) + "\n"


@bp.get("/my/notes.md")
def export_markdown():
    """All of the reader's notes as one Markdown file, grouped by paper."""
    return _attachment(notes_markdown(reader()), "text/markdown", "pearl-notes.md")


# --- import ---


class NotesFileError(ValueError):
    """A file that is not a notes export Pearl can read; the message names what is wrong."""


def _moment(value, where, name):
    if not isinstance(value, str):
        raise NotesFileError(
            f"{where}: “{name}” must be a date and time like 2026-11-24T08:49:03Z."
        )
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise NotesFileError(
            f"{where}: “{name}” is “{value[:40]}”, not a date and time like 2026-11-24T08:49:03Z."
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment


def parse_notes(data):
    """The notes of an export file (bytes) as dicts, checked field by field, or
    NotesFileError saying what is wrong with the file. Notes whose text the note format refuses
    come back with an `error` rather than stopping the import."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NotesFileError(
            "The file is not UTF-8 text: choose the .json file Pearl exported."
        ) from None
    except json.JSONDecodeError as error:
        raise NotesFileError(
            f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise NotesFileError(f'This is not a Pearl notes export: it has no "format": "{FORMAT}".')
    if document.get("version") != VERSION:
        raise NotesFileError(
            f"This export is version {document.get('version')!r}; "
            f"this Pearl reads version {VERSION}."
        )
    items = document.get("notes")
    if not isinstance(items, list):
        raise NotesFileError('The file has no list of notes ("notes": […]).')
    notes = []
    for number, item in enumerate(items, 1):
        where = f"Note {number}"
        if not isinstance(item, dict):
            raise NotesFileError(
                f"{where} is not an object with pmid, source, visibility and created_at."
            )
        pmid = item.get("pmid")
        if isinstance(pmid, str) and pmid.isdigit():
            pmid = int(pmid)
        if not isinstance(pmid, int) or isinstance(pmid, bool) or not 0 < pmid < 2**63:
            raise NotesFileError(f"{where}: “pmid” must be a PMID (a whole number), not {pmid!r}.")
        source = item.get("source")
        if not isinstance(source, str):
            raise NotesFileError(f"{where} (PMID {pmid}): “source” must be the note's text.")
        visibility = item.get("visibility", Note.PRIVATE)
        if visibility not in Note.VISIBILITIES:
            raise NotesFileError(
                f"{where} (PMID {pmid}): “visibility” must be “private” or “shared”, "
                f"not {visibility!r}."
            )
        created = _moment(item.get("created_at"), where, "created_at")
        updated = item.get("updated_at")
        updated = created if updated is None else _moment(updated, where, "updated_at")
        note = {"number": number, "pmid": pmid, "visibility": visibility, "created_at": created,
                "updated_at": updated, "title": item.get("title") if isinstance(
                    item.get("title"), str) else None, "error": None}  # fmt: skip
        try:
            note["source"] = markup.validate(source)
        except markup.NoteError as error:
            note["source"], note["error"] = source, str(error)
        notes.append(note)
    return notes


def import_notes(user, notes):
    """Store the parsed `notes` as the reader's, in one transaction. Returns the report:
    `added`, `duplicates` (already there), `missing` (papers not in this Pearl: not
    imported) and `refused` (text the note format does not take: not imported)."""
    report = {"added": [], "duplicates": [], "missing": [], "refused": []}
    pmids = {note["pmid"] for note in notes}
    with db.atomic():
        here = {
            pmid for (pmid,) in Article.select(Article.pmid).where(Article.pmid.in_(pmids)).tuples()
        }
        existing = {
            (pmid, source, created)
            for pmid, source, created in Note.select(Note.article, Note.source, Note.created_at)
            .where((Note.author == user) & Note.deleted_at.is_null() & Note.article.in_(pmids))
            .tuples()
        }
        # Oldest first, so the new ids keep the order of the notes (an export lists them
        # newest first; ties keep their order in the file, reversed like the rest).
        for note in sorted(reversed(notes), key=lambda note: note["created_at"]):
            identity = (note["pmid"], note["source"], note["created_at"])
            if note["error"]:
                report["refused"].append(note)
            elif note["pmid"] not in here:
                report["missing"].append(note)
            elif identity in existing:
                report["duplicates"].append(note)
            else:
                stored = Note.create(
                    article=note["pmid"], author=user, source=note["source"], html="",
                    visibility=note["visibility"], created_at=note["created_at"],
                    updated_at=note["updated_at"],
                )  # fmt: skip
                stored.html = markup.render(note["source"], prefix=f"n{stored.id}")
                stored.save(only=[Note.html])
                existing.add(identity)
                report["added"].append({**note, "id": stored.id})
    for listed in report.values():
        listed.sort(key=lambda note: note["number"])
    return report


@bp.route("/my/notes/import", methods=["GET", "POST"])
def import_file():
    """The import form; posting a notes export (field `file`) imports it and reports what
    was added, what was already here and what could not be imported, and why."""
    user = reader()
    if request.method == "GET":
        return page("my_notes/import.html", "import_form", error=None, report=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_error("Choose the .json file of notes to import.")
    data = upload.stream.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        return _import_error(
            f"The file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB; a notes export is smaller."
        )
    try:
        notes = parse_notes(data)
    except NotesFileError as error:
        return _import_error(f"{upload.filename}: {error}")
    report = import_notes(user, notes)
    current_app.logger.info("Imported notes for user %s: %s", user.id,
                            {key: len(value) for key, value in report.items()})  # fmt: skip
    return page("my_notes/import.html", "import_form", error=None, report=report,
                filename=upload.filename)  # fmt: skip


def _import_error(message):
    return page("my_notes/import.html", "import_form", 422, error=message, report=None)
