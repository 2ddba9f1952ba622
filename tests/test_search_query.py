"""The search box's language (search_query.py): PubMed's syntax to an FTS5 query and filters,
and hostile input repaired or refused in words — never an exception SQLite would raise."""

import os
import sqlite3

import pytest

import search_query
from search_query import Filter, QueryError, parse


@pytest.fixture(scope="module")
def fts():
    """An in-memory FTS5 table shaped like article_search, to prove every query is valid."""
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE article_search USING fts5(title, abstract, mesh, keywords,"
        " tokenize='porter unicode61 remove_diacritics 2')"
    )
    connection.execute(
        "INSERT INTO article_search (rowid, title, abstract, mesh, keywords) VALUES"
        " (1, 'Neuropathic pain', 'Pain after nerve injury', 'Neuralgia ; Pain', 'allodynia'),"
        " (2, 'Heart failure', 'Chronic heart failure in the elderly', 'Heart Failure', '')"
    )
    yield connection
    connection.close()


def matches(connection, query):
    rows = connection.execute(
        "SELECT rowid FROM article_search WHERE article_search MATCH ? ORDER BY rowid", [query]
    )
    return [rowid for (rowid,) in rows]


@pytest.mark.parametrize(
    ("text", "fts"),
    [
        ("pain", '"pain"'),
        ("neuropathic pain", '"neuropathic" AND "pain"'),
        ('"neuropathic pain"', '"neuropathic pain"'),
        ("pain OR failure", '"pain" OR "failure"'),
        ("pain NOT heart", '"pain" NOT "heart"'),
        ("pain -heart", '"pain" NOT "heart"'),
        ("(pain OR heart) AND failure", '("pain" OR "heart") AND "failure"'),
        ("pain[ti]", '"title": "pain"'),
        ('"nerve injury"[tiab]', '{"title" "abstract"}: "nerve injury"'),
        ("neuralgia[mh]", '"mesh": "neuralgia"'),
        ("neuralgia[majr]", '"mesh": "neuralgia"'),
        ("allodynia[kw]", '"keywords": "allodynia"'),
        ("pain[tw]", '"pain"'),
        ("mesh:Pain", '"mesh": "Pain"'),
        ("MeSH:Pain", '"mesh": "Pain"'),
        ("Title:pain", '"title": "pain"'),
        ("neuro*", '"neuro"*'),
    ],
)
def test_words_phrases_operators_and_column_tags(text, fts):
    assert parse(text).fts == fts
    assert parse(text).filters == []


@pytest.mark.parametrize(
    ("text", "filters", "fts"),
    [
        ("smith j[au]", [Filter("au", ("smith j",))], None),
        ("Smith, J.[au] pain", [Filter("au", ("smith j",))], '"pain"'),
        ("smith[1au]", [Filter("1au", ("smith",))], None),
        ("author:smith", [Filter("au", ("smith",))], None),
        ("-author:smith pain", [Filter("au", ("smith",), negate=True)], '"pain"'),
        ("pain NOT smith[au]", [Filter("au", ("smith",), negate=True)], '"pain"'),
        ("smith[au] OR jones[au]", [Filter("au", ("smith", "jones"))], None),
        ("smith[au] AND jones[au]", [Filter("au", ("smith",)), Filter("au", ("jones",))], None),
        ('"Lancet Neurol."[ta]', [Filter("ta", ("lancet neurol",))], None),
        ('journal:"J Biol Chem" kinase', [Filter("ta", ("j biol chem",))], '"kinase"'),
        ("review[pt]", [Filter("pt", ("review",))], None),
        ("type:rct", [Filter("pt", ("randomized controlled trial",))], None),
        ("type:Review OR type:letter", [Filter("pt", ("review", "letter"))], None),
        ("2010:2015[dp]", [Filter("dp", ((2010, 2015),))], None),
        ("2015/06/01:2010[dp]", [Filter("dp", ((2010, 2015),))], None),
        ("2012[dp] pain", [Filter("dp", ((2012, 2012),))], '"pain"'),
        ("year:2010-2015", [Filter("dp", ((2010, 2015),))], None),
        ("english[la]", [Filter("la", ("eng",))], None),
        ("lang:ita", [Filter("la", ("ita",))], None),
        ("26702259[pmid]", [Filter("pmid", (26702259,))], None),
        ("pmid:1 OR pmid:2", [Filter("pmid", (1, 2))], None),
        (
            "(pain[ti] OR neuralgia[mh]) AND 2015[dp] AND review[pt]",
            [Filter("dp", ((2015, 2015),)), Filter("pt", ("review",))],
            '("title": "pain") OR ("mesh": "neuralgia")',
        ),
    ],
)
def test_field_tags_and_short_forms_become_filters(text, filters, fts):
    query = parse(text)
    assert query.filters == filters
    assert query.fts == fts


