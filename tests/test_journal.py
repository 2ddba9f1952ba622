"""The Medical Journal of You: issue assembly on the real MEDLINE file with fixed interests
(exact contents and order), periods and idempotence, the pages (access, fragments, no-JS
fallbacks, 422s, queries per page), the interests picker and its autocomplete, the Atom feed,
emailed issues (aiosmtpd) and the sample issue for visitors."""

import datetime
import email
import email.policy
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller

import journal
import models
from models import Article, Interest, Issue, IssueEntry, Term, User
from tests.conftest import POSTGRES, csrf_token, soup
from tests.mailbox import Inbox, free_port

TEMPLATES = Path(__file__).parent.parent / "templates" / "journal"
ADDED = datetime.datetime(2026, 11, 20, 8, 0)  # when the demo papers "arrived" (a Friday)
THURSDAY = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC)  # week of Mon 23 Nov
NEXT_WEEK = datetime.datetime(2026, 12, 2, 7, 0, tzinfo=datetime.UTC)  # week of Mon 30 Nov

# Issues, trials and "days ago" all depend on the day: every test here lives in the week of
# the first issue, its fixtures (sign-in included) too; tests move on with `at(...)`.
pytestmark = pytest.mark.clock(THURSDAY)

INTERESTS = [
    ("keyword", "Atrial fibrillation"),
    ("keyword", "Malaria"),
    ("mesh", "Lung Neoplasms"),
    ("type", "Randomized Controlled Trial"),
    ("journal", "Fertility and sterility"),
]

# The two full-text interests' papers after the first, as each engine ranks them: bm25 on
# SQLite, ts_rank_cd on PostgreSQL (models/postgres.py says how near they come). Both orders
# read right. Atrial fibrillation: PostgreSQL's fourth says it in its title ("…in human
# atrial fibrillation"); SQLite's is a scoliosis case with the keyword. Malaria: PostgreSQL
# puts the title-only record "…complicated malaria" first (ts_rank_cd has no saturation, so
# 26095044, naming malaria all through its abstract, comes next) and a P. falciparum drug
# target study fourth; bm25 prefers the parturient case and the antimalarials paper.
FULL_TEXT_ORDER = {
    "sqlite": {
        "Atrial fibrillation": (26702159, 26702312, 26702320),
        "Malaria": (26702219, 26702307, 26702226, 26095044),
    },
    "postgresql": {
        "Atrial fibrillation": (26702159, 26702312, 26702319),
        "Malaria": (26702226, 26095044, 26702219, 26702306),
    },
}["postgresql" if POSTGRES else "sqlite"]

# The first issue for INTERESTS from the 604 demo papers: (position, section, PMID), in
# table-of-contents order. Sections follow their best paper's score; within a section,
# score then PMID (newest first); no interest takes more than 4 of the 20 places
# (20 / 5 interests) while others have matches; then three papers from outside them.
EXPECTED = [
    (1, "Atrial fibrillation", 26702311),  # a review whose title says "atrial fibrillation"
    *((n, "Atrial fibrillation", p)
      for n, p in enumerate(FULL_TEXT_ORDER["Atrial fibrillation"], start=2)),
    (5, "Lung Neoplasms", 22508830),  # also a randomized controlled trial: two matches
    (6, "Lung Neoplasms", 23415808),
    (7, "Lung Neoplasms", 25368326),  # a major topic (its qualifier drug therapy is starred)
    (8, "Lung Neoplasms", 23625632),
    (9, "Randomized Controlled Trial", 25998582),
    (10, "Randomized Controlled Trial", 25840296),
    (11, "Randomized Controlled Trial", 25020153),
    (12, "Randomized Controlled Trial", 19368899),
    *((n, "Malaria", p) for n, p in enumerate(FULL_TEXT_ORDER["Malaria"], start=13)),
    (17, "Fertility and sterility", 26363387),  # four reviews of equal score: newest PMID first
    (18, "Fertility and sterility", 26354093),
    (19, "Fertility and sterility", 26348274),
    (20, "Fertility and sterility", 26342244),
    (21, "Beyond your field", 25974212),  # a phase II trial
    (22, "Beyond your field", 26611529),  # a review
    (23, "Beyond your field", 25838000),  # a multicentre study
]  # fmt: skip


# --- fixtures and helpers ---


@pytest.fixture
def papers(app):
    """The demo papers, all added at ADDED (the session's import time is not fixed)."""
    Article.update(added_at=ADDED).execute()
    return app


@pytest.fixture
def reader(papers, auth):
    """A signed-in reader with full access following INTERESTS."""
    user = auth.create()
    User.update(full_access=True).where(User.id == user.id).execute()
    follow(user, INTERESTS)
    auth.login()
    return User.get_by_id(user.id)


@pytest.fixture
def smtp(app):
    """A real SMTP server on localhost (aiosmtpd); the app sends its mail there."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                      MAIL_SENDER="Pearl <pearl@example.org>")  # fmt: skip
    yield inbox
    controller.stop()


def follow(user, interests):
    for kind, value in interests:
        Interest.create(user=user, kind=kind, value=value, key=value.lower())


def contents(issue):
    return [(e.position, e.section, e.article_id) for e in IssueEntry.contents(issue)]


def hx(client, method, path, **data):
    """A request as htmx makes it (CSRF token in the header, from the page's meta)."""
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_token(client, "/journal/settings")}
    return getattr(client, method)(path, data=data, headers=headers)


