"""Schema migrations: numbered, run once each, in order, on every database."""

from peewee import DateTimeField, IntegerField, SqliteDatabase, fn
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_schema

from .base import BaseModel, bulk, db, search_index, utcnow


class Migration(BaseModel):
    """Which numbered migrations have run."""

    number = IntegerField(primary_key=True)
    applied_at = DateTimeField(default=utcnow)


def _on_sqlite():
    return isinstance(db.obj, SqliteDatabase)


def _migration_1():
    # PostgreSQL's search index is a column of article_text, made with it in migration 6.
    db.create_tables([Article, ArticleSearch] if _on_sqlite() else [Article])


def _migration_2():
    db.create_tables([User, Note])


def _migration_3():
    # Migration 2 creates `user` from today's model, so on a new database these columns
    # are already there; only databases made before this migration need them added.
    migrator = SchemaMigrator.from_database(db.obj)
    existing = {column.name for column in db.get_columns("user")}
    new = {"trial_ends_at": User.trial_ends_at, "full_access": User.full_access}
    migrate_schema(
        *(
            migrator.add_column("user", name, field)
            for name, field in new.items()
            if name not in existing
        )
    )
    db.create_tables([LoginToken])


def _migration_4():
    # The journal: what readers follow, the terms the picker suggests, issues and their
    # papers. As in migration 3, `user` gets its new columns only if it predates them.
    migrator = SchemaMigrator.from_database(db.obj)
    existing = {column.name for column in db.get_columns("user")}
    new = {
        "issue_frequency": User.issue_frequency,
        "email_issues": User.email_issues,
        "feed_key": User.feed_key_hash,
    }
    migrate_schema(
        *(
            migrator.add_column("user", name, field)
            for name, field in new.items()
            if name not in existing
        )
    )
    db.create_tables([Interest, Term, Issue, IssueEntry])


def _migration_5():
    # What the record says beyond the page's first version: languages, grants, substances,
    # comments and corrections, other abstracts, every ArticleId. Each column has an SQL
    # DEFAULT, so it is added NOT NULL in place, without peewee's copy of the whole table
    # that a NOT NULL column without one needs on SQLite. Re-importing a file fills them.
    migrator = SchemaMigrator.from_database(db.obj)
    existing = {column.name for column in db.get_columns("article")}
    new = ("languages", "grants", "chemicals", "comments_corrections", "other_abstracts",
           "article_ids")  # fmt: skip
    migrate_schema(
        *(
            migrator.add_column("article", name, Article._meta.fields[name], allow_not_null=True)
            for name in new
            if name not in existing
        )
    )


def _migration_7():
    # The reader's library: stars and collections. Independent of migrations 6 and 8, so
    # any order works. A paper starred in an issue of the journal is starred.
    db.create_tables([Star, Collection, CollectionItem])
    starred = (
        IssueEntry.select(Issue.user, IssueEntry.article, fn.MIN(Issue.created_at))
        .join(Issue)
        .where(IssueEntry.starred == True)  # noqa: E712
        .group_by(Issue.user, IssueEntry.article)
    )
    Star.insert_from(starred, [Star.user, Star.article, Star.created_at]).execute()


def _migration_8():
    # Search (views/search.py): the side table of authors, types, journals and languages,
    # filled here from the articles stored (then by the importer, batch by batch); and
    # an index for a DOI typed in the search box.
    db.create_tables([ArticleFacet])
    # The rows come from ArticleFacet.rows_for, as the importer makes them: one set of rules.
    columns = (Article.pmid, Article.authors, Article.publication_types, Article.languages,
               Article.language, Article.journal_title, Article.journal_abbrev,
               Article.journal_iso, Article.issn)  # fmt: skip
    names = [column.name for column in columns]
    # The PMIDs are read first: no SELECT stays open across the writes below.
    pmids = [pmid for (pmid,) in Article.select(Article.pmid).tuples()]
    for start in range(0, len(pmids), 5000):
        chunk = Article.select(*columns).where(Article.pmid.in_(pmids[start : start + 5000]))
        records = (dict(zip(names, values, strict=True)) for values in chunk.tuples())
        ArticleFacet.replace_for([], [row for r in records for row in ArticleFacet.rows_for(r)])
    db.execute_sql("CREATE INDEX IF NOT EXISTS article_doi_lower ON article (LOWER(doi))")


def _migration_9():
    # Issue 10, at a million papers: the library's size kept by the importer (the home page
    # counted the table on every view), and the suggestions' terms kept by it batch by batch
    # with their spellings and words (they were counted again in web requests); both filled
    # here from the papers stored. Independent of migrations 10 to 12.
    db.create_tables([LibraryStats, TermSpelling, TermWord])
    LibraryStats.recount()
    Term.rebuild()


