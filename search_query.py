"""PubMed-style search-box text → a Query: an FTS5 query for the full-text index (built on
peewee's `playhouse.fts_parser`), the same for PostgreSQL's `to_tsquery`, plus filters on
fields the index lacks (authors, journal, publication type, language, date, PMID). Pure
functions: no database, no Flask.

What the language takes (PubMed's syntax where it has one):

- words, "quoted phrases", AND / OR / NOT, parentheses, `-exclusion`, `word*` (prefix);
- tags on the index's columns become FTS5 column filters: `[ti]` → title, `[ab]` →
  abstract, `[tiab]` → {title abstract}, `[mh]`/`[mesh]`/`[majr]` → mesh, `[kw]`/`[ot]` →
  keywords, `[tw]`/`[all]` → every column; and the short forms `title:`, `abstract:`,
  `mesh:`, `keywords:`;
- tags on other fields become filters: `[au]` (`author:`), `[1au]`, `[ta]`/`[journal]`
  (`journal:`), `[pt]` (`type:`), `[la]` (`lang:`), `[dp]` with ranges `2010:2015[dp]`
  (`year:2010-2015`), `[pmid]` (`pmid:`);
- `retracted:yes` (only retracted papers) and `retracted:no` (none of them): a retraction
  known from PubMed or Retraction Watch.

Filters always narrow the whole query (AND), whatever operator stands next to them: the
index cannot OR a full-text match with a field it does not hold. Filters of one field joined
by OR (`smith[au] OR jones[au]`) accept either; `NOT x[au]` or `-author:x` excludes.
`[majr]` searches every MeSH heading (the index does not mark major topics).
"""

import re
import unicodedata
from dataclasses import dataclass, field

from playhouse.fts_parser import _Parser as FtsParser
from playhouse.fts_parser import parse as fts_parse

MAX_LENGTH = 1000  # characters: PubMed's own box takes about as many
COLUMNS = ("title", "abstract", "mesh", "keywords")

# Tags on the index's columns → an FTS5 column filter ("" = every column).
COLUMN_TAGS = {
    "ti": "title", "title": "title",
    "ab": "abstract", "abstract": "abstract",
    "tiab": "{title abstract}",
    "mh": "mesh", "mesh": "mesh", "majr": "mesh", "mh:noexp": "mesh", "sh": "mesh",
    "kw": "keywords", "ot": "keywords", "keyword": "keywords", "keywords": "keywords",
    "tw": "", "all": "", "all fields": "", "text word": "",
}  # fmt: skip
# Tags on other fields → the filter's field.
FILTER_TAGS = {
    "au": "au", "author": "au", "fau": "au", "full author name": "au",
    "1au": "1au", "first author": "1au",
    "ta": "ta", "journal": "ta", "jour": "ta", "jt": "ta",
    "pt": "pt", "publication type": "pt", "ptyp": "pt",
    "la": "la", "lang": "la", "language": "la",
    "dp": "dp", "pdat": "dp", "publication date": "dp", "year": "dp",
    "pmid": "pmid", "uid": "pmid",
}  # fmt: skip
KNOWN_TAGS = ("ti", "tiab", "ab", "au", "1au", "ta", "mh", "majr", "kw", "pt", "dp", "la", "pmid")
# Short forms `name:value` → the filter's field (column names are left to fts_parser).
SHORT_FORMS = {
    "author": "au", "au": "au", "journal": "ta", "ta": "ta", "type": "pt", "pt": "pt",
    "lang": "la", "language": "la", "la": "la", "year": "dp", "dp": "dp", "pmid": "pmid",
    "retracted": "retracted",
}  # fmt: skip
SHORT_COLUMNS = {"title": "title", "ti": "title", "abstract": "abstract", "ab": "abstract",
                 "mesh": "mesh", "mh": "mesh", "keywords": "keywords", "keyword": "keywords",
                 "kw": "keywords"}  # fmt: skip

# Publication types by the short names readers type (`type:rct`).
TYPE_ALIASES = {
    "rct": "randomized controlled trial", "trial": "clinical trial",
    "meta-analysis": "meta-analysis", "metaanalysis": "meta-analysis",
    "systematic": "systematic review", "guideline": "guideline", "review": "review",
    "case report": "case reports", "case": "case reports", "letter": "letter",
    "editorial": "editorial", "comment": "comment",
}  # fmt: skip

FIELD_NAMES = {"au": "author", "1au": "first author", "ta": "journal", "pt": "publication type",
               "la": "language", "dp": "publication date", "pmid": "PMID",
               "retracted": "retracted"}  # fmt: skip
