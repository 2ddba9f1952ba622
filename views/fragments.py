"""Rendered HTML kept across requests for the parts of a page that depend only on what they
show: a paper's record sections, its citation and each note, and the forms around them keyed
on the reader (their form token is in the key). Templates mark them with Flask-Caching's
`{% cache None, "name", fragment_key(…) %}…{% endcache %}` tag.

The key names everything the fragment reads, so a kept fragment is never stale and nothing
has to be forgotten by hand: a re-imported record has a new content hash, an edited note a
new digest of its HTML, "3 minutes ago" turning into "4 minutes ago" is a new key. Keys
nobody asks for again age out (CACHE_DEFAULT_TIMEOUT), and the cache holds at most
CACHE_THRESHOLD fragments. Each worker process keeps its own (`KeptHTML`, in memory): a
shared cache (Redis) would cost a round trip per fragment, more than rendering most of them.
A restart — a deploy with new templates — starts empty.

The paper page as a reader opens it is kept whole too (`kept_page`, in a store of its own,
`pages`: at most KEPT_PAGES), keyed on every value it is rendered from: its context and the
context processors', the reader's row, their form token, the page's address. The fragments
above are what a first view, or another reader's, is made from. A template that starts
reading the request, session or `g` beyond the address must add what it reads to
`_page_key`: those are the only inputs the key does not find by itself.

Rendering was half of a paper page's time: this is what brings the page near the cost of
serving anything at all (benchmarks/bench_serve.py)."""

import datetime
import functools
import hashlib
import secrets
import types

from flask import current_app, render_template, request, session
from flask_caching import Cache
from flask_caching.backends import SimpleCache
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from peewee import Model

from models import utcnow
from models.prepared import Fetched
from views.render import time_ago

cache = Cache()
# Whole pages (kept_page) apart: a reader opening many papers once would otherwise push out
# the fragments every reader shares.
pages = Cache(with_jinja2_ext=False)


class _AsIs:
    """cachelib's serializer interface, keeping values as they are."""

    @staticmethod
    def dumps(value):
        return value

    @staticmethod
    def loads(value):
        return value


class KeptHTML(SimpleCache):
    """Flask-Caching's in-memory cache, holding the rendered strings as they are: they never
    change once made, and pickling each one in and out (cachelib's way, for values that might)
    was half of a lookup's cost."""

    serializer = _AsIs()


def init_app(app):
    app.config.setdefault("CACHE_TYPE", "views.fragments.KeptHTML")
    # Fragments of the demo papers: 2.3 KB on average, 48 KB the largest (a paper's sections
    # with a long list of comments): a few MB a worker, at most ~100 MB.
    app.config.setdefault("CACHE_THRESHOLD", 2000)
    app.config.setdefault("CACHE_DEFAULT_TIMEOUT", 600)
    cache.init_app(app)
    # A paper page is 25 KB or so: 500 of them, about 13 MB a worker.
    app.config.setdefault("KEPT_PAGES", 500)
    pages.init_app(app, config={**app.config, "CACHE_THRESHOLD": app.config["KEPT_PAGES"]})
    app.add_template_global(fragment_key)
    # Flask-WTF's context processor hands templates its own csrf_token: this one, run after
    # it, takes its place. A page asks for its token half a dozen times (each form, the
    # keys of the fragments holding one): worked out once per render.
    app.context_processor(lambda: {"csrf_token": _once(kept_csrf_token)})
    app.add_template_filter(note_key)
    app.add_template_filter(notes_key)


def fragment_key(*parts):
    """One string for the `{% cache %}` tag (which joins its keys with "_", so two keys
    could run together): the parts' repr, with the script root that starts every URL the
    fragment holds (Pearl mounted under a prefix behind a proxy)."""
    return repr((request.script_root, *parts))


def note_key(note):
    """What one note's HTML is made from: the note, whether the reader wrote it (their own
    notes have Edit and Delete) and how long ago it was written, as the page says it."""
    return _note_key(note, _reader_id())


def notes_key(notes):
    """What a page of notes (Note.page_on's raw rows) is made from, for the list kept whole:
    the rows, who reads them (their own notes have Edit and Delete) and how long ago each
    was written. Made from the rows as the database returned them: no note model needed."""
    now = utcnow()
    ago = [time_ago(moment, now) for moment in notes.column("created_at")]
    return notes.digest(), _reader_id(), ago


