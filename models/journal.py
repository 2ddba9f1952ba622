"""The journal: what readers follow, their issues and entries, and their feedback."""

import dataclasses
import datetime

from peewee import (
    JOIN,
    BooleanField,
    Case,
    CharField,
    Check,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    SmallIntegerField,
    TextField,
    fn,
)

from .base import BaseModel, Privacy, utcnow
from .papers import Article
from .people import User


class Interest(BaseModel):
    """Something a reader's journal follows: a MeSH heading, a keyword, a journal or a
    publication type, spelled as the papers spell it."""

    KINDS = {"mesh": "MeSH heading", "keyword": "Keyword", "journal": "Journal",
             "type": "Publication type"}  # fmt: skip
    # A followed search (a query as typed in the search box) is made from the results page,
    # not the picker, so it stays out of KINDS (the picker's list).
    SEARCH = "search"
    # A clinical filter (clinical.py: PubMed's Clinical Queries) is picked from a list.
    FILTER = "filter"
    LABELS = {**KINDS, SEARCH: "Search", FILTER: "Clinical filter"}
    MAX_PER_READER = 30
    MAX_LENGTH = 200
    PRIVACY = Privacy(
        "What your journal follows",
        "The headings, keywords, journals, publication types, searches and filters your "
        "journal follows.",
        "Only you.",
    )

    user = ForeignKeyField(User, backref="interests", on_delete="CASCADE")
    kind = CharField()
    value = CharField()
    key = CharField()  # the value lowercased: a reader follows a term once, however typed
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "kind", "key"), True),)

    @classmethod
    def of(cls, user):
        """The reader's interests in the order they chose them (unexecuted)."""
        return cls.select().where(cls.user == user).order_by(cls.created_at, cls.id)

    @classmethod
    def listed(cls, user):
        """The reader's interests as the picker lists them, in one query: each has `narrower`,
        how many MeSH headings are below it when it is a MeSH heading in the tree (else 0)."""
        below = Case(None, [(cls.kind == "mesh", MeshDescriptor.narrower_count(cls.key))], 0)
        return cls.of(user).select_extend(below.alias("narrower"))

    @classmethod
    def for_reader(cls, interest_id, user):
        """One of the reader's interests, or None (someone else's is as good as missing)."""
        return cls.get_or_none((cls.id == interest_id) & (cls.user == user))

    @property
    def kind_label(self):
        return self.LABELS[self.kind]


