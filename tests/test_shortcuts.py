"""The shortcuts switch over HTTP, as it works with JavaScript off: the list page, the plain
form kept on the account, and migration 17 adding the column to an older database."""

import models
from tests.conftest import csrf_token, soup


def test_the_list_names_every_shortcut_and_has_the_switch(client):
    page = soup(client.get("/shortcuts"))
    assert page.find("h1").text == "Keyboard shortcuts"
    keys = [kbd.text for kbd in page.select(".shortcut-list kbd")]
    for key in ("/", "j", "k", "n", "?", "Escape", "Enter"):
        assert key in keys
    form = page.find("form", attrs={"data-shortcuts-form": True})
    assert form["method"] == "post" and form["action"] == "/shortcuts"
    assert form.find("button")["value"] == "0"
    # The footer of every page links here.
    assert soup(client.get("/")).find(id="footer-shortcuts")["href"] == "/shortcuts"


def test_a_signed_in_reader_turns_them_off_and_on_without_javascript(app, client, auth):
    reader = auth.create()
    auth.login()
    assert soup(client.get("/")).body["data-shortcuts"] == "on"
    token = csrf_token(client, "/shortcuts")
    answer = client.post(
        "/shortcuts", data={"csrf_token": token, "enabled": "0", "next": "/search?q=x"}
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/search?q=x"
    with app.app_context():
        assert models.User.get_by_id(reader.id).shortcuts is False
    page = soup(client.get("/shortcuts"))
    assert page.body["data-shortcuts"] == "off"
    assert page.select_one(".flash").text == "Single-key shortcuts are off."
    assert page.select_one("[data-shortcuts-state]").text == "Single-key shortcuts are off."
    assert page.select_one("[data-shortcuts-switch]")["value"] == "1"
    client.post("/shortcuts", data={"csrf_token": token, "enabled": "1", "next": "//evil.example"})
    with app.app_context():
        assert models.User.get_by_id(reader.id).shortcuts is True


def test_signed_out_the_form_says_the_browser_keeps_it(client):
    token = csrf_token(client, "/shortcuts")
    answer = client.post("/shortcuts", data={"csrf_token": token, "enabled": "0"})
    assert answer.status_code == 303
    page = soup(client.get(answer.headers["Location"]))
    assert "this browser keeps your choice" in page.select_one(".flash").text
    assert not page.body.has_attr("data-shortcuts")  # the script reads the browser's choice


def test_migration_17_adds_the_switch_to_an_older_database(app, auth):
    with app.app_context():
        reader = auth.create()
        models.db.execute_sql('ALTER TABLE "user" DROP COLUMN "shortcuts"')
        models.Migration.delete().where(models.Migration.number == 17).execute()
        assert models.migrate() == [17]
        assert models.User.get_by_id(reader.id).shortcuts is True
        models.db.close()
