"""Corrections and retractions: what a paper's notices say (its state, for the page, search
and exports), and the Retraction Watch CSV (Crossref's `retraction_watch.csv`) read into the
notice table. PubMed's own notices come in with the records (models.Notice.rows_for)."""

import csv
import datetime
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from models import MONTHS, NOTICE_TYPES, RETRACTED_TYPE, Article, Notice, db, display_date
from pubmed.records import MalformedFile

SOURCE = "retractionwatch"
# RetractionNature as Retraction Watch writes it, lowercased → the notice's nature.
# ("Reinstatement" lifts an earlier notice: not a notice of its own here.)
NATURES = {"retraction": "retraction", "expression of concern": "concern",
           "correction": "correction"}  # fmt: skip
COLUMNS = ("Record ID", "Journal", "RetractionDate", "RetractionDOI", "RetractionPubMedID",
           "OriginalPaperDOI", "OriginalPaperPubMedID", "RetractionNature", "Reason")  # fmt: skip
RW_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?")
DOI = re.compile(r"10\.\d{4,9}/\S+")
DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.I)
HEADINGS = {"retraction": "Retracted", "concern": "Expression of concern",
            "correction": "Correction", "update": "Updated"}  # fmt: skip


# --- a paper's state, from the rows Article.for_page folds into the page's query ---


@dataclass
class Entry:
    """One notice as the page shows it: the notice's date, citation, reasons and link when
    `pmid` is the paper it concerns; the concerned paper's when this page is the notice."""

    nature: str
    pmid: int | None  # the PMID at the other end (the notice, or the paper concerned)
    doi: str | None = None
    date: str | None = None
    citation: str | None = None
    reasons: list = field(default_factory=list)
    title: str | None = None  # the other paper's title (HTML) when it is in this Pearl
    sources: set = field(default_factory=set)

    @property
    def here(self):
        return self.title is not None

    @property
    def url(self):
        """The other paper's page here, else PubMed, else its DOI; None when none is known."""
        if self.pmid and self.here:
            return f"/articles/{self.pmid}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return f"https://doi.org/{self.doi}" if self.doi else None

    @property
    def display_date(self):
        return display_date(self.date)


@dataclass
class PaperState:
    """What the notices say of one paper: its retractions, expressions of concern, errata
    and updated versions (`of_paper`, by nature), and the papers it is itself the notice of
    (`notice_of`); `notice_type` names the notice when its publication type says it is one."""

    of_paper: dict
    notice_of: list
    notice_type: str | None = None

    @property
    def retracted(self):
        return bool(self.of_paper.get("retraction"))

    @property
    def concern(self):
        return bool(self.of_paper.get("concern"))

    @property
    def alerts(self):
        """[(nature, heading, entries)] for the prominent notice: retraction, then concern."""
        return [(n, HEADINGS[n], self.of_paper[n]) for n in ("retraction", "concern")
                if self.of_paper.get(n)]  # fmt: skip

    @property
    def retraction_date(self):
        dates = [e.date for e in self.of_paper.get("retraction", ()) if e.date]
        return display_date(min(dates)) if dates else None

    @property
    def label(self):
        """ "Retracted", "Expression of concern" or None: the badge and the exports' note."""
        if self.retracted:
            return "Retracted"
        return "Expression of concern" if self.concern else None


def state_of(article):
    """The PaperState of an article read by Article.for_page (`notices_found`); an article
    read otherwise has only its publication types to go on."""
    rows = json.loads(getattr(article, "notices_found", None) or "[]")
    types = {kind.lower() for kind in article.publication_types}
    of_paper, notice_of = {}, {}
    for row in rows:
        if row["pmid"] == article.pmid:
            key = (row["nature"], row["notice_pmid"] or row["notice_doi"] or row["source"])
            entry = of_paper.setdefault(key, Entry(row["nature"], row["notice_pmid"]))
        else:
            key = (row["nature"], row["pmid"])
            entry = notice_of.setdefault(key, Entry(row["nature"], row["pmid"]))
        _merge(entry, row)
    grouped = {}
    for (nature, _), entry in of_paper.items():
        grouped.setdefault(nature, []).append(entry)
    if RETRACTED_TYPE in types and not grouped.get("retraction"):
        grouped["retraction"] = [Entry("retraction", None, sources={"pubmed"})]
    for nature, entries in grouped.items():
        # A retraction known only from the publication type adds nothing to a named notice.
        named = [e for e in entries if e.pmid or e.doi or e.citation]
        grouped[nature] = sorted(named or entries[:1], key=lambda e: e.date or "")
    notice_type = next((NOTICE_TYPES[t] for t in types if t in NOTICE_TYPES), None)
    return PaperState(grouped, list(notice_of.values()), notice_type)


def _merge(entry, row):
    """Add one notice row to the entry: Retraction Watch's full date and reasons, PubMed's
    citation first."""
    entry.sources.add(row["source"])
    entry.doi = entry.doi or row["notice_doi"]
    entry.title = entry.title or row["other_title"]
    if row["date"] and (not entry.date or len(row["date"]) > len(entry.date)):
        entry.date = row["date"]
    if row["citation"] and (not entry.citation or row["source"] == "pubmed"):
        entry.citation = row["citation"]
    for reason in (row["reason"] or "").split("; "):
        if reason and reason not in entry.reasons:
            entry.reasons.append(reason)


# --- the Retraction Watch CSV ---


