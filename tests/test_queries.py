"""Queries per page, pinned (as peewee's own tests do) so an N+1 cannot creep in."""

import pytest

from tests.conftest import soup


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/", 2),  # the paper count (kept by the import) + one page
        ("/articles/24997269", 2),  # the paper + its notes with their count
        ("/articles/24997269/notes", 2),
        ("/articles/24997269.txt", 1),
        ("/articles/24997269/cite?style=apa", 1),
        ("/articles/24997269.ris", 1),
        ("/library?pmid=24997269", 1),
    ],
)
def test_queries_per_page(client, queries, path, most):
    response = client.get(path)
    assert response.status_code == 200
    assert 1 <= len(queries) <= most, queries


def test_older_and_newer_pages_of_recent_papers_stay_at_three_queries(client, queries):
    second = soup(client.get("/")).find("a", rel="next")["href"]
    third = soup(client.get(second)).find("a", rel="next")["href"]
    back = soup(client.get(third)).find("a", rel="prev")["href"]
    assert "after=" in back
    for path in (third, back):
        queries.clear()
        assert client.get(path).status_code == 200
        # the paper count, one page, whether papers lie beyond it the other way
        assert len(queries) <= 3, queries
        assert not [q for q in queries if "COUNT(" in q.upper() or "OFFSET" in q.upper()]


def test_signed_in_paper_page_with_many_notes_stays_at_three_queries(client, auth, queries):
    import markup  # noqa: PLC0415
    import models  # noqa: PLC0415

    user = auth.create()
    other = auth.create(email="colleague@example.org", name="Dr Colleague")
    with auth.app.app_context():
        for number in range(50):
            author = user if number % 2 else other
            source = f"Pearl number {number}: *check* the K<sup>+</sup>."
            models.Note.create(
                article=24997269,
                author=author,
                source=source,
                html=markup.render(source, f"n{number}"),
                visibility="shared",
            )
    auth.login()
    queries.clear()
    response = client.get("/articles/24997269")
    assert response.status_code == 200
    assert len(queries) <= 3, queries  # the reader, the paper, one page of notes and the count
    assert "50 notes" in response.get_data(as_text=True)
