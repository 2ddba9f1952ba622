"""Readers told of a paper's retraction, expression of concern or erratum (issue 11): who is
told (a note, a star, an issue; nobody else), once; their notes flagged; the journal page's
notice and its dismissal; the Corrections section of the next issue and its email. On the
demo papers, with the real Retraction Watch CSV sample's Wakefield row naming them."""

import datetime
import email
import email.policy

import pytest

import journal
import retractions
from models import Article, CorrectionAlert, Issue, IssueEntry, Note, Star, User
from tests import test_journal
from tests.conftest import csrf_token, soup
from tests.test_journal import NEXT_WEEK, THURSDAY, at
from tests.test_retractions import CSV

# The journal tests' fixtures: the demo papers added at one moment, a reader following
# test_journal's interests, signed in, and a real SMTP server.
papers, reader, smtp = test_journal.papers, test_journal.reader, test_journal.smtp
pytestmark = pytest.mark.clock(THURSDAY)

NOTED = 24997269  # the reader writes a note on it (not in their first issue)
ISSUED = 26702311  # first in the reader's first issue
RETRACTED_ON = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.UTC)  # the day after


def retract(tmp_path, *pmids, date="11/27/2026 0:00", nature="Retraction"):
    """The real CSV's header and its Wakefield retraction row (4036), once for each paper of
    `pmids` (Record IDs 4036, 4037 …), dated `date`; imported as import-retractions does."""
    header, *rows = CSV.read_bytes().decode("utf-8").split("\r\n")
    (row,) = [r for r in rows if r.startswith("4036,")]
    assert ",2/6/2010 0:00," in row and ",Retraction," in row
    lines = [header]
    for number, pmid in enumerate(pmids):
        line = row.replace(",9500320,", f",{pmid},").replace(",2/6/2010 0:00,", f",{date},")
        line = line.replace(",Retraction,", f",{nature},")
        lines.append(f"{4036 + number}{line[len('4036') :]}")
    path = tmp_path / f"rw-{'-'.join(map(str, pmids))}.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return retractions.import_csv(path)


def write_note(client, pmid, body):
    token = csrf_token(client, f"/articles/{pmid}")
    data = {"csrf_token": token, "body": body, "visibility": "shared"}
    response = client.post(f"/articles/{pmid}/notes", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)


def alerts():
    query = CorrectionAlert.select(User.email, CorrectionAlert.article, CorrectionAlert.nature,
                                   CorrectionAlert.connection).join(User)  # fmt: skip
    return sorted(query.tuples())


@pytest.fixture
def connected(reader, client, auth):
    """The reader wrote a note on NOTED and received ISSUED in their first issue; a colleague
    starred NOTED; a stranger starred and wrote a note on other papers, never these."""
    write_note(client, NOTED, "Check the *potassium* before starting.")
    journal.publish(reader)
    colleague = auth.create(email="colleague@example.org", name="Dr Colleague")
    Star.set(colleague, NOTED, True)
    stranger = auth.create(email="stranger@example.org", name="Dr Stranger")
    User.update(full_access=True).where(User.id.in_([colleague.id, stranger.id])).execute()
    Star.set(stranger, 26702318, True)
    Note.create(article=26702318, author=stranger, source="Other paper", html="<p>Other</p>")
    assert ISSUED in [e.article_id for e in IssueEntry.contents(Issue.of(reader).first())]
    return reader


