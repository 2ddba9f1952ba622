"""The reader's library: stars (in place, wherever a paper is listed), named collections
(add, rename, remove, reorder; papers added and removed from the paper page) and exports of
a collection, the starred papers or a search as RIS, BibTeX, CSL-JSON, CSV and MEDLINE.

(Not `views/library.py`, which is about institutional full-text access.) Every POST answers
htmx with the fragment it changed and anything else with a 303 back to the page."""

import csv
import io
import json
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, redirect, request, url_for
from flask_login import current_user
from peewee import IntegrityError, fn

import citations
import search_query
from models import Article, Collection, Star, db
from views import search
from views.articles import get_article
from views.render import database_int, fragment, page, page_number, safe_next, wants_fragment

bp = Blueprint("shelf", __name__)

STARRED_PER_PAGE = 50
# A search export takes at most this many of the best matches.
SEARCH_EXPORT_LIMIT = 1000
CSV_COLUMNS = ("pmid", "doi", "title", "authors", "journal", "year", "volume", "issue",
               "pages", "url")  # fmt: skip


def reader():
    """The signed-in reader. Otherwise the request ends: htmx gets 401 with HX-Redirect to
    sign-in, a page or a form is redirected there, and either comes back afterwards."""
    if current_user.is_authenticated:
        return current_user._get_current_object()
    if request.method == "GET":
        back = request.full_path if request.query_string else request.path
    else:
        back = safe_next(urlsplit(request.referrer or "").path)
    target = url_for("auth.login", next=back)
    if wants_fragment():
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = target
        abort(response)
    abort(redirect(target, 302 if request.method == "GET" else 303))


def get_collection(collection_id, owner):
    """The reader's collection, or a 404 (another reader's is as good as missing)."""
    collection = Collection.for_reader(collection_id, owner)
    if collection is None:
        abort(404, description="You have no such collection.")
    return collection


def _back(default):
    """Where a form without JavaScript returns: its `next` field when on this site."""
    return safe_next(request.form.get("next"), default)


# --- stars ---


@bp.post("/articles/<int:pmid>/star")
def star(pmid):
    """Star a paper (starred=1) or take the star off (starred=0): the star button comes back
    in place (shelf/_star.html), or without JavaScript the page the button was on."""
    user = reader()
    article = get_article(pmid)
    starred = request.form.get("starred", "1") == "1"
    with db.atomic():
        Star.set(user, article, starred)
    if wants_fragment():
        return fragment("shelf/_star.html", pmid=pmid, starred=starred, focus=True)
    return redirect(_back(url_for("articles.show", pmid=pmid)), 303)


@bp.get("/starred")
def starred():
    """Every paper the reader starred, most recently starred first, with exports."""
    user = reader()
    listing = page_of(Star.papers(user), page_number(), STARRED_PER_PAGE)
    return page("shelf/starred.html", "starred", formats=EXPORTS, **listing)


