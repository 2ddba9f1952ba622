"""A reader in Chromium: opens a paper, copies its citation, changes the style, sets an
institutional prefix and follows Full text; the same with JavaScript off. MathML renders as
math, and the record's sections (cited papers, ORCID iDs, comments) open and link."""

import re

from playwright.sync_api import expect

import importer
import models
from tests.conftest import DATA

PMID = 24997269
DOI_URL = "https://doi.org/10.1016/j.neuroscience.2014.06.056"
EZPROXY = "https://ezproxy.example.edu/login?url="


def test_open_a_paper_from_the_home_page(page, live_server, console_errors):
    page.goto(live_server + "/")
    expect(page.locator(".list-count")).to_have_text("604 papers · page 1 of 31")
    first = page.locator(".article-title").first
    title = first.inner_text()
    first.click()
    expect(page.locator("h1")).to_have_text(title)
    assert console_errors == []


def test_older_papers_page_in_place(page, live_server, console_errors):
    page.goto(live_server + "/")
    first_title = page.locator(".article-title").first.inner_text()
    page.locator("a[rel=next]").click()
    expect(page.locator(".list-count")).to_have_text("604 papers · page 2 of 31")
    assert page.locator(".article-title").first.inner_text() != first_title
    # The address says which page, and where it starts: bookmarkable, no page numbers to count.
    assert re.search(r"/\?page=2&before=\d{4}-\d{2}-\d{2}\.\d+$", page.url)
    page.locator("a[rel=next]").click()
    expect(page.locator(".list-count")).to_have_text("604 papers · page 3 of 31")
    page.locator("a[rel=prev]").click()
    expect(page.locator(".list-count")).to_have_text("604 papers · page 2 of 31")
    assert re.search(r"/\?page=2&after=\d{4}-\d{2}-\d{2}\.\d+$", page.url)
    page.locator("a[rel=prev]").click()
    expect(page.locator(".list-count")).to_have_text("604 papers · page 1 of 31")
    assert page.locator(".article-title").first.inner_text() == first_title
    assert page.url == live_server + "/"
    assert console_errors == []


