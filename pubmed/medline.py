"""MEDLINE text (PubMed's .nbib / "MEDLINE" download format)."""

import html
import re

from pubmed.records import MalformedFile, empty_record, set_date_from_text, split_abstract

MEDLINE_LINE = re.compile(r"^([A-Z][A-Z0-9]{0,3}) {0,3}- ?(.*)$")


def parse_medline_lines(numbered_lines, name):
    """MEDLINE text, read with a small tag parser of Pearl's own: unlike Bio.Medline it keeps
    each affiliation with its author and knows each record's line, for error messages."""
    fields, start = [], None
    for number, line in numbered_lines:
        if not line.strip():
            if fields:
                yield _medline_record(name, fields, start)
            fields = []
            continue
        if line.startswith("      ") and fields:
            fields[-1][1] += " " + line.strip()
            continue
        match = MEDLINE_LINE.match(line)
        if not match:
            raise MalformedFile(name, number, f"not a MEDLINE tag line: {line[:40]!r}")
        if not fields:
            start = number
        fields.append([match.group(1), match.group(2).strip(), number])
    if fields:
        yield _medline_record(name, fields, start)


def _medline_record(path, fields, start):
    if fields[0][0] != "PMID" or not fields[0][1].isdigit():
        raise MalformedFile(path, start, "a MEDLINE record must start with a numeric PMID")
    record = empty_record(int(fields[0][1]))
    record["line"] = start
    author = None
    for tag, value, _ in fields[1:]:
        if tag in ("FAU", "CN"):
            author = _medline_author(tag, value)
            record["authors"].append(author)
        elif tag == "AU" and (author is None or author.get("initials") is not None):
            # An AU with no FAU before it (older records): the short name is all there is.
            last, _, initials = value.rpartition(" ")
            author = {"last": last or value, "fore": initials or None, "initials": initials,
                      "affiliations": []}  # fmt: skip
            record["authors"].append(author)
        elif tag == "AU":
            author["initials"] = value.rpartition(" ")[2]
        elif tag == "AD":
            target = author or (record["authors"][0] if record["authors"] else None)
            if target is None:
                author = target = {"affiliations": [], "pending": True}
            target["affiliations"].append(value)
        elif tag == "TI":
            record["title"] = html.escape(value, quote=False)
        elif tag == "AB":
            record["abstract"] = split_abstract(value)
        elif tag == "CI":
            record["copyright"] = value
        elif tag == "JT":
            record["journal_title"] = value
        elif tag == "TA":
            record["journal_abbrev"] = value
        elif tag == "IS" and not record["issn"]:
            record["issn"] = value.split(" ")[0]
        elif tag == "VI":
            record["volume"] = value
        elif tag == "IP":
            record["issue"] = value
        elif tag == "PG":
            record["pages"] = value
        elif tag == "DP":
            set_date_from_text(record, value)
        elif tag == "DEP" and value[:8].isdigit():
            record["epub_date"] = f"{value[:4]}-{value[4:6]}-{value[6:8]}"
        elif tag == "LA" and not record["language"]:
            record["language"] = value
        elif tag == "PT":
            record["publication_types"].append(value)
        elif tag == "MH":
            record["mesh"].append(_medline_mesh(value))
        elif tag == "OT":
            record["keywords"].append(value)
        elif tag in ("AID", "LID") and value.endswith("[doi]") and not record["doi"]:
            record["doi"] = value[: -len("[doi]")].strip()
        elif tag == "PMC":
            record["pmcid"] = value
    record["authors"] = [a for a in record["authors"] if not a.pop("pending", False)]
    return record


def _medline_author(tag, value):
    if tag == "CN":
        return {"collective": value, "affiliations": []}
    last, _, fore = value.partition(",")
    return {"last": last.strip(), "fore": fore.strip() or None, "initials": None,
            "affiliations": []}  # fmt: skip


def _medline_mesh(value):
    """ "*Neuralgia/immunology/*physiopathology" → a heading with its qualifiers."""
    name, *qualifiers = value.split("/")
    parsed = [[q.lstrip("*"), q.startswith("*")] for q in qualifiers]
    major = name.startswith("*") or any(m for _, m in parsed)
    return {"name": name.lstrip("*"), "ui": None, "major": major, "qualifiers": parsed}
