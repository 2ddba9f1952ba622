"""The reader's library through the test client: stars in place (paper page, journal),
collections (add, rename, remove, reorder, papers in and out), exports of the starred papers,
a collection and a search in every format, with every status and ownership on every route."""

import csv
import datetime
import io
import json

import pytest

import importer
import models
from models import Article, Collection, CollectionItem, Issue, IssueEntry, Star, utcnow
from tests.conftest import csrf_token, make_app, soup

PMID, OTHER_PMID, THIRD_PMID = 24997269, 25466483, 26702311
HX = {"HX-Request": "true"}


def post(client, path, htmx=False, **data):
    """A POST as a form sends it (token in the body), or as htmx does (token in a header)."""
    token = csrf_token(client)
    if htmx:
        return client.post(path, data=data, headers={**HX, "X-CSRFToken": token})
    return client.post(path, data={"csrf_token": token, **data})


def stars_of(app, user):
    with app.app_context():
        return [s.article_id for s in Star.select().where(Star.user == user.id).order_by(Star.id)]


def make_collection(app, user, name, pmids=()):
    with app.app_context():
        collection = Collection.create_for(user, name)
        for pmid in pmids:
            collection.add(pmid)
        return collection.id


def names(app, user):
    with app.app_context():
        return [c.name for c in Collection.of(user)]


# --- stars ---


def test_star_in_place_on_the_paper_page(app, client, reader):
    page = soup(client.get(f"/articles/{PMID}"))
    button = page.select_one(f"#star-{PMID}-button")
    assert button["aria-pressed"] == "false" and "Star" in button.text
    form = page.select_one(f"#star-{PMID}")
    assert form["action"] == form["hx-post"] == f"/articles/{PMID}/star"

    response = post(client, f"/articles/{PMID}/star", htmx=True, starred="1")
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.find("html") is None
    button = fragment.select_one(f"#star-{PMID}-button")
    assert button["aria-pressed"] == "true" and "Starred" in button.text
    assert button.has_attr("autofocus")
    assert fragment.select_one("input[name=starred]")["value"] == "0"
    assert stars_of(app, reader) == [PMID]

    # Twice is still one star; the page says so.
    post(client, f"/articles/{PMID}/star", htmx=True, starred="1")
    assert stars_of(app, reader) == [PMID]
    page = soup(client.get(f"/articles/{PMID}"))
    assert page.select_one(f"#star-{PMID}-button")["aria-pressed"] == "true"

    response = post(client, f"/articles/{PMID}/star", htmx=True, starred="0")
    assert soup(response).select_one(f"#star-{PMID}-button")["aria-pressed"] == "false"
    assert stars_of(app, reader) == []


def test_star_without_javascript_comes_back_to_the_page(app, client, reader):
    response = post(client, f"/articles/{PMID}/star", starred="1", next="/starred")
    assert response.status_code == 303 and response.headers["Location"] == "/starred"
    response = post(client, f"/articles/{OTHER_PMID}/star", starred="1", next="//evil.example")
    assert response.headers["Location"] == f"/articles/{OTHER_PMID}"
    page = soup(client.get("/starred"))
    assert [a["href"] for a in page.select(".article-title")] == [
        f"/articles/{OTHER_PMID}", f"/articles/{PMID}"
    ]  # fmt: skip
    assert page.select_one(".list-count").text.strip() == "2 starred papers"


def test_the_star_partial_is_reusable_in_any_list(app):
    """What the search page includes for each result (see the report): pmid and starred."""
    with app.test_request_context("/search?q=pain"):
        from flask import render_template  # noqa: PLC0415

        html = render_template("shelf/_star.html", pmid=PMID, starred=True)
    form = soup_of(html).select_one(f"form#star-{PMID}")
    assert form["hx-target"] == "this" and form["hx-swap"] == "outerHTML"
    assert form.select_one("input[name=next]")["value"] == "/search?q=pain"
    assert form.select_one("button")["aria-pressed"] == "true"


def soup_of(html):
    from bs4 import BeautifulSoup  # noqa: PLC0415

    return BeautifulSoup(html, "html.parser")


def test_signed_out_readers_are_sent_to_sign_in(client):
    response = client.get("/starred")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/starred"
    response = post(client, f"/articles/{PMID}/star", htmx=True, starred="1")
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")
    response = post(client, f"/articles/{PMID}/star", starred="1")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    for path in ("/collections", "/collections/1", "/starred.ris", "/collections/1.csv",
                 f"/articles/{PMID}/collections", "/my/notes", "/my/notes.json", "/my/notes.md",
                 "/my/notes/import"):  # fmt: skip
        response = client.get(path, headers=HX)
        assert response.status_code == 401, path
        assert client.get(path).status_code == 302, path
    # The paper page still offers the star; pressing it asks to sign in.
    page = soup(client.get(f"/articles/{PMID}"))
    assert page.select_one(f"#star-{PMID}-button")["aria-pressed"] == "false"
    assert page.select_one("#paper-collections-open") is None