@pytest.mark.parametrize(
    ("text", "goto"),
    [
        ("26702259", ("pmid", 26702259)),
        (" PMID: 26702259 ", ("pmid", 26702259)),
        ("10.1016/S1474-4422(12)70106-0", ("doi", "10.1016/S1474-4422(12)70106-0")),
        ("doi:10.1016/j.jcrs.2015.09.001", ("doi", "10.1016/j.jcrs.2015.09.001")),
        ("https://doi.org/10.1074/jbc.M115.688952.", ("doi", "10.1074/jbc.M115.688952")),
        ("26702259 pain", None),
    ],
)
def test_a_bare_pmid_or_doi_goes_to_its_paper(text, goto):
    assert parse(text).goto == goto


HOSTILE = [
    '"unbalanced quote',
    'pain "',
    '""',
    "((pain",
    "pain))",
    ")(",
    "(" * 200 + "pain" + ")" * 3,
    "AND",
    "pain AND",
    "OR OR NOT AND",
    "NOT pain",
    "*",
    "pain*heart",
    "**pain",
    "^pain",
    "NEAR(pain heart)",
    "NEAR(pain heart, 2)",
    "pain NEAR/3 heart",
    "title:",
    "rowid:1",
    "article_search:pain",
    "{title abstract}:pain",
    "{title rowid}:pain",
    "-title:pain heart",
    "- pain",
    "--pain",
    "pain[ti",
    "pain]",
    "[ti]",
    "[]pain",
    "pain\x00heart",
    "pain\x1b[31mheart",
    "pain\u200bheart \u202eliah\u202c",
    "ألم مزمن",
    "כאב OR pain",
    "疼痛",
    "Schmerz Übelkeit naïve",
    "'; DROP TABLE article; --",
    "pain' OR '1'='1",
    'x" OR "y',
    "pain:heart:lung",
    "author:",
    "a" * 999,
    "pain " * 199,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_is_repaired_into_a_valid_fts5_query_or_refused_in_words(fts, text):
    try:
        query = parse(text)
    except QueryError as error:
        assert str(error).endswith(".")  # a sentence for the reader, not a traceback
        return
    if query.fts:
        matches(fts, query.fts)  # SQLite accepts it (this would raise otherwise)


def test_operators_in_lowercase_are_words(fts):
    assert parse("pain and heart").fts == '"pain" AND "and" AND "heart"'


def test_control_characters_and_invisibles_become_spaces():
    assert parse("pain\x00heart\u200b\u202elung").fts == '"pain" AND "heart" AND "lung"'


def test_rtl_text_is_searched_as_written(fts):
    fts.execute("INSERT INTO article_search (rowid, title) VALUES (3, 'ألم مزمن')")
    assert matches(fts, parse("ألم").fts) == [3]


def test_the_queries_find_what_they_say(fts):
    assert matches(fts, parse("pain").fts) == [1]
    assert matches(fts, parse("pain[ti]").fts) == [1]
    assert matches(fts, parse("nerve[ti]").fts) == []
    assert matches(fts, parse('"heart failure"[tiab] OR neuralgia[mh]').fts) == [1, 2]
    assert matches(fts, parse("failure -elderly").fts) == []
    assert matches(fts, parse("heart*").fts) == [2]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a" * 1001, "at most 1000"),
        ("x" * 10_000, "10000 characters"),
        ("pain[xyz]", "[xyz] is not one Pearl knows"),
        ("()", "nothing to search for"),
        ("AND OR NOT", "nothing to search for"),
        ("*", "nothing to search for"),
        ("15[dp]", "not a publication date"),
        ("year:last", "not a publication date"),
        ("pmid:abc", "is not one"),
        ("...[au]", "not an author's name"),
        ('""[au]', "Give the author"),
    ],
)
def test_what_cannot_be_searched_is_refused_with_a_reason(text, says):
    with pytest.raises(QueryError, match=None) as refused:
        parse(text)
    assert says in str(refused.value)