@dataclass
class Summary:
    """What an import of the CSV did, for the command's one line."""

    records: int = 0
    added: int = 0
    updated: int = 0
    here: int = 0  # stored records about papers in this library
    unmatched: int = 0  # neither the PMID nor a DOI of a paper here
    other: int = 0  # a nature that is not a notice (Reinstatement)

    def __str__(self):
        return (f"{self.records} records: {self.added} added, {self.updated} updated, "
                f"{self.here} about papers in this library; skipped {self.unmatched} without"
                f" a PMID or a DOI found here, {self.other} of another nature")  # fmt: skip


def import_csv(source, name=None):
    """Read a Retraction Watch CSV (a path, or a binary stream with `name` for errors) and
    store its notices in one transaction; returns a Summary. Re-importing a record replaces
    its row (by Record ID). A malformed file raises MalformedFile naming the file and line,
    and stores nothing."""
    if isinstance(source, (str, Path)):
        name = name or str(source)
        with open(source, "rb") as stream:
            records = list(read_csv(stream, name))
    else:
        records = list(read_csv(source, name or "<stream>"))
    summary = Summary(records=len(records))
    with db.atomic("IMMEDIATE"):
        found = Article.pmids_for_dois({r["doi"] for r in records if r["doi"]})
        stored = Article.stored_pmids(
            {r["pmid"] for r in records if r["pmid"]} | set(found.values())
        )
        rows, origins = [], []
        for record in records:
            origins.append(record["origin"])
            if record["nature"] is None:
                summary.other += 1
                continue
            pmid = record["pmid"] or found.get(record["doi"])
            if pmid is None:
                summary.unmatched += 1
                continue
            summary.here += pmid in stored
            notice = record["notice_pmid"] if record["notice_pmid"] != pmid else None
            rows.append((pmid, record["nature"], notice, record["notice_doi"],
                         record["date"], record["citation"], record["reason"], SOURCE,
                         record["origin"]))  # fmt: skip
        before = Notice.replace_records(SOURCE, origins, rows)
        summary.updated = sum(row[-1] in before for row in rows)
        summary.added = len(rows) - summary.updated
    return summary


def read_csv(stream, name):
    """The records of a Retraction Watch CSV as dicts (origin, nature, pmid, doi,
    notice_pmid, notice_doi, date, citation, reason); MalformedFile names the file and the
    line of anything that is not one. CRLF or LF, a trailing empty column, UTF-8 with or
    without a byte-order mark."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise MalformedFile(name, 1, "the file is empty")
        missing = [column for column in COLUMNS if column not in header]
        if missing:
            raise MalformedFile(name, 1, "not a Retraction Watch CSV: no column "
                                + ", ".join(missing))  # fmt: skip
        index = {column: header.index(column) for column in COLUMNS}
        width = max(index.values()) + 1
        start = reader.line_num + 1
        for row in reader:
            if any(value.strip() for value in row):
                if len(row) < width:
                    raise MalformedFile(name, start, f"{len(row)} fields, expected {len(header)}")
                yield _record({column: row[i].strip() for column, i in index.items()}, name, start)
            start = reader.line_num + 1
    except csv.Error as error:
        raise MalformedFile(name, start, f"not CSV: {error}") from None
    except UnicodeDecodeError:
        raise MalformedFile(name, start, "not UTF-8 text") from None
    finally:
        text.detach()  # the stream is the caller's to close


def _record(values, name, line):
    """One CSV row as a record (see read_csv)."""
    try:
        origin = int(values["Record ID"])
    except ValueError:
        raise MalformedFile(
            name, line, f"Record ID “{values['Record ID']}” is not a number"
        ) from None
    date = _date(values["RetractionDate"], name, line)
    notice_doi = normalise_doi(values["RetractionDOI"])
    citation = values["Journal"] or None
    if citation and date:
        citation += f". {_citation_date(date)}"
    if citation and notice_doi:  # as the file spells it (DOIs ignore case)
        citation += f". doi: {DOI_PREFIX.sub('', values['RetractionDOI'])}"
    reasons = [r.strip().lstrip("+").strip() for r in values["Reason"].split(";")]
    return {
        "origin": origin,
        "nature": NATURES.get(values["RetractionNature"].lower()),
        "pmid": _pmid(values["OriginalPaperPubMedID"], "OriginalPaperPubMedID", name, line),
        "doi": normalise_doi(values["OriginalPaperDOI"]),
        "notice_pmid": _pmid(values["RetractionPubMedID"], "RetractionPubMedID", name, line),
        "notice_doi": notice_doi,
        "date": date,
        "citation": citation,
        "reason": "; ".join(r for r in reasons if r) or None,
    }


def normalise_doi(text):
    """A DOI lowercased, without a resolver or `doi:` prefix; None when it is not one
    ("unavailable", "Unavailable", a bare number…)."""
    text = DOI_PREFIX.sub("", (text or "").strip()).lower()
    return text if DOI.fullmatch(text) else None


def _pmid(text, column, name, line):
    if text in ("", "0"):
        return None
    try:
        return int(text) or None
    except ValueError:
        raise MalformedFile(name, line, f"{column} “{text}” is not a PMID") from None


def _date(text, name, line):
    """ "2/6/2010 0:00" → "2010-02-06"."""
    if not text:
        return None
    match = RW_DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        month, day, year = (int(part) for part in match.groups())
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        raise MalformedFile(
            name, line, f"RetractionDate “{text}” is not a date (M/D/YYYY)"
        ) from None


def _citation_date(iso):
    year, month, day = iso.split("-")
    return f"{year} {MONTHS[int(month) - 1]} {int(day)}"
