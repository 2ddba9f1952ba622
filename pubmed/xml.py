"""PubMed XML (`PubmedArticleSet` from efetch, `MedlineCitationSet` from the baseline and update
files), streamed with lxml's iterparse."""

import html
import itertools

from lxml import etree

from markup import MATHML_TAGS, mathml_attribute_allowed
from pubmed.records import (
    Deletion,
    MalformedFile,
    empty_record,
    month_number,
    normalise_orcid,
    set_date_from_text,
)

# Inline markup PubMed keeps in titles and abstracts; every other element becomes its text.
INLINE_TAGS = {"i", "b", "u", "sup", "sub"}
MATHML = "{http://www.w3.org/1998/Math/MathML}"
RECORD_TAGS = ("PubmedArticle", "MedlineCitation", "DeleteCitation", "PubmedBookArticle")
# Bytes fed to the parser at a time (what lxml's iterparse reads, too).
CHUNK = 32 * 1024
# How far into a file its root element is looked for (see _root_tag): PubMed's own start
# within a few hundred bytes, after the XML declaration and DOCTYPE.
ROOT_SEARCH = 1024 * 1024


def parse_xml_stream(stream, name):
    """Records and Deletions from a binary stream of PubMed XML (a file, an HTTP response);
    `name` is what error messages call the source. Memory stays flat whatever the file: each
    record is cleared once read, and so is every element outside a record (a hostile file's
    millions of empty elements between records would otherwise pile up under the root)."""
    open_records = 0  # records being read: what ends inside one is part of it
    try:
        for event, elem in _record_events(stream):
            tag = elem.tag
            if tag not in RECORD_TAGS:
                continue  # the root's start (it may share its name with elements inside)
            if event == "start":
                open_records += 1
                continue
            open_records -= 1
            if tag == "MedlineCitation" and open_records:
                continue  # inside a PubmedArticle: read with its PubmedData when it ends
            if tag == "MedlineCitation":
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


def _record_events(stream):
    """("start" | "end", element) for each record, and ("start", root) first. The parser
    reports only these (an event for every element costs more than the parse itself), so
    what lies outside the records is pruned from the tree after each chunk instead: every
    finished element above the records goes (see _prune). A syntax error comes after the
    events before it, as iterparse gives them."""
    root_tag, head = _root_tag(stream)
    tags = RECORD_TAGS if root_tag is None else (*RECORD_TAGS, root_tag)
    parser = etree.XMLPullParser(events=("start", "end"), tag=tags, resolve_entities=False,
                                 remove_comments=True, remove_pis=True)  # fmt: skip
    root = None
    chunks = itertools.chain(head, iter(lambda: stream.read(CHUNK), b""))
    for data in itertools.chain(chunks, [None]):
        error = None
        try:
            if data is None:
                parser.close()
            else:
                parser.feed(data)
        except etree.XMLSyntaxError as raised:
            error = raised  # the events before it still count
        for event, elem in parser.read_events():
            if root is None:
                root = elem.getroottree().getroot()
            yield event, elem
        if error is not None:
            raise error
        if root is not None:
            _prune(root)


def _root_tag(stream):
    """(the tag of the stream's root element, or None if not found, and the chunks read to
    find it). Its start is the first event the record parser needs: from the root, it
    prunes what comes before the first record, too."""
    sniffer = etree.XMLPullParser(events=("start",), resolve_entities=False,
                                  remove_comments=True, remove_pis=True)  # fmt: skip
    head, size = [], 0
    while size < ROOT_SEARCH:
        data = stream.read(CHUNK)
        if not data:
            break
        head.append(data)
        size += len(data)
        try:
            sniffer.feed(data)
        except etree.XMLSyntaxError:
            break  # the record parser will stop at the same place and say why
        for _, elem in sniffer.read_events():
            return elem.tag, head
    return None, head


