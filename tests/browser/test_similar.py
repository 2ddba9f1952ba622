"""Similar papers in Chromium: the section loads when the reader scrolls to it, and each paper
opens; with JavaScript off, its link shows the list on a page of its own."""

from playwright.sync_api import expect

PMID = 22508830


def test_similar_papers_load_when_scrolled_to_and_open(page, live_server, console_errors):
    page.goto(f"{live_server}/articles/{PMID}")
    section = page.locator("#similar")
    section.scroll_into_view_if_needed()
    papers = page.locator("#similar .similar-paper")
    expect(papers).to_have_count(10)
    expect(papers.first.locator(".similar-reason")).to_have_text(
        "3 shared MeSH headings (3 major topics)"
    )
    papers.first.locator("a").click()
    page.wait_for_url(f"{live_server}/articles/21933749")
    assert console_errors == []


def test_without_javascript_the_link_shows_the_list(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/articles/{PMID}")
    page.get_by_role("link", name="Show papers like this one").click()
    expect(page.locator(".similar-paper")).to_have_count(10)
    context.close()
