"""A reader in Chromium searches: "/" from any page, results as they type (the address bar
following), back restoring the previous results, j/k and the arrows moving through results,
Enter opening one; a refused query shown next to the box; the plain form without JavaScript."""

import re

from playwright.sync_api import expect


def result_ids(page):
    return [int(pmid) for pmid in page.locator("li.result").evaluate_all(
        "items => items.map(item => item.dataset.pmid)")]  # fmt: skip


def test_slash_focuses_the_search_box_and_results_come_as_you_type(
    page, live_server, console_errors
):
    page.goto(live_server + "/")
    page.keyboard.press("/")
    expect(page.locator("#search-box")).to_be_focused()
    page.keyboard.type("helicobacter")
    page.keyboard.press("Enter")  # the plain form: the results page
    expect(page.locator("#search-count")).to_have_text("2 papers")
    box = page.locator("#search-box")
    box.fill("")
    box.press_sequentially("pain[ti]", delay=20)
    expect(page.locator("#search-count")).to_have_text("9 papers")
    expect(page).to_have_url(re.compile(r"/search\?q=pain%5Bti%5D$"))
    assert result_ids(page)[:3] == [26432153, 26702228, 26702179]
    expect(box).to_be_focused()  # typing goes on where it was
    assert console_errors == []


def test_back_restores_the_previous_search(page, live_server, console_errors):
    page.goto(live_server + "/search?q=helicobacter")
    box = page.locator("#search-box")
    box.fill("pain[ti]")
    expect(page.locator("#search-count")).to_have_text("9 papers")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search\?q=helicobacter$"))
    expect(page.locator("#search-count")).to_have_text("2 papers")
    expect(page.locator("#search-box")).to_have_value("helicobacter")
    assert console_errors == []


def test_j_k_and_arrows_move_through_results_and_enter_opens(page, live_server, console_errors):
    page.goto(live_server + "/search?q=pain[ti]")
    page.locator("h1").click()
    page.keyboard.press("j")
    current = page.locator("li.result.is-current")
    expect(current).to_have_id("result-26432153")
    expect(current.locator("a.result-title")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("ArrowDown")
    expect(current).to_have_id("result-26702179")
    page.keyboard.press("k")
    expect(current).to_have_id("result-26702228")
    page.keyboard.press("ArrowUp")
    expect(current).to_have_id("result-26432153")
    page.keyboard.press("k")  # stays on the first
    expect(current).to_have_id("result-26432153")
    expect(page.locator("li.result.is-current")).to_have_count(1)
    outline = current.evaluate("item => getComputedStyle(item).outlineStyle")
    assert outline == "solid"  # the current result can be seen
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/articles/26702228")
    assert console_errors == []


def test_arrow_down_from_the_box_goes_to_the_first_result(page, live_server, console_errors):
    page.goto(live_server + "/search?q=helicobacter")
    page.locator("#search-box").focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("li.result.is-current")).to_have_id("result-26702191")
    page.keyboard.press("/")
    expect(page.locator("#search-box")).to_be_focused()
    assert console_errors == []


def test_a_refused_query_shows_why_next_to_the_box_and_keeps_it(page, live_server, console_errors):
    page.goto(live_server + "/search?q=pain")
    box = page.locator("#search-box")
    box.fill("pain[xyz]")
    expect(page.locator("#search-error")).to_contain_text("[xyz] is not one Pearl knows")
    expect(page.locator("#search-error")).to_be_visible()
    expect(box).to_have_value("pain[xyz]")
    expect(page.locator("#request-error")).to_be_hidden()  # a 422 is swapped, not an error
    box.fill("pain[ti]")
    expect(page.locator("#search-error")).to_be_hidden()
    # Chromium logs the 422 answer itself as a failed resource; nothing else may appear.
    assert [e for e in console_errors if "422" not in e] == []


def test_facets_and_sort_update_the_results_and_the_url(page, live_server, console_errors):
    page.goto(live_server + "/search?q=pain")
    page.locator(".facets a", has_text="Review").click()
    expect(page).to_have_url(re.compile(r"type=Review"))
    expect(page.locator("#search-count")).to_have_text(re.compile(r"^\d+ papers?$"))
    page.get_by_role("link", name="Most recent").click()
    expect(page).to_have_url(re.compile(r"sort=date"))
    assert console_errors == []


def test_a_terms_link_on_the_paper_page_searches_it(page, live_server, console_errors):
    page.goto(live_server + "/articles/25936681")
    page.locator(".mesh-terms a", has_text="Phacoemulsification").click()
    expect(page.locator("#search-box")).to_have_value('"Phacoemulsification"[mh]')
    assert 25936681 in result_ids(page)
    assert console_errors == []


def test_search_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/")
    page.locator("#search-box").fill("helicobacter")
    page.locator("#site-search button").click()
    expect(page.locator("#search-count")).to_have_text("2 papers")
    page.locator("#search-box").fill("26702259")
    page.locator("#site-search button").click()
    expect(page).to_have_url(f"{live_server}/articles/26702259")
    context.close()
