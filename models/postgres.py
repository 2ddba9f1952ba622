"""PostgreSQL's engine corner: the connection as Pearl uses it, bulk writes, the tsvector
search index, the journal's candidate queries and the queries inside JSON columns (the twins
of models/sqlite.py, sharing its SQL wherever the two engines read it alike)."""

import functools
import json
import re

from peewee import SQL, NodeList
from playhouse.pool import PooledPostgresqlDatabase

import search_query

from .base import EveryPool, bulk, db, issue_candidates, json_corner, search_index
from .sqlite import _SQLiteBulk, _SQLiteIssueCandidates, _SQLiteJSON, _SQLiteSearchIndex

# A `?` placeholder outside quoted text (SQLite's style: Pearl's hand-written SQL uses it).
_QUOTED_OR_MARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


@functools.lru_cache(maxsize=512)
def _pyformat(sql):
    """`sql` with `?` placeholders as psycopg's `%s`, a `?` in quotes kept, and every `%`
    doubled (psycopg reads `%` inside quotes too)."""

    def swap(match):
        text = match.group(0)
        return "%s" if text == "?" else text.replace("%", "%%")

    return _QUOTED_OR_MARK.sub(swap, sql)


class PearlPostgresqlDatabase(EveryPool, PooledPostgresqlDatabase):
    """PostgreSQL as Pearl uses it. The hand-written SQL of the models is written once, with
    SQLite's `?` placeholders; statements that carry them are translated here (peewee's own
    statements already use `%s` and pass through). `atomic("IMMEDIATE")` is SQLite's lock
    type: PostgreSQL's row locks need nothing up front. Tables SQLite keeps WITHOUT ROWID are
    plain tables here.

    Connections are pooled (peewee's pool): each request takes one and gives it back when it
    closes. Opening a PostgreSQL connection per request cost more than serving the page."""

    def __init__(self, database, **options):
        options.setdefault("max_connections", 32)  # per process: gunicorn's threads and more
        options.setdefault("stale_timeout", 300)  # seconds an idle connection is kept
        super().__init__(database, **options)
        self.remember_pool()

    def execute_sql(self, sql, params=None):
        if params and "?" in sql and "%s" not in sql:
            sql = _pyformat(sql)
        elif sql.endswith(" WITHOUT ROWID") and sql.startswith("CREATE TABLE"):
            sql = sql.removesuffix(" WITHOUT ROWID")  # SQLite's storage; PostgreSQL has no rowid
        return super().execute_sql(sql, params)

    def begin(self, isolation_level=None):
        return super().begin(None if isolation_level == "IMMEDIATE" else isolation_level)


class _PostgresBulk(_SQLiteBulk):
    """SQLite's bulk writes with PostgreSQL's spelling of REPLACE and IGNORE."""

    IGNORE = ("INSERT", " ON CONFLICT DO NOTHING")

    def replace(self, table, columns, rows):
        """Insert `rows`, a row whose key (the first column) is there replacing it."""
        for piece in self._pieces(rows):
            sql = _SQLiteBulk._sql(table, tuple(columns), len(piece), columns[0], ())
            db.execute_sql(sql, [value for row in piece for value in row])

    def insert_or_ignore(self, table, columns, rows):
        for piece in self._pieces(rows):
            sql = _SQLiteBulk._sql(table, tuple(columns), len(piece), None, ())
            db.execute_sql(sql + " ON CONFLICT DO NOTHING", [v for row in piece for v in row])


bulk.register("postgresql", _PostgresBulk())


# The document each paper is found by: title (weight A), abstract (B), MeSH (C), keywords (D).
DOCUMENT = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('english', coalesce(abstract, '')), 'B')"
    " || setweight(to_tsvector('english', coalesce(mesh, '')), 'C')"
    " || setweight(to_tsvector('english', coalesce(keywords, '')), 'D')"
)
# ts_rank_cd's weights of D, C, B, A: the title far above the rest, as SQLite's bm25 weights
# put it (tests/test_search.py: a paper with the word in its title ranks first).
RANK_WEIGHTS = "'{0.2, 0.2, 0.1, 1.0}'"


