"""What every reader yields: record dicts shaped like `models.Article` rows, `Deletion`s, and
`MalformedFile` naming the file and line; plus the date and abstract helpers they share."""

import html
import re
from dataclasses import dataclass

MONTH_ABBREVIATIONS = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
]
MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
MONTH_NUMBERS = {
    **{name: number for number, name in enumerate(MONTH_ABBREVIATIONS, 1)},
    **{name: number for number, name in enumerate(MONTH_NAMES.split(), 1)},
}
# First words of structured-abstract labels written in mixed case ("Material and methods:").
# Capitals are label enough, but "We found three patterns:" is not a label: a mixed-case label
# must start with one of these.
LABEL_WORDS = (
    "Aim Aims Availability Background Case Clinical Conclusion Conclusions Context Data Design "
    "Discussion Ethics Evidence Experimental Exposure Exposures Findings Funding Hypothesis "
    "Implications Importance Interpretation Intervention Interventions Introduction Level "
    "Limitations Main Material Materials Measurements Measures Method Methods Objective "
    "Objectives Observations Outcome Outcomes Participants Patients Protocol Purpose Rationale "
    "Registration Relevance Result Results Setting Settings Significance Statistical Study "
    "Subjects Summary Trial"
)
# Inline abstract labels ("BACKGROUND: … METHODS: …") become sections as in the XML. A label
# starts the text or follows a sentence's end (".", "?" or "!", perhaps with a closing quote
# or bracket: "… in the UK?' METHODS: …").
ABSTRACT_LABEL = re.compile(
    r"(?:^|(?:(?<=[.?!])|(?<=[.?!][\"'”’)\]]))\s+)("
    r"[A-Z][A-Z0-9 ,&/()-]{2,60}"  # OUTCOME MEASUREMENTS AND STATISTICAL ANALYSIS
    rf"|(?:{'|'.join(LABEL_WORDS.split())})(?:[ -][A-Za-z0-9]+){{0,4}}"  # Material and methods
    r"):\s"
)


class MalformedFile(Exception):
    """A file that cannot be read: names the file and the line."""

    def __init__(self, path, line, message):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = str(path), line, message


@dataclass
class Deletion:
    """PMIDs a file withdraws (<DeleteCitation>)."""

    pmids: list
    line: int


def empty_record(pmid):
    """A record with every field an article row has, all unset."""
    return {
        "pmid": pmid, "doi": None, "pmcid": None, "title": "", "vernacular_title": None,
        "journal_title": None, "journal_iso": None, "journal_abbrev": None, "issn": None,
        "volume": None, "issue": None, "pages": None, "pub_year": None, "pub_month": None,
        "pub_day": None, "pub_date_text": None, "epub_date": None, "language": None,
        "copyright": None, "authors": [], "abstract": [], "mesh": [], "keywords": [],
        "publication_types": [], "line": None,
        "languages": [], "grants": [], "chemicals": [], "comments_corrections": [],
        "other_abstracts": [], "article_ids": {},
    }  # fmt: skip


def set_date_from_text(record, text):
    """ "2012 Jul 1" → year, month, day; "2012 Jul-Aug" or "1990 Spring" kept as text too."""
    text = " ".join(text.split())
    parts = text.split(" ")
    year = parts[0][:4]
    record["pub_year"] = int(year) if year.isdigit() else None
    month = month_number(parts[1]) if len(parts) > 1 else None
    day = parts[2] if len(parts) > 2 else None
    if len(parts) > 3 or (len(parts) > 1 and month is None) or (day and not day.isdigit()):
        record["pub_date_text"] = text  # a range or a season: show it as the record says
        record["pub_month"] = (
            month_number(re.split(r"[-/ ]", parts[1])[0]) if len(parts) > 1 else None
        )
        return
    record["pub_month"] = month
    record["pub_day"] = int(day) if day else None


def initials_of(fore):
    """PubMed's initials for a fore name: "John M" → "JM", "O. O." → "OO", "Jean-Luc" → "JL"."""
    return "".join(part[0].upper() for part in re.split(r"[\s.-]+", fore or "") if part)


def month_number(text):
    """ "Jul", "July" or "07" → 7; anything else → None."""
    if not text:
        return None
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    return MONTH_NUMBERS.get(text.lower())


def split_abstract(text):
    """Sections from an abstract written with inline labels; one unlabelled section if none."""
    pieces = ABSTRACT_LABEL.split(text)
    if len(pieces) < 3:
        return [{"label": None, "text": html.escape(text, quote=False)}]
    sections = []
    if pieces[0].strip():
        sections.append({"label": None, "text": html.escape(pieces[0].strip(), quote=False)})
    for label, body in zip(pieces[1::2], pieces[2::2], strict=True):
        sections.append({"label": label, "text": html.escape(body.strip(), quote=False)})
    return sections


# CommentsCorrections RefType ↔ the MEDLINE text tag PubMed writes for it ("RIN - Nat Genet.
# 1995 Sep;11(1):104. PMID: 7550304"). "Cites" and a few rarer types have no tag.
LINK_TAGS = {
    "CommentOn": "CON", "CommentIn": "CIN", "ErratumIn": "EIN", "ErratumFor": "EFR",
    "RetractionIn": "RIN", "RetractionOf": "ROF", "PartialRetractionIn": "PRIN",
    "PartialRetractionOf": "PROF", "UpdateIn": "UIN", "UpdateOf": "UOF",
    "CorrectedandRepublishedIn": "CRI", "CorrectedandRepublishedFrom": "CRF",
    "RepublishedIn": "RPI", "RepublishedFrom": "RPF", "SummaryForPatientsIn": "SPIN",
    "OriginalReportIn": "ORI", "ExpressionOfConcernIn": "ECI", "ExpressionOfConcernFor": "ECF",
}  # fmt: skip
LINK_TYPES = {tag: ref_type for ref_type, tag in LINK_TAGS.items()}


ORCID = re.compile(r"(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])")


def normalise_orcid(text):
    """ "https://orcid.org/0000-0002-1825-0097", "0000000218250097" … → "0000-0002-1825-0097";
    None unless it is 16 digits whose check digit (ISO 7064 11,2) is right: a mistyped iD
    would link to somebody else."""
    match = ORCID.fullmatch((text or "").strip().upper().rsplit("/", 1)[-1])
    if not match:
        return None
    digits = "".join(match.groups())
    total = 0
    for digit in digits[:-1]:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    if digits[-1] != ("X" if check == 10 else str(check)):
        return None
    return "-".join(match.groups())
