"""The reader's library: stars, collections, and alerts about notices on papers kept there."""

import json

from peewee import (
    JOIN,
    SQL,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    NodeList,
    SmallIntegerField,
    Value,
    fn,
)

from .base import BaseModel, Privacy, db, display_date, utcnow
from .journal import Issue
from .papers import Article
from .people import User

# --- the reader's library: stars and collections ---


class Star(BaseModel):
    """A paper the reader starred, wherever they did it (its page, a search, an issue of
    their journal: IssueEntry.starred mirrors it for the issues the paper is in)."""

    PRIVACY = Privacy("Your stars", "The papers you starred, and when.", "Only you.")

    user = ForeignKeyField(User, backref="stars", on_delete="CASCADE")
    article = ForeignKeyField(Article, backref="stars", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "article"), True), (("user", "created_at"), False))

    @classmethod
    def starred_column(cls, reader, pmid_column):
        """`starred` (1 or 0) as a column of a query over articles: one indexed lookup per
        row, folded into the query that reads the articles."""
        found = cls.select(cls.id).where((cls.user == reader) & (cls.article == pmid_column))
        return fn.EXISTS(found).alias("starred")

    @classmethod
    def is_starred(cls, reader, article):
        return cls.select().where((cls.user == reader) & (cls.article == article)).exists()

    @classmethod
    def set(cls, reader, article, starred):
        """Star or unstar `article` for `reader` (idempotent), and mirror it on the entries of
        their journal's issues that list the paper. Call inside a transaction."""
        if starred:
            cls.insert(user=reader, article=article).on_conflict_ignore().execute()
        else:
            cls.delete().where((cls.user == reader) & (cls.article == article)).execute()
        issues = Issue.select(Issue.id).where(Issue.user == reader)
        IssueEntry.update(starred=bool(starred)).where(
            (IssueEntry.article == article) & IssueEntry.issue.in_(issues)
        ).execute()

    @classmethod
    def papers(cls, reader):
        """The reader's starred papers, most recently starred first, each with `starred_at`
        and `retracted` (unexecuted; whole records, as exports need them)."""
        return (
            Article.select(
                Article, cls.created_at.alias("starred_at"), Notice.retracted_column(Article.pmid)
            )  # fmt: skip
            .join(cls)
            .where(cls.user == reader)
            .order_by(cls.created_at.desc(), cls.id.desc())
        )


