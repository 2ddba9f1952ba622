"""The Medical Journal of You: the reader's issues (latest, archive, starred), marking papers
read and starred, "More like this" / "Fewer like this" (feedback that ranks later issues, and
its reset), the interests picker with its autocomplete, delivery settings, the Atom
feed, and a sample issue for visitors. Every route answers htmx with a fragment and anything
else with a whole page (or a 303 after a POST), so the journal also works with JavaScript off.

The journal is for readers with full access or a running trial. Others get the "Your trial
has ended" page with status 403: the reader is known, but the journal is not open to them,
and a feed reader, a script or a cache must not take that page for an issue. The page itself
renders normally in a browser and links to what stays readable (notes, starred papers)."""

import logging
import smtplib
from itertools import groupby

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from peewee import IntegrityError, OperationalError

import clinical
import journal
import mail
from models import (
    Article,
    CorrectionAlert,
    Feedback,
    Interest,
    Issue,
    IssueEntry,
    MeshDescriptor,
    Note,
    Star,
    Term,
    User,
    database_problem,
    db,
    utcnow,
)
from preferences import Preferences
from views.render import fragment, page, safe_next, wants_fragment

bp = Blueprint("journal", __name__)
log = logging.getLogger("pearl.journal")

SAMPLE_INTERESTS = 10  # a visitor's sample follows at most this many
FEED_ISSUES = 20


# --- who may read the journal ---


def _reader():
    """The signed-in reader whose journal is open. Otherwise the request ends here: signed-out
    readers go to sign-in (and come back), others get the trial-ended page (403)."""
    if not current_user.is_authenticated:
        if request.method != "GET":
            back = url_for("journal.show")
        else:
            back = request.full_path if request.query_string else request.path
        abort(_go(url_for("auth.login", next=back)))
    if not current_user.has_journal:
        if wants_fragment():
            # A button pressed as the trial ran out: the whole page says why, not a silent 403.
            abort(_go(url_for("journal.show")))
        abort(make_response(_ended_page(current_user), 403))
    return current_user._get_current_object()


def _go(target):
    """Send the browser to `target`: htmx by HX-Redirect, anything else by a redirect."""
    if wants_fragment():
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 302 if request.method == "GET" else 303)


def _ended_page(reader):
    """The trial-ended page: the reader's notes and starred papers stay one click away."""
    notes = (
        Note.visible_to(reader)
        .select_extend(Article.pmid, Article.title)
        .switch(Note)
        .join(Article)
        .where(Note.author == reader)
        .order_by(Note.updated_at.desc())
        .limit(50)
    )
    starred = IssueEntry.starred_by(reader).limit(50)
    return render_template("journal/ended.html", notes=list(notes), starred=list(starred))


# --- issues ---


@bp.get("/journal")
def show():
    """The latest issue, assembled now if one is due; the interests picker until the reader
    follows something."""
    reader = _reader()
    try:
        issue, created = journal.publish(reader, alerts=True)
        notice = None
    except OperationalError as error:
        # Reading goes on when nothing can be written (a full disk): the latest issue, and why
        # no new one came.
        issue, created = Issue.of(reader).first(), False
        notice = f"No new issue could be made: {database_problem(error)}."
        if issue is None:
            raise
    if issue is None:
        return redirect(url_for("journal.interests", welcome=1))
    if created:
        deliver(issue)
    return _issue_page(issue, older=issue.number > 1, newer=False, notice=notice)


@bp.get("/journal/issues/<int:number>")
def issue(number):
    """One issue: its table of contents, grouped by section."""
    reader = _reader()
    # The issue and its neighbours in one query: the pager needs to know they exist.
    # The reader's unseen correction alerts come with it, in the same query.
    nearby = (
        Issue.of(reader)
        .select_extend(CorrectionAlert.unseen_column(reader))
        .where(Issue.number.between(number - 1, number + 1))
    )
    around = {i.number: i for i in nearby}
    if number not in around:
        abort(404, description=f"Your journal has no issue No. {number}.")
    return _issue_page(around[number], older=number - 1 in around, newer=number + 1 in around)


def _issue_page(issue, older, newer, notice=None):
    entries = list(IssueEntry.contents(issue))
    # Read with the issue, except for an issue made by this request (one query more then).
    found = getattr(issue, "alerts_found", None)
    if found is None:
        found = CorrectionAlert.unseen(issue.user_id)
    context = {
        "alerts": CorrectionAlert.listed(found),
        "issue": issue,
        "sections": journal.sections(entries),
        "entries": entries,
        "unread": sum(1 for entry in entries if entry.read_at is None),
        "older": older,
        "newer": newer,
        "notice": notice,
    }
    return page("journal/issue.html", "issue", **context)


