"""Rendered HTML kept across requests (views/fragments.py): a page made from kept fragments is
the page rendered afresh, byte for byte, whoever reads it and whatever changed since — a note
edited in the same instant, time passing, an author's new name, a retraction, a re-imported
record, a linked paper arriving, a mount prefix — and a page seen twice renders nothing anew."""

import re
import time

import flask
import pytest

import importer
import markup
import models
from app import create_app
from tests.conftest import AuthActions, csrf_token, soup
from tests.test_retractions import retract_in_csv, write_variant

PMID = 24997269  # the seed paper
HX = {"HX-Request": "true"}
# What differs between two renders of one page by design: the CSRF token (signed with the
# time) and the note form's one-time key.
PER_RENDER = re.compile(r'(name="csrf-token" content=|"X-CSRFToken": |name="csrf_token" value=|'
                        r'name="note_key" value=)"[^"]*"')  # fmt: skip


def comparable(html):
    return PER_RENDER.sub(r'\1"…"', html)


@pytest.fixture
def fresh(app):
    """The same Pearl on the same database, keeping nothing rendered (Flask-Caching's
    NullCache): what every page must equal."""
    return create_app({**app.config, "CACHE_TYPE": "NullCache"})


class Readers:
    """One browser per app per reader, signed in the same way on both."""

    def __init__(self, app, fresh):
        self.app, self.fresh, self.clients = app, fresh, {}

    def pair(self, email=None):
        if email not in self.clients:
            kept, afresh = self.app.test_client(), self.fresh.test_client()
            if email is not None:
                for which, client in ((self.app, kept), (self.fresh, afresh)):
                    AuthActions(which, client).login(email)
            self.clients[email] = (kept, afresh)
        return self.clients[email]

    def assert_same(self, path, email=None, **request):
        """`path` as the reader `email` (None: signed out) sees it, from kept fragments and
        afresh; returns the page."""
        kept, afresh = self.pair(email)
        page = kept.get(path, **request).get_data(as_text=True)
        assert comparable(page) == comparable(afresh.get(path, **request).get_data(as_text=True))
        return page


@pytest.fixture
def readers(app, fresh):
    auth = AuthActions(app, app.test_client())
    author = auth.create("author@example.org", "Dr Author")
    auth.create("colleague@example.org", "Dr Colleague")
    with app.app_context():
        for n in range(12):  # two pages of notes
            note = models.Note.create(article=PMID, author=author, source=f"Pearl {n}: *K⁺*.",
                                      html="", visibility=("shared", "private")[n % 2])  # fmt: skip
            note.html = markup.render(note.source, prefix=f"n{note.id}")
            note.save()
    return Readers(app, fresh)


EVERYONE = [None, "author@example.org", "colleague@example.org"]


@pytest.mark.clock("2026-11-26T10:00Z")
@pytest.mark.parametrize("email", EVERYONE, ids=["signed-out", "author", "colleague"])
def test_every_reader_sees_the_page_rendered_afresh(readers, email):
    for _ in range(2):  # the second time from what the first kept
        page = readers.assert_same(f"/articles/{PMID}", email)
        readers.assert_same(f"/articles/{PMID}?page=2", email)
        readers.assert_same(f"/articles/{PMID}/notes", email, headers={"HX-Request": "true"})
        for style in ("apa", "vancouver", "no-such-style"):
            readers.assert_same(f"/articles/{PMID}/cite?style={style}", email)
            readers.assert_same(f"/articles/{PMID}/cite?style={style}", email, headers=HX)
    notes = soup_of(page).select("article.note")
    assert len(notes) == (10 if email == "author@example.org" else 6)
    edits = soup_of(page).select(".note-actions")
    assert len(edits) == (10 if email == "author@example.org" else 0)


def soup_of(html):
    class Page:
        def get_data(self, as_text):
            return html

    return soup(Page())


