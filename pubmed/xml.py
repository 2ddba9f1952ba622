"""PubMed XML (`PubmedArticleSet` from efetch, `MedlineCitationSet` from the baseline and update
files), streamed with lxml's iterparse."""

import html

from lxml import etree

from pubmed.records import Deletion, MalformedFile, empty_record, month_number, set_date_from_text

# Inline markup PubMed keeps in titles and abstracts; every other element becomes its text.
INLINE_TAGS = {"i", "b", "u", "sup", "sub"}
MATHML = "{http://www.w3.org/1998/Math/MathML}"


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
            record["language"] = record["language"] or child.text
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