@bp.get("/journal/issues")
def archive():
    """Every past issue, newest first, with how many papers are unread and starred."""
    reader = _reader()
    # The unseen correction alerts ride on the issues' query (one more without issues).
    issues = list(Issue.archive(reader).select_extend(CorrectionAlert.unseen_column(reader)))
    found = issues[0].alerts_found if issues else CorrectionAlert.unseen(reader)
    return page("journal/archive.html", "archive", issues=issues,
                alerts=CorrectionAlert.listed(found))  # fmt: skip


@bp.post("/journal/corrections/seen")
def dismiss_alerts():
    """ "Got it": the journal's notice of changed papers goes away (up to the last it showed);
    htmx gets nothing in its place, a form goes back to the page."""
    reader = _reader()
    try:
        upto = int(request.form.get("upto", ""))
    except ValueError:
        abort(400, description="Which notices were seen is missing.")
    with db.atomic():
        CorrectionAlert.dismiss(reader, upto)
    if wants_fragment():
        return ""
    back = safe_next(request.form.get("next"), url_for("journal.show"))
    return redirect(back, 303)


@bp.get("/journal/starred")
def starred():
    """Every paper the reader starred, from all their issues."""
    reader = _reader()
    entries = list(IssueEntry.starred_by(reader))
    return page("journal/starred.html", "starred", entries=entries)


@bp.post("/journal/issues/<int:number>/read")
def mark_issue_read(number):
    """Mark every paper of an issue read; the issue comes back."""
    reader = _reader()
    issue = Issue.numbered(reader, number)
    if issue is None:
        abort(404, description=f"Your journal has no issue No. {number}.")
    with db.atomic():
        IssueEntry.update(read_at=utcnow()).where(
            (IssueEntry.issue == issue) & IssueEntry.read_at.is_null()
        ).execute()
    if wants_fragment():
        return _issue_page(issue, older=None, newer=None, notice="Every paper marked read.")
    return redirect(url_for("journal.issue", number=number), 303)


def _entry(entry_id, reader):
    entry = IssueEntry.for_reader(entry_id, reader)
    if entry is None:
        abort(404, description="There is no such paper in your issues.")
    return entry


def _entry_answer(entry, focus, note=None):
    """The entry in place for htmx, focus on the button pressed and `note` said (shown in the
    entry, announced by the page's live region); otherwise back to the entry in its issue."""
    if wants_fragment():
        return fragment("journal/_entry.html", entry=entry, interactive=True, focus=focus,
                        feedback_note=note)  # fmt: skip
    if note:
        flash(note)
    number = entry.issue.number
    return redirect(url_for("journal.issue", number=number, _anchor=f"entry-{entry.id}"), 303)


@bp.post("/journal/entries/<int:entry_id>/read")
def mark_read(entry_id):
    """Mark a paper read (read=1) or unread (read=0); the entry comes back in place."""
    entry = _entry(entry_id, _reader())
    entry.read_at = utcnow() if request.form.get("read", "1") == "1" else None
    with db.atomic():
        entry.save(only=[IssueEntry.read_at])
    return _entry_answer(entry, "read")


@bp.post("/journal/entries/<int:entry_id>/star")
def star(entry_id):
    """Star a paper (starred=1) or take the star off (starred=0); the entry comes back. A
    journal star is the paper's star (the reader's library): every issue listing the paper
    shows it."""
    reader = _reader()
    entry = _entry(entry_id, reader)
    entry.starred = request.form.get("starred", "1") == "1"
    with db.atomic():
        Star.set(reader, entry.article_id, entry.starred)
    return _entry_answer(entry, "star")


FEEDBACK_NOTES = {
    Feedback.MORE: "Thanks — later issues will have more like this.",
    Feedback.FEWER: "Thanks — later issues will have fewer like this.",
    0: "Taken back: later issues will not rank by this paper.",
}


@bp.post("/journal/entries/<int:entry_id>/feedback")
def feedback(entry_id):
    """ "More like this" (verdict=more), "Fewer like this" (fewer) or neither (none): later
    issues rank papers on the same subjects up or down; the entry comes back in place."""
    reader = _reader()
    entry = _entry(entry_id, reader)
    verdict = Feedback.VERDICTS.get(request.form.get("verdict", ""))
    if verdict is None:
        abort(400, description="Choose “More like this” or “Fewer like this”.")
    # Taking a verdict back is pressing its button again: focus stays on that button.
    pressed = verdict or entry.verdict
    with db.atomic():
        Feedback.set(reader, entry.article_id, verdict)
    entry.verdict = verdict
    focus = "fewer" if pressed == Feedback.FEWER else "more"
    return _entry_answer(entry, focus, note=FEEDBACK_NOTES[verdict])