@pytest.mark.clock("2026-11-26T10:00Z")
def test_an_edit_in_the_same_instant_shows_at_once(app, readers):
    kept, _ = readers.pair("author@example.org")
    readers.assert_same(f"/articles/{PMID}", "author@example.org")
    with app.app_context():
        shared = models.Note.visibility == "shared"
        note = models.Note.select().where(shared).order_by(models.Note.id.desc()).get()
    token = csrf_token(kept, f"/notes/{note.id}/edit")
    form = {"csrf_token": token, "body": "Edited *now*.", "visibility": note.visibility}
    answer = kept.post(f"/notes/{note.id}", data=form, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "Edited <em>now</em>." in answer.get_data(as_text=True)
    with app.app_context():
        edited = models.Note.get_by_id(note.id)
        assert edited.updated_at == note.updated_at  # the clock stands still
    for email in EVERYONE:
        page = readers.assert_same(f"/articles/{PMID}", email)
        assert "Edited <em>now</em>." in page


@pytest.mark.clock("2026-11-26T10:00Z")
def test_time_passing_changes_how_long_ago(clock, readers):
    page = readers.assert_same(f"/articles/{PMID}", "colleague@example.org")
    assert "just now" in page and "minutes ago" not in page
    clock.shift(300)  # within the time a kept fragment lives
    page = readers.assert_same(f"/articles/{PMID}", "colleague@example.org")
    assert "5 minutes ago" in page and "just now" not in page


@pytest.mark.clock("2026-11-26T10:00Z")
def test_an_authors_new_name_shows_on_their_notes(app, readers):
    readers.assert_same(f"/articles/{PMID}", "colleague@example.org")
    with app.app_context():
        models.User.update(display_name="Dr Renamed").where(
            models.User.email == "author@example.org"
        ).execute()
    page = readers.assert_same(f"/articles/{PMID}", "colleague@example.org")
    assert "Dr Renamed" in page and "Dr Author" not in page


@pytest.mark.clock("2009-06-01T10:00Z")  # the notes are written before the 2010 retraction
def test_a_retraction_shows_near_the_title_and_on_older_notes(app, readers, tmp_path):
    readers.assert_same(f"/articles/{PMID}", "author@example.org")
    result = app.test_cli_runner().invoke(
        args=["import-retractions", str(retract_in_csv(tmp_path, PMID))]
    )
    assert result.exit_code == 0, result.output
    page = readers.assert_same(f"/articles/{PMID}", "author@example.org")
    assert "note-paper-retraction" in page and "paper-alert-retraction" in page


def test_a_reimported_record_shows_what_it_says_now(app, readers, tmp_path):
    before = readers.assert_same(f"/articles/{PMID}")
    renumbered = ('<PMID Version="1">35649368</PMID>', f'<PMID Version="1">{PMID}</PMID>')
    with app.app_context():
        importer.import_file(write_variant(tmp_path, "metapub_35649368.xml", renumbered))
    after = readers.assert_same(f"/articles/{PMID}")
    title = soup_of(after).select_one("h1.paper-title").text
    assert title != soup_of(before).select_one("h1.paper-title").text


def test_a_linked_paper_arriving_is_linked_here(empty_app, tmp_path):
    fresh = create_app({**empty_app.config, "CACHE_TYPE": "NullCache"})
    readers = Readers(empty_app, fresh)
    with empty_app.app_context():
        importer.import_file(write_variant(tmp_path, "metapub_38147649.xml"))
    before = readers.assert_same("/articles/38147649")
    assert "in this Pearl" not in before
    renumbered = ('<PMID Version="1">38833988</PMID>', '<PMID Version="1">39705317</PMID>')
    with empty_app.app_context():
        importer.import_file(write_variant(tmp_path, "metapub_38833988.xml", renumbered))
    after = readers.assert_same("/articles/38147649")
    assert 'href="/articles/39705317"' in after and "in this Pearl" in after


def test_under_a_mount_prefix_every_link_has_it(readers):
    readers.assert_same(f"/articles/{PMID}", "author@example.org")
    page = readers.assert_same(f"/articles/{PMID}", "author@example.org",
                               environ_overrides={"SCRIPT_NAME": "/pearl"})  # fmt: skip
    hrefs = [a["href"] for a in soup_of(page).select("article.note a, .paper-details a")]
    assert hrefs and all(href.startswith("/pearl/") for href in hrefs), hrefs


def test_a_page_seen_again_renders_nothing_anew(app, readers):
    from views import fragments  # noqa: PLC0415 - the app's own caches
    from views.fragments import cache  # noqa: PLC0415

    kept, _ = readers.pair("author@example.org")
    first = kept.get(f"/articles/{PMID}").get_data(as_text=True)
    with app.app_context():
        held = set(cache.cache._cache)
    kinds = {re.search(r"_template_fragment_cache_([a-z-]+)_", key)[1] for key in held}
    assert {"paper-record", "paper-terms", "notes-list", "note"} <= kinds, kinds
    with app.app_context():
        assert len(fragments.pages.cache._cache) == 1  # and the page, whole
    rendered = []
    with flask.template_rendered.connected_to(
        lambda *_, template, **__: rendered.append(template), app
    ):
        again = kept.get(f"/articles/{PMID}").get_data(as_text=True)
    assert rendered == [] and comparable(again) == comparable(first)
    with app.app_context():
        assert set(cache.cache._cache) == held
    # Each response has a note form key of its own, kept page or not.
    keys = [re.search(r'name="note_key" value="([^"]+)"', page)[1] for page in (first, again)]
    assert keys[0] != keys[1] and all(len(key) >= 16 for key in keys)


@pytest.mark.clock("2026-11-26T10:00Z")
def test_the_forms_around_the_kept_parts_follow_the_reader(readers):
    author = "author@example.org"
    kept, afresh = readers.pair(author)
    before = readers.assert_same(f"/articles/{PMID}", author)
    assert 'aria-pressed="false"' in before
    for client in (kept, afresh):  # star the paper in both, through the real form
        token = csrf_token(client, f"/articles/{PMID}")
        client.post(f"/articles/{PMID}/star", data={"csrf_token": token, "starred": "1"})
    after = readers.assert_same(f"/articles/{PMID}", author)
    assert 'aria-pressed="true"' in after
    readers.assert_same(f"/articles/{PMID}?help=1", author)
    readers.assert_same(f"/articles/{PMID}?help=1", None)
    refused = {"body": "x" * 301, "visibility": "shared"}
    pages = []
    for client in (kept, afresh):  # a refused note comes back with its text, never kept
        token = csrf_token(client, f"/articles/{PMID}")
        answer = client.post(f"/articles/{PMID}/notes", data={"csrf_token": token, **refused})
        pages.append(comparable(answer.get_data(as_text=True)))
    assert pages[0] == pages[1] and "x" * 301 in pages[0]


def test_the_form_token_is_signed_once_unless_tokens_expire(app, reader):
    client = app.test_client()
    AuthActions(app, client).login()
    first = csrf_token(client, f"/articles/{PMID}")
    assert csrf_token(client, f"/articles/{PMID}") == first
    expiring = create_app({**app.config, "WTF_CSRF_TIME_LIMIT": 3600})
    other = expiring.test_client()
    AuthActions(expiring, other).login()
    tokens = set()
    for _ in range(2):
        tokens.add(csrf_token(other, f"/articles/{PMID}"))
        time.sleep(1.1)  # itsdangerous signs with the time in seconds
    assert len(tokens) == 2


@pytest.mark.clock("2026-11-26T10:00Z")
def test_a_note_form_from_a_kept_page_saves_once(app, readers):
    author = "author@example.org"
    kept, _ = readers.pair(author)
    kept.get(f"/articles/{PMID}")
    page = kept.get(f"/articles/{PMID}").get_data(as_text=True)  # the kept page
    key = re.search(r'name="note_key" value="([^"]+)"', page)[1]
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)[1]
    form = {"csrf_token": token, "note_key": key, "body": "Kept *once*.", "visibility": "shared"}
    for _ in range(2):  # the same form posted again: a retry
        assert kept.post(f"/articles/{PMID}/notes", data=form, headers=HX).status_code == 200
    with app.app_context():
        assert models.Note.select().where(models.Note.source == form["body"]).count() == 1
    page = readers.assert_same(f"/articles/{PMID}", author)
    assert "Kept <em>once</em>." in page


