"""Pearl's tables, the database handle, schema migrations and the queries the views use.

Everything engine-specific (SQLite pragmas, the FTS5 index) sits behind the few functions
at the bottom of this module, so the rest of the code runs unchanged on PostgreSQL later.
"""

import dataclasses
import datetime
import functools
import hashlib
import html
import json
import os
import re
import secrets
import shutil
from collections import Counter

from flask_login import UserMixin
from peewee import (
    JOIN,
    SQL,
    BooleanField,
    Case,
    CharField,
    Check,
    CompositeKey,
    DatabaseProxy,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    NodeList,
    Select,
    SmallIntegerField,
    SqliteDatabase,
    TextField,
    Tuple,
    Value,
    fn,
)
from playhouse import db_url
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_schema
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField
from werkzeug.security import check_password_hash, generate_password_hash

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # Import and the web server may write at once; wait rather than fail with "locked".
    "busy_timeout": 5000,
    "synchronous": "normal",
}

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


class JSONField(TextField):
    """A list or dict stored as JSON text: portable across SQLite and PostgreSQL."""

    encode = staticmethod(_json_encode())

    def db_value(self, value):
        # Already text: an import encodes its rows itself (see Article.upsert_many).
        return value if value is None or isinstance(value, str) else self.encode(value)

    def python_value(self, value):
        return None if value is None else json.loads(value)