def _prune(root):
    """Delete the finished elements outside the records: at each level from the root down,
    every child but the last (which may still be open), stopping at a record (cleared
    when it ends). Every record before them has been read by now."""
    parent = root
    while parent.tag not in RECORD_TAGS and len(parent):
        last = parent[-1]
        if len(parent) > 1:
            del parent[:-1]
        parent = last


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
        elif tag == "ChemicalList":
            record["chemicals"] = [_chemical(c) for c in child if c.tag == "Chemical"]
        elif tag == "CommentsCorrectionsList":
            record["comments_corrections"] = [_comment_correction(c) for c in child]
        elif tag == "OtherAbstract":
            record["other_abstracts"].append(_other_abstract(child))
    if pubmed_data is not None:
        # Only PubmedData's own list: each Reference in a ReferenceList has one too.
        for id_list in pubmed_data.iterchildren("ArticleIdList"):
            _read_article_ids(record, id_list)
    return record


def _read_article_ids(record, id_list):
    """Every ArticleId by its IdType (the first of each type), and the DOI and PMCID columns."""
    ids = record["article_ids"]
    for article_id in id_list:
        kind, value = article_id.get("IdType"), (article_id.text or "").strip()
        if not (kind and value):
            continue
        ids.setdefault(kind, value)
        if kind == "doi" and not record["doi"]:
            record["doi"] = value
        elif kind == "pmc":
            record["pmcid"] = value


def _chemical(chemical):
    """{"name", "ui", "registry"} of a substance; registry "0" is PubMed's "no number"."""
    item = {"name": None, "ui": None, "registry": None}
    for child in chemical:
        if child.tag == "NameOfSubstance":
            item["name"], item["ui"] = child.text, child.get("UI")
        elif child.tag == "RegistryNumber":
            item["registry"] = child.text
    return item


def _comment_correction(link):
    """{"type", "pmid", "source", "note"}: a comment, erratum, retraction, update or cited
    paper, with its PMID (an int, None when PubMed has none) and citation (RefSource)."""
    item = {"type": link.get("RefType"), "pmid": None, "source": None, "note": None}
    for child in link:
        tag = child.tag
        if tag == "PMID":
            text = (child.text or "").strip()
            item["pmid"] = int(text) if text.isdigit() else None
        elif tag == "RefSource":
            item["source"] = child.text
        elif tag == "Note":
            item["note"] = child.text
    return item


def _other_abstract(other):
    """{"type", "language", "sections", "copyright"}: a translation, a publisher's or a
    plain-language summary, sections shaped like the abstract's."""
    sections, copyright = [], None
    for part in other:
        if part.tag == "AbstractText":
            sections.append({"label": part.get("Label"), "text": inline_html(part)})
        elif part.tag == "CopyrightInformation":
            copyright = part.text
    return {"type": other.get("Type"), "language": other.get("Language"),
            "sections": sections, "copyright": copyright}  # fmt: skip


def _read_article(record, article):
    article_affiliation = None
    for child in article:
        tag = child.tag
        if tag == "Journal":
            _read_journal(record, child)
        elif tag == "ArticleTitle":
            record["title"] = inline_html(child)
        elif tag == "VernacularTitle":
            record["vernacular_title"] = inline_html(child)
        elif tag == "Affiliation":  # older layouts (pubmed_110101): the first author's
            article_affiliation = child.text
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
            if child.text:
                record["languages"].append(child.text)
                record["language"] = record["language"] or child.text
        elif tag == "GrantList":
            record["grants"] = [_grant(g) for g in child if g.tag == "Grant"]
        elif tag == "PublicationTypeList":
            record["publication_types"] = [p.text for p in child if p.text]
        elif tag == "ArticleDate":
            record["epub_date"] = _iso_date(child)
    if article_affiliation and record["authors"]:
        record["authors"][0]["affiliations"].insert(0, article_affiliation)


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
        # Read as MEDLINE text writes it ("2001 May-Jun"): month May, as in a MedlineDate.
        set_date_from_text(record, f"{year} {season}" if year else season)
        record["pub_date_text"] = f"{year} {season}" if year else season


