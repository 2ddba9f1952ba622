"""My notes through the test client: the list (newest first, paged, searchable, only the
reader's own), the Markdown and JSON exports, and importing that JSON into the same Pearl or
another without duplicates, with every refusal named."""

import datetime
import io
import json
import shutil

import pytest

import markup
import models
from models import Note
from tests.conftest import csrf_token, make_app, soup

PMID, OTHER_PMID = 24997269, 25466483
HX = {"HX-Request": "true"}


def add_note(app, author, source, pmid=PMID, visibility="private", created=None, deleted=False):
    created = created or datetime.datetime(2026, 11, 24, 8, 49, 3, 123456)
    with app.app_context():
        note = Note.create(article=pmid, author=author, source=source, html="",
                           visibility=visibility, created_at=created,
                           updated_at=created + datetime.timedelta(minutes=5),
                           deleted_at=created if deleted else None)  # fmt: skip
        note.html = markup.render(source, prefix=f"n{note.id}")
        note.save()
        return note.id


def upload(client, data, filename="pearl-notes.json", htmx=False):
    headers = {**HX, "X-CSRFToken": csrf_token(client)} if htmx else {}
    form = {"file": (io.BytesIO(data), filename)}
    if not htmx:
        form["csrf_token"] = csrf_token(client)
    return client.post("/my/notes/import", data=form, headers=headers,
                       content_type="multipart/form-data")  # fmt: skip


def document(*notes):
    return json.dumps({"format": "pearl-notes", "version": 1, "notes": list(notes)}).encode()


def stored(app, user):
    """The reader's notes as the export's identity sees them, oldest first."""
    with app.app_context():
        query = Note.select().where(Note.author == user.id, Note.deleted_at.is_null())
        return [(n.article_id, n.source, n.visibility, n.created_at, n.updated_at, n.html)
                for n in query.order_by(Note.created_at, Note.id)]  # fmt: skip


# --- the list ---


def test_every_note_of_the_reader_newest_first_and_nobody_elses(app, client, auth, reader):
    other = auth.create(email="colleague@example.org", name="Dr Colleague")
    day = datetime.datetime(2026, 11, 1)
    old = add_note(app, reader, "An *old* pearl.", created=day)
    new = add_note(app, reader, "A new pearl.", pmid=OTHER_PMID, visibility="shared",
                   created=day + datetime.timedelta(days=2))  # fmt: skip
    add_note(app, reader, "Deleted.", created=day, deleted=True)
    add_note(app, other, "Not mine.", visibility="shared")
    page = soup(client.get("/my/notes"))
    items = page.select(".my-note")
    assert [li["id"] for li in items] == [f"my-note-{new}", f"my-note-{old}"]
    assert items[1].select_one(".note-text em").text == "old"
    assert items[0].select_one(".my-note-paper a")["href"] == f"/articles/{OTHER_PMID}#note-{new}"
    assert page.select_one("#my-notes-count").text.strip() == "2 notes"


def test_search_my_notes(app, client, reader):
    add_note(app, reader, "Check the K<sup>+</sup> first.")
    add_note(app, reader, "Nothing about potassium.")
    add_note(app, reader, "100% of them.")
    page = soup(client.get("/my/notes?q=k<sup>"))
    assert [p.text.strip() for p in page.select(".my-note .note-text")] == ["Check the K+ first."]
    fragment = soup(client.get("/my/notes?q=POTASSIUM", headers=HX))
    assert fragment.find("html") is None
    assert len(fragment.select(".my-note")) == 1
    assert len(soup(client.get("/my/notes?q=%25")).select(".my-note")) == 1  # LIKE is escaped
    page = soup(client.get("/my/notes?q=zebra"))
    assert "None of your notes contains “zebra”." in page.select_one("#my-notes-empty").text


def test_my_notes_are_paged(app, client, reader):
    for number in range(25):
        created = datetime.datetime(2026, 1, 1) + datetime.timedelta(hours=number)
        add_note(app, reader, f"Note {number}", created=created)
    first = soup(client.get("/my/notes"))
    assert len(first.select(".my-note")) == 20
    assert first.select_one(".pager a[rel=next]")["href"] == "/my/notes?page=2"
    second = soup(client.get("/my/notes?page=2"))
    assert [p.text.strip() for p in second.select(".note-text")][-1] == "Note 0"
    assert client.get("/my/notes?page=3").status_code == 404


@pytest.mark.parametrize("path", ["/my/notes", "/my/notes?q=pearl", "/my/notes.json",
                                  "/my/notes/import"])  # fmt: skip
def test_queries_per_page(app, client, reader, queries, path):
    for number in range(30):
        add_note(app, reader, f"Pearl {number}", pmid=PMID if number % 2 else OTHER_PMID)
    queries.clear()
    assert client.get(path).status_code == 200
    assert len(queries) <= 3, queries


