"""Institutional full text: the reader's EZproxy prefix or OpenURL resolver, set in an inline
form and kept on the reader's account, or in the session while signed out."""

from urllib.parse import quote, urlencode, urlsplit

from flask import Blueprint, redirect, request, session, url_for
from flask_login import current_user

from models import Article, db
from views.render import page, safe_next, wants_fragment

bp = Blueprint("library", __name__)

# An EZproxy prefix or a resolver's address is some tens of characters; a longer one is
# refused rather than stored (and copied into every full-text link).
MAX_BASE = 500
KINDS = {
    "ezproxy": "EZproxy prefix",
    "openurl": "OpenURL resolver",
}
EXAMPLES = {
    "ezproxy": "https://ezproxy.example.edu/login?url=",
    "openurl": "https://resolver.example.edu/openurl",
}


def full_text_url(article, setting):
    """Where *Full text* goes: through the reader's library when one is set, else the DOI
    or PubMed Central; None when there is nowhere to go."""
    direct = article.full_text_url
    if not setting:
        return direct
    if setting["kind"] == "openurl":
        return openurl(setting["base"], article)
    return setting["base"] + quote(direct, safe=":/") if direct else None


def openurl(base, article):
    """An OpenURL 1.0 (KEV) link to the resolver, carrying what identifies the article."""
    params = [("url_ver", "Z39.88-2004"), ("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal")]
    if article.doi:
        params.append(("rft_id", f"info:doi/{article.doi}"))
    params.append(("rft_id", f"info:pmid/{article.pmid}"))
    optional = {
        "rft.issn": article.issn,
        "rft.volume": article.volume,
        "rft.issue": article.issue,
        "rft.spage": article.first_page,
        "rft.date": article.pub_year,
        "rft.jtitle": article.journal_title,
    }
    params += [(key, value) for key, value in optional.items() if value]
    separator = "&" if "?" in base else "?"
    return base + separator + urlencode(params)


def current_setting():
    """The reader's setting: on their account when signed in, else in the session."""
    if current_user.is_authenticated:
        return current_user.library
    return session.get("library")


@bp.app_context_processor
def _library_setting():
    """Every page can say where Full text goes."""
    return {"library_setting": current_setting()}


def store_setting(setting):
    """Keep `setting` (or forget it, with None) where current_setting() reads it."""
    if current_user.is_authenticated:
        current_user.library_kind = setting and setting["kind"]
        current_user.library_base = setting and setting["base"]
        with db.atomic():
            current_user.save()
    elif setting:
        session["library"] = setting
    else:
        session.pop("library", None)


def validate(kind, base):
    """An error message for a setting that cannot work, else None."""
    if kind not in KINDS:
        return "Choose an EZproxy prefix or an OpenURL resolver."
    if not base:
        return f"Enter your library's {KINDS[kind]}, e.g. {EXAMPLES[kind]}"
    if len(base) > MAX_BASE:
        return f"That address is {len(base)} characters; a library's has at most {MAX_BASE}."
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.netloc or " " in base:
        return f"This must be an https:// address, e.g. {EXAMPLES[kind]}"
    return None


def _article_for(pmid_text):
    return Article.get_or_none(Article.pmid == int(pmid_text)) if pmid_text.isdigit() else None


def _next(target):
    return safe_next(target, url_for("articles.index"))


def _respond(article, form, status=200, saved=False):
    """Under a paper, htmx gets the paper's actions row (with the form open while `form`
    is given); otherwise the form's own page."""
    context = {"form": form, "kinds": KINDS, "examples": EXAMPLES, "article": article}
    if wants_fragment() and article is not None:
        url = full_text_url(article, current_setting())
        return page(
            "articles/show.html",
            "actions",
            status,
            full_text_url=url,
            library_saved=saved,
            **context,
        )
    return page("library/edit.html", "content", status, **context)


@bp.get("/library")
def edit():
    """The form that sets the reader's institutional access (inline under a paper with htmx)."""
    setting = current_setting() or {"kind": "ezproxy", "base": ""}
    form = {**setting, "error": None, "next": _next(request.args.get("next"))}
    return _respond(_article_for(request.args.get("pmid", "")), form)


@bp.post("/library")
def update():
    """Save the institutional access setting, or show what is wrong next to the field (422)."""
    kind = request.form.get("kind", "ezproxy")
    base = request.form.get("base", "").strip()
    next_url = _next(request.form.get("next"))
    article = _article_for(request.form.get("pmid", ""))
    error = validate(kind, base)
    if error:
        form = {"kind": kind, "base": base, "error": error, "next": next_url}
        return _respond(article, form, 422)
    store_setting({"kind": kind, "base": base})
    if wants_fragment() and article is not None:
        return _respond(article, None, saved=True)
    return redirect(next_url, 303)


@bp.post("/library/clear")
def clear():
    """Forget the institutional access setting."""
    store_setting(None)
    article = _article_for(request.form.get("pmid", ""))
    if wants_fragment() and article is not None:
        return _respond(article, None)
    return redirect(_next(request.form.get("next")), 303)