def _iso_date(elem):
    texts = _child_texts(elem)
    year, month, day = texts.get("Year"), texts.get("Month"), texts.get("Day")
    if not year:
        return None
    month = month_number(month)
    return f"{year}-{month or 1:02d}-{int(day) if day and day.isdigit() else 1:02d}"


def _grant(grant):
    """{"id", "acronym", "agency", "country"} of one grant, as the record gives them."""
    texts = _child_texts(grant)
    return {
        "id": texts.get("GrantID") or None,
        "acronym": texts.get("Acronym") or None,
        "agency": texts.get("Agency") or None,
        "country": texts.get("Country") or None,
    }


def _author(author):
    # One pass over the children: findtext() per field costs more than the parse itself.
    person = {"last": None, "fore": None, "initials": None, "orcid": None, "affiliations": []}
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
        elif tag == "Identifier" and child.get("Source") == "ORCID" and not person["orcid"]:
            person["orcid"] = normalise_orcid(child.text)
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
    return {"name": descriptor.text, "ui": descriptor.get("UI"), "major": major,
            "qualifiers": qualifiers}  # fmt: skip


def inline_html(elem):
    """An element's content as HTML: PubMed's inline <i>/<b>/<u>/<sup>/<sub> kept as markup,
    MathML kept as MathML Core (see `_append_math`), every other tag reduced to its text."""
    if len(elem) == 0:
        return html.escape(elem.text or "", quote=False)
    parts = [html.escape(elem.text or "", quote=False)]
    for child in elem:
        _append_node(child, parts)
    return "".join(parts).strip()


def _append_node(node, parts):
    tag = node.tag
    if isinstance(tag, str):
        if tag.startswith(MATHML):
            _append_math_root(node, parts)
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


# --- MathML ---
# Kept as MathML Core without the namespace prefix (how HTML writes it, and what Chromium
# renders), with only the elements and attribute values markup.py's sanitizer allows. The
# <math> element carries its plain text in `alttext`: screen readers read it, and
# models.html_to_text gives it to everything that wants text (search, citations, .txt).

# Accents written over (or under) a letter, as the combining characters plain text uses.
COMBINING_ACCENTS = {
    ".": "\u0307", "\u02d9": "\u0307", "\u00b7": "\u0307", "..": "\u0308", "\u00a8": "\u0308",
    "^": "\u0302", "\u02c6": "\u0302", "~": "\u0303", "\u02dc": "\u0303", "\u00af": "\u0304",
    "\u203e": "\u0305", "\u2192": "\u20d7", "\u02c7": "\u030c", "\u00b4": "\u0301", "`": "\u0300",
}  # fmt: skip
MATHML_TOKENS = {"mi", "mn", "mo", "ms", "mtext"}
MATHML_DROPPED = {"annotation", "annotation-xml"}  # alternative encodings (TeX, Content MathML)


def _local(node):
    """The MathML element's name without its namespace; None for a comment or a non-MathML
    element."""
    tag = node.tag
    return tag[len(MATHML) :] if isinstance(tag, str) and tag.startswith(MATHML) else None


def _append_math_root(node, parts):
    """A <math> element (or MathML without one around it) as <math alttext="…">…</math>."""
    display = node.get("display") if _local(node) == "math" else None
    attributes = f' alttext="{html.escape(_math_text(node).strip())}"'
    if display in ("block", "inline"):
        attributes += f' display="{display}"'
    parts.append(f"<math{attributes}>")
    if _local(node) == "math":
        for child in node:
            _append_math(child, parts)
    else:
        _append_math(node, parts)
    parts.append("</math>")


def _token_text(node):
    """A token's text, whitespace trimmed and collapsed as MathML renders it."""
    return " ".join("".join(node.itertext()).split())


