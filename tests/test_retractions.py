"""Corrections and retractions: the notice table filled from real PubMed records (both sides
of a link, spelling variants, re-import, deletion, migration 14) and from the real Retraction
Watch CSV sample (`import-retractions`: matching by PMID and DOI, re-running, malformed
files)."""

import datetime

import pytest

import importer
import journal
import models
import retractions
from models import Article, Interest, Notice
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


# --- the Retraction Watch CSV: flask --app app import-retractions FILE.csv ---


@pytest.fixture
def watched(empty_app, tmp_path):
    """Real records standing in for papers the CSV sample names: one renumbered to the
    Wakefield paper's PMID (9500320), one to the expression of concern's (25187433), one
    given (in capitals) the DOI of a paper the sample names by DOI only (Applied Physics A)."""
    renumber = [
        ("metapub_35649368.xml", "35649368", "9500320"),
        ("metapub_38962805.xml", "38962805", "25187433"),
    ]
    with empty_app.app_context():
        for name, old, new in renumber:
            pmid = (f'<PMID Version="1">{old}</PMID>', f'<PMID Version="1">{new}</PMID>')
            importer.import_file(write_variant(tmp_path, name, pmid))
        doi = ("10.1073/pnas.2308706120", "10.1007/S00339-021-04827-9")
        importer.import_file(write_variant(tmp_path, "metapub_38147649.xml", doi))
        yield empty_app


def test_import_retractions_matches_by_pmid_and_doi_and_rerunning_updates(watched):
    cli = watched.test_cli_runner()
    result = cli.invoke(args=["import-retractions", str(CSV)])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    # 13 rows: 5 name the paper's PMID; the 8 without one, by DOI: 2 are the paper here.
    assert result.output == (
        f"{CSV}: 13 records: 7 added, 0 updated, 5 about papers in this library; skipped 6"
        " without a PMID or a DOI found here, 0 of another nature.\n"
    )
    with watched.app_context():
        stored = notices(source="retractionwatch")
        assert (9500320, "retraction", 20137807, "retractionwatch") in stored
        assert (9500320, "correction", 15016483, "retractionwatch") in stored
        assert (25187433, "concern", 34551987, "retractionwatch") in stored
        assert (38147649, "correction", None, "retractionwatch") in stored  # by DOI
        assert (38147649, "retraction", None, "retractionwatch") in stored
        # The notice and the paper share a PMID (row 71762): no notice link to itself.
        assert (39566682, "retraction", None, "retractionwatch") in stored
    again = cli.invoke(args=["import-retractions", str(CSV)])
    assert "7 records" not in again.output and "0 added, 7 updated" in again.output
    with watched.app_context():
        assert notices(source="retractionwatch") == stored


def test_the_page_shows_the_date_notice_and_reasons_retraction_watch_gives(watched):
    with watched.app_context():
        retractions.import_csv(CSV)
    client = watched.test_client()
    page = soup(client.get("/articles/9500320"))
    alert = page.find("section", id="paper-retraction")
    text = " ".join(alert.get_text().split())
    assert "6 Feb 2010" in text
    assert "Lancet. 2010 Feb 6. doi: 10.1016/S0140-6736(10)60175-4" in text
    assert "Falsification/Fabrication of Data; Investigation by Company/Institution" in text
    assert alert.find("a")["href"] == "https://pubmed.ncbi.nlm.nih.gov/20137807/"
    changes = page.find("section", id="paper-changes")
    assert "Correction (6 Mar 2004)" in changes.get_text()
    assert "Updated to Retraction" in changes.get_text()
    concern = soup(client.get("/articles/25187433")).find("section", id="paper-concern")
    assert concern.h2.get_text() == "Expression of concern about this paper"
    assert "Concerns/Issues about Image" in concern.get_text()
    # The malformed notice DOI is kept as written; the link goes by the notice's PMID.
    assert concern.find("a")["href"] == "https://pubmed.ncbi.nlm.nih.gov/34551987/"
    # Matched by DOI only, with no PMID for the notice: the link is the notice's DOI.
    alert = soup(client.get("/articles/38147649")).find("section", id="paper-retraction")
    assert alert.find("a")["href"] == "https://doi.org/10.1007/s00339-025-08780-9"


@pytest.mark.parametrize(
    "variant",
    [lambda b: b, lambda b: b.replace(b"\r\n", b"\n"), lambda b: b"\xef\xbb\xbf" + b],
    ids=["crlf-as-published", "lf", "byte-order-mark"],
)
def test_line_endings_and_byte_order_mark_read_alike(empty_app, tmp_path, variant):
    path = tmp_path / "rw.csv"
    path.write_bytes(variant(CSV.read_bytes()))
    with open(path, "rb") as stream:
        records = list(retractions.read_csv(stream, path))
    assert len(records) == 13
    wakefield = next(r for r in records if r["origin"] == 4036)
    assert wakefield["pmid"] == 9500320 and wakefield["doi"] == "10.1016/s0140-6736(97)11096-0"
    assert wakefield["date"] == "2010-02-06" and wakefield["nature"] == "retraction"
    concern = next(r for r in records if r["origin"] == 32545)
    assert concern["nature"] == "concern"
    assert concern["notice_doi"] == "10.1124/jpet.114.218735concern"
    czech = next(r for r in records if r["origin"] == 71772)
    assert czech["pmid"] is None and czech["notice_pmid"] is None  # "0": no PMID


