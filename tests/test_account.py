"""The reader's account over HTTP with mail through a real SMTP server (aiosmtpd): display
name, setting and changing a password, a change of address confirmed from the new inbox,
"forgot password" that never tells which addresses have accounts, and deleting the account,
after which no row in any table names the reader (found table by table from the schema)."""

import re
import shutil
from email import message_from_bytes, policy

import pytest

import models
from tests.conftest import AuthActions, csrf_token, make_app, soup

PMID = 24997269
OTHER = "colleague@example.org"


@pytest.fixture
def smtp(app, smtp_server):
    """The app sends its mail to the real SMTP server on localhost (tests/mailbox.py)."""
    app.config.update(smtp_server.config)
    return smtp_server


def links(inbox, path):
    """The paths of every `path` link mailed so far, in order (as a mail program reads them:
    a long link travels quoted-printable)."""
    pattern = re.compile(rf"http://localhost({path}/[\w.-]+)")
    bodies = [message_from_bytes(m.content, policy=policy.default).get_content()
              for m in inbox.messages]  # fmt: skip
    return [m.group(1) for body in bodies if (m := pattern.search(body))]


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/account"), **data})


@pytest.fixture
def reader(app, auth):
    user = auth.create()
    auth.login()
    return user


def by_id(app, user_id):
    with app.app_context():
        return models.User.get_or_none(models.User.id == user_id)


def sign_in_by_link(app, client, email):
    """Sign in through an emailed sign-in link, as a trial reader does (its GET may be a
    page with a button: then the button is pressed)."""
    with app.app_context():
        token = models.LoginToken.issue(email)
    answer = client.get(f"/auth/{token}")
    if answer.status_code == 200:
        form = soup(answer).find("form", action=f"/auth/{token}")
        client.post(
            f"/auth/{token}", data={"csrf_token": form.find(attrs={"name": "csrf_token"})["value"]}
        )
    assert "Signed in as" in soup(client.get("/")).select_one(".account").text


def test_the_account_page_needs_a_signed_in_reader(client):
    answer = client.get("/account")
    assert answer.status_code in (302, 303)
    assert answer.headers["Location"].startswith("/login?next=")


def test_the_header_links_the_account_and_the_page_reads_in_three_queries(client, reader, queries):
    assert soup(client.get("/")).find(id="nav-account")["href"] == "/account"
    queries.clear()
    page = soup(client.get("/account"))
    selects = [q for q in queries if q.lstrip("('").upper().startswith("SELECT")]
    assert len(selects) <= 3, selects
    assert page.find("h1").text == "Your account"
    assert page.find(id="password-heading").text == "Change your password"
    assert page.find(id="account-current-password") is not None
    # Sign out everywhere (tests/test_security.py ends the sessions).
    assert page.find(id="sign-out-everywhere")["action"] == "/account/sign-out-everywhere"
    for export in ("account-export-notes-json", "account-export-starred-ris"):
        assert page.find(id=export)["href"] in ("/my/notes.json", "/starred.ris")


def test_rename(app, client, reader):
    answer = post(client, "/account/name", display_name="  Dr Jane Roe ")
    assert answer.status_code == 303
    assert by_id(app, reader.id).display_name == "Dr Jane Roe"
    refused = post(client, "/account/name", display_name=" ")
    assert refused.status_code == 422
    assert "Give a name" in soup(refused).find(id="account-name-error").text
    assert by_id(app, reader.id).display_name == "Dr Jane Roe"


def test_changing_the_password_needs_the_current_one(app, client, reader):
    wrong = post(
        client,
        "/account/password",
        current_password="not it at all",
        new_password="a new long password",
    )
    assert wrong.status_code == 422
    assert (
        soup(wrong).find(id="account-current-password-error").text
        == "That is not your current password."
    )
    short = post(
        client, "/account/password", current_password=AuthActions.PASSWORD, new_password="short"
    )
    assert short.status_code == 422 and soup(short).find(id="account-new-password-error")
    right = post(
        client,
        "/account/password",
        current_password=AuthActions.PASSWORD,
        new_password="a new long password",
    )
    assert right.status_code == 303
    auth = AuthActions(app, client)
    auth.logout()
    assert auth.login(password=AuthActions.PASSWORD).status_code == 422
    assert auth.login(password="a new long password").status_code == 303


def test_a_reader_who_joined_by_link_sets_a_password(app, client):
    sign_in_by_link(app, client, "trial@example.org")
    page = soup(client.get("/account"))
    assert page.find(id="password-heading").text == "Set a password"
    assert page.find(id="account-current-password") is None
    assert post(client, "/account/password", new_password="my first password").status_code == 303
    auth = AuthActions(app, client)
    auth.logout()
    assert auth.login(email="trial@example.org", password="my first password").status_code == 303


