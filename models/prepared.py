"""Queries built once per process. peewee turns a query into SQL text on every execution: for
the three queries of a paper page (the reader's session, the paper with its notices and
links, a page of notes) that was a quarter of the page's time, ~175 SQL nodes each, the same
text every time. A prepared query is built once per engine and shape with placeholders where
its values go, and then runs its SQL with new values through peewee's own row conversion
(models, with their joins), as the query itself would."""

from peewee import Value

from .base import db


class _Slot:
    """Where a named value goes in a prepared query's parameters."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


_BUILT = {}  # (engine class, key) -> (query, sql, parameters with _Slot placeholders)


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
        query = build(**placeholders)
        sql, params = query.sql()
        entry = _BUILT[(type(db.obj), key)] = (query, sql, params)
    query, sql, params = entry
    cursor = db.execute_sql(sql, [values[p.name] if isinstance(p, _Slot) else p for p in params])
    # peewee's own wrapper for this query (private but the one its execution uses): rows
    # become the same models, joined ones included, as iterating the query would make.
    return query._get_cursor_wrapper(cursor)


def first(key, build, **values):
    """The first row of a prepared query (`run`, of a query with LIMIT 1), or None. Every
    row is read: a statement left unfinished would hold its read snapshot open."""
    rows = list(run(key, build, **values))
    return rows[0] if rows else None
