"""RIS (Zotero, EndNote, Embase…): each TY…ER record's shape checked here, its tags mapped by
rispy."""

import html
import re

import rispy

from pubmed.records import (
    MONTH_ABBREVIATIONS,
    MalformedFile,
    empty_record,
    month_number,
    set_date_from_text,
    split_abstract,
)

RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  - ?(.*)$")
PUBMED_URL = re.compile(r"(?:pubmed|ncbi\.nlm\.nih\.gov)/(?:pubmed/)?(\d+)")


def parse_ris_lines(numbered_lines, name):
    """RIS (Zotero, EndNote…): checks each TY…ER record's shape, then rispy maps its tags.
    Records with no PMID anywhere (AN, a PubMed URL) are yielded with pmid None: skipped."""
    chunk, start = [], None
    for number, line in numbered_lines:
        match = RIS_TAG.match(line)
        tag = match.group(1) if match else None
        if tag == "TY":
            if chunk:
                raise MalformedFile(name, number, f"record starting on line {start} has no ER")
            chunk, start = [line], number
        elif tag == "ER":
            if not chunk:
                raise MalformedFile(name, number, "ER without a TY record before it")
            chunk.append("ER  - ")
            yield _ris_record(name, rispy.loads("\n".join(chunk)), start)
            chunk = []
        elif chunk:
            chunk.append(line)  # EndNote continues KW and N1 on untagged lines
        elif line.strip():
            raise MalformedFile(name, number, f"text outside a TY…ER record: {line[:40]!r}")
    if chunk:
        raise MalformedFile(name, start, "record has no ER line (the file ends inside it)")


def _ris_record(path, entries, start):
    if len(entries) != 1:
        raise MalformedFile(path, start, "could not read this RIS record")
    entry = entries[0]
    pmid = _ris_pmid(entry)
    record = empty_record(pmid)
    record["line"] = start
    title = entry.get("title") or entry.get("primary_title") or ""
    record["title"] = html.escape(title, quote=False)
    names = entry.get("authors") or entry.get("first_authors") or []
    record["authors"] = [_ris_author(name) for name in names]
    if entry.get("author_address") and record["authors"]:
        record["authors"][0]["affiliations"].append(entry["author_address"])
    record["journal_title"] = entry.get("journal_name") or entry.get("secondary_title")
    record["journal_abbrev"] = entry.get("alternate_title1") or entry.get("alternate_title2")
    if record["journal_abbrev"] is None and entry.get("journal_name"):
        record["journal_abbrev"] = entry.get("secondary_title")
    record["volume"] = entry.get("volume")
    record["issue"] = entry.get("number")
    start_page, end_page = entry.get("start_page"), entry.get("end_page")
    record["pages"] = f"{start_page}-{end_page}" if start_page and end_page else start_page
    set_date_from_text(record, _ris_date(entry))
    if entry.get("abstract"):
        record["abstract"] = split_abstract(entry["abstract"])
    record["keywords"] = list(entry.get("keywords") or [])
    record["doi"] = entry.get("doi")
    record["issn"] = (entry.get("issn") or "").split(" ")[0] or None
    record["language"] = entry.get("language")
    return record


def _ris_pmid(entry):
    accession = (entry.get("accession_number") or "").strip()
    if accession.isdigit():
        return int(accession)
    for url in entry.get("urls") or []:
        match = PUBMED_URL.search(url)
        if match:
            return int(match.group(1))
    return None


def _ris_author(name):
    last, _, fore = name.partition(",")
    return {"last": last.strip(), "fore": fore.strip() or None, "initials": None,
            "affiliations": []}  # fmt: skip


def _ris_date(entry):
    """ "2019/10//undefined" + year → "2019 Oct"; the year alone when that is all there is."""
    year = (entry.get("year") or "").strip()[:4]
    date = (entry.get("date") or entry.get("publication_year") or "").split("/")
    if not year and date and date[0][:4].isdigit():
        year = date[0][:4]
    month = month_number(date[1]) if len(date) > 1 else None
    if month is None and date and not date[0][:1].isdigit():
        month = month_number(date[0])  # EndNote's DA is a bare month name ("Jun")
    return " ".join(p for p in (year, month and MONTH_ABBREVIATIONS[month - 1].title()) if p)
