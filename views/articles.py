"""The paper pages: the list of recent papers, one paper, its plaintext, citations and
downloads in RIS, BibTeX and MEDLINE formats."""

import datetime
import re

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

import citations
import similar as similar_papers
from models import Article, LibraryStats, Note, NoteKey, Star, utcnow
from views import fragments, library
from views.auth import signed_in_user
from views.render import LARGEST_ID, page, page_number, wants_fragment

bp = Blueprint("articles", __name__)

DOWNLOADS = {
    "ris": ("application/x-research-info-systems", citations.to_ris),
    "bib": ("application/x-bibtex", citations.to_bibtex),
    "nbib": ("application/x-nbib", citations.to_medline),
}


def get_article(pmid, for_page=False, export=False):
    """The article with this PMID, or a real 404 page. `for_page` also finds which of the
    papers it links to are here, its notices, and whether the reader starred it, in the same
    query (Article.for_page); `export` whether it is retracted (exports say so)."""
    if for_page:
        article = Article.for_page(pmid, signed_in_user())
    elif export:
        article = Article.with_retracted().where(Article.pmid == pmid).get_or_none()
    else:
        article = Article.get_or_none(Article.pmid == pmid)
    if article is None:
        abort(404, description=f"There is no paper with PMID {pmid} in this Pearl.")
    return article


WEEK = datetime.timedelta(days=7)

# Where a page of recent papers starts: "<sort date>.<PMID>" of the paper next to it.
CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2})\.(\d{1,19})")


