"""Page structure axe counts as moderate, on the pages where it was missing: every page has
an h1, and a page with several search forms names each one, so a screen reader's list of
landmarks tells them apart."""

import models
from tests.conftest import csrf_token, soup

PMID = 24997269


def assert_structure(page):
    assert page.find("h1") is not None
    searches = page.find_all(attrs={"role": "search"})
    names = [form.get("aria-label") for form in searches]
    assert None not in names and len(set(names)) == len(names), names


def test_signed_out_pages(client):
    assert_structure(soup(client.get(f"/articles/{PMID}/similar")))
    assert_structure(soup(client.get("/journal/sample?interest=mesh:Lung+Neoplasms")))
    refused = client.post("/trial", data={"csrf_token": csrf_token(client), "email": "nope@"})
    assert refused.status_code == 422
    assert_structure(soup(refused))


def test_signed_in_pages(app, client, auth):
    auth.create()
    with app.app_context():
        user = models.User.by_email("reader@example.org")
        user.start_trial()
        user.save()
        models.db.close()
    auth.login()
    for path in ["/my/notes", "/journal/interests", "/journal/interests?kind=mesh&q=lung+neo"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_structure(soup(response))
