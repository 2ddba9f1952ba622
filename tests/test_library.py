"""Institutional full text: the inline form, https-only validation, EZproxy and OpenURL links."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import csrf_token, soup

PMID = 24997269
EZPROXY = "https://ezproxy.example.edu/login?url="


def save(client, token, **fields):
    data = {"csrf_token": token, "kind": "ezproxy", "next": f"/articles/{PMID}", **fields}
    return client.post("/library", data=data)


def test_form_fragment_opens_inline(htmx):
    response = htmx.get(f"/library?pmid={PMID}")
    page = soup(response)
    assert response.status_code == 200 and page.find("html") is None
    assert page.select_one("#actions #library-form") is not None
    assert page.select_one("#library-base")["placeholder"] == EZPROXY


def test_form_page_works_without_javascript(client):
    page = soup(client.get(f"/library?next=/articles/{PMID}"))
    assert page.find("html") is not None
    assert page.select_one("input[name=next]")["value"] == f"/articles/{PMID}"


def test_ezproxy_prefix_routes_full_text(client):
    token = csrf_token(client)
    response = save(client, token, base=EZPROXY)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/articles/{PMID}"
    page = soup(client.get(f"/articles/{PMID}"))
    href = page.find("a", string="Full text")["href"]
    assert href == EZPROXY + "https://doi.org/10.1016/j.neuroscience.2014.06.056"


def test_htmx_save_returns_the_updated_actions(htmx):
    token = csrf_token(htmx, f"/articles/{PMID}")
    response = save(htmx, token, base=EZPROXY, pmid=PMID)
    assert response.status_code == 200
    page = soup(response)
    assert page.find("html") is None
    assert page.find("a", string="Full text")["href"].startswith(EZPROXY)


def test_openurl_carries_the_identifiers(client):
    token = csrf_token(client)
    save(client, token, kind="openurl", base="https://resolver.example.edu/openurl")
    href = soup(client.get(f"/articles/{PMID}")).find("a", string="Full text")["href"]
    parts = urlsplit(href)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://resolver.example.edu/openurl"
    query = parse_qs(parts.query)
    assert query["rft_id"] == ["info:doi/10.1016/j.neuroscience.2014.06.056", f"info:pmid/{PMID}"]
    assert query["rft.volume"] == ["283"] and query["rft.spage"] == ["78"]
    assert query["rft.issn"] == ["1873-7544"]


@pytest.mark.parametrize(
    "base",
    ["http://ezproxy.example.edu/login?url=", "ezproxy.example.edu", "javascript:alert(1)", ""],
)
def test_non_https_is_refused_next_to_the_field(client, htmx, base):
    token = csrf_token(client)
    response = save(client, token, base=base)
    assert response.status_code == 422
    page = soup(response)
    assert "https://" in page.select_one("#library-error").text
    assert page.select_one("#library-base")["value"] == base
    fragment = save(htmx, csrf_token(htmx), base=base, pmid=PMID)
    assert fragment.status_code == 422
    assert soup(fragment).select_one("#actions #library-error") is not None
    link = soup(client.get(f"/articles/{PMID}")).find("a", string="Full text")["href"]
    assert link.startswith("https://doi.org/")


def test_clear_forgets_the_library(client):
    token = csrf_token(client)
    save(client, token, base=EZPROXY)
    response = client.post(
        "/library/clear", data={"csrf_token": token, "next": f"/articles/{PMID}"}
    )
    assert response.status_code == 303
    href = soup(client.get(f"/articles/{PMID}")).find("a", string="Full text")["href"]
    assert href.startswith("https://doi.org/")


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/library", data={"kind": "ezproxy", "base": EZPROXY})
    assert response.status_code == 400
    href = soup(client.get(f"/articles/{PMID}")).find("a", string="Full text")["href"]
    assert href.startswith("https://doi.org/")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_only_same_site_next_is_followed(client, target):
    token = csrf_token(client)
    response = save(client, token, base=EZPROXY, next=target)
    assert response.headers["Location"] == "/"