class _PostgresSearchIndex(_SQLiteSearchIndex):
    """The search index as a generated tsvector column of article_text with a GIN index:
    PostgreSQL keeps it in step with the text by itself, so it is never stale and a rebuild
    has nothing to do."""

    def create(self):
        """The document column and its index (migration 6 on PostgreSQL)."""
        db.execute_sql(
            f"ALTER TABLE article_text ADD COLUMN IF NOT EXISTS document tsvector"
            f" GENERATED ALWAYS AS ({DOCUMENT}) STORED"
        )
        db.execute_sql(
            "CREATE INDEX IF NOT EXISTS article_text_document ON article_text USING gin (document)"
        )

    def replace_many(self, rows, defer=False):
        if rows:
            bulk.replace("article_text", self.COLUMNS, rows)

    def delete(self, pmids):
        ArticleText.delete().where(ArticleText.pmid.in_(list(pmids))).execute()

    def rebuild(self):
        SearchIndexState.delete().execute()

    def text_of(self, query):
        return query.tsquery

    def match(self, text, limit=50):
        query = search_query.to_tsquery(text)
        if not query:
            return []
        rows = db.execute_sql(
            "SELECT pmid FROM article_text, to_tsquery('english', %s) q WHERE document @@ q"
            f" ORDER BY ts_rank_cd({RANK_WEIGHTS}, document, q) DESC, pmid DESC LIMIT %s",
            [query, limit],
        )
        return [pmid for (pmid,) in rows]

    def scores_many(self, phrases, limit=500, queries=()):
        arms, params = [], []
        texts = [("phrase", p) for p in phrases] + [("fts", q) for q in queries]
        for number, (kind, text) in enumerate(texts):
            if not text:
                continue
            query = "phraseto_tsquery('english', %s)" if kind == "phrase" else (
                "to_tsquery('english', %s)")  # fmt: skip
            arms.append(
                f"(SELECT {number} AS phrase, pmid, ts_rank_cd({RANK_WEIGHTS}, document, q)"
                f" AS score FROM article_text, {query} q WHERE document @@ q"
                " ORDER BY score DESC LIMIT %s)"
            )
            params += [text, limit]
        scores = [{} for _ in texts]
        if arms:
            for number, pmid, score in db.execute_sql(" UNION ALL ".join(arms), params):
                scores[number][pmid] = score
        return scores

    def candidates_sharing(self, headings, keywords, words, limit):
        arms = [f"({self._weighted(h, 'C')})" for h in headings]
        arms += [f"({self._weighted(k, 'D')})" for k in keywords]
        arms += [f"({self._weighted(w, 'A')})" for w in words]
        if not arms:
            return []
        sql = (
            "SELECT a.pmid, a.title, a.journal_title, a.pub_year, a.mesh, a.keywords, m.score"
            f" FROM (SELECT pmid, ts_rank_cd({RANK_WEIGHTS}, document, q) AS score"
            " FROM article_text, to_tsquery('english', %s) q WHERE document @@ q"
            " ORDER BY score DESC LIMIT %s) AS m"
            " JOIN article AS a ON a.pmid = m.pmid ORDER BY m.score DESC"
        )
        columns = ("pmid", "title", "journal_title", "pub_year", "mesh", "keywords", "text_score")
        rows = []
        for values in db.execute_sql(sql, [" | ".join(arms), limit]):
            row = dict(zip(columns, values, strict=True))
            row["mesh"], row["keywords"] = json.loads(row["mesh"]), json.loads(row["keywords"])
            rows.append(row)
        return rows

    @staticmethod
    def _weighted(text, weight):
        """`text` as a tsquery phrase of its words, each restricted to one weight (column)."""
        words = re.findall(r"\w+", text.lower())
        return " <-> ".join(f"'{w}':{weight}" for w in words) or "''"

    def find(self, fts, filters, cap):
        where, params = self._filters_sql(filters)
        columns = (
            "a.pmid, {rank}, a.pub_year, COALESCE(a.journal_title, a.journal_abbrev), "
            "a.publication_types, a.abstract != '[]', a.pmcid IS NOT NULL, a.sort_date"
        )
        if not fts:
            return super().find(fts, filters, cap)
        sql = (
            "WITH m AS MATERIALIZED (SELECT pmid, -ts_rank_cd("
            f"{RANK_WEIGHTS}, document, q) AS rank FROM article_text,"
            " to_tsquery('english', ?) q WHERE document @@ q ORDER BY rank"
            f" LIMIT {int(self.MATCH_WINDOW)}) SELECT {columns.format(rank='m.rank')}"
            " FROM m JOIN article a ON a.pmid = m.pmid"
            f"{' WHERE ' + where if where else ''} ORDER BY m.rank, a.pmid DESC LIMIT ?"
        )
        return list(db.execute_sql(sql, [fts, *params, cap]))

    def _marked_sql(self, fts, names, notes, listed, pmids, user_id):
        # ts_headline over the page's few papers: the abstract's best passage, the title whole.
        start, end = self.HIGHLIGHT
        options = f"StartSel={start}, StopSel={end}"
        sql = (
            f"SELECT {names}, ts_headline('english', t.abstract, q, ?),"
            f" ts_headline('english', t.title, q, ?), {notes} FROM article a"
            " JOIN article_text t ON t.pmid = a.pmid CROSS JOIN to_tsquery('english', ?) q"
            f" WHERE a.pmid IN ({listed})"
        )
        return sql, [f"{options}, MaxWords=40, MinWords=20", f"{options}, HighlightAll=true",
                     user_id or 0, user_id or 0, fts, *pmids]  # fmt: skip

    def pmid_for_doi(self, doi):
        row = db.execute_sql("SELECT pmid FROM article WHERE LOWER(doi) = LOWER(%s) LIMIT 1", [doi])
        found = row.fetchone()
        return found[0] if found else None