def test_every_connected_reader_is_told_once_and_no_one_else(connected, tmp_path):
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED, ISSUED)
    assert alerts() == [
        ("colleague@example.org", NOTED, "retraction", CorrectionAlert.STAR),
        ("reader@example.org", NOTED, "retraction", CorrectionAlert.NOTE),
        ("reader@example.org", ISSUED, "retraction", CorrectionAlert.ISSUE),
    ]  # and nothing for the stranger
    assert {a.date for a in CorrectionAlert.select()} == {"2026-11-27"}
    told = [(a.id, a.created_at) for a in CorrectionAlert.select().order_by(CorrectionAlert.id)]
    # Importing again, or the same retraction from another source, tells nothing new.
    with at(NEXT_WEEK):
        retract(tmp_path, NOTED, ISSUED)
        retract(tmp_path, ISSUED)
    assert [(a.id, a.created_at) for a in CorrectionAlert.select()] == told
    # An erratum is another kind of change: told once more.
    with at(NEXT_WEEK):
        retract(tmp_path, NOTED, date="12/2/2026 0:00", nature="Correction")
    assert ("reader@example.org", NOTED, "correction", CorrectionAlert.NOTE) in alerts()
    assert len(alerts()) == 5


def test_a_reader_connected_after_the_notice_is_not_told(connected, tmp_path, auth):
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED)
    late = auth.create(email="late@example.org", name="Dr Late")
    Star.set(late, NOTED, True)
    with at(NEXT_WEEK):
        retract(tmp_path, NOTED)  # re-imported: not news
    assert "late@example.org" not in {email for email, *_ in alerts()}


def test_a_note_written_before_the_retraction_is_flagged(connected, client, auth, tmp_path):
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED)
    with at(NEXT_WEEK):
        auth.logout()
        auth.login(email="colleague@example.org")
        write_note(client, NOTED, "Written after the retraction.")
    page = soup(client.get(f"/articles/{NOTED}"))
    before, after = (
        Note.select().where(Note.article == NOTED).order_by(Note.created_at).limit(2)
    )  # fmt: skip
    flag = page.find(id=f"note-{before.id}-changed")
    assert " ".join(flag.get_text().split()) == (
        "The paper was retracted on 27 Nov 2026 — after this note was written."
    )
    assert page.find(id=f"note-{after.id}-changed") is None
    # The notes panel alone says it too.
    panel = soup(client.get(f"/articles/{NOTED}/notes", headers={"HX-Request": "true"}))
    assert panel.find(id=f"note-{before.id}-changed") is not None


def test_an_expression_of_concern_flags_notes_and_an_erratum_does_not(connected, client, tmp_path):
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED, nature="Correction")
    (note,) = Note.select().where(Note.article == NOTED)
    assert soup(client.get(f"/articles/{NOTED}")).find(id=f"note-{note.id}-changed") is None
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED, nature="Expression of concern")
    flag = soup(client.get(f"/articles/{NOTED}")).find(id=f"note-{note.id}-changed")
    assert " ".join(flag.get_text().split()) == (
        "The paper got an expression of concern on 27 Nov 2026 — after this note was written."
    )


# --- the journal page, the next issue, its email ---


def told_page(client, path="/journal"):
    return soup(client.get(path)).find("section", id="correction-alerts")


def test_the_journal_page_lists_unseen_alerts_until_dismissed(connected, client, tmp_path):
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED, ISSUED)
        notice = told_page(client)
        items = [" ".join(li.get_text().split()) for li in notice.find_all("li")]
        assert items[0].startswith("A paper from your journal was retracted on 27 Nov 2026: ")
        assert items[1].startswith("A paper you wrote a note on was retracted on 27 Nov 2026: ")
        links = [a["href"] for a in notice.find_all("a")]
        assert links == [f"/articles/{ISSUED}", f"/articles/{NOTED}"]
        assert told_page(client, "/journal/issues") is not None  # the archive too
        assert told_page(client, "/journal/issues/1") is not None
        # Without JavaScript: the form, then back to the page.
        form = notice.find("form")
        data = {i["name"]: i["value"] for i in form.find_all("input")}
        response = client.post(form["action"], data=data)
        assert response.status_code == 303 and response.location == "/journal"
        assert told_page(client) is None and told_page(client, "/journal/issues") is None
    assert all(a.seen_at for a in CorrectionAlert.select().where(CorrectionAlert.user == connected))