def _migration_6():
    # The search index reads its text from article_text (external content), so that a large
    # import can build it in one pass. On a database made before this migration the old index
    # keeps its own copy of that text: move it to article_text, then index it again.
    db.create_tables([ArticleText, SearchIndexState])
    if not _on_sqlite():
        search_index.create()  # the tsvector column and its GIN index
        return
    (definition,) = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE name = 'article_search'"
    ).fetchone()
    if "content=" in definition.replace(" ", "").lower():
        return  # created by migration 1 from today's model
    db.execute_sql(
        "INSERT INTO article_text (pmid, title, abstract, mesh, keywords) "
        "SELECT rowid, title, abstract, mesh, keywords FROM article_search"
    )
    db.execute_sql("DROP TABLE article_search")
    db.create_tables([ArticleSearch])
    search_index.rebuild()


def _migration_11():
    # The journal at a million papers: MeSH headings join the side table (`mh`, `majr`), so
    # an interest finds a heading's new papers by index; a reader's issue size; what an issue
    # spared its reader. Facet rows come from ArticleFacet.rows_for, as the importer makes them.
    migrator = SchemaMigrator.from_database(db.obj)
    added = []
    for table, name, field in (("user", "issue_size", User.issue_size),
                               ("issue", "matched", Issue.matched)):  # fmt: skip
        if name not in {column.name for column in db.get_columns(table)}:
            # With its SQL DEFAULT a NOT NULL column is added in place (as in migration 5).
            added.append(migrator.add_column(table, name, field, allow_not_null=True))
    migrate_schema(*added)
    if ArticleFacet.select().where(ArticleFacet.kind == "mh").limit(1).exists():
        return  # the articles were imported with today's rows
    pmids = [pmid for (pmid,) in Article.select(Article.pmid).tuples()]
    for start in range(0, len(pmids), 5000):
        chunk = Article.select(Article.pmid, Article.mesh).where(
            Article.pmid.in_(pmids[start : start + 5000])
        )
        rows = [
            row
            for pmid, mesh in chunk.tuples()
            for row in ArticleFacet.rows_for({"pmid": pmid, "mesh": mesh})
        ]
        bulk.insert_or_ignore("article_facet", ("kind", "key", "pmid"), rows)


def _migration_12():
    # "More like this" / "Fewer like this" on the journal's papers (preferences.py).
    # Independent of the other migrations: any order works.
    db.create_tables([Feedback])


def _migration_13():
    # Runs of `flask sync` (issue 11): new papers from PubMed by interest or update file.
    # Independent of the other migrations (14 included): any order works.
    db.create_tables([SyncRun])


def _migration_10():
    # The MeSH tree (import-mesh), empty until an admin imports NLM's descriptor file.
    # Independent of the others: nothing else reads or changes these tables.
    db.create_tables([MeshDescriptor, MeshTreeNumber])


def _migration_14():
    # Corrections and retractions (issue 11): the notice table, filled here from the
    # articles stored (then by the importer batch by batch, and by import-retractions).
    # Independent of migration 13 and the others: any order works.
    db.create_tables([Notice])
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS notice_unique ON notice"
        " (source, origin, pmid, nature, COALESCE(notice_pmid, 0))"
    )
    # The rows come from Notice.rows_for, as the importer makes them: one set of rules.
    columns = (Article.pmid, Article.comments_corrections, Article.publication_types,
               Article.journal_iso, Article.journal_abbrev, Article.journal_title,
               Article.pub_year, Article.pub_month, Article.pub_day, Article.pub_date_text,
               Article.epub_date, Article.volume, Article.issue, Article.pages)  # fmt: skip
    names = [column.name for column in columns]
    pmids = [pmid for (pmid,) in Article.select(Article.pmid).tuples()]
    for start in range(0, len(pmids), 5000):
        chunk = Article.select(*columns).where(Article.pmid.in_(pmids[start : start + 5000]))
        records = [dict(zip(names, values, strict=True)) for values in chunk.tuples()]
        Notice.replace_for([], [row for r in records for row in Notice.rows_for(r)], tell=False)


def _migration_15():
    # Readers told of the notices on papers they are connected to (issue 11). Notices already
    # stored are not news: the table starts empty. Independent of the others but 14.
    db.create_tables([CorrectionAlert])