# SQL defaults of JSON columns added to existing tables (see Article).
EMPTY_LIST = [SQL("DEFAULT '[]'")]
EMPTY_DICT = [SQL("DEFAULT '{}'")]


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Article(BaseModel):
    """One PubMed record, keyed by PMID. Lists (authors, abstract, MeSH…) are JSON columns:
    they are always read whole with the article, and one row per record keeps import fast."""

    pmid = IntegerField(primary_key=True)
    doi = CharField(null=True)
    pmcid = CharField(null=True)
    title = TextField()  # sanitised HTML: inline <i>, <sup>, <sub>, <b>, <u> and MathML only
    vernacular_title = TextField(null=True)
    journal_title = TextField(null=True)
    journal_iso = CharField(null=True)  # ISOAbbreviation, as the record gives it
    journal_abbrev = CharField(null=True)  # MedlineTA: the form citations use
    issn = CharField(null=True)
    volume = CharField(null=True)
    issue = CharField(null=True)
    pages = CharField(null=True)
    pub_year = SmallIntegerField(null=True)
    pub_month = SmallIntegerField(null=True)
    pub_day = SmallIntegerField(null=True)
    pub_date_text = CharField(null=True)  # MedlineDate ("2012 Jul-Aug") or a season
    sort_date = CharField(index=True)  # "YYYY-MM-DD", what "recent" orders by
    epub_date = CharField(null=True)
    language = CharField(null=True)  # the first of `languages`, what exports write
    copyright = TextField(null=True)
    # [{"last", "fore", "initials", "orcid" ("0000-0002-1825-0097" or None), "affiliations"}],
    # a group author as {"collective", "affiliations"}
    authors = JSONField(default=list)
    abstract = JSONField(default=list)  # [{"label": ..., "text": html}]
    mesh = JSONField(default=list)  # [{"name", "ui", "major", "qualifiers": [[name, major]]}]
    keywords = JSONField(default=list)
    publication_types = JSONField(default=list)
    # Added by migration 5. The SQL DEFAULT lets ALTER TABLE add them NOT NULL to a table
    # of any size at once (SQLite and PostgreSQL): rows stored before read as empty.
    languages = JSONField(default=list, constraints=EMPTY_LIST)  # ["eng", "ita"], as coded
    grants = JSONField(default=list, constraints=EMPTY_LIST)  # [{id, acronym, agency, country}]
    chemicals = JSONField(default=list, constraints=EMPTY_LIST)  # [{name, ui, registry}]
    # [{"type": "RetractionIn", "pmid": int or None, "source": RefSource, "note": Note}]
    comments_corrections = JSONField(default=list, constraints=EMPTY_LIST)
    # [{"type", "language", "sections": [{"label", "text": html}], "copyright"}]
    other_abstracts = JSONField(default=list, constraints=EMPTY_LIST)
    article_ids = JSONField(default=dict, constraints=EMPTY_DICT)  # {IdType: value}
    record_hash = CharField()
    added_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)

    @classmethod
    def columns(cls):
        """Every column, in table order: an import writes them all (`added_at` only once)."""
        return cls._meta.sorted_field_names

    @classmethod
    def listed(cls):
        """What a list of papers shows of each (never the abstract or the rest of the record)."""
        return (cls.pmid, cls.title, cls.journal_title, cls.journal_abbrev, cls.pub_year,
                cls.pub_month, cls.pub_day, cls.pub_date_text, cls.publication_types,
                cls.authors, cls.sort_date)  # fmt: skip

    # Keyset paging over (sort_date, pmid), newest first: a page starts after the last row of
    # the one before, so no page counts or skips the rows above it (OFFSET reads them all).
    # Written as row values, (sort_date, pmid) < (?, ?), which SQLite answers from the
    # sort_date index (it holds the rowid, the PMID); `a < ? OR (a = ? AND b < ?)` scans.

    @classmethod
    def recent(cls, limit, before=None):
        """Up to `limit` papers newest first (publication date, then PMID), those older than
        the key `before` ((sort_date, pmid)) when given."""
        query = cls.select(*cls.listed())
        if before is not None:
            query = query.where(Tuple(cls.sort_date, cls.pmid) < Tuple(*before))
        return list(query.order_by(cls.sort_date.desc(), cls.pmid.desc()).limit(limit))

    @classmethod
    def recent_after(cls, after, limit):
        """Up to `limit` papers just newer than the key `after`, newest first: the page
        before the one that starts at `after`."""
        query = (
            cls.select(*cls.listed())
            .where(Tuple(cls.sort_date, cls.pmid) > Tuple(*after))
            .order_by(cls.sort_date, cls.pmid)
            .limit(limit)
        )
        return list(query)[::-1]

    @classmethod
    def any_beyond(cls, key, older):
        """Whether a paper is older (or, `older` false, newer) than the key: one index probe."""
        row, key = Tuple(cls.sort_date, cls.pmid), Tuple(*key)
        return cls.select(cls.pmid).where(row < key if older else row > key).exists()

    @property
    def page_key(self):
        """(sort_date, pmid): where this paper stands in the list of recent papers."""
        return (self.sort_date, self.pmid)

    @classmethod
    def for_page(cls, pmid, reader=None):
        """The article with `linked_in_library` (the PMIDs of its comments and corrections
        that are stored here, as JSON) and `notices_found` (its retractions, corrections…
        and what it is the notice of, as JSON: see retractions.py) from the same query. With
        a signed-in `reader`, `starred` (0 or 1) says whether they starred it, also folded in."""
        columns = [cls, json_corner.linked_pmids(cls.comments_corrections),
                   json_corner.notices_of(cls.pmid)]  # fmt: skip
        if reader is not None:
            columns.append(Star.starred_column(reader, cls.pmid))
        return cls.select(*columns).where(cls.pmid == pmid).get_or_none()

    @classmethod
    def with_retracted(cls):
        """Whole articles, each with `retracted` (0 or 1) from the same query: what exports
        read (unexecuted)."""
        return cls.select(cls, Notice.retracted_column(cls.pmid))

    @classmethod
    def hashes_for(cls, pmids):
        """{pmid: record_hash} for the given PMIDs that are already stored."""
        query = cls.select(cls.pmid, cls.record_hash).where(cls.pmid.in_(list(pmids)))
        return dict(query.tuples())

    @classmethod
    def pmids_for_dois(cls, dois):
        """{lowercased DOI: PMID} of the papers stored with these DOIs (given lowercased):
        searches of the LOWER(doi) index, a chunk at a time."""
        dois, found = list(dois), {}
        for start in range(0, len(dois), 500):
            lowered = fn.LOWER(cls.doi)
            query = cls.select(lowered, cls.pmid).where(lowered.in_(dois[start : start + 500]))
            found.update(query.tuples())
        return found

    @classmethod
    def stored_pmids(cls, pmids):
        """The PMIDs among `pmids` that are stored here."""
        pmids, found = list(pmids), set()
        for start in range(0, len(pmids), 500):
            query = cls.select(cls.pmid).where(cls.pmid.in_(pmids[start : start + 500]))
            found.update(pmid for (pmid,) in query.tuples())
        return found

    @classmethod
    def upsert_many(cls, rows):
        """Insert or update many rows, given as dicts of every column holding stored values
        (JSON columns already encoded by the importer, which has just built them)."""
        if rows:
            bulk.upsert(cls, rows, conflict="pmid", keep=("added_at",))

    @classmethod
    def delete_pmids(cls, pmids):
        """Remove articles (and their search rows); returns how many were removed. Articles
        readers have written notes on are kept: a withdrawn record must not take notes with it."""
        # Nor stars and collections: a reader's library does not shrink behind their back.
        kept = Note.select(Note.article).where(Note.article.in_(pmids))
        kept = kept.union(Star.select(Star.article).where(Star.article.in_(pmids)))
        kept = kept.union(
            CollectionItem.select(CollectionItem.article).where(CollectionItem.article.in_(pmids))
        )
        with_notes = {pmid for (pmid,) in kept.tuples()}
        pmids = [pmid for pmid in pmids if pmid not in with_notes]
        if not pmids:
            return 0
        with db.atomic():
            # The suggestions' counts and the library's size go down with the papers.
            terms = Term.stored(pmids)
            search_index.delete(pmids)
            ArticleFacet.delete().where(ArticleFacet.pmid.in_(pmids)).execute()
            Notice.replace_for(pmids, [])
            removed = cls.delete().where(cls.pmid.in_(pmids)).execute()
            Term.apply(removed=terms.values())
            LibraryStats.add_papers(-removed)
        return removed

    # --- what the page shows, derived from the stored record ---

    @property
    def title_text(self):
        return html_to_text(self.title)

    @property
    def vernacular_title_text(self):
        return html_to_text(self.vernacular_title)

    @property
    def month_name(self):
        return MONTHS[self.pub_month - 1] if self.pub_month else None

    @property
    def display_date(self):
        """ "Jul 2012" (the seed's journal line); a MedlineDate as given."""
        if self.pub_date_text:
            return self.pub_date_text
        return " ".join(str(p) for p in (self.month_name, self.pub_year) if p)

    @property
    def citation_date(self):
        """ "2012 Jul 1", as PubMed writes the date in a citation."""
        if self.pub_date_text:
            return self.pub_date_text
        return " ".join(str(p) for p in (self.pub_year, self.month_name, self.pub_day) if p)

    @property
    def citation_line(self):
        """ "Lancet Neurol. 2012 Jul 1; 11 (7): 629-42." — the seed's citation line."""
        text = f"{self.journal_iso or self.journal_abbrev or self.journal_title or ''}"
        text += f" {self.citation_date}" if self.citation_date else ""
        if self.volume or self.issue or self.pages:
            text += ";"
            text += f" {self.volume}" if self.volume else ""
            text += f" ({self.issue})" if self.issue else ""
            text += f": {self.pages}" if self.pages else ""
        return text.strip() + "."

    @property
    def author_names(self):
        """["Margarita Calvo", …] in order, collective names as given."""
        return [
            a.get("collective") or " ".join(p for p in (a.get("fore"), a.get("last")) if p)
            for a in self.authors
        ]

    @property
    def author_line(self):
        """ "Margarita Calvo, John M Dawes, and David L H Bennett." """
        names = self.author_names
        if not names:
            return ""
        if len(names) == 1:
            return names[0] + "."
        if len(names) == 2:
            return f"{names[0]} and {names[1]}."
        return ", ".join(names[:-1]) + f", and {names[-1]}."

    @property
    def affiliations(self):
        """Every distinct affiliation, in the order the authors list them."""
        seen = {}
        for author in self.authors:
            for affiliation in author.get("affiliations", ()):
                seen.setdefault(affiliation, None)
        return list(seen)

    # Types that say nothing about the study design; the page shows the most specific one.
    GENERIC_TYPES = {"Journal Article", "English Abstract"}

    @property
    def article_type(self):
        """The one type the page heading shows ("Review"), skipping generic and funding types."""
        for kind in self.publication_types:
            if kind not in self.GENERIC_TYPES and not kind.startswith("Research Support"):
                return kind
        return self.publication_types[0] if self.publication_types else None

    @property
    def author_entries(self):
        """(name, ORCID iD or None, what follows the name) for each author: the author line
        written out with each author's iD beside their name."""
        names = self.author_names
        entries = []
        for index, (author, name) in enumerate(zip(self.authors, names, strict=True)):
            if index == len(names) - 1:
                after = "."
            elif index == len(names) - 2:
                after = " and " if len(names) == 2 else ", and "
            else:
                after = ", "
            entries.append((name, author.get("orcid"), after))
        return entries

    # ISO 639-2 codes PubMed uses, the name the page shows and the tag HTML's `lang` takes.
    LANGUAGES = {
        "eng": ("English", "en"), "fre": ("French", "fr"), "ger": ("German", "de"),
        "spa": ("Spanish", "es"), "ita": ("Italian", "it"), "por": ("Portuguese", "pt"),
        "pol": ("Polish", "pl"), "rus": ("Russian", "ru"), "jpn": ("Japanese", "ja"),
        "chi": ("Chinese", "zh"), "dut": ("Dutch", "nl"), "cze": ("Czech", "cs"),
        "dan": ("Danish", "da"), "swe": ("Swedish", "sv"), "nor": ("Norwegian", "no"),
        "fin": ("Finnish", "fi"), "hun": ("Hungarian", "hu"), "tur": ("Turkish", "tr"),
        "kor": ("Korean", "ko"), "heb": ("Hebrew", "he"), "gre": ("Greek", "el"),
        "ara": ("Arabic", "ar"), "per": ("Persian", "fa"), "ukr": ("Ukrainian", "uk"),
        "hrv": ("Croatian", "hr"), "srp": ("Serbian", "sr"), "slo": ("Slovak", "sk"),
        "slv": ("Slovenian", "sl"), "rum": ("Romanian", "ro"), "bul": ("Bulgarian", "bg"),
        "lit": ("Lithuanian", "lt"), "lav": ("Latvian", "lv"), "est": ("Estonian", "et"),
        "ice": ("Icelandic", "is"), "afr": ("Afrikaans", "af"), "ind": ("Indonesian", "id"),
        "tha": ("Thai", "th"), "vie": ("Vietnamese", "vi"),
    }  # fmt: skip

    @classmethod
    def language_name(cls, code):
        """ "ita" → "Italian"; a code the table lacks as given."""
        return cls.LANGUAGES.get((code or "").lower(), (code, None))[0]

    @property
    def language_names(self):
        """The paper's languages by name, or [] when it is in English only (most are)."""
        codes = self.languages or ([self.language] if self.language else [])
        if all(code.lower() == "eng" for code in codes):
            return []
        return [self.language_name(code) for code in codes]

    # OtherAbstract Type values (the DTD's list) as headings.
    ABSTRACT_TYPES = {
        "plain-language-summary": "Plain language summary",
        "Publisher": "Publisher's abstract",
    }

    @property
    def other_abstract_list(self):
        """Each other abstract with its `heading` ("Plain language summary", "Publisher's
        abstract in Polish") and the `lang` tag of its text."""
        shown = []
        for other in self.other_abstracts:
            kind, code = other.get("type"), (other.get("language") or "").lower()
            heading = self.ABSTRACT_TYPES.get(kind) or (
                f"Other abstract ({kind})" if kind else "Other abstract"
            )
            if code and code != "eng":
                heading += f" in {self.language_name(code)}"
            lang = self.LANGUAGES.get(code, (None, None))[1]
            shown.append({**other, "heading": heading, "lang": lang})
        return shown

    @property
    def grant_groups(self):
        """[(agency, country, [grant ids])]: one line per funder, in the record's order."""
        groups = {}
        for grant in self.grants:
            ids = groups.setdefault((grant.get("agency"), grant.get("country")), [])
            if grant.get("id") and grant["id"] not in ids:
                ids.append(grant["id"])
        return [(agency, country, ids) for (agency, country), ids in groups.items()]

    # CommentsCorrections RefType values as headings; notices of a change to the paper first.
    LINK_TYPES = {
        "RetractionIn": "Retraction in", "RetractionOf": "Retraction of",
        "PartialRetractionIn": "Partial retraction in",
        "PartialRetractionOf": "Partial retraction of",
        "ExpressionOfConcernIn": "Expression of concern in",
        "ExpressionOfConcernFor": "Expression of concern for",
        "ErratumIn": "Erratum in", "ErratumFor": "Erratum for",
        "CorrectedandRepublishedIn": "Corrected and republished in",
        "CorrectedandRepublishedFrom": "Corrected and republished from",
        "RepublishedIn": "Republished in", "RepublishedFrom": "Republished from",
        "UpdateIn": "Update in", "UpdateOf": "Update of",
        "ReprintIn": "Reprint in", "ReprintOf": "Reprint of",
        "CommentIn": "Comment in", "CommentOn": "Comment on",
        "SummaryForPatientsIn": "Summary for patients in",
        "OriginalReportIn": "Original report in",
        "AssociatedDataset": "Associated dataset",
        "AssociatedPublication": "Associated publication",
        "Cites": "Cites",
    }  # fmt: skip

    def comment_groups(self, cited=False):
        """[(heading, [link])] of the comments and corrections grouped by type, in
        LINK_TYPES order (then any new type PubMed adds); `cited` picks the "Cites" group
        alone, otherwise every other group. Each link has `url`: the paper's page here when
        it is in this Pearl (see `library_links`), else PubMed; `in_library` says which."""
        in_library = self.library_links
        groups = {}
        for link in self.comments_corrections:
            kind = link.get("type") or ""
            if (kind == "Cites") != cited:
                continue
            pmid = link.get("pmid")
            here = pmid in in_library
            url = f"/articles/{pmid}" if here else (
                f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None
            )  # fmt: skip
            groups.setdefault(kind, []).append({**link, "url": url, "in_library": here})
        order = list(self.LINK_TYPES)
        ranked = sorted(groups, key=lambda k: order.index(k) if k in order else len(order))
        return [(self.LINK_TYPES.get(k) or _spaced(k) or "Other", groups[k]) for k in ranked]

    @property
    def library_links(self):
        """PMIDs among the comments and corrections that are in this Pearl: set by
        `Article.for_page` in the same query as the article, else none."""
        found = getattr(self, "linked_in_library", None)
        return set(json.loads(found)) if found else set()

    # ArticleId IdTypes as the identifier list labels them; others are shown as written.
    ID_LABELS = {
        "pubmed": "PMID", "doi": "DOI", "pmc": "PMCID", "pmcid": "PMCID", "pii": "PII",
        "mid": "Manuscript ID", "sici": "SICI", "medline": "MEDLINE", "pmpid": "Publisher ID",
        "bookaccession": "Bookshelf",
    }  # fmt: skip

    @property
    def identifiers(self):
        """(label, value, url or None) for the PMID, DOI, PMCID and every other ArticleId."""
        ids = {"pubmed": str(self.pmid)}
        if self.doi:
            ids["doi"] = self.doi
        if self.pmcid:
            ids["pmc"] = self.pmcid
        for kind, value in self.article_ids.items():
            ids.setdefault(kind, value)
        urls = {
            "pubmed": self.pubmed_url,
            "doi": f"https://doi.org/{ids.get('doi')}",
            "pmc": f"https://www.ncbi.nlm.nih.gov/pmc/articles/{ids.get('pmc')}/",
        }
        return [
            (self.ID_LABELS.get(kind, kind), value, urls.get(kind)) for kind, value in ids.items()
        ]

    @property
    def first_page(self):
        return (self.pages or "").split("-")[0].strip() or None

    @property
    def pubmed_url(self):
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"

    @property
    def full_text_url(self):
        """The DOI link, else PubMed Central, else None (the page hides the button)."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmcid:
            return f"https://www.ncbi.nlm.nih.gov/pmc/articles/{self.pmcid}/"
        return None


class ArticleText(BaseModel):
    """The text the search index holds for each article (title and abstract as plain text,
    MeSH headings and keywords joined): the index's external content. Kept apart from Article
    so the index can be rebuilt from it in one pass after a large import."""

    pmid = IntegerField(primary_key=True)
    title = TextField()
    abstract = TextField()
    mesh = TextField()
    keywords = TextField()

    class Meta:
        table_name = "article_text"


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


class SearchIndexState(BaseModel):
    """A row here says the search index lags behind article_text: a large import stopped
    indexing batch by batch and has not rebuilt the index yet (see search_index.rebuild)."""

    id = IntegerField(primary_key=True)  # always 1: there is one index
    stale_since = DateTimeField(default=utcnow)


class ArticleFacet(BaseModel):
    """What search filters on that the full-text index does not hold, one indexed row per
    value: authors (`au`: "calvo m" and "calvo margarita"; `1au`: the first author's),
    publication types (`pt`), MeSH headings (`mh`; `majr` again for major topics), journal
    names (`ta`: title, MedlineTA, ISO abbreviation without periods, ISSN) and languages
    (`la`), all lowercased. So `smith[au]` or `type:review` alone is an index search, never a
    scan of `article`, and the journal finds a heading's, journal's or type's new papers the
    same way. The importer writes
    a batch's rows with its articles (`rows_for`), and deleting an article deletes them.
    (SQLite triggers did this at first, and cost an import 40% more CPU in JSON functions.)"""

    kind = CharField()
    key = TextField()
    pmid = IntegerField()

    class Meta:
        primary_key = CompositeKey("kind", "key", "pmid")
        without_rowid = True
        indexes = ((("pmid",), False),)

    @staticmethod
    def rows_for(record):
        """The (kind, key, pmid) rows of one article row or reader record, keys lowercased as
        SQLite's lower() does (what search_query looks up), each row once. A part of a record
        (a migration's few columns, the journal's candidate) gives the rows of what it holds."""
        pmid, found = record["pmid"], set()
        authors = record.get("authors") or ()
        for author in authors:
            last, collective = author.get("last"), author.get("collective")
            if last is not None:
                found.add(("au", f"{last} {author.get('initials') or ''}".strip(" ")))
                if author.get("fore") is not None:
                    found.add(("au", f"{last} {author['fore']}"))
            if collective is not None:
                found.add(("au", collective))
        if authors:
            first = authors[0]
            name = first.get("last") or first.get("collective")
            if name is not None:
                found.add(("1au", f"{name} {first.get('initials') or ''}".strip(" ")))
        found.update(("pt", kind) for kind in record.get("publication_types") or ())
        for heading in record.get("mesh") or ():
            found.add(("mh", heading["name"]))
            # PubMed's [majr]: the heading is a major topic, or one of its qualifiers is.
            if heading.get("major") or any(major for _, major in heading.get("qualifiers", ())):
                found.add(("majr", heading["name"]))
        found.update(("la", language) for language in record.get("languages") or ())
        if record.get("language"):
            found.add(("la", record["language"]))
        for name in (record.get("journal_title"), record.get("journal_abbrev"),
                     record.get("journal_iso"), record.get("issn")):  # fmt: skip
            if name is not None:
                found.add(("ta", name.replace(".", " ").replace("  ", " ").strip(" ")))
        return [(kind, _ascii_lower(key), pmid) for kind, key in found]

    @classmethod
    def replace_for(cls, pmids, rows):
        """The side table's rows for `pmids` become `rows` (a batch of the importer's)."""
        if pmids:
            cls.delete().where(cls.pmid.in_(list(pmids))).execute()
        bulk.insert_or_ignore("article_facet", ("kind", "key", "pmid"), rows)


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

    pmid = IntegerField()
    nature = CharField()  # retraction | concern | correction | update
    notice_pmid = IntegerField(null=True)
    notice_doi = CharField(null=True)
    date = CharField(null=True)  # "YYYY-MM-DD", "YYYY-MM" or "YYYY": what the source gives
    citation = TextField(null=True)  # the notice's citation, as the source writes it
    reason = TextField(null=True)  # Retraction Watch's reasons, "; "-separated
    source = CharField()  # pubmed | retractionwatch
    origin = IntegerField()

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


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(text):
    """Lowercase as SQLite's lower() does (ASCII letters only)."""
    return text.translate(ASCII_LOWER)


