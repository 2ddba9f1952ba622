"""Queries built once per process. peewee turns a query into SQL text on every execution: for
the three queries of a paper page (the reader's session, the paper with its notices and
links, a page of notes) that was a quarter of the page's time, ~175 SQL nodes each, the same
text every time. A prepared query is built once per engine and shape with placeholders where
its values go, and then runs its SQL with new values through peewee's own row conversion
(models, with their joins), as the query itself would."""

import hashlib
import marshal
import pickle

from peewee import ModelCursorWrapper, ModelObjectCursorWrapper, Value

from .base import db


class _Slot:
    """Where a named value goes in a prepared query's parameters."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class _Prepared:
    """One built query: its SQL and parameters (with _Slot placeholders), and what peewee's
    cursor wrapper works out from the query and the columns the SQL returns before it can
    convert a row — the same for every run, so worked out once (`wrapper_state`)."""

    __slots__ = ("query", "sql", "params", "wrapper_state")

    def __init__(self, query):
        self.query = query
        self.sql, self.params = query.sql()
        self.wrapper_state = None

    def wrap(self, cursor):
        """peewee's own wrapper for this query (private, but the one its execution uses):
        rows become the same models, joined ones included, as iterating the query would
        make. Its `initialize` (which column goes to which model, through which converter:
        a fifth of the page's queries' time) runs on the first run only."""
        wrapper = self.query._get_cursor_wrapper(cursor)
        if self.wrapper_state is None:
            before = set(vars(wrapper))
            wrapper.initialize()
            if isinstance(wrapper, (ModelCursorWrapper, ModelObjectCursorWrapper)):
                wrapper.converters = [_lazy(convert) for convert in wrapper.converters]
            self.wrapper_state = {k: v for k, v in vars(wrapper).items() if k not in before}
        else:
            vars(wrapper).update(self.wrapper_state)
        wrapper.initialized = True
        return wrapper


def _lazy(convert):
    """A field's converter, or its `lazy_value` where it has one (JSONField: the text is
    decoded when the model's attribute is first read). Only for rows that become models:
    their fields' accessors are what decode."""
    lazy = getattr(getattr(convert, "__self__", None), "lazy_value", None)
    return lazy or convert


_BUILT = {}  # (engine class, key) -> _Prepared


def run(key, build, **values):
    """Rows of the query `build(**placeholders)` returns, with `values` in the placeholders'
    places: peewee's cursor wrapper, iterated as the query would be. `key` names the shape:
    everything `build` does differently from call to call other than the values (whether a
    reader is signed in, say). Values go in as the database takes them (an id, not a model;
    a date through its field's `db_value`); a placeholder is compared as given, with no
    field conversion."""
    entry = _BUILT.get((type(db.obj), key))
    if entry is None:
        placeholders = {name: Value(_Slot(name), converter=False) for name in values}
        entry = _BUILT[(type(db.obj), key)] = _Prepared(build(**placeholders))
    params = [values[p.name] if isinstance(p, _Slot) else p for p in entry.params]
    return entry.wrap(db.execute_sql(entry.sql, params))


def first(key, build, **values):
    """The first row of a prepared query (`run`, of a query with LIMIT 1), or None. Every
    row is read: a statement left unfinished would hold its read snapshot open."""
    rows = list(run(key, build, **values))
    return rows[0] if rows else None


def fetch(key, build, **values):
    """All the rows of a prepared query (as `run`), as the database returned them: a
    `Fetched`, whose rows become models only when asked for."""
    wrapper = run(key, build, **values)
    return Fetched(wrapper, wrapper.cursor.fetchall())


class Fetched:
    """A query's rows, raw (tuples of what the database returned) until iterated: then the
    models peewee's wrapper makes of them, made once. A page whose HTML is kept rendered
    (views/fragments.py) keys it on `digest()`, the raw rows themselves, and on a hit never
    needs the models — making them was most of the query's cost."""

    __slots__ = ("raw", "_wrapper", "_models")

    def __init__(self, wrapper, raw):
        self.raw, self._wrapper, self._models = raw, wrapper, None

    def __len__(self):
        return len(self.raw)

    def __bool__(self):
        return bool(self.raw)

    def __iter__(self):
        return iter(self.models)

    @property
    def models(self):
        if self._models is None:
            self._models = [self._wrapper.process_row(row) for row in self.raw]
        return self._models

    def column(self, name):
        """Every row's value of the column `name` (the first so named), converted as its
        field converts it (a JSON column: its text, models.JSONText)."""
        index = self._wrapper.columns.index(name)
        convert = self._wrapper.converters[index]
        if convert is None:
            return [row[index] for row in self.raw]
        return [convert(row[index]) for row in self.raw]

    def digest(self):
        """A digest of every value of every row: the same rows give the same digest."""
        try:  # SQLite's rows: str, int, float, bytes and None, which marshal writes fastest
            data = marshal.dumps(self.raw)
        except ValueError:  # PostgreSQL's datetimes
            data = pickle.dumps(self.raw, 5)
        return hashlib.blake2b(data, digest_size=16).hexdigest()
