"""MEDLINE text (PubMed's .nbib / "MEDLINE" download format, and PubMed Central's MEDLINE
export): blank-line separated records of `TAG - value` lines."""

import html
import re

from pubmed.records import (
    LINK_TYPES,
    MalformedFile,
    empty_record,
    normalise_orcid,
    set_date_from_text,
    split_abstract,
)

# A 2–4 character tag padded to four, then "- ": the dash always sits in column 5. The value
# may be missing altogether when a tool strips trailing spaces ("AB  -").
MEDLINE_LINE = re.compile(r"^(?=.{4}-)([A-Z][A-Z0-9]{1,3}) *-(?: (.*))?$")
CONTINUATION = "      "
AUTHOR_TAGS = ("FAU", "AU", "CN")


def is_medline_line(line):
    """Whether a line has the MEDLINE tag shape (what `pubmed.sniff` recognises)."""
    return MEDLINE_LINE.match(line) is not None


def parse_medline_lines(numbered_lines, name):
    """MEDLINE text, read with a small tag parser of Pearl's own: unlike Bio.Medline it keeps
    each affiliation with its author and knows each record's line, for error messages.
    A record may start with any tag; one with no PMID is yielded with pmid None (skipped and
    counted by the importer, as RIS records without one are)."""
    fields = []
    for number, line in numbered_lines:
        if not line.strip():
            if fields:
                yield medline_record(name, fields)
            fields = []
            continue
        if line.startswith(CONTINUATION) and fields:
            fields[-1][1] = f"{fields[-1][1]} {line.strip()}".strip()
            continue
        match = MEDLINE_LINE.match(line)
        if not match:
            raise MalformedFile(name, number, f"not a MEDLINE tag line: {line[:40]!r}")
        fields.append([match.group(1), (match.group(2) or "").strip(), number])
    if fields:
        yield medline_record(name, fields)


def medline_record(path, fields):
    """One record dict from a record's [tag, value, line] fields."""
    record = empty_record(_medline_pmid(path, fields))
    record["line"] = fields[0][2]
    # Older PubMed downloads put the first author's address (AD) before FAU/AU: it is held
    # here until that author is read, so it is shown as the first author's affiliation.
    pending_affiliations = []
    author, awaiting_au = None, False
    for tag, value, _ in fields:
        if tag == "AU" and awaiting_au:
            author["initials"] = _initials_after(author["last"], value)
            awaiting_au = False
        elif tag in AUTHOR_TAGS:
            author = _new_author(tag, value)
            record["authors"].append(author)
            awaiting_au = tag == "FAU"
            author["affiliations"].extend(pending_affiliations)
            pending_affiliations = []
        elif tag == "AD":
            (author["affiliations"] if author else pending_affiliations).append(value)
        elif tag == "AUID" and author is not None and value.upper().startswith("ORCID:"):
            author["orcid"] = normalise_orcid(value.partition(":")[2])
        elif tag == "OABL" and record["other_abstracts"]:
            record["other_abstracts"][-1]["language"] = value
        else:
            _read_field(record, tag, value)
    # An AD in a record with no author at all is not kept: an article's affiliations are its
    # authors' (models.Article.affiliations), and there is no author to give it to.
    return record


def _medline_pmid(path, fields):
    """The record's PMID, wherever its line is; None when it has none."""
    for tag, value, number in fields:
        if tag == "PMID":
            if not value.isdigit():
                raise MalformedFile(path, number, f"PMID {value!r} is not a number")
            return int(value)
    return None


def _new_author(tag, value):
    """The author an FAU, AU (with no FAU before it) or CN line starts."""
    if tag == "CN":
        return {"collective": value, "affiliations": []}
    if tag == "FAU":
        last, _, fore = value.partition(",")
        return {"last": last.strip(), "fore": fore.strip() or None, "initials": None,
                "orcid": None, "affiliations": []}  # fmt: skip
    # An AU with no FAU before it (older records): the short name is all there is.
    last, _, initials = value.rpartition(" ")
    return {"last": last or value, "fore": initials or None, "initials": initials or None,
            "orcid": None, "affiliations": []}  # fmt: skip


def _initials_after(last, short_name):
    """The initials of an AU line, given the FAU's last name: "dos Santos Ddos S" → "Ddos S"
    (initials may hold a space, so the last token alone is not enough)."""
    if last and short_name.startswith(last + " "):
        return short_name[len(last) + 1 :].strip() or None
    if last and short_name == last:
        return None
    return short_name.rpartition(" ")[2] or None