def test_star_a_paper_that_is_not_here_is_a_404(client, reader):
    assert post(client, "/articles/1/star", starred="1").status_code == 404
    assert post(client, "/articles/1/star", htmx=True, starred="1").status_code == 404


def test_a_journal_star_is_the_papers_star(app, client, reader):
    with app.app_context():
        now = utcnow()
        issues = [
            Issue.create(user=reader, number=n, volume=1, frequency="weekly",
                         period_start=now - datetime.timedelta(days=7 * n), period_end=now,
                         covers_until=now)
            for n in (1, 2)
        ]  # fmt: skip
        entries = [
            IssueEntry.create(issue=issue, article=PMID, position=1, section="x", reason="r",
                              score=1.0)
            for issue in issues
        ]  # fmt: skip
        models.User.update(full_access=True).where(models.User.id == reader.id).execute()
    response = post(client, f"/journal/entries/{entries[0].id}/star", htmx=True, starred="1")
    assert response.status_code == 200
    assert stars_of(app, reader) == [PMID]
    with app.app_context():  # every issue listing the paper shows the star
        assert all(e.starred for e in IssueEntry.select())
    assert (
        soup(client.get(f"/articles/{PMID}")).select_one(f"#star-{PMID}-button")["aria-pressed"]
        == "true"
    )
    # Taken off on the paper's page: off in the journal too.
    post(client, f"/articles/{PMID}/star", htmx=True, starred="0")
    with app.app_context():
        assert not any(e.starred for e in IssueEntry.select())


def test_migration_7_keeps_the_journals_stars(app, auth):
    user = auth.create()
    with app.app_context():
        now = utcnow()
        issue = Issue.create(user=user, number=1, volume=1, frequency="weekly",
                             period_start=now, period_end=now, covers_until=now)  # fmt: skip
        IssueEntry.create(issue=issue, article=PMID, position=1, section="x", reason="r",
                          score=1.0, starred=True)  # fmt: skip
        models.db.drop_tables([CollectionItem, Collection, Star])
        models.Migration.delete().where(models.Migration.number == 7).execute()
        assert models.migrate() == [7]
        assert models.migrate() == []
        assert [s.article_id for s in Star.select()] == [PMID]


def test_withdrawn_records_stay_while_starred_or_collected(app, auth):
    user = auth.create()
    with app.app_context():
        Star.create(user=user, article=PMID)
        Collection.create_for(user, "Keep").add(OTHER_PMID)
        assert Article.delete_pmids([PMID, OTHER_PMID, THIRD_PMID]) == 1
        assert Article.get_or_none(Article.pmid == PMID) is not None
        assert Article.get_or_none(Article.pmid == OTHER_PMID) is not None


# --- collections ---


def test_add_a_collection_in_place_and_without_javascript(app, client, reader):
    page = soup(client.get("/collections"))
    assert page.select_one("#collections-empty") is not None
    response = post(client, "/collections", htmx=True, name="  Journal   club ")
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.find("html") is None
    assert [a.text for a in fragment.select(".collection-name")] == ["Journal club"]
    assert "added" in fragment.select_one("#collections-status").text
    assert fragment.select_one("#new-collection-name")["value"] == ""
    response = post(client, "/collections", name="AF")
    assert response.status_code == 303
    with app.app_context():
        af = Collection.get(Collection.name == "AF")
    assert response.headers["Location"] == f"/collections/{af.id}"
    assert names(app, reader) == ["Journal club", "AF"]


@pytest.mark.parametrize(
    ("name", "error"),
    [("", "Give the collection a name."), ("   ", "Give the collection a name."),
     ("journal CLUB", "You already have a collection called “Journal club”."),
     ("x" * 101, "That name is 101 characters; a name has at most 100.")],
)  # fmt: skip
def test_a_name_it_cannot_take_comes_back_with_why(app, client, reader, name, error):
    make_collection(app, reader, "Journal club")
    for htmx in (True, False):
        response = post(client, "/collections", htmx=htmx, name=name)
        assert response.status_code == 422
        page = soup(response)
        assert page.select_one("#new-collection-error").text == error
        assert page.select_one("#new-collection-name")["value"] == " ".join(name.split())
        assert page.select_one("#new-collection-name")["aria-invalid"] == "true"
    assert names(app, reader) == ["Journal club"]


