"""Corrections and retractions: the notice table filled from real PubMed records (both sides
of a link, spelling variants, re-import, deletion, migration 14) and from the real Retraction
Watch CSV sample (`import-retractions`: matching by PMID and DOI, re-running, malformed
files)."""

import pytest

import importer
import models
import retractions
from models import Article, Notice
from tests.conftest import DATA, soup

CSV = DATA / "retraction-check_retractionwatch-sample.csv"
NOTICE_FILES = ["retractobot_pubmed_retraction_notice.xml", "gemma_pubmed-retracted.xml",
                "metapub_38833988.xml", "metapub_38962805.xml", "metapub_38147649.xml",
                "metapub_35649368.xml", "metapub_39345789.xml", "metapub_36156117.xml"]  # fmt: skip


def notices(**where):
    query = Notice.select(Notice.pmid, Notice.nature, Notice.notice_pmid, Notice.source)
    for name, value in where.items():
        query = query.where(getattr(Notice, name) == value)
    return sorted(query.tuples(), key=str)


def state(pmid):
    return retractions.state_of(Article.for_page(pmid))


@pytest.fixture
def samples(empty_app):
    """The real sample records with retraction, erratum and update links, imported."""
    with empty_app.app_context():
        for name in NOTICE_FILES:
            importer.import_file(DATA / name)
        yield empty_app


def write_variant(tmp_path, name, *replacements):
    """A real sample record with some text replaced (a spelling variant, another PMID)."""
    text = (DATA / name).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_each_link_type_of_the_real_records_is_a_notice(samples):
    assert notices(source="pubmed") == sorted([
        (7914452, "retraction", 7550304, "pubmed"),  # RetractionIn, the retracted paper
        (26435620, "retraction", 27508352, "pubmed"),  # RetractionOf, read from the notice
        (33279609, "correction", 38833988, "pubmed"),  # ErratumFor
        (38446048, "correction", 38962805, "pubmed"),
        (38147649, "correction", 39705317, "pubmed"),  # ErratumIn
        (35649368, "correction", 35767954, "pubmed"),
        (36993193, "update", 39345789, "pubmed"),  # UpdateOf: the preprint has a new version
        (35794888, "update", 36156117, "pubmed"),
    ], key=str)  # fmt: skip
    # CommentIn is not a notice
    assert not notices(notice_pmid=12458559)


def test_state_of_a_retracted_paper_and_of_a_notice(samples):
    retracted = state(7914452)
    assert retracted.retracted and retracted.label == "Retracted"
    (entry,) = retracted.of_paper["retraction"]
    assert entry.pmid == 7550304 and entry.display_date == "Sep 1995"
    assert entry.citation.endswith("Nat Genet. 1995 Sep;11(1):104")
    assert entry.url == "https://pubmed.ncbi.nlm.nih.gov/7550304/"  # not in this Pearl
    # The notice spells its type "RETRACTION OF PUBLICATION" with an empty UI.
    notice = state(27508352)
    assert not notice.retracted and notice.notice_type == "retraction"
    (concerned,) = notice.notice_of
    assert (concerned.pmid, concerned.nature) == (26435620, "retraction")
    assert state(38147649).of_paper["correction"][0].pmid == 39705317
    assert state(39345789).notice_of[0].pmid == 36993193


def test_a_notice_in_the_library_is_linked_here(samples, tmp_path):
    # The erratum 39705317 arrives: the corrected paper's page links its page here.
    renumbered = ('<PMID Version="1">38833988</PMID>', '<PMID Version="1">39705317</PMID>')
    erratum = write_variant(tmp_path, "metapub_38833988.xml", renumbered)
    importer.import_file(erratum)
    (entry,) = state(38147649).of_paper["correction"]
    assert entry.here and entry.url == "/articles/39705317"


@pytest.mark.parametrize(
    "replacements",
    [
        [('RefType="RetractionIn"', 'RefType="RETRACTIONIN"')],
        # no link at all, the type alone in another case
        [
            ('RefType="RetractionIn"', 'RefType="CommentIn"'),
            ("Retracted Publication", "RETRACTED PUBLICATION"),
        ],
    ],
    ids=["link-type-case", "type-only-upper-case"],
)
def test_spelling_variants_are_recognised(empty_app, tmp_path, replacements):
    path = write_variant(tmp_path, "gemma_pubmed-retracted.xml", *replacements)
    with empty_app.app_context():
        importer.import_file(path)
        assert state(7914452).retracted
        assert (
            Notice.select().where(Notice.pmid == 7914452, Notice.nature == "retraction").count()
            == 1
        )


