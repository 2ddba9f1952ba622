"""The privacy page says what Pearl keeps about a reader and who can see it, made from the
models: every model with a foreign key to User must describe itself, or this fails."""

import gc

from peewee import ForeignKeyField

import models
import privacy
from tests.conftest import soup


def test_every_model_that_names_a_reader_says_so_in_plain_words():
    names = [model.__name__ for model in privacy.reader_models()]
    for name in ("User", "Note", "Star", "Interest", "Issue", "Feedback", "Collection",
                 "CorrectionAlert", "LoginToken"):  # fmt: skip
        assert name in names
    assert privacy.undescribed() == []
    for model in privacy.reader_models():
        assert model.PRIVACY.name and model.PRIVACY.what and model.PRIVACY.who, model


def test_a_new_table_with_a_reader_and_no_description_is_caught():
    class Bookmark(models.BaseModel):  # what a later feature might add, and forget to describe
        user = ForeignKeyField(models.User, backref="+", on_delete="CASCADE")

    try:
        assert "Bookmark" in [m.__name__ for m in privacy.reader_models()]
        assert privacy.undescribed() == ["Bookmark"]
        assert "Bookmark" not in [d.name for d in privacy.descriptions()]
    finally:
        # User keeps its back-references to the model: take them away, then the model.
        Bookmark._meta.remove_ref(Bookmark.user)
        models.User._meta.model_backrefs.pop(Bookmark, None)
        del Bookmark
        gc.collect()  # peewee keeps subclasses weakly: gone for the tests after this one
    assert privacy.undescribed() == []


def test_the_page_lists_each_table_and_who_sees_it(client):
    page = soup(client.get("/privacy"))
    assert page.find("h1").text == "Your privacy"
    items = page.select("#privacy-list .privacy-item")
    assert [item.dt.text for item in items] == [m.PRIVACY.name for m in privacy.reader_models()]
    text = page.select_one("#privacy-list").get_text(" ")
    assert "Private notes: only you." in text
    assert "Shared notes: readers of this Pearl" in text
    assert "Your address: nobody." in text
    # Linked from every page's footer.
    assert soup(client.get("/")).find(id="footer-privacy")["href"] == "/privacy"


def test_signed_in_the_page_links_the_account(client, auth):
    auth.create()
    auth.login()
    page = soup(client.get("/privacy"))
    assert page.select_one("#privacy a[href='/account']") is not None
    assert soup(client.get("/account")).select_one("a[href='/privacy']") is not None