YES_NO = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False,
          "false": False, "0": False}  # fmt: skip

TERM = r'"[^"]*"\*?|[^\s()"\[\]]+'
TAGGED = re.compile(
    r"(?P<neg>(?<![^\s(])-|\bNOT\s+)?"
    rf"(?P<term>(?!(?:AND|OR|NOT)\s){TERM}(?:\s+[A-Za-z][A-Za-z.]{{0,3}}(?=\s*\[))?)\s*\[(?P<tag>[^\[\]]*)\]"
)
SHORT = re.compile(
    r'(?P<neg>(?<![^\s(])-|\bNOT\s+)?(?<![\w{])(?P<name>[A-Za-z]+):(?P<term>"[^"]*"?|[^\s()"]+)'
)
OR_BETWEEN = re.compile(r"\s+OR\s+")
PMID = re.compile(r"\s*(?:PMID:?\s*)?(\d{1,9})\s*", re.I)
DOI = re.compile(r"\s*(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)\s*", re.I)
YEARS = re.compile(r"^(\d{4})(?:[/\-]\d{1,2}){0,2}(?:\s*[:\-]\s*(\d{4})(?:[/\-]\d{1,2}){0,2})?$")
SPOT = re.compile("\x00(\\d+)\x01")
NOT_NAME = re.compile(r"[^\w\s'-]")
# PubMed truncates a phrase inside its quotes ("insulin resist*"); FTS5 after them.
QUOTED_STAR = re.compile(r'"([^"]*?)\*+"')


class QueryError(ValueError):
    """A query that cannot be searched, with the reason in words for the reader."""


@dataclass(frozen=True)
class Filter:
    """A condition on a field the full-text index lacks. `values` are OR-ed (for `dp`, one
    (first, last) year pair); `negate` excludes what matches."""

    field: str
    values: tuple
    negate: bool = False


@dataclass
class Query:
    """What the search box asked for: `fts` (a valid FTS5 query, or None when only filters
    were given), the `filters`, and `goto` — ("pmid", 123) or ("doi", "10.…") when the box
    held nothing but an identifier."""

    text: str
    fts: str | None = None
    filters: list = field(default_factory=list)
    goto: tuple | None = None
    tsquery: str | None = None  # the same full-text part for PostgreSQL's to_tsquery

    @property
    def empty(self):
        return self.fts is None and not self.filters


def clean(text):
    """The text with control characters and other invisibles (bidi marks, zero-width
    spaces) turned into spaces, runs of space collapsed."""
    chars = []
    for char in text or "":
        category = unicodedata.category(char)
        chars.append(" " if category.startswith(("C", "Z")) else char)
    return " ".join("".join(chars).split())


def ascii_lower(text):
    """Lowercase as SQLite's lower() does (ASCII only), so keys built there match."""
    return text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


def author_key(name):
    """ "Calvo, M." → "calvo m": how the author side table stores names (last name, then
    initials or fore name; see models.ArticleFacet)."""
    return " ".join(ascii_lower(NOT_NAME.sub(" ", name.replace(".", " "))).split())


def journal_key(name):
    """ "Lancet Neurol." → "lancet neurol" (the side table strips the ISO form's periods)."""
    return " ".join(ascii_lower(name.replace(".", " ")).split())


def author_term(author):
    """The `[au]` term for an author of a record: "Calvo M", or a group's name."""
    if author.get("collective"):
        return author["collective"]
    return " ".join(p for p in (author.get("last"), author.get("initials")) if p)


def parse(text):
    """The Query the search box `text` asks for. Anything odd is repaired (fts_parser) rather
    than refused; refused (QueryError) are only a query too long, an unknown tag, a value a
    field cannot take, and a query with nothing left to search for."""
    text = clean(text)
    if len(text) > MAX_LENGTH:
        raise QueryError(
            f"That query is {len(text)} characters long; a search takes at most {MAX_LENGTH}."
        )
    query = Query(text)
    if not text:
        return query
    if match := PMID.fullmatch(text):
        query.goto = ("pmid", int(match.group(1)))
    elif match := DOI.fullmatch(text):
        query.goto = ("doi", match.group(1).rstrip(".,;"))

    found = []  # (start, end, field, value, negate) for every filter, in order
    rest = _take_tags(QUOTED_STAR.sub(r'"\1"*', text), found)
    rest = _take_short_forms(rest, found)
    query.filters = _merge(rest, found)
    fts = fts_parse(SPOT.sub(" ", rest), COLUMNS)
    query.fts = None if fts == '""' else fts
    query.tsquery = to_tsquery(SPOT.sub(" ", rest))
    if query.empty:
        raise QueryError(
            'There is nothing to search for in that query: type a word, a "phrase" or a '
            "field such as author:smith."
        )
    return query