# --- interests ---


def _picker(reader, **state):
    """What the interests picker shows; `state` carries what was typed, an error, a message."""
    context = {"kinds": Interest.KINDS, "kind": "mesh", "q": "", "suggestions": [],
               "error": None, "notice": None, "autofocus": False,
               "filters": list(clinical.FILTERS)}  # fmt: skip
    context.update(state)
    if "interests" not in context:
        context["interests"] = list(Interest.listed(reader))
    return context


@bp.get("/journal/interests")
def interests():
    """The interests picker: what the journal follows, and a search to add more."""
    reader = _reader()
    welcome = request.args.get("welcome") == "1"
    return page("journal/interests.html", "interests", **_picker(reader, welcome=welcome))


@bp.post("/journal/interests")
def add_interest():
    """Follow a term: a suggestion picked (pick=kind:name) or one typed (kind, q). The
    picker comes back with it in the list; a term it cannot take comes back with why (422)."""
    reader = _reader()
    if "pick" in request.form:
        kind, _, value = request.form["pick"].partition(":")
    else:
        kind, value = request.form.get("kind", ""), request.form.get("q", "")
    value = " ".join(value.split())
    current = list(Interest.listed(reader))
    error = _interest_error(kind, value, current)
    if error is None:
        value = Term.canonical(kind, value) or _mesh_spelling(kind, value) or value
        try:
            with db.atomic():
                added = Interest.create(user=reader, kind=kind, value=value, key=value.lower())
        except IntegrityError:  # the same term added from another tab a moment ago
            error = f"You already follow “{value}”."
    if error:
        state = {"interests": current, "kind": kind if kind in Interest.KINDS else "mesh",
                 "q": value, "error": error, "autofocus": True}  # fmt: skip
        return page("journal/interests.html", "interests", 422, **_picker(reader, **state))
    if wants_fragment():
        notice = f"Now following {added.kind_label.lower()} “{added.value}”."
        # The list is read again rather than extended: it says what the new heading includes.
        state = {"kind": kind if kind in Interest.KINDS else "mesh", "autofocus": True,
                 "notice": notice}  # fmt: skip
        return page("journal/interests.html", "interests", **_picker(reader, **state))
    return redirect(url_for("journal.interests", _anchor="interests"), 303)


def _mesh_spelling(kind, value):
    """A heading no paper carries yet, spelled as MeSH spells it (when the tree has it)."""
    return MeshDescriptor.canonical(value) if kind == "mesh" else None


def _interest_error(kind, value, current):
    """Why the reader cannot follow this, in words; None when they can."""
    if kind == Interest.FILTER and value not in clinical.FILTERS:
        return f"There is no clinical filter called “{value}”: pick one from the list."
    if kind not in Interest.KINDS and kind != Interest.FILTER:
        return "Choose what to follow: a MeSH heading, a keyword, a journal or a publication type."
    if not value:
        return f"Type the {Interest.KINDS[kind].lower()} to follow."
    if len(value) > Interest.MAX_LENGTH:
        return f"That is {len(value)} characters; a term has at most {Interest.MAX_LENGTH}."
    if any(i.kind == kind and i.key == value.lower() for i in current):
        return f"You already follow “{value}”."
    if len(current) >= Interest.MAX_PER_READER:
        return f"You follow {len(current)} terms, the most a journal can: remove one first."
    return None


@bp.post("/journal/interests/<int:interest_id>/delete")
def remove_interest(interest_id):
    """Stop following a term; the picker comes back without it."""
    reader = _reader()
    interest = Interest.for_reader(interest_id, reader)
    if interest is None:
        abort(404, description="You do not follow that.")
    with db.atomic():
        interest.delete_instance()
    if wants_fragment():
        state = {"autofocus": True, "kind": interest.kind,
                 "notice": f"No longer following “{interest.value}”."}  # fmt: skip
        return page("journal/interests.html", "interests", **_picker(reader, **state))
    return redirect(url_for("journal.interests", _anchor="interests"), 303)