class User(UserMixin, BaseModel):
    """A reader with an account. Email is stored lowercased and never shown to other readers."""

    email = CharField(unique=True)
    display_name = CharField()
    password_hash = CharField(null=True)  # None: signs in only by emailed link
    created_at = DateTimeField(default=utcnow)
    library_kind = CharField(null=True)  # institutional full text: "ezproxy" | "openurl"
    library_base = TextField(null=True)
    trial_ends_at = DateTimeField(null=True)  # the Medical Journal of You's free trial
    full_access = BooleanField(default=False)  # granted by an admin: no trial needed
    issue_frequency = CharField(default="weekly")  # the journal's rhythm: daily | weekly | monthly
    email_issues = BooleanField(default=False)  # send each new issue by email
    # The sha256 of the secret in the reader's Atom feed URL (migration 16 hashed the keys
    # stored before it): a leaked database or backup does not open anyone's feed.
    feed_key_hash = CharField(null=True, unique=True, column_name="feed_key")
    # At most this many papers an issue (migration 11; the DEFAULT fills existing readers).
    issue_size = SmallIntegerField(default=20, constraints=[SQL("DEFAULT 20")])

    TRIAL_DAYS = 21
    ISSUE_SIZES = (5, 10, 20, 30, 50)
    FREQUENCIES = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}

    @staticmethod
    def normalise_email(email):
        return (email or "").strip().lower()

    @classmethod
    def by_email(cls, email):
        return cls.get_or_none(cls.email == cls.normalise_email(email))

    def set_password(self, password):
        # werkzeug's default is scrypt, a memory-hard KDF with a random salt per hash.
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def start_trial(self, now=None):
        """Start the 21-day trial, once: a reader who had one (or full access) keeps theirs."""
        if self.trial_ends_at is None and not self.full_access:
            self.trial_ends_at = (now or utcnow()) + datetime.timedelta(days=self.TRIAL_DAYS)

    def trial_days_left(self, now=None):
        """Whole days left in the trial, counting today (0 once it has ended); None when the
        reader has full access or never started a trial."""
        if self.full_access or self.trial_ends_at is None:
            return None
        remaining = self.trial_ends_at - (now or utcnow())
        if remaining <= datetime.timedelta(0):
            return 0
        return remaining.days + (1 if remaining.seconds or remaining.microseconds else 0)

    @property
    def has_journal(self):
        """Whether the journal is open to this reader: full access or a running trial."""
        return self.full_access or bool(self.trial_days_left())

    @classmethod
    def with_journal(cls, now=None):
        """Readers the journal is open to (full access or a running trial), unexecuted."""
        return cls.select().where(cls.full_access | (cls.trial_ends_at > (now or utcnow())))

    @staticmethod
    def hash_secret(secret):
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def by_feed_key(cls, key):
        return cls.get_or_none(cls.feed_key_hash == cls.hash_secret(key)) if key else None

    def reset_feed_key(self):
        """A new secret for the Atom feed's address, returned once (only its hash is kept);
        the old address stops working."""
        key = secrets.token_urlsafe(24)
        self.feed_key_hash = self.hash_secret(key)
        return key

    def get_id(self):
        # Flask-Login keeps this in the session cookie and the remember cookie: the key of
        # one UserSession, so that signing out (deleting the row) ends both cookies.
        return getattr(self, "session_key", None)

    @property
    def library(self):
        """The institutional access setting as the views use it, or None."""
        if self.library_kind and self.library_base:
            return {"kind": self.library_kind, "base": self.library_base}
        return None