class CorrectionAlert(BaseModel):
    """A reader told that a paper they are connected to (wrote a note on, starred, received
    in an issue) was retracted, got an expression of concern or an erratum: once per reader,
    paper and kind of notice (a unique index). Filled as the notices arrive (Notice's
    writers call `tell`); `seen_at` when the journal's notice is dismissed, `issued_in` once
    the paper is in an issue's Corrections section, `emailed_at` once that issue is mailed."""

    NATURES = ("retraction", "concern", "correction")
    NOTE, STAR, ISSUE = 1, 2, 3  # the closest connection first
    CONNECTIONS = {NOTE: "you wrote a note on it", STAR: "you starred it",
                   ISSUE: "it was in your journal"}  # fmt: skip
    # The journal page's notice: "A paper you wrote a note on was retracted on 6 Feb 2010".
    SUBJECTS = {NOTE: "A paper you wrote a note on", STAR: "A paper you starred",
                ISSUE: "A paper from your journal"}  # fmt: skip
    VERBS = {"retraction": "was retracted", "concern": "got an expression of concern",
             "correction": "got an erratum"}  # fmt: skip
    PRIVACY = Privacy(
        "Correction alerts",
        "Which papers you noted, starred or received were retracted or corrected, and "
        "whether you have been told.",
        "Only you.",
    )

    user = ForeignKeyField(User, backref="correction_alerts", on_delete="CASCADE")
    article = ForeignKeyField(Article, backref="correction_alerts", on_delete="CASCADE")
    nature = CharField()
    date = CharField(null=True)  # the notice's date as its source gives it, when it does
    connection = SmallIntegerField()
    created_at = DateTimeField(default=utcnow)
    seen_at = DateTimeField(null=True)
    issued_in = ForeignKeyField(Issue, null=True, on_delete="SET NULL")
    emailed_at = DateTimeField(null=True)

    class Meta:
        table_name = "correction_alert"
        indexes = ((("user", "article", "nature"), True), (("user", "seen_at"), False))

    @classmethod
    def tell(cls, pairs, now=None):
        """Tell the readers connected to each paper of `pairs` ((pmid, nature), natures not
        seen on that paper before) that it changed: one INSERT … SELECT per 5,000 pairs,
        readers found by the indexes on the note, star and issue_entry article columns.
        Telling twice tells nothing new."""
        pairs = sorted(pairs)
        now = now or utcnow()
        for start in range(0, len(pairs), 5000):
            chunk = pairs[start : start + 5000]
            values = ", ".join("(?, ?)" for _ in chunk)
            db.execute_sql(
                f"WITH news(pmid, nature) AS (VALUES {values}),"
                " papers AS (SELECT DISTINCT pmid FROM news),"
                f" readers(user_id, pmid, connection) AS ("
                f"SELECT n.author_id, n.article_id, {cls.NOTE} FROM note n"
                " JOIN papers p ON n.article_id = p.pmid WHERE n.deleted_at IS NULL"
                f" UNION ALL SELECT s.user_id, s.article_id, {cls.STAR} FROM star s"
                " JOIN papers p ON s.article_id = p.pmid"
                f" UNION ALL SELECT i.user_id, e.article_id, {cls.ISSUE} FROM issue_entry e"
                " JOIN papers p ON e.article_id = p.pmid JOIN issue i ON i.id = e.issue_id)"
                " INSERT OR IGNORE INTO correction_alert"
                " (user_id, article_id, nature, date, connection, created_at)"
                " SELECT r.user_id, r.pmid, news.nature, (SELECT x.date FROM notice x"
                " WHERE x.pmid = news.pmid AND x.nature = news.nature AND x.date IS NOT NULL"
                " ORDER BY length(x.date) DESC, x.date LIMIT 1), MIN(r.connection), ?"
                " FROM news JOIN readers r ON r.pmid = news.pmid"
                " GROUP BY r.user_id, r.pmid, news.nature",
                [value for pair in chunk for value in pair] + [now],
            )

    # The reader's alerts not yet dismissed, newest first, as a JSON array:
    # [{id, pmid, title, nature, date, connection}]. The reader's id goes between the two.
    UNSEEN = ("(SELECT json_group_array(json_object('id', x.id, 'pmid', x.pmid, 'title',"
              " x.title, 'nature', x.nature, 'date', x.date, 'connection', x.connection))"
              " FROM (SELECT ca.id AS id, ca.article_id AS pmid, a.title AS title, ca.nature"
              " AS nature, COALESCE(ca.date, ca.created_at) AS date, ca.connection AS"
              " connection FROM correction_alert ca JOIN article a ON a.pmid = ca.article_id"
              " WHERE ca.user_id = ",
              " AND ca.seen_at IS NULL ORDER BY ca.id DESC) x)")  # fmt: skip

    @classmethod
    def unseen_column(cls, reader):
        """The reader's unseen alerts (UNSEEN) as a column `alerts_found`, folded into the
        query that reads their issue (one index range of the (user, seen_at) index)."""
        before, after = cls.UNSEEN
        reader_id = getattr(reader, "id", reader)
        return NodeList((SQL(before), Value(reader_id), SQL(after)), glue="").alias("alerts_found")

    @classmethod
    def unseen(cls, reader):
        """The same JSON array as `unseen_column`, read on its own (one query)."""
        before, after = cls.UNSEEN
        reader_id = getattr(reader, "id", reader)
        return db.execute_sql(f"SELECT {before}?{after}", [reader_id]).fetchone()[0]

    @staticmethod
    def listed(found):
        """The alerts of `unseen_column` as dicts, each with its sentence's pieces."""
        alerts = json.loads(found or "[]")
        for alert in alerts:
            alert["when"] = display_date(alert["date"])
            alert["verb"] = CorrectionAlert.VERBS[alert["nature"]]
            alert["why"] = CorrectionAlert.CONNECTIONS[alert["connection"]]
            alert["subject"] = CorrectionAlert.SUBJECTS[alert["connection"]]
        return alerts

    @classmethod
    def dismiss(cls, reader, upto):
        """The reader has seen their alerts up to id `upto` (those the page showed them)."""
        return (
            cls.update(seen_at=utcnow())
            .where((cls.user == reader) & (cls.id <= upto) & cls.seen_at.is_null())
            .execute()
        )

    @classmethod
    def to_issue(cls, reader):
        """The reader's alerts no issue has printed yet, oldest first, with their papers."""
        return list(
            cls.select(
                cls.id, cls.article, cls.nature, cls.date, cls.created_at, cls.connection
            )  # fmt: skip
            .where((cls.user == reader) & cls.issued_in.is_null())
            .order_by(cls.id)
        )

    def reason(self):
        """ "Retracted on 6 Feb 2010", "Expression of concern, 6 Feb 2010", "Erratum, …"."""
        when = display_date(self.date)
        if self.nature == "retraction":
            return f"Retracted on {when}" if when else "Retracted"
        label = "Expression of concern" if self.nature == "concern" else "Erratum"
        return f"{label}, {when}" if when else label