@bp.get("/")
def index():
    """The most recent papers, newest first, a page at a time: ?before=CURSOR for older ones,
    ?after=CURSOR for newer ones (keyset paging; ?page=N only says which page it is)."""
    per_page = current_app.config["ARTICLES_PER_PAGE"]
    before, after = _cursor("before"), _cursor("after")
    if before and after:
        abort(404, description="A page of papers starts before one paper or after it, not both.")
    number = page_number()
    if not (before or after) and number != 1:
        abort(404, description=f"There is no page {number} of papers: pages are no longer "
                               "numbered; start from the newest papers.")  # fmt: skip
    # The paper count (kept by the import: no COUNT of the table), and when PubMed last
    # updated the library with what its runs added this week, all in one query.
    total, updated, new_this_week = LibraryStats.overview(utcnow() - WEEK)
    articles, newer, older = _recent_page(per_page, before, after)
    last_page = max(1, -(-total // per_page))
    number = _position(number, newer, older, last_page)
    step = (lambda n: None) if number is None else (lambda n: number + n)
    return page(
        "articles/index.html",
        "article_list",
        articles=articles,
        page_number=number,
        last_page=last_page,
        total=total,
        updated=updated,
        new_this_week=new_this_week,
        newer_url=_page_url(step(-1), after=articles[0].page_key) if newer else None,
        older_url=_page_url(step(1), before=articles[-1].page_key) if older else None,
    )


def _recent_page(per_page, before, after):
    """(papers, whether newer ones exist, whether older ones do) for the page that starts
    before or after a key, or the first page: two queries at most. Fewer than a page newer
    than `after` means the newest papers: the first page, whole."""
    if before:
        articles = Article.recent(per_page + 1, before=before)
        if not articles:
            abort(404, description="There are no papers older than that.")
        newer = Article.any_beyond(articles[0].page_key, older=False)
        return articles[:per_page], newer, len(articles) > per_page
    if after:
        articles = Article.recent_after(after, per_page + 1)
        if len(articles) > per_page:
            articles = articles[1:]
            return articles, True, Article.any_beyond(articles[-1].page_key, older=True)
        if len(articles) == per_page:
            return articles, False, Article.any_beyond(articles[-1].page_key, older=True)
    articles = Article.recent(per_page + 1)
    return articles[:per_page], False, len(articles) > per_page


def _position(number, newer, older, last_page):
    """Which page this is, for "page 2 of 31": the first or the last when nothing lies
    beyond it, else the number the link carried (kept in range: papers come and go), or
    None for a cursor made by hand, with no number."""
    if not newer:
        return 1
    if not older:
        return last_page
    if "page" not in request.args:
        return None
    return min(max(number, 2), max(last_page - 1, 2))


def _cursor(name):
    """The (sort_date, pmid) key a ?before= or ?after= cursor names, None when absent; a
    cursor that names no place in the list is a 404 page."""
    text = request.args.get(name)
    if text is None:
        return None
    found = CURSOR.fullmatch(text)
    if found is None or int(found[2]) > LARGEST_ID:
        abort(404, description=f"“{text}” is not a place in the list of papers.")
    return found[1], int(found[2])


def _page_url(number, before=None, after=None):
    """The URL of page `number` (None: not known) of the list, which starts before or after
    a paper's key. Page 1 is the newest papers, whatever came since: plain `/`."""
    if number is not None and number <= 1:
        return url_for("articles.index")
    key = before or after
    cursor = {"before" if before else "after": f"{key[0]}.{key[1]}"}
    return url_for("articles.index", **({"page": number} if number else {}), **cursor)


@bp.get("/articles/<int:pmid>")
def show(pmid):
    """One paper as the seed page shows it: citation, abstract, actions, notes, MeSH, and
    the rest of the record (comments and corrections, funding, substances, identifiers);
    near the title, its retraction or expression of concern, errata and updated versions,
    or, for a notice, the paper it concerns."""
    return paper_page(get_article(pmid, for_page=True))


def paper_page(article, status=200, block="content", **notes_state):
    """The paper's page, or its `block` for htmx. `notes_state` is the notes form's state
    (what was typed, an error), so a refused note comes back with its text."""
    context = panel_context(article, **notes_state)
    if block == "content" or not wants_fragment():  # the whole paper, not only its notes
        context["full_text_url"] = library.full_text_url(article, library.current_setting())
        reader = signed_in_user()
        if reader is not None and not hasattr(article, "starred"):  # not read by for_page
            article.starred = Star.is_starred(reader, article)
        context.update(_citation_context(article, citations.DEFAULT_STYLE))
    if notes_state or wants_fragment():
        return page("articles/show.html", block, status, **context)
    # The page as a reader opens it, kept whole for them (views/fragments.py); what a reader
    # typed (`notes_state`) is never kept.
    html = fragments.kept_page("articles/show.html", fresh={"note_key": NoteKey.fresh}, **context)
    return html, status, {"Vary": "HX-Request"}


def panel_context(article, **state):
    """What the notes panel shows: one page of the notes the reader may see (their total
    comes in the same query), and the form's state; ?page=N and ?help=1 come from the URL."""
    number = max(1, page_number())
    per_page = current_app.config["NOTES_PER_PAGE"]
    notes = Note.page_on(article, signed_in_user(), number, per_page)
    total = notes.column("total")[0] if notes else 0
    return {
        "article": article,
        "notes": notes,
        "notes_total": total,
        "notes_page": number,
        "notes_last_page": max(1, -(-total // per_page)),
        "help_open": request.args.get("help") == "1",
        "body": "",
        "visibility": Note.PRIVATE,
        "note_error": None,
        "visibilities": Note.VISIBILITIES,
        **state,
    }


@bp.get("/articles/<int:pmid>/similar")
def similar(pmid):
    """Up to ten papers like this one, each with why: the section for htmx (it loads when the
    reader scrolls to it), a page of its own without JavaScript."""
    article = get_article(pmid)
    return page("articles/similar.html", "similar", article=article,
                similar=similar_papers.similar_to(article))  # fmt: skip


@bp.get("/articles/<int:pmid>.txt")
def plaintext(pmid):
    """The whole record as readable UTF-8 plain text."""
    article = get_article(pmid, export=True)
    retracted = citations.is_retracted(article)
    text = render_template("articles/record.txt", article=article, retracted=retracted)
    return Response(text, mimetype="text/plain")


@bp.get("/articles/<int:pmid>/cite")
def cite(pmid):
    """The citation in a CSL style: a page to select it from, or the citation panel for htmx."""
    article = get_article(pmid)
    style = request.args.get("style", "").strip() or citations.DEFAULT_STYLE
    context = _citation_context(article, style)
    status = 422 if context["style_error"] else 200
    return page("articles/cite.html", "citation", status=status, article=article, **context)


@bp.get("/articles/<int:pmid>.<any(ris, bib, nbib):kind>")
def download(pmid, kind):
    """The record as a file for a reference manager."""
    mimetype, export = DOWNLOADS[kind]
    return Response(
        export(get_article(pmid, export=True)),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="pmid-{pmid}.{kind}"'},
    )


def _citation_context(article, style):
    """The formatted citation in `style`, or the default one and an error for a bad name."""
    try:
        text = citations.format_citation(article, style)
        error = None
    except citations.UnknownStyle as unknown:
        text = citations.format_citation(article, citations.DEFAULT_STYLE)
        error = str(unknown)
    return {
        "citation": text,
        "style": style,
        "style_error": error,
        "styles": citations.STYLES,
    }
