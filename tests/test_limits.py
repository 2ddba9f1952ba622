"""Limits on what a person (or a proxy in front of Pearl) can send and have stored: the size
of a request, the length of every stored field, and display names that read as what they
are (NFC; no direction overrides; not blank)."""

import json

import pytest

import models
from tests.conftest import csrf_token, soup, use_link
from tests.test_notes import HX, PMID


def signup(client, name, email="new@example.org"):
    data = {"csrf_token": csrf_token(client, "/signup"), "email": email,
            "display_name": name, "password": "a long enough password"}  # fmt: skip
    return client.post("/signup", data=data)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "Dr \u202eliamE", "reverse the direction of text", id="right-to-left-override"
        ),
        pytest.param("Dr \u2067Eve\u2069", "reverse the direction of text", id="isolate"),
        pytest.param("\u200b\u200d\u2060", "name other readers will see", id="zero-width-only"),
        pytest.param("\u3164 \u00a0", "name other readers will see", id="blank-letter-and-space"),
        pytest.param("Dr\nEve", "control characters", id="line-break"),
        pytest.param("E" * 61, "61 characters", id="too-long"),
    ],
)
def test_names_that_misread_are_refused_keeping_what_was_typed(app, client, name, message):
    response = signup(client, name)
    assert response.status_code == 422
    page = soup(response)
    assert message in page.select_one("#signup-display_name-error").text
    assert page.select_one("#signup-display_name")["value"] == name.strip()
    with app.app_context():
        assert not models.User.select().where(models.User.email == "new@example.org").exists()


def test_a_name_is_stored_in_one_spelling(app, client, smtp):
    decomposed = "Dr Jose\u0301 Nun\u0303ez"  # as some keyboards type it
    assert signup(client, decomposed).status_code == 200  # "Check your inbox"
    # The account is made from the emailed link (tests/test_security.py).
    assert use_link(client, smtp.paths()[0]).status_code == 303
    with app.app_context():
        assert models.User.get(models.User.email == "new@example.org").display_name == (
            "Dr Jos\u00e9 Nu\u00f1ez"
        )


def test_a_name_in_any_script_is_welcome(app, client, smtp):
    assert signup(client, "د. سلمى \u200c حداد").status_code == 200  # a ZWNJ inside is fine
    assert use_link(client, smtp.paths()[0]).status_code == 303


@pytest.mark.parametrize(("extra", "status"), [(1024 * 1024, 413), (500, 422)], ids=["1MB", "600"])
def test_an_overlong_library_address_is_refused_not_stored(app, client, reader, extra, status):
    base = "https://proxy.example.edu/login?url=" + "x" * extra
    data = {"csrf_token": csrf_token(client), "kind": "ezproxy", "base": base}
    response = client.post("/library", data=data)
    assert response.status_code == status
    if status == 422:
        error = soup(response).select_one("#library-error").text
        assert error == f"That address is {len(base)} characters; a library's has at most 500."
    with app.app_context():
        assert models.User.get_by_id(reader.id).library_base is None


def test_the_notes_import_takes_a_file_larger_than_a_form(client, reader):
    # Encoded here: werkzeug's test client leaves its own temporary file open for a body
    # this large.
    file = b" " * (1024 * 1024) + b"{}"
    body = (
        b'--pearl\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + csrf_token(client).encode()
        + b'\r\n--pearl\r\nContent-Disposition: form-data; name="file"; filename="n.json"'
        + b"\r\nContent-Type: application/json\r\n\r\n"
        + file
        + b"\r\n--pearl--\r\n"
    )
    response = client.post("/my/notes/import", data=body,
                           content_type="multipart/form-data; boundary=pearl")  # fmt: skip
    assert response.status_code == 422
    assert "not a Pearl notes export" in response.get_data(as_text=True)


