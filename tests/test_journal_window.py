"""The journal inside its window: a later issue holds every new match even when the library
holds more old matches than an interest's candidates (the bug a million papers showed), no
paper comes twice, the reader's issue size and what the issue spared them, and the three
query plans of models.issue_candidates agreeing with a plain reading of the papers."""

import datetime

import pytest
import time_machine

import importer
import journal
import models
from models import Arm, Article, ArticleFacet, Interest, Issue, IssueEntry, User
from tests.conftest import DATA, soup
from tests.test_concurrency import renumbered_demo

OLD = datetime.datetime(2026, 11, 2, 8, 0)  # when the library's first papers arrived
THURSDAY = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC)  # week of Mon 23 Nov
ARRIVED = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.UTC)  # the new papers
NEXT_WEEK = datetime.datetime(2026, 12, 2, 7, 0, tzinfo=datetime.UTC)  # week of Mon 30 Nov

pytestmark = pytest.mark.clock(THURSDAY)


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def big_library(app, tmp_path):
    """1,812 papers: the demo's 604 (kept) and two renumbered copies, all added at OLD, so
    more than journal.TEXT_MATCHES papers match "Humans" before any new one arrives."""
    summary = importer.import_file(renumbered_demo(tmp_path / "copies.xml.gz", copies=2))
    assert summary.added == 1208
    Article.update(added_at=OLD).execute()
    return app


def new_papers(tmp_path):
    """604 papers arriving at ARRIVED: the demo file once more, renumbered a third time."""
    with at(ARRIVED):
        summary = importer.import_file(renumbered_demo(tmp_path / "new.xml.gz", copies=3))
    assert summary.added == 604  # copies 1 and 2 were there already; copy 3 is new
    return {pmid for (pmid,) in Article.select(Article.pmid).where(Article.pmid > 300_000_000)
            .tuples()}  # fmt: skip


def articles_pmids(pmids=None):
    """The journal articles (publication type), read from their records."""
    query = Article.select(Article.pmid, Article.publication_types)
    return {pmid for pmid, types in query.tuples() if "Journal Article" in types
            and (pmids is None or pmid in pmids)}  # fmt: skip


def follower(auth, interests, size=20):
    user = auth.create()
    User.update(full_access=True, issue_size=size).where(User.id == user.id).execute()
    for kind, value in interests:
        Interest.create(user=user, kind=kind, value=value, key=value.lower())
    return User.get_by_id(user.id)


def issued(issue):
    return [e.article_id for e in IssueEntry.select().where(IssueEntry.issue == issue)]


def test_a_later_issue_holds_the_new_matches_however_many_old_ones_there_are(
    big_library, auth, tmp_path
):
    reader = follower(auth, [("type", "Journal Article"), ("keyword", "patients")])
    text = models.search_index.scores_many(["patients"], limit=100_000)[0]
    # The old matches alone are more than an interest's candidates, for both kinds.
    assert min(len(articles_pmids()), len(text)) > journal.TEXT_MATCHES
    with at(THURSDAY):
        first, _ = journal.publish(reader)
    assert len([e for e in first.entries if not e.beyond]) == 20
    assert first.matched > journal.TEXT_MATCHES  # counted beyond what was read

    arrived = new_papers(tmp_path)
    with at(NEXT_WEEK):
        second, created = journal.publish(reader)
    assert created
    entries = [e for e in second.entries if not e.beyond]
    assert len(entries) == 20
    assert {e.article_id for e in second.entries} <= arrived  # only papers of its window
    assert {e.section for e in entries} == {"Journal Article", "patients"}
    # Every new journal article, or paper saying "patients", was counted.
    text = models.search_index.scores_many(["patients"], limit=100_000)[0]
    assert second.matched == len(articles_pmids(arrived) | (set(text) & arrived))
    assert not set(issued(first)) & set(issued(second))


def test_a_paper_that_comes_back_is_not_repeated(big_library, auth):
    reader = follower(auth, [("journal", "Fertility and sterility")])
    with at(THURSDAY):
        first, _ = journal.publish(reader)
    # The papers of the first issue are withdrawn and imported again: new in the library.
    again = issued(first)
    Article.update(added_at=ARRIVED.replace(tzinfo=None)).where(Article.pmid.in_(again)).execute()
    with at(NEXT_WEEK):
        second, _ = journal.publish(reader)
    assert not set(again) & set(issued(second))
    assert second.matched == 0
    assert second.spared(0) is None  # nothing to say: the page says no paper matched


