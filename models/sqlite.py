"""SQLite's engine corner: the connection as Pearl needs it, bulk writes, the FTS5 index, the
journal's candidate queries and the queries inside JSON columns."""

import functools
import json
import os
import shutil
import sqlite3
import threading
import urllib.parse
import weakref

from peewee import SQL, NodeList
from playhouse.pool import PooledSqliteDatabase
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from .base import EveryPool, bulk, db, issue_candidates, json_corner, search_index

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # Import and the web server may write at once; wait rather than fail with "locked".
    "busy_timeout": 5000,
    # FULL: a note the reader saw saved survives a power cut (in WAL mode NORMAL may roll the
    # last commits back). A bulk import, which can be run again, relaxes its own connection
    # (models.relax_durability).
    "synchronous": "full",
}


class ArticleSearch(FTS5Model):
    """Full-text index over ArticleText (title, abstract, MeSH and keywords); rowid is the
    PMID. External content: FTS5 does not follow article_text by itself, search_index does."""

    rowid = RowIDField()
    title = SearchField()
    abstract = SearchField()
    mesh = SearchField()
    keywords = SearchField()

    class Meta:
        database = db
        table_name = "article_search"
        options = {
            "content": "article_text",
            "content_rowid": "pmid",
            "tokenize": "porter unicode61 remove_diacritics 2",
        }