class LoginToken(BaseModel):
    """A single-use sign-in link sent by email. Only a hash of the token is stored, so a
    leaked database cannot be used to sign in. A link sent by the sign-up form carries the
    name typed (and, for a new address, the password hash): the account is made only when
    its owner follows the link, so nobody can claim an address that is not theirs; a trial
    link carries neither (migration 16)."""

    token_hash = CharField(unique=True)
    email = CharField()
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    display_name = CharField(null=True)
    password_hash = CharField(null=True)

    LIFETIME = datetime.timedelta(hours=24)

    @staticmethod
    def _hash(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, email, now=None, display_name=None, password_hash=None):
        """A new token for `email` (returned once, never stored as such)."""
        token = secrets.token_urlsafe(32)
        now = now or utcnow()
        cls.create(token_hash=cls._hash(token), email=User.normalise_email(email),
                   created_at=now, expires_at=now + cls.LIFETIME, display_name=display_name,
                   password_hash=password_hash)  # fmt: skip
        return token

    @classmethod
    def usable(cls, token, now=None):
        """Whether the token would sign in now (unknown, used and expired ones would not);
        reads only, so a mail scanner fetching the link uses nothing up."""
        return (
            cls.select()
            .where(
                (cls.token_hash == cls._hash(token))
                & cls.used_at.is_null()
                & (cls.expires_at > (now or utcnow()))
            )
            .exists()
        )

    @classmethod
    def redeem(cls, token, now=None):
        """The token's row (email, and a sign-up's name and password hash), marking it used;
        None if unknown, used or expired. One conditional UPDATE, so two clicks racing cannot
        both succeed."""
        now = now or utcnow()
        claimed = (
            cls.update(used_at=now)
            .where(
                (cls.token_hash == cls._hash(token))
                & cls.used_at.is_null()
                & (cls.expires_at > now)
            )
            .execute()
        )
        if not claimed:
            return None
        return cls.get(cls.token_hash == cls._hash(token))


