"""The 21-day trial: the form (htmx and plain), mail through a real SMTP server (aiosmtpd),
single-use expiring magic links, no account discovery, rate limits, the clock (time-machine)
and the admin CLI."""

import datetime
import re
import shutil

import pytest

import models
from tests.conftest import csrf_token, make_app, soup, use_link

START = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def limited_client(tmp_path, demo_database, smtp_server):
    """A client of an app with its rate limits on (the other tests run with them off)."""
    database = tmp_path / "limited.db"
    shutil.copy(demo_database, database)
    app = make_app(tmp_path, database, RATELIMIT_ENABLED=True, **smtp_server.config)
    yield app.test_client()
    models.db.close()


def ask(client, email, htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post("/trial", data={"csrf_token": csrf_token(client), "email": email},
                       headers=headers)  # fmt: skip


def test_invitation_on_home_and_under_every_paper(client):
    for path in ("/", "/articles/24997269"):
        trial = soup(client.get(path)).select_one("#trial")
        assert "What will the ‘Medical Journal of You’ look like?" in trial.text
        assert "Start your free 21 day trial now." in trial.text
        assert "We guarantee your privacy. Your email address will not be shared." in trial.text
        assert trial.select_one("input#trial-email[type=email]") is not None


def test_trial_form_sends_a_link_and_swaps_in_place(client, smtp):
    response = ask(client, "New.Reader@Example.org")
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.find("html") is None
    assert fragment.select_one("#trial h2").text == "Check your inbox"
    assert "new.reader@example.org" in fragment.select_one("#trial-sent").text
    [message] = smtp.messages
    assert message.rcpt_tos == ["new.reader@example.org"]
    assert "21-day trial" in message.content.decode()


@pytest.mark.parametrize("typed", ["", "not-an-address", "a@b", "x@@example.org"])
def test_invalid_address_keeps_the_form_and_what_was_typed(client, smtp, typed):
    response = ask(client, typed)
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#trial-error").text
    assert page.select_one("#trial-email")["value"] == typed
    assert smtp.messages == []


def test_without_javascript_the_answer_is_a_page(client, smtp):
    response = ask(client, "plain@example.org", htmx=False)
    assert response.status_code == 200
    assert soup(response).find("html") is not None
    assert soup(response).select_one("#trial-sent") is not None


def test_new_and_known_addresses_get_identical_responses(client, auth, smtp):
    auth.create(email="known@example.org")
    known = ask(client, "known@example.org").get_data(as_text=True)
    new = ask(client, "brandnew@example.org").get_data(as_text=True)
    assert known.replace("known@example.org", "ADDRESS") == new.replace(
        "brandnew@example.org", "ADDRESS"
    )
    assert len(smtp.messages) == 2


@pytest.mark.clock(START)
def test_magic_link_signs_in_creates_the_account_and_starts_the_trial(app, client, smtp):
    ask(client, "first@example.org")
    [token] = smtp.links()
    response = use_link(client, token)
    assert response.status_code == 303
    home = soup(client.get("/"))
    assert home.select_one(".signed-in").text == "Signed in as first"
    assert home.select_one(".trial-days").text == "21 days left in your trial"
    assert "21 days left" in home.select_one(".flash").text
    with app.app_context():
        user = models.User.by_email("first@example.org")
        assert user.trial_ends_at == datetime.datetime(2026, 12, 15, 9, 0)
        assert user.password_hash is None


def test_link_works_once(client, smtp):
    ask(client, "once@example.org")
    [token] = smtp.links()
    assert use_link(client, token).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    again = use_link(client, token)
    assert again.status_code == 410
    assert soup(again).select_one("#trial-email") is not None  # ask for a new one right there
    assert soup(client.get("/")).select_one(".signed-in") is None


@pytest.mark.parametrize(("hours", "works"), [(23.9, True), (24.1, False)])
@pytest.mark.clock(START)
def test_link_expires_after_24_hours(client, smtp, clock, hours, works):
    ask(client, "later@example.org")
    [token] = smtp.links()
    clock.shift(datetime.timedelta(hours=hours))
    assert use_link(client, token).status_code == (303 if works else 410)


def test_unknown_token_is_refused(client):
    assert client.get("/auth/not-a-real-token").status_code == 410


def test_known_reader_keeps_their_trial_end(app, client, auth, smtp):
    user = auth.create(email="known@example.org")
    ends = datetime.datetime(2026, 12, 1, 12, 0)
    with app.app_context():
        models.User.update(trial_ends_at=ends).where(models.User.id == user.id).execute()
    ask(client, "known@example.org")
    [token] = smtp.links()
    use_link(client, token)
    with app.app_context():
        assert models.User.by_email("known@example.org").trial_ends_at == ends


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (0, "21 days left in your trial."),
        (20, "1 day left in your trial."),
        (21, "Your trial has ended."),
        (22, "Your trial has ended."),
    ],
)
@pytest.mark.clock(START)
def test_trial_days_on_day_0_20_21_22(client, smtp, clock, day, shown):
    ask(client, "clock@example.org")
    [token] = smtp.links()
    use_link(client, token)
    clock.shift(datetime.timedelta(days=day))
    page = soup(client.get("/articles/24997269"))
    assert shown in page.select_one("#trial").text
    # Nothing is lost when the trial ends: papers, citations and exports stay open.
    assert client.get("/articles/24997269.ris").status_code == 200


def test_rate_limit_per_address_says_when_to_try_again(limited_client, smtp_server):
    client, smtp = limited_client, smtp_server
    for _ in range(3):
        assert ask(client, "busy@example.org").status_code == 200
    refused = ask(client, "busy@example.org")
    assert refused.status_code == 429
    message = soup(refused).select_one("#trial-error").text
    assert re.search(r"Try again in \d+ minutes?\.", message)
    assert soup(refused).select_one("#trial-email")["value"] == "busy@example.org"
    assert len(smtp.messages) == 3
    assert ask(client, "someone.else@example.org").status_code == 200


def test_rate_limit_per_client(limited_client):
    client = limited_client
    statuses = [ask(client, f"reader{n}@example.org").status_code for n in range(11)]
    assert statuses == [200] * 10 + [429]


def test_development_outbox_when_no_mail_server(app, client, caplog):
    ask(client, "dev@example.org")
    outbox = list(
        (app.instance_path and __import__("pathlib").Path(app.instance_path) / "outbox").glob(
            "*.eml"
        )
    )
    assert len(outbox) == 1
    assert "/auth/" in outbox[0].read_text()
    assert any("/auth/" in record.getMessage() for record in caplog.records)


@pytest.mark.clock(START)
def test_admin_cli_extends_ends_and_grants(app, runner, auth):
    auth.create(email="admin.case@example.org")
    shown = runner.invoke(args=["trial", "show", "admin.case@example.org"])
    assert "no trial started" in shown.output
    extended = runner.invoke(args=["trial", "extend", "admin.case@example.org", "--days", "10"])
    assert "10 days left" in extended.output
    ended = runner.invoke(args=["trial", "end", "admin.case@example.org"])
    assert "ended" in ended.output
    granted = runner.invoke(args=["trial", "grant", "admin.case@example.org"])
    assert "full access" in granted.output
    missing = runner.invoke(args=["trial", "show", "nobody@example.org"])
    assert missing.exit_code == 1 and "No account" in missing.output
