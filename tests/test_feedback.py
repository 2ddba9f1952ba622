"""Feedback that learns: "More like this" / "Fewer like this" on the entries of a reader's
issues (set, changed, taken back; in place with htmx, a 303 without JavaScript), the term
weights preferences.py learns from them on the real demo papers, a later issue ranked by
them (stored issues and the visitors' sample untouched), what the settings page says the
journal has learnt, and its reset."""

import datetime
import math

import pytest

import journal
import models
from models import Article, Feedback, Interest, Issue, IssueEntry, User
from preferences import DAMPING, MAX_DELTA, PRESENCE, Preferences, paper_terms
from tests import test_journal
from tests.conftest import soup
from tests.test_journal import EXPECTED, NEXT_WEEK, THURSDAY, at, form_post, hx

# The journal tests' fixtures: the demo papers added at one moment, a reader following
# test_journal.INTERESTS with full access, signed in.
papers = test_journal.papers
reader = test_journal.reader

pytestmark = pytest.mark.clock(THURSDAY)

AF_REVIEW = 26702311  # keywords: Arrhythmia, Atrial fibrillation, Exercise, …
AF_PAPERS = (26702311, 26702159, 26702312)  # the first issue's three "Atrial fibrillation" papers
AF_LATER = 26702318  # another paper with the keyword, not in the first issue
NSCLC_TRIAL = 22508830  # major topics Lung Neoplasms, Carcinoma, Non-Small-Cell Lung, …
LUNG_LATER = 20501835  # heading Lung Neoplasms; not in the first issue
NSCLC_LATER = 21933749  # major topics Lung Neoplasms and Carcinoma, Non-Small-Cell Lung


@pytest.fixture
def issue(reader, client):
    """The reader's first issue, published by opening the journal."""
    with at(THURSDAY):
        client.get("/journal")
    return Issue.get(Issue.user == reader.id)


def entry_of(issue, pmid):
    return IssueEntry.get((IssueEntry.issue == issue) & (IssueEntry.article == pmid))


def verdict_of(reader, pmid):
    row = Feedback.get_or_none((Feedback.user == reader.id) & (Feedback.article == pmid))
    return row.verdict if row else 0


def buttons(html, entry):
    """The entry's (More, Fewer) buttons."""
    return html.select_one(f"#entry-{entry.id}-more"), html.select_one(f"#entry-{entry.id}-fewer")


def feedback(client, entry, verdict):
    return hx(client, "post", f"/journal/entries/{entry.id}/feedback", verdict=verdict)


# --- the buttons ---


def test_more_like_this_then_fewer_then_taken_back_in_place(reader, client, issue):
    entry = entry_of(issue, AF_REVIEW)
    response = feedback(client, entry, "more")
    assert response.status_code == 200
    fragment = soup(response)
    assert fragment.find("html") is None
    more, fewer = buttons(fragment.select_one(f"li#entry-{entry.id}"), entry)
    assert (more["aria-pressed"], fewer["aria-pressed"]) == ("true", "false")
    # Pressing a pressed button again takes it back; the other one changes the verdict.
    assert (more["value"], fewer["value"]) == ("none", "fewer")
    assert more.has_attr("autofocus") and not fewer.has_attr("autofocus")
    note = fragment.select_one(f"#entry-{entry.id}-feedback-note")
    assert note.text == "Thanks — later issues will have more like this."
    # The page's live region (there before the swap) gets the same words, out of band.
    announce = fragment.select_one("#journal-announce")
    assert announce["hx-swap-oob"] == "innerHTML" and announce.text == note.text
    assert verdict_of(reader, AF_REVIEW) == Feedback.MORE

    fragment = soup(feedback(client, entry, "fewer"))
    more, fewer = buttons(fragment, entry)
    assert (more["aria-pressed"], fewer["aria-pressed"]) == ("false", "true")
    assert (more["value"], fewer["value"]) == ("more", "none")
    assert fewer.has_attr("autofocus")
    assert "fewer like this" in fragment.select_one(f"#entry-{entry.id}-feedback-note").text
    assert verdict_of(reader, AF_REVIEW) == Feedback.FEWER
    assert Feedback.select().count() == 1  # changed, not added

    fragment = soup(feedback(client, entry, "none"))  # "Fewer like this" pressed again
    more, fewer = buttons(fragment, entry)
    assert (more["aria-pressed"], fewer["aria-pressed"]) == ("false", "false")
    assert fewer.has_attr("autofocus")  # focus stays on the button pressed
    assert fragment.select_one(f"#entry-{entry.id}-feedback-note").text.startswith("Taken back")
    assert Feedback.select().count() == 0