def page_of(query, number, per_page):
    """One page of a query over articles, with the total counted in the same query (a
    window function); a page past the last is a 404."""
    rows = list(
        query.select_extend(fn.COUNT(Article.pmid).over().alias("total")).paginate(
            max(1, number), per_page
        )
    )
    total = rows[0].total if rows else 0
    last_page = max(1, -(-total // per_page))
    if number > last_page:
        abort(404, description=f"There is no page {number}.")
    return {"papers": rows, "total": total, "page_number": max(1, number), "last_page": last_page}


# --- collections ---


def _name_error(name, user, other_than=None):
    """Why `name` cannot name one of the reader's collections, in words; None if it can."""
    if not name:
        return "Give the collection a name."
    if len(name) > Collection.MAX_NAME:
        return f"That name is {len(name)} characters; a name has at most {Collection.MAX_NAME}."
    clash = Collection.get_or_none((Collection.user == user) & (Collection.key == name.lower()))
    if clash is not None and clash.id != other_than:
        return f"You already have a collection called “{clash.name}”."
    return None


def _name():
    return " ".join(request.form.get("name", "").split())


def _collections_page(user, status=200, **state):
    """The collections page (htmx: its #collections block), with `state`: what was typed
    into which form, an error, a notice, which control gets the focus."""
    context = {"collections": list(Collection.of(user)), "name": "", "error": None,
               "rename": None, "notice": None, "focus": None, **state}  # fmt: skip
    return page("shelf/collections.html", "collections", status, **context)


@bp.get("/collections")
def collections():
    """The reader's collections in their order, with forms to add, rename, reorder, remove."""
    return _collections_page(reader())


@bp.post("/collections")
def create_collection():
    """Add a collection (field `name`); a name it cannot take comes back with why (422).
    With `pmid`, the paper is put into it at once (the paper page's picker)."""
    user = reader()
    name = _name()
    pmid = request.form.get("pmid", type=database_int)
    article = get_article(pmid) if pmid is not None else None
    error = _name_error(name, user)
    if error is None:
        try:
            with db.atomic():
                collection = Collection.create_for(user, name)
                if article is not None:
                    collection.add(article)
        except IntegrityError:  # the same name added from another tab a moment ago
            error = f"You already have a collection called “{name}”."
    if article is not None:
        if error:
            return _picker(user, article, 422, name=name, error=error)
        if wants_fragment():
            return _picker(user, article, notice=f"Added to the new collection “{name}”.")
        return redirect(_back(url_for("articles.show", pmid=article.pmid)), 303)
    if error:
        return _collections_page(user, 422, name=name, error=error, focus="new")
    if wants_fragment():
        return _collections_page(user, notice=f"Collection “{name}” added.", focus="new")
    return redirect(url_for("shelf.collection", collection_id=collection.id), 303)


@bp.get("/collections/<int:collection_id>")
def collection(collection_id):
    """One collection: its papers in the order they were added, with exports."""
    user = reader()
    chosen = get_collection(collection_id, user)
    listing = page_of(chosen.papers(), page_number(), STARRED_PER_PAGE)
    return page("shelf/collection.html", "collection", collection=chosen, formats=EXPORTS,
                **listing)  # fmt: skip


@bp.post("/collections/<int:collection_id>/rename")
def rename_collection(collection_id):
    """Rename a collection (field `name`); a name it cannot take comes back with why (422)."""
    user = reader()
    chosen = get_collection(collection_id, user)
    name = _name()
    error = _name_error(name, user, other_than=chosen.id)
    if error is None:
        chosen.name, chosen.key = name, name.lower()
        try:
            with db.atomic():
                chosen.save(only=[Collection.name, Collection.key])
        except IntegrityError:
            error = f"You already have a collection called “{name}”."
    if error:
        return _collections_page(user, 422, rename={"id": chosen.id, "name": name, "error": error},
                                 focus=f"rename-{chosen.id}")  # fmt: skip
    if wants_fragment():
        return _collections_page(user, notice=f"Renamed to “{name}”.", focus=f"rename-{chosen.id}")
    return redirect(_back(url_for("shelf.collections")), 303)


@bp.post("/collections/<int:collection_id>/move")
def move_collection(collection_id):
    """Move a collection up (direction=up) or down the list; the list comes back."""
    user = reader()
    chosen = get_collection(collection_id, user)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        return _collections_page(user, 422, notice="Move a collection up or down.")
    with db.atomic():
        chosen.move(-1 if direction == "up" else 1)
    if wants_fragment():
        # The focus stays on the button pressed, now in the collection's new place; at an
        # end of the list that button is gone, so it goes to the other one.
        return _collections_page(user, focus=f"{direction}-{chosen.id}",
                                 notice=f"Moved “{chosen.name}” {direction}.")  # fmt: skip
    return redirect(url_for("shelf.collections", _anchor=f"collection-{chosen.id}"), 303)


@bp.route("/collections/<int:collection_id>/delete", methods=["GET", "POST"])
def delete_collection(collection_id):
    """Remove a collection after a confirm page (with or without JavaScript). Its papers
    stay in Pearl, and stay starred if they were."""
    user = reader()
    chosen = get_collection(collection_id, user)
    if request.method == "GET":
        size = chosen.items.count()
        return page("shelf/delete.html", "content", collection=chosen, size=size)
    with db.atomic():
        chosen.delete_instance(recursive=True)
    if wants_fragment():
        return _collections_page(user, notice=f"Collection “{chosen.name}” removed.")
    return redirect(url_for("shelf.collections"), 303)


# --- a paper in collections (from its page) ---


def _picker(user, article, status=200, **state):
    """The paper page's collections picker (#paper-collections): the reader's collections,
    each saying whether the paper is in it, and a box to start a new one."""
    context = {"article": article, "collections": list(Collection.holding(user, article)),
               "name": "", "error": None, "notice": None, **state}  # fmt: skip
    return page("shelf/paper_collections.html", "picker", status, **context)


@bp.get("/articles/<int:pmid>/collections")
def paper_collections(pmid):
    """Which of the reader's collections hold this paper, to add it to or take it out."""
    user = reader()
    return _picker(user, get_article(pmid))


@bp.post("/collections/<int:collection_id>/papers")
def add_paper(collection_id):
    """Put a paper (field `pmid`) into a collection; the picker comes back (or the page)."""
    user = reader()
    chosen = get_collection(collection_id, user)
    article = get_article(request.form.get("pmid", type=database_int) or 0)
    with db.atomic():
        chosen.add(article)
    if wants_fragment():
        return _picker(user, article, notice=f"Added to “{chosen.name}”.")
    return redirect(_back(url_for("articles.show", pmid=article.pmid)), 303)


@bp.post("/collections/<int:collection_id>/papers/<int:pmid>/delete")
def remove_paper(collection_id, pmid):
    """Take a paper out of a collection; the picker (or the collection's list) comes back."""
    user = reader()
    chosen = get_collection(collection_id, user)
    article = get_article(pmid)
    with db.atomic():
        chosen.remove(article)
    if wants_fragment():
        if request.form.get("from") == "collection":
            listing = page_of(chosen.papers(), 1, STARRED_PER_PAGE)
            notice = f"Removed “{article.title_text}”."
            return page("shelf/collection.html", "collection", collection=chosen,
                        formats=EXPORTS, notice=notice, **listing)  # fmt: skip
        return _picker(user, article, notice=f"Taken out of “{chosen.name}”.")
    return redirect(_back(url_for("articles.show", pmid=article.pmid)), 303)


# --- exports ---


def csv_text(articles):
    """The papers as CSV, one row each, CSV_COLUMNS first (Excel reads UTF-8 with the BOM)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for article in articles:
        writer.writerow([
            article.pmid, article.doi or "", article.title_text, "; ".join(article.author_names),
            article.journal_title or article.journal_abbrev or "", article.pub_year or "",
            article.volume or "", article.issue or "", article.pages or "", article.pubmed_url,
        ])  # fmt: skip
    return out.getvalue()


def _csl_json(articles):
    items = [citations.to_csl_json(article) for article in articles]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def _joined(write, separator):
    return lambda articles: separator.join(write(article) for article in articles)


# suffix: (label, media type, writer of a list of articles)
EXPORTS = {
    "ris": ("RIS", "application/x-research-info-systems", _joined(citations.to_ris, "")),
    "bib": ("BibTeX", "application/x-bibtex", _joined(citations.to_bibtex, "\n")),
    "json": ("CSL-JSON", "application/vnd.citationstyles.csl+json", _csl_json),
    "csv": ("CSV", "text/csv", csv_text),
    "nbib": ("MEDLINE", "application/x-nbib", _joined(citations.to_medline, "\n")),
}
KINDS = "<any(ris, bib, json, csv, nbib):kind>"


def export(articles, kind, filename):
    """`articles` as a UTF-8 file of `kind` (a key of EXPORTS), to save (an attachment)."""
    _label, mimetype, write = EXPORTS[kind]
    return Response(
        write(list(articles)),
        content_type=f"{mimetype}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.{kind}"'},
    )


@bp.get(f"/starred.{KINDS}")
def export_starred(kind):
    """The starred papers as a file."""
    return export(Star.papers(reader()), kind, "pearl-starred")


@bp.get(f"/collections/<int:collection_id>.{KINDS}")
def export_collection(collection_id, kind):
    """A collection's papers as a file, in its order."""
    chosen = get_collection(collection_id, reader())
    return export(chosen.papers(), kind, f"pearl-collection-{chosen.id}")


def search_pmids(q, limit=SEARCH_EXPORT_LIMIT):
    """The PMIDs the search page lists for `q` (and the URL's filters and sort), in its
    order; a query the search page would refuse is a 422 saying why."""
    try:
        return search.matching_pmids(q, limit)
    except search_query.QueryError as error:
        abort(422, description=str(error))


def articles_for(pmids):
    """The stored papers among `pmids`, in the order given (one query)."""
    found = {a.pmid: a for a in Article.with_retracted().where(Article.pmid.in_(list(pmids)))}
    return [found[pmid] for pmid in pmids if pmid in found]


@bp.get(f"/export/search.{KINDS}")
def export_search(kind):
    """Any search result as a file: `?q=` (the search box's text, best matches first, at
    most SEARCH_EXPORT_LIMIT) or a list of `?pmid=` (in the order given). No account needed:
    these are public records."""
    q = request.args.get("q", "").strip()
    pmids = []
    for value in request.args.getlist("pmid"):
        if not value.strip().isdigit() or len(value.strip()) > 18:
            abort(422, description=f"“{value}” is not a PMID.")
        pmids.append(int(value))
    if not q and not pmids:
        abort(422, description="Say what to export: a search (?q=…) or PMIDs (?pmid=…).")
    if q:
        pmids = search_pmids(q)
    return export(articles_for(list(dict.fromkeys(pmids))[:SEARCH_EXPORT_LIMIT]), kind,
                  "pearl-search")  # fmt: skip
