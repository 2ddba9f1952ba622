"""Corrections and retractions: the notices PubMed and Retraction Watch publish about papers."""

import re

from peewee import SQL, BigIntegerField, CharField, NodeList, TextField

from .base import MONTHS, BaseModel, bulk

# CommentsCorrections RefTypes and publication types that change what a paper can be trusted
# for, keyed lowercased (real records vary the case): RefType → (nature, which side the
# record is on). "in": the record is the paper, the link its notice; "of": the record is the
# notice, the link the paper it concerns.
NOTICE_LINKS = {
    "retractionin": ("retraction", "in"), "retractionof": ("retraction", "of"),
    "expressionofconcernin": ("concern", "in"), "expressionofconcernfor": ("concern", "of"),
    "erratumin": ("correction", "in"), "erratumfor": ("correction", "of"),
    "partialretractionin": ("correction", "in"), "partialretractionof": ("correction", "of"),
    "updatein": ("update", "in"), "updateof": ("update", "of"),
}  # fmt: skip


RETRACTED_TYPE = "retracted publication"


# Publication types that make the record a notice (its page says what it concerns).
NOTICE_TYPES = {
    "retraction of publication": "retraction", "expression of concern": "concern",
    "published erratum": "correction",
}  # fmt: skip


NATURES = ("retraction", "concern", "correction", "update")


# "Nat Genet. 1995 Sep;11(1):104" → 1995, Sep, (day): the date a RefSource gives its notice.
SOURCE_DATE = re.compile(r"\b(1[89]\d\d|20\d\d)(?: ([A-Z][a-z]{2}))?(?: (\d{1,2}))?\b")