def test_the_verdict_shows_when_the_issue_is_loaded_again(reader, client, issue, queries):
    liked, disliked = entry_of(issue, AF_REVIEW), entry_of(issue, NSCLC_TRIAL)
    feedback(client, liked, "more")
    feedback(client, disliked, "fewer")
    queries.clear()
    page = soup(client.get("/journal/issues/1"))
    assert len(queries) <= 3, queries  # the verdicts come with the papers, in one query
    assert [b["aria-pressed"] for b in buttons(page, liked)] == ["true", "false"]
    assert [b["aria-pressed"] for b in buttons(page, disliked)] == ["false", "true"]
    pressed = page.select("button.feedback-button[aria-pressed=true]")
    assert len(pressed) == 2
    assert page.select_one("#journal-announce[role=status]").text == ""
    # No confirmation on a page loaded later: it was said when the button was pressed.
    assert page.select_one(".entry-feedback-note") is None
    # The starred page lists entries with the same buttons and verdicts.
    form_post(client, f"/journal/entries/{liked.id}/star", starred="1")
    starred = soup(client.get("/journal/starred"))
    assert [b["aria-pressed"] for b in buttons(starred, liked)] == ["true", "false"]
    assert starred.select_one("#journal-announce[role=status]") is not None


def test_every_feedback_button_names_its_paper(reader, client, issue):
    page = soup(client.get("/journal/issues/1"))
    entries = page.select("li.entry")
    assert len(entries) == len(EXPECTED)
    names = [b["aria-label"] for b in page.select("button.feedback-button")]
    assert len(names) == 2 * len(entries) == len(set(names))  # no two alike
    entry = entry_of(issue, AF_REVIEW)
    more, fewer = buttons(page, entry)
    title = Article.get_by_id(AF_REVIEW).title_text
    assert (more.get_text(), more["aria-label"]) == ("More like this", f"More like this: {title}")
    assert (fewer.get_text(), fewer["aria-label"]) == (
        "Fewer like this",
        f"Fewer like this: {title}",
    )
    form = more.find_parent("form")
    assert form["action"] == form["hx-post"] == f"/journal/entries/{entry.id}/feedback"
    assert form.select_one("input[name=csrf_token]") is not None


def test_feedback_without_javascript_comes_back_to_the_entry(reader, client, issue):
    entry = entry_of(issue, AF_REVIEW)
    response = form_post(client, f"/journal/entries/{entry.id}/feedback", verdict="more")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/journal/issues/1#entry-{entry.id}"
    page = soup(client.get("/journal/issues/1"))
    assert page.select_one(".flash").text == "Thanks — later issues will have more like this."
    assert [b["aria-pressed"] for b in buttons(page, entry)] == ["true", "false"]
    assert verdict_of(reader, AF_REVIEW) == Feedback.MORE
    response = form_post(client, f"/journal/entries/{entry.id}/feedback", verdict="none")
    assert response.status_code == 303 and verdict_of(reader, AF_REVIEW) == 0


def test_feedback_needs_the_csrf_token_and_a_verdict(reader, client, issue):
    entry = entry_of(issue, AF_REVIEW)
    url = f"/journal/entries/{entry.id}/feedback"
    assert client.post(url, data={"verdict": "more"}).status_code == 400
    assert form_post(client, url, verdict="lots").status_code == 400
    assert form_post(client, url).status_code == 400
    assert Feedback.select().count() == 0


def test_another_readers_entry_is_not_found_and_verdicts_stay_private(reader, client, issue, auth):
    mine = entry_of(issue, AF_REVIEW)
    feedback(client, mine, "more")
    auth.logout()
    other = auth.create(email="other@example.org")
    User.update(full_access=True).where(User.id == other.id).execute()
    Interest.create(user=other.id, kind="keyword", value="Atrial fibrillation",
                    key="atrial fibrillation")  # fmt: skip
    auth.login(email="other@example.org")
    response = form_post(client, f"/journal/entries/{mine.id}/feedback", verdict="fewer")
    assert response.status_code == 404
    assert verdict_of(reader, AF_REVIEW) == Feedback.MORE
    # Their own issue lists the same paper: my verdict is not theirs.
    with at(THURSDAY):
        client.get("/journal")
    theirs = entry_of(Issue.get(Issue.user == other.id), AF_REVIEW)
    page = soup(client.get("/journal/issues/1"))
    assert [b["aria-pressed"] for b in buttons(page, theirs)] == ["false", "false"]


# --- what the journal learns ---


def rate(reader, *verdicts):
    with models.db.atomic():
        for pmid, verdict in verdicts:
            Feedback.set(reader, pmid, verdict)


