"""What the importer keeps counted as it stores: the library's size (the home page's total)
and the interests picker's terms, each equal to a full count after an import, a re-import of
changed records and deletions; and suggest's prefix and word-start matches on those terms."""

import copy

import pytest

import importer
import models
import pubmed
from models import Article, LibraryStats, Term, TermSpelling, TermWord
from tests.conftest import DATA, DEMO_FILE, soup

NEW_FILE = DATA / "metapub_35649368.xml"  # one paper the demo file does not have
NEW_PMID = 35649368
# The nine demo papers with the keyword spelled "Atrial fibrillation" (a tenth spells it
# "atrial fibrillation").
ATRIAL = [26702311, 26702312, 26702313, 26702314, 26702315, 26702316, 26702318, 26702319,
          26702320]  # fmt: skip


def terms_snapshot():
    """Every row the suggestions rely on, sorted: terms (without their ids), spellings, words."""
    terms = Term.select(Term.kind, Term.key, Term.name, Term.count).tuples()
    return (sorted(terms), sorted(TermSpelling.select().tuples()),
            sorted(TermWord.select().tuples()))  # fmt: skip


def assert_counts_are_full_counts():
    """The kept counts equal COUNT(*) and a rebuild of the terms from the stored papers."""
    assert LibraryStats.paper_count() == models.article_count()
    kept = terms_snapshot()
    Term.rebuild()
    assert terms_snapshot() == kept


def demo_records():
    return {item["pmid"]: item for item in pubmed.read(DEMO_FILE) if isinstance(item, dict)}


@pytest.fixture
def library(app):
    with app.app_context():
        yield app
        models.db.close()


def test_the_demo_import_counts_its_papers_and_terms(library):
    assert LibraryStats.paper_count() == 604
    assert_counts_are_full_counts()
    assert Term.canonical("keyword", "atrial FIBRILLATION") == "Atrial fibrillation"


def test_counts_follow_import_reimport_and_delete(library):
    records = demo_records()
    # A new paper: one more, and its terms counted (new terms get their words).
    assert importer.import_file(NEW_FILE).added == 1
    assert LibraryStats.paper_count() == 605
    assert Term.get((Term.kind == "journal") & (Term.key == "cell reports")).count == 3
    assert Term.canonical("keyword", "stat3 acetylation") == "STAT3 acetylation"
    assert TermWord.get_or_none(kind="keyword", tail="acetylation", key="stat3 acetylation")
    assert_counts_are_full_counts()
    # The same file again: nothing changes.
    assert importer.import_file(NEW_FILE).skipped == 1
    assert LibraryStats.paper_count() == 605
    assert_counts_are_full_counts()
    # Re-imported with changes: five of the nine papers now spell the keyword the other way
    # (6 to 4: the name follows the majority), one gains a keyword no paper had, and another
    # paper loses its first MeSH heading.
    changed = []
    for pmid in ATRIAL[:5]:
        record = copy.deepcopy(records[pmid])
        record["keywords"] = [
            "atrial fibrillation" if k == "Atrial fibrillation" else k for k in record["keywords"]
        ]
        changed.append(record)
    changed[0]["keywords"].append("Zyxomatic remodelling")
    headed = copy.deepcopy(records[24997269])
    lost = headed["mesh"].pop(0)["name"].lower()
    carried = Term.get((Term.kind == "mesh") & (Term.key == lost)).count
    assert importer.import_records([*changed, headed]).updated == 6
    assert Term.canonical("keyword", "Atrial Fibrillation") == "atrial fibrillation"
    assert Term.get((Term.kind == "keyword") & (Term.key == "atrial fibrillation")).count == 10
    assert Term.canonical("keyword", "zyxomatic remodelling") == "Zyxomatic remodelling"
    left = Term.get_or_none((Term.kind == "mesh") & (Term.key == lost))
    assert (left.count if left else 0) == carried - 1
    assert LibraryStats.paper_count() == 605
    assert_counts_are_full_counts()
    # Deleted: the new paper (its own keyword goes, with its words and spelling) and one
    # more; then one more directly.
    summary = importer.import_records([pubmed.Deletion([NEW_PMID, ATRIAL[5]], 1)])
    assert summary.deleted == 2
    assert LibraryStats.paper_count() == 603
    assert Term.get((Term.kind == "journal") & (Term.key == "cell reports")).count == 2
    assert Term.canonical("keyword", "STAT3 acetylation") is None
    assert not TermWord.select().where(TermWord.key == "stat3 acetylation").exists()
    assert not TermSpelling.select().where(TermSpelling.key == "stat3 acetylation").exists()
    assert Term.canonical("keyword", "atrial fibrillation") == "atrial fibrillation"  # 5 to 4
    assert_counts_are_full_counts()
    assert Article.delete_pmids([ATRIAL[6]]) == 1
    assert LibraryStats.paper_count() == 602
    assert_counts_are_full_counts()