class PearlSqliteDatabase(EveryPool, PooledSqliteDatabase):
    """SQLite as Pearl needs it with several processes writing at once (an import, the web
    server, `publish-issues` from cron).

    Every transaction begins IMMEDIATE, taking the write lock up front and waiting for it
    (busy_timeout): a deferred transaction that reads and then writes fails at once with
    "database is locked" when another connection wrote in between, whatever the timeout.

    Connections are pooled (peewee's pool): a request takes one and gives it back. A new
    SQLite connection reads and parses the whole schema at its first statement and prepares
    every statement afresh, which on the paper page cost ten times its three queries. A
    connection that is not what a new one would be (read-only on a full disk, or relaxed
    for an import) is closed instead of going back.
    """

    def __init__(self, database, **options):
        # No cap: a connection per thread at most is open at once, and a file has no
        # server-side limit to respect (a threaded development server may run dozens).
        options.setdefault("max_connections", None)
        options.setdefault("stale_timeout", 300)  # seconds a connection is kept, at most
        # A pooled connection serves one thread at a time, but not always the thread that
        # opened it.
        options.setdefault("check_same_thread", False)
        super().__init__(database, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", **options)
        self._single_use = set()  # keys of connections to close rather than pool
        self.remember_pool()
        # A connection must never cross a fork (SQLite's rule): a child forgets the pool it
        # inherited (gunicorn --preload, multiprocessing's fork) and opens its own.
        forget = weakref.WeakMethod(self._forget_inherited)
        os.register_at_fork(after_in_child=lambda: forget() and forget()())

    def _forget_inherited(self):
        self._connections, self._in_use, self._single_use = [], {}, set()
        self._pool_lock = threading.RLock()  # another thread may have held it at the fork
        self._pool_available = threading.Condition(self._pool_lock)
        self._state.reset()

    def single_use(self):
        """This thread's connection is closed, not pooled, when it is given back."""
        self._single_use.add(self.conn_key(self.connection()))

    def _close(self, conn, close_conn=False):
        key = self.conn_key(conn)
        if key in self._single_use:
            self._single_use.discard(key)
            close_conn = True
        super()._close(conn, close_conn)

    def _connect(self):
        try:
            return super()._connect()
        except sqlite3.OperationalError:
            # On a full disk a connection that finds no WAL index (-shm) open cannot make one:
            # every page would fail. Read without one (SQLite keeps the index in memory); any
            # write is then refused, and database_problem says the disk is full. Once space
            # is back a new connection writes again: this one is never pooled.
            if not disk_is_full(self.database):
                raise
            path = urllib.parse.quote(os.path.abspath(self.database))
            connection = sqlite3.connect(f"file:{path}?mode=ro&readonly_shm=1", uri=True,
                                         timeout=self._timeout, isolation_level=None,
                                         **self.connect_params)  # fmt: skip
            try:
                self._add_conn_hooks(connection)
            except Exception:
                connection.close()
                raise
            self._single_use.add(self.conn_key(connection))
            return connection

    def rollback(self):
        # SQLite rolls a transaction back by itself on some errors (a full disk above all);
        # a second ROLLBACK would then fail with "no transaction is active" and bury the cause.
        if self.is_closed() or self.connection().in_transaction:
            super().rollback()


def disk_is_full(path, room=256 * 1024):
    """Whether the disk holding the SQLite file at `path` has less than `room` bytes free."""
    if not path or path == ":memory:":
        return False
    try:
        return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free < room
    except OSError:  # its folder is missing: some other problem
        return False


class _SQLiteBulk:
    """Many rows in one statement: INSERT … VALUES (…), (…), … with every value a parameter.
    One statement means one step, run with the GIL released, so an import's writer thread
    overlaps the reader; executemany takes the GIL back after every row and then waits out
    the reader's switch interval, row after row. (PostgreSQL takes the same statement.)

    Statements come in few sizes: 500 rows (an import's batch), then powers of two for the
    rest (537 = 500 + 32 + 4 + 1). A statement for every row count a batch happens to have
    would fill the SQL cache here and SQLite's statement cache, each holding large prepared
    statements: memory would grow with the import."""

    SIZES = (500, 256, 128, 64, 32, 16, 8, 4, 2, 1)
    IGNORE = ("INSERT OR IGNORE", "")  # an INSERT … SELECT skipping rows already there

    @staticmethod
    @functools.cache
    def _sql(table, columns, rows, conflict, keep, verb="INSERT"):
        one_row = "(" + ", ".join("?" * len(columns)) + ")"
        values = ", ".join([one_row] * rows)
        sql = f'{verb} INTO "{table}" ({", ".join(columns)}) VALUES {values}'
        if conflict:
            updates = ", ".join(
                f"{c} = excluded.{c}" for c in columns if c != conflict and c not in keep
            )
            sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        return sql

    def _pieces(self, rows):
        """`rows` cut into slices of the sizes in SIZES, largest first."""
        start = 0
        for size in self.SIZES:
            while len(rows) - start >= size:
                yield rows[start : start + size]
                start += size

    def upsert(self, model, rows, conflict, keep=()):
        columns = tuple(model.columns())
        for piece in self._pieces(rows):
            sql = _SQLiteBulk._sql(model._meta.table_name, columns, len(piece), conflict,
                                   tuple(keep))  # fmt: skip
            db.execute_sql(sql, [row[column] for row in piece for column in columns])

    def replace(self, table, columns, rows):
        """INSERT OR REPLACE `rows` (sequences in `columns` order) into `table`."""
        self._insert(table, columns, rows, "INSERT OR REPLACE")

    def insert_or_ignore(self, table, columns, rows):
        """INSERT OR IGNORE `rows` (sequences in `columns` order) into `table`."""
        self._insert(table, columns, rows, "INSERT OR IGNORE")

    def _insert(self, table, columns, rows, verb):
        for piece in self._pieces(rows):
            sql = _SQLiteBulk._sql(table, tuple(columns), len(piece), None, (), verb)
            db.execute_sql(sql, [value for row in piece for value in row])

    @staticmethod
    @functools.cache
    def _count_sql(table, columns, conflict, rows, also, returning):
        one_row = "(" + ", ".join("?" * len(columns)) + ")"
        names = ", ".join(f'"{c}"' for c in columns)
        keys = ", ".join(f'"{c}"' for c in conflict)
        sql = (
            f'INSERT INTO "{table}" ({names}) VALUES {", ".join([one_row] * rows)} '
            f'ON CONFLICT ({keys}) DO UPDATE SET "count" = "{table}"."count" + excluded."count"'
            f"{also}"
        )
        if returning:
            sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
        return sql

    def add_counts(self, table, columns, conflict, rows, also="", returning=()):
        """INSERT `rows` (sequences in `columns` order, "count" last); a row already there
        (the same `conflict` columns) adds the count to its own instead, and `also` sets more
        (', "col" = expression'). Returns the `returning` columns of every row written."""
        written = []
        for piece in self._pieces(rows):
            sql = _SQLiteBulk._count_sql(table, tuple(columns), tuple(conflict), len(piece),
                                         also, tuple(returning))  # fmt: skip
            cursor = db.execute_sql(sql, [value for row in piece for value in row])
            if returning:
                written += cursor.fetchall()
        return written

    @staticmethod
    @functools.cache
    def _delete_sql(table, columns, rows):
        one_row = "(" + ", ".join("?" * len(columns)) + ")"
        names = ", ".join(f'"{c}"' for c in columns)
        return f'DELETE FROM "{table}" WHERE ({names}) IN (VALUES {", ".join([one_row] * rows)})'

    def delete_keys(self, table, columns, keys):
        """DELETE the rows of `table` whose `columns` hold one of `keys` (row values)."""
        for piece in self._pieces(keys):
            sql = _SQLiteBulk._delete_sql(table, tuple(columns), len(piece))
            db.execute_sql(sql, [value for row in piece for value in row])


bulk.register("sqlite", _SQLiteBulk())


class _SQLiteSearchIndex:
    """FTS5 index maintenance and queries (PostgreSQL will get a tsvector twin).

    The index reads its text from article_text (external content). Imports normally keep it
    in step batch by batch: the old entry is removed with FTS5's 'delete' command, which must
    be given the values it indexed, read from article_text before they are overwritten. An
    import that defers the index only writes article_text, marks the index stale and
    rebuilds it in one pass at the end (about a quarter less work than indexing the same
    rows batch by batch, but after the import rather than while it reads). While the index is
    stale nobody updates it row by row: a 'delete' with values the index never held would
    corrupt it."""

    COLUMNS = ("pmid", "title", "abstract", "mesh", "keywords")

    def replace_many(self, rows, defer=False):
        """rows: (pmid, title, abstract, mesh, keywords) tuples; replaces existing entries.
        defer: only store the text and mark the index stale (a large import rebuilds it)."""
        if not rows:
            return
        if defer:
            self.mark_stale()
        live = not defer and not self.is_stale()
        pmids = [row[0] for row in rows]
        if live:
            self._unindex(pmids)
        bulk.replace("article_text", self.COLUMNS, rows)
        if live:
            self._index(pmids)

    def delete(self, pmids):
        """Remove the entries (and stored text) of these PMIDs."""
        pmids = list(pmids)
        if not self.is_stale():
            self._unindex(pmids)
        ArticleText.delete().where(ArticleText.pmid.in_(pmids)).execute()

    def _index(self, pmids):
        """Index what article_text holds for `pmids`."""
        marks = ", ".join("?" * len(pmids))
        db.execute_sql(
            "INSERT INTO article_search (rowid, title, abstract, mesh, keywords) SELECT "
            f"pmid, title, abstract, mesh, keywords FROM article_text WHERE pmid IN ({marks})",
            pmids,
        )

    def _unindex(self, pmids):
        """Remove the entries of `pmids` that article_text holds, with the values indexed."""
        marks = ", ".join("?" * len(pmids))
        db.execute_sql(
            "INSERT INTO article_search (article_search, rowid, title, abstract, mesh, keywords) "
            "SELECT 'delete', pmid, title, abstract, mesh, keywords FROM article_text "
            f"WHERE pmid IN ({marks})",
            pmids,
        )

    def is_stale(self):
        """Whether article_text holds rows the index does not reflect yet."""
        return SearchIndexState.select().exists()

    def mark_stale(self):
        SearchIndexState.insert(id=1).on_conflict_ignore().execute()

    def rebuild(self):
        """Rebuild the whole index from article_text in one pass, and clear the stale mark."""
        with db.atomic():
            db.execute_sql("INSERT INTO article_search (article_search) VALUES ('rebuild')")
            SearchIndexState.delete().execute()

    def rebuild_if_stale(self):
        """Rebuild if an import that deferred the index stopped before rebuilding it (killed,
        interrupted); returns whether it rebuilt."""
        if not self.is_stale():
            return False
        self.rebuild()
        return True

    def text_of(self, query):
        """The full-text part of a search_query.Query in this engine's words."""
        return query.fts

    def match(self, text, limit=50):
        """PMIDs best matching search-box text, best first. The MATCH runs alone (with its
        LIMIT) so joins and filters happen on its small result, never inside FTS."""
        query = ArticleSearch.web_query(text)  # search-box text → a valid FTS5 query
        if not query:
            return []
        rows = (
            ArticleSearch.select(ArticleSearch.rowid)
            .where(ArticleSearch.match(query))
            .order_by(ArticleSearch.bm25())
            .limit(limit)
            .tuples()
        )
        return [pmid for (pmid,) in rows]

    # bm25 weights of title, abstract, MeSH and keywords: a term in the title or among the
    # indexers' headings says more about a paper than one mention in its abstract.
    WEIGHTS = (3.0, 1.0, 2.0, 2.0)

    def scores_many(self, phrases, limit=500, queries=()):
        """For each phrase, then each FTS5 query in `queries` (a followed search's, built by
        search_query; None scores nothing), {pmid: score} of its best `limit` matches
        (score = -bm25, higher is better). One statement for all, each MATCH running alone
        with its LIMIT."""
        queries = [
            *(ArticleSearch.web_query('"' + phrase.replace('"', " ") + '"') for phrase in phrases),
            *queries,
        ]
        arms, params = [], []
        for number, query in enumerate(queries):
            if not query:
                continue
            arms.append(
                f"SELECT * FROM (SELECT {number} AS phrase, rowid, "
                "-bm25(article_search, ?, ?, ?, ?) AS score FROM article_search "
                "WHERE article_search MATCH ? ORDER BY score DESC LIMIT ?)"
            )
            params += [*self.WEIGHTS, query, limit]
        scores = [{} for _ in queries]
        if arms:
            for number, pmid, score in db.execute_sql(" UNION ALL ".join(arms), params):
                scores[number][pmid] = score
        return scores

    def candidates_sharing(self, headings, keywords, words, limit):
        """Papers matching any of a paper's headings (MeSH column), keywords (keywords column)
        or title words (title column: in abstracts they match too much), best `limit` by
        bm25, with what similar.py ranks them by. The MATCH runs alone with its LIMIT; the
        article rows are joined after."""
        arms = [f"mesh : {_phrase(h)}" for h in headings]
        arms += [f"keywords : {_phrase(k)}" for k in keywords]
        arms += [f"title : {_phrase(w)}" for w in words]
        if not arms:
            return []
        sql = (
            "SELECT a.pmid, a.title, a.journal_title, a.pub_year, a.mesh, a.keywords, m.score "
            "FROM (SELECT rowid, -bm25(article_search, ?, ?, ?, ?) AS score FROM article_search "
            "WHERE article_search MATCH ? ORDER BY score DESC LIMIT ?) AS m "
            "JOIN article AS a ON a.pmid = m.rowid ORDER BY m.score DESC"
        )
        params = [*self.WEIGHTS, " OR ".join(arms), limit]
        columns = ("pmid", "title", "journal_title", "pub_year", "mesh", "keywords", "text_score")
        rows = []
        for values in db.execute_sql(sql, params):
            row = dict(zip(columns, values, strict=True))
            row["mesh"], row["keywords"] = json.loads(row["mesh"]), json.loads(row["keywords"])
            rows.append(row)
        return rows

    # --- the search page (views/search.py) ---

    # The MATCH's own LIMIT: bm25 is computed for every match anyway, so a wide window costs
    # little, and filters on other fields (applied after it) still find enough.
    MATCH_WINDOW = 10_000
    HIGHLIGHT = ("\ue000", "\ue001")  # private-use marks the view turns into <mark>

    def find(self, fts, filters, cap):
        """Up to `cap` candidates of a search as (pmid, rank, pub_year, journal, types JSON,
        has abstract, has PMC, sort_date): best first by bm25 (title weighted up) when there is a
        full-text part `fts`, else newest first. One statement: the MATCH runs alone in a
        materialised CTE with its LIMIT, and only its result is joined and filtered."""
        where, params = self._filters_sql(filters)
        columns = (
            "a.pmid, {rank}, a.pub_year, COALESCE(a.journal_title, a.journal_abbrev), "
            "a.publication_types, a.abstract != '[]', a.pmcid IS NOT NULL, a.sort_date"
        )
        if fts:
            # Without filters nothing is dropped after the MATCH: its LIMIT is the cap, and
            # only that many rows are joined (the join of a 10,000-row window, a random read
            # of the article table each, cost more than the MATCH). Ties in rank go to the
            # newer PMID in both, so either window gives the same candidates.
            window = self.MATCH_WINDOW if where else cap
            sql = (
                "WITH m AS MATERIALIZED (SELECT rowid AS pmid, bm25(article_search, ?, ?, ?, ?)"
                " AS rank FROM article_search WHERE article_search MATCH ?"
                f" ORDER BY rank, rowid DESC LIMIT {int(window)})"
                f" SELECT {columns.format(rank='m.rank')}"
                " FROM m JOIN article a ON a.pmid = m.pmid"
                f"{' WHERE ' + where if where else ''} ORDER BY m.rank, a.pmid DESC LIMIT ?"
            )
            params = [*self.WEIGHTS, fts, *params, cap]
        else:
            sql = (
                f"SELECT {columns.format(rank='NULL')} FROM article a WHERE {where}"
                " ORDER BY a.sort_date DESC, a.pmid DESC LIMIT ?"
            )
            params = [*params, cap]
        return list(db.execute_sql(sql, params))

    def _filters_sql(self, filters):
        """(SQL condition on `article a`, params) for search_query.Filter objects."""
        parts, params = [], []
        for f in filters:
            if f.field == "dp":
                first, last = f.values[0]
                sql = "(a.sort_date >= ? AND a.sort_date < ?)"
                params += [f"{first:04d}", f"{last + 1:04d}"]
            elif f.field == "retracted":
                # retracted:yes reads the (few) retractions by index; retracted:no probes it.
                wanted = set(f.values) if not f.negate else {not v for v in f.values}
                sql = ("a.pmid IN (SELECT pmid FROM notice WHERE nature = 'retraction')"
                       if wanted == {True} else f"NOT {Notice.retracted_sql('a.pmid')}"
                       if wanted == {False} else "1 = 1")  # fmt: skip
                parts.append(sql)
                continue
            elif f.field == "pmid":
                sql = f"a.pmid IN ({', '.join('?' * len(f.values))})"
                params += list(f.values)
            elif f.field in ("au", "1au"):
                # "smith" is every Smith ("smith", "smith j", "smith john"), "smith j" every
                # Smith J…: a key range each, which the primary key finds (a GLOB or an OR
                # of conditions would read every author). "smith" ends before "smith!", and
                # "smithers" after it; keys hold letters, digits, spaces, ' and -.
                arms = []
                for key in f.values:
                    upper = key + "!" if " " not in key else key[:-1] + chr(ord(key[-1]) + 1)
                    arms.append(
                        "SELECT pmid FROM article_facet WHERE kind = ? AND key >= ? AND key < ?"
                    )
                    params += [f.field, key, upper]
                sql = f"a.pmid IN ({' UNION ALL '.join(arms)})"
            else:
                sql = (
                    "a.pmid IN (SELECT pmid FROM article_facet WHERE kind = ? AND key IN "
                    f"({', '.join('?' * len(f.values))}))"
                )
                params += [f.field, *f.values]
            parts.append(f"NOT {sql}" if f.negate else sql)
        return " AND ".join(parts), params

    def page_rows(self, fts, pmids, user_id):
        """The papers `pmids` (one page of results) as Articles in that order, each with
        `snippet` and `title_marked` (text with HIGHLIGHT marks around matched terms; None
        without a full-text part), `notes_count` (the notes `user_id` may read; None:
        signed out), `starred` (by `user_id`) and `retracted`. One statement, the MATCH
        limited to these rowids."""
        if not pmids:
            return []
        notes = (
            "(SELECT COUNT(*) FROM note n WHERE n.article_id = a.pmid AND n.deleted_at IS NULL"
            " AND (n.visibility = 'shared' OR n.author_id = ?))"
        )
        listed = ", ".join("?" * len(pmids))
        fields = [Article.pmid, Article.title, Article.journal_title, Article.journal_abbrev,
                  Article.pub_year, Article.pub_month, Article.pub_day, Article.pub_date_text,
                  Article.publication_types, Article.authors, Article.pmcid, Article.doi,
                  Article.abstract]  # fmt: skip
        names = ", ".join(f"a.{f.column_name}" for f in fields)
        # Whether the reader starred it, in the same statement (one indexed lookup a row).
        notes += ", EXISTS(SELECT 1 FROM star s WHERE s.user_id = ? AND s.article_id = a.pmid)"
        notes += f", {Notice.retracted_sql('a.pmid')}"  # the results' "Retracted" badge
        if fts:
            sql, params = self._marked_sql(fts, names, notes, listed, pmids, user_id)
        else:
            sql = f"SELECT {names}, NULL, NULL, {notes} FROM article a WHERE a.pmid IN ({listed})"
            params = [user_id or 0, user_id or 0, *pmids]
        found = {}
        for row in db.execute_sql(sql, params):
            values = dict(zip((f.name for f in fields), row[: len(fields)], strict=True))
            for f in fields:
                values[f.name] = f.python_value(values[f.name])
            article = Article(**values)
            article.snippet, article.title_marked, count, starred, retracted = row[len(fields) :]
            article.retracted = bool(retracted)
            article.notes_count = count if user_id else None
            article.starred = bool(starred)
            found[article.pmid] = article
        return [found[pmid] for pmid in pmids if pmid in found]

    def _marked_sql(self, fts, names, notes, listed, pmids, user_id):
        """page_rows' statement with a full-text part: the snippet and marked title beside
        the columns `names` and `notes`, the MATCH limited to the rowids `listed`."""
        start, end = self.HIGHLIGHT
        sql = (
            f"SELECT {names}, snippet(article_search, 1, ?, ?, '…', 40),"
            f" highlight(article_search, 0, ?, ?), {notes} FROM article_search"
            " JOIN article a ON a.pmid = article_search.rowid"
            f" WHERE article_search MATCH ? AND article_search.rowid IN ({listed})"
        )
        return sql, [start, end, start, end, user_id or 0, user_id or 0, fts, *pmids]

    def pmid_for_doi(self, doi):
        """The PMID of the paper with this DOI (any case), or None: an indexed lookup."""
        row = db.execute_sql("SELECT pmid FROM article WHERE LOWER(doi) = LOWER(?) LIMIT 1", [doi])
        found = row.fetchone()
        return found[0] if found else None


def _phrase(text):
    """`text` as one FTS5 string: its words in order, whatever punctuation it holds."""
    return '"' + text.replace('"', '""') + '"'


search_index.register("sqlite", _SQLiteSearchIndex())


class _SQLiteIssueCandidates:
    """The journal's candidate queries (journal.py ranks what they return). Each arm of each
    interest finds its papers *inside the issue's window* that are in none of the reader's
    earlier issues, with an index and the LIMIT in SQL:

    - a small window (a week's new papers, counted up to SMALL): the window is read by
      `added_at` and each paper probes the side table, or, for a full-text arm, the MATCH
      runs within the window's PMID range and ranks by bm25 (title weighted up, as search);
    - a larger window, or the whole library (a first issue, a visitor's sample): the newest
      matches by PMID (the order PubMed numbers its records in), read backwards from the
      side table's primary key or the full-text index until the LIMIT is filled; bm25 is
      computed for those only, so a heading or word carried by half the library costs what
      a rare one does.

    A retracted paper (a `retraction` notice, from PubMed or Retraction Watch) is never a
    candidate.

    (SQLite's planner has no per-key statistics — a journal of 80 papers and "Journal
    Article" with 950,000 look alike to it — hence the plans are spelled out here.)"""

    SMALL = 20_000  # a window this many papers or fewer is read whole
    DENSE = 4  # a PMID range with at most this many papers per paper of the window is read
    MANY_KEYS = 50  # up to this many keys are each read newest first, then merged
    READ = "a.sort_date AS sort_date, a.publication_types AS types"  # what ranking reads
    TERMS = "a.mesh AS mesh, a.keywords AS keywords"  # … and a reader's feedback
    WEIGHTS = (3.0, 1.0, 2.0, 2.0)
    MATCH_WINDOW = 10_000  # full-text matches a followed search's filters then narrow
    BY_ADDED = " INDEXED BY article_added_at"  # a small window is read by when papers came
    THEN_JOIN = "CROSS JOIN"  # SQLite joins in the order written after a CROSS JOIN
    NO_SCORE = "NULL"  # the score of an arm that is not full text

    def plan(self, since, until):
        """The Window of [since, until): two bounded counts when `since` is given (the
        window's papers, and the papers in its PMID range)."""
        if since is None:
            return Window(None, until)
        where, params = self._window_sql(Window(since, until))
        size, low, high = db.execute_sql(
            "SELECT COUNT(*), MIN(pmid), MAX(pmid) FROM (SELECT a.pmid AS pmid FROM article a"
            f"{self.BY_ADDED} WHERE {where} LIMIT ?) AS w",
            [*params, self.SMALL + 1],
        ).fetchone()
        if size > self.SMALL:
            return Window(since, until, size)
        dense = False
        if size:
            (spread,) = db.execute_sql(
                "SELECT COUNT(*) FROM (SELECT 1 FROM article WHERE pmid BETWEEN ? AND ? LIMIT ?)"
                " AS r",
                [low, high, self.DENSE * size + 1],
            ).fetchone()
            dense = spread <= self.DENSE * size
        return Window(since, until, size, low, high, dense)

    def best(self, arms, window, reader_id, limit, terms=False):
        """For each arm, {pmid: score} of its best `limit` papers in `window` that are in
        none of reader `reader_id`'s issues (None: no reader), and {pmid: (sort_date,
        publication types[, MeSH, keywords when `terms`], as stored)} of them all, what
        ranking reads. Score: -bm25 (higher is better) for a full-text arm, None for the
        others. One statement."""
        selects, params = [], []
        extra = ", mesh, keywords" if terms else ""
        for number, arm in enumerate(arms):
            sql, arm_params = self._arm_sql(arm, window, reader_id, limit)
            if terms:
                sql = sql.replace(self.READ, f"{self.READ}, {self.TERMS}")
            selects.append(
                f"SELECT {number}, pmid, score, sort_date, types{extra} FROM ({sql}) AS arm{number}"
            )
            params += arm_params
        found, papers = [{} for _ in arms], {}
        if selects:
            for number, pmid, score, *read in db.execute_sql(" UNION ALL ".join(selects), params):
                found[number][pmid] = score
                papers[pmid] = read
        return found, papers

    def count(self, arms, window, reader_id, cap):
        """How many papers of `window` match any arm and are in none of the reader's issues:
        exact up to `cap`, and more than `cap` when it says cap + 1. Each arm reads at most
        cap + 1 of its papers (one over the cap proves the total is over it too)."""
        if not arms:
            return 0
        selects, params = [], []
        for arm in arms:
            sql, arm_params = self._arm_sql(arm, window, reader_id, cap + 1, ranked=False)
            selects.append(f"SELECT pmid FROM ({sql}) AS arm{len(selects)}")
            params += arm_params
        sql = f"SELECT COUNT(DISTINCT pmid) FROM ({' UNION ALL '.join(selects)}) AS arms"
        return min(cap + 1, db.execute_sql(sql, params).fetchone()[0])

    # --- the SQL of one arm ---

    def _small(self, window):
        return window.size is not None and window.size <= self.SMALL

    def _arm_sql(self, arm, window, reader_id, limit, ranked=True):
        """(SELECT pmid, score, sort_date, types …, params) for one arm: at most `limit` of
        its papers, the best when `ranked` (counting needs any)."""
        if arm.fts:
            return self._text_sql(arm, window, reader_id, limit, ranked)
        if arm.facet and (window.dense or not self._small(window)):
            if 1 < len(arm.keys) <= self.MANY_KEYS:
                # Each key's newest, merged: the newest of all are among them.
                parts = [self._facet_sql(arm.facet, (key,), window, reader_id, limit, ranked)
                         for key in arm.keys]  # fmt: skip
                sql = " UNION ".join(
                    f"SELECT * FROM ({sql}) AS key{n}" for n, (sql, _) in enumerate(parts)
                )
                order = " ORDER BY pmid DESC" if ranked else ""
                return f"{sql}{order} LIMIT ?", [p for _, ps in parts for p in ps] + [limit]
            return self._facet_sql(arm.facet, arm.keys, window, reader_id, limit, ranked)
        # A small window whose PMIDs are spread: its papers are read by when they came,
        # each probing the side table (or a followed search's filters).
        where, params = self._window_sql(window)
        index = self.BY_ADDED if self._small(window) else ""
        if arm.facet:
            probe = ("EXISTS (SELECT 1 FROM article_facet f WHERE f.kind = ? AND f.key IN"
                     f" ({_marks(arm.keys)}) AND f.pmid = a.pmid)")  # fmt: skip
            probe_params = [arm.facet, *arm.keys]
        else:  # a followed search with filters only
            probe, probe_params = search_index._filters_sql(arm.filters)
        excluded, excluded_params = self._not_issued(reader_id)
        conditions = " AND ".join(c for c in (where, probe, excluded) if c)
        sql = f"SELECT a.pmid AS pmid, {self.NO_SCORE} AS score, {self.READ} FROM article a{index}"
        sql += f" WHERE {conditions}" if conditions else ""
        sql += " ORDER BY a.pmid DESC" if ranked else ""
        return f"{sql} LIMIT ?", [*params, *probe_params, *excluded_params, limit]

    def _facet_sql(self, kind, keys, window, reader_id, limit, ranked):
        """The newest papers with side-table rows (kind, one of keys) in the window: the
        primary key read backwards (within the window's PMID range when it is dense), each
        paper checked against the window and the reader's issues until the LIMIT is met."""
        where, params = self._window_sql(window)
        excluded, excluded_params = self._not_issued(reader_id)
        conditions = [f"f.kind = ? AND f.key IN ({_marks(keys)})"]
        params = [kind, *keys, *params]
        if window.dense:
            conditions.append("f.pmid BETWEEN ? AND ?")
            params = [kind, *keys, window.low, window.high, *params[1 + len(keys) :]]
        conditions += [where, excluded]
        sql = (
            f"SELECT a.pmid AS pmid, {self.NO_SCORE} AS score, {self.READ} FROM article_facet f"
            f" {self.THEN_JOIN} article a ON a.pmid = f.pmid WHERE "
            + " AND ".join(c for c in conditions if c)
        )
        sql += " ORDER BY f.pmid DESC" if ranked else ""
        return f"{sql} LIMIT ?", [*params, *excluded_params, limit]

    def _text_sql(self, arm, window, reader_id, limit, ranked):
        """A full-text arm: in a small window, the best by bm25 within its PMID range; else
        the newest matches (rowid descending, which FTS5 reads in order and stops at the
        LIMIT), bm25 computed for those. Filters and earlier issues in the same statement."""
        where, window_params = self._window_sql(window)
        filters, filter_params = search_index._filters_sql(arm.filters)
        excluded, excluded_params = self._not_issued(reader_id)
        sql, params, key = self._text_match(arm)
        if window.low is not None:
            sql += f" AND {key} BETWEEN ? AND ?"
            params += [window.low, window.high]
        conditions = [c for c in (where, filters, excluded) if c]
        if conditions:
            sql += " AND " + " AND ".join(conditions)
        params += window_params
        if ranked and self._small(window):
            sql += " ORDER BY score DESC, pmid DESC"
        elif ranked:
            sql += f" ORDER BY {key} DESC"
        return f"{sql} LIMIT ?", [*params, *filter_params, *excluded_params, limit]

    def _text_match(self, arm):
        """A full-text arm's match, the engine's own part of it: (SQL up to its WHERE
        condition, its params, the column of the matched PMID)."""
        sql = (
            f"SELECT s.rowid AS pmid, -bm25(article_search, ?, ?, ?, ?) AS score, {self.READ}"
            " FROM article_search s CROSS JOIN article a ON a.pmid = s.rowid"
            " WHERE article_search MATCH ?"
        )
        return sql, [*self.WEIGHTS, arm.fts], "s.rowid"

    @staticmethod
    def _window_sql(window):
        parts, params = [], []
        if window.since is not None:
            parts.append("a.added_at >= ?")
            params.append(window.since)
        if window.until is not None:
            parts.append("a.added_at < ?")
            params.append(window.until)
        return " AND ".join(parts), params

    @staticmethod
    def _not_issued(reader_id):
        """No repeats: papers in none of the reader's issues (an indexed subquery); and never
        a retracted paper (one probe of the notice table's (pmid, nature) index)."""
        retracted = f"NOT {Notice.retracted_sql('a.pmid')}"
        if reader_id is None:
            return retracted, []
        return (
            "a.pmid NOT IN (SELECT e.article_id FROM issue_entry e JOIN issue i"
            f" ON i.id = e.issue_id WHERE i.user_id = ?) AND {retracted}",
            [reader_id],
        )


issue_candidates.register("sqlite", _SQLiteIssueCandidates())


def _marks(values):
    return ", ".join("?" * len(values))


class _SQLiteJSON:
    """Queries inside JSON columns (PostgreSQL: json_array_elements and ->>)."""

    @staticmethod
    def objects_array(names, table, order=None):
        """The aggregate making one JSON array of objects {name: table.name} of the rows,
        in the order they come (`order` is for engines that need it said)."""
        pairs = ", ".join(f"'{name}', {table}.{name}" for name in names)
        return f"json_group_array(json_object({pairs}))"

    # An array of objects aggregated from rows, as this engine spells it.
    ARRAY = ("json_group_array(", ")")
    OBJECT = "json_object"

    def linked_pmids(self, links):
        """The PMIDs of the `links` column's items ([{"pmid": …}, …]) that are articles here,
        as a JSON array, computed per row: each lookup is one primary-key search, and it
        folds into the query that reads the article, so the page needs no extra query."""
        return NodeList(
            (
                SQL("(SELECT json_group_array(linked.pmid) FROM article AS linked"
                    " WHERE linked.pmid IN (SELECT json_extract(item.value, '$.pmid')"
                    " FROM json_each("),
                links,
                SQL(") AS item))"),
            ),
            glue="",
        ).alias("linked_in_library")  # fmt: skip

    def notices_of(self, pmid):
        """The notice rows about the paper `pmid` (a column) and those it is the notice of,
        as a JSON array of objects; each says whether the paper at its other end is here
        (`here`) and its title when it is. Two index searches a row, folded into the query
        that reads the article."""
        other = NodeList(
            (SQL("CASE WHEN n.pmid = "), pmid, SQL(" THEN n.notice_pmid ELSE n.pmid END")), glue=""
        )
        return NodeList(
            (
                SQL(f"(SELECT {self.ARRAY[0]}{self.OBJECT}('pmid', n.pmid, 'nature', n.nature,"
                    " 'notice_pmid', n.notice_pmid, 'notice_doi', n.notice_doi, 'date', n.date,"
                    " 'citation', n.citation, 'reason', n.reason, 'source', n.source,"
                    " 'other_title', (SELECT x.title FROM article x WHERE x.pmid = "),
                other,
                SQL(f")){self.ARRAY[1]} FROM notice n WHERE n.pmid = "),
                pmid,
                SQL(" OR n.notice_pmid = "),
                pmid,
                SQL(")"),
            ),
            glue="",
        ).alias("notices_found")  # fmt: skip


json_corner.register("sqlite", _SQLiteJSON())


# Imported last, lowest layer first (base; papers, notices, vocabulary, sync and the engine
# corner; people; journal; library): these modules import this one's tables, which refer to
# theirs only inside methods, so each module defines its tables before another asks for them.
# isort: off
from .notices import Notice
from .papers import Article, ArticleText, SearchIndexState
from .journal import Window
# isort: on
