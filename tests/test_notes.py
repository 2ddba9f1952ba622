"""The notes panel through the test client: every status the issue names, ownership on every
route, visibility, paging, help and preview fragments, CRLF counting, rerender-notes."""

import pytest

import markup
import models
from tests.conftest import csrf_token, soup, textarea_value

PMID = 24997269
HX = {"HX-Request": "true"}  # the signed-in client's own requests, as htmx sends them


def add_note(app, author, source="A *pearl*.", visibility="shared", pmid=PMID):
    with app.app_context():
        note = models.Note.create(
            article=pmid, author=author, source=source, html="", visibility=visibility
        )
        note.html = markup.render(source, prefix=f"n{note.id}")
        note.save()
        return note.id


def post_note(client, body, visibility="private", htmx=False, pmid=PMID):
    headers = {"HX-Request": "true"} if htmx else {}
    token = csrf_token(client, f"/articles/{pmid}")
    data = {"csrf_token": token, "body": body, "visibility": visibility}
    return client.post(f"/articles/{pmid}/notes", data=data, headers=headers)


def test_panel_on_the_paper_page_signed_out(client):
    page = soup(client.get(f"/articles/{PMID}"))
    panel = page.select_one("#notes")
    assert panel.select_one("#notes-count").text.strip() == "0 notes"
    assert panel.select_one("#note-body") is None
    prompt = panel.select_one("#notes-sign-in a")
    assert prompt["href"] == f"/login?next=/articles/{PMID}%23notes"
    assert panel.select_one("#notes-help-toggle").text == "help"


def test_signed_in_reader_sees_the_form(client, reader):
    page = soup(client.get(f"/articles/{PMID}"))
    box = page.select_one("#note-body")
    assert box["placeholder"] == "Knowledge, pearl, summary or comment to share?"
    assert page.select_one("#note-body-counter").text.strip() == "300 characters remaining"
    assert page.select_one("[data-counter-announce-for=note-body]")["aria-live"] == "polite"


def test_save_with_htmx_returns_the_panel_with_the_note_on_top(app, client, reader):
    add_note(app, reader, "An older note.")
    response = post_note(client, "Ddx:\r\n1. MS\r\n2. GBS", htmx=True)
    assert response.status_code == 200
    panel = soup(response)
    assert panel.find("html") is None and panel.select_one("#notes") is not None
    notes = panel.select("article.note")
    assert len(notes) == 2
    assert [li.text for li in notes[0].select(".note-text ol li")] == ["MS", "GBS"]
    assert textarea_value(panel.select_one("#note-body")) == ""
    assert panel.select_one("#notes-count").text.strip() == "2 notes"
    with app.app_context():
        assert models.Note.select().order_by(models.Note.id.desc()).first().source == (
            "Ddx:\n1. MS\n2. GBS"
        )


def test_save_without_javascript_redirects_to_the_note(client, reader):
    response = post_note(client, "Plain form post.")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/articles/{PMID}#note-")
    page = soup(client.get(f"/articles/{PMID}"))
    assert page.select_one("article.note .note-text").text.strip() == "Plain form post."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write something"),
        ("   \r\n\t ", "Write something"),
        ("x" * 301, "the limit is 300"),
        ("line\r\n" * 60 + "x", "the limit is 300"),  # 361 with \n; 421 as sent
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_refused_notes_are_422_with_the_text_kept(app, client, reader, body, message, htmx):
    response = post_note(client, body, htmx=htmx)
    assert response.status_code == 422
    page = soup(response)
    assert message in page.select_one("#note-body-error").text
    assert textarea_value(page.select_one("#note-body")) == body.replace("\r\n", "\n")
    assert page.select_one("#note-body")["aria-invalid"] == "true"
    assert (page.find("html") is None) == htmx
    with app.app_context():
        assert models.Note.select().count() == 0


def test_300_characters_with_crlf_line_breaks_are_accepted(app, client, reader):
    # 100 lines of two characters: 300 with "\n", 399 as a browser sends them with "\r\n".
    body = "\r\n".join(["ab"] * 100) + "x"
    assert markup.length(body) == 300
    response = post_note(client, body, htmx=True)
    assert response.status_code == 200
    refused = post_note(client, body + "y", htmx=True)
    assert refused.status_code == 422


