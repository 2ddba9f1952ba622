"""GET /search on the real MEDLINE file: exact hits in exact order for a fixed set of
queries, facets, sorting, paging, identifiers, refused queries (422), the queries each page
runs and their plans, links from the paper page, and "Follow this search"."""

import gzip
import re
from urllib.parse import parse_qs, urlsplit

import pytest

import importer
import models
import search_query
from tests.conftest import DEMO_FILE, csrf_token, soup


def results(response):
    return [int(li["data-pmid"]) for li in soup(response).select("li.result")]


def count(response):
    return soup(response).select_one("#search-count").text.strip()


# The first results (up to 8) and the count line of each query, on medline16n0902.xml.gz.
EXPECTED = [
    ("pain", [26702218, 26702179, 26432153, 26702228, 26363387, 25840296, 26702208, 26702161],
     "33 papers · page 1 of 2"),
    ('"neuropathic pain"', [26102394], "1 paper"),
    ("pain[ti]", [26432153, 26702228, 26702179, 26702218, 26363387, 26432317, 26702208, 25840296],
     "9 papers"),
    ("abulafia a[au]", [26432154, 25936681], "2 papers"),
    ("author:abulafia", [26432154, 25936681], "2 papers"),
    ("type:review cancer", [26702357, 26385073, 26335131, 26702158, 26702238], "5 papers"),
    ('journal:"j biol chem" kinase',
     [25378393, 25389294, 25378403, 25384981, 25368326, 25378408, 25258324, 25381250],
     "15 papers"),
    ('"J. Biol. Chem."[ta] AND kinase',
     [25378393, 25389294, 25378403, 25384981, 25368326, 25378408, 25258324, 25381250],
     "15 papers"),
    ("insulin OR glucose",
     [26702376, 26702395, 26555260, 25378403, 26702417, 25352600, 26702345, 25541905],
     "11 papers"),
    ("insulin -glucose", [26702376, 26555260, 26702417, 25541905, 25391656], "5 papers"),
    ("insulin NOT glucose", [26702376, 26555260, 26702417, 25541905, 25391656], "5 papers"),
    ("(ngly1 OR glycanase) AND deficiency", [26611529], "1 paper"),
    ("phacoemulsification 2015[dp]",
     [26432153, 26432150, 25466483, 25840296, 25936681, 25840302, 26432130, 26432134],
     "8 papers"),
    ('mesh:Humans AND type:"Randomized Controlled Trial"',
     [25020153, 19368899, 25840296, 22508830], "4 papers"),
    ("helicobacter", [26702191, 26385073], "2 papers"),
    ("lang:ger", [], "No papers match."),
]  # fmt: skip


@pytest.mark.sqlite_only("the exact order of bm25 (PostgreSQL ranks by ts_rank_cd)")
@pytest.mark.parametrize(("q", "first", "line"), EXPECTED)
def test_searches_on_the_medline_file_find_exactly_these_papers_in_this_order(
    client, q, first, line
):
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200
    assert results(response)[:8] == first
    assert count(response) == line


def test_relevance_weighs_the_title_up(client):
    # A paper with "pain" in its title ranks above one that only says it in the abstract.
    ranked = results(client.get("/search?q=pain"))
    titled = set(results(client.get("/search?q=pain[ti]")))
    assert ranked[:5] == [pmid for pmid in ranked if pmid in titled][:5]


def test_results_show_a_highlighted_snippet_journal_year_and_type(client):
    page = soup(client.get("/search?q=helicobacter"))
    first = page.select_one("#result-26702191")
    assert first.select_one(".result-title")["href"] == "/articles/26702191"
    assert "Helicobacter" in first.select_one(".result-title mark").text
    second = page.select_one("#result-26385073")  # the first has no abstract
    assert second.select_one(".snippet mark").text.lower().startswith("helicobacter")
    assert first.select_one(".journal").text
    assert re.fullmatch(r"\d{4}", first.select_one(".year").text)
    assert first.select_one("#result-actions-26702191") is not None  # room for a star
    assert page.select_one("#results-actions") is not None  # room for an export link