@pytest.mark.clock("2026-11-26T10:00Z")
def test_a_message_shown_once_is_never_kept(readers):
    author = "author@example.org"
    kept, afresh = readers.pair(author)
    readers.assert_same(f"/articles/{PMID}", author)  # kept whole
    for client in (kept, afresh):  # shortcuts off, through the form that works without JS
        token = csrf_token(client, f"/articles/{PMID}")
        form = {"csrf_token": token, "enabled": "0", "next": f"/articles/{PMID}"}
        assert client.post("/shortcuts", data=form).status_code == 303
    page = readers.assert_same(f"/articles/{PMID}", author)
    assert "Single-key shortcuts are off." in page and 'data-shortcuts="off"' in page
    page = readers.assert_same(f"/articles/{PMID}", author)
    assert "Single-key shortcuts are off." not in page and 'data-shortcuts="off"' in page


def test_a_page_it_cannot_key_is_rendered_as_usual(app):
    from views import fragments  # noqa: PLC0415 - the app's own cache

    def pages():  # whole pages kept: not fragments
        return list(fragments.pages.cache._cache)

    with app.test_request_context("/shortcuts"):
        plain = fragments.kept_page("shortcuts/show.html", next="/", thing=object())
        assert pages() == []
        kept = fragments.kept_page("shortcuts/show.html", next="/", thing=("a", 1))
        assert len(pages()) == 1 and comparable(plain) == comparable(kept)
        assert fragments.kept_page("shortcuts/show.html", next="/", thing=("a", 1)) == kept
        assert len(pages()) == 1
        fragments.kept_page("shortcuts/show.html", next="/", thing=("a", 2))
        assert len(pages()) == 2  # another value, another page
