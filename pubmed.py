"""Readers for PubMed records: XML (PubmedArticleSet / MedlineCitationSet, plain or gzipped),
MEDLINE text (.nbib) and RIS. Each yields plain dicts shaped like `models.Article` rows, and
`Deletion`s, one at a time, so a file of any size is read in constant memory."""

import gzip
import html
import re
from dataclasses import dataclass
from pathlib import Path

import rispy
from lxml import etree

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
# Inline markup PubMed keeps in titles and abstracts; every other element becomes its text.
INLINE_TAGS = {"i", "b", "u", "sup", "sub"}
MATHML = "{http://www.w3.org/1998/Math/MathML}"


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
    }  # fmt: skip


def read(path):
    """Records and Deletions from a file of any supported format, chosen by its content."""
    return FileReader(path)


class FileReader:
    """Iterates the records of one file; `bytes_read` tells how far in it is (progress bars)."""

    def __init__(self, path):
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self._raw = None

    @property
    def bytes_read(self):
        if self._raw is None or self._raw.closed:
            return 0 if self._raw is None else self.size
        return self._raw.tell()

    def __iter__(self):
        kind = sniff(self.path)
        with open(self.path, "rb") as raw:
            self._raw = raw
            if kind == "xml":
                stream = gzip.GzipFile(fileobj=raw) if self.path.suffix == ".gz" else raw
                yield from parse_xml_stream(stream, self.path)
            elif kind == "medline":
                yield from parse_medline_lines(_numbered(raw, self.path), self.path)
            else:
                yield from parse_ris_lines(_numbered(raw, self.path), self.path)


def sniff(path):
    """ "xml", "medline" or "ris", from the name for XML and from the first text otherwise."""
    if path.suffix in (".gz", ".xml"):
        return "xml"
    head = path.read_bytes()[:4096].decode("utf-8-sig", "replace").lstrip()
    if head.startswith("<"):
        return "xml"
    if head.startswith("TY  -"):
        return "ris"
    if head.startswith("PMID-"):
        return "medline"
    raise MalformedFile(path, 1, "not PubMed XML, MEDLINE text (.nbib) or RIS")


def _numbered(raw, name):
    """(number, text) for each line of a binary file, decoded one line at a time so a byte
    that is not UTF-8 is reported on its own line."""
    for number, line in enumerate(raw, 1):
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise MalformedFile(name, number, "is not UTF-8 text") from None
        yield number, text.rstrip("\r\n")


# --- PubMed XML ---


def parse_xml_stream(stream, name):
    """Records and Deletions from a binary stream of PubMed XML (a file, an HTTP response);
    `name` is what error messages call the source. Each record is cleared once read, so
    memory stays flat whatever the size."""
    tags = ("PubmedArticle", "MedlineCitation", "DeleteCitation", "PubmedBookArticle")
    context = etree.iterparse(stream, events=("end",), tag=tags, resolve_entities=False)
    try:
        for _, elem in context:
            tag = elem.tag
            if tag == "MedlineCitation":
                parent = elem.getparent()
                if parent is not None and parent.tag == "PubmedArticle":
                    continue  # read with its PubmedData when the article ends
                yield citation_record(name, elem, None)
            elif tag == "PubmedArticle":
                yield citation_record(name, elem.find("MedlineCitation"), elem.find("PubmedData"))
            elif tag == "DeleteCitation":
                yield Deletion([_pmid(name, p) for p in elem.iter("PMID")], elem.sourceline)
            # PubmedBookArticle (NCBI Bookshelf chapters) has no journal: not a paper page.
            elem.clear(keep_tail=True)
            while elem.getprevious() is not None:
                del elem.getparent()[0]
    except etree.XMLSyntaxError as error:
        raise MalformedFile(name, error.lineno, error.msg) from None
    except EOFError as error:  # a truncated .gz
        raise MalformedFile(name, "end", f"compressed file ends early ({error})") from None


