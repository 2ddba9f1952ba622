"""Search: `GET /search?q=` in PubMed's query language (search_query.py), results with
highlighted snippets, facets, sorting and paging, all in the URL; and "Follow this search"."""

import functools
import json
import urllib.parse
from collections import Counter

from flask import Blueprint, current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from peewee import IntegrityError, OperationalError

import search_query
from models import Article, Interest, db, html_to_text, search_index
from views.journal import _reader
from views.render import page, page_number, wants_fragment

bp = Blueprint("search", __name__)

CANDIDATES = 1000  # results a search reads at most: facets count these, paging stays in them
PER_PAGE = 20
FACET_SIZE = 8  # values shown per facet
SORTS = {"relevance": "Best match", "date": "Most recent"}
# Publication types that say nothing to filter by (funding), left out of the facet.
QUIET_TYPES = ("Research Support",)
SEARCH_TEMPLATE = "search/results.html"


@bp.app_template_filter("marked")
def marked(text):
    """Indexed text with the index's highlight marks as <mark>, everything else escaped."""
    if not text:
        return ""
    start, end = search_index.HIGHLIGHT
    return Markup(str(escape(text)).replace(start, "<mark>").replace(end, "</mark>"))


bp.app_template_global("author_term")(search_query.author_term)


@bp.app_template_global("term_search_url")
def term_search_url(value, tag):
    """The search URL for a term of a paper: `"Pain"[mh]`, `"Calvo M"[au]`…"""
    # A paper page links fifty-odd terms: the route is built once a request, and each term's
    # query string once a process (url_for's routing was a tenth of the page's time).
    if "search_url" not in g:
        g.search_url = url_for("search.results")
    return f"{g.search_url}?{_term_query(value, tag)}"


@functools.lru_cache(maxsize=8192)
def _term_query(value, tag):
    text = search_query.clean(value).replace('"', " ")
    # Encoded as url_for encodes its arguments (werkzeug's safe characters).
    return urllib.parse.urlencode({"q": f'"{text}"[{tag}]'}, safe="!$'()*,/:;?@")


def _filters():
    """The facet filters and the sort from the URL (unknown values ignored)."""
    args = request.args

    def year(name):
        value = args.get(name, "").strip()
        return int(value) if value.isdigit() and len(value) == 4 else None

    return {
        "from": year("from"),
        "to": year("to"),
        "type": args.get("type", "").strip() or None,
        "journal": args.get("journal", "").strip() or None,
        "abstract": args.get("abstract") == "1",
        "pmc": args.get("pmc") == "1",
        "sort": args.get("sort") if args.get("sort") in SORTS else "relevance",
    }


@bp.get("/search")
def results():
    """The papers matching the query, best first (or newest), with facets; a bare PMID or DOI
    opens its paper; a query that cannot be searched comes back with why (422)."""
    q = request.args.get("q", "")
    state = _filters()
    context = {"q": q, "state": state, "error": None, "query": None, "results": [],
               "total": 0, "capped": False, "facets": {}, "goto": None, "page_number": 1,
               "last_page": 1, "sorts": SORTS, "url": _url_maker(q, state)}  # fmt: skip
    if not q.strip():
        return page(SEARCH_TEMPLATE, "results", **context)
    try:
        query = search_query.parse(q)
        context["query"] = query
        if query.goto:
            found = _goto(query.goto)
            if found and not wants_fragment():
                return redirect(url_for("articles.show", pmid=found))
            context["goto"] = (query.goto, found)
            if found:  # typed live: offer it rather than leave the page under the reader
                return page(SEARCH_TEMPLATE, "results", **context)
        rows = search_index.find(query.fts, query.filters, CANDIDATES)
    except search_query.QueryError as error:
        context["error"] = str(error)
        return page(SEARCH_TEMPLATE, "results", 422, **context)
    except OperationalError as error:  # FTS5 refused what fts_parser let through
        current_app.logger.warning("search %r failed: %s", q, error)
        context["error"] = "Pearl could not search for that; try fewer operators or symbols."
        return page(SEARCH_TEMPLATE, "results", 422, **context)
    context.update(_page_of(rows, query, state))
    return page(SEARCH_TEMPLATE, "results", **context)


def matching_pmids(q, limit):
    """The PMIDs the results page lists for `q` and the URL's filters and sort, in its order
    (what an export of the results holds). Raises search_query.QueryError."""
    query = search_query.parse(q)
    if query.goto:
        found = _goto(query.goto)
        return [found] if found else []
    state = _filters()
    kept = [c for c in map(_candidate, search_index.find(query.fts, query.filters, CANDIDATES))
            if _keeps(c, state)]  # fmt: skip
    if state["sort"] == "date":
        kept.sort(key=lambda c: (c["date"] or "", c["pmid"]), reverse=True)
    return [c["pmid"] for c in kept[:limit]]