def test_rename(app, client, reader):
    first = make_collection(app, reader, "Journal club")
    make_collection(app, reader, "AF")
    response = post(client, f"/collections/{first}/rename", htmx=True, name="Club, March")
    assert response.status_code == 200
    assert soup(response).select_one(f"#rename-{first}").has_attr("autofocus")
    assert names(app, reader) == ["Club, March", "AF"]
    response = post(client, f"/collections/{first}/rename", htmx=True, name="af")
    assert response.status_code == 422
    fragment = soup(response)
    assert fragment.select_one(f"#rename-{first}")["value"] == "af"
    assert fragment.select_one(f"#rename-{first}-error").text == (
        "You already have a collection called “AF”."
    )
    # Renaming to its own name in another case is fine.
    response = post(client, f"/collections/{first}/rename", name="CLUB, MARCH")
    assert response.status_code == 303
    assert names(app, reader) == ["CLUB, MARCH", "AF"]


def test_reorder_with_up_and_down(app, client, reader):
    ids = [make_collection(app, reader, name) for name in ("A", "B", "C")]
    response = post(client, f"/collections/{ids[2]}/move", htmx=True, direction="up")
    assert response.status_code == 200
    assert names(app, reader) == ["A", "C", "B"]
    assert soup(response).select_one(f"#up-{ids[2]}").has_attr("autofocus")
    response = post(client, f"/collections/{ids[2]}/move", htmx=True, direction="up")
    assert names(app, reader) == ["C", "A", "B"]
    # At the top its "Move up" is gone: the focus goes to "Move down".
    fragment = soup(response)
    assert fragment.select_one(f"#up-{ids[2]}") is None
    assert fragment.select_one(f"#down-{ids[2]}").has_attr("autofocus")
    assert post(client, f"/collections/{ids[2]}/move", direction="up").status_code == 303
    assert names(app, reader) == ["C", "A", "B"]  # already first
    response = post(client, f"/collections/{ids[0]}/move", direction="down")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/collections#collection-{ids[0]}"
    assert names(app, reader) == ["C", "B", "A"]
    assert post(client, f"/collections/{ids[0]}/move", direction="sideways").status_code == 422


def test_remove_after_a_confirm_page(app, client, reader):
    keep = make_collection(app, reader, "Keep")
    gone = make_collection(app, reader, "Gone", [PMID, OTHER_PMID])
    with app.app_context():
        Star.create(user=reader, article=PMID)
    page = soup(client.get("/collections"))
    assert page.select_one(f"#remove-{gone}")["href"] == f"/collections/{gone}/delete"
    confirm = soup(client.get(f"/collections/{gone}/delete"))
    assert "2 papers" in confirm.text
    assert confirm.select_one("#confirm-remove")["method"] == "post"
    response = post(client, f"/collections/{gone}/delete")
    assert response.status_code == 303 and response.headers["Location"] == "/collections"
    assert names(app, reader) == ["Keep"]
    with app.app_context():
        assert CollectionItem.select().count() == 0
        assert Article.get_or_none(Article.pmid == OTHER_PMID) is not None
    assert stars_of(app, reader) == [PMID]  # the papers stay starred
    response = post(client, f"/collections/{keep}/delete", htmx=True)
    assert response.status_code == 200 and soup(response).select_one("#collections-empty")


def test_a_paper_into_and_out_of_collections_from_its_page(app, client, reader):
    club = make_collection(app, reader, "Journal club")
    page = soup(client.get(f"/articles/{PMID}"))
    link = page.select_one("#paper-collections-open")
    assert link["href"] == link["hx-get"] == f"/articles/{PMID}/collections"
    picker = soup(client.get(f"/articles/{PMID}/collections", headers=HX))
    assert picker.find("html") is None
    assert picker.select_one(f"#collection-{club}-toggle").text == "Add to “Journal club”"

    response = post(client, f"/collections/{club}/papers", htmx=True, pmid=str(PMID))
    assert response.status_code == 200
    picker = soup(response)
    assert picker.select_one(f"#collection-{club}-toggle").text == "Take out of “Journal club”"
    post(client, f"/collections/{club}/papers", htmx=True, pmid=str(PMID))  # twice: once
    response = post(client, f"/collections/{club}/papers", pmid=str(OTHER_PMID),
                    next=f"/articles/{OTHER_PMID}")  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"] == f"/articles/{OTHER_PMID}"
    page = soup(client.get(f"/collections/{club}"))
    assert [a["href"] for a in page.select(".article-title")] == [
        f"/articles/{PMID}", f"/articles/{OTHER_PMID}"
    ]  # fmt: skip

    # A new collection from the picker takes the paper at once.
    response = post(client, "/collections", htmx=True, name="Teaching", pmid=str(PMID))
    assert response.status_code == 200
    assert "Take out of “Teaching”" in soup(response).text
    response = post(client, "/collections", htmx=True, name="teaching", pmid=str(PMID))
    assert response.status_code == 422
    assert soup(response).select_one("#paper-new-collection")["value"] == "teaching"

    response = post(client, f"/collections/{club}/papers/{PMID}/delete", htmx=True)
    assert soup(response).select_one(f"#collection-{club}-toggle").text == "Add to “Journal club”"
    response = post(client, f"/collections/{club}/papers/{OTHER_PMID}/delete", htmx=True,
                    **{"from": "collection"})  # fmt: skip
    assert soup(response).select_one("#collection-empty") is not None
    assert post(client, f"/collections/{club}/papers", pmid="1").status_code == 404
    assert post(client, f"/collections/{club}/papers", pmid="x").status_code == 404
    assert post(client, f"/collections/{club}/papers", pmid="9" * 30).status_code == 404