def _pmid(path, elem):
    text = (elem.text or "").strip()
    if not text.isdigit():
        raise MalformedFile(path, elem.sourceline, f"PMID {text!r} is not a number")
    return int(text)


def citation_record(path, citation, pubmed_data):
    """One record dict from a <MedlineCitation> (and the <PubmedData> beside it, if any)."""
    pmid_elem = citation.find("PMID")
    if pmid_elem is None:
        raise MalformedFile(path, citation.sourceline, "record has no PMID")
    record = empty_record(_pmid(path, pmid_elem))
    record["line"] = citation.sourceline
    for child in citation:
        tag = child.tag
        if tag == "Article":
            _read_article(record, child)
        elif tag == "MedlineJournalInfo":
            record["journal_abbrev"] = child.findtext("MedlineTA")
        elif tag == "MeshHeadingList":
            record["mesh"] = [_mesh_heading(h) for h in child]
        elif tag == "KeywordList":
            record["keywords"].extend(k.text.strip() for k in child if k.text and k.text.strip())
        elif tag == "OtherID":
            text = (child.text or "").strip()
            if text.startswith("PMC") and not record["pmcid"]:
                record["pmcid"] = text
    if pubmed_data is not None:
        for article_id in pubmed_data.iterfind("ArticleIdList/ArticleId"):
            kind, value = article_id.get("IdType"), (article_id.text or "").strip()
            if kind == "doi" and value and not record["doi"]:
                record["doi"] = value
            elif kind == "pmc" and value:
                record["pmcid"] = value
    return record


def _read_article(record, article):
    for child in article:
        tag = child.tag
        if tag == "Journal":
            _read_journal(record, child)
        elif tag == "ArticleTitle":
            record["title"] = inline_html(child)
        elif tag == "VernacularTitle":
            record["vernacular_title"] = inline_html(child)
        elif tag == "Pagination":
            record["pages"] = child.findtext("MedlinePgn") or None
        elif tag == "ELocationID":
            if child.get("EIdType") == "doi" and not record["doi"]:
                record["doi"] = (child.text or "").strip() or None
        elif tag == "Abstract":
            for part in child:
                if part.tag == "AbstractText":
                    record["abstract"].append(
                        {"label": part.get("Label"), "text": inline_html(part)}
                    )
                elif part.tag == "CopyrightInformation":
                    record["copyright"] = part.text
        elif tag == "AuthorList":
            record["authors"] = [_author(a) for a in child if a.tag == "Author"]
        elif tag == "Language":
            record["language"] = record["language"] or child.text
        elif tag == "PublicationTypeList":
            record["publication_types"] = [p.text for p in child if p.text]
        elif tag == "ArticleDate":
            record["epub_date"] = _iso_date(child)


def _read_journal(record, journal):
    for child in journal:
        tag = child.tag
        if tag == "ISSN":
            record["issn"] = child.text
        elif tag == "Title":
            record["journal_title"] = child.text
        elif tag == "ISOAbbreviation":
            record["journal_iso"] = child.text
        elif tag == "JournalIssue":
            texts = _child_texts(child)
            record["volume"] = texts.get("Volume")
            record["issue"] = texts.get("Issue")
            pub_date = child.find("PubDate")
            if pub_date is not None:
                _read_pub_date(record, pub_date)


def _child_texts(elem):
    """{tag: text} of an element's children, as findtext() reads them: the first child of each
    tag, "" for one with no text. One pass instead of a findtext() a field."""
    texts = {}
    for child in elem:
        tag = child.tag
        if tag not in texts:
            texts[tag] = child.text or ""
    return texts