def test_an_upload_over_the_limit_is_a_413_page_in_words(app, client, reader):
    # A multipart body one byte over, sent as it is: refused from its Content-Length, unread.
    body = b"x" * (20 * 1024 * 1024 + 64 * 1024 + 1)
    response = client.post("/my/notes/import", data=body,
                           content_type="multipart/form-data; boundary=pearl")  # fmt: skip
    assert response.status_code == 413
    page = soup(response)
    assert page.find("h1").text == "Request Entity Too Large"
    assert "larger than Pearl accepts here (20 MB)" in page.select_one("#error").text


def test_a_form_field_over_the_limit_is_refused_in_words_for_htmx(app, client, reader):
    data = {"csrf_token": csrf_token(client), "body": "x" * (1024 * 1024)}
    response = client.post(f"/articles/{PMID}/notes", data=data, headers=HX)
    assert response.status_code == 413
    assert response.headers["HX-Reswap"] == "none"
    message = json.loads(response.headers["HX-Trigger"])["pearl:request-error"]
    assert message == (
        "That was not saved: it is larger than Pearl accepts here (512 KB). Nothing was changed."
    )
    with app.app_context():
        assert models.Note.select().count() == 0


def test_every_other_stored_text_has_a_cap(app, client, reader):
    """Guards for the caps that were already there: email, collection name, followed term,
    followed search (a note's 300 characters are tested with the notes)."""
    with app.app_context():
        models.User.update(full_access=True).where(models.User.id == reader.id).execute()
    token = csrf_token(client)
    long = "a" * 1000
    posts = [
        ("/collections", {"name": long}),
        ("/journal/interests", {"kind": "keyword", "q": long}),
        ("/search/follow", {"q": long}),
    ]
    for path, fields in posts:  # refused: 422, or the search page again (303) saying why
        assert client.post(path, data={"csrf_token": token, **fields}).status_code in (303, 422)
    visitor = app.test_client()
    assert signup(visitor, "Dr Long", email=f"{long}@example.org").status_code == 422
    assert visitor.post("/trial", data={"csrf_token": csrf_token(visitor), "email":
                                        f"{long}@example.org"}).status_code == 422  # fmt: skip
    with app.app_context():
        assert models.Collection.select().count() == models.Interest.select().count() == 0
        assert models.User.select().count() == 1 and models.LoginToken.select().count() == 0


NUL_MESSAGE = "That contains a NUL character (U+0000)"


@pytest.mark.parametrize(
    ("method", "path", "fields"),
    [
        ("GET", "/journal/sample?interest=mesh:Humans%00", {}),
        ("POST", "/login", {"email": "reader@example.org\x00", "password": "x"}),
        ("POST", "/collections", {"name": "Stroke\x00"}),
        ("POST", "/library", {"kind": "ezproxy", "base": "https://proxy.example/\x00"}),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_nul_character_is_refused_in_words_on_every_engine(client, reader, method, path,
                                                             fields, htmx):  # fmt: skip
    # PostgreSQL's text cannot hold NUL: each of these was a 500 there (SQLite took them).
    headers = HX if htmx else {}
    if method == "GET":
        response = client.get(path, headers=headers)
    else:
        data = {"csrf_token": csrf_token(client), **fields}
        response = client.post(path, data=data, headers=headers)
    assert response.status_code == 400
    if htmx:  # the page stays as it is; app.js shows the message
        assert json.loads(response.headers["HX-Trigger"])["pearl:request-error"].startswith(
            NUL_MESSAGE
        )
    else:
        assert NUL_MESSAGE in soup(response).get_text()


@pytest.mark.parametrize(("path", "box"), [("/search?q=pain%00heart", "#search-box"),
                                           ("/my/notes?q=pain%00", "#notes-q")])  # fmt: skip
def test_a_nul_in_a_search_reads_as_a_space(client, reader, path, box):
    # A search's own rule for control characters (search_query.clean): no 500 on PostgreSQL.
    response = client.get(path)
    assert response.status_code == 200
    assert "pain" in soup(response).select_one(box)["value"]