class Issue(BaseModel):
    """One issue of a reader's Medical Journal of You: the papers added to Pearl between
    `covers_from` and `covers_until` that match their interests. One per reader and period
    (a unique index), so assembling twice never makes a duplicate."""

    user = ForeignKeyField(User, backref="issues", on_delete="CASCADE")
    number = IntegerField()  # the reader's running number, as some journals count: No. 1, 2 …
    volume = IntegerField()  # one volume per calendar year, from the year of the first issue
    frequency = CharField()
    period_start = DateTimeField()
    period_end = DateTimeField()
    covers_from = DateTimeField(null=True)  # None: the first issue draws on the whole library
    covers_until = DateTimeField()  # where the next issue starts: no paper is missed or repeated
    created_at = DateTimeField(default=utcnow)
    emailed_at = DateTimeField(null=True)
    # How many new papers matched the reader's interests (counted up to MATCHED_CAP), of
    # which the issue holds the strongest: what it spared them. None: made before migration 11.
    matched = IntegerField(null=True)

    MATCHED_CAP = 10_000
    PRIVACY = Privacy(
        "Your journal's issues",
        "Each issue of your Medical Journal of You: its papers, which you read or starred, "
        "and when it was emailed to you.",
        "Only you (and whoever has your journal's private feed address).",
    )

    class Meta:
        indexes = ((("user", "period_start"), True), (("user", "number"), True))

    @staticmethod
    def period_for(frequency, moment):
        """(start, end) of the daily, weekly (from Monday) or monthly period holding `moment`,
        in naive UTC like every stored timestamp."""
        day = datetime.datetime.combine(moment.date(), datetime.time())
        if frequency == "daily":
            return day, day + datetime.timedelta(days=1)
        if frequency == "monthly":
            start = day.replace(day=1)
            return start, (start + datetime.timedelta(days=32)).replace(day=1)
        start = day - datetime.timedelta(days=day.weekday())
        return start, start + datetime.timedelta(days=7)

    @classmethod
    def of(cls, user):
        """The reader's issues, newest first (unexecuted)."""
        return cls.select().where(cls.user == user).order_by(cls.number.desc())

    @classmethod
    def numbered(cls, user, number):
        return cls.get_or_none((cls.user == user) & (cls.number == number))

    @classmethod
    def archive(cls, user):
        """The reader's issues, newest first, each with `total`, `unread` and `stars` counted
        in the same query."""
        unread = fn.SUM(Case(None, [(IssueEntry.read_at.is_null(), 1)], 0))
        stars = fn.SUM(Case(None, [(IssueEntry.starred == True, 1)], 0))  # noqa: E712
        return (
            cls.of(user)
            .select_extend(
                fn.COUNT(IssueEntry.id).alias("total"),
                unread.alias("unread"),
                stars.alias("stars"),
            )
            .join(IssueEntry, JOIN.LEFT_OUTER)
            .group_by(cls.id)
        )

    @property
    def period_label(self):
        """ "week of 16 Nov 2026", "24 Nov 2026" or "November 2026"."""
        if self.frequency == "daily":
            return self.period_start.strftime("%-d %b %Y")
        if self.frequency == "monthly":
            return self.period_start.strftime("%B %Y")
        return self.period_start.strftime("week of %-d %b %Y")

    def spared(self, shown):
        """What the issue spared its reader, in words, for the `shown` papers it holds under
        their interests: "1,284 new papers matched your interests; these 20 are the
        strongest." None for an issue made before issues counted."""
        if self.matched is None:
            return None
        if self.matched > self.MATCHED_CAP:
            count, noun = f"More than {self.MATCHED_CAP:,}", "papers"
        else:
            count, noun = f"{self.matched:,}", "paper" if self.matched == 1 else "papers"
        where = f"new {noun}" if self.covers_from else f"{noun} in the library"
        matched = f"{count} {where} matched your interests"
        if self.matched > shown:
            these = "this is" if shown == 1 else f"these {shown} are"
            return f"{matched}; {these} the strongest."
        return f"{matched}." if self.matched else None

    @property
    def label(self):
        """ "Vol. 1, No. 3 · week of 16 Nov 2026" """
        return f"Vol. {self.volume}, No. {self.number} · {self.period_label}"


class IssueEntry(BaseModel):
    """A paper in an issue: where the table of contents files it, why it is there, and what
    the reader has done with it (read, starred)."""

    BEYOND = "Beyond your field"
    CORRECTIONS = "Corrections"  # first in an issue: changed papers the reader knows

    issue = ForeignKeyField(Issue, backref="entries", on_delete="CASCADE")
    # A withdrawn record leaves the issues it was in.
    article = ForeignKeyField(Article, backref="issue_entries", on_delete="CASCADE")
    position = IntegerField()  # 1, 2, 3 … in the order the table of contents lists them
    section = TextField()  # the interest it is filed under, or BEYOND
    beyond = BooleanField(default=False)
    reason = TextField()
    score = FloatField()
    read_at = DateTimeField(null=True)
    starred = BooleanField(default=False)

    class Meta:
        indexes = ((("issue", "article"), True), (("issue", "position"), False))

    # What a table of contents shows of a paper (never the abstract).
    LISTED = (
        Article.pmid, Article.title, Article.journal_title, Article.journal_abbrev,
        Article.pub_year, Article.pub_month, Article.pub_day, Article.pub_date_text,
        Article.publication_types, Article.authors,
    )  # fmt: skip

    @classmethod
    def contents(cls, issues):
        """The entries of `issues` (one issue or several, all one reader's) with their papers
        and the reader's `verdict` on each (Feedback), in table-of-contents order (unexecuted)."""
        issues = issues if isinstance(issues, list) else [issues]
        issue_ids = [issue.id for issue in issues]
        reader = issues[0].user_id if issues else None
        return (
            cls.select(cls, *cls.LISTED, Feedback.verdict_column(reader, cls.article))
            .join(Article)
            .where(cls.issue.in_(issue_ids))
            .order_by(cls.issue, cls.position)
        )

    @classmethod
    def for_reader(cls, entry_id, user):
        """One entry of the reader's issues, with its issue, paper and the reader's `verdict`;
        None if not theirs."""
        return (
            cls.select(cls, Issue, *cls.LISTED, Feedback.verdict_column(user, cls.article))
            .join(Issue)
            .switch(cls)
            .join(Article)
            .where((cls.id == entry_id) & (Issue.user == user))
            .get_or_none()
        )

    @classmethod
    def starred_by(cls, user):
        """Every paper the reader starred in any issue, newest issue first, with the reader's
        `verdict` on each (unexecuted)."""
        return (
            cls.select(cls, Issue, *cls.LISTED, Feedback.verdict_column(user, cls.article))
            .join(Issue)
            .switch(cls)
            .join(Article)
            .where((Issue.user == user) & (cls.starred == True))  # noqa: E712
            .order_by(Issue.number.desc(), cls.position)
        )