def _append_math(node, parts):
    """One MathML element as MathML Core. Whitespace between elements is layout of the XML,
    not content, so only token elements contribute text. Elements Core lacks become <mrow>,
    keeping what they contain; <none/> (an empty script slot) is an empty <mrow> in Core."""
    name = _local(node)
    if name is None or name in MATHML_DROPPED:
        return
    if name == "semantics":  # the presentation is its first child; the rest are annotations
        if len(node):
            _append_math(node[0], parts)
        return
    if name == "mfenced":  # deprecated and not in Core: spelled out as its fences
        _append_fenced(node, parts)
        return
    if name not in MATHML_TAGS or name in ("math", "none"):
        name = "mrow"
    parts.append(f"<{name}{_math_attributes(node, name)}>")
    if name in MATHML_TOKENS:
        text = _token_text(node)
        if not text and name == "mtext" and node.text:
            text = "\u00a0"  # an <mtext> of only a space separates words ("¹H MRI"): keep it
        parts.append(html.escape(text, quote=False))
    else:
        for child in node:
            _append_math(child, parts)
    parts.append(f"</{name}>")


def _math_attributes(node, name):
    """The attributes the sanitizer allows, and accent="true" on an <mover> whose over
    script is an accent (so the dot of V̇ sits on the letter, not above it as a script)."""
    kept = "".join(
        f' {attribute}="{html.escape(value)}"'
        for attribute, value in node.attrib.items()
        if mathml_attribute_allowed(attribute, value)
    )
    if (
        name == "mover"
        and len(node) == 2
        and "accent" not in node.attrib
        and _token_text(node[1]) in COMBINING_ACCENTS
    ):
        kept += ' accent="true"'
    return kept


def _append_fenced(node, parts):
    """<mfenced> as the <mrow> of <mo> fences and separators it stands for."""
    opening, closing = node.get("open", "("), node.get("close", ")")
    separators = "".join(node.get("separators", ",").split())
    parts.append(f"<mrow><mo>{html.escape(opening, quote=False)}</mo>")
    for index, child in enumerate(child for child in node if _local(child)):
        if index and separators:
            separator = separators[min(index - 1, len(separators) - 1)]
            parts.append(f"<mo>{html.escape(separator, quote=False)}</mo>")
        _append_math(child, parts)
    parts.append(f"<mo>{html.escape(closing, quote=False)}</mo></mrow>")


def _math_text(node):
    """Plain text of MathML as a reader would type it: V̇O2max, 3He, a/b, √x. Scripts follow
    their base, prescripts (isotopes) come before it, accents become combining characters."""
    name = _local(node)
    if name is None or name in MATHML_DROPPED or name in ("none", "mprescripts"):
        return ""
    if name in MATHML_TOKENS:
        text = _token_text(node)
        return text or (" " if name == "mtext" and node.text else "")
    children = [child for child in node if _local(child)]
    texts = [_math_text(child) for child in children]
    if name == "semantics":
        return texts[0] if texts else ""
    if name in ("mover", "munder") and len(texts) == 2:
        accent = COMBINING_ACCENTS.get(texts[1]) if name == "mover" else None
        if name == "munder" and texts[1] == "_":
            accent = "\u0332"
        return texts[0] + accent if accent else texts[0] + texts[1]
    if name == "mmultiscripts":
        names = [_local(child) for child in children]
        if "mprescripts" in names:
            split = names.index("mprescripts")
            return "".join(texts[split + 1 :]) + "".join(texts[:split])
    if name == "mfrac" and len(texts) == 2:
        return f"{_grouped(texts[0])}/{_grouped(texts[1])}"
    if name == "msqrt":
        return "√" + _grouped("".join(texts))
    if name == "mroot" and len(texts) == 2:
        return f"{texts[1]}√{_grouped(texts[0])}"
    if name == "mfenced":
        return node.get("open", "(") + ",".join(texts) + node.get("close", ")")
    if name in ("mtr", "mtable"):
        return " ".join(texts)
    return "".join(texts)


def _grouped(text):
    """Text in parentheses when it is more than one symbol (a fraction's (a+b)/2)."""
    return text if len(text) <= 1 or text.isalnum() else f"({text})"