def _read_pub_date(record, pub_date):
    texts = _child_texts(pub_date)
    medline_date = texts.get("MedlineDate")
    if medline_date:
        set_date_from_text(record, medline_date)
        return
    year = texts.get("Year")
    record["pub_year"] = int(year) if year and year.isdigit() else None
    record["pub_month"] = month_number(texts.get("Month"))
    day = texts.get("Day")
    record["pub_day"] = int(day) if day and day.isdigit() else None
    season = texts.get("Season")
    if season:
        record["pub_date_text"] = f"{year} {season}" if year else season


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


def month_number(text):
    """ "Jul", "July" or "07" → 7; anything else → None."""
    if not text:
        return None
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    return MONTH_NUMBERS.get(text.lower())


def _iso_date(elem):
    texts = _child_texts(elem)
    year, month, day = texts.get("Year"), texts.get("Month"), texts.get("Day")
    if not year:
        return None
    month = month_number(month)
    return f"{year}-{month or 1:02d}-{int(day) if day and day.isdigit() else 1:02d}"


def _author(author):
    # One pass over the children: findtext() per field costs more than the parse itself.
    person = {"last": None, "fore": None, "initials": None, "affiliations": []}
    for child in author:
        tag = child.tag
        if tag == "LastName":
            person["last"] = child.text
        elif tag == "ForeName":
            person["fore"] = child.text
        elif tag == "Initials":
            person["initials"] = child.text
        elif tag == "AffiliationInfo":
            person["affiliations"].extend(
                a.text for a in child if a.tag == "Affiliation" and a.text
            )
        elif tag == "Affiliation" and child.text:  # before 2014 the affiliation sat here
            person["affiliations"].append(child.text)
        elif tag == "CollectiveName":
            name = " ".join((child.text or "").split())
            return {"collective": name, "affiliations": person["affiliations"]}
    return person


def _mesh_heading(heading):
    descriptor, qualifiers = heading[0], []
    major = descriptor.get("MajorTopicYN") == "Y"
    for qualifier in heading[1:]:
        qualifier_major = qualifier.get("MajorTopicYN") == "Y"
        qualifiers.append([qualifier.text, qualifier_major])
        major = major or qualifier_major
    return {"name": descriptor.text, "ui": descriptor.get("UI"), "major": major,
            "qualifiers": qualifiers}  # fmt: skip


def inline_html(elem):
    """An element's content as HTML: PubMed's inline <i>/<b>/<u>/<sup>/<sub> kept as markup,
    MathML sub/superscripts mapped onto <sub>/<sup>, every other tag reduced to its text."""
    if len(elem) == 0:
        return html.escape(elem.text or "", quote=False)
    parts = [html.escape(elem.text or "", quote=False)]
    for child in elem:
        _append_node(child, parts)
    return "".join(parts).strip()


def _append_node(node, parts):
    tag = node.tag
    if isinstance(tag, str):
        if tag.startswith(MATHML) and tag[len(MATHML) :] in ("msub", "msup") and len(node) == 2:
            wrapper = "sub" if tag.endswith("msub") else "sup"
            _append_children(node[0], parts)
            parts.append(f"<{wrapper}>")
            _append_children(node[1], parts)
            parts.append(f"</{wrapper}>")
        elif tag in INLINE_TAGS:
            parts.append(f"<{tag}>")
            _append_children(node, parts)
            parts.append(f"</{tag}>")
        else:
            _append_children(node, parts)
    if node.tail:
        parts.append(html.escape(node.tail, quote=False))


def _append_children(node, parts):
    if node.text:
        parts.append(html.escape(node.text, quote=False))
    for child in node:
        _append_node(child, parts)


# --- MEDLINE text (.nbib) ---

MEDLINE_LINE = re.compile(r"^([A-Z][A-Z0-9]{0,3}) {0,3}- ?(.*)$")
# Inline abstract labels ("BACKGROUND: … METHODS: …") become sections as in the XML.
ABSTRACT_LABEL = re.compile(r"(?:^|(?<=\.)\s+)([A-Z][A-Z0-9 ,&/()-]{2,40}):\s")


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


# --- RIS ---

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