search_index.register("postgresql", _PostgresSearchIndex())


class _PostgresIssueCandidates(_SQLiteIssueCandidates):
    """SQLite's candidate queries with PostgreSQL's planner choosing the joins and index
    (it keeps per-key statistics), and full-text arms matched against the tsvector."""

    BY_ADDED = ""
    THEN_JOIN = "JOIN"
    NO_SCORE = "CAST(NULL AS real)"  # a bare NULL in a subquery would be text

    def _text_match(self, arm):
        sql = (
            f"SELECT t.pmid AS pmid, ts_rank_cd({RANK_WEIGHTS}, t.document, q) AS score,"
            f" {self.READ} FROM article_text t CROSS JOIN to_tsquery('english', ?) q"
            " JOIN article a ON a.pmid = t.pmid WHERE t.document @@ q"
        )
        return sql, [arm.tsquery], "t.pmid"


issue_candidates.register("postgresql", _PostgresIssueCandidates())


class _PostgresJSON:
    """Queries inside JSON columns (stored as text): json_array_elements and ->>."""

    @staticmethod
    def objects_array(names, table, order=None):
        pairs = ", ".join(f"'{name}', {table}.{name}" for name in names)
        order = f" ORDER BY {order}" if order else ""
        return f"COALESCE(json_agg(json_build_object({pairs}){order})::text, '[]')"

    def linked_pmids(self, links):
        return NodeList(
            (
                SQL("(SELECT COALESCE(json_agg(linked.pmid)::text, '[]') FROM article AS linked"
                    " WHERE linked.pmid IN (SELECT (item->>'pmid')::int"
                    " FROM json_array_elements(CAST("),
                links,
                SQL(" AS json)) AS item))"),
            ),
            glue="",
        ).alias("linked_in_library")  # fmt: skip

    # SQLite's notices_of, spelled here (an empty json_agg is NULL, not "[]").
    ARRAY = ("COALESCE(json_agg(", ")::text, '[]')")
    OBJECT = "json_build_object"
    notices_of = _SQLiteJSON.notices_of


json_corner.register("postgresql", _PostgresJSON())


# Imported last (see models/papers.py): papers uses this module's corners.
from .papers import ArticleText, SearchIndexState  # noqa: E402
