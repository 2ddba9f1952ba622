"""Readers told of a paper's retraction, expression of concern or erratum (issue 11): who is
told (a note, a star, an issue; nobody else), once; their notes flagged; the journal page's
notice and its dismissal; the Corrections section of the next issue and its email. On the
demo papers, with the real Retraction Watch CSV sample's Wakefield row naming them."""

import datetime

import pytest

import journal
import retractions
from models import CorrectionAlert, Issue, IssueEntry, Note, Star, User
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
RETRACTED_ON = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)  # a Tuesday


def retract(tmp_path, *pmids, date="12/1/2026 0:00", nature="Retraction"):
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
    assert {a.date for a in CorrectionAlert.select()} == {"2026-12-01"}
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
        "The paper was retracted on 1 Dec 2026 — after this note was written."
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
        "The paper got an expression of concern on 1 Dec 2026 — after this note was written."
    )