def form_post(client, path, **data):
    """A plain form POST, as with JavaScript off."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/journal/settings"), **data})


def at(moment):
    return time_machine.travel(moment, tick=False)


# --- ranking pieces ---


@pytest.mark.parametrize(
    ("types", "weight", "label"),
    [
        (["Journal Article", "Meta-Analysis"], 1.0, "meta-analysis"),
        (["Journal Article", "Randomized Controlled Trial", "Multicenter Study"], 0.85,
         "randomized controlled trial"),
        (["Practice Guideline"], 0.9, "practice guideline"),
        (["Journal Article", "Review"], 0.4, "review"),
        (["Journal Article", "Research Support, Non-U.S. Gov't"], 0.3, None),
        (["Case Reports", "Journal Article"], 0.1, "case report"),
        (["Comment", "Journal Article"], 0.1, "comment"),
        ([], 0.3, None),
    ],
)  # fmt: skip
def test_study_design_ranks_meta_analyses_and_trials_above_case_reports(types, weight, label):
    assert journal.design(types)[:2] == (weight, label)


def test_recency_halves_every_year_before_the_newest_paper():
    newest = datetime.date(2016, 3, 1)
    assert journal.recency("2016-03-01", newest) == 1
    assert journal.recency("2015-03-02", newest) == pytest.approx(0.5, abs=0.01)
    assert journal.recency("2014-03-02", newest) == pytest.approx(0.25, abs=0.01)
    assert journal.recency("not a date", newest) == 0


@pytest.mark.parametrize(
    ("frequency", "moment", "start", "end", "label"),
    [
        ("weekly", (2026, 11, 26, 10), (2026, 11, 23), (2026, 11, 30), "week of 23 Nov 2026"),
        ("weekly", (2026, 11, 23, 0), (2026, 11, 23), (2026, 11, 30), "week of 23 Nov 2026"),
        ("weekly", (2026, 11, 22, 23), (2026, 11, 16), (2026, 11, 23), "week of 16 Nov 2026"),
        ("daily", (2026, 11, 26, 10), (2026, 11, 26), (2026, 11, 27), "26 Nov 2026"),
        ("monthly", (2026, 11, 26, 10), (2026, 11, 1), (2026, 12, 1), "November 2026"),
        ("monthly", (2026, 12, 31, 23), (2026, 12, 1), (2027, 1, 1), "December 2026"),
    ],
)
def test_periods_and_their_labels(frequency, moment, start, end, label):
    period = Issue.period_for(frequency, datetime.datetime(*moment))
    assert period == (datetime.datetime(*start), datetime.datetime(*end))
    issue = Issue(frequency=frequency, period_start=period[0], volume=1, number=3)
    assert issue.period_label == label
    assert issue.label == f"Vol. 1, No. 3 · {label}"


# --- assembly on the real MEDLINE file ---


def test_first_issue_has_the_exact_contents_and_order_for_fixed_interests(reader):
    with at(THURSDAY):
        issue, created = journal.publish(reader)
    assert created
    assert (issue.number, issue.volume, issue.frequency) == (1, 1, "weekly")
    assert issue.period_start == datetime.datetime(2026, 11, 23)
    assert issue.covers_from is None  # the first issue draws on the whole library
    assert contents(issue) == EXPECTED
    entries = {e.article_id: e for e in IssueEntry.contents(issue)}
    assert entries[26702311].reason == "Matches Atrial fibrillation · Review · Dec 2015"
    assert entries[22508830].reason == (
        "Matches Lung Neoplasms and Randomized Controlled Trial · Jun 2012"
    )
    assert entries[23415808].reason == "Matches Lung Neoplasms · Phase II trial · Jul 2013"
    assert entries[26363387].reason == "Matches Fertility and sterility · Review · Oct 2015"
    assert entries[25974212].reason == "Outside your interests · Phase II trial · Sep 2015"
    assert entries[25974212].beyond and not entries[26702311].beyond
    scores = [e.score for e in IssueEntry.contents(issue) if not e.beyond]
    assert all(0 < score <= 1 for score in scores)


def test_assembly_is_deterministic_and_the_sample_matches_the_first_issue(reader):
    interests = list(Interest.of(reader))
    first = [(e.position, e.section, e.article.pmid, e.score) for e in journal.assemble(interests)]
    again = [(e.position, e.section, e.article.pmid, e.score) for e in journal.assemble(interests)]
    assert first == again
    assert [row[:3] for row in first] == EXPECTED
    assert [(e.position, e.section, e.article.pmid) for e in journal.sample(interests)] == EXPECTED


def test_single_interest_orders_by_score_then_newest_pmid(papers):
    entries = journal.assemble([Interest(kind="journal", value="Fertility and sterility")])
    interest_entries = [e for e in entries if not e.beyond]
    assert len(interest_entries) == 20  # one interest may fill the issue
    keys = [(-e.score, -e.article.pmid) for e in interest_entries]
    assert keys == sorted(keys)
    assert {e.section for e in interest_entries} == {"Fertility and sterility"}


def test_interest_spelled_differently_still_matches(papers):
    lower = journal.assemble([Interest(kind="journal", value="fertility AND sterility")])
    exact = journal.assemble([Interest(kind="journal", value="Fertility and sterility")])
    assert [e.article.pmid for e in lower] == [e.article.pmid for e in exact]


def test_nothing_followed_matches_nothing(papers):
    entries = journal.assemble([Interest(kind="keyword", value="zzzz no such term")])
    assert entries and all(e.beyond for e in entries)


def test_publishing_twice_in_a_period_gives_the_same_issue(reader):
    with at(THURSDAY):
        first, created = journal.publish(reader)
    with at(THURSDAY + datetime.timedelta(days=3)):  # Sunday, same week
        again, created_again = journal.publish(reader)
    assert created and not created_again
    assert again.id == first.id
    assert Issue.select().count() == 1
    assert IssueEntry.select().count() == len(EXPECTED)


def test_a_race_for_the_same_period_ends_with_one_issue(reader, monkeypatch):
    with at(THURSDAY):
        first, _ = journal.publish(reader)
        # Another process's view of the world: it saw no issue, so it assembles one too.
        monkeypatch.setattr(journal, "due", lambda *args: True)
        issue, created = journal.publish(reader)
    assert not created and issue.id == first.id
    assert Issue.select().count() == 1


def test_next_issue_holds_only_papers_added_since_the_last(reader):
    with at(THURSDAY):
        first, _ = journal.publish(reader)
    # Two papers arrive the next day: one on atrial fibrillation, one matching nothing.
    arrived = datetime.datetime(2026, 11, 27, 9, 0)
    Article.update(added_at=arrived).where(Article.pmid.in_([26702318, 24997269])).execute()
    with at(NEXT_WEEK):
        second, created = journal.publish(reader)
    assert created
    assert (second.number, second.volume) == (2, 1)
    assert second.period_start == datetime.datetime(2026, 11, 30)
    assert second.covers_from == first.covers_until == datetime.datetime(2026, 11, 26, 10, 0)
    # The other one is a review: a few strong papers from outside the interests come too.
    assert contents(second) == [
        (1, "Atrial fibrillation", 26702318),
        (2, "Beyond your field", 24997269),
    ]


def test_readers_choose_the_rhythm(reader):
    User.update(issue_frequency="daily").where(User.id == reader.id).execute()
    reader = User.get_by_id(reader.id)
    with at(THURSDAY):
        first, _ = journal.publish(reader)
    with at(THURSDAY + datetime.timedelta(hours=5)):
        assert journal.publish(reader) == (first, False)
    with at(THURSDAY + datetime.timedelta(days=1)):
        second, created = journal.publish(reader)
    assert created and second.number == 2 and second.period_label == "27 Nov 2026"


def test_a_new_year_starts_a_new_volume(reader):
    with at(datetime.datetime(2026, 12, 30, 9, 0, tzinfo=datetime.UTC)):
        journal.publish(reader)
    with at(datetime.datetime(2027, 1, 6, 9, 0, tzinfo=datetime.UTC)):
        issue, _ = journal.publish(reader)
    assert issue.label == "Vol. 2, No. 2 · week of 4 Jan 2027"


def test_no_interests_no_issue(papers, auth):
    user = auth.create()
    assert journal.publish(user) == (None, False)
    assert Issue.select().count() == 0


def test_withdrawn_paper_leaves_the_issue(reader):
    with at(THURSDAY):
        issue, _ = journal.publish(reader)
    assert Article.delete_pmids([26702311]) == 1
    assert (1, "Atrial fibrillation", 26702311) not in contents(issue)
    assert len(contents(issue)) == len(EXPECTED) - 1


# --- the command line ---


def test_publish_issues_cli_is_idempotent_and_skips_readers_without_access(reader, runner, auth):
    ended = auth.create(email="ended@example.org")
    User.update(trial_ends_at=datetime.datetime(2026, 11, 1)).where(User.id == ended.id).execute()
    follow(ended, INTERESTS[:1])
    with at(THURSDAY):
        first = runner.invoke(args=["publish-issues"])
        second = runner.invoke(args=["publish-issues"])
    assert first.exit_code == 0, first.output
    assert "1 new issue for 1 reader" in first.output
    assert "0 new issues for 1 reader" in second.output
    assert [i.user_id for i in Issue.select()] == [reader.id]


def test_publish_issues_emails_each_new_issue_once(reader, runner, smtp):
    User.update(email_issues=True).where(User.id == reader.id).execute()
    with at(THURSDAY):
        result = runner.invoke(args=["publish-issues", "--url", "https://pearl.example.org"])
        runner.invoke(args=["publish-issues", "--url", "https://pearl.example.org"])
    assert "1 emailed" in result.output
    [message] = smtp.messages
    assert message.rcpt_tos == ["reader@example.org"]
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    assert parsed["Subject"] == "The Medical Journal of You — Vol. 1, No. 1 · week of 23 Nov 2026"
    body = parsed.get_content().replace("\r\n", "\n")  # SMTP sends CRLF
    assert body.startswith("The Medical Journal of You\nVol. 1, No. 1 · week of 23 Nov 2026\n")
    assert "ATRIAL FIBRILLATION" in body and "BEYOND YOUR FIELD" in body
    assert "1. The impact of yoga on atrial fibrillation" in body
    assert "   Matches Atrial fibrillation · Review · Dec 2015\n" in body
    assert "https://pearl.example.org/articles/26702311" in body
    assert "https://pearl.example.org/journal/issues/1" in body
    assert Issue.get().emailed_at is not None


def test_no_email_unless_asked(reader, runner, smtp):
    with at(THURSDAY):
        runner.invoke(args=["publish-issues"])
    assert smtp.messages == []


def test_opening_the_journal_publishes_and_emails_a_due_issue(reader, client, smtp):
    User.update(email_issues=True).where(User.id == reader.id).execute()
    with at(THURSDAY):
        assert client.get("/journal").status_code == 200
        assert client.get("/journal").status_code == 200
    assert Issue.select().count() == 1
    assert len(smtp.messages) == 1


def test_failed_email_is_retried_by_the_next_run(reader, runner, app):
    User.update(email_issues=True).where(User.id == reader.id).execute()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listening
    with at(THURSDAY):
        failed = runner.invoke(args=["publish-issues"])
    assert failed.exit_code == 0 and "0 emailed" in failed.output
    assert Issue.get().emailed_at is None


# --- access ---


def test_signed_out_readers_go_to_sign_in_and_come_back(client):
    response = client.get("/journal/issues/1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/journal/issues/1"
    assert client.get("/journal").headers["Location"] == "/login?next=/journal"
    sample = client.get("/journal/interests?welcome=1")
    assert sample.headers["Location"] == "/login?next=/journal/interests?welcome%3D1"


def test_signed_out_htmx_is_sent_to_sign_in(client):
    token = csrf_token(client)
    response = client.post("/journal/entries/1/star", data={"csrf_token": token},
                           headers={"HX-Request": "true"})  # fmt: skip
    assert response.headers["HX-Redirect"] == "/login?next=/journal"


@pytest.mark.parametrize(
    "path",
    ["/journal", "/journal/issues", "/journal/issues/1", "/journal/starred", "/journal/interests",
     "/journal/settings"],
)  # fmt: skip
def test_ended_trial_gets_the_trial_ended_page(papers, auth, client, path):
    user = auth.create()
    User.update(trial_ends_at=datetime.datetime(2026, 11, 1)).where(User.id == user.id).execute()
    models.Note.create(article=24997269, author=user.id, source="mine", html="<p>mine</p>")
    auth.login()
    response = client.get(path)
    assert response.status_code == 403
    page = soup(response)
    assert page.select_one("#trial-ended-heading").text == "Your trial has ended"
    assert "Nothing is lost" in page.select_one("#trial-ended").text
    assert page.select_one("#trial-ended-notes a")["href"].startswith("/articles/24997269#note-")
    assert page.select_one("#trial-ended-papers")["href"] == "/"
    assert client.get("/articles/24997269").status_code == 200  # papers and notes stay readable


def test_never_started_reader_is_offered_the_trial(papers, auth, client):
    auth.create()
    auth.login()
    response = client.get("/journal")
    assert response.status_code == 403
    assert soup(response).select_one("#trial-email") is not None


def test_htmx_request_after_the_trial_ended_reloads_the_journal(reader, client):
    with at(THURSDAY):
        client.get("/journal")
    entry = IssueEntry.select().first()
    User.update(full_access=False, trial_ends_at=datetime.datetime(2026, 11, 1)).execute()
    response = hx(client, "post", f"/journal/entries/{entry.id}/star", starred="1")
    assert response.headers["HX-Redirect"] == "/journal"
    assert not IssueEntry.get_by_id(entry.id).starred


def test_running_trial_opens_the_journal(papers, auth, client):
    user = auth.create()
    with at(THURSDAY):
        user.start_trial()
        user.save()
        follow(user, INTERESTS)
        auth.login()
        assert client.get("/journal").status_code == 200


# --- the issue pages ---


def test_journal_without_interests_opens_the_picker(papers, auth, client):
    user = auth.create()
    User.update(full_access=True).where(User.id == user.id).execute()
    auth.login()
    response = client.get("/journal")
    assert response.headers["Location"] == "/journal/interests?welcome=1"
    page = soup(client.get(response.headers["Location"]))
    assert page.select_one("#interests-welcome") is not None
    assert page.select_one("#interests-empty") is not None


def test_latest_issue_page_shows_sections_in_order_with_reasons(reader, client):
    with at(THURSDAY):
        response = client.get("/journal")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#issue-heading").text == "Vol. 1, No. 1 · week of 23 Nov 2026"
    headings = [h.text for h in page.select(".toc-heading")]
    assert headings == ["Atrial fibrillation", "Lung Neoplasms", "Randomized Controlled Trial",
                        "Malaria", "Fertility and sterility", "Beyond your field"]  # fmt: skip
    links = [a["href"] for a in page.select(".entry-title")]
    assert links == [f"/articles/{pmid}" for _, _, pmid in EXPECTED]
    first = page.select_one(".entry")
    assert (
        "Matches Atrial fibrillation · Review · Dec 2015" in first.select_one(".entry-reason").text
    )
    assert [ol["start"] for ol in page.select("ol.toc")] == ["1", "5", "9", "13", "17", "21"]
    assert page.select_one("#issue-count").text == "23 papers · 23 unread"
    assert page.select_one("#issue-older") is None


def test_issue_pages_and_pager(reader, client):
    with at(THURSDAY):
        client.get("/journal")
    Article.update(added_at=datetime.datetime(2026, 11, 27)).where(
        Article.pmid == 26702318
    ).execute()
    with at(NEXT_WEEK):
        latest = soup(client.get("/journal"))
    assert latest.select_one("#issue-heading").text == "Vol. 1, No. 2 · week of 30 Nov 2026"
    assert latest.select_one("#issue-older")["href"] == "/journal/issues/1"
    first = soup(client.get("/journal/issues/1"))
    assert first.select_one("#issue-newer")["href"] == "/journal/issues/2"
    assert client.get("/journal/issues/3").status_code == 404
    archive = soup(client.get("/journal/issues"))
    items = [li.get_text(" ", strip=True) for li in archive.select(".issue-summary")]
    assert items == ["Vol. 1, No. 2 · week of 30 Nov 2026 1 paper · 1 unread",
                     "Vol. 1, No. 1 · week of 23 Nov 2026 23 papers · 23 unread"]  # fmt: skip


def test_empty_issue_says_so(reader, client):
    with at(THURSDAY):
        client.get("/journal")
    with at(NEXT_WEEK):
        page = soup(client.get("/journal"))
    assert "No new paper matched" in page.select_one("#issue-empty").text


def test_another_readers_issue_and_entries_are_not_found(reader, client, auth):
    with at(THURSDAY):
        client.get("/journal")
    entry = IssueEntry.select().first()
    auth.logout()
    other = auth.create(email="other@example.org")
    User.update(full_access=True).where(User.id == other.id).execute()
    auth.login(email="other@example.org")
    assert client.get("/journal/issues/1").status_code == 404
    assert form_post(client, f"/journal/entries/{entry.id}/star").status_code == 404
    assert form_post(client, f"/journal/entries/{entry.id}/read").status_code == 404


def test_star_and_mark_read_in_place_with_htmx(reader, client):
    with at(THURSDAY):
        client.get("/journal")
    entry = IssueEntry.get(IssueEntry.article == 26702311)
    starred = hx(client, "post", f"/journal/entries/{entry.id}/star", starred="1")
    assert starred.status_code == 200
    fragment = soup(starred)
    assert fragment.find("html") is None
    item = fragment.select_one(f"li#entry-{entry.id}")
    assert "starred" in item["class"]
    assert item.select_one(f"#entry-{entry.id}-star").text == "Remove star"
    assert item.select_one(f"#entry-{entry.id}-star").has_attr("autofocus")
    read = soup(hx(client, "post", f"/journal/entries/{entry.id}/read", read="1"))
    assert read.select_one(f"#entry-{entry.id}-read").text == "Mark unread"
    entry = IssueEntry.get_by_id(entry.id)
    assert entry.starred and entry.read_at is not None
    unread = soup(hx(client, "post", f"/journal/entries/{entry.id}/read", read="0"))
    assert unread.select_one(f"#entry-{entry.id}-read").text == "Mark read"
    assert IssueEntry.get_by_id(entry.id).read_at is None
    starred_page = soup(client.get("/journal/starred"))
    assert [a["href"] for a in starred_page.select(".entry-title")] == ["/articles/26702311"]
    archive = soup(client.get("/journal/issues"))
    assert "1 starred" in archive.select_one(".issue-summary").text


def test_star_and_mark_read_without_javascript_redirect_back(reader, client):
    with at(THURSDAY):
        client.get("/journal")
    entry = IssueEntry.get(IssueEntry.article == 26702311)
    response = form_post(client, f"/journal/entries/{entry.id}/star", starred="1")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/journal/issues/1#entry-{entry.id}"
    response = form_post(client, f"/journal/entries/{entry.id}/read", read="1")
    assert response.status_code == 303
    page = soup(client.get("/journal/issues/1"))
    assert "read" in page.select_one(f"#entry-{entry.id}")["class"]


def test_mark_the_whole_issue_read(reader, client):
    with at(THURSDAY):
        client.get("/journal")
    response = hx(client, "post", "/journal/issues/1/read")
    fragment = soup(response)
    assert fragment.find("html") is None
    assert fragment.select_one("#issue-count").text == "23 papers · 0 unread"
    assert fragment.select_one("#issue-mark-read") is None
    assert IssueEntry.select().where(IssueEntry.read_at.is_null()).count() == 0
    assert form_post(client, "/journal/issues/1/read").status_code == 303
    assert form_post(client, "/journal/issues/9/read").status_code == 404


# --- interests ---


def test_suggestions_come_from_the_papers(reader, htmx, client):
    response = client.get("/journal/interests/suggest?kind=keyword&q=atrial",
                          headers={"HX-Request": "true"})  # fmt: skip
    fragment = soup(response)
    assert fragment.find("html") is None
    buttons = fragment.select("button.suggestion")
    assert 1 <= len(buttons) <= 10
    assert buttons[0]["value"] == "keyword:Atrial fibrillation"  # starts with it, most used
    assert "10 papers" in buttons[0].text
    assert fragment.select_one("#suggestion-typed")["value"] == "keyword:atrial"  # as typed
    exact = client.get(
        "/journal/interests/suggest?kind=keyword&q=MALARIA", headers={"HX-Request": "true"}
    )
    assert soup(exact).select_one("#suggestion-typed") is None  # it is the first suggestion
    mesh = soup(
        client.get("/journal/interests/suggest?kind=mesh&q=neur", headers={"HX-Request": "true"})
    )
    names = [b["value"] for b in mesh.select("button.suggestion")]
    assert len(names) == 10 and all("neur" in n.lower() for n in names)
    assert names[0] == "mesh:Neuronal Plasticity"
    types = soup(
        client.get("/journal/interests/suggest?kind=type&q=random", headers={"HX-Request": "true"})
    )
    assert [b["value"] for b in types.select("button.suggestion")] == [
        "type:Randomized Controlled Trial"
    ]


def test_suggest_without_javascript_is_the_picker_page(reader, client):
    page = soup(client.get("/journal/interests/suggest?kind=keyword&q=malar"))
    assert page.find("html") is not None
    assert page.select_one("#interest-q")["value"] == "malar"
    assert page.select_one("#interest-kind option[selected]")["value"] == "keyword"
    button = page.select_one("#interest-add button.suggestion")
    assert button["value"] == "keyword:Malaria" and button["name"] == "pick"
    assert page.select_one("#interest-add")["action"] == "/journal/interests"


def test_visitors_suggest_without_javascript_goes_to_the_sample(client, papers):
    response = client.get("/journal/interests/suggest?kind=keyword&q=malar")
    assert response.headers["Location"] == "/journal/sample?kind=keyword&q=malar"


def test_empty_query_suggests_nothing(reader, client):
    fragment = soup(
        client.get("/journal/interests/suggest?kind=mesh&q=", headers={"HX-Request": "true"})
    )
    assert fragment.select("button") == []


def test_add_a_picked_interest_in_place(papers, auth, client):
    user = auth.create()
    User.update(full_access=True).where(User.id == user.id).execute()
    auth.login()
    client.get("/journal/interests")
    response = hx(client, "post", "/journal/interests", pick="keyword:MALARIA")
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.find("html") is None
    assert fragment.select_one("section#interests") is not None
    values = [v.text for v in fragment.select(".interest-value")]
    assert values == ["Malaria"]  # as the papers spell it
    assert "Now following keyword “Malaria”" in fragment.select_one("#interests-status").text
    assert fragment.select_one("#interest-q").has_attr("autofocus")
    typed = hx(client, "post", "/journal/interests", kind="keyword", q="  tropical   medicine ")
    assert [v.text for v in soup(typed).select(".interest-value")] == [
        "Malaria",
        "tropical medicine",
    ]
    assert [(i.kind, i.value) for i in Interest.of(user)] == [
        ("keyword", "Malaria"), ("keyword", "tropical medicine")]  # fmt: skip


def test_add_without_javascript_redirects_to_the_picker(reader, client):
    response = form_post(client, "/journal/interests", pick="type:Review")
    assert response.status_code == 303
    assert response.headers["Location"] == "/journal/interests#interests"
    assert ("type", "Review") in [(i.kind, i.value) for i in Interest.of(reader)]


@pytest.mark.parametrize(
    ("data", "message", "kept"),
    [
        ({"kind": "keyword", "q": "   "}, "Type the keyword to follow.", ""),
        ({"pick": "colour:Blue"}, "Choose what to follow", "Blue"),
        ({"kind": "keyword", "q": "x" * 201}, "at most 200", "x" * 201),
        ({"pick": "keyword:atrial FIBRILLATION"}, "You already follow “atrial FIBRILLATION”.",
         "atrial FIBRILLATION"),
    ],
)  # fmt: skip
def test_interest_errors_come_back_next_to_the_field(reader, client, data, message, kept):
    response = hx(client, "post", "/journal/interests", **data)
    assert response.status_code == 422
    fragment = soup(response)
    assert message in fragment.select_one("#interest-error").text
    field = fragment.select_one("#interest-q")
    assert field["value"] == kept
    assert field["aria-invalid"] == "true"
    assert "interest-error" in field["aria-describedby"]
    assert Interest.select().count() == len(INTERESTS)


def test_no_more_than_30_interests(reader, client):
    follow(reader, [("keyword", f"term {n}") for n in range(Interest.MAX_PER_READER - 5)])
    response = hx(client, "post", "/journal/interests", pick="keyword:one too many")
    assert response.status_code == 422
    assert "remove one first" in soup(response).select_one("#interest-error").text


def test_remove_an_interest_in_place_and_without_javascript(reader, client):
    malaria = Interest.get(Interest.value == "Malaria")
    fragment = soup(hx(client, "post", f"/journal/interests/{malaria.id}/delete"))
    assert "Malaria" not in [v.text for v in fragment.select(".interest-value")]
    assert "No longer following “Malaria”" in fragment.select_one("#interests-status").text
    review = Interest.get(Interest.value == "Lung Neoplasms")
    response = form_post(client, f"/journal/interests/{review.id}/delete")
    assert response.status_code == 303
    assert Interest.select().count() == len(INTERESTS) - 2
    assert form_post(client, f"/journal/interests/{review.id}/delete").status_code == 404


def test_another_readers_interest_cannot_be_removed(reader, client, auth):
    mine = Interest.get(Interest.value == "Malaria")
    auth.logout()
    other = auth.create(email="other@example.org")
    User.update(full_access=True).where(User.id == other.id).execute()
    auth.login(email="other@example.org")
    assert form_post(client, f"/journal/interests/{mine.id}/delete").status_code == 404
    assert Interest.get_or_none(Interest.id == mine.id) is not None


def test_terms_count_papers_as_the_import_stored_them(papers):
    # Kept by the import (see test_counts.py): nothing to refresh before a suggestion.
    assert Term.canonical("keyword", "ATRIAL FIBRILLATION") == "Atrial fibrillation"
    keyword = Term.get((Term.kind == "keyword") & (Term.key == "atrial fibrillation"))
    assert keyword.count == 10  # nine spelled "Atrial fibrillation", one "atrial fibrillation"
    assert Term.get((Term.kind == "type") & (Term.key == "review")).count == 40
    assert Term.canonical("type", "Research Support, Non-U.S. Gov't") is None  # funding
    assert Term.get((Term.kind == "journal") & (Term.key == "acta tropica")).count == 33


# --- settings and the feed ---


def test_settings_choose_frequency_and_email(reader, client):
    page = soup(client.get("/journal/settings"))
    assert page.select_one("#frequency-weekly").has_attr("checked")
    assert not page.select_one("#email-issues").has_attr("checked")
    response = hx(client, "post", "/journal/settings", frequency="daily", email_issues="1")
    fragment = soup(response)
    assert fragment.select_one("#frequency-daily").has_attr("checked")
    assert fragment.select_one("#email-issues").has_attr("checked")
    assert fragment.select_one("#settings-status").text == "Settings saved."
    user = User.get_by_id(reader.id)
    assert (user.issue_frequency, user.email_issues) == ("daily", True)
    assert form_post(client, "/journal/settings", frequency="monthly").status_code == 303
    user = User.get_by_id(reader.id)
    assert (user.issue_frequency, user.email_issues) == ("monthly", False)


def test_settings_refuse_an_unknown_frequency(reader, client):
    response = hx(client, "post", "/journal/settings", frequency="hourly")
    assert response.status_code == 422
    fragment = soup(response)
    assert fragment.select_one("#frequency-error").text == "Choose daily, weekly or monthly."
    assert User.get_by_id(reader.id).issue_frequency == "weekly"


def test_atom_feed_with_a_resettable_key(reader, client):
    with at(THURSDAY):
        client.get("/journal")
    assert soup(client.get("/journal/settings")).select_one("#feed-url") is None
    fragment = soup(hx(client, "post", "/journal/feed-key"))
    url = fragment.select_one("#feed-url")["value"]
    assert re.fullmatch(r"http://localhost/journal/feed/[\w-]{32}\.atom", url)
    # Shown once: the page opened later cannot show it (only its hash is kept).
    later = soup(client.get("/journal/settings"))
    assert later.select_one("#feed-url") is None and later.select_one("#feed-made") is not None
    response = client.get(url.removeprefix("http://localhost"))
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring(response.data)
    [entry] = feed.findall(f"{atom}entry")
    assert entry.findtext(f"{atom}title") == "Vol. 1, No. 1 · week of 23 Nov 2026"
    assert entry.find(f"{atom}link").get("href") == "http://localhost/journal/issues/1"
    content = entry.findtext(f"{atom}content")
    assert "<h2>Atrial fibrillation</h2>" in content
    assert content.index("26702311") < content.index("26702159") < content.index("25974212")
    # Reset: the old address stops working.
    new = soup(hx(client, "post", "/journal/feed-key")).select_one("#feed-url")["value"]
    assert new != url
    assert client.get(url.removeprefix("http://localhost")).status_code == 404
    assert client.get(new.removeprefix("http://localhost")).status_code == 200
    assert client.get("/journal.atom").status_code == 404
    assert form_post(client, "/journal/feed-key").status_code == 303


def test_feed_after_the_trial_says_it_has_ended(reader, client):
    User.update(full_access=False, trial_ends_at=datetime.datetime(2026, 11, 1),
                feed_key_hash=User.hash_secret("k" * 32)).execute()  # fmt: skip
    feed = ET.fromstring(client.get("/journal.atom?key=" + "k" * 32).data)
    titles = [e.text for e in feed.iter("{http://www.w3.org/2005/Atom}title")]
    assert titles == ["The Medical Journal of You", "Your trial has ended"]


# --- the sample issue for visitors ---


def test_sample_issue_for_a_visitor(client, papers):
    query = "&".join(f"interest={kind}:{value}" for kind, value in INTERESTS)
    response = client.get(f"/journal/sample?{query}")
    assert response.status_code == 200
    page = soup(response)
    links = [a["href"] for a in page.select("#sample-issue .entry-title")]
    assert links == [f"/articles/{pmid}" for _, _, pmid in EXPECTED]
    assert page.select_one(".entry-actions") is None  # nothing to mark: not stored
    assert [i["value"] for i in page.select("#sample-form input[name=interest]")] == [
        f"{kind}:{value}" for kind, value in INTERESTS
    ]
    remove = page.select_one("#sample-interest-2-remove")["href"]
    assert "Malaria" not in remove and "Atrial" in remove
    assert page.select_one("#trial-email") is not None  # and the invitation to the trial
    assert Issue.select().count() == 0


def test_sample_picks_and_suggests_without_javascript(client, papers):
    page = soup(client.get("/journal/sample?interest=keyword:Malaria&kind=type&q=review"))
    assert page.select_one("#interest-q")["value"] == "review"
    button = page.select_one("#sample-form button.suggestion")
    assert (button["name"], button["value"]) == ("pick", "type:Review")
    page = soup(
        client.get("/journal/sample?interest=keyword:Malaria&kind=type&q=review&pick=type:Review")
    )
    values = [i["value"] for i in page.select("#sample-form input[name=interest]")]
    assert values == ["keyword:Malaria", "type:Review"]
    assert page.select_one("#interest-q")["value"] == ""
    assert page.select_one("#sample-issue .toc-heading").text == "Malaria"


def test_sample_for_htmx_is_the_block_and_ignores_nonsense(client, papers):
    nonsense = "interest=nonsense&interest=colour:Blue&interest=keyword:"
    response = client.get(f"/journal/sample?{nonsense}", headers={"HX-Request": "true"})
    fragment = soup(response)
    assert fragment.find("html") is None
    assert fragment.select_one("div#sample") is not None
    assert fragment.select("#sample-form input[name=interest]") == []
    assert fragment.select_one("#sample-issue") is None


# --- rules every journal page keeps ---


def test_templates_have_no_inline_script_style_or_handlers():
    for template in TEMPLATES.glob("*"):
        text = template.read_text()
        assert "<script" not in text, template
        assert not re.search(r"\sstyle=", text), template
        assert not re.search(r"\son[a-z]+=", text), template


PAGES = ["/journal", "/journal/issues/1", "/journal/issues", "/journal/starred",
         "/journal/interests", "/journal/interests/suggest?kind=keyword&q=malaria",
         "/journal/settings"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_htmx_control_also_works_without_javascript(reader, client, path):
    with at(THURSDAY):
        client.get("/journal")
    IssueEntry.update(starred=True).where(IssueEntry.position == 1).execute()
    hx(client, "post", "/journal/feed-key")
    page = soup(client.get(path))
    for control in page.select("[hx-get], [hx-post]"):
        url = control.get("hx-get") or control.get("hx-post")
        assert url == (control.get("href") or control.get("action") or control.get("formaction")), (
            control
        )
    for form in page.select("form[method=post]"):
        assert form.select_one("input[name=csrf_token]") is not None, form


def test_sample_page_controls_work_without_javascript(client, papers):
    page = soup(client.get("/journal/sample?interest=keyword:Malaria&q=x"))
    for control in page.select("[hx-get], [hx-post]"):
        assert control.get("href") or control.get("action"), control
    assert page.select_one("#sample-form")["action"] == "/journal/sample"


def test_keyboard_controls_have_stable_ids(reader, client):
    with at(THURSDAY):
        client.get("/journal")
    entry = IssueEntry.get(IssueEntry.position == 1)
    issue = soup(client.get("/journal/issues/1"))
    for selector in (f"#entry-{entry.id}-read", f"#entry-{entry.id}-star", "#issue-mark-read"):
        assert issue.select_one(selector).name == "button", selector
    interests = soup(client.get("/journal/interests/suggest?kind=keyword&q=mal"))
    for selector in ("#interest-kind", "#interest-q", "#interest-find", "#suggestion-1",
                     f"#interest-{Interest.get().id}-remove"):  # fmt: skip
        assert interests.select_one(selector) is not None, selector
    assert interests.select_one("label[for=interest-q]") is not None
    settings = soup(client.get("/journal/settings"))
    for selector in ("#frequency-daily", "#frequency-weekly", "#frequency-monthly",
                     "#email-issues", "#settings-save", "#feed-reset"):  # fmt: skip
        assert settings.select_one(selector) is not None, selector


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/journal", 3),  # the reader, the latest issue, its papers
        ("/journal/issues/1", 3),  # the reader, the issue and its neighbours, its papers
        ("/journal/issues", 2),  # the reader, the issues with their counts
        ("/journal/starred", 2),
        ("/journal/interests", 2),  # the reader, the interests (the import keeps the terms)
        ("/journal/settings", 2),  # the reader, what their feedback taught the journal
        ("/journal/interests/suggest?kind=mesh&q=neur", 3),  # the reader, terms, interests
    ],
)
def test_queries_per_page(reader, client, queries, path, most):
    with at(THURSDAY):
        client.get("/journal")
        queries.clear()
        response = client.get(path)
    assert response.status_code == 200
    assert 1 <= len(queries) <= most, queries


def test_autocomplete_queries(reader, client, queries):
    queries.clear()
    response = client.get(
        "/journal/interests/suggest?kind=mesh&q=neur", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert len(queries) <= 2, queries  # the reader, the terms


def test_queries_for_the_feed_and_the_sample(reader, client, queries):
    with at(THURSDAY):
        client.get("/journal")
    url = soup(hx(client, "post", "/journal/feed-key")).select_one("#feed-url")["value"]
    key = url.removeprefix("http://localhost/journal/feed/").removesuffix(".atom")
    client.get("/logout")
    anonymous = client.application.test_client()
    queries.clear()
    assert anonymous.get(f"/journal.atom?key={key}").status_code == 200
    assert len(queries) <= 3, queries  # the reader by key, the issues, their papers
    query = "&".join(f"interest={kind}:{value}" for kind, value in INTERESTS)
    queries.clear()
    assert anonymous.get(f"/journal/sample?{query}").status_code == 200
    assert len(queries) <= 3, queries  # the full-text matches, the matching papers, beyond


def test_trial_ended_page_queries(papers, auth, client, queries):
    user = auth.create()
    User.update(trial_ends_at=datetime.datetime(2026, 11, 1)).where(User.id == user.id).execute()
    auth.login()
    queries.clear()
    assert client.get("/journal/issues").status_code == 403
    assert len(queries) <= 3, queries  # the reader, their notes, their starred papers


def test_nav_links_to_the_journal(reader, client):
    assert soup(client.get("/")).select_one("#nav-journal")["href"] == "/journal"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert soup(client.get("/")).select_one("#nav-journal")["href"] == "/journal/sample"


# --- the schema ---


def test_migration_4_adds_the_journal_to_a_database_made_before_it(papers):
    db = models.db
    # Take the database back to how migration 3 left it (migration 15's alerts refer to
    # issues: they go too, and come back after migration 4).
    db.drop_tables([models.CorrectionAlert, IssueEntry, Issue, Term, Interest])
    for index in [i.name for i in db.get_indexes("user") if "feed_key" in i.name]:
        db.execute_sql(f'DROP INDEX "{index}"')
    for column in ("issue_frequency", "email_issues", "feed_key"):
        db.execute_sql(f'ALTER TABLE "user" DROP COLUMN "{column}"')
    models.Migration.delete().where(models.Migration.number.in_([4, 15])).execute()
    db.execute_sql("INSERT INTO \"user\" (email, display_name, created_at, full_access) "
                   "VALUES ('old@example.org', 'Old', '2026-01-01 00:00:00', FALSE)")  # fmt: skip
    assert models.migrate() == [4, 15]
    old = User.by_email("old@example.org")
    assert (old.issue_frequency, old.email_issues, old.feed_key_hash) == ("weekly", False, None)
    assert models.migrate() == []
    assert any(i.unique for i in db.get_indexes("user") if i.columns == ["feed_key"])


def test_readme_documents_publishing_from_cron_and_systemd():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("## The Medical Journal of You") :]
    assert "flask --app app publish-issues --url" in section
    assert "OnCalendar=" in section and "crontab" in section