class UserSession(BaseModel):
    """One signed-in browser. The cookies carry only a random key; the row holds its hash.
    Signing out deletes the row, so a copied `session` or `remember_token` cookie stops
    working; "sign out everywhere" deletes all of a reader's rows (migration 16)."""

    key_hash = CharField(unique=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()

    # As long as the remember-me cookie lasts (REMEMBER_COOKIE_DURATION in app.py).
    LIFETIME = datetime.timedelta(days=30)

    @classmethod
    def start(cls, user, now=None):
        """A new session for `user`: sets `user.session_key` (what Flask-Login stores). The
        reader's expired sessions go at the same time, so the table holds live ones only."""
        key = secrets.token_urlsafe(32)
        now = now or utcnow()
        cls.delete().where((cls.user == user) & (cls.expires_at <= now)).execute()
        cls.create(key_hash=User.hash_secret(key), user=user, created_at=now,
                   expires_at=now + cls.LIFETIME)  # fmt: skip
        user.session_key = key
        return key

    @classmethod
    def reader(cls, key, now=None):
        """The User whose live session `key` is, or None: one query."""
        if not key:
            return None
        user = (
            User.select()
            .join(cls)
            .where((cls.key_hash == User.hash_secret(key)) & (cls.expires_at > (now or utcnow())))
            .first()
        )
        if user is not None:
            user.session_key = key
        return user

    @classmethod
    def end(cls, key):
        """Sign one browser out (a key that is gone already is fine)."""
        cls.delete().where(cls.key_hash == User.hash_secret(key or "")).execute()

    @classmethod
    def end_all(cls, user):
        """Sign `user` out of every browser; returns how many sessions ended."""
        return cls.delete().where(cls.user == user).execute()


class Note(BaseModel):
    """A reader's note ("pearl") on a paper: the source as typed and its rendered HTML."""

    PRIVATE, SHARED = "private", "shared"
    VISIBILITIES = {PRIVATE: "Only me", SHARED: "Shared with readers of this Pearl"}

    article = ForeignKeyField(Article, backref="notes", on_delete="RESTRICT")
    author = ForeignKeyField(User, backref="notes", on_delete="CASCADE")
    source = TextField()
    html = TextField()
    visibility = CharField(default=PRIVATE)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    deleted_at = DateTimeField(null=True)  # set on delete; cleared by undo

    class Meta:
        indexes = ((("article", "created_at"), False),)

    @classmethod
    def visible_to(cls, user):
        """Notes `user` may read (None: a signed-out reader): their own and shared ones."""
        # Only what a note shows of its author: never their email or password hash.
        query = cls.select(cls, User.id, User.display_name).join(User)
        query = query.where(cls.deleted_at.is_null())
        if user is None:
            return query.where(cls.visibility == cls.SHARED)
        return query.where((cls.visibility == cls.SHARED) | (cls.author == user))

    @classmethod
    def page_on(cls, article, user, page, per_page):
        """One page of the notes on `article` visible to `user`, newest first, each carrying
        `total` (all visible notes) from a window function: one query for list and count."""
        return list(
            cls.visible_to(user)
            .select_extend(fn.COUNT(cls.id).over().alias("total"), cls.changed_column())
            .where(cls.article == article)
            .order_by(cls.created_at.desc(), cls.id.desc())
            .paginate(page, per_page)
        )

    @classmethod
    def changed_column(cls):
        """`changed_after` ("retraction|2010-02-06", or None) as a column of a query over
        notes: the paper's retraction (else expression of concern) dated after the note was
        written; the date is the notice's, or when Pearl learnt of it when the notice gives
        none. A partial date ("2010-02") is after a note written before that month. Two index
        probes a note, folded into the query that reads them."""
        when = "COALESCE(cn.date, (SELECT MIN(ca.created_at) FROM correction_alert ca"
        when += " WHERE ca.article_id = cn.pmid AND ca.nature = cn.nature))"
        return NodeList(
            (
                SQL(f"(SELECT cn.nature || '|' || {when} FROM notice cn WHERE cn.pmid = "),
                cls.article,
                SQL(" AND cn.nature IN ('retraction', 'concern') AND substr("),
                cls.created_at,
                SQL(f", 1, length({when})) < {when} ORDER BY cn.nature = 'retraction' DESC,"
                    f" length({when}) DESC, {when} LIMIT 1)"),
            ),
            glue="",
        ).alias("changed_after")  # fmt: skip

    @property
    def paper_changed(self):
        """(nature, "6 Feb 2010") when the note predates its paper's retraction or expression
        of concern (read by `page_on`); None otherwise."""
        found = getattr(self, "changed_after", None)
        if not found:
            return None
        nature, date = found.split("|", 1)
        return nature, display_date(date)

    @classmethod
    def by_author(cls, user, q=""):
        """The reader's own notes, newest first, each with its paper's PMID and title
        (unexecuted). `q` keeps those whose source contains it (LIKE, any case): a scan of
        the reader's own notes only, which the author index bounds."""
        query = (
            cls.select(cls, Article.pmid, Article.title)
            .join(Article)
            .where((cls.author == user) & cls.deleted_at.is_null())
            .order_by(cls.created_at.desc(), cls.id.desc())
        )
        if q:
            query = query.where(cls.source.contains(q))
        return query


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


class Term(BaseModel):
    """Every MeSH heading, keyword, journal and publication type the papers carry, with how
    many papers carry it: what the interests picker suggests. The importer keeps it current
    batch by batch (`apply`, in the batch's transaction): a stored paper adds its terms, a
    replaced or deleted one takes its old terms away; `rebuild` counts everything again.

    The name of a term is the spelling most papers use ("Atrial fibrillation" over "atrial
    fibrillation"; ties go to the first in code-point order), as a full count would name it:
    TermSpelling keeps a count per spelling, so the name stays right however papers come and
    go, and `rebuild` gives the same table as the imports did. (Keeping the first spelling
    seen would cost less, but a term's name would then depend on the order files came in.)"""

    kind = CharField()
    key = TextField()  # lowercased name: what suggestions match, and what merges spellings
    name = TextField()  # the spelling most papers use (keywords can be long)
    count = IntegerField()  # papers carrying the term, in any spelling

    class Meta:
        indexes = ((("kind", "key"), True),)

    # The name after an import's upsert: unchanged when the spelling that gained most in the
    # batch is already the name (it stays the commonest), else the commonest spelling now.
    # A batch that takes spellings away proposes '' (never a name), so the name is looked up.
    NAME_RULE = (
        ', "name" = CASE WHEN excluded."name" = "term"."name" THEN "term"."name" ELSE COALESCE('
        '(SELECT s."name" FROM "term_spelling" AS s WHERE s."kind" = "term"."kind" AND '
        's."key" = "term"."key" ORDER BY s."count" DESC, s."name" LIMIT 1), "term"."name") END'
    )

    @classmethod
    def suggest(cls, kind, text, limit=10):
        """Terms of `kind` whose name, or one of its words, starts with `text` (any case):
        names starting with it first, then the most used (unexecuted). Index ranges only
        (the term's key, TermWord's tails), never a scan, so it costs the same at any size;
        matching inside a word ("brill" for "Atrial Fibrillation") went with the scan, a
        word's start ("fibr", "atrial fib") still matches. No text suggests nothing.
        (The ranges compare code points, as SQLite's BINARY does; on PostgreSQL the key and
        tail columns will need COLLATE "C" for the same ranges.)"""
        key = text.strip().lower()
        if not key:
            return cls.select().where(SQL("0"))
        end = key + "\U0010ffff"  # above every string that starts with `key`
        named = cls.select(cls.key).where((cls.kind == kind) & (cls.key >= key) & (cls.key < end))
        worded = TermWord.select(TermWord.key).where(
            (TermWord.kind == kind) & (TermWord.tail >= key) & (TermWord.tail < end)
        )
        starts = Case(None, [((cls.key >= key) & (cls.key < end), 0)], 1)
        return (
            cls.select()
            .where((cls.kind == kind) & cls.key.in_(named | worded))
            .order_by(starts, cls.count.desc(), cls.key)
            .limit(limit)
        )

    @classmethod
    def counts_for(cls, kind, names):
        """({lowercased name: how many papers carry it}, how many papers there are) for
        `names` of `kind`: one indexed query (the size from LibraryStats, in a UNION)."""
        keys = [name.lower() for name in names]
        terms = cls.select(cls.key, cls.count).where((cls.kind == kind) & cls.key.in_(keys))
        size = LibraryStats.select(SQL("NULL"), LibraryStats.papers)
        counts, library_size = {}, 0
        for key, count in (terms + size).tuples():
            if key is None:
                library_size = count
            else:
                counts[key] = count
        return counts, library_size

    @classmethod
    def canonical(cls, kind, text):
        """How the papers spell `text` (any case), or None when no paper carries it."""
        term = cls.get_or_none((cls.kind == kind) & (cls.key == text.strip().lower()))
        return term.name if term else None

    # --- keeping the terms current ---

    @staticmethod
    def spellings_in(mesh, keywords, types, journal):
        """The terms one paper carries, from its MeSH headings (dicts with "name"), keywords,
        publication types (funding is not a study design: left out) and journal title, as
        ({(kind, key): name}, [((kind, key), another name)]): a paper counts once for each
        key, and once for each spelling of it (the list holds the rare second spellings).
        Shaped so that a batch adds them up in Counter.update's C loop."""
        found, more = {}, []
        limit = Interest.MAX_LENGTH
        names = [("mesh", heading.get("name")) for heading in mesh]
        names += [("keyword", value) for value in keywords]
        names += [("type", t) for t in types if t and not t.startswith("Research Support")]
        names.append(("journal", journal))
        for kind, value in names:
            name = value.strip() if value else ""
            if not name:
                continue
            pair = (kind, name.lower()[:limit])
            first = found.setdefault(pair, name)
            if first != name and (pair, name) not in more:
                more.append((pair, name))
        return found, more

    @classmethod
    def of_record(cls, record):
        """spellings_in for a reader's record or an article row's decoded values."""
        return cls.spellings_in(record["mesh"], record["keywords"], record["publication_types"],
                                record["journal_title"])  # fmt: skip

    @classmethod
    def stored(cls, pmids):
        """{pmid: its spellings_in} for the stored papers among `pmids` (what a re-import or a
        deletion takes away), read before they are overwritten."""
        pmids = list(pmids)
        if not pmids:
            return {}
        columns = (Article.pmid, Article.mesh, Article.keywords, Article.publication_types,
                   Article.journal_title)  # fmt: skip
        query = Article.select(*columns).where(Article.pmid.in_(pmids))
        return {
            pmid: cls.spellings_in(mesh, keywords, types, journal)
            for pmid, mesh, keywords, types, journal in query.tuples()
        }

    @staticmethod
    def _tally(added, removed=()):
        """(papers per (kind, key), papers per ((kind, key), name)) of the papers `added`
        less those `removed` (spellings_in values)."""
        keys, spellings = Counter(), Counter()
        for found, more in added:
            keys.update(found.keys())  # keys: a dict would be read as counts
            spellings.update(found.items())
            if more:
                spellings.update(more)
        for found, more in removed:
            keys.subtract(found.keys())
            spellings.subtract(found.items())
            spellings.subtract(more)
        return keys, spellings

    @classmethod
    def apply(cls, added=(), removed=()):
        """Count the papers `added` (spellings_in values, one per paper) and take away those
        `removed`, in the caller's transaction: spellings first (their counts name the term),
        then the terms; a term no paper carries any more goes, with its words and spellings,
        and a new term gets its words. A few bulk statements a batch."""
        keys, spellings = cls._tally(added, removed)
        spellings = {spelling: n for spelling, n in spellings.items() if n}
        proposed = {pair: None for pair, n in keys.items() if n}
        for (pair, name), n in spellings.items():
            best = proposed.get(pair)
            if n < 0 or best == "":
                proposed[pair] = ""  # lost a spelling: look the name up
            elif best is None or n > best[1] or (n == best[1] and name < best[0]):
                proposed[pair] = (name, n)
        if not proposed:
            return
        gained = [(*pair, name, n) for (pair, name), n in spellings.items() if n > 0]
        lost = [(*pair, name, n) for (pair, name), n in spellings.items() if n < 0]
        columns = ("kind", "key", "name", "count")
        bulk.add_counts("term_spelling", columns, ("kind", "key", "name"), gained)
        emptied = bulk.add_counts("term_spelling", columns, ("kind", "key", "name"), lost,
                                  returning=columns)  # fmt: skip
        bulk.delete_keys("term_spelling", columns[:3], [r[:3] for r in emptied if r[3] <= 0])
        rows = [(*pair, best[0] if best else "", keys[pair]) for pair, best in proposed.items()]
        after = bulk.add_counts("term", columns, ("kind", "key"), rows, also=cls.NAME_RULE,
                                returning=("kind", "key", "count"))  # fmt: skip
        new = [(kind, key) for kind, key, count in after if count == keys[(kind, key)] > 0]
        gone = [(kind, key) for kind, key, count in after if count <= 0]
        TermWord.add(new)
        TermWord.remove(gone)
        bulk.delete_keys("term", ("kind", "key"), gone)

    @classmethod
    def rebuild(cls):
        """Count every term again from the stored papers, in one pass and apart from `apply`
        (migration 9, `flask --app app rebuild-terms`): the repair should the counts ever
        drift. Holds the vocabulary in memory while it counts, as a full count must."""
        columns = (Article.mesh, Article.keywords, Article.publication_types, Article.journal_title)
        papers = Article.select(*columns).tuples().iterator()
        keys, spellings = cls._tally(cls.spellings_in(*paper) for paper in papers)
        names = {}
        for (pair, name), n in spellings.items():
            best = names.get(pair)
            if best is None or (-n, name) < best:
                names[pair] = (-n, name)
        columns = ("kind", "key", "name", "count")
        with db.atomic():
            for model in (cls, TermSpelling, TermWord):
                model.delete().execute()
            named = [(*pair, name, n) for (pair, name), n in spellings.items()]
            bulk.insert_or_ignore("term_spelling", columns, named)
            terms = [(*pair, names[pair][1], n) for pair, n in keys.items()]
            bulk.insert_or_ignore("term", columns, terms)
            TermWord.add(keys)


class TermSpelling(BaseModel):
    """How many papers spell a term each way: what names the term (Term's docstring)."""

    kind = CharField()
    key = TextField()
    name = TextField()
    count = IntegerField()

    class Meta:
        table_name = "term_spelling"
        primary_key = CompositeKey("kind", "key", "name")
        without_rowid = True


class TermWord(BaseModel):
    """The rest of a term's key from each of its words but the first ("fibrillation" and
    "atrial fibrillation" for "left atrial fibrillation"; "19" for "covid-19"), so a word's
    start is a range of this primary key, as a name's start is of Term's key."""

    kind = CharField()
    tail = TextField()
    key = TextField()

    WORD = re.compile(r"\w+")

    class Meta:
        table_name = "term_word"
        primary_key = CompositeKey("kind", "tail", "key")
        without_rowid = True

    @classmethod
    def rows_for(cls, pairs):
        """(kind, tail, key) for each word after the first of each (kind, key)."""
        return [(kind, key[m.start() :], key) for kind, key in pairs
                for m in cls.WORD.finditer(key) if m.start()]  # fmt: skip

    @classmethod
    def add(cls, pairs):
        bulk.insert_or_ignore("term_word", ("kind", "tail", "key"), cls.rows_for(pairs))

    @classmethod
    def remove(cls, pairs):
        bulk.delete_keys("term_word", ("kind", "tail", "key"), cls.rows_for(pairs))


class LibraryStats(BaseModel):
    """How many papers the library holds, kept by the importer and Article.delete_pmids in
    the transaction that adds or removes them, so the home page shows it without counting:
    SELECT COUNT(*) reads a whole table (16–40 ms at a million papers, more when cold)."""

    id = IntegerField(primary_key=True)  # always 1: one library
    papers = IntegerField(default=0)

    class Meta:
        table_name = "library_stats"

    @classmethod
    def paper_count(cls):
        return cls.select(cls.papers).where(cls.id == 1).scalar() or 0

    @classmethod
    def overview(cls, week_start):
        """(papers, when PubMed last updated the library or None, papers its runs added since
        `week_start`) in one query: the home page's line costs no query of its own."""
        papers = cls.select(cls.papers).where(cls.id == 1)
        select = Select(columns=[
            fn.COALESCE(papers, 0),
            SyncRun.last_update_subquery(),
            SyncRun.added_since_subquery(week_start),
        ]).bind(db)  # fmt: skip
        count, updated, added = select.tuples().get()
        if isinstance(updated, str):  # SQLite hands back text for a MAX() of a DateTimeField
            updated = SyncRun.finished_at.python_value(updated)
        return count, updated, added

    @classmethod
    def add_papers(cls, change):
        """Papers added (or, negative, removed): in the caller's transaction."""
        if change:
            cls.insert(id=1, papers=change).on_conflict(
                conflict_target=[cls.id], update={cls.papers: cls.papers + change}
            ).execute()

    @classmethod
    def recount(cls):
        """Set the count from the table itself (migration 9, the repair command)."""
        count = article_count()
        cls.insert(id=1, papers=count).on_conflict(
            conflict_target=[cls.id], update={cls.papers: count}
        ).execute()


class MeshDescriptor(BaseModel):
    """A MeSH heading from NLM's descriptor file (`import-mesh`), placed in the MeSH tree by
    its tree numbers (MeshTreeNumber). Without an imported tree every query here answers as
    if each heading stood alone, so headings match as they did before the tree."""

    ui = CharField(primary_key=True)  # D000001
    name = TextField()
    # The name lowercased, as Interest.key and Term.key are. MeSH names are ASCII, so this is
    # also SQLite's lower() of them (what article_facet's keys are).
    key = TextField(index=True)

    @classmethod
    def replace_tree(cls, descriptors):
        """The stored tree becomes `descriptors` (pubmed.mesh.Descriptor, e.g. a newer year's
        file) in one transaction: an error while they are read leaves the old tree whole.
        Returns (descriptors stored, tree numbers stored).

        The file is read before the transaction starts, so the write lock is held for the
        inserts (about a second for all of MeSH), not for the whole parse of a 300 MB file,
        which would keep readers' notes waiting beyond the busy timeout."""
        names, numbers = [], []
        for descriptor in descriptors:
            names.append((descriptor.ui, descriptor.name, descriptor.name.lower()))
            numbers.extend((number, descriptor.ui) for number in descriptor.tree_numbers)
        with db.atomic():
            MeshTreeNumber.delete().execute()
            cls.delete().execute()
            tables = (
                (cls, [cls.ui, cls.name, cls.key], names),
                (MeshTreeNumber, [MeshTreeNumber.number, MeshTreeNumber.descriptor], numbers),
            )
            for model, fields, rows in tables:
                for start in range(0, len(rows), 500):
                    model.insert_many(rows[start : start + 500], fields=fields).execute()
        return len(names), len(numbers)

    @classmethod
    def _tree_below(cls):
        """(top, query): `top` an alias of this model, and a query joining each `top`
        descriptor to every descriptor (this model) below it, for the caller to select from
        and filter. Each tree number of `top` contributes the range of numbers that start with
        it and a dot — `> 'C14.280.' AND < 'C14.280/'` ('/' is the character after '.') — an
        index search on the tree number, never a scan."""
        top, top_number = cls.alias("top"), MeshTreeNumber.alias("top_number")
        below_number = MeshTreeNumber.alias("below_number")
        query = (
            top.select()
            .join(top_number, on=top_number.descriptor == top.ui)
            .join(
                below_number,
                on=(below_number.number > top_number.number.concat("."))
                & (below_number.number < top_number.number.concat("/")),
            )
            .join(cls, on=cls.ui == below_number.descriptor)
        )
        return top, query

    @classmethod
    def narrower_keys(cls, names):
        """{heading's key: [its key, then the keys of every narrower heading]} for the MeSH
        headings `names` (any case), in one query: what a MeSH interest matches. A heading
        that is not in the tree, or every heading when no tree was imported, maps to itself
        alone. A descriptor in several places of the tree brings what is below each."""
        found = {name.lower(): set() for name in names}
        if not found:
            return {}
        top, query = cls._tree_below()
        query = query.select(top.key, cls.key).where(top.key.in_(sorted(found))).distinct()
        for key, below in query.tuples():
            found[key].add(below)
        return {key: [key, *sorted(below - {key})] for key, below in found.items()}

    @classmethod
    def narrower_counts(cls, names):
        """{heading's key: how many headings are narrower than it} for `names` (any case), in
        one query that counts without loading them; 0 for headings not in the tree."""
        counts = {name.lower(): 0 for name in names}
        if not counts:
            return {}
        top, query = cls._tree_below()
        query = query.select(top.key, fn.COUNT(cls.ui.distinct())).where(
            top.key.in_(sorted(counts))
        )
        counts.update(query.group_by(top.key).tuples())
        return counts

    @classmethod
    def narrower_count(cls, key):
        """How many headings are narrower than the heading whose key is `key` (a column of the
        outer query: Interest.key, Term.key), as a subquery to select beside it — so a list
        says it for each of its rows in the list's own query."""
        top, query = cls._tree_below()
        return query.select(fn.COUNT(cls.ui.distinct())).where(top.key == key)

    @classmethod
    def canonical(cls, text):
        """How MeSH spells the heading `text` (any case), or None when it is not in the tree."""
        descriptor = cls.select(cls.name).where(cls.key == text.strip().lower()).first()
        return descriptor.name if descriptor else None


class MeshTreeNumber(BaseModel):
    """One place of a MeSH heading in the tree: `C14.280.067` is below `C14.280` (Heart
    Diseases), which is below `C14` (Cardiovascular Diseases). A heading can have several."""

    # Ranges on `number` assume byte order, SQLite's default (BINARY). On PostgreSQL the
    # column needs COLLATE "C": a locale's collation ignores the dots the ranges rely on.
    number = CharField(primary_key=True)
    descriptor = ForeignKeyField(MeshDescriptor, column_name="ui", backref="tree_numbers",
                                 on_delete="CASCADE")  # fmt: skip

    class Meta:
        without_rowid = True  # rows live in the B-tree on `number`: no rowid table beside it


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


# --- the reader's library: stars and collections ---


class Star(BaseModel):
    """A paper the reader starred, wherever they did it (its page, a search, an issue of
    their journal: IssueEntry.starred mirrors it for the issues the paper is in)."""

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


class SyncRun(BaseModel):
    """One run of `flask sync` (pubmed/sync.py): an esearch window of the readers' interests,
    or one NCBI update file. A row is written when the run starts and completed in one
    transaction when it ends, so a crash leaves a row with no `finished_at` (shown as
    interrupted) and never a file recorded as applied that was not."""

    INTERESTS, UPDATEFILES = "interests", "updatefiles"

    source = CharField()
    file = CharField(null=True)  # the update file's name
    window_start = CharField(null=True)  # the esearch window, YYYY/MM/DD, both ends included
    window_end = CharField(null=True)
    added = IntegerField(default=0)
    updated = IntegerField(default=0)
    deleted = IntegerField(default=0)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True, index=True)
    error = TextField(null=True)

    class Meta:
        table_name = "sync_run"
        indexes = ((("source", "file"), False),)

    @classmethod
    def begin(cls, source, file=None, window=(None, None)):
        """A new run, recorded as started (and committed: a crash then shows it)."""
        with db.atomic():
            return cls.create(source=source, file=file, window_start=window[0],
                              window_end=window[1])  # fmt: skip

    def end(self, summary, error=None):
        """Record what the run did (an importer.Summary) and how it ended, at once."""
        self.added, self.updated, self.deleted = summary.added, summary.updated, summary.deleted
        self.finished_at, self.error = utcnow(), error
        with db.atomic():
            self.save()

    @property
    def succeeded(self):
        return self.finished_at is not None and self.error is None

    @property
    def seconds(self):
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    @classmethod
    def _succeeded(cls):
        return cls.finished_at.is_null(False) & cls.error.is_null()

    @classmethod
    def applied_files(cls):
        """Names of the update files applied to the end."""
        query = cls.select(cls.file).where((cls.source == cls.UPDATEFILES) & cls._succeeded())
        return {file for (file,) in query.tuples()}

    @classmethod
    def last_window_end(cls):
        """Where the last successful interests run's window ended (YYYY/MM/DD), or None."""
        query = cls.select(fn.MAX(cls.window_end)).where(
            (cls.source == cls.INTERESTS) & cls._succeeded()
        )
        return query.scalar()

    @classmethod
    def latest(cls, count=10):
        """The last runs, newest first (unexecuted)."""
        return cls.select().order_by(cls.started_at.desc(), cls.id.desc()).limit(count)

    @classmethod
    def last_update_subquery(cls):
        """When the library was last updated from PubMed (a run ended without error)."""
        return cls.select(fn.MAX(cls.finished_at)).where(cls._succeeded())

    @classmethod
    def added_since_subquery(cls, since):
        """Papers the runs ended since `since` added: a sum over a handful of run rows (by
        the finished_at index), whatever the library's size; a COUNT of article.added_at
        would read a week of index entries, a million of them after a baseline load."""
        return cls.select(fn.COALESCE(fn.SUM(cls.added), 0)).where(cls.finished_at >= since)


