"""Pearl's model base: the database handle, the JSON column, timestamps and the text helpers
the tables share."""

import collections
import datetime
import html
import json
import re
import weakref

from peewee import SQL, DatabaseProxy, FieldAccessor, Model, TextField

db = DatabaseProxy()


class EveryPool:
    """Mixed into each engine's pooled database class: every pool this process opened is
    remembered, so close_every_pool can close them all (a pool dropped with connections
    open leaves them to the garbage collector: psycopg warns, and an SQLite file copied
    then misses what its open connections have not checkpointed)."""

    opened = weakref.WeakSet()

    def remember_pool(self):
        EveryPool.opened.add(self)

    @staticmethod
    def close_every_pool():
        for database in list(EveryPool.opened):
            database.close_all()


class Corner:
    """One engine-specific part of Pearl (bulk writes, the search index, the journal's
    candidate queries, queries inside JSON columns): it forwards to the implementation for
    the engine that open_database connected `db` to. Each engine's module registers its own."""

    def __init__(self, name):
        self.name, self.engines, self.current = name, {}, None

    def register(self, engine, implementation):
        self.engines[engine] = implementation
        if self.current is None:  # the first registered (SQLite's) until a database opens
            self.current = implementation

    def use(self, engine):
        self.current = self.engines.get(engine) or _Missing(self.name, engine)

    def __getattr__(self, name):
        return getattr(self.current, name)


class _Missing:
    """A corner an engine does not have yet: using it says so."""

    def __init__(self, name, engine):
        self.name, self.engine = name, engine

    def __getattr__(self, attribute):
        raise NotImplementedError(f"{self.name} are not built for {self.engine} yet")


bulk = Corner("bulk writes")
search_index = Corner("the full-text search index")
issue_candidates = Corner("the journal's candidate queries")
json_corner = Corner("queries inside JSON columns")
CORNERS = (bulk, search_index, issue_candidates, json_corner)


TAG = re.compile(r"<[^>]+>")


# MathML carries its plain text in `alttext` (pubmed/xml.py writes it; the sanitizer keeps it,
# quoted either way). Its elements' text run together would read "V . O 2 m a x".
MATH = re.compile(r"""<math\b[^>]*?\balttext=(?:"([^"]*)"|'([^']*)')[^>]*>.*?</math>""", re.S)


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def display_date(value):
    """ "2010-02-06" (or a stored timestamp) → "6 Feb 2010"; "1995-09" → "Sep 1995"; "1995"
    as it is."""
    if not value:
        return None
    parts = str(value)[:10].split("-")
    if len(parts) == 1:
        return parts[0]
    month = MONTHS[int(parts[1]) - 1]
    return f"{int(parts[2])} {month} {parts[0]}" if len(parts) == 3 else f"{month} {parts[0]}"


def html_to_text(fragment):
    """The text of an HTML fragment (titles and abstracts keep PubMed's inline markup, and
    MathML, which becomes its `alttext`: "V̇O2max", "3He")."""
    return html.unescape(TAG.sub("", html_without_math(fragment))) if fragment else ""


def html_without_math(fragment):
    """The fragment with each <math> element replaced by its `alttext` (still HTML-escaped):
    for writers that understand the inline tags but not MathML (BibTeX's LaTeX)."""
    if not fragment or "<math" not in fragment:
        return fragment or ""
    return MATH.sub(lambda m: m.group(1) or m.group(2) or "", fragment)


def _spaced(name):
    """ "ExpressionOfConcernIn" → "Expression of concern in": a type PubMed adds later."""
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)
    return " ".join(words).capitalize() if words else name


def utcnow():
    """Naive UTC now, the form every timestamp column stores."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _json_encode():
    """JSONEncoder(ensure_ascii=False).encode, the same text, a fifth faster on lists and
    dicts: JSONEncoder.encode builds its C encoder anew on every call, and an import calls it
    five times a record. (No check for circular lists: a row's values are plain data.)"""
    encoder = json.JSONEncoder(ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another Python): the plain method
        return encoder.encode
    one_shot = make(
        None, encoder.default, json.encoder.encode_basestring, None,
        encoder.key_separator, encoder.item_separator, False, False, True,
    )  # fmt: skip

    def encode(value):
        if isinstance(value, (list, dict)):
            return "".join(one_shot(value, 0))
        return encoder.encode(value)

    return encode


class JSONText(str):
    """A JSON column's text as the database returned it, not yet decoded: what a prepared
    query (models/prepared.py) leaves in a model, decoded when first read. A paper has a
    dozen JSON columns, and its page, kept rendered (views/fragments.py), mostly reads none."""


class _JSONAccessor(FieldAccessor):
    """Reads a JSON column, decoding it the first time if it is still JSONText."""

    def __get__(self, instance, instance_type=None):
        if instance is None:
            return self.field
        value = instance.__data__.get(self.name)
        if value.__class__ is JSONText:
            value = instance.__data__[self.name] = json.loads(value)
        return value


class JSONField(TextField):
    """A list or dict stored as JSON text: portable across SQLite and PostgreSQL."""

    accessor_class = _JSONAccessor
    encode = staticmethod(_json_encode())

    def db_value(self, value):
        # Already text: an import encodes its rows itself (see Article.upsert_many), and a
        # model saved before it read a column holds it as JSONText, written back as it came.
        return value if value is None or isinstance(value, str) else self.encode(value)

    def python_value(self, value):
        return None if value is None else json.loads(value)

    def lazy_value(self, value):
        """python_value, left for the accessor to do on first read."""
        return None if value is None else JSONText(value)


# SQL defaults of JSON columns added to existing tables (see Article).
EMPTY_LIST = [SQL("DEFAULT '[]'")]


EMPTY_DICT = [SQL("DEFAULT '{}'")]


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


# What a table keeps about a reader and who can see it, in plain words: every model that names
# a reader declares one (`PRIVACY = Privacy(…)`); the privacy page is made from them, and a
# test fails when a model with a foreign key to User has none (privacy.py).
Privacy = collections.namedtuple("Privacy", "name what who")


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(text):
    """Lowercase as SQLite's lower() does (ASCII letters only). On ASCII text (most keys)
    that is str.lower(), some ten times faster than the table."""
    return text.lower() if text.isascii() else text.translate(ASCII_LOWER)