def test_sort_by_date_puts_the_newest_first(client):
    response = client.get("/search?q=pain&sort=date")
    years = [int(y.text) for y in soup(response).select("li.result .year")]
    assert years == sorted(years, reverse=True) and len(years) == 20
    assert set(results(response)) <= set(results(client.get("/search?q=pain"))) | set(
        results(client.get("/search?q=pain&page=2"))
    )


def test_pages_of_results(client):
    second = client.get("/search?q=pain&page=2")
    assert len(results(second)) == 13
    assert soup(second).select_one("ol.results")["start"] == "21"
    assert not set(results(second)) & set(results(client.get("/search?q=pain")))
    assert soup(second).select_one(".pager a[rel=prev]")["href"] == "/search?q=pain&page=1"


def facet_link(page, text):
    for link in page.select(".facets a"):
        if link.text.strip() == text:
            return link, int(link.find_next_sibling("span", class_="count").text)
    raise AssertionError(f"no facet {text!r}")


@pytest.mark.parametrize("facet", ["Has abstract", "Free full text (PMC)", "Review", "2015"])
def test_each_facet_count_is_what_its_link_finds(client, facet):
    page = soup(client.get("/search?q=pain"))
    link, number = facet_link(page, facet)
    assert link["href"] == link["hx-get"]
    filtered = client.get(link["href"])
    assert count(filtered).startswith(f"{number} paper")
    # The filter lives in the URL, and clicking it again takes it off.
    selected, _ = facet_link(soup(filtered), facet)
    assert selected["aria-current"] == "true"
    assert parse_qs(urlsplit(selected["href"]).query) == {"q": ["pain"]}


def test_year_range_and_journal_filters_in_the_url(client):
    response = client.get("/search", query_string={"q": "pain", "from": "2015", "to": "2015"})
    years = {int(y.text) for y in soup(response).select("li.result .year")}
    assert years == {2015}
    journal = "Journal of cataract and refractive surgery"
    response = client.get("/search", query_string={"q": "pain", "journal": journal})
    assert {j.text for j in soup(response).select("li.result .journal")} == {journal}


def test_a_pmid_or_doi_alone_opens_its_paper(client):
    assert client.get("/search?q=26702259").headers["Location"] == "/articles/26702259"
    response = client.get("/search", query_string={"q": "doi:10.1176/APPI.PSY.49.4.332"})
    assert response.headers["Location"] == "/articles/18621939"


def test_typed_live_a_pmid_is_offered_not_jumped_to(htmx):
    response = htmx.get("/search?q=26702259")
    assert response.status_code == 200
    assert soup(response).select_one("#goto-link")["href"] == "/articles/26702259"


def test_a_pmid_that_is_not_here_says_so(client):
    page = soup(client.get("/search?q=99999999"))
    assert "no paper with PMID 99999999" in page.select_one("#search-goto").text


@pytest.mark.parametrize(
    ("q", "says"),
    [
        ("pain[xyz]", "[xyz] is not one Pearl knows"),
        ("((", "nothing to search for"),
        ("x" * 10_000, "at most 1000"),
        ("year:soon", "not a publication date"),
    ],
)
def test_a_query_that_cannot_be_searched_is_422_with_the_text_kept(client, htmx, q, says):
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 422
    page = soup(response)
    assert says in page.select_one("#search-error").text
    box = page.select_one("#search-box")
    assert box["value"] == q and box["aria-invalid"] == "true"
    fragment = htmx.get("/search", query_string={"q": q})
    assert fragment.status_code == 422
    assert says in soup(fragment).select_one("#search-error").text
    assert soup(fragment).find("html") is None


@pytest.mark.parametrize(
    "q", ['"unbalanced', "pain))", "NEAR(pain heart)", "*", "title:", "\u202epain\u202c",
          "ألم", "pain\x00heart", "'; DROP TABLE article; --"]
)  # fmt: skip
def test_hostile_queries_never_fail(client, q):
    assert client.get("/search", query_string={"q": q}).status_code in (200, 422)
    assert models.article_count() == 604