def test_a_new_address_is_confirmed_from_its_inbox(app, client, reader, smtp):
    answer = post(client, "/account/email", email="New.Address@Example.org")
    assert answer.status_code == 303
    assert "We sent a link to new.address@example.org" in soup(client.get("/account")).text
    assert [m.rcpt_tos for m in smtp.messages] == [["new.address@example.org"]]
    assert by_id(app, reader.id).email == "reader@example.org"  # not before the link
    (link,) = links(smtp, "/account/email")
    page = client.get(link)  # a page with a button: a mail scanner opening it changes nothing
    assert page.status_code == 200 and by_id(app, reader.id).email == "reader@example.org"
    form = soup(page).select_one("#confirm-email-page form")
    assert (
        client.post(
            link, data={"csrf_token": form.find(attrs={"name": "csrf_token"})["value"]}
        ).status_code
        == 303
    )
    assert by_id(app, reader.id).email == "new.address@example.org"
    token = csrf_token(client, "/account")
    assert client.post(link, data={"csrf_token": token}).status_code == 410  # once


def test_an_address_already_taken_is_answered_the_same_and_its_owner_told(
    app, client, reader, smtp
):
    with app.app_context():
        from accounts import create_account  # noqa: PLC0415

        create_account(OTHER, "Colleague", "another long password")
    post(client, "/account/email", email=OTHER)
    taken = soup(client.get("/account")).select_one(".flash").text
    post(client, "/account/email", email="free@example.org")
    free = soup(client.get("/account")).select_one(".flash").text
    assert taken.replace(OTHER, "X") == free.replace("free@example.org", "X")
    assert smtp.messages[0].rcpt_tos == [OTHER]
    assert "/account/email/" not in smtp.messages[0].content.decode()  # no link to take it
    assert by_id(app, reader.id).email == "reader@example.org"


def test_forgot_password_never_tells_whether_an_address_has_an_account(app, client, reader, smtp):
    AuthActions(app, client).logout()
    login = soup(client.get("/login"))
    assert login.find(id="forgot-password-link")["href"] == "/password/forgot"
    answers = {}
    for email in ("reader@example.org", "nobody@example.org"):
        token = csrf_token(client, "/password/forgot")
        answer = client.post("/password/forgot", data={"csrf_token": token, "email": email})
        assert answer.status_code == 200
        answers[email] = soup(answer).find(id="reset-sent").text.replace(email, "X")
    assert answers["reader@example.org"] == answers["nobody@example.org"]
    # One message each (tests/test_security.py: in the same time); only the account's has a link.
    assert [m.rcpt_tos for m in smtp.messages] == [["reader@example.org"], ["nobody@example.org"]]

    (link,) = links(smtp, "/password/reset")
    page = soup(client.get(link))
    token = page.find(attrs={"name": "csrf_token"})["value"]
    short = client.post(link, data={"csrf_token": token, "new_password": "short"})
    assert short.status_code == 422 and soup(short).find(id="reset-error")
    done = client.post(link, data={"csrf_token": token, "new_password": "a brand new password"})
    assert done.status_code == 303 and done.headers["Location"] == "/account"
    assert "Signed in as" in soup(client.get("/")).select_one(".account").text
    assert client.get(link).status_code == 410  # the password changed: the link is spent
    auth = AuthActions(app, client)
    auth.logout()
    assert auth.login(password="a brand new password").status_code == 303


def test_forgot_password_is_rate_limited_per_address(tmp_path, demo_database, smtp_server):
    app = make_app(tmp_path, _copy(tmp_path, demo_database), RATELIMIT_ENABLED=True,
                              **smtp_server.config)  # fmt: skip
    client = app.test_client()
    for _ in range(3):
        token = csrf_token(client, "/password/forgot")
        answer = client.post(
            "/password/forgot", data={"csrf_token": token, "email": "a@example.org"}
        )
        assert answer.status_code == 200
    token = csrf_token(client, "/password/forgot")
    limited = client.post("/password/forgot", data={"csrf_token": token, "email": "a@example.org"})
    assert limited.status_code == 303 and limited.headers["Location"] == "/password/forgot"
    assert "Too many requests" in soup(client.get("/password/forgot")).select_one(".flash").text
    models.db.close()


def _copy(tmp_path, demo_database):
    database = tmp_path / "limited.db"
    shutil.copy(demo_database, database)
    return database


# --- deleting the account ------------------------------------------------------------------