def test_counts_after_a_parallel_import_into_an_empty_library(empty_app):
    # Read in a child process (as large files are): the terms are still made with each batch.
    with empty_app.app_context():
        summary = importer.import_file(DEMO_FILE, parallel=True)
        assert summary.added == 604
        assert LibraryStats.paper_count() == 604
        assert_counts_are_full_counts()
        models.db.close()


def test_the_home_page_total_comes_from_the_kept_count(library, client):
    importer.import_file(NEW_FILE)
    models.db.close()
    assert soup(client.get("/")).select_one(".list-count").text == "605 papers · page 1 of 31"


# --- suggest on the kept terms ---


def names(kind, text):
    return [term.name for term in Term.suggest(kind, text)]


def test_suggest_puts_name_prefixes_before_word_starts_then_counts(library):
    found = names("keyword", "atrial")
    assert found[:2] == ["Atrial fibrillation", "Atrial Septal Defect"]  # the name starts so
    assert "Left Atrial Volume" in found  # a later word starts so
    assert all(name.lower().startswith("atrial") for name in found[:2])
    assert not any(name.lower().startswith("atrial") for name in found[2:])
    # A word's start ("fibrill" → "AF, Atrial fibrillation"), most used first.
    assert names("keyword", "fibrill") == ["Atrial fibrillation", "AF, Atrial fibrillation"]
    # Names that start so come first, even before a word start more papers use.
    neoplasms = names("mesh", "neopl")
    assert neoplasms[:3] == ["Neoplasm Transplantation", "Neoplasm Staging", "Neoplasms"]
    assert neoplasms.index("Lung Neoplasms") > neoplasms.index("Neoplasms, Basal Cell")
    assert names("keyword", "atrial fib")[0] == "Atrial fibrillation"
    assert "AF, Atrial fibrillation" in names("keyword", "atrial fib")  # from its second word


def test_suggest_matches_word_starts_only_and_nothing_for_nonsense(library):
    assert names("mesh", "zqx") == []
    assert names("mesh", "brillation") == []  # inside a word: no longer matched (index-only)
    assert names("mesh", "") == []
    assert names("journal", "sterility") == ["Fertility and sterility"]
    # After a hyphen too.
    assert "Brain-Derived Neurotrophic Factor" in names("mesh", "derived neuro")


@pytest.mark.sqlite_only("reads SQLite's query plan")
def test_suggest_reads_index_ranges_only(library):
    sql, params = Term.suggest("mesh", "card").sql()
    plan = " ".join(row[3] for row in models.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "SCAN" not in plan, plan
    assert "term_kind_key" in plan and "PRIMARY KEY" in plan


def test_suggest_over_http_finds_word_starts(client):
    response = client.get(
        "/journal/interests/suggest?kind=keyword&q=FIBRILL", headers={"HX-Request": "true"}
    )
    buttons = soup(response).select("button.suggestion")
    assert [b["value"] for b in buttons] == [
        "keyword:Atrial fibrillation",
        "keyword:AF, Atrial fibrillation",
    ]
    none = soup(
        client.get("/journal/interests/suggest?kind=mesh&q=zqx", headers={"HX-Request": "true"})
    )
    assert none.select_one("#suggestions-none") is not None
