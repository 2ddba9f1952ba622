"""A reader in Chromium opens a retracted paper: the notice near the title is visible, named
by its heading, and leads to the notice; the same with JavaScript off."""

import pytest
from playwright.sync_api import expect

import importer
import models
from tests.conftest import DATA


@pytest.fixture
def retracted(live_app):
    """The real retracted record (Nat Genet 1994, PMID 7914452) in the live app's library."""
    with live_app.app_context():
        importer.import_file(DATA / "gemma_pubmed-retracted.xml")
        models.db.close()
    return 7914452


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_retraction_notice_is_seen_first(browser, live_server, retracted, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server}/articles/{retracted}")
    notice = page.get_by_role("region", name="This paper has been retracted")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Sep 1995")
    # Above the abstract, where a reader starts reading.
    notice_box = notice.bounding_box()
    abstract_box = page.get_by_role("region", name="Abstract").bounding_box()
    assert notice_box["y"] < abstract_box["y"]
    link = notice.get_by_role("link")
    expect(link).to_have_attribute("href", "https://pubmed.ncbi.nlm.nih.gov/7550304/")
    context.close()