def test_page_or_fragment_varies_on_hx_request(client, htmx):
    page = client.get("/search?q=pain")
    assert "HX-Request" in page.headers["Vary"] and soup(page).find("html") is not None
    fragment = htmx.get("/search?q=pain")
    assert soup(fragment).find("html") is None
    assert soup(fragment).select_one("section#search-results") is not None
    restore = htmx.get("/search?q=pain", headers={"HX-History-Restore-Request": "true"})
    assert soup(restore).find("html") is not None


def test_the_search_box_is_in_every_pages_header(client):
    for path in ("/", "/articles/26702259", "/search"):
        form = soup(client.get(path)).select_one("header form[role=search]")
        assert form["action"] == "/search" and form["method"] == "get"
        assert form.select_one("input#search-box")["name"] == "q"


def test_on_the_results_page_the_box_searches_as_the_reader_types(client):
    box = soup(client.get("/search?q=pain&sort=date")).select_one("#search-box")
    assert box["value"] == "pain"
    assert box["hx-get"] == "/search" and box["hx-push-url"] == "true"
    assert box["hx-trigger"] == "input changed delay:300ms, search"
    assert box["hx-target"] == "#search-results"
    kept = soup(client.get("/search?q=pain&sort=date")).select_one("#site-search [name=sort]")
    assert kept["value"] == "date"


@pytest.mark.parametrize(
    "q", ["pain", "abulafia a[au]", "type:review", "pain smith[au] 2015[dp] review[pt]",
          '"j biol chem"[ta]', "english[la] NOT letter[pt]", "2015[dp]"]
)  # fmt: skip
@pytest.mark.sqlite_only("reads SQLite's query plan")
def test_a_page_runs_two_queries_none_scanning_the_articles(client, queries, q):
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200
    statements = [s for s in queries if s.startswith("(")]
    assert 1 <= len(statements) <= 2, statements
    for statement in statements:
        sql, params = eval(statement)  # peewee logs (sql, params)
        plan = [row[3] for row in models.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]
        assert not [step for step in plan if re.match(r"SCAN (a|article|article_facet)\b", step)]


def test_signed_in_the_page_stays_at_three_queries_and_counts_notes(app, client, auth, queries):
    user = auth.create()
    with app.app_context():
        for visibility in ("shared", "private"):
            models.Note.create(article=26702191, author=user.id, source="x", html="<p>x</p>",
                               visibility=visibility)  # fmt: skip
        models.db.close()
    auth.login()
    queries.clear()
    page = soup(client.get("/search?q=helicobacter"))
    assert len(queries) <= 3, queries
    assert page.select_one("#result-26702191 .notes-count").text == "2 notes"
    assert page.select_one("#result-26385073 .notes-count") is None


def test_paper_page_terms_link_to_their_search(client):
    page = soup(client.get("/articles/26432154"))
    links = {a.text: a["href"] for a in page.select("a.term-link")}
    author = links["Adi Abulafia"]
    assert parse_qs(urlsplit(author).query) == {"q": ['"Abulafia A"[au]']}
    assert 26432154 in results(client.get(author))
    journal = page.select_one(".journal-line a.term-link")
    assert 26432154 in results(client.get(journal["href"]))
    page = soup(client.get("/articles/25936681"))
    mesh = page.select(".mesh-terms a.term-link")
    assert mesh and all("%5Bmh%5D" in a["href"] for a in mesh)
    keywords = page.select(".keywords a.term-link")
    for link in mesh + keywords:  # each finds the paper (narrowed to it: "Humans" has pages)
        q = parse_qs(urlsplit(link["href"]).query)["q"][0]
        assert results(client.get("/search", query_string={"q": f"{q} 25936681[pmid]"})) == [
            25936681
        ]