def test_missing_or_wrong_csrf_token_is_400_and_stores_nothing(app, client, reader):
    data = {"body": "No token.", "visibility": "private"}
    assert client.post(f"/articles/{PMID}/notes", data=data).status_code == 400
    data["csrf_token"] = "wrong"
    assert client.post(f"/articles/{PMID}/notes", data=data).status_code == 400
    assert (
        client.post(
            f"/articles/{PMID}/notes", data={"body": "x"}, headers={"X-CSRFToken": "nope"}
        ).status_code
        == 400
    )
    with app.app_context():
        assert models.Note.select().count() == 0


def test_note_on_unknown_paper_is_404(client, reader):
    assert post_note(client, "Hello", pmid=1).status_code == 404
    assert client.get("/articles/1/notes").status_code == 404


def test_signed_out_cannot_write(app, client):
    token = csrf_token(client)
    response = client.post(f"/articles/{PMID}/notes", data={"csrf_token": token, "body": "x"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")
    fragment = client.post(
        f"/articles/{PMID}/notes",
        data={"csrf_token": token, "body": "x"},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/login")
    with app.app_context():
        assert models.Note.select().count() == 0


def test_private_notes_are_only_for_their_author(app, client, auth):
    author = auth.create()
    other = auth.create(email="other@example.org", name="Dr Other")
    add_note(app, author, "Mine only.", visibility="private")
    add_note(app, author, "For everyone.", visibility="shared")
    add_note(app, other, "Other's secret.", visibility="private")
    signed_out = [
        n.text.strip() for n in soup(client.get(f"/articles/{PMID}")).select(".note-text")
    ]
    assert signed_out == ["For everyone."]
    auth.login()
    mine = soup(client.get(f"/articles/{PMID}"))
    assert [n.text.strip() for n in mine.select(".note-text")] == ["For everyone.", "Mine only."]
    assert mine.select_one("#notes-count").text.strip() == "2 notes"
    shared = mine.select("article.note")[0]
    assert shared.select_one(".note-author").text == "You"
    assert shared.select_one("time")["title"].endswith("UTC")
    assert "other@example.org" not in client.get(f"/articles/{PMID}").get_data(as_text=True)


def test_shared_notes_show_author_name_not_email(app, client, auth):
    other = auth.create(email="colleague@example.org", name="Dr Colleague")
    add_note(app, other, "Shared pearl.")
    page = soup(client.get(f"/articles/{PMID}"))
    assert page.select_one(".note-author").text == "Dr Colleague"
    assert page.select_one(".note-meta time").text == "just now"
    assert "colleague@example.org" not in str(page)


# Every route that changes a note: (method, path template, form data).
NOTE_ROUTES = [
    ("GET", "/notes/{id}/edit", None),
    ("POST", "/notes/{id}", {"body": "Hijacked", "visibility": "shared"}),
    ("GET", "/notes/{id}/delete", None),
    ("POST", "/notes/{id}/delete", {}),
    ("POST", "/notes/{id}/restore", {}),
]


@pytest.mark.parametrize(("method", "path", "data"), NOTE_ROUTES)
@pytest.mark.parametrize("visibility", ["shared", "private"])
def test_nobody_can_change_another_readers_note(app, client, auth, method, path, data, visibility):
    owner = auth.create(email="owner@example.org", name="Owner")
    note_id = add_note(app, owner, "The owner's words.", visibility=visibility)
    if path.endswith("/restore"):
        with app.app_context():
            models.Note.update(deleted_at=models.utcnow()).execute()
    auth.create()
    auth.login()
    url = path.format(id=note_id)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_token(client), **data})
    expected = {403} if visibility == "shared" and not path.endswith("/restore") else {404}
    assert response.status_code in expected
    with app.app_context():
        note = models.Note.get_by_id(note_id)
        assert note.source == "The owner's words." and note.visibility == visibility
        assert (note.deleted_at is None) == (not path.endswith("/restore"))


def test_edit_in_place_and_cancel(app, client, reader):
    note_id = add_note(app, reader, "First words.")
    form = soup(client.get(f"/notes/{note_id}/edit", headers=HX))
    assert (
        textarea_value(form.select_one(f"form#note-{note_id}.editing textarea")) == "First words."
    )
    token = csrf_token(client)
    updated = client.post(
        f"/notes/{note_id}",
        data={"csrf_token": token, "body": "Better **words**.", "visibility": "private"},
        headers=HX,
    )
    assert updated.status_code == 200
    note = soup(updated).select_one(f"article#note-{note_id}")
    assert note.select_one(".note-text strong").text == "words"
    assert note.select_one(".edited") is not None
    cancelled = soup(client.get(f"/notes/{note_id}", headers=HX))
    assert cancelled.select_one(f"article#note-{note_id} strong").text == "words"


def test_edit_refused_keeps_the_text(app, client, reader):
    note_id = add_note(app, reader, "Keep me.")
    token = csrf_token(client)
    response = client.post(
        f"/notes/{note_id}", data={"csrf_token": token, "body": "y" * 400}, headers=HX
    )
    assert response.status_code == 422
    form = soup(response)
    assert textarea_value(form.select_one("textarea")) == "y" * 400
    assert "the limit is 300" in form.select_one(".field-error").text
    with app.app_context():
        assert models.Note.get_by_id(note_id).source == "Keep me."


def test_edit_page_without_javascript(app, client, reader):
    note_id = add_note(app, reader, "Old.")
    page = soup(client.get(f"/notes/{note_id}/edit"))
    assert page.find("h1").text == "Edit your note"
    response = client.post(
        f"/notes/{note_id}", data={"csrf_token": csrf_token(client), "body": "New."}
    )
    assert response.status_code == 303
    assert f"#note-{note_id}" in response.headers["Location"]


def test_delete_undo_with_htmx(app, client, reader):
    note_id = add_note(app, reader, "Delete me.")
    token = csrf_token(client)
    deleted = soup(client.post(f"/notes/{note_id}/delete", data={"csrf_token": token}, headers=HX))
    assert "Note deleted." in deleted.select_one(f"#note-{note_id}").text
    assert deleted.select_one("#notes-count[hx-swap-oob]").text.strip() == "0 notes"
    assert soup(client.get(f"/articles/{PMID}")).select("article.note") == []
    restored = soup(
        client.post(f"/notes/{note_id}/restore", data={"csrf_token": token}, headers=HX)
    )
    assert restored.select_one(f"article#note-{note_id} .note-text").text.strip() == "Delete me."
    assert restored.select_one("#notes-count[hx-swap-oob]").text.strip() == "1 note"


def test_delete_without_javascript_asks_first(app, client, reader):
    note_id = add_note(app, reader, "Delete me.")
    confirm = soup(client.get(f"/notes/{note_id}/delete"))
    assert confirm.find("h1").text == "Delete this note?"
    with app.app_context():
        assert models.Note.get_by_id(note_id).deleted_at is None
    response = client.post(f"/notes/{note_id}/delete", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert client.get(f"/notes/{note_id}").status_code == 404


def test_help_is_a_server_fragment_and_works_without_javascript(client, htmx):
    closed = soup(client.get(f"/articles/{PMID}"))
    assert closed.select_one("#notes-help-text") is None
    toggle = closed.select_one("#notes-help-toggle")
    assert toggle["href"] == f"/articles/{PMID}?help=1#notes"
    opened = soup(client.get(toggle["href"]))
    items = [li.text for li in opened.select("#notes-help-text li")]
    assert items[0].startswith("Simple formatting can be added to notes, such as *italics*")
    assert "[my link to pubmed](http://pubmed.com)" in items[3]
    assert opened.select_one("#notes-help-toggle").text == "hide…"
    fragment = soup(htmx.get(f"/articles/{PMID}/notes?help=1"))
    assert fragment.find("html") is None and fragment.select_one("#notes-help-text") is not None


def test_preview_fragment_and_errors(client, reader):
    token = csrf_token(client)
    shown = client.post(
        "/notes/preview", data={"csrf_token": token, "body": "Key *point*"}, headers=HX
    )
    assert shown.status_code == 200 and soup(shown).select_one(".note-text em").text == "point"
    refused = client.post(
        "/notes/preview", data={"csrf_token": token, "body": "z" * 301}, headers=HX
    )
    assert refused.status_code == 422 and "limit is 300" in refused.get_data(as_text=True)
    page = client.post(
        "/notes/preview", data={"csrf_token": token, "body": "Key *point*", "pmid": PMID}
    )
    assert soup(page).find("h1").text == "Preview of your note"
    assert textarea_value(soup(page).select_one("#note-body")) == "Key *point*"


def test_notes_are_paged_newest_first(app, client, htmx, reader):
    for number in range(12):
        add_note(app, reader, f"Note {number}")
    first = soup(client.get(f"/articles/{PMID}"))
    texts = [n.text.strip() for n in first.select(".note-text")]
    assert texts[0] == "Note 11" and len(texts) == 10
    older = first.select_one("#notes-list a[rel=next]")
    assert older["href"] == f"/articles/{PMID}?page=2#notes"
    second = soup(client.get(older["href"]))
    assert [n.text.strip() for n in second.select(".note-text")] == ["Note 1", "Note 0"]
    fragment = soup(htmx.get(f"/articles/{PMID}/notes?page=2"))
    assert fragment.select_one("#notes-list") is not None


def test_rerender_notes_rebuilds_html_from_source(app, auth, runner):
    user = auth.create()
    note_id = add_note(app, user, "Rebuild *me*.")
    with app.app_context():
        models.Note.update(html="stale").execute()
    result = runner.invoke(args=["rerender-notes"])
    assert "1 changed" in result.output
    with app.app_context():
        assert "<em>me</em>" in models.Note.get_by_id(note_id).html


def test_withdrawn_record_keeps_the_article_that_has_notes(app, auth):
    import importer  # noqa: PLC0415
    import pubmed  # noqa: PLC0415

    user = auth.create()
    add_note(app, user, "Keep the paper.")
    with app.app_context():
        summary = importer.import_records([pubmed.Deletion([PMID], 1)])
        assert summary.deleted == 0
        assert models.Article.get_or_none(models.Article.pmid == PMID) is not None


def note_form(client, pmid=PMID):
    """The fields of the note form as the paper's page renders it (its one-time key too)."""
    form = soup(client.get(f"/articles/{pmid}")).select_one("#note-form")
    hidden = form.select("input[type=hidden]")
    names = [field["name"] for field in hidden]
    assert len(names) == len(set(names)), f"a field twice in the note form: {names}"
    return {field["name"]: field.get("value", "") for field in hidden}


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
def test_a_retried_post_of_one_form_saves_one_note(app, client, reader, htmx):
    # The connection dropped after the commit: the browser (or the reader) posts the same
    # form again, and gets the answer the first post would have given.
    fields = note_form(client)
    assert len(fields["note_key"]) >= 16
    data = {**fields, "body": "Said *once*.", "visibility": "private"}
    headers = HX if htmx else {}
    first = client.post(f"/articles/{PMID}/notes", data=data, headers=headers)
    again = client.post(f"/articles/{PMID}/notes", data=data, headers=headers)
    with app.app_context():
        [note] = models.Note.select()
    assert first.status_code == again.status_code == (200 if htmx else 303)
    if htmx:
        for response in (first, again):
            page = soup(response)
            assert page.select_one("#note-saved").text == "Note saved."
            assert [n["id"] for n in page.select("article.note")] == [f"note-{note.id}"]
            # A new form, with a new key: the next note is a new note.
            assert page.select_one("input[name=note_key]")["value"] != fields["note_key"]
    else:
        assert first.headers["Location"] == again.headers["Location"]
        assert first.headers["Location"].endswith(f"#note-{note.id}")


def test_two_forms_give_two_notes(app, client, reader):
    for fields in (note_form(client), note_form(client)):
        data = {**fields, "body": "Same words.", "visibility": "private"}
        assert client.post(f"/articles/{PMID}/notes", data=data).status_code == 303
    with app.app_context():
        assert models.Note.select().count() == 2


def test_a_refused_note_keeps_its_form_key(client, reader):
    fields = note_form(client)
    refused = client.post(f"/articles/{PMID}/notes", data={**fields, "body": "x" * 301}, headers=HX)
    assert refused.status_code == 422
    assert soup(refused).select_one("input[name=note_key]")["value"] == fields["note_key"]


def test_a_form_key_is_the_readers_own(app, client, auth):
    auth.create()
    auth.create(email="other@example.org", name="Dr Other")
    auth.login()
    fields = note_form(client)
    data = {**fields, "body": "Mine.", "visibility": "shared"}
    assert client.post(f"/articles/{PMID}/notes", data=data).status_code == 303
    auth.logout()
    auth.login(email="other@example.org")
    data = {**data, "csrf_token": csrf_token(client, f"/articles/{PMID}"), "body": "Theirs."}
    assert client.post(f"/articles/{PMID}/notes", data=data).status_code == 303
    with app.app_context():
        assert sorted(n.source for n in models.Note.select()) == ["Mine.", "Theirs."]