def test_an_empty_query_is_empty_not_an_error():
    assert parse("").empty and parse("   \x00 ").empty


def test_author_keys_match_how_the_side_table_stores_names():
    assert search_query.author_key("Calvo, M.") == "calvo m"
    assert search_query.author_key("  O'Brien-Smith  JA ") == "o'brien-smith ja"
    assert search_query.author_term({"last": "Calvo", "initials": "M"}) == "Calvo M"
    assert search_query.author_term({"collective": "ACME Group"}) == "ACME Group"


# --- the same language on PostgreSQL (search_query.to_tsquery) ---


@pytest.mark.parametrize(
    ("text", "tsquery"),
    [
        ("neuropathic pain", "'neuropathic' & 'pain'"),
        ('"heart failure" OR hf', "'heart failure' | 'hf'"),
        ("title:pain", "'pain':A"),
        ("pain[tiab]", "'pain':AB"),
        ("mesh:(pain OR fever) -child", "('pain':C | 'fever':C) & !'child'"),
        ("keywords:score", "'score':D"),
        ("insul*", "'insul':*"),
        ('title:"insulin resist"*', "'insulin resist':*A"),
        ("a AND (b OR c) NOT d", "'a' & (('b' | 'c') & !'d')"),
        ("covid-19 p<0.05", "'covid-19' & 'p<0.05'"),
        ("O'Brien", "'O''Brien'"),
        ("back\\slash", "'back\\\\slash'"),
        ("___ pain", "'pain'"),  # no letter or digit: FTS5's tokenizer keeps nothing of it
        ("smith[au] pain", "'pain'"),  # filters are not full text
    ],
)
def test_the_full_text_part_for_postgresql(text, tsquery):
    assert parse(text).tsquery == tsquery


def test_nothing_to_search_in_full_text_is_none_on_both_engines():
    assert parse("author:smith").tsquery is None
    assert parse("(___ OR ___)").tsquery is None


@pytest.fixture(scope="module")
def postgres():
    """A cursor on the PostgreSQL test server (make test-postgres), over one paper's
    weighted tsvector as the PostgreSQL engine builds it."""
    url = os.environ.get("PEARL_TEST_DATABASE", "")
    if not url.startswith("postgres"):
        pytest.skip("needs PostgreSQL: make test-postgres")
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("SET client_min_messages = warning")
        cursor.execute(
            "CREATE TEMP TABLE paper AS SELECT"
            " setweight(to_tsvector('english', %s), 'A') || setweight(to_tsvector('english', %s),"
            " 'B') || setweight(to_tsvector('english', %s), 'C') AS document",
            ["Neuropathic pain after covid-19", "Heart failure with p<0.05", "Pain; Fever"],
        )
        yield cursor


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("neuropathic pain", True),
        ("title:neuropath*", True),
        ("title:heart", False),
        ("abstract:heart", True),
        ('"failure heart"', False),
        ("covid-19", True),
        ("p<0.05[tiab]", True),
        ("mesh:fever -covid", False),
    ],
)
def test_postgresql_finds_what_the_query_says(postgres, text, found):
    postgres.execute(
        "SELECT document @@ to_tsquery('english', %s) FROM paper", [parse(text).tsquery]
    )
    assert postgres.fetchone()[0] is found


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_is_a_valid_postgresql_query_too(postgres, text):
    try:
        query = parse(text)
    except QueryError:
        return
    if query.tsquery:
        postgres.execute("SELECT document @@ to_tsquery('english', %s) FROM paper", [query.tsquery])
        postgres.fetchone()  # PostgreSQL accepts it (this would raise otherwise)


@pytest.mark.parametrize(
    ("text", "fts"),
    [
        ('"insulin resist*"[ti]', '"title": "insulin resist"*'),  # PubMed's way
        ('"insulin resist"*[ti]', '"title": "insulin resist"*'),
        ('"heart fail*"', '"heart fail"*'),
    ],
)
def test_a_truncated_phrase_is_a_prefix_phrase(text, fts):
    assert parse(text).fts == fts