# --- what the reader tells the journal ---


class Feedback(BaseModel):
    """A reader's "More like this" (+1) or "Fewer like this" (−1) on a paper of their journal:
    one verdict per reader and paper (a unique index), whichever issue it was given in. Later
    issues rank by the reader's verdicts (preferences.py); stored issues never change."""

    MORE, FEWER = 1, -1
    # What the buttons send: "none" takes the verdict back.
    VERDICTS = {"more": MORE, "fewer": FEWER, "none": 0}
    PRIVACY = Privacy(
        "More or fewer like this",
        "Your “More like this” and “Fewer like this” on papers of your journal.",
        "Only you: it ranks your later issues.",
    )

    user = ForeignKeyField(User, backref="feedback", on_delete="CASCADE")
    article = ForeignKeyField(Article, backref="feedback", on_delete="CASCADE")
    verdict = SmallIntegerField(constraints=[Check("verdict IN (-1, 1)")])
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "article"), True),)

    @classmethod
    def verdict_column(cls, reader, article_column):
        """`verdict` (1, −1, or 0 for none) as a column of a query over a reader's papers: one
        lookup in the unique index per row, folded into the query that reads them."""
        found = cls.select(cls.verdict).where(
            (cls.user == reader) & (cls.article == article_column)
        )
        return fn.COALESCE(found, 0).alias("verdict")

    @classmethod
    def set(cls, reader, article, verdict):
        """Record `verdict` (MORE, FEWER, or 0 to take it back) on `article` for `reader`; the
        newest verdict replaces any earlier one. Call inside a transaction."""
        if not verdict:
            cls.delete().where((cls.user == reader) & (cls.article == article)).execute()
            return
        cls.insert(user=reader, article=article, verdict=verdict, created_at=utcnow()).on_conflict(
            conflict_target=[cls.user, cls.article],
            update={cls.verdict: verdict, cls.created_at: utcnow()},
        ).execute()

    @classmethod
    def rated_papers(cls, reader):
        """(verdict, mesh, keywords) of every paper the reader rated (unexecuted tuples): what
        their preferences are made of, in one query."""
        return (
            cls.select(cls.verdict, Article.mesh, Article.keywords)
            .join(Article)
            .where(cls.user == reader)
            .order_by(cls.created_at, cls.id)
            .tuples()
        )

    @classmethod
    def reset(cls, reader):
        """Forget every verdict the reader gave; returns how many there were. Call inside a
        transaction."""
        return cls.delete().where(cls.user == reader).execute()


@dataclasses.dataclass(frozen=True)
class Arm:
    """One way a paper can match a journal interest: side-table rows (`facet` is the kind, as
    in ArticleFacet, `keys` its lowercased keys), a full-text query (`fts`), or a followed
    search (`fts` and/or search_query filters). An interest is one or more arms."""

    facet: str | None = None
    keys: tuple = ()
    fts: str | None = None
    filters: tuple = ()


@dataclasses.dataclass(frozen=True)
class Window:
    """The papers an issue draws on: added in [since, until) (None: unbounded). When `since`
    is given, `size` is how many there are (counted up to a cap) and `low`/`high` their
    lowest and highest PMID while the window is small: new PubMed records have new PMIDs,
    so a rowid range narrows a full-text match to them."""

    since: datetime.datetime | None
    until: datetime.datetime | None
    size: int | None = None
    low: int | None = None
    high: int | None = None
    dense: bool = False  # the PMID range holds few papers besides the window's own


# Imported last, lowest layer first (base; papers, notices, vocabulary, sync and the engine
# corner; people; journal; library): these modules import this one's tables, which refer to
# theirs only inside methods, so each module defines its tables before another asks for them.
# isort: off
from .vocabulary import MeshDescriptor
# isort: on