# --- exports ---


def test_notes_as_markdown_grouped_by_paper(app, client, reader):
    add_note(app, reader, "First line\n\n- a list", created=datetime.datetime(2026, 11, 2))
    add_note(app, reader, "**Shared** one", visibility="shared",
             created=datetime.datetime(2026, 11, 3))  # fmt: skip
    add_note(app, reader, "On the other paper", pmid=OTHER_PMID,
             created=datetime.datetime(2026, 11, 1))  # fmt: skip
    response = client.get("/my/notes.md")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="pearl-notes.md"'
    text = response.get_data(as_text=True)
    assert text.startswith("# Notes by Dr Reader\n\n3 notes on 2 papers")
    with app.app_context():
        article = models.Article.get_by_id(PMID)
        import citations  # noqa: PLC0415

        citation = citations.format_citation(article)
    sections = text.split("\n## ")[1:]
    assert len(sections) == 2
    assert sections[0].startswith(f"[{article.title_text}](http://localhost/articles/{PMID})")
    assert citation in sections[0] and f"PMID: {PMID}." in sections[0]
    assert "> **Shared** one" in sections[0]
    assert "*Shared with readers of this Pearl* · 3 Nov 2026, 00:00 UTC" in sections[0]
    assert "> First line\n>\n> - a list" in sections[0]
    assert sections[0].index("Shared** one") < sections[0].index("First line")  # newest first
    assert f"http://localhost/articles/{OTHER_PMID}" in sections[1]
    assert "*Only me*" in sections[1]


def test_notes_as_json_in_the_documented_shape(app, client, reader):
    note_id = add_note(app, reader, "A *pearl*.", visibility="shared")
    response = client.get("/my/notes.json")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="pearl-notes.json"'
    data = json.loads(response.get_data(as_text=True))
    assert (data["format"], data["version"]) == ("pearl-notes", 1)
    assert data["exported_from"] == "http://localhost/"
    (note,) = data["notes"]
    assert {k: note[k] for k in ("id", "pmid", "source", "visibility", "created_at",
                                 "updated_at")} == {
        "id": note_id, "pmid": PMID, "source": "A *pearl*.", "visibility": "shared",
        "created_at": "2026-11-24T08:49:03.123456Z", "updated_at": "2026-11-24T08:54:03.123456Z",
    }  # fmt: skip
    assert note["title"]


# --- import ---


def test_round_trip_into_another_pearl_loses_nothing(app, client, auth, reader, tmp_path,
                                                      demo_database):  # fmt: skip
    add_note(app, reader, "Ddx:\n1. MS\n2. GBS[^1]\n\n[^1]: Guillain–Barré 😀", visibility="shared")
    add_note(app, reader, "_underlined_ and H<sub>2</sub>O", pmid=OTHER_PMID,
             created=datetime.datetime(2026, 11, 25, 10, 0))  # fmt: skip
    add_note(app, reader, "Same second, other text",
             created=datetime.datetime(2026, 11, 24, 8, 49, 3, 123456))  # fmt: skip
    exported = client.get("/my/notes.json").get_data()
    mine = stored(app, reader)
    models.db.close()

    shutil.copy(demo_database, tmp_path / "other.db")
    other = make_app(tmp_path / "other", tmp_path / "other.db")
    other_client = other.test_client()
    from tests.conftest import AuthActions  # noqa: PLC0415

    other_auth = AuthActions(other, other_client)
    someone = other_auth.create(email="me@elsewhere.example", name="Me Elsewhere")
    other_auth.login(email="me@elsewhere.example")
    response = upload(other_client, exported)
    assert response.status_code == 200
    assert "3 notes added, 0 already here, 0 on papers not in this Pearl, 0 refused" in " ".join(
        soup(response).select_one("#import-summary").text.split()
    )
    theirs = stored(other, someone)
    # Identical, HTML included (footnote ids follow each note's new id).
    assert [row[:5] for row in theirs] == [row[:5] for row in mine]
    for (*_, html_there), (*_, html_here) in zip(theirs, mine, strict=True):
        assert _without_ids(html_there) == _without_ids(html_here)
    # Its own export says the same.
    again = json.loads(other_client.get("/my/notes.json").get_data())
    strip = lambda notes: [{k: v for k, v in n.items() if k != "id"} for n in notes]  # noqa: E731
    assert strip(again["notes"]) == strip(json.loads(exported)["notes"])

    # A second import adds nothing.
    response = upload(other_client, exported, htmx=True)
    assert response.status_code == 200 and soup(response).find("html") is None
    assert "0 notes added, 3 already here" in " ".join(
        soup(response).select_one("#import-summary").text.split()
    )
    assert len(stored(other, someone)) == 3
    models.db.close()