class Notice(BaseModel):
    """A retraction, expression of concern, correction or update of a paper (`pmid`, stored
    here or not), from PubMed's records (`source` "pubmed", `origin` the PMID of the record
    that says it: the paper's own `RetractionIn`, or the notice's `RetractionOf`) or from
    Retraction Watch (`source` "retractionwatch", `origin` its Record ID). `notice_pmid` is
    the notice's PMID when known. The importer writes a batch's rows with its articles
    (`rows_for`, `replace_for`); `import-retractions` replaces a CSV's rows by Record ID.
    The same fact read from both sides is two rows: readers merge them (retractions.py)."""

    pmid = BigIntegerField()
    nature = CharField()  # retraction | concern | correction | update
    notice_pmid = BigIntegerField(null=True)
    notice_doi = CharField(null=True)
    date = CharField(null=True)  # "YYYY-MM-DD", "YYYY-MM" or "YYYY": what the source gives
    citation = TextField(null=True)  # the notice's citation, as the source writes it
    reason = TextField(null=True)  # Retraction Watch's reasons, "; "-separated
    source = CharField()  # pubmed | retractionwatch
    origin = BigIntegerField()  # a PMID or a Record ID

    class Meta:
        indexes = ((("pmid", "nature"), False), (("notice_pmid",), False),
                   (("source", "origin"), False))  # fmt: skip

    COLUMNS = ("pmid", "nature", "notice_pmid", "notice_doi", "date", "citation", "reason",
               "source", "origin")  # fmt: skip

    @staticmethod
    def rows_for(record):
        """The notice rows (tuples in COLUMNS order) one PubMed record says: its own
        retraction, concern, errata and updates, what it is the notice of, and the
        `Retracted Publication` type when no RetractionIn names the notice. Each row once."""
        pmid, found = record["pmid"], {}
        for link in record.get("comments_corrections") or ():
            nature, side = NOTICE_LINKS.get((link.get("type") or "").lower(), (None, None))
            other = link.get("pmid")
            if nature is None or other == pmid or (side == "of" and other is None):
                continue
            if side == "in":
                key = (pmid, nature, other)
                found.setdefault(key, (link.get("source"), _source_date(link.get("source"))))
            else:  # this record is the notice: its own citation and date
                found.setdefault((other, nature, pmid), (_notice_citation(record),
                                                         _record_date(record)))  # fmt: skip
        types = {kind.lower() for kind in record.get("publication_types") or ()}
        if RETRACTED_TYPE in types and not any(k[0] == pmid and k[1] == "retraction"
                                               for k in found):  # fmt: skip
            found[(pmid, "retraction", None)] = (None, None)
        return [
            (paper, nature, notice, None, date, citation, None, "pubmed", pmid)
            for (paper, nature, notice), (citation, date) in found.items()
        ]

    @classmethod
    def replace_for(cls, pmids, rows, tell=True):
        """PubMed's notice rows read from the records `pmids` become `rows` (a batch's); the
        readers of a paper that gets a new kind of notice are told (CorrectionAlert.tell)."""
        before = cls._kinds_known(rows) if tell else None
        if pmids:
            cls.delete().where((cls.source == "pubmed") & cls.origin.in_(list(pmids))).execute()
        bulk.insert_or_ignore("notice", cls.COLUMNS, rows)
        if tell:
            CorrectionAlert.tell(cls._kinds(rows) - before)

    @classmethod
    def replace_records(cls, source, origins, rows):
        """The rows of `source`'s records `origins` (Retraction Watch Record IDs) become
        `rows`; returns the set of those records that were stored before."""
        origins = list(origins)
        known = cls._kinds_known(rows)
        before = set()
        for start in range(0, len(origins), 5000):
            chunk = origins[start : start + 5000]
            query = cls.select(cls.origin).where((cls.source == source) & cls.origin.in_(chunk))
            before.update(origin for (origin,) in query.tuples())
            cls.delete().where((cls.source == source) & cls.origin.in_(chunk)).execute()
        bulk.insert_or_ignore("notice", cls.COLUMNS, rows)
        CorrectionAlert.tell(cls._kinds(rows) - known)
        return before

    @staticmethod
    def _kinds(rows):
        """The (paper, nature) pairs of notice rows that readers are told of."""
        return {(row[0], row[1]) for row in rows if row[1] in CorrectionAlert.NATURES}

    @classmethod
    def _kinds_known(cls, rows):
        """Which of the rows' (paper, nature) pairs the table holds already (from any source):
        those are not news. One indexed query per 5,000 papers."""
        pmids = sorted({pmid for pmid, _ in cls._kinds(rows)})
        known = set()
        for start in range(0, len(pmids), 5000):
            query = (
                cls.select(cls.pmid, cls.nature)
                .where(cls.pmid.in_(pmids[start : start + 5000]))
                .distinct()
            )
            known.update(query.tuples())
        return known

    @classmethod
    def retracted_sql(cls, pmid_column):
        """SQL true when the paper whose PMID is `pmid_column` (SQL text) is retracted: one
        probe of the (pmid, nature) index."""
        return (f"EXISTS (SELECT 1 FROM notice rn WHERE rn.pmid = {pmid_column}"
                " AND rn.nature = 'retraction')")  # fmt: skip

    @classmethod
    def retracted_column(cls, pmid_column):
        """`retracted` (0 or 1) as a column of a query over articles (`pmid_column` their
        PMID), folded into that query."""
        return NodeList(
            (SQL("EXISTS (SELECT 1 FROM notice rn WHERE rn.pmid = "), pmid_column,
             SQL(" AND rn.nature = 'retraction')")),
            glue="",
        ).alias("retracted")  # fmt: skip


def _source_date(source):
    """ "YYYY-MM-DD", "YYYY-MM" or "YYYY" from a RefSource ("Nat Genet. 1995 Sep;11(1):104"),
    or None."""
    match = SOURCE_DATE.search(source or "")
    if not match:
        return None
    year, month, day = match.groups()
    number = MONTHS.index(month) + 1 if month in MONTHS else None
    if number is None:
        return year
    return f"{year}-{number:02d}" + (f"-{int(day):02d}" if day else "")


def _record_date(record):
    year, month, day = record.get("pub_year"), record.get("pub_month"), record.get("pub_day")
    if not year:
        return (record.get("epub_date") or None) and record["epub_date"][:10]
    return f"{year:04d}" + (f"-{month:02d}" if month else "") + (
        f"-{day:02d}" if month and day else "")  # fmt: skip


def _notice_citation(record):
    """The notice's own citation line, from its record ("J Int Oral Health. 2016 …")."""
    names = ("journal_iso", "journal_abbrev", "journal_title", "pub_year", "pub_month",
             "pub_day", "pub_date_text", "volume", "issue", "pages")  # fmt: skip
    return Article(**{name: record.get(name) for name in names}).citation_line


# Imported last, lowest layer first (base; papers, notices, vocabulary, sync and the engine
# corner; people; journal; library): these modules import this one's tables, which refer to
# theirs only inside methods, so each module defines its tables before another asks for them.
# isort: off
from .papers import Article
from .library import CorrectionAlert
# isort: on