def test_the_issue_size_is_the_readers_and_the_issue_says_what_it_spared(big_library, auth, client):
    reader = follower(auth, [("journal", "Fertility and sterility")], size=5)
    with at(THURSDAY):
        issue, _ = journal.publish(reader)
    fertility = ArticleFacet.select().where(
        (ArticleFacet.kind == "ta") & (ArticleFacet.key == "fertility and sterility")
    )
    assert issue.matched == fertility.count() == 3 * 38  # its 38 papers, three times
    entries = [e for e in issue.entries if not e.beyond]
    assert len(entries) == 5
    assert (
        issue.spared(5)
        == "114 papers in the library matched your interests; these 5 are the strongest."
    )
    auth.login(reader.email)
    page = soup(client.get("/journal"))
    assert page.select_one("#issue-spared").text == issue.spared(5)


def test_the_spared_line_in_words():
    issue = Issue(matched=1284, covers_from=datetime.datetime(2026, 11, 23))
    assert (
        issue.spared(20) == "1,284 new papers matched your interests; these 20 are the strongest."
    )
    assert Issue(matched=1, covers_from=issue.covers_from).spared(1) == (
        "1 new paper matched your interests."
    )
    assert Issue(matched=10_001, covers_from=None).spared(1) == (
        "More than 10,000 papers in the library matched your interests; this is the strongest."
    )
    assert Issue(matched=None).spared(3) is None  # an issue from before issues counted


def test_the_reader_sets_the_size_in_settings(app, auth, client):
    reader = follower(auth, [("journal", "Fertility and sterility")])
    auth.login(reader.email)
    page = soup(client.get("/journal/settings"))
    assert page.select_one("#issue-size-20").has_attr("checked")
    token = page.select_one("meta[name=csrf-token]")["content"]
    form = {"csrf_token": token, "frequency": "weekly", "issue_size": "10"}
    assert client.post("/journal/settings", data=form).status_code == 303
    assert User.get_by_id(reader.id).issue_size == 10
    refused = client.post("/journal/settings", data={**form, "issue_size": "1000"})
    assert refused.status_code == 422
    page = soup(refused)
    assert "Choose 5, 10, 20, 30 or 50 papers." in page.select_one("#issue-size-error").text
    assert User.get_by_id(reader.id).issue_size == 10


# --- the query plans agree with the papers ---


def plainly(arm, window, reader_id, limit):
    """What a side-table arm must find, read from the rows in Python: the window's papers
    with one of the keys, in none of the reader's issues, newest PMID first, at most `limit`."""
    rows = ArticleFacet.select(ArticleFacet.pmid).where(
        (ArticleFacet.kind == arm.facet) & ArticleFacet.key.in_(list(arm.keys))
    )
    keyed = {pmid for (pmid,) in rows.tuples()}
    seen = set()
    if reader_id is not None:
        seen = {
            e.article_id for e in IssueEntry.select().join(Issue).where(Issue.user == reader_id)
        }
    papers = [
        pmid
        for pmid, added in Article.select(Article.pmid, Article.added_at).tuples()
        if pmid in keyed
        and pmid not in seen
        and (window.since is None or added >= window.since)
        and (window.until is None or added < window.until)
    ]
    return sorted(papers, reverse=True)[:limit]


@pytest.mark.parametrize("small", [10, 20_000])  # both plans: small window, newest PMIDs
def test_every_plan_finds_what_the_papers_say(big_library, auth, tmp_path, small):
    reader = follower(auth, [("mesh", "Humans")])
    with at(THURSDAY):
        journal.publish(reader)  # so the reader has papers the plans must leave out
    new_papers(tmp_path)
    candidates = type(models.issue_candidates.current)()  # the engine's own, to tune
    candidates.SMALL = small
    arms = [
        Arm(facet="mh", keys=("humans",)),  # common
        Arm(facet="ta", keys=("fertility and sterility",)),  # rare
        Arm(facet="pt", keys=("review", "meta-analysis")),  # two keys
        Arm(facet="majr", keys=("no such heading",)),  # nothing
    ]
    windows = [
        candidates.plan(None, None),
        candidates.plan(None, NEXT_WEEK.replace(tzinfo=None)),
        candidates.plan(THURSDAY.replace(tzinfo=None), NEXT_WEEK.replace(tzinfo=None)),
        candidates.plan(OLD, ARRIVED.replace(tzinfo=None)),
    ]
    for window in windows:
        for reader_id in (None, reader.id):
            found, read = candidates.best(arms, window, reader_id, 50)
            assert set(read) == {pmid for got in found for pmid in got}
            for arm, got in zip(arms, found, strict=True):
                expected = plainly(arm, window, reader_id, 50)
                assert list(got) == expected, (arm, window, reader_id)
            everything = set().union(*(plainly(arm, window, reader_id, 10**6) for arm in arms))
            assert candidates.count(arms, window, reader_id, 10**6) == len(everything)
            assert candidates.count(arms, window, reader_id, 20) == min(21, len(everything))