def _without_ids(html):
    import re  # noqa: PLC0415

    return re.sub(r"n\d+", "n", html)


def test_import_into_the_same_pearl_skips_what_is_there(app, client, reader):
    add_note(app, reader, "Kept once.")
    exported = client.get("/my/notes.json").get_data()
    response = upload(client, exported)
    assert "0 notes added, 1 already here" in " ".join(soup(response).text.split())
    assert len(stored(app, reader)) == 1
    # A duplicate inside the file itself is added once.
    data = json.loads(exported)
    data["notes"] = data["notes"] * 2
    data["notes"][0]["source"] = "Edited since."
    response = upload(client, json.dumps(data).encode())
    assert "1 note added, 1 already here" in " ".join(soup(response).text.split())
    assert [row[1] for row in stored(app, reader)] == ["Kept once.", "Edited since."]


def test_notes_on_papers_not_here_and_refused_notes_are_reported(app, client, reader):
    good = {"pmid": PMID, "source": "Fine.", "visibility": "private",
            "created_at": "2026-11-24T08:49:03Z"}  # fmt: skip
    missing = {**good, "pmid": 1, "title": "A paper elsewhere"}
    too_long = {**good, "source": "x" * 301}
    empty = {**good, "source": "   "}
    response = upload(client, document(good, missing, too_long, empty))
    assert response.status_code == 200
    page = soup(response)
    assert "1 note added, 0 already here, 1 on papers not in this Pearl, 2 refused" in " ".join(
        page.select_one("#import-summary").text.split()
    )
    assert "Note 2: PMID 1 (A paper elsewhere)" in page.select_one("#import-missing").text
    assert "fetch 1" in page.text
    refused = [li.text for li in page.select("#import-refused li")]
    assert refused == [
        "Note 3 (PMID 24997269): This note is 301 characters; the limit is 300. Shorten it by 1.",
        "Note 4 (PMID 24997269): Write something before saving.",
    ]
    assert [row[1] for row in stored(app, reader)] == ["Fine."]
    with app.app_context():
        (note,) = Note.select()
        assert note.created_at == datetime.datetime(2026, 11, 24, 8, 49, 3)
        assert note.updated_at == note.created_at and note.html == "<p>Fine.</p>"


GOOD = {"pmid": PMID, "source": "Fine.", "visibility": "private",
        "created_at": "2026-11-24T08:49:03Z"}  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "The file is not valid JSON (line 1, column 2"),
        (b"\xff\xfe", "The file is not UTF-8 text"),
        (b"[]", 'This is not a Pearl notes export: it has no "format": "pearl-notes".'),
        (json.dumps({"format": "pearl-notes", "version": 2, "notes": []}).encode(),
         "This export is version 2; this Pearl reads version 1."),
        (json.dumps({"format": "pearl-notes", "version": 1}).encode(),
         'The file has no list of notes ("notes": […]).'),
        (document(GOOD, "a note"), "Note 2 is not an object"),
        (document({**GOOD, "pmid": "abc"}),
         "Note 1: “pmid” must be a PMID (a whole number), not 'abc'."),
        (document({**GOOD, "source": None}),
         "Note 1 (PMID 24997269): “source” must be the note's text."),
        (document({**GOOD, "visibility": "public"}),
         "“visibility” must be “private” or “shared”, not 'public'."),
        (document({**GOOD, "created_at": "yesterday"}),
         "Note 1: “created_at” is “yesterday”, not a date"),
        (document({k: v for k, v in GOOD.items() if k != "created_at"}),
         "Note 1: “created_at” must be a date"),
    ],
)  # fmt: skip
def test_a_malformed_file_imports_nothing_and_says_what_is_wrong(app, client, reader, data,
                                                                 message):  # fmt: skip
    for htmx in (False, True):
        response = upload(client, data, filename="mine.json", htmx=htmx)
        assert response.status_code == 422
        error = soup(response).select_one("#import-error").text
        assert error.startswith("mine.json: ") and message in error, error
    assert stored(app, reader) == []


def test_import_without_a_file_is_a_422(client, reader):
    response = client.post("/my/notes/import", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 422
    assert (
        soup(response).select_one("#import-error").text
        == "Choose the .json file of notes to import."
    )


def test_the_whole_import_is_one_transaction(app, client, reader, monkeypatch):
    real = markup.render
    calls = []

    def failing(source, prefix):
        calls.append(source)
        if len(calls) == 2:
            raise RuntimeError("the renderer broke")
        return real(source, prefix)

    monkeypatch.setattr(markup, "render", failing)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    response = upload(client, document(GOOD, {**GOOD, "source": "Second."}))
    assert response.status_code == 500
    monkeypatch.setattr(markup, "render", real)
    assert stored(app, reader) == []