def _read_field(record, tag, value):
    """Every tag but the author ones, into the record."""
    if tag in SIMPLE_FIELDS:
        field, first_only = SIMPLE_FIELDS[tag]
        if value and not (first_only and record[field]):
            record[field] = value
    elif tag == "TI":
        record["title"] = html.escape(value, quote=False)
    elif tag == "TT" and value:
        record["vernacular_title"] = html.escape(value, quote=False)
    elif tag == "AB" and value and not record["abstract"]:
        record["abstract"] = split_abstract(value)
    elif tag == "IS" and value and not record["issn"]:
        record["issn"] = value.split(" ")[0]
    elif tag == "DP" and value:
        set_date_from_text(record, value)
    elif tag == "DEP" and value[:8].isdigit():
        record["epub_date"] = f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    elif tag == "PT" and value:
        record["publication_types"].append(value)
    elif tag == "MH" and value:
        record["mesh"].append(medline_mesh(value))
    elif tag == "OT" and value:
        record["keywords"].append(value)
    elif tag == "LA" and value:
        record["languages"].append(value)
        record["language"] = record["language"] or value
    elif tag == "GR" and value:
        record["grants"].append(medline_grant(value))
    elif tag == "RN" and value:
        record["chemicals"].append(medline_chemical(value))
    elif tag in LINK_TYPES and value:
        record["comments_corrections"].append(medline_link(LINK_TYPES[tag], value))
    elif tag == "OAB" and value:
        record["other_abstracts"].append(medline_other_abstract(value))
    elif tag in ("AID", "LID"):
        _read_id(record, tag, value)


def _read_id(record, tag, value):
    """AID ("10.1136/gut-2016-3 [doi]") is an ArticleId of any type; LID, a location (the DOI
    column when it is one)."""
    match = ARTICLE_ID.fullmatch(value)
    if not match:
        return
    number, kind = match.groups()
    if kind == "doi" and not record["doi"]:
        record["doi"] = number
    if tag == "AID":
        record["article_ids"].setdefault(kind, number)


ARTICLE_ID = re.compile(r"(.+?)\s*\[([a-z-]+)\]")
LINK_PMID = re.compile(r"^(.*?)\s*PMID: (\d+)$")
REGISTRY = re.compile(r"^(.+?) \((.*)\)$")  # a number never holds " (", a name may
# PubMed's grant acronyms: an institute's letters (CA, HL; NULL when none), a funder's code (WT_).
GRANT_ACRONYM = re.compile(r"[A-Z]{2,4}_?|[A-Z]+_")
OTHER_ABSTRACT_TYPES = ("AAMC", "AIDS", "KIE", "PIP", "NASA", "Publisher", "plain-language-summary")


def medline_grant(value):
    """ "R01 CA149445/CA/NCI NIH HHS/United States" → a grant. Read from the right: a grant
    number may hold slashes ("MR/K006584/1"), and the acronym is there only when known."""
    parts = value.split("/")
    country = parts.pop() if len(parts) > 1 else None
    agency = parts.pop() if len(parts) > 1 else None
    known = len(parts) > 1 and GRANT_ACRONYM.fullmatch(parts[-1])
    acronym = parts.pop() if known else None
    return {"id": "/".join(parts) or None, "acronym": acronym, "agency": agency or None,
            "country": country or None}  # fmt: skip


def medline_chemical(value):
    """ "0 (Antineoplastic Agents)" → a substance (MEDLINE text has no MeSH UI for it)."""
    match = REGISTRY.match(value)
    registry, name = match.groups() if match else (None, value)
    return {"name": name, "ui": None, "registry": registry}


def medline_link(ref_type, value):
    """ "Nat Genet. 1995 Sep;11(1):104. PMID: 7550304" → a CommentsCorrections entry."""
    match = LINK_PMID.match(value)
    source, pmid = (match.group(1), int(match.group(2))) if match else (value, None)
    return {"type": ref_type, "pmid": pmid, "source": source or None, "note": None}


def medline_other_abstract(value):
    """ "Publisher: Abstract available from the publisher." → an other abstract."""
    kind, _, text = value.partition(": ")
    if kind not in OTHER_ABSTRACT_TYPES or not text:
        kind, text = None, value
    return {"type": kind, "language": None, "sections": split_abstract(text), "copyright": None}


# tag → (field, keep the first value only)
SIMPLE_FIELDS = {
    "CI": ("copyright", False),
    "JT": ("journal_title", False),
    "TA": ("journal_abbrev", False),
    "VI": ("volume", False),
    "IP": ("issue", False),
    "PG": ("pages", False),
    "PMC": ("pmcid", False),
}


def medline_mesh(value):
    """ "*Neuralgia/immunology/*physiopathology" → a heading with its qualifiers. `major` is
    the descriptor's own star; each qualifier keeps its own."""
    name, *qualifiers = value.split("/")
    parsed = [[q.lstrip("*"), q.startswith("*")] for q in qualifiers]
    return {"name": name.lstrip("*"), "ui": None, "major": name.startswith("*"),
            "qualifiers": parsed}  # fmt: skip