def _migration_16():
    # Hardened sign-in (issue 12): a table of signed-in browsers (cookies made before it name
    # no session: their readers sign in again), sign-up details waiting on their emailed link,
    # and feed keys stored as their sha256 — the address a reader already uses keeps working,
    # since its key hashes to the stored value. Independent of the other migrations.
    db.create_tables([UserSession])
    migrator = SchemaMigrator.from_database(db.obj)
    existing = {column.name for column in db.get_columns(LoginToken._meta.table_name)}
    migrate_schema(
        *(
            migrator.add_column(LoginToken._meta.table_name, name, LoginToken._meta.fields[name])
            for name in ("display_name", "password_hash")
            if name not in existing
        )
    )
    keys = User.select(User.id, User.feed_key_hash).where(User.feed_key_hash.is_null(False))
    for user_id, key in list(keys.tuples()):
        User.update(feed_key_hash=User.hash_secret(key)).where(User.id == user_id).execute()


def _migration_17():
    # The reader's choice to turn single-key shortcuts off (issue 13). Independent of the
    # others: any order works; with its SQL DEFAULT the column is added in place.
    if "shortcuts" not in {column.name for column in db.get_columns("user")}:
        migrator = SchemaMigrator.from_database(db.obj)
        migrate_schema(migrator.add_column("user", "shortcuts", User.shortcuts,
                                           allow_not_null=True))  # fmt: skip


def _migration_18():
    # One-time keys of note forms (issue 12: a retried post stores no duplicate). A table of
    # its own: independent of every other migration.
    db.create_tables([NoteKey])


def _migration_20():
    # PMIDs as 64-bit integers on PostgreSQL too (issue 12): SQLite's integers already are,
    # and a PMID past 2^31 (the benchmarks' million-paper corpus numbers its copies so)
    # stopped an import there alone. New databases get BIGINT from the models; this widens
    # the columns of older ones. Independent of the other migrations.
    if _on_sqlite():
        return
    columns = [(model, field) for model in (Article, ArticleText, ArticleFacet, Notice)
               for field in model._meta.sorted_fields if field.field_type == "BIGINT"]  # fmt: skip
    # Every foreign key to a paper, as peewee knows them (a new table's is included).
    columns += [(field.model, field) for field in Article._meta.backrefs]
    for model, field in columns:
        db.execute_sql(f'ALTER TABLE "{model._meta.table_name}" ALTER COLUMN '
                       f'"{field.column_name}" TYPE bigint')  # fmt: skip


def _migration_21():
    # The home page's keyset paging on PostgreSQL (issue 12): its index on sort_date holds no
    # PMID (SQLite's holds the rowid, which is the PMID), so a page deep in the list sorted
    # every paper of its day: 254 ms at a million papers. An index on both, replacing it.
    if _on_sqlite():
        return
    db.execute_sql("CREATE INDEX IF NOT EXISTS article_sort_date_pmid ON article (sort_date, pmid)")
    db.execute_sql("DROP INDEX IF EXISTS article_sort_date")


MIGRATIONS = {
    1: _migration_1,
    2: _migration_2,
    3: _migration_3,
    4: _migration_4,
    5: _migration_5,
    6: _migration_6,
    7: _migration_7,
    8: _migration_8,
    9: _migration_9,
    10: _migration_10,
    11: _migration_11,
    12: _migration_12,
    13: _migration_13,
    14: _migration_14,
    15: _migration_15,
    16: _migration_16,
    17: _migration_17,
    18: _migration_18,
    20: _migration_20,
    21: _migration_21,
}


def migrate():
    """Create the schema, or bring an existing database up to date; returns what ran."""
    with db.atomic():
        db.create_tables([Migration])
        done = {m.number for m in Migration.select()}
        ran = []
        for number in sorted(MIGRATIONS):
            if number not in done:
                MIGRATIONS[number]()
                Migration.create(number=number)
                ran.append(number)
    return ran


# Imported last, lowest layer first (base; papers, notices, vocabulary, sync and the engine
# corner; people; journal; library): these modules import this one's tables, which refer to
# theirs only inside methods, so each module defines its tables before another asks for them.
# isort: off
from .notices import Notice
from .papers import Article, ArticleFacet, ArticleText, LibraryStats, SearchIndexState
from .sqlite import ArticleSearch
from .sync import SyncRun
from .vocabulary import MeshDescriptor, MeshTreeNumber, Term, TermSpelling, TermWord
from .people import LoginToken, Note, NoteKey, User, UserSession
from .journal import Feedback, Interest, Issue, IssueEntry
from .library import Collection, CollectionItem, CorrectionAlert, Star
# isort: on