def test_copy_citation_puts_it_on_the_clipboard(page, live_server, console_errors):
    page.goto(f"{live_server}/articles/{PMID}")
    citation = page.locator("#citation-text").inner_text()
    assert citation.startswith("Moxon KA, Oliviero A, Aguilar J, Foffani G.")
    page.get_by_role("button", name="Copy Citation").click()
    expect(page.locator("#action-status")).to_have_text("Citation copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == citation
    assert page.url == f"{live_server}/articles/{PMID}"  # copied, not navigated
    assert console_errors == []


def test_style_menu_changes_the_citation_in_place(page, live_server, console_errors):
    page.goto(f"{live_server}/articles/{PMID}")
    page.get_by_label("Style", exact=True).select_option("apa")
    expect(page.locator("#citation-text")).to_contain_text("Moxon, K. A.")
    page.get_by_role("button", name="Copy Citation").click()
    expect(page.locator("#action-status")).to_have_text("Citation copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()").startswith("Moxon, K. A.")
    page.get_by_label("Any CSL style by name").fill("nature")
    page.get_by_label("Any CSL style by name").press("Enter")
    expect(page.locator("#citation-text")).to_contain_text("Neuroscience 283, 78–94 (2014)")
    expect(page.get_by_label("Any CSL style by name")).to_have_value("nature")
    page.get_by_label("Any CSL style by name").fill("no-such-style")
    page.get_by_label("Any CSL style by name").press("Enter")
    expect(page.locator("#style-error")).to_contain_text("no-such-style")
    expect(page.get_by_label("Any CSL style by name")).to_have_value("no-such-style")
    assert page.url == f"{live_server}/articles/{PMID}"
    assert console_errors == [] or all("422" in e for e in console_errors)


def intercept_library(page):
    """Answer requests to the (imaginary) library host here, so nothing leaves localhost."""
    visited = []

    def answer(route):
        visited.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Library sign-in</h1>")

    page.route(re.compile(r"^https://ezproxy\.example\.edu/.*"), answer)
    return visited


def test_institutional_prefix_then_full_text_goes_through_it(page, live_server, console_errors):
    visited = intercept_library(page)
    page.goto(f"{live_server}/articles/{PMID}")
    assert page.get_by_role("link", name="Full text", exact=True).get_attribute("href") == DOI_URL
    page.get_by_role("link", name="Add institutional full text…").click()
    field = page.get_by_label("Address")
    expect(field).to_be_focused()
    field.fill("http://ezproxy.example.edu/login?url=")
    field.press("Enter")
    expect(page.locator("#library-error")).to_contain_text("https://")
    expect(field).to_have_value("http://ezproxy.example.edu/login?url=")
    field.fill(EZPROXY)
    field.press("Enter")
    expect(page.locator("#library-form")).to_have_count(0)
    expect(page.locator("#action-status")).to_contain_text("through your library")
    full_text = page.get_by_role("link", name="Full text", exact=True)
    expect(full_text).to_have_attribute("href", EZPROXY + DOI_URL)
    expect(full_text).to_be_focused()
    assert page.url == f"{live_server}/articles/{PMID}"
    full_text.click()
    expect(page.locator("h1")).to_have_text("Library sign-in")
    assert visited == [EZPROXY + DOI_URL]
    # The setting lasts for the session: another paper uses it too.
    page.goto(f"{live_server}/articles/17942999")
    href = page.get_by_role("link", name="Full text", exact=True).get_attribute("href")
    assert href.startswith(EZPROXY)
    assert [e for e in console_errors if "422" not in e] == []


def test_everything_works_with_javascript_off(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    visited = intercept_library(page)
    page.goto(f"{live_server}/articles/{PMID}")
    # Without the script it is a link to the citation page (with it, a button that copies).
    page.get_by_role("link", name="Copy Citation").click()
    expect(page.locator("h1")).to_have_text("Cite this paper")
    expect(page.locator("#citation-text")).to_contain_text("Moxon KA")
    page.get_by_label("Style", exact=True).select_option("apa")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#citation-text")).to_contain_text("Moxon, K. A.")
    page.goto(f"{live_server}/articles/{PMID}")
    page.get_by_role("link", name="Add institutional full text…").click()
    expect(page.locator("h1")).to_have_text("Institutional full text")
    page.get_by_label("Address").fill(EZPROXY)
    page.get_by_role("button", name="Save").click()
    assert page.url == f"{live_server}/articles/{PMID}"
    page.get_by_role("link", name="Full text", exact=True).click()
    expect(page.locator("h1")).to_have_text("Library sign-in")
    assert visited == [EZPROXY + DOI_URL]
    context.close()


def test_unknown_paper_is_a_404_page(page, live_server):
    response = page.goto(f"{live_server}/articles/1")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Not Found")


def test_plaintext_opens_as_text(page, live_server):
    response = page.goto(f"{live_server}/articles/{PMID}.txt")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "PMID: 24997269" in page.locator("body").inner_text()


def import_samples(live_app, *names):
    """Real efetch records added to the live app's database."""
    with live_app.app_context():
        for name in names:
            importer.import_file(DATA / name)
        models.db.close()


def box(locator):
    return locator.bounding_box()


def test_mathml_renders_as_math_under_the_csp(page, live_app, live_server, console_errors):
    import_samples(live_app, "biopython_pubmed6.xml", "biopython_pubmed7.xml")
    page.goto(f"{live_server}/articles/30108519")
    math = page.locator(".abstract math").first
    expect(math).to_be_visible()
    assert math.evaluate("m => getComputedStyle(m).display") == "math"  # MathML Core layout
    # V̇O₂max: the subscript sits lower than the letters it follows, and smaller.
    letter, script = math.locator("msub > mrow").nth(0), math.locator("msub > mrow").nth(1)
    assert box(script)["y"] + box(script)["height"] > box(letter)["y"] + box(letter)["height"]
    assert box(script)["height"] < box(letter)["height"]
    # ³He: the isotope's mass number is written before the symbol, raised.
    page.goto(f"{live_server}/articles/29963580")
    helium = page.locator(".abstract mmultiscripts").first
    symbol, mass = helium.locator("mi").first, helium.locator("mn").first
    expect(mass).to_have_text("3")
    assert box(mass)["x"] < box(symbol)["x"]
    assert box(mass)["y"] < box(symbol)["y"]
    assert console_errors == []


def test_record_sections_open_and_link(page, live_app, live_server, console_errors):
    import_samples(live_app, "biopython_pubmed4.xml", "biopython_pubmed7.xml")
    page.goto(f"{live_server}/articles/27797938")
    cited = page.locator(".cited details")
    expect(cited.locator(".linked-paper").first).to_be_hidden()
    cited.locator("summary").click()
    expect(cited.locator(".linked-paper")).to_have_count(48)
    expect(cited.locator(".linked-paper").first).to_be_visible()
    expect(page.get_by_role("heading", name="Funding")).to_be_visible()
    page.goto(f"{live_server}/articles/29963580")
    orcid = page.get_by_role("link", name="ORCID iD of Dante Capaldi: 0000-0002-4590-7461")
    expect(orcid).to_have_attribute("href", "https://orcid.org/0000-0002-4590-7461")
    # A comment in this Pearl opens here.
    page.goto(f"{live_server}/articles/25466483")
    page.get_by_role("link", name="J Cataract Refract Surg. 2015 Aug;41(8):1792").click()
    expect(page).to_have_url(f"{live_server}/articles/26432150")
    assert console_errors == []
