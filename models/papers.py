"""Papers: the PubMed records, their search text, the search side table and the library's counts."""

import json

from peewee import (
    SQL,
    BigIntegerField,
    CharField,
    CompositeKey,
    DateTimeField,
    IntegerField,
    Select,
    SmallIntegerField,
    TextField,
    Tuple,
    fn,
)

from . import prepared
from .base import (
    EMPTY_DICT,
    EMPTY_LIST,
    MONTHS,
    BaseModel,
    JSONField,
    _ascii_lower,
    _spaced,
    bulk,
    db,
    html_to_text,
    json_corner,
    search_index,
    utcnow,
)


class Article(BaseModel):
    """One PubMed record, keyed by PMID. Lists (authors, abstract, MeSH…) are JSON columns:
    they are always read whole with the article, and one row per record keeps import fast.
    PMIDs are 64-bit on both engines (SQLite's integers are; PostgreSQL's `integer` is not),
    as is every column holding one."""

    pmid = BigIntegerField(primary_key=True)
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
    # PostgreSQL's index on sort_date holds no PMID: there it is on (sort_date, pmid)
    # (migration 21).

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

        def build(pmid, reader=None):
            columns = [cls, json_corner.linked_pmids(cls.comments_corrections),
                       json_corner.notices_of(cls.pmid)]  # fmt: skip
            if reader is not None:
                columns.append(Star.starred_column(reader, cls.pmid))
            return cls.select(*columns).where(cls.pmid == pmid).limit(1)

        if reader is None:
            return prepared.first("paper page", build, pmid=pmid)
        return prepared.first("paper page, signed in", build, pmid=pmid, reader=reader.id)

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
    def fragment_key(self):
        """What the page's record sections are made from (views/fragments.py): the stored
        record (its content hash and when it was stored) and which linked papers are here."""
        return (self.pmid, self.record_hash, self.updated_at,
                getattr(self, "linked_in_library", None))  # fmt: skip

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

    pmid = BigIntegerField(primary_key=True)
    title = TextField()
    abstract = TextField()
    mesh = TextField()
    keywords = TextField()

    class Meta:
        table_name = "article_text"


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
    pmid = BigIntegerField()

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


def article_count():
    return Article.select(fn.COUNT(SQL("*"))).scalar()


# Imported last, lowest layer first (base; papers, notices, vocabulary, sync and the engine
# corner; people; journal; library): these modules import this one's tables, which refer to
# theirs only inside methods, so each module defines its tables before another asks for them.
# isort: off
from .notices import Notice
from .sync import SyncRun
from .vocabulary import Term
from .people import Note
from .library import CollectionItem, Star
# isort: on