def test_paper_terms_weigh_major_topics_and_leave_out_check_tags(papers):
    trial = Article.get_by_id(NSCLC_TRIAL)
    terms = paper_terms(trial.mesh, trial.keywords)
    assert terms["lung neoplasms"] == ("Lung Neoplasms", PRESENCE["major"])
    assert terms["carcinoma, non-small-cell lung"][1] == PRESENCE["major"]
    assert terms["cadherins"] == ("Cadherins", PRESENCE["heading"])
    assert not {"humans", "female", "male", "aged", "middle aged"} & terms.keys()
    review = Article.get_by_id(AF_REVIEW)
    assert paper_terms(review.mesh, review.keywords)["atrial fibrillation"] == (
        "Atrial fibrillation",
        PRESENCE["keyword"],
    )


def test_no_feedback_is_an_empty_preferences_from_one_query(reader, queries):
    queries.clear()
    preferences = Preferences.for_reader(reader)
    assert len(queries) == 1
    assert not preferences and preferences.rated == 0
    trial = Article.get_by_id(NSCLC_TRIAL)
    assert preferences.adjust(trial.mesh, trial.keywords) == (0.0, None)
    assert Preferences.for_reader(None).adjust(trial.mesh, trial.keywords) == (0.0, None)


def test_three_likes_rank_a_paper_with_their_keyword_up(reader):
    rate(reader, *((pmid, Feedback.MORE) for pmid in AF_PAPERS))
    preferences = Preferences.for_reader(reader)
    assert (preferences.rated, preferences.liked, preferences.disliked) == (3, 3, 0)
    later = Article.get_by_id(AF_LATER)
    delta, phrase = preferences.adjust(later.mesh, later.keywords)
    # Three keyword clicks (0.6 each), damped, then the paper's own keyword (0.6).
    weight = math.tanh(3 * PRESENCE["keyword"] / DAMPING)
    assert delta == pytest.approx(MAX_DELTA * math.tanh(weight * PRESENCE["keyword"]))
    assert delta == pytest.approx(0.0779, abs=1e-4)
    assert phrase == "ranked up: you liked 3 papers on Atrial fibrillation"
    # A paper on nothing the reader rated does not move.
    trial = Article.get_by_id(NSCLC_TRIAL)
    assert preferences.adjust(trial.mesh, trial.keywords) == (0.0, None)


def test_one_click_nudges_and_many_push_never_past_the_cap(reader):
    later = Article.get_by_id(NSCLC_LATER)
    rate(reader, (NSCLC_TRIAL, Feedback.MORE))
    one, phrase = Preferences.for_reader(reader).adjust(later.mesh, later.keywords)
    # Three shared major topics (Lung Neoplasms, NSCLC, Pyridines), one click: tanh(1/3) each.
    assert one == pytest.approx(MAX_DELTA * math.tanh(3 * math.tanh(1 / DAMPING)))
    assert 0.15 < one < 0.2
    assert phrase == "ranked up: you liked 1 paper on Carcinoma, Non-Small-Cell Lung"
    # Every paper with MeSH headings liked: the push grows and levels off below the cap.
    rated = [pmid for (pmid,) in Article.select(Article.pmid).where(Article.mesh != "[]").tuples()]
    rate(reader, *((pmid, Feedback.MORE) for pmid in rated))
    many, phrase = Preferences.for_reader(reader).adjust(later.mesh, later.keywords)
    assert one < many < MAX_DELTA
    assert phrase.startswith("ranked up: you liked ")


def test_fewer_like_this_ranks_down(reader):
    rate(reader, (NSCLC_TRIAL, Feedback.FEWER))
    later = Article.get_by_id(LUNG_LATER)
    delta, phrase = Preferences.for_reader(reader).adjust(later.mesh, later.keywords)
    assert delta == pytest.approx(-MAX_DELTA * math.tanh(math.tanh(1 / DAMPING)))
    assert phrase == "ranked down: you asked for fewer like 1 paper on Lung Neoplasms"
    # A like and a dislike on the same subject cancel out.
    rate(reader, (23415808, Feedback.MORE))  # also a major topic Lung Neoplasms
    preferences = Preferences.for_reader(reader)
    assert preferences.terms["lung neoplasms"].raw == 0
    assert (
        preferences.terms["lung neoplasms"].liked,
        preferences.terms["lung neoplasms"].disliked,
    ) == (1, 1)