# --- MeSH as a hierarchy ---


def test_a_heading_brings_its_narrower_headings_once_the_tree_is_imported(app):
    from pubmed.mesh import read_descriptors  # noqa: PLC0415

    heart = [Interest(kind="mesh", value="Heart Diseases")]
    cardiovascular = [Interest(kind="mesh", value="cardiovascular diseases")]
    # No demo paper carries Heart Diseases itself: without the tree, nothing matches.
    assert [e for e in journal.assemble(heart) if not e.beyond] == []
    assert journal.matches(heart) == 0
    slice_file = DATA / "mesh" / "mesh_cardiovascular_slice.xml"
    models.MeshDescriptor.replace_tree(read_descriptors(slice_file))
    # Myocardial Infarction (C14.280.647.500) is below Heart Diseases (C14.280).
    entries = [e for e in journal.assemble(heart) if not e.beyond]
    assert [(e.section, e.article.pmid) for e in entries] == [("Heart Diseases", 25440500)]
    assert entries[0].reason.startswith("Matches Heart Diseases")
    assert journal.matches(heart) == 1
    # The top of the tree brings the paper filed under it and the one below.
    found = {e.article.pmid for e in journal.assemble(cardiovascular) if not e.beyond}
    assert found == {25179794, 25440500}


# --- clinical filters ---


def test_every_clinical_filter_is_a_valid_query_and_finds_its_kind_of_paper(app):
    import clinical  # noqa: PLC0415

    for name in clinical.FILTERS:
        entries = journal.assemble([Interest(kind="filter", value=name)], beyond=0)
        assert entries, name  # every filter finds something among the demo's 604 papers
        assert {e.section for e in entries} == {name}
    narrow = journal.assemble(
        [Interest(kind="filter", value="Therapy (narrow)")], size=50, beyond=0
    )
    for entry in narrow:
        text = " ".join([entry.article.title_text, *(entry.article.publication_types)]).lower()
        record = Article.get_by_id(entry.article.pmid)
        words = text + " " + " ".join(s["text"] for s in record.abstract).lower()
        assert "randomized controlled trial" in text or all(
            word in words for word in ("random", "control", "trial")
        ), entry.article.pmid
    assert journal.matches([Interest(kind="filter", value="Therapy (narrow)")]) >= len(narrow)
    assert journal.assemble([Interest(kind="filter", value="No such filter")], beyond=0) == []


def test_a_clinical_filter_is_followed_from_the_picker(app, auth, client):
    reader = follower(auth, [])
    auth.login(reader.email)
    page = soup(client.get("/journal/interests"))
    button = page.select_one("#interest-filters button[value='filter:Therapy (narrow)']")
    assert button.text == "Follow Therapy (narrow)"
    token = page.select_one("meta[name=csrf-token]")["content"]
    added = client.post("/journal/interests", data={"csrf_token": token, "pick": button["value"]})
    assert added.status_code == 303
    assert [(i.kind, i.value) for i in Interest.of(reader)] == [("filter", "Therapy (narrow)")]
    page = soup(client.get("/journal/interests"))
    assert "Clinical filter" in page.select_one("#interest-list").text
    assert "following" in page.select_one("#interest-filters").text
    refused = client.post(
        "/journal/interests", data={"csrf_token": token, "pick": "filter:Astrology (broad)"}
    )
    assert refused.status_code == 422
    assert "There is no clinical filter called “Astrology (broad)”" in refused.text
    Article.update(added_at=OLD).execute()  # the demo papers came before the issue
    with at(THURSDAY):
        issue, _ = journal.publish(User.get_by_id(reader.id))
    assert {e.section for e in issue.entries if not e.beyond} == {"Therapy (narrow)"}


def test_every_star_and_read_button_names_its_paper(app, auth, client):
    reader = follower(auth, [("journal", "Fertility and sterility")])
    Article.update(added_at=OLD).execute()
    auth.login(reader.email)
    with at(THURSDAY):
        page = soup(client.get("/journal"))
    entries = page.select("li.entry")
    assert entries
    names = set()
    for entry in entries:
        title = " ".join(entry.select_one(".entry-title").text.split())
        for button, visible in ((entry.select_one("[id$=-star]"), "Star"),
                                (entry.select_one("[id$=-read]"), "Mark read")):  # fmt: skip
            assert button.text.strip() == visible
            assert " ".join(button["aria-label"].split()) == f"{visible}: {title}"
            names.add(button["aria-label"])
    assert len(names) == 2 * len(entries)  # no two buttons share a name