def _search_terms():
    """(kind, q, suggestions) from the query string: at most 10 terms of the papers."""
    kind = request.args.get("kind", "mesh")
    kind = kind if kind in Interest.KINDS else "mesh"
    q = " ".join(request.args.get("q", "").split())[: Interest.MAX_LENGTH]
    if not q:
        return kind, q, []
    # The importer keeps the terms current: nothing to count here, whatever the library's size.
    return kind, q, list(_with_narrower(kind, Term.suggest(kind, q)))


def _with_narrower(kind, suggestions):
    """MeSH suggestions (an unexecuted query) that each say how many headings are narrower
    than them (`narrower`), in the same query: following one follows those too."""
    if kind != "mesh":
        return suggestions
    return suggestions.select_extend(MeshDescriptor.narrower_count(Term.key).alias("narrower"))


@bp.get("/journal/interests/suggest")
def suggest():
    """Autocomplete: up to 10 terms from the papers matching `q` (htmx gets the list alone;
    without JavaScript the picker page shows it, or the sample page for a visitor)."""
    kind, q, suggestions = _search_terms()
    context = {"kind": kind, "q": q, "suggestions": suggestions}
    if wants_fragment():
        return fragment("journal/_suggestions.html", **context)
    if not (current_user.is_authenticated and current_user.has_journal):
        return redirect(url_for("journal.sample", kind=kind, q=q))
    reader = current_user._get_current_object()
    return page("journal/interests.html", "interests", **_picker(reader, **context))


# --- settings and the feed ---


@bp.route("/journal/settings", methods=["GET", "POST"])
def settings():
    """How often the journal comes out, how many papers an issue holds at most, whether each
    issue is emailed, and the feed address."""
    reader = _reader()
    form = _settings_form(reader)
    if request.method == "GET":
        return _settings_page(form, feed_key=session.pop("new_feed_key", None))
    form = {"frequency": request.form.get("frequency", ""),
            "issue_size": request.form.get("issue_size", str(reader.issue_size)),
            "email_issues": request.form.get("email_issues") == "1"}  # fmt: skip
    if form["frequency"] not in User.FREQUENCIES:
        form["error"] = "Choose daily, weekly or monthly."
        return _settings_page(form, 422)
    sizes = [str(size) for size in User.ISSUE_SIZES]
    if form["issue_size"] not in sizes:
        form["size_error"] = f"Choose {', '.join(sizes[:-1])} or {sizes[-1]} papers."
        return _settings_page(form, 422)
    reader.issue_frequency, reader.email_issues = form["frequency"], form["email_issues"]
    reader.issue_size = int(form["issue_size"])
    with db.atomic():
        reader.save(only=[User.issue_frequency, User.email_issues, User.issue_size])
    if wants_fragment():
        return _settings_page(form, notice="Settings saved.")
    return redirect(url_for("journal.settings"), 303)


def _settings_form(reader):
    return {"frequency": reader.issue_frequency, "email_issues": reader.email_issues,
            "issue_size": str(reader.issue_size)}  # fmt: skip


def _settings_page(form, status_code=200, **context):
    # What the journal has learnt from the reader's feedback: one query.
    learnt = Preferences.for_reader(current_user._get_current_object())
    context.update(form=form, frequencies=User.FREQUENCIES, sizes=User.ISSUE_SIZES, learnt=learnt)
    return page("journal/settings.html", "settings", status_code, **context)


@bp.post("/journal/feedback/reset")
def reset_feedback():
    """Forget every "More like this" / "Fewer like this": later issues rank as if none had been
    given (issues already made stay as they are)."""
    reader = _reader()
    with db.atomic():
        forgotten = Feedback.reset(reader)
    notice = (
        f"Feedback reset: the journal has forgotten the {forgotten} paper"
        f"{'s' if forgotten != 1 else ''} you rated."
        if forgotten
        else "There was no feedback to forget."
    )
    if wants_fragment():
        form = {"frequency": reader.issue_frequency, "email_issues": reader.email_issues}
        return _settings_page(form, notice=notice, focus="learnt")
    flash(notice)
    return redirect(url_for("journal.settings", _anchor="learnt"), 303)


@bp.post("/journal/feed-key")
def reset_feed_key():
    """A new secret feed address; the old one stops working at once."""
    reader = _reader()
    had_one = bool(reader.feed_key_hash)
    key = reader.reset_feed_key()
    with db.atomic():
        reader.save(only=[User.feed_key_hash])
    # Only the key's hash is stored, so the address is shown this once (the page without
    # JavaScript gets it through the session, for the settings page it is sent to).
    if wants_fragment():
        form = _settings_form(reader)
        notice = "New feed address made: the old one no longer works." if had_one else None
        return _settings_page(form, notice=notice, focus="feed", feed_key=key)
    session["new_feed_key"] = key
    return redirect(url_for("journal.settings", _anchor="feed"), 303)