class Collection(BaseModel):
    """A named list of papers the reader keeps ("Journal club, March", "AF anticoagulation"),
    in the order they arranged their collections."""

    MAX_NAME = 100
    PRIVACY = Privacy(
        "Your collections",
        "The names of your collections, their order, and the papers in each.",
        "Only you.",
    )

    user = ForeignKeyField(User, backref="collections", on_delete="CASCADE")
    name = CharField()
    key = CharField()  # the name lowercased: two collections cannot differ only in case
    position = IntegerField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "key"), True), (("user", "position"), False))

    @classmethod
    def of(cls, reader):
        """The reader's collections in their order, each with `size` (papers in it), from one
        query (unexecuted)."""
        return (
            cls.select(cls, fn.COUNT(CollectionItem.id).alias("size"))
            .join(CollectionItem, JOIN.LEFT_OUTER)
            .where(cls.user == reader)
            .group_by(cls.id)
            .order_by(cls.position, cls.id)
        )

    @classmethod
    def for_reader(cls, collection_id, reader):
        """One of the reader's collections, or None: another reader's is as good as missing."""
        return cls.get_or_none((cls.id == collection_id) & (cls.user == reader))

    @classmethod
    def holding(cls, reader, article):
        """The reader's collections in order, each with `holds` (1 or 0: whether `article` is
        in it), from one query (unexecuted)."""
        inside = CollectionItem.select(CollectionItem.id).where(
            (CollectionItem.collection == cls.id) & (CollectionItem.article == article)
        )
        return (
            cls.select(cls, fn.EXISTS(inside).alias("holds"))
            .where(cls.user == reader)
            .order_by(cls.position, cls.id)
        )

    @classmethod
    def create_for(cls, reader, name):
        """A new collection at the end of the reader's list. Call inside a transaction; an
        IntegrityError means the reader already has one of that name."""
        last = cls.select(fn.MAX(cls.position)).where(cls.user == reader).scalar()
        return cls.create(user=reader, name=name, key=name.lower(), position=(last or 0) + 1)

    def move(self, step):
        """Swap places with the neighbour before (step -1) or after (step 1); False at an end.
        Call inside a transaction."""
        cls = type(self)
        mine = cls.user == self.user_id
        if step < 0:
            near = cls.select().where(mine & (cls.position < self.position))
            near = near.order_by(cls.position.desc())
        else:
            near = cls.select().where(mine & (cls.position > self.position)).order_by(cls.position)
        neighbour = near.first()
        if neighbour is None:
            return False
        self.position, neighbour.position = neighbour.position, self.position
        self.save(only=[cls.position])
        neighbour.save(only=[cls.position])
        return True

    def papers(self):
        """The papers in this collection in the order they were added, each with `starred`
        (whether the collection's owner starred it) from the same query (unexecuted)."""
        return (
            Article.select(
                Article,
                CollectionItem.added_at.alias("added_at"),
                Star.starred_column(self.user_id, Article.pmid),
                Notice.retracted_column(Article.pmid),
            )
            .join(CollectionItem)
            .where(CollectionItem.collection == self)
            .order_by(CollectionItem.position, CollectionItem.id)
        )

    def add(self, article):
        """Put `article` at the end of the collection (nothing happens if it is there)."""
        last = (
            CollectionItem.select(fn.MAX(CollectionItem.position))
            .where(CollectionItem.collection == self)
            .scalar()
        )
        CollectionItem.insert(
            collection=self, article=article, position=(last or 0) + 1
        ).on_conflict_ignore().execute()

    def remove(self, article):
        """Take `article` out of the collection; returns whether it was in it."""
        items = CollectionItem.delete().where(
            (CollectionItem.collection == self) & (CollectionItem.article == article)
        )
        return bool(items.execute())


class CollectionItem(BaseModel):
    """A paper in a collection, in the order it was added."""

    collection = ForeignKeyField(Collection, backref="items", on_delete="CASCADE")
    article = ForeignKeyField(Article, backref="collection_items", on_delete="CASCADE")
    position = IntegerField()
    added_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("collection", "article"), True), (("collection", "position"), False))


# Imported last, lowest layer first (base; papers, notices, vocabulary, sync and the engine
# corner; people; journal; library): these modules import this one's tables, which refer to
# theirs only inside methods, so each module defines its tables before another asks for them.
# isort: off
from .notices import Notice
from .journal import IssueEntry
# isort: on