@pytest.mark.parametrize(
    ("damage", "line", "message"),
    [
        (lambda t: t.replace("2/6/2010 0:00", "6 Feb 2010"), 4, "RetractionDate “6 Feb 2010”"),
        (lambda t: t.replace(",9500320,", ",95OO320,", 1), 3, "“95OO320” is not a PMID"),
        (lambda t: t.split("\r\n", 1)[1], 1, "not a Retraction Watch CSV: no column"),
        (lambda t: t[: t.index("71762,") + 30], 14, "fields, expected 21"),
        (lambda t: t + '71999,"an unclosed quote', 15, "not CSV"),
    ],
    ids=["bad-date", "bad-pmid", "no-header", "cut-short", "unclosed-quote"],
)
def test_a_malformed_csv_is_one_line_naming_file_and_line_and_stores_nothing(
    watched, tmp_path, damage, line, message
):
    path = tmp_path / "rw.csv"
    path.write_bytes(damage(CSV.read_bytes().decode("utf-8")).encode("utf-8"))
    result = watched.test_cli_runner().invoke(args=["import-retractions", str(path)])
    assert result.exit_code == 1
    (error,) = result.output.splitlines()
    assert error.startswith(f"Error: {path}:{line}: ") and message in error, error
    with watched.app_context():
        assert not notices(source="retractionwatch")


# --- the journal never ranks a retracted paper ---


def retract_in_csv(tmp_path, pmid):
    """The real CSV's header and Wakefield retraction row (4036), naming paper `pmid`."""
    header, *rows = CSV.read_bytes().decode("utf-8").split("\r\n")
    (row,) = [r for r in rows if r.startswith("4036,")]
    path = tmp_path / "one.csv"
    path.write_bytes(f"{header}\r\n{row.replace(',9500320,', f',{pmid},')}\r\n".encode())
    return path


@pytest.mark.parametrize(
    ("kind", "value"),
    [("journal", "Fertility and sterility"), ("keyword", "endometriosis")],
    ids=["side-table-arm", "full-text-arm"],
)
@pytest.mark.parametrize("since", [None, datetime.datetime(2000, 1, 1)], ids=["library", "window"])
def test_the_journal_never_ranks_a_retracted_paper(app, tmp_path, kind, value, since):
    interests = [Interest(kind=kind, value=value)]
    with app.app_context():
        ranked = [e.article.pmid for e in journal.assemble(interests, since=since) if not e.beyond]
        assert ranked
        retractions.import_csv(retract_in_csv(tmp_path, ranked[0]))
        again = [e.article.pmid for e in journal.assemble(interests, since=since) if not e.beyond]
    assert ranked[0] not in again
    assert again[: len(ranked) - 1] == ranked[1:]  # the others keep their order


def test_a_retracted_paper_is_not_offered_beyond_the_readers_field(app, tmp_path):
    interests = [Interest(kind="keyword", value="zzzz no such term")]
    with app.app_context():
        beyond = [e.article.pmid for e in journal.assemble(interests) if e.beyond]
        assert beyond
        retractions.import_csv(retract_in_csv(tmp_path, beyond[0]))
        assert beyond[0] not in [e.article.pmid for e in journal.assemble(interests)]


# --- search and exports ---


@pytest.fixture
def flagged(watched):
    """The CSV sample imported over `watched`, and the real retracted record (PMID 7914452,
    retracted by PubMed's own record) too."""
    with watched.app_context():
        retractions.import_csv(CSV)
        importer.import_file(DATA / "gemma_pubmed-retracted.xml")
    return watched


def result_pmids(client, q):
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {int(li["data-pmid"]): li for li in soup(response).select("li.result")}


def test_search_filters_on_retraction_and_shows_the_badge(flagged):
    client = flagged.test_client()
    every = result_pmids(client, "year:1900-2100")
    assert {9500320, 38147649, 7914452, 25187433} <= set(every)
    retracted = result_pmids(client, "retracted:yes")
    assert set(retracted) == {9500320, 38147649, 7914452}  # RW by PMID, RW by DOI, PubMed
    assert all(li.find(class_="badge-retracted").get_text() == "Retracted"
               for li in retracted.values())  # fmt: skip
    kept = result_pmids(client, "year:1900-2100 retracted:no")
    assert set(kept) == set(every) - set(retracted)
    assert 25187433 in kept  # an expression of concern is not a retraction
    assert not kept[25187433].find(class_="badge-retracted")
    assert set(result_pmids(client, "year:1900-2100 -retracted:yes")) == set(kept)
    response = client.get("/search", query_string={"q": "retracted:maybe"})
    assert response.status_code == 422
    assert "retracted:yes or retracted:no" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("suffix", "line"),
    [("ris", "N1  - Retracted publication"), ("bib", "note = {Retracted publication},"),
     ("nbib", "PT  - Retracted Publication"), ("txt", "RETRACTED PUBLICATION")],
)  # fmt: skip
def test_every_export_says_the_paper_is_retracted(flagged, queries, suffix, line):
    client = flagged.test_client()
    queries.clear()
    text = client.get(f"/articles/9500320.{suffix}").get_data(as_text=True)  # RW only
    assert len(queries) == 1
    assert line in text
    assert line not in client.get(f"/articles/25187433.{suffix}").get_data(as_text=True)
    pubmed_says = client.get(f"/articles/7914452.{suffix}").get_data(as_text=True)
    assert pubmed_says.count(line) == 1  # PubMed's own type is not written twice
    listed = client.get(f"/export/search.{suffix}?pmid=9500320&pmid=25187433")
    if suffix != "txt":
        assert listed.get_data(as_text=True).count(line) == 1


def test_a_medline_export_read_back_keeps_the_retraction(flagged, tmp_path):
    exported = tmp_path / "retracted.nbib"
    exported.write_bytes(flagged.test_client().get("/articles/9500320.nbib").data)
    with flagged.app_context():
        models.Notice.delete().execute()
        importer.import_file(exported)
        assert state(9500320).retracted  # from the type the export wrote