def test_dismissing_with_htmx_leaves_nothing_and_keeps_a_newer_alert(connected, client, tmp_path):
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED)
        form = told_page(client).find("form")
        data = {i["name"]: i["value"] for i in form.find_all("input")}
        retract(tmp_path, ISSUED)  # arrives after the page was shown
        headers = {"HX-Request": "true", "X-CSRFToken": data["csrf_token"]}
        response = client.post(form["hx-post"], data=data, headers=headers)
        assert response.status_code == 200 and response.get_data(as_text=True) == ""
        (left,) = told_page(client).find_all("li")
    assert f"/articles/{ISSUED}" in str(left)


def test_the_journal_page_stays_at_three_queries_with_alerts(connected, client, tmp_path, queries):
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED, ISSUED)
        for path in ("/journal", "/journal/issues/1", "/journal/issues"):
            queries.clear()
            assert told_page(client, path) is not None
            assert len(queries) <= 3, queries


def test_the_next_issue_opens_with_corrections_and_only_for_connected_readers(
    connected, client, tmp_path, auth
):
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED, ISSUED)
    stranger = User.by_email("stranger@example.org")
    test_journal.follow(stranger, test_journal.INTERESTS)
    with at(NEXT_WEEK):
        second, created = journal.publish(connected)
        theirs, _ = journal.publish(stranger)
    assert created and second.number == 2
    entries = list(IssueEntry.contents(second))
    corrections = [(e.position, e.section, e.article_id, e.reason) for e in entries[:2]]
    assert corrections == [
        (1, "Corrections", NOTED, "Retracted on 27 Nov 2026 · you wrote a note on it"),
        (2, "Corrections", ISSUED, "Retracted on 27 Nov 2026 · it was in your journal"),
    ]
    assert all(e.section != "Corrections" for e in entries[2:])
    assert [e.position for e in entries] == list(range(1, len(entries) + 1))
    assert all(e.section != "Corrections" for e in IssueEntry.contents(theirs))
    assert {a.issued_in_id for a in CorrectionAlert.select().where(
        CorrectionAlert.user == connected)} == {second.id}  # fmt: skip
    # The page lists the section first.
    with at(NEXT_WEEK):
        page = soup(client.get("/journal/issues/2"))
    first = page.find("section", class_="toc-section")
    assert first.find(class_="toc-heading").get_text() == "Corrections"
    assert [a["href"] for a in first.select("a.entry-title")] == [
        f"/articles/{NOTED}", f"/articles/{ISSUED}"
    ]  # fmt: skip
    # Printed once: the issue after it has no Corrections, and the journal still ranks.
    with at(NEXT_WEEK + datetime.timedelta(days=7)):
        third, created = journal.publish(connected)
    assert created and all(e.section != "Corrections" for e in IssueEntry.contents(third))


def test_the_emailed_issue_carries_the_corrections_first(connected, runner, smtp, tmp_path):
    User.update(email_issues=True).where(User.id == connected.id).execute()
    with at(RETRACTED_ON):
        retract(tmp_path, NOTED)
    # A paper on atrial fibrillation arrives too (as in test_journal).
    Article.update(added_at=datetime.datetime(2026, 11, 27, 9, 0)).where(
        Article.pmid == 26702318
    ).execute()
    with at(NEXT_WEEK):
        result = runner.invoke(args=["publish-issues", "--url", "https://pearl.example.org"])
    assert "1 emailed" in result.output, result.output
    (message,) = [m for m in smtp.messages if m.rcpt_tos == ["reader@example.org"]]
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    body = parsed.get_content().replace("\r\n", "\n")
    assert body.index("\nCORRECTIONS\n") < body.index("\nATRIAL FIBRILLATION\n")
    assert "   Retracted on 27 Nov 2026 · you wrote a note on it\n" in body
    assert f"https://pearl.example.org/articles/{NOTED}" in body
    (alert,) = CorrectionAlert.select().where(CorrectionAlert.user == connected)
    assert alert.emailed_at is not None and alert.issued_in_id is not None
