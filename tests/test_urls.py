"""Every URL with a number in it: a number past what the database can store names nothing,
so it is a real 404 page, never a 500 (SQLite raises OverflowError on such an int)."""

import re

import pytest

from app import create_app
from tests.conftest import csrf_token, soup

TOO_BIG = "100000000000000000000"  # 10**20 > 2**63 - 1
INT_ARG = re.compile(r"<int:\w+>")


def numbered_rules():
    """(method, path) for every rule with an <int:…> part, the number made too big."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite:///:memory:"})
    rules = []
    for rule in app.url_map.iter_rules():
        if INT_ARG.search(rule.rule):
            path = INT_ARG.sub(TOO_BIG, rule.rule).replace("<any(ris, bib, nbib):kind>", "ris")
            rules += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return rules


@pytest.mark.parametrize(("method", "path"), numbered_rules())
def test_an_id_beyond_the_database_is_a_404(auth, client, method, path):
    auth.create()
    auth.login()
    data = {"csrf_token": csrf_token(client)} if method == "POST" else None
    response = client.open(path, method=method, data=data)
    assert response.status_code == 404
    assert soup(response).find("html") is not None  # the error page, not a bare message


def test_the_rules_cover_every_area():
    paths = {path for _, path in numbered_rules()}
    assert {f"/articles/{TOO_BIG}", f"/notes/{TOO_BIG}", f"/journal/issues/{TOO_BIG}",
            f"/journal/entries/{TOO_BIG}/star"} <= paths  # fmt: skip


@pytest.mark.parametrize("path", ["/", "/articles/24997269", "/articles/24997269/notes"])
def test_a_page_number_beyond_any_list_is_a_404(client, path):
    assert client.get(f"{path}?page={TOO_BIG}").status_code == 404


def test_preview_without_javascript_for_a_paper_beyond_the_database(auth, client):
    auth.create()
    auth.login()
    data = {"csrf_token": csrf_token(client), "body": "hello", "pmid": TOO_BIG}
    assert client.post("/notes/preview", data=data).status_code == 404