def _spot(found):
    """The placeholder left where the next filter stood: its number in `found`."""
    return f" \x00{len(found)}\x01 "


def _take_tags(text, found):
    """Rewrite `term[tag]`: column tags in place as FTS5 column filters, other tags taken out
    into `found` (the text keeps spaces where they stood)."""
    out, pos = [], 0
    for match in TAGGED.finditer(text):
        tag = " ".join(match.group("tag").lower().split())
        term = match.group("term")
        negate = bool(match.group("neg"))
        prefix = ""
        if tag in COLUMN_TAGS or tag not in FILTER_TAGS or FILTER_TAGS[tag] not in ("au", "1au"):
            # Only an author term runs on to initials ("smith j[au]"); elsewhere the tag is
            # the last word's.
            head, _, tail = term.rpartition(" ")
            if head and not term.startswith('"'):
                prefix, term = head + " ", tail
        if tag in COLUMN_TAGS:
            column = COLUMN_TAGS[tag]
            sign = "-" if negate else ""
            rewritten = f"{sign}{column}:{term}" if column else f"{sign}{term}"
            out.append(text[pos : match.start()] + prefix + " " + rewritten + " ")
        elif tag in FILTER_TAGS:
            out.append(text[pos : match.start()] + prefix + _spot(found))
            found.append((FILTER_TAGS[tag], _unquote(term), negate))
        else:
            known = ", ".join(f"[{t}]" for t in KNOWN_TAGS)
            raise QueryError(
                f"PubMed's tag [{match.group('tag')}] is not one Pearl knows: use one of {known}."
            )
        pos = match.end()
    return "".join(out) + text[pos:]


def _take_short_forms(text, found):
    """Take `author:x`, `journal:"x y"`, `year:2010-2015`, `type:review`… out into `found`;
    column names (`mesh:x`, `Title:x`) are spelled as fts_parser expects them."""
    out, pos = [], 0
    for match in SHORT.finditer(text):
        name = match.group("name").lower()
        if name in SHORT_COLUMNS:
            sign = "-" if match.group("neg") else ""
            out.append(text[pos : match.start()] + f" {sign}{SHORT_COLUMNS[name]}:")
            pos = match.start("term")
            continue
        if name not in SHORT_FORMS:
            continue  # "http:", "e.g:": plain words for fts_parser
        out.append(text[pos : match.start()] + _spot(found))
        found.append((SHORT_FORMS[name], _unquote(match.group("term")), bool(match.group("neg"))))
        pos = match.end()
    return "".join(out) + text[pos:]


def _unquote(term):
    return term.strip().strip('"').strip()


def _merge(rest, found):
    """Filters from `found`, checked and normalised, in the order they stand in the text;
    filters of one field with only OR between them become one filter taking either."""
    filters = []
    previous_end = None
    for spot in SPOT.finditer(rest):
        name, value, negate = found[int(spot.group(1))]
        value = _normalise(name, value)
        between = rest[previous_end : spot.start()] if previous_end is not None else None
        last = filters[-1] if filters else None
        if (
            last is not None and between is not None and OR_BETWEEN.fullmatch(between)
            and last.field == name and last.negate == negate and name != "dp"
        ):  # fmt: skip
            filters[-1] = Filter(name, (*last.values, value), negate)
        else:
            filters.append(Filter(name, (value,), negate))
        previous_end = spot.end()
    return filters


def _normalise(name, value):
    """A filter's value as the side table stores it, or QueryError saying what is wrong."""
    label = FIELD_NAMES[name]
    if not value:
        raise QueryError(f"Give the {label} to search for, e.g. {_example(name)}.")
    if name in ("au", "1au"):
        key = author_key(value)
        if not key:
            raise QueryError(f"“{value}” is not an author's name: try {_example(name)}.")
        return key
    if name == "ta":
        return journal_key(value)
    if name == "pt":
        key = ascii_lower(value).strip()
        return TYPE_ALIASES.get(key, key)
    if name == "la":
        return _language_code(value)
    if name == "retracted":
        if value.lower() not in YES_NO:
            raise QueryError(f"Write retracted:yes or retracted:no, not “{value}”.")
        return YES_NO[value.lower()]
    if name == "pmid":
        if not value.isdigit() or len(value) > 18:
            raise QueryError(f"A PMID is a number: “{value}” is not one.")
        return int(value)
    years = YEARS.match(value.replace(" ", ""))
    if not years:
        raise QueryError(
            f"“{value}” is not a publication date Pearl understands: write a year (2015) or a "
            "range (2010:2015[dp], year:2010-2015)."
        )
    first, last = int(years.group(1)), int(years.group(2) or years.group(1))
    return (min(first, last), max(first, last))