def test_another_readers_collection_is_a_404(app, client, auth, reader):
    other = auth.create(email="colleague@example.org", name="Dr Colleague")
    theirs = make_collection(app, other, "Theirs", [PMID])
    for path in (f"/collections/{theirs}", f"/collections/{theirs}/delete",
                 f"/collections/{theirs}.ris", f"/collections/{theirs}.csv"):  # fmt: skip
        assert client.get(path).status_code == 404, path
    for path, data in ((f"/collections/{theirs}/rename", {"name": "Mine"}),
                       (f"/collections/{theirs}/move", {"direction": "up"}),
                       (f"/collections/{theirs}/papers", {"pmid": str(OTHER_PMID)}),
                       (f"/collections/{theirs}/papers/{PMID}/delete", {}),
                       (f"/collections/{theirs}/delete", {})):  # fmt: skip
        assert post(client, path, **data).status_code == 404, path
        assert post(client, path, htmx=True, **data).status_code == 404, path
    assert names(app, other) == ["Theirs"]
    with app.app_context():
        assert CollectionItem.select().count() == 1
    assert client.get("/collections/999999999999999999999").status_code == 404


# --- exports ---


def parse_ris_pmids(text):
    return [line.split("  - ", 1)[1] for line in text.splitlines() if line.startswith("AN  - ")]


@pytest.mark.parametrize(
    ("kind", "mimetype"),
    [("ris", "application/x-research-info-systems"), ("bib", "application/x-bibtex"),
     ("json", "application/vnd.citationstyles.csl+json"), ("csv", "text/csv"),
     ("nbib", "application/x-nbib")],
)  # fmt: skip
def test_exports_of_the_starred_papers_and_a_collection(app, client, reader, kind, mimetype):
    post(client, f"/articles/{PMID}/star", starred="1")
    post(client, f"/articles/{OTHER_PMID}/star", starred="1")
    club = make_collection(app, reader, "Club", [THIRD_PMID, PMID])
    for path, name, pmids in ((f"/starred.{kind}", "pearl-starred", [OTHER_PMID, PMID]),
                              (f"/collections/{club}.{kind}", f"pearl-collection-{club}",
                               [THIRD_PMID, PMID])):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == f"{mimetype}; charset=utf-8"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{name}.{kind}"'
        text = response.get_data(as_text=True)
        for pmid in pmids:
            assert str(pmid) in text
        if kind == "json":
            assert [item["PMID"] for item in json.loads(text)] == [str(p) for p in pmids]
        if kind == "csv":
            rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
            assert list(rows[0]) == ["pmid", "doi", "title", "authors", "journal", "year",
                                     "volume", "issue", "pages", "url"]  # fmt: skip
            assert [int(row["pmid"]) for row in rows] == pmids
            assert rows[0]["url"] == f"https://pubmed.ncbi.nlm.nih.gov/{pmids[0]}/"
    page = soup(client.get("/starred"))
    assert page.select_one(f"#export-{kind}")["href"] == f"/starred.{kind}"


def test_csv_cells_hold_the_record(app, client, reader):
    post(client, f"/articles/{PMID}/star", starred="1")
    rows = list(csv.DictReader(io.StringIO(client.get("/starred.csv").get_data(as_text=True)[1:])))
    with app.app_context():
        article = Article.get_by_id(PMID)
        assert rows == [{
            "pmid": str(PMID), "doi": article.doi or "", "title": article.title_text,
            "authors": "; ".join(article.author_names),
            "journal": article.journal_title, "year": str(article.pub_year),
            "volume": article.volume or "", "issue": article.issue or "",
            "pages": article.pages or "", "url": article.pubmed_url,
        }]  # fmt: skip