class Migration(BaseModel):
    """Which numbered migrations have run."""

    number = IntegerField(primary_key=True)
    applied_at = DateTimeField(default=utcnow)


# --- the engine-specific corner ---


class PearlSqliteDatabase(SqliteDatabase):
    """SQLite as Pearl needs it with several processes writing at once (an import, the web
    server, `publish-issues` from cron).

    Every transaction begins IMMEDIATE, taking the write lock up front and waiting for it
    (busy_timeout): a deferred transaction that reads and then writes fails at once with
    "database is locked" when another connection wrote in between, whatever the timeout.
    """

    def __init__(self, database, **options):
        super().__init__(database, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", **options)

    def rollback(self):
        # SQLite rolls a transaction back by itself on some errors (a full disk above all);
        # a second ROLLBACK would then fail with "no transaction is active" and bury the cause.
        if self.is_closed() or self.connection().in_transaction:
            super().rollback()


def _disk_is_full(room=256 * 1024):
    """Whether the SQLite database's disk has less than `room` bytes free."""
    path = getattr(db.obj, "database", None)
    if not isinstance(db.obj, SqliteDatabase) or not path or path == ":memory:":
        return False
    try:
        return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free < room
    except OSError:  # its folder is missing: some other problem
        return False


def open_database(url):
    """Connect `db` to the database at `url` (sqlite:///path or postgresql://…)."""
    if url.startswith("sqlite"):
        database = PearlSqliteDatabase(**db_url.parse(url))
    else:
        database = db_url.connect(url)
    db.initialize(database)
    return database


def database_problem(error):
    """What a database error means for the person who met it, in one sentence."""
    text = str(error)
    # On a full disk SQLite often says only "disk I/O error" (it could not create the WAL):
    # the disk itself tells.
    if "disk is full" in text or _disk_is_full():
        return "the disk is full: nothing more can be saved until space is freed"
    if "unable to open database file" in text:
        path = getattr(db.obj, "database", "the database file")
        return f"cannot open the database {path}: check that its folder exists and is writable"
    if "locked" in text or "busy" in text:
        seconds = SQLITE_PRAGMAS["busy_timeout"] // 1000
        return (
            f"the database is busy: another process kept it locked for over {seconds} "
            "seconds; try again"
        )
    return f"the database refused the change ({text})"


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


bulk = _SQLiteBulk()


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
            sql = (
                "WITH m AS MATERIALIZED (SELECT rowid AS pmid, bm25(article_search, ?, ?, ?, ?)"
                " AS rank FROM article_search WHERE article_search MATCH ? ORDER BY rank"
                f" LIMIT {int(self.MATCH_WINDOW)}) SELECT {columns.format(rank='m.rank')}"
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
                       if wanted == {False} else "1")  # fmt: skip
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
        start, end = self.HIGHLIGHT
        if fts:
            sql = (
                f"SELECT {names}, snippet(article_search, 1, ?, ?, '…', 40),"
                f" highlight(article_search, 0, ?, ?), {notes} FROM article_search"
                " JOIN article a ON a.pmid = article_search.rowid"
                f" WHERE article_search MATCH ? AND article_search.rowid IN ({listed})"
            )
            params = [start, end, start, end, user_id or 0, user_id or 0, fts, *pmids]
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

    def pmid_for_doi(self, doi):
        """The PMID of the paper with this DOI (any case), or None: an indexed lookup."""
        row = db.execute_sql("SELECT pmid FROM article WHERE LOWER(doi) = LOWER(?) LIMIT 1", [doi])
        found = row.fetchone()
        return found[0] if found else None


def _phrase(text):
    """`text` as one FTS5 string: its words in order, whatever punctuation it holds."""
    return '"' + text.replace('"', '""') + '"'


search_index = _SQLiteSearchIndex()


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

    def plan(self, since, until):
        """The Window of [since, until): two bounded counts when `since` is given (the
        window's papers, and the papers in its PMID range)."""
        if since is None:
            return Window(None, until)
        where, params = self._window_sql(Window(since, until))
        size, low, high = db.execute_sql(
            "SELECT COUNT(*), MIN(pmid), MAX(pmid) FROM (SELECT a.pmid AS pmid FROM article a"
            f" INDEXED BY article_added_at WHERE {where} LIMIT ?)",
            [*params, self.SMALL + 1],
        ).fetchone()
        if size > self.SMALL:
            return Window(since, until, size)
        dense = False
        if size:
            (spread,) = db.execute_sql(
                "SELECT COUNT(*) FROM (SELECT 1 FROM article WHERE pmid BETWEEN ? AND ? LIMIT ?)",
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
            selects.append(f"SELECT {number}, pmid, score, sort_date, types{extra} FROM ({sql})")
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
            selects.append(f"SELECT pmid FROM ({sql})")
            params += arm_params
        sql = f"SELECT COUNT(DISTINCT pmid) FROM ({' UNION ALL '.join(selects)})"
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
                sql = " UNION ".join(f"SELECT * FROM ({sql})" for sql, _ in parts)
                order = " ORDER BY pmid DESC" if ranked else ""
                return f"{sql}{order} LIMIT ?", [p for _, ps in parts for p in ps] + [limit]
            return self._facet_sql(arm.facet, arm.keys, window, reader_id, limit, ranked)
        # A small window whose PMIDs are spread: its papers are read by when they came,
        # each probing the side table (or a followed search's filters).
        where, params = self._window_sql(window)
        index = " INDEXED BY article_added_at" if self._small(window) else ""
        if arm.facet:
            probe = ("EXISTS (SELECT 1 FROM article_facet f WHERE f.kind = ? AND f.key IN"
                     f" ({_marks(arm.keys)}) AND f.pmid = a.pmid)")  # fmt: skip
            probe_params = [arm.facet, *arm.keys]
        else:  # a followed search with filters only
            probe, probe_params = search_index._filters_sql(arm.filters)
        excluded, excluded_params = self._not_issued(reader_id)
        conditions = " AND ".join(c for c in (where, probe, excluded) if c)
        sql = f"SELECT a.pmid AS pmid, NULL AS score, {self.READ} FROM article a{index}"
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
            f"SELECT a.pmid AS pmid, NULL AS score, {self.READ} FROM article_facet f"
            " CROSS JOIN article a ON a.pmid = f.pmid WHERE "
            + " AND ".join(c for c in conditions if c)
        )
        sql += " ORDER BY f.pmid DESC" if ranked else ""
        return f"{sql} LIMIT ?", [*params, *excluded_params, limit]

    def _text_sql(self, arm, window, reader_id, limit, ranked):
        """A full-text arm: in a small window, the best by bm25 within its PMID range; else
        the newest matches (rowid descending, which FTS5 reads in order and stops at the
        LIMIT), bm25 computed for those. Filters and earlier issues in the same statement."""
        where, params = self._window_sql(window)
        filters, filter_params = search_index._filters_sql(arm.filters)
        excluded, excluded_params = self._not_issued(reader_id)
        sql = (
            f"SELECT s.rowid AS pmid, -bm25(article_search, ?, ?, ?, ?) AS score, {self.READ}"
            " FROM article_search s CROSS JOIN article a ON a.pmid = s.rowid"
            " WHERE article_search MATCH ?"
        )
        window_params, params = params, [*self.WEIGHTS, arm.fts]
        if window.low is not None:
            sql += " AND s.rowid BETWEEN ? AND ?"
            params += [window.low, window.high]
        conditions = [c for c in (where, filters, excluded) if c]
        if conditions:
            sql += " AND " + " AND ".join(conditions)
        params += window_params
        if ranked and self._small(window):
            sql += " ORDER BY score DESC, pmid DESC"
        elif ranked:
            sql += " ORDER BY s.rowid DESC"
        return f"{sql} LIMIT ?", [*params, *filter_params, *excluded_params, limit]

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


issue_candidates = _SQLiteIssueCandidates()


def _marks(values):
    return ", ".join("?" * len(values))


class _SQLiteJSON:
    """Queries inside JSON columns (PostgreSQL: json_array_elements and ->>)."""

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
                SQL("(SELECT json_group_array(json_object('pmid', n.pmid, 'nature', n.nature,"
                    " 'notice_pmid', n.notice_pmid, 'notice_doi', n.notice_doi, 'date', n.date,"
                    " 'citation', n.citation, 'reason', n.reason, 'source', n.source,"
                    " 'other_title', (SELECT x.title FROM article x WHERE x.pmid = "),
                other,
                SQL("))) FROM notice n WHERE n.pmid = "),
                pmid,
                SQL(" OR n.notice_pmid = "),
                pmid,
                SQL(")"),
            ),
            glue="",
        ).alias("notices_found")  # fmt: skip


json_corner = _SQLiteJSON()


def _migration_1():
    db.create_tables([Article, ArticleSearch])


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


def article_count():
    return Article.select(fn.COUNT(SQL("*"))).scalar()