def test_a_later_issue_ranks_by_the_readers_feedback(reader, client, issue):
    before = [(e.article_id, e.score, e.reason) for e in IssueEntry.contents(issue)]
    assert hx(client, "post", f"/journal/entries/{entry_of(issue, NSCLC_TRIAL).id}/feedback",
              verdict="more").status_code == 200  # fmt: skip
    # New papers arrive the next day: everything the first issue did not hold.
    arrived = datetime.datetime(2026, 11, 27, 9, 0)
    first = [pmid for pmid, _, _ in before]
    Article.update(added_at=arrived).where(Article.pmid.not_in(first)).execute()
    interests = list(Interest.of(reader))
    with at(NEXT_WEEK):
        # The order the second issue would have without the feedback.
        plain = journal.assemble(interests, since=issue.covers_until, until=models.utcnow())
        assert client.get("/journal").status_code == 200
    second = Issue.get((Issue.user == reader.id) & (Issue.number == 2))
    ranked = {e.article_id: e for e in IssueEntry.contents(second)}
    without = {e.article.pmid: e for e in plain}
    assert set(ranked) == set(without)  # the same papers, in another order
    # A paper sharing the liked paper's major topic Lung Neoplasms climbs (and its section
    # with it, sections going in the order of their best paper).
    assert ranked[LUNG_LATER].position < without[LUNG_LATER].position
    assert ranked[LUNG_LATER].score > without[LUNG_LATER].score
    assert ranked[LUNG_LATER].reason == (
        f"{without[LUNG_LATER].reason} · ranked up: you liked 1 paper on Lung Neoplasms"
    )
    assert "ranked up" in ranked[NSCLC_LATER].reason
    # Papers sharing nothing with it keep their score and say nothing of feedback.
    malaria = ranked[26702309]
    assert malaria.score == without[26702309].score and "ranked" not in malaria.reason
    # The first issue, stored before, is as it was; the visitors' sample knows no reader.
    assert [(e.article_id, e.score, e.reason) for e in IssueEntry.contents(issue)] == before
    Article.update(added_at=datetime.datetime(2026, 11, 20, 8, 0)).execute()
    assert [(e.position, e.section, e.article.pmid) for e in journal.sample(interests)] == EXPECTED


# --- settings ---


def test_settings_say_what_the_journal_has_learnt_and_reset_it(reader, client, issue):
    page = soup(client.get("/journal/settings"))
    assert "Nothing yet" in page.select_one("#learnt-none").text
    assert page.select_one("#learnt-reset") is None
    rate(reader, (AF_PAPERS[0], Feedback.MORE), (AF_PAPERS[1], Feedback.MORE),
         (NSCLC_TRIAL, Feedback.FEWER))  # fmt: skip
    page = soup(client.get("/journal/settings"))
    summary = " ".join(page.select_one("#learnt-summary").text.split())
    assert summary.startswith("You rated 3 papers: 2 “more like this”, 1 “fewer like this”.")
    up = [" ".join(li.text.split()) for li in page.select("#learnt-up li")]
    assert up[0] == "Atrial fibrillation (2 more like this)"
    down = [" ".join(li.text.split()) for li in page.select("#learnt-down li")]
    assert down[:2] == [
        "Benzamides (1 fewer like this)",
        "Carcinoma, Non-Small-Cell Lung (1 fewer like this)",
    ]
    assert len(down) == 5
    form = page.select_one("#learnt-reset").find_parent("form")
    assert form["action"] == form["hx-post"] == "/journal/feedback/reset"

    response = hx(client, "post", "/journal/feedback/reset")
    fragment = soup(response)
    assert fragment.find("html") is None
    assert fragment.select_one("#settings-status").text == (
        "Feedback reset: the journal has forgotten the 3 papers you rated."
    )
    assert fragment.select_one("#learnt-none") is not None
    assert fragment.select_one("#learnt-heading").has_attr("autofocus")
    assert Feedback.select().count() == 0


def test_reset_without_javascript(reader, client, issue, auth):
    rate(reader, (AF_REVIEW, Feedback.MORE))
    response = form_post(client, "/journal/feedback/reset")
    assert response.status_code == 303
    assert response.headers["Location"] == "/journal/settings#learnt"
    page = soup(client.get("/journal/settings"))
    assert page.select_one(".flash").text == (
        "Feedback reset: the journal has forgotten the 1 paper you rated."
    )
    assert page.select_one("#learnt-none") is not None
    assert form_post(client, "/journal/feedback/reset").status_code == 303
    assert soup(client.get("/journal/settings")).select_one(".flash").text == (
        "There was no feedback to forget."
    )
    # Only the reader's own feedback goes.
    other = auth.create(email="other@example.org")
    rate(other, (AF_REVIEW, Feedback.FEWER))
    form_post(client, "/journal/feedback/reset")
    assert Feedback.select().where(Feedback.user == other).count() == 1
    assert client.post("/journal/feedback/reset", data={}).status_code == 400  # no CSRF token


def test_migration_12_creates_the_feedback_table(papers):
    models.db.drop_tables([Feedback])
    models.Migration.delete().where(models.Migration.number == 12).execute()
    assert models.migrate() == [12]
    assert models.migrate() == []
    indexes = models.db.get_indexes("feedback")
    assert any(i.unique and i.columns == ["user_id", "article_id"] for i in indexes)