@pytest.mark.parametrize("kind", ["ris", "nbib"])
def test_a_collection_exported_imports_into_a_fresh_pearl_with_the_same_papers(
    app, client, reader, tmp_path, kind
):
    pmids = [THIRD_PMID, PMID, OTHER_PMID]
    club = make_collection(app, reader, "Club", pmids)
    text = client.get(f"/collections/{club}.{kind}").get_data(as_text=True)
    with app.app_context():
        before = {p: Article.get_by_id(p) for p in pmids}
    exported = tmp_path / f"club.{kind}"
    exported.write_text(text, encoding="utf-8")
    models.db.close()
    fresh = make_app(tmp_path / "fresh", tmp_path / "fresh.db")
    with fresh.app_context():
        models.migrate()
        summary = importer.import_file(exported)
        assert summary.added == 3
        stored = list(Article.select().order_by(Article.pmid))
        assert [a.pmid for a in stored] == sorted(pmids)
        for article in stored:
            original = before[article.pmid]
            assert article.title_text == original.title_text
            assert article.doi == original.doi
            assert article.author_names == original.author_names
            assert (article.volume, article.issue, article.pub_year) == (
                original.volume, original.issue, original.pub_year
            )  # fmt: skip
    models.db.close()


def test_export_any_search_result(client):
    response = client.get(f"/export/search.ris?pmid={OTHER_PMID}&pmid={PMID}&pmid=1")
    assert response.status_code == 200
    assert parse_ris_pmids(response.get_data(as_text=True)) == [str(OTHER_PMID), str(PMID)]
    assert 'filename="pearl-search.ris"' in response.headers["Content-Disposition"]
    response = client.get("/export/search.json?q=neuropathic pain")
    items = json.loads(response.get_data(as_text=True))
    assert items and len(items) <= 1000
    assert client.get("/export/search.csv").status_code == 422
    assert client.get("/export/search.csv?pmid=abc").status_code == 422
    assert client.get("/export/search.xls?pmid=1").status_code == 404


# --- queries per page ---


@pytest.mark.parametrize(
    "path",
    ["/starred", "/collections", "/collections/{club}", f"/articles/{PMID}",
     f"/articles/{PMID}/collections", "/starred.ris", "/collections/{club}.bib"],
)  # fmt: skip
def test_queries_per_page(app, client, reader, queries, path):
    club = make_collection(app, reader, "Club", [PMID, OTHER_PMID, THIRD_PMID])
    make_collection(app, reader, "Other", [PMID])
    for pmid in (PMID, OTHER_PMID, THIRD_PMID):
        post(client, f"/articles/{pmid}/star", starred="1")
    queries.clear()
    response = client.get(path.format(club=club))
    assert response.status_code == 200
    assert len(queries) <= 3, queries


def test_nav_links_to_the_library_for_signed_in_readers(client, reader):
    page = soup(client.get("/"))
    assert page.select_one("#nav-library")["href"] == "/starred"
    assert page.select_one("#nav-my-notes")["href"] == "/my/notes"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert soup(client.get("/")).select_one("#nav-library") is None


def test_shelf_pages_are_pages_and_fragments(app, client, reader):
    club = make_collection(app, reader, "Club", [PMID])
    for path, root in (("/starred", "#starred"), ("/collections", "#collections"),
                       (f"/collections/{club}", "#collection")):  # fmt: skip
        whole = client.get(path)
        assert soup(whole).find("html") is not None and soup(whole).select_one(root)
        part = client.get(path, headers=HX)
        assert soup(part).find("html") is None and soup(part).select_one(root)
        assert "HX-Request" in part.headers["Vary"]
    assert client.get("/starred?page=2").status_code == 404


def test_a_collection_shows_which_of_its_papers_are_starred(app, client, reader):
    club = make_collection(app, reader, "Club", [PMID, OTHER_PMID])
    post(client, f"/articles/{OTHER_PMID}/star", starred="1")
    page = soup(client.get(f"/collections/{club}"))
    pressed = [b["aria-pressed"] for b in page.select(".star-button")]
    assert pressed == ["false", "true"]


def test_a_post_without_the_csrf_token_is_refused(app, client, reader):
    assert client.post(f"/articles/{PMID}/star", data={"starred": "1"}).status_code == 400
    assert client.post("/collections", data={"name": "X"}).status_code == 400
    assert stars_of(app, reader) == [] and names(app, reader) == []