@bp.get("/journal.atom")
@bp.get("/journal/feed/<key>.atom")
def feed(key=None):
    """The reader's issues as an Atom feed; the secret key in the address (its path, or
    `?key=` as first made) stands for signing in (feed readers cannot)."""
    key = key or request.args.get("key", "")
    reader = User.by_feed_key(key)
    if reader is None:
        abort(404, description="There is no feed at this address. It may have been reset.")
    if reader.has_journal:
        issues = list(Issue.of(reader).limit(FEED_ISSUES))
        entries = list(IssueEntry.contents(issues)) if issues else []
    else:
        issues, entries = [], []
    by_issue = {key: list(group) for key, group in groupby(entries, lambda e: e.issue_id)}
    body = render_template("journal/feed.xml", reader=reader, feed_key=key, issues=issues,
                           by_issue=by_issue,
                           sections=journal.sections, updated=_updated(issues, reader))  # fmt: skip
    # A feed holds a reader's issues: no shared cache may keep it.
    return Response(body, mimetype="application/atom+xml",
                    headers={"Cache-Control": "private, no-store"})  # fmt: skip


def _updated(issues, reader):
    moment = issues[0].created_at if issues else reader.trial_ends_at or reader.created_at
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- delivery ---


def deliver(issue):
    """Email `issue` to its reader if they asked for issues by email and it has papers; a
    failure is logged and leaves it unsent, for the next `publish-issues` to try again."""
    reader = issue.user
    if not reader.email_issues or issue.emailed_at is not None:
        return False
    entries = list(IssueEntry.contents(issue))
    if not entries:
        return False
    body = render_template("journal/issue_email.txt", issue=issue, reader=reader,
                           sections=journal.sections(entries))  # fmt: skip
    try:
        mail.send(reader.email, f"The Medical Journal of You — {issue.label}", body)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("Could not email issue %s to %s: %s", issue.label, reader.email, error)
        return False
    issue.emailed_at = utcnow()
    with db.atomic():
        issue.save(only=[Issue.emailed_at])
        CorrectionAlert.update(emailed_at=issue.emailed_at).where(
            CorrectionAlert.issued_in == issue
        ).execute()
    return True


def publish_all(now=None):
    """Assemble every due issue and email the current ones not yet sent (the CLI's job).
    Returns counts: readers, issues, emailed."""
    counts = {"readers": 0, "issues": 0, "emailed": 0}
    # The readers are read whole first: a loop over an open SELECT would keep its read
    # snapshot across the commits below and could not write once others had.
    for reader in list(User.with_journal(now)):
        counts["readers"] += 1
        issue, created = journal.publish(reader, now)
        counts["issues"] += created
        if issue is not None and not journal.due(reader, issue, now):
            issue.user = reader
            counts["emailed"] += deliver(issue)
    return counts


# --- a sample for visitors ---


def _sample_interests(values):
    """Interests from "kind:value" strings (unknown kinds and repeats dropped)."""
    chosen, seen = [], set()
    for text in values:
        kind, _, value = text.partition(":")
        value = " ".join(value.split())[: Interest.MAX_LENGTH]
        if kind in Interest.KINDS and value and (kind, value.lower()) not in seen:
            seen.add((kind, value.lower()))
            chosen.append(Interest(kind=kind, value=value, key=value.lower()))
    return chosen[:SAMPLE_INTERESTS]


@bp.get("/journal/sample")
def sample():
    """ "What will the Medical Journal of You look like?": a visitor picks a few interests
    and sees an issue built from every paper here (nothing is stored)."""
    picked = request.args.get("pick")
    chosen = _sample_interests([*request.args.getlist("interest"), *([picked] if picked else [])])
    if picked:
        kind, q, suggestions = request.args.get("kind", "mesh"), "", []
    else:
        kind, q, suggestions = _search_terms()
    entries = journal.sample(chosen) if chosen else []
    context = {"chosen": chosen, "chosen_values": [f"{i.kind}:{i.value}" for i in chosen],
               "kinds": Interest.KINDS, "kind": kind, "q": q, "suggestions": suggestions,
               "entries": entries, "sections": journal.sections(entries)}  # fmt: skip
    return page("journal/sample.html", "sample", **context)