def _goto(goto):
    """The PMID a bare identifier names, if that paper is here."""
    kind, value = goto
    if kind == "pmid":
        found = Article.select(Article.pmid).where(Article.pmid == value).first()
        return found.pmid if found else None
    return search_index.pmid_for_doi(value)


def _page_of(rows, query, state):
    """Facets of the candidate `rows`, the rows the facet filters keep, sorted and paged."""
    candidates = [_candidate(row) for row in rows]
    kept = [c for c in candidates if _keeps(c, state)]
    facets = _facets(kept)
    if state["sort"] == "date":
        kept.sort(key=lambda c: (c["date"] or "", c["pmid"]), reverse=True)
    number = max(1, page_number())
    last_page = max(1, -(-len(kept) // PER_PAGE))
    number = min(number, last_page)
    shown = [c["pmid"] for c in kept[(number - 1) * PER_PAGE : number * PER_PAGE]]
    user_id = current_user.id if current_user.is_authenticated else None
    articles = search_index.page_rows(query.fts, shown, user_id)
    for article in articles:
        if not article.snippet:
            article.snippet = _opening(article.abstract)
    return {
        "results": articles,
        "total": len(kept),
        "capped": len(rows) >= CANDIDATES,
        "facets": facets,
        "page_number": number,
        "last_page": last_page,
        "first_number": (number - 1) * PER_PAGE + 1,
    }


def _candidate(row):
    pmid, _rank, year, journal, types, has_abstract, has_pmc, date = row
    return {"pmid": pmid, "year": year, "journal": journal, "types": json.loads(types or "[]"),
            "abstract": bool(has_abstract), "pmc": bool(has_pmc), "date": date}  # fmt: skip


def _keeps(candidate, state):
    year = candidate["year"]
    if state["from"] and (year is None or year < state["from"]):
        return False
    if state["to"] and (year is None or year > state["to"]):
        return False
    if state["type"] and state["type"] not in candidate["types"]:
        return False
    if state["journal"] and candidate["journal"] != state["journal"]:
        return False
    return (candidate["abstract"] or not state["abstract"]) and (
        candidate["pmc"] or not state["pmc"]
    )


def _facets(kept):
    """Counts among the results: years (newest first), types and journals (most first)."""
    years, types, journals = Counter(), Counter(), Counter()
    for c in kept:
        if c["year"]:
            years[c["year"]] += 1
        types.update(t for t in c["types"] if not t.startswith(QUIET_TYPES))
        if c["journal"]:
            journals[c["journal"]] += 1
    return {
        "years": sorted(years.items(), reverse=True)[:12],
        "types": types.most_common(FACET_SIZE),
        "journals": journals.most_common(FACET_SIZE),
        "abstract": sum(c["abstract"] for c in kept),
        "pmc": sum(c["pmc"] for c in kept),
    }


def _opening(abstract, length=240):
    """The start of the abstract, for a result without a full-text match to show."""
    text = " ".join(html_to_text(section.get("text")) for section in abstract or ())
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


def _url_maker(q, state):
    """url(**changes): this search's URL with some filters changed (None removes one); a
    change of filter or sort goes back to page 1."""

    def url(**changes):
        args = {"q": q, **{k: v for k, v in state.items() if v}}
        if args.get("sort") == "relevance":
            del args["sort"]
        for key, value in changes.items():
            key = key.rstrip("_")  # from_=… (from is a keyword)
            if value in (None, False, ""):
                args.pop(key, None)
            else:
                args[key] = 1 if value is True else value
        return url_for("search.results", **args)

    return url


@bp.post("/search/follow")
def follow():
    """Follow the search: it becomes an interest of the reader's journal (ranked by its
    full-text part like a followed term); the results come back saying so."""
    reader = _reader()
    q = search_query.clean(request.form.get("q", ""))
    error = None
    try:
        search_query.parse(q)
    except search_query.QueryError as refused:
        error = str(refused)
    current = list(Interest.of(reader))
    if error is None:
        if not q:
            error = "Type a search first."
        elif len(q) > Interest.MAX_LENGTH:
            error = f"A followed search has at most {Interest.MAX_LENGTH} characters."
        elif len(current) >= Interest.MAX_PER_READER:
            error = f"You follow {len(current)} things, the most a journal can: remove one first."
    if error is None:
        try:
            with db.atomic():
                Interest.create(user=reader, kind=Interest.SEARCH, value=q, key=q.lower())
        except IntegrityError:
            pass  # already followed: following twice is following
    if wants_fragment():
        context = {"q": q, "following": error is None, "follow_error": error}
        return page(SEARCH_TEMPLATE, "follow", 422 if error else 200, **context)
    if error:
        flash(error)
    else:
        flash(f"Your journal now follows the search “{q}”.")
    return redirect(url_for("search.results", q=q), 303)
