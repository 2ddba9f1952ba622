"""Similar papers on the real MEDLINE file: exact neighbours and reasons, check tags ignored,
the section for htmx within the query budget, a page of its own without JavaScript."""

import pytest

import models
import similar
from tests.conftest import POSTGRES, soup

PMID = 22508830  # erlotinib with and without entinostat in non-small-cell lung cancer

# The papers sharing only wording: each names "randomized" once in its title, like the seed
# paper (their MeSH share nothing with it), so their order is the full-text score's: bm25 on
# SQLite, ts_rank_cd on PostgreSQL (models/postgres.py). Both put the shorter record first,
# but count length differently (PostgreSQL leaves stop words out; its scores here are within
# 1.5% of each other), so these near-ties fall differently. All eight are randomised trials.
SIMILAR_WORDING = {
    "sqlite": (26702212, 26340864, 26255087, 26702213),
    "postgresql": (26702213, 26702212, 26340864, 26702210),
}["postgresql" if POSTGRES else "sqlite"]

EXPECTED = [
    (21933749, "3 shared MeSH headings (3 major topics)"),  # crizotinib in ALK+ NSCLC
    (20501835, "1 shared MeSH heading (1 major topic)"),
    (23415808, "1 shared MeSH heading (1 major topic)"),
    (23625632, "1 shared MeSH heading (1 major topic)"),
    (25368326, "1 shared MeSH heading (1 major topic)"),
    (25901762, "1 shared MeSH heading"),
    *((pmid, "Similar wording") for pmid in SIMILAR_WORDING),
]


@pytest.fixture
def article(app):
    with app.app_context():
        yield models.Article.get_by_id(PMID)


def test_neighbours_and_reasons_on_the_real_file(article):
    assert [(s.pmid, s.reason) for s in similar.similar_to(article)] == EXPECTED


def test_check_tags_and_headings_most_papers_carry_are_not_looked_for(article):
    names = {h["name"] for h in article.mesh}
    assert "Humans" in names
    looked_for = similar.headings_to_look_for(article, {"lung neoplasms": 90}, 1000)
    assert "Humans" not in looked_for
    assert "Lung Neoplasms" not in looked_for  # on 9% of the papers: too common here
    assert looked_for[0] == "Benzamides"  # major topics first, the rarest of them first


def test_reasons_read_as_a_clinician_would_say_them():
    assert similar._reason(4, 2, 1, 0.5) == (
        "4 shared MeSH headings (2 major topics) · 1 shared keyword"
    )
    assert similar._reason(1, 0, 0, 0.9) == "1 shared MeSH heading"
    assert similar._reason(0, 0, 0, 0.9) == "Similar wording"


def test_paper_page_has_the_section_to_load_and_a_link_without_javascript(client):
    section = soup(client.get(f"/articles/{PMID}")).select_one("#similar")
    assert section["hx-get"] == f"/articles/{PMID}/similar"
    assert section["hx-trigger"] == "revealed"
    assert section.find("a")["href"] == f"/articles/{PMID}/similar"


def test_the_section_for_htmx_within_three_queries(htmx, queries):
    response = htmx.get(f"/articles/{PMID}/similar")
    assert response.status_code == 200
    assert len(queries) <= 3, queries
    fragment = soup(response)
    assert fragment.find("html") is None
    assert "hx-get" not in fragment.select_one("#similar").attrs  # loaded: not again
    items = fragment.select(".similar-paper")
    assert [int(i.a["href"].rsplit("/", 1)[1]) for i in items] == [p for p, _ in EXPECTED]
    assert items[0].select_one(".similar-reason").text == EXPECTED[0][1]
    assert items[0].select_one(".similar-source").text == "The Lancet. Oncology · 2011"


def test_without_javascript_the_list_is_a_page(client):
    page = soup(client.get(f"/articles/{PMID}/similar"))
    assert page.find("html") is not None
    assert len(page.select(".similar-paper")) == 10


def test_similar_to_a_paper_not_here_is_a_404(client):
    assert client.get("/articles/1/similar").status_code == 404