def reader_rows(app, user):
    """Every row in the database that names `user`, table by table from the schema itself
    (not from Pearl's models, so a new table cannot escape): a foreign key to them, or to a
    row that does (transitively), or a text cell holding their address. A row is known by its
    primary key (by all its cells when it has none), which both engines' catalogues tell."""
    with app.app_context():
        database = models.db.obj
        tables = [t for t in database.get_tables() if not _papers_text(t)]
        contents = {t: _rows(database, t) for t in tables}
        keys = {t: database.get_foreign_keys(t) for t in tables}
        identity = {t: database.get_primary_keys(t) for t in tables}
        named = {"user": [row for row in contents["user"] if row["id"] == user.id]}
        changed = True
        while changed:  # follow foreign keys until no new row is reached
            changed = False
            for table in tables:
                for key in keys[table]:
                    targets = {row[key.dest_column] for row in named.get(key.dest_table, [])}
                    reached = named.setdefault(table, [])
                    for row in contents[table]:
                        if row[key.column] in targets and row not in reached:
                            reached.append(row)
                            changed = True
        found = [
            (table, tuple(row.values()))
            for table in tables
            for row in contents[table]
            if any(isinstance(cell, str) and user.email in cell.lower() for cell in row.values())
        ]
        now = {t: {_key(r, identity[t]) for r in _rows(database, t)} for t in named}
        existing = {
            (table, _key(row, identity[table]))
            for table, rows in named.items()
            for row in rows
            if _key(row, identity[table]) in now[table]
        }
        models.db.close()
    return existing, found


def _papers_text(table):
    """The papers' own text and its index (SQLite's FTS5 tables): nothing a reader wrote."""
    return table.startswith("article_search") or table == "article_text"


def _rows(database, table):
    """Every row of `table` as a dict of its columns."""
    cursor = database.execute_sql(f'SELECT * FROM "{table}"')  # noqa: S608 - schema names
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _key(row, primary_key):
    """What tells `row` apart in its table: its primary key, else all its cells."""
    return tuple(row[c] for c in primary_key) if primary_key else tuple(row.values())


@pytest.fixture
def busy_reader(app, client, reader):
    """The reader has a note, a star, a collection with a paper, interests, an issue, a
    verdict, a correction alert and a sign-in link; a colleague has a note and a star."""
    with app.app_context():
        from accounts import create_account  # noqa: PLC0415

        user = models.User.get_by_id(reader.id)
        colleague = create_account(OTHER, "Colleague", "another long password")
        for owner in (user, colleague):
            models.Note.create(article=PMID, author=owner, source="Pearl", html="<p>Pearl</p>",
                               visibility="shared")  # fmt: skip
            models.Star.create(user=owner, article=PMID)
        collection = models.Collection.create(user=user, name="Club", key="club", position=1)
        models.CollectionItem.create(collection=collection, article=PMID, position=1)
        for value in ("Lung Neoplasms", "Humans"):
            models.Interest.create(user=user, kind="mesh", value=value, key=value.lower())
        models.Feedback.create(user=user, article=PMID, verdict=1)
        models.CorrectionAlert.create(user=user, article=PMID, nature="retraction", connection=1)
        models.LoginToken.issue(user.email)
        user.start_trial()
        user.save()
        models.db.close()
    assert client.get("/journal").status_code == 200  # makes the first issue
    with app.app_context():
        assert models.Issue.select().where(models.Issue.user == reader.id).count() == 1
        assert models.IssueEntry.select().count() > 0
        models.db.close()
    return reader


def test_delete_shows_what_will_go_and_offers_the_exports_first(client, busy_reader, queries):
    queries.clear()
    page = soup(client.get("/account/delete"))
    selects = [q for q in queries if q.lstrip("('").upper().startswith("SELECT")]
    assert len(selects) <= 3, selects
    counts = {li.select_one(".count-name").text: li.strong.text
              for li in page.select("#delete-counts li") if li.strong}  # fmt: skip
    assert counts["Your notes"] == "1"
    assert counts["Your stars"] == "1"
    assert counts["Your collections"] == "1"
    assert counts["What your journal follows"] == "2"
    assert counts["Your journal's issues"] == "1"
    hrefs = [a["href"] for a in page.select("#account-exports a")]
    assert "/my/notes.json" in hrefs and "/starred.ris" in hrefs
    assert page.find("input", attrs={"name": "confirm_email"}) is not None


def test_deleting_leaves_no_row_that_names_the_reader(app, client, busy_reader):
    with app.app_context():
        user = models.User.get_by_id(busy_reader.id)
    before, text_before = reader_rows(app, user)
    assert len(before) > 10 and text_before  # the check sees the reader's rows
    tables = {table for table, _ in before}
    for table in ("user", "note", "star", "collection", "collection_item", "interest", "issue",
                  "issue_entry", "feedback", "correction_alert"):  # fmt: skip
        assert table in tables, table

    wrong = post(client, "/account/delete", confirm_email="someone@else.org")
    assert wrong.status_code == 422
    assert soup(wrong).find(id="confirm-email-error")
    assert reader_rows(app, user)[0] == before  # nothing went

    answer = post(client, "/account/delete", confirm_email="Reader@Example.org")
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    assert reader_rows(app, user) == (set(), [])
    home = soup(client.get("/"))
    assert "Your account is deleted" in home.select_one(".flash").text
    assert "Signed in as" not in home.select_one(".account").text
    with app.app_context():  # the colleague's note and star stay
        colleague = models.User.by_email(OTHER)
        assert models.Note.select().where(models.Note.author == colleague).count() == 1
        assert models.Star.select().where(models.Star.user == colleague).count() == 1
        models.db.close()
    assert AuthActions(app, client).login().status_code == 422