def _example(name):
    return {"au": "smith j[au]", "1au": "smith j[1au]", "ta": '"lancet neurol"[ta]',
            "pt": "review[pt]", "la": "english[la]", "pmid": "23456789[pmid]",
            "dp": "2010:2015[dp]", "retracted": "retracted:no"}[name]  # fmt: skip


LANGUAGE_CODES = {
    "english": "eng", "french": "fre", "german": "ger", "spanish": "spa", "italian": "ita",
    "portuguese": "por", "polish": "pol", "russian": "rus", "japanese": "jpn",
    "chinese": "chi", "dutch": "dut", "czech": "cze", "danish": "dan", "swedish": "swe",
    "norwegian": "nor", "finnish": "fin", "hungarian": "hun", "turkish": "tur",
    "korean": "kor", "hebrew": "heb", "greek": "gre", "arabic": "ara", "persian": "per",
    "ukrainian": "ukr", "croatian": "hrv", "serbian": "srp", "slovak": "slo",
    "slovenian": "slv", "romanian": "rum", "bulgarian": "bul", "lithuanian": "lit",
}  # fmt: skip


def _language_code(value):
    key = ascii_lower(value).strip()
    return LANGUAGE_CODES.get(key, key)


# --- the same language on PostgreSQL ---

# Each index column is a weight of PostgreSQL's tsvector (what the PostgreSQL engine builds).
WEIGHTS = {"title": "A", "abstract": "B", "mesh": "C", "keywords": "D"}
TSQUERY_WORD = re.compile(r"[^\W_]+")  # letters and digits: FTS5's unicode61 tokens


def to_tsquery(text):
    """The search-box text (filters already taken out) as PostgreSQL `to_tsquery` text over
    Pearl's weighted tsvector (title A, abstract B, mesh C, keywords D), or None when it has
    nothing to search for: `'neuropath':* & 'pain':AB`. Parsed and repaired exactly as for
    FTS5, by fts_parser, so both engines search for the same thing."""
    return _TsqueryParser(text, COLUMNS).translate()


class _TsqueryParser(FtsParser):
    """fts_parser's own parser with its own repairs (quotes, parentheses, stray operators),
    rendering its tree for PostgreSQL instead of FTS5. The parser is fts_parser's private
    class: peewee is pinned, and tests/test_search_query.py pins what this renders."""

    def translate(self):
        rendered = super().translate()
        return None if rendered in ('""', "") else rendered

    def _render(self, node, nested=False, weights=""):
        """The node as tsquery text; "" when nothing in it has a letter or digit (`"_"`),
        which its parents leave out, as FTS5's tokenizer would."""
        kind = node[0]
        if kind == "t":
            return _tsquery_phrase(node[1], weights)
        if kind == "col":
            names = re.findall(r'"((?:[^"]|"")*)"', node[1])
            weights = "".join(WEIGHTS[name.replace('""', '"')] for name in names)
            return self._render(node[2], nested, weights)
        if kind in ("and", "or"):
            parts = [self._render(child, True, weights) for child in node[1]]
            parts = [part for part in parts if part]
            text = (" & " if kind == "and" else " | ").join(parts)
        else:  # ("not", kept, [excluded, ...])
            kept = self._render(node[1], True, weights)
            excluded = [self._render(child, True, weights) for child in node[2]]
            parts = [kept] + ["!" + part for part in excluded if part] if kept else []
            text = " & ".join(parts)
        return f"({text})" if nested and len(parts) > 1 else text


def _tsquery_phrase(term, weights):
    """A rendered FTS5 term (`"heart failure"*`) as one quoted tsquery operand: PostgreSQL's
    parser splits it into lexemes in a row (`'heart' <-> 'failur'`) as it split the papers'
    text, so "covid-19" or "p<0.05" are read alike on both sides. A prefix marks each."""
    star = term.endswith("*")
    text = (term[1:-2] if star else term[1:-1]).replace('""', '"')
    if not TSQUERY_WORD.search(text):
        return ""
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    marks = ("*" if star else "") + weights
    return f"{quoted}:{marks}" if marks else quoted