def _note_key(note, reader_id):
    return note.fragment_key, note.author_id == reader_id, time_ago(note.created_at)


def _reader_id():
    reader = current_user._get_current_object()
    return reader.id if reader.is_authenticated else None


def kept_csrf_token():
    """Templates' csrf_token(): the reader's token signed once, not on every request, so a
    fragment holding it (a form) can be kept with the token in its key. Flask-WTF signs the
    token in the session with the time; with no time limit (WTF_CSRF_TIME_LIMIT None, as
    Pearl runs) any signature of it is as good as a new one. With a limit, signed each time."""
    raw = session.get(current_app.config["WTF_CSRF_FIELD_NAME"])
    if raw is None or current_app.config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    return _signed(current_app.secret_key, raw)


def _once(make):
    """A function giving `make()`, called the first time only."""
    made = []

    def once():
        if not made:
            made.append(make())
        return made[0]

    return once


@functools.lru_cache(maxsize=4096)
def _signed(secret_key, raw):
    # generate_csrf signs the token already in the session (`raw`): the same token, signed.
    return generate_csrf()


# Template variables every page gets that name no state of their own, or whose state the key
# holds otherwise (the reader, the form token, the address).
_NOT_KEYED = {"g", "request", "session", "config", "htmx", "csrf_token", "current_user"}


_PLAIN = (str, int, float, bytes, datetime.date, datetime.time, datetime.timedelta)


class _Unkeyable(Exception):
    """A value kept_page cannot say it has seen before: the page is rendered as usual."""


def kept_page(template, fresh=(), **context):
    """render_template(template, **context), kept whole for the reader while nothing it
    shows changes. The key is every value of the context and of the context processors
    (models by what they show, raw notes by their rows), who reads it and their form token,
    and the page's address and script root: a value it cannot key (a new kind of object)
    means the page is rendered as usual, never shown out of date. Not kept: pages showing
    a flashed message (shown once), or signed with expiring form tokens. Each template
    variable named in `fresh` (a name: a function making its value) is different in every
    response, whatever was kept: the note form's one-time key."""
    key = _page_key(template, context)
    if key is None:
        return render_template(template, **context)
    slots = {name: f"{name}-{_SLOT}" for name in fresh}
    html = pages.get(key)
    if html is None:
        html = render_template(template, **context, **slots)
        pages.set(key, html)
    for name, make in dict(fresh).items():
        html = html.replace(slots[name], make())
    return html


# Where a `fresh` value goes in a kept page: random in each process, so no text a page shows
# can be it.
_SLOT = secrets.token_hex(16)


def _page_key(template, context):
    config = current_app.config
    if session.get("_flashes") or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return None
    shared = {}
    current_app.update_template_context(shared)
    reader = current_user._get_current_object()
    try:
        values = [(name, _keyed(value)) for name, value in sorted({**shared, **context}.items())
                  if name not in _NOT_KEYED]  # fmt: skip
        reader_key = _keyed(reader) if reader.is_authenticated else None
    except _Unkeyable:
        return None
    parts = (template, request.script_root, request.full_path, reader_key, kept_csrf_token())
    # A digest: the key stays small, and holds nothing of the reader's in the clear.
    return hashlib.blake2b(repr((parts, values)).encode(), digest_size=16).hexdigest()


def _keyed(value):
    """`value` as a page's key holds it: plain data as it is, a helper function by its
    name, a model by its `fragment_key` (what its kept sections are made from) or else all
    its columns, with the values its query added, and a page of raw notes by notes_key."""
    if value is None or isinstance(value, _PLAIN):
        return value
    if isinstance(value, types.FunctionType) and not value.__closure__:
        return value.__module__, value.__qualname__  # code, not state (a template helper)
    if isinstance(value, (tuple, list)):
        return tuple(_keyed(item) for item in value)
    if isinstance(value, dict):
        return tuple((name, _keyed(item)) for name, item in value.items())
    if isinstance(value, Model):
        shown = getattr(value, "fragment_key", None) or tuple(value.__data__.values())
        added = sorted((k, v) for k, v in vars(value).items() if not k.startswith("_"))
        return type(value).__name__, _keyed(shown), _keyed(added)
    if isinstance(value, Fetched):
        return notes_key(value)
    raise _Unkeyable(type(value).__name__)
