"""Every URL with a number in it: a number past what the database can store names nothing,
so it is a real 404 page, never a 500 (SQLite raises OverflowError on such an int)."""

import datetime
import re

import pytest

import models
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


# --- every route, as another reader and as nobody ---

SECRET_NOTE = "Owner's private pearl about gefitinib"
SECRET_COLLECTION = "Owner's hidden shelf"
OWNER = "owner@example.org"
# What each <name> in a rule is filled with (the owner's objects, where they have ids).
ROUTE_VALUES = {"pmid": "24997269", "token": "not-a-real-token", "key": "not-a-real-key",
                "filename": "css/app.css", "number": "1"}  # fmt: skip
# Last, since they sign the caller out (or in).
SIGNING_OUT = ("/logout", "/account/sign-out-everywhere", "/auth/")


def rule_templates():
    """(methods, rule) for every rule of the URL map, read once at collection (building an
    app binds the database handle, which must not happen inside a test)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite:///:memory:"})
    return [
        (sorted(rule.methods - {"HEAD", "OPTIONS"}), rule.rule) for rule in app.url_map.iter_rules()
    ]


RULES = rule_templates()


def every_route(values):
    """(method, path) for every rule, its parts filled from `values`: a new route is tried as
    soon as it exists (a part with no value fails here, naming it)."""
    routes = []
    for methods, rule in RULES:
        path = re.sub(r"<any\(([^,)]+)[^)]*\):\w+>", r"\1", rule)
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
        routes += [(method, path) for method in methods]
    return sorted(routes, key=lambda route: route[1].startswith(SIGNING_OUT))


@pytest.mark.clock("2026-11-26T10:00Z")
def test_every_route_as_another_reader_and_as_nobody(app, auth, client):
    """Nothing another reader or a visitor can ask of any route shows or changes the owner's
    notes, shelves, journal or sessions, and no route answers 500."""
    owner = auth.create(email=OWNER, name="Owner")
    models.User.update(full_access=True).where(models.User.id == owner.id).execute()
    auth.login(email=OWNER)
    models.Interest.create(user=owner, kind="keyword", value="Malaria", key="malaria")
    models.Article.update(added_at=datetime.datetime(2026, 11, 20, 8, 0)).execute()  # this week's
    assert client.get("/journal").status_code == 200  # makes the owner's first issue
    note = models.Note.create(
        article=24997269,
        author=owner,
        source=SECRET_NOTE,
        html=f"<p>{SECRET_NOTE}</p>",
        visibility=models.Note.PRIVATE,
    )
    shelf = models.Collection.create(user=owner, name=SECRET_COLLECTION,
                                     key=SECRET_COLLECTION.lower(), position=1)  # fmt: skip
    models.CollectionItem.create(collection=shelf, article=24997269, position=1)
    models.Star.create(user=owner, article=24997269)
    entry = models.IssueEntry.select().first()
    interest = models.Interest.get()
    values = {**ROUTE_VALUES, "note_id": note.id, "collection_id": shelf.id,
              "entry_id": entry.id, "interest_id": interest.id}  # fmt: skip
    before = owner_state(owner)

    other = app.test_client()
    auth.create(email="other@example.org", name="Other")
    models.User.update(full_access=True).where(models.User.email == "other@example.org").execute()
    token = csrf_token(other, "/login")
    other.post("/login", data={"csrf_token": token, "email": "other@example.org",
                               "password": auth.PASSWORD})  # fmt: skip
    nobody = app.test_client()
    routes = every_route(values)
    for caller in (other, nobody):
        token = csrf_token(caller)
        for method, path in routes:
            data = (
                {
                    "csrf_token": token,
                    "body": "changed",
                    "name": "changed",
                    "pmid": "24997269",
                    "email": "typed@example.org",
                    "password": "wrong password",
                }
                if method == "POST"
                else None
            )
            response = caller.open(path, method=method, data=data)
            assert response.status_code < 500, (method, path, response.status_code)
            text = response.get_data(as_text=True)
            for secret in (SECRET_NOTE, SECRET_COLLECTION, OWNER):
                assert secret not in text, (method, path, secret)
    assert owner_state(owner) == before
    assert soup(client.get("/")).select_one(".signed-in").text == "Signed in as Owner"
    tried = {path for _, path in routes}
    assert {f"/notes/{note.id}/delete", f"/collections/{shelf.id}/rename",
            "/account/sign-out-everywhere", "/auth/not-a-real-token",
            "/journal/feed/not-a-real-key.atom"} <= tried  # fmt: skip


def owner_state(owner):
    """Everything of the owner's a stranger might try to change."""
    notes = models.Note.select().where(models.Note.author == owner)
    shelves = models.Collection.select().where(models.Collection.user == owner)
    return (
        [(n.source, n.visibility, n.deleted_at) for n in notes],
        [(c.name, c.items.count()) for c in shelves],
        models.Star.select().where(models.Star.user == owner).count(),
        [(i.kind, i.value) for i in models.Interest.select().where(models.Interest.user == owner)],
        [(e.read_at, e.starred) for e in models.IssueEntry.select().order_by(models.IssueEntry.id)],
        models.UserSession.select().where(models.UserSession.user == owner).count(),
        models.User.get_by_id(owner.id).feed_key_hash,
        models.User.get_by_id(owner.id).password_hash,
    )