def test_reimport_and_changes_never_duplicate_and_deletion_removes(samples, tmp_path):
    before = notices()
    for name in NOTICE_FILES:
        importer.import_file(DATA / name)
    assert notices() == before
    # The record loses its RetractionIn and its type: the retraction goes with them.
    changed = write_variant(tmp_path, "gemma_pubmed-retracted.xml",
                            ('RefType="RetractionIn"', 'RefType="CommentIn"'),
                            ("Retracted Publication", "Journal Article"))  # fmt: skip
    importer.import_file(changed)
    assert not notices(pmid=7914452)
    Article.delete_pmids([38147649])
    assert not notices(pmid=38147649)


def test_migration_14_fills_the_notices_of_papers_stored_before_it(samples):
    before = notices()
    models.db.execute_sql("DROP TABLE notice")
    models.Migration.delete().where(models.Migration.number == 14).execute()
    assert models.migrate() == [14]
    assert notices() == before


# --- the paper page ---


def test_the_page_of_a_retracted_paper_says_so_near_the_title(samples, queries):
    client = samples.test_client()
    queries.clear()
    page = soup(client.get("/articles/7914452"))
    assert len(queries) <= 2, queries  # the paper with its notices, its notes
    alert = page.find("section", id="paper-retraction")
    title = page.find("h1")
    assert alert is not None and alert in title.find_next_siblings("section")
    assert alert.find_previous("h1") is title  # right after the title, before the abstract
    assert alert["aria-labelledby"] == alert.h2["id"]
    assert alert.h2.get_text() == "This paper has been retracted"
    assert "Sep 1995" in alert.get_text()
    link = alert.find("a")
    assert link["href"] == "https://pubmed.ncbi.nlm.nih.gov/7550304/"
    assert "Nat Genet. 1995 Sep;11(1):104" in link.get_text()


def test_a_notice_page_links_back_to_the_paper_it_concerns(samples, tmp_path):
    client = samples.test_client()
    page = soup(client.get("/articles/27508352"))  # RETRACTION OF PUBLICATION, empty UI
    section = page.find("section", id="paper-notice-of")
    assert section.h2.get_text() == "This is a retraction notice"
    assert section.find("a")["href"] == "https://pubmed.ncbi.nlm.nih.gov/26435620/"
    # The erratum's page links the corrected paper here, by its title.
    page = soup(client.get("/articles/38833988"))
    assert page.find("section", id="paper-notice-of").find("a")["href"] == (
        "https://pubmed.ncbi.nlm.nih.gov/33279609/"
    )
    renumbered = ('<PMID Version="1">35649368</PMID>', '<PMID Version="1">33279609</PMID>')
    importer.import_file(write_variant(tmp_path, "metapub_35649368.xml", renumbered))
    section = soup(client.get("/articles/38833988")).find("section", id="paper-notice-of")
    assert section.find("a")["href"] == "/articles/33279609"
    assert "in this Pearl" in section.get_text()


def test_errata_and_updated_versions_are_listed(samples):
    client = samples.test_client()
    changes = soup(client.get("/articles/38147649")).find("section", id="paper-changes")
    assert changes.h2.get_text() == "Corrections and updated versions"
    assert "Correction (7 Jan 2025)" in changes.get_text()
    assert changes.find("a")["href"] == "https://pubmed.ncbi.nlm.nih.gov/39705317/"
    page = soup(client.get("/articles/39345789"))  # the journal version of a preprint
    assert page.find("section", id="paper-notice-of").h2.get_text() == (
        "This is an updated version of another paper"
    )
    assert page.find("section", id="paper-retraction") is None


def test_a_paper_without_notices_has_no_notice_section(client):
    page = soup(client.get("/articles/24997269"))
    assert not page.select(".paper-alert, .paper-changes, .paper-notice-of")
