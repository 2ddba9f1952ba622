"""Accounts: sign up, sign in (remember me, same-site next), sign out, create-user, and
sign-in errors that never reveal whether an address has an account."""

import pytest

import models
from tests.conftest import csrf_token, soup, use_link


def test_signup_confirms_by_mail_then_signs_in_and_returns_to_the_paper(client, smtp):
    token = csrf_token(client, "/signup")
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": "New.Reader@Example.org",
            "display_name": "Dr New",
            "password": "a long enough password",
            "next": "/articles/24997269",
        },
    )
    assert response.status_code == 200
    assert soup(response).select_one("h1").text == "Check your inbox"
    # No account until the address's owner follows the link.
    assert models.User.by_email("new.reader@example.org") is None
    [link] = smtp.paths()
    response = use_link(client, link)
    assert response.status_code == 303
    assert response.headers["Location"] == "/articles/24997269"
    page = soup(client.get("/articles/24997269"))
    assert page.select_one(".signed-in").text == "Signed in as Dr New"
    user = models.User.get(models.User.email == "new.reader@example.org")
    assert user.password_hash.startswith("scrypt:") and "a long enough" not in user.password_hash
    assert user.check_password("a long enough password")
    assert user.trial_ends_at is None  # signing up starts no trial


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "not-an-address"}, "email", "does not look right"),
        ({"display_name": ""}, "display_name", "name other readers will see"),
        ({"password": "short"}, "password", "at least 10 characters"),
    ],
)
def test_signup_errors_sit_next_to_the_field_and_keep_what_was_typed(
    client, auth, fields, field, message
):
    auth.create()
    data = {
        "csrf_token": csrf_token(client, "/signup"),
        "email": "someone@example.org",
        "display_name": "Dr Someone",
        "password": "a long enough password",
        **fields,
    }
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert message in page.select_one(f"#signup-{field}-error").text
    assert page.select_one(f"#signup-{field}")["aria-invalid"] == "true"
    assert page.select_one("#signup-display_name")["value"] == data["display_name"]
    assert not page.select_one("#signup-password").get("value")


def test_login_and_logout(client, auth):
    auth.create()
    response = auth.login(next="/articles/17942999")
    assert response.status_code == 303 and response.headers["Location"] == "/articles/17942999"
    assert "Signed in as Dr Reader" in client.get("/").get_data(as_text=True)
    assert auth.logout().status_code == 303
    assert soup(client.get("/")).select_one(".signed-in") is None


def test_logout_needs_post_and_csrf(client, auth):
    auth.create()
    auth.login()
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert soup(client.get("/")).select_one(".signed-in") is not None


def test_wrong_password_and_unknown_address_get_the_same_answer(client, auth):
    auth.create()
    wrong_password = auth.login(password="not the password at all")
    unknown = auth.login(email="nobody@example.org", password="not the password at all")
    assert wrong_password.status_code == unknown.status_code == 422

    def error_and_form(response):
        page = soup(response)
        return page.select_one("#login-error").text, page.select_one("form").get("action")

    assert error_and_form(wrong_password) == error_and_form(unknown)
    body = lambda r, email: r.get_data(as_text=True).replace(email, "EMAIL")  # noqa: E731
    without_token = lambda text: text.split('name="csrf-token"')[0]  # noqa: E731
    assert without_token(body(wrong_password, "reader@example.org")) == without_token(
        body(unknown, "nobody@example.org")
    )
    assert soup(unknown).select_one("#login-email")["value"] == "nobody@example.org"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_only_same_site_next_is_honoured(auth, target):
    auth.create()
    response = auth.login(next=target)
    assert response.headers["Location"] == "/"


def test_remember_me_sets_a_lasting_cookie(client, auth):
    auth.create()
    auth.login(remember="1")
    assert client.get_cookie("remember_token") is not None
    auth.logout()
    auth.login()
    assert client.get_cookie("remember_token") is None


def test_login_without_csrf_token_is_refused(client, auth):
    auth.create()
    response = client.post(
        "/login", data={"email": "reader@example.org", "password": auth.PASSWORD}
    )
    assert response.status_code == 400


def test_create_user_reads_a_piped_password(app, runner):
    result = runner.invoke(
        args=["create-user", "Admin@Example.org", "--name", "Admin"],
        input="a long admin password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin@example.org (Admin)" in result.output
    with app.app_context():
        assert models.User.by_email("admin@example.org").check_password("a long admin password")
    again = runner.invoke(args=["create-user", "admin@example.org"], input="whatever password\n")
    assert again.exit_code == 1 and "already has an account" in again.output


def test_create_user_refuses_a_short_password(app, runner):
    result = runner.invoke(args=["create-user", "x@example.org"], input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output


def test_institutional_setting_lives_on_the_account(client, auth):
    auth.create()
    auth.login()
    token = csrf_token(client)
    client.post(
        "/library",
        data={"csrf_token": token, "kind": "ezproxy", "base": "https://proxy.example.edu/?url="},
    )
    auth.logout()
    signed_out = soup(client.get("/articles/24997269")).find("a", string="Full text")["href"]
    assert signed_out.startswith("https://doi.org/")
    auth.login()
    signed_in = soup(client.get("/articles/24997269")).find("a", string="Full text")["href"]
    assert signed_in.startswith("https://proxy.example.edu/?url=")
