"""RIS (Zotero, EndNote, Embase…): each TY…ER record's shape checked here, its tags mapped by
rispy."""

import html
import re

import rispy

from pubmed.records import (
    MONTH_ABBREVIATIONS,
    MalformedFile,
    empty_record,
    initials_of,
    month_number,
    set_date_from_text,
    split_abstract,
)

RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  - ?(.*)$")
PUBMED_URL = re.compile(r"(?:pubmed|ncbi\.nlm\.nih\.gov)/(?:pubmed/)?(\d+)")
PMID_VALUE = re.compile(r"(?:PMID:?\s*)?(\d+)", re.IGNORECASE)
# Tags read as lists: rispy's own, and AD, which EndNote repeats on untagged lines (one
# affiliation a line).
LIST_TAGS = [*rispy.LIST_TYPE_TAGS, "AD"]


def parse_ris_lines(numbered_lines, name):
    """RIS (Zotero, EndNote…): checks each TY…ER record's shape, then rispy maps its tags.
    Records with no PMID anywhere (AN, C5, a PubMed URL) are yielded with pmid None: skipped."""
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
            yield _ris_record(name, rispy.loads("\n".join(chunk), list_tags=LIST_TAGS), start)
            chunk = []
        elif chunk:
            chunk.append(line)  # EndNote continues KW, AD and N1 on untagged lines
        elif line.strip():
            raise MalformedFile(name, number, f"text outside a TY…ER record: {line[:40]!r}")
    if chunk:
        raise MalformedFile(name, start, "record has no ER line (the file ends inside it)")


def _ris_record(path, entries, start):
    if len(entries) != 1:
        raise MalformedFile(path, start, "could not read this RIS record")
    entry = entries[0]
    record = empty_record(_ris_pmid(entry))
    record["line"] = start
    title = entry.get("title") or entry.get("primary_title") or ""
    record["title"] = html.escape(title, quote=False)
    if entry.get("original_publication"):
        record["vernacular_title"] = html.escape(entry["original_publication"], quote=False)
    names = entry.get("authors") or entry.get("first_authors") or []
    record["authors"] = [_ris_author(name) for name in names]
    # RIS addresses belong to the record, not to an author: the first author holds them, so
    # the page lists them as the record's affiliations.
    addresses = [a.strip() for a in entry.get("author_address") or () if a.strip()]
    if addresses and record["authors"]:
        record["authors"][0]["affiliations"].extend(dict.fromkeys(addresses))
    _read_journal(record, entry)
    record["volume"] = entry.get("volume")
    record["issue"] = entry.get("number")
    start_page, end_page = entry.get("start_page"), entry.get("end_page")
    record["pages"] = f"{start_page}-{end_page}" if start_page and end_page else start_page
    set_date_from_text(record, _ris_date(entry))
    record["epub_date"] = _ris_epub_date(entry.get("edition"))
    if entry.get("abstract"):
        record["abstract"] = split_abstract(entry["abstract"])
    record["keywords"] = list(entry.get("keywords") or [])
    # M3 ("type of work"): Pearl's export writes the publication types there, "; " apart.
    kinds = (entry.get("type_of_work") or "").split("; ")
    record["publication_types"] = [kind.strip() for kind in kinds if kind.strip()]
    record["doi"] = entry.get("doi")
    record["issn"] = (entry.get("issn") or "").split(" ")[0] or None
    record["language"] = entry.get("language")
    record["languages"] = [record["language"]] if record["language"] else []
    pmcid = (entry.get("custom2") or "").strip()  # EndNote's PubMed import: C2 is the PMCID
    record["pmcid"] = pmcid if pmcid.startswith("PMC") else None
    return record


def _read_journal(record, entry):
    """Journal name (JO, else T2), its MEDLINE abbreviation (J2) and ISO abbreviation (JA,
    RIS's "standard abbreviation")."""
    record["journal_title"] = entry.get("journal_name") or entry.get("secondary_title")
    record["journal_abbrev"] = entry.get("alternate_title1") or entry.get("alternate_title2")
    if record["journal_abbrev"] is None and entry.get("journal_name"):
        record["journal_abbrev"] = entry.get("secondary_title")
    record["journal_iso"] = entry.get("alternate_title2")


def _ris_pmid(entry):
    """The PMID from AN (EndNote), C5 (Embase) or a PubMed link; None if there is none."""
    for value in (entry.get("accession_number"), entry.get("custom5")):
        match = PMID_VALUE.fullmatch((value or "").strip())
        if match:
            return int(match.group(1))
    for url in entry.get("urls") or []:
        match = PUBMED_URL.search(url)
        if match:
            return int(match.group(1))
    return None


def _ris_author(name):
    """ "Last, Fore" is a person, with initials made from the fore name as PubMed makes
    them; a name without a comma is a group (Zotero and Pearl write a collective so)."""
    last, comma, fore = name.partition(",")
    if not comma:
        return {"collective": name.strip(), "affiliations": []}
    fore = fore.strip() or None
    return {"last": last.strip(), "fore": fore, "initials": initials_of(fore) or None,
            "orcid": None, "affiliations": []}  # fmt: skip


def _ris_date(entry):
    """ "YYYY/MM/DD/other" (DA, else Y1) with PY as the year → "2019 Oct 24" for
    set_date_from_text. The "other" part carries a date PubMed writes as text ("Jul-Aug",
    "Spring"); Zotero's "undefined" there means nothing. EndNote's DA is "Mar 1" or "Jun"."""
    year = (entry.get("year") or "").strip()[:4]
    date = (entry.get("date") or entry.get("publication_year") or "").strip()
    if date and not date[:1].isdigit():
        month, _, day = date.partition(" ")
        return _date_text(year, month_number(month), day.strip())
    year_part, month, day, other = ([*date.split("/", 3), "", "", ""])[:4]
    year = year or year_part[:4]
    other = other.strip().strip("/")
    if other and other != "undefined":
        return f"{year} {other}"  # "2008 Jul-Aug": read as the XML's MedlineDate is
    return _date_text(year, month_number(month), day)


def _date_text(year, month, day):
    """ "2019 Jul 24" from a year, a month number and a day's text (a day only with a month)."""
    month_name = MONTH_ABBREVIATIONS[month - 1].title() if month else None
    day = str(int(day)) if month and day and day.isdigit() and int(day) else None
    return " ".join(p for p in (year, month_name, day) if p)


def _ris_epub_date(value):
    """EndNote's ET ("Epub Date", "2011/05/11") as "2011-05-11"; None for an edition."""
    parts = (value or "").strip().split("/")
    if len(parts) >= 3 and parts[0].isdigit() and len(parts[0]) == 4:
        month, day = month_number(parts[1]), parts[2]
        if month and day.isdigit():
            return f"{parts[0]}-{month:02d}-{int(day):02d}"
    return None