def test_follow_this_search_adds_it_to_the_journal(app, client, auth, htmx):
    user = auth.create()
    with app.app_context():
        models.User.update(full_access=True).where(models.User.id == user.id).execute()
        models.db.close()
    auth.login()
    button = soup(client.get("/search?q=helicobacter")).select_one("#follow-search")
    assert button.text == "Follow this search"
    token = csrf_token(client)
    response = client.post("/search/follow", data={"csrf_token": token, "q": "helicobacter"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/search?q=helicobacter"
    interests = soup(client.get("/journal/interests")).select(".interest")
    assert [i.select_one(".interest-kind").text for i in interests] == ["Search"]
    assert interests[0].select_one(".interest-value").text == "helicobacter"
    # Twice is once; a bad query is refused in words.
    client.post("/search/follow", data={"csrf_token": token, "q": "helicobacter"})
    with app.app_context():
        assert models.Interest.select().count() == 1
        models.db.close()
    refused = client.post(
        "/search/follow", data={"csrf_token": token, "q": "x[nope]"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 422 and "[nope]" in soup(refused).text


def test_signed_out_readers_are_asked_to_sign_in_to_follow(client):
    link = soup(client.get("/search?q=pain")).select_one("#follow-search-signin")
    assert link["href"].startswith("/login?next=")


def test_a_followed_search_brings_the_papers_the_search_finds_to_the_journal(app):
    import journal  # noqa: PLC0415

    searches = ["helicobacter 2015[dp]", "author:abulafia", "x[broken]"]
    with app.app_context():
        found = {}
        for q in searches[:2]:
            query = search_query.parse(q)
            found[q] = {row[0] for row in models.search_index.find(query.fts, query.filters, 50)}
        interests = [models.Interest(kind="search", value=q, key=q) for q in searches]
        entries = journal.assemble(interests, beyond=0)
        models.db.close()
    # Filters select (2015 only, Abulafia's papers only); the full-text part ranks.
    assert found == {"helicobacter 2015[dp]": {26702191}, "author:abulafia": {25936681, 26432154}}
    by_section = {}
    for entry in entries:
        by_section.setdefault(entry.section, set()).add(entry.article.pmid)
    assert by_section == found  # a search that no longer parses follows nothing
    assert entries[0].reason.startswith("Matches helicobacter 2015[dp]")


def test_signed_in_each_result_has_its_star_in_the_same_queries(app, client, auth, queries):
    user = auth.create()
    auth.login()
    models.Star.create(user=user.id, article=26702179)
    queries.clear()
    page = soup(client.get("/search?q=pain"))
    assert len(queries) <= 3, queries
    stars = {f["id"]: f.button["aria-pressed"] for f in page.select("li.result form.star-form")}
    assert stars["star-26702179"] == "true" and stars["star-26702218"] == "false"
    assert len(stars) == 20


def test_signed_out_results_have_no_star(client):
    assert soup(client.get("/search?q=pain")).select("li.result form.star-form") == []


@pytest.mark.parametrize(
    "args", ["q=pain", "q=pain&sort=date", "q=cancer&type=Review", "q=abulafia+a[au]"]
)
def test_the_export_links_hold_the_results_in_their_order(client, args):
    page = soup(client.get(f"/search?{args}"))
    shown = [int(li["data-pmid"]) for li in page.select("li.result")]
    links = {a.text: a["href"] for a in page.select("#results-actions a")}
    assert set(links) == {"RIS", "BibTeX", "CSL-JSON", "CSV", "MEDLINE"}
    exported = client.get(links["CSL-JSON"]).get_json()
    assert [int(item["PMID"]) for item in exported][: len(shown)] == shown


def test_exporting_a_query_the_page_refuses_says_why(client):
    response = client.get("/export/search.ris?q=pain[zz]")
    assert response.status_code == 422


def test_a_reimported_record_brings_its_search_rows_up_to_date(app, client, tmp_path):
    text = gzip.decompress(DEMO_FILE.read_bytes()).decode()
    changed = tmp_path / "changed.xml"
    changed.write_text(
        text.replace("<LastName>Abulafia</LastName>", "<LastName>Abulafiah</LastName>")
    )
    with app.app_context():
        summary = importer.import_file(changed)
        models.db.close()
    assert summary.updated == 2
    assert results(client.get("/search?q=abulafiah+a[au]")) == [26432154, 25936681]
    assert results(client.get("/search?q=abulafia[au]")) == []
