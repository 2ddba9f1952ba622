"""`flask sync` against a local server shaped like NCBI's: esearch (with the history server)
and efetch answered from the real demo records, a directory of update files built from real
records with their `.md5`s; 429s, a window over 10,000, a connection dropped mid-file, a bad
checksum. End to end: a reader follows an interest, sync brings the papers, publish-issues
(or `daily`) puts them in the next issue. The clock is pinned: nothing depends on today."""

import datetime
import gzip
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from lxml import etree

import journal
import models
from models import Article, Interest, Issue, IssueEntry, SyncRun, User
from pubmed import eutils
from tests.conftest import DATA, DEMO_FILE, make_app, soup

THURSDAY = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC)
NEXT_WEEK = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.UTC)
pytestmark = pytest.mark.clock(THURSDAY)

HEADER = (
    b'<?xml version="1.0" ?>\n'
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
    b"<PubmedArticleSet>\n"
)
FOOTER = b"</PubmedArticleSet>\n"
CLAUSE = re.compile(r'"([^"]+)"\[(\w+)\]|\(([^()]+)\)')
UPDATES = "/pubmed/updatefiles/"


# --- the records ---


@dataclass
class Record:
    """One real record as the fake PubMed holds it: its XML and what esearch matches on."""

    pmid: int
    xml: bytes  # a <PubmedArticle>
    entered: datetime.date  # its Entrez date (edat)
    fields: dict = field(default_factory=dict)


def _fields(citation):
    text = " ".join(
        [citation.xpath("string(Article/ArticleTitle)")]
        + [t.xpath("string()") for t in citation.findall("Article/Abstract/AbstractText")]
    )
    return {
        "tiab": " ".join(text.lower().split()),
        "mh": {
            d.text.lower() for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")
        },
        "ta": {
            (citation.findtext("MedlineJournalInfo/MedlineTA") or "").lower(),
            (citation.findtext("Article/Journal/Title") or "").lower(),
        },
        "pt": {
            t.text.lower() for t in citation.findall("Article/PublicationTypeList/PublicationType")
        },
    }


def demo_records(first_day=datetime.date(2026, 11, 2), days=20):
    """The 604 demo citations wrapped as efetch's <PubmedArticle>s, their Entrez dates spread
    over `days` days from `first_day` (by PMID, so the spread is fixed)."""
    records = {}
    with gzip.open(DEMO_FILE, "rb") as stream:
        for _, citation in etree.iterparse(stream, tag="MedlineCitation"):
            pmid = int(citation.findtext("PMID"))
            xml = (
                b"<PubmedArticle>" + etree.tostring(citation, with_tail=False) + b"</PubmedArticle>"
            )
            entered = first_day + datetime.timedelta(pmid % days)
            records[pmid] = Record(pmid, xml, entered, _fields(citation))
    return records


def matches(record, term):
    """Whether a PubMed term (the `"X"[tag]` clauses and `(words)` sync writes, OR-ed)
    matches the record, the way PubMed would for these fields."""
    for phrase, tag, words in CLAUSE.findall(term):
        if words:
            if all(word in record.fields["tiab"] for word in words.lower().split()):
                return True
        elif tag == "tiab":
            if phrase.lower() in record.fields["tiab"]:
                return True
        elif phrase.lower() in record.fields[tag]:
            return True
    return False


# --- the fake NCBI ---


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        params = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        self.server.posts.append((self.path, params))
        if self.server.post_replies:
            return self.send(*self.server.post_replies.pop(0))
        if self.path.endswith("/esearch.fcgi"):
            return self.send(200, self.server.esearch(params), {"Content-Type": "application/json"})
        if self.path.endswith("/efetch.fcgi"):
            return self.send(200, self.server.efetch(params), {"Content-Type": "text/xml"})
        return self.send(404, b"no such E-utility")

    def do_GET(self):
        path = urlparse(self.path).path
        self.server.gets.append((path, self.headers.get("Range")))
        server = self.server
        if server.get_replies:
            return self.send(*server.get_replies.pop(0))
        if path == UPDATES:
            return self.send(200, server.listing(), {"Content-Type": "text/html"})
        name = path.removeprefix(UPDATES)
        if name.endswith(".md5") and name[:-4] in server.files:
            digest = server.md5s.get(name[:-4]) or hashlib.md5(server.files[name[:-4]]).hexdigest()
            return self.send(200, f"MD5({name[:-4]})= {digest}\n".encode())
        if name not in server.files:
            return self.send(404, b"Not Found")
        return self.send_file(name, server.files[name])

    def send_file(self, name, data):
        start = 0
        asked = self.headers.get("Range")
        if asked and self.server.ranges:
            start = int(re.fullmatch(r"bytes=(\d+)-", asked)[1])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        part = data[start:]
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        if name in self.server.drop:  # the connection drops halfway, once
            self.server.drop.discard(name)
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(part)

    def send(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class FakeNCBI(ThreadingHTTPServer):
    """E-utilities and the update files' directory on 127.0.0.1."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, records):
        super().__init__(("127.0.0.1", 0), Handler)
        self.records = records
        self.searches = {}  # webenv → PMIDs, as the history server keeps them
        self.posts, self.gets = [], []
        self.post_replies, self.get_replies = [], []  # scripted replies, used up first
        self.huge_over_days = None  # a window longer than this reports over 10,000
        self.files, self.md5s, self.drop, self.ranges = {}, {}, set(), True

    @property
    def eutils_url(self):
        return f"http://127.0.0.1:{self.server_port}/entrez/eutils/"

    @property
    def updates_url(self):
        return f"http://127.0.0.1:{self.server_port}{UPDATES}"

    def esearch(self, params):
        start = datetime.datetime.strptime(params["mindate"], "%Y/%m/%d").date()
        end = datetime.datetime.strptime(params["maxdate"], "%Y/%m/%d").date()
        found = sorted(
            (
                r.pmid
                for r in self.records.values()
                if start <= r.entered <= end and matches(r, params["term"])
            ),
            reverse=True,
        )
        count = len(found)
        if self.huge_over_days is not None and (end - start).days + 1 > self.huge_over_days:
            count += eutils.SEARCH_LIMIT  # what a window over 10,000 looks like
        webenv = f"MCID_{uuid.uuid4().hex}"
        self.searches[webenv] = found
        result = {
            "count": str(count),
            "retmax": "0",
            "retstart": "0",
            "webenv": webenv,
            "querykey": "1",
            "idlist": [],
        }
        return json.dumps({"header": {"type": "esearch"}, "esearchresult": result}).encode()

    def efetch(self, params):
        found = self.searches[params["WebEnv"]]
        start, count = int(params["retstart"]), int(params["retmax"])
        chosen = found[start : start + count]
        return HEADER + b"\n".join(self.records[p].xml for p in chosen) + b"\n" + FOOTER

    def listing(self):
        links = "".join(
            f'<a href="{name}">{name}</a> 2026-11-25 14:02  1.2M\n'
            f'<a href="{name}.md5">{name}.md5</a> 2026-11-25 14:02  60\n'
            for name in sorted(self.files)
        )
        return (
            f"<html><head><title>Index of /pubmed/updatefiles</title></head><body>"
            f'<h1>Index of /pubmed/updatefiles</h1><pre><a href="/pubmed/">Parent</a>\n'
            f'<a href="README.txt">README.txt</a>\n{links}</pre></body></html>'
        ).encode()

    @property
    def searched_windows(self):
        return [(p["mindate"], p["maxdate"]) for path, p in self.posts if "esearch" in path]


@pytest.fixture(scope="module")
def records():
    return demo_records()


@pytest.fixture
def ncbi(records):
    server = FakeNCBI(dict(records))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def app(tmp_path, ncbi):
    """An app on an empty database, whose PubMed is the fake one. The API key only lets the
    client go at 10 requests a second, so the tests are quick."""
    app = make_app(
        tmp_path,
        tmp_path / "pearl.db",
        EUTILS_BASE_URL=ncbi.eutils_url,
        NCBI_API_KEY="test-key",
        UPDATEFILES_URL=ncbi.updates_url,
    )
    with app.app_context():
        models.migrate()
    yield app
    models.db.close()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def reader(app):
    from accounts import create_account  # noqa: PLC0415 - needs the app's database

    user = create_account("reader@example.org", "Dr Reader", "correct horse battery")
    User.update(full_access=True).where(User.id == user.id).execute()
    return User.get_by_id(user.id)


def follow(user, kind, value):
    Interest.create(user=user, kind=kind, value=value, key=value.lower())


def stored():
    return {pmid for (pmid,) in Article.select(Article.pmid).tuples()}


def atrial_fibrillation(records, since=datetime.date(1900, 1, 1)):
    return {
        r.pmid
        for r in records.values()
        if "atrial fibrillation" in r.fields["tiab"] and r.entered >= since
    }


def sync(runner, *args):
    result = runner.invoke(args=["sync", *args])
    return result


# --- interests ---


@pytest.mark.parametrize(
    ("kind", "value", "term"),
    [
        ("mesh", "Lung Neoplasms", '"Lung Neoplasms"[mh]'),
        ("journal", "Fertility and sterility", '"Fertility and sterility"[ta]'),
        ("keyword", "Atrial  fibrillation", '"Atrial fibrillation"[tiab]'),
        ("type", "Randomized Controlled Trial", '"Randomized Controlled Trial"[pt]'),
        ("search", "malaria AND vaccine", "(malaria AND vaccine)"),
        ("keyword", 'say "hi"', '"say hi"[tiab]'),
    ],
)
def test_each_kind_of_interest_becomes_a_pubmed_term(kind, value, term):
    from pubmed import sync as pubmed_sync  # noqa: PLC0415

    assert pubmed_sync.pubmed_term(kind, value) == term


def test_sync_brings_the_papers_readers_follow_over_the_default_window(
    runner, reader, ncbi, records
):
    follow(reader, "keyword", "Atrial fibrillation")
    follow(reader, "mesh", "Lung Neoplasms")
    follow(reader, "filter", "Therapy (narrow)")
    result = sync(runner)
    assert result.exit_code == 0, result.output
    expected = {
        r.pmid
        for r in records.values()
        if "atrial fibrillation" in r.fields["tiab"] or "lung neoplasms" in r.fields["mh"]
    }
    assert stored() == expected and len(expected) > 11
    # One esearch for both interests, over the 30 days up to today, kept on the history server.
    (path, search), *_ = ncbi.posts
    assert path.endswith("/esearch.fcgi")
    assert search["term"] == '"Atrial fibrillation"[tiab] OR "Lung Neoplasms"[mh]'
    assert (search["datetype"], search["mindate"], search["maxdate"], search["usehistory"]) == (
        "edat",
        "2026/10/27",
        "2026/11/26",
        "y",
    )
    assert search["api_key"] == "test-key"
    fetches = [p for path, p in ncbi.posts if path.endswith("/efetch.fcgi")]
    assert fetches and all(
        p["WebEnv"] == fetches[0]["WebEnv"] and p["query_key"] == "1" for p in fetches
    )
    assert "Left out 1 clinical filter" in result.output
    assert f"{len(expected)} added, 0 updated, 0 deleted" in result.output
    (run,) = SyncRun.select()
    assert (run.source, run.window_start, run.window_end, run.added, run.error) == (
        "interests",
        "2026/10/27",
        "2026/11/26",
        len(expected),
        None,
    )


def test_efetch_goes_in_batches_from_the_history_server(runner, reader, ncbi, records):
    follow(reader, "type", "Journal Article")  # most of the 604
    result = sync(runner)
    assert result.exit_code == 0, result.output
    journal_articles = {r.pmid for r in records.values() if "journal article" in r.fields["pt"]}
    assert stored() == journal_articles and len(journal_articles) > 400
    fetches = [p for path, p in ncbi.posts if path.endswith("/efetch.fcgi")]
    assert [(p["retstart"], p["retmax"]) for p in fetches] == [
        (str(start), "200") for start in range(0, len(journal_articles), 200)
    ]


def test_the_next_sync_starts_where_the_last_successful_one_ended(runner, reader, ncbi, records):
    follow(reader, "keyword", "Atrial fibrillation")
    assert sync(runner).exit_code == 0
    with time_machine.travel(NEXT_WEEK, tick=False):
        assert sync(runner).exit_code == 0
    assert ncbi.searched_windows[-1] == ("2026/11/26", "2026/12/03")
    # Nothing new in that window; the papers are there once, and unchanged.
    assert stored() == atrial_fibrillation(records)
    last = SyncRun.latest(1).get()
    assert (last.added, last.updated) == (0, 0)


def test_a_failed_run_does_not_move_the_window(runner, reader, ncbi):
    follow(reader, "keyword", "Atrial fibrillation")
    ncbi.post_replies = [(400, b"Bad Request: the term is too long")]
    failed = sync(runner)
    assert failed.exit_code == 1
    assert failed.output.strip().splitlines()[-1].startswith("Error: sync: esearch: HTTP 400")
    assert "Traceback" not in failed.output
    assert SyncRun.get().error.startswith("esearch: HTTP 400")
    assert sync(runner).exit_code == 0
    assert ncbi.searched_windows[-1] == ("2026/10/27", "2026/11/26")


def test_429s_are_retried(runner, reader, ncbi, records):
    follow(reader, "keyword", "Atrial fibrillation")
    busy = (429, b"Too Many Requests", {"Retry-After": "0"})
    ncbi.post_replies = [busy, busy]  # the esearch twice (the retries wait 0 s)
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert stored() == atrial_fibrillation(records)
    assert len(ncbi.searched_windows) == 3


def test_a_window_over_10000_is_halved_until_each_part_fits(runner, reader, ncbi, records):
    follow(reader, "keyword", "Atrial fibrillation")
    ncbi.huge_over_days = 8  # any window over 8 days "matches" more than 10,000
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert "split" in result.output
    # 31 days → 16 + 15 → 8 + 8 + 8 + 7: every record of the month, none lost or doubled.
    assert stored() == atrial_fibrillation(records)
    fetched = {p["WebEnv"] for path, p in ncbi.posts if path.endswith("/efetch.fcgi")}
    assert fetched and all(len(ncbi.searches[w]) <= eutils.SEARCH_LIMIT for w in fetched)
    assert ncbi.searched_windows == [
        ("2026/10/27", "2026/11/26"),
        ("2026/10/27", "2026/11/11"),
        ("2026/10/27", "2026/11/03"),
        ("2026/11/04", "2026/11/11"),
        ("2026/11/12", "2026/11/26"),
        ("2026/11/12", "2026/11/19"),
        ("2026/11/20", "2026/11/26"),
    ]


def test_one_term_over_10000_on_one_day_is_refused_not_truncated(runner, reader, ncbi):
    follow(reader, "keyword", "Atrial fibrillation")
    ncbi.huge_over_days = 0
    result = sync(runner)
    assert result.exit_code == 1
    assert "more than esearch's 10000" in result.output and "Traceback" not in result.output
    assert stored() == set()


def test_nothing_followed_searches_nothing(runner, ncbi):
    result = sync(runner)
    assert result.exit_code == 0 and "nothing to search" in result.output
    assert ncbi.posts == [] and SyncRun.select().count() == 0


def test_an_unknown_source_is_one_line(app, runner):
    app.config["SYNC_SOURCE"] = "ftp"
    result = sync(runner)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: SYNC_SOURCE is 'ftp': it must be one of interests, updatefiles"
    )


# --- end to end: into the journal ---


def test_a_followed_interest_reaches_the_next_issue(runner, reader, ncbi, records):
    follow(reader, "keyword", "Atrial fibrillation")
    assert sync(runner).exit_code == 0
    # An issue covers the papers added before the moment it is made: an hour later.
    with time_machine.travel(THURSDAY + datetime.timedelta(hours=1), tick=False):
        published = runner.invoke(args=["publish-issues"])
    assert "1 new issue for 1 reader" in published.output
    (issue,) = Issue.select()
    entries = {e.article_id: e.section for e in IssueEntry.contents(issue)}
    assert set(entries) == atrial_fibrillation(records)
    assert set(entries.values()) == {"Atrial fibrillation"}

    # A week later two new papers on it have entered PubMed: `daily` syncs, then publishes.
    new = [pmid for pmid in sorted(atrial_fibrillation(records))[:2]]
    for pmid in new:
        ncbi.records[pmid + 90_000_000] = _renumbered(
            records[pmid], pmid + 90_000_000, NEXT_WEEK.date()
        )
    with time_machine.travel(NEXT_WEEK, tick=True):
        result = runner.invoke(args=["daily"])
        assert result.exit_code == 0, result.output
        assert "2 added" in result.output and "1 new issue for 1 reader" in result.output
        second = Issue.select().order_by(Issue.id.desc()).get()
        assert {e.article_id for e in IssueEntry.contents(second)} == {p + 90_000_000 for p in new}
        assert journal.publish(User.get_by_id(reader.id)) == (second, False)


def _renumbered(record, pmid, entered):
    xml = re.sub(rb"<PMID([^>]*)>\d+</PMID>", b"<PMID\\1>%d</PMID>" % pmid, record.xml, count=1)
    return Record(pmid, xml, entered, record.fields)


def test_daily_still_publishes_when_the_sync_fails(runner, reader, ncbi):
    follow(reader, "keyword", "Atrial fibrillation")
    ncbi.post_replies = [(403, b"Forbidden")]
    result = runner.invoke(args=["daily"])
    assert result.exit_code == 1
    assert "Error: sync: esearch: HTTP 403" in result.output
    assert "Journal: 1 new issue for 1 reader" in result.output  # an empty issue still comes
    assert "Traceback" not in result.output


# --- update files ---


def gz(body):
    return gzip.compress(HEADER + body + FOOTER, mtime=0)


def demo_slice(records, pmids, retitle=None):
    parts = []
    for pmid in pmids:
        xml = records[pmid].xml
        if retitle:
            xml = re.sub(
                rb"<ArticleTitle>.*?</ArticleTitle>",
                b"<ArticleTitle>" + retitle.encode() + b"</ArticleTitle>",
                xml,
                count=1,
                flags=re.S,
            )
        parts.append(xml)
    return b"\n".join(parts) + b"\n"


@pytest.fixture
def update_files(app, ncbi, records):
    """Three update files: 40 demo records; 5 of them revised and 3 deleted; and the real
    update-file excerpt (10 records, a DeleteCitation of 23 PMIDs not in this library)."""
    app.config["SYNC_SOURCE"] = "updatefiles"
    pmids = sorted(records)[:40]
    deletion = (
        b"<DeleteCitation>\n"
        + b"".join(b'<PMID Version="1">%d</PMID>\n' % p for p in pmids[-3:])
        + b"</DeleteCitation>\n"
    )
    ncbi.files = {
        "pubmed26n1500.xml.gz": gz(demo_slice(records, pmids)),
        "pubmed26n1501.xml.gz": gz(
            demo_slice(records, pmids[:5], retitle="Revised title") + deletion
        ),
        "pubmed26n1502.xml.gz": (DATA / "tipplerow_pubmed_pubmed20n1203.xml.gz").read_bytes(),
    }
    return pmids


def test_update_files_are_applied_in_order_and_recorded(runner, update_files, ncbi):
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert "pubmed26n1500.xml.gz: 40 added, 0 updated, 0 deleted." in result.output
    assert "pubmed26n1501.xml.gz: 0 added, 5 updated, 3 deleted." in result.output
    assert "pubmed26n1502.xml.gz: 10 added, 0 updated, 0 deleted." in result.output
    assert len(stored()) == 40 - 3 + 10
    assert Article.get_by_id(update_files[0]).title == "Revised title"
    assert SyncRun.applied_files() == set(ncbi.files)
    # Nothing is left behind in the instance folder.
    assert not list((Path(runner.app.instance_path) / "updatefiles").iterdir())
    again = sync(runner)
    assert again.exit_code == 0 and "Update files: none new." in again.output
    assert [path for path, _ in ncbi.gets if path.endswith(".gz")] == [
        UPDATES + name for name in sorted(ncbi.files)
    ]


def test_a_file_applied_twice_changes_nothing(runner, update_files, ncbi):
    assert sync(runner).exit_code == 0
    before = list(Article.select(Article.pmid, Article.record_hash, Article.updated_at).tuples())
    # Its record lost (say, a restored backup of the runs): the file is applied again.
    SyncRun.delete().where(SyncRun.file == "pubmed26n1502.xml.gz").execute()
    result = sync(runner)
    assert "pubmed26n1502.xml.gz: 0 added, 0 updated, 0 deleted." in result.output
    after = list(Article.select(Article.pmid, Article.record_hash, Article.updated_at).tuples())
    assert after == before


@pytest.mark.parametrize("ranges", [True, False], ids=["resumed with Range", "restarted"])
def test_a_connection_dropped_mid_file_is_resumed(runner, update_files, ncbi, ranges):
    ncbi.ranges = ranges
    ncbi.drop = {"pubmed26n1500.xml.gz"}
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert len(stored()) == 47
    tries = [rng for path, rng in ncbi.gets if path.endswith("n1500.xml.gz")]
    size = len(ncbi.files["pubmed26n1500.xml.gz"])
    assert tries == [None, f"bytes={size // 2}-"]  # the second asks for the rest


def test_a_bad_checksum_is_refused_in_one_line_and_nothing_of_it_imported(
    runner, update_files, ncbi
):
    ncbi.md5s["pubmed26n1501.xml.gz"] = "0" * 32
    result = sync(runner)
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: sync: pubmed26n1501.xml.gz: checksum mismatch")
    assert "nothing from it was imported" in last and "Traceback" not in result.output
    # The first file is in; nothing of the second (no revised title, no deletion) nor after.
    assert len(stored()) == 40
    assert Article.get_by_id(update_files[0]).title != "Revised title"
    assert SyncRun.applied_files() == {"pubmed26n1500.xml.gz"}
    ncbi.md5s.clear()  # NCBI puts the right file up
    assert sync(runner).exit_code == 0
    assert len(stored()) == 47


def test_a_crash_mid_file_leaves_it_unapplied_and_the_next_run_applies_it(runner, update_files):
    # What a crash during the import leaves: the run begun, never finished.
    SyncRun.begin("updatefiles", file="pubmed26n1500.xml.gz")
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert "pubmed26n1500.xml.gz: 40 added" in result.output
    status = sync(runner, "--status").output
    assert "interrupted" in status


def test_a_listing_that_answers_429_is_retried(runner, update_files, ncbi):
    ncbi.get_replies = [(429, b"Too Many Requests", {"Retry-After": "0"})]
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert len(stored()) == 47


def test_updatefiles_first_skips_older_files(app, runner, update_files):
    app.config["UPDATEFILES_FIRST"] = "pubmed26n1502.xml.gz"
    assert sync(runner).exit_code == 0
    assert SyncRun.applied_files() == {"pubmed26n1502.xml.gz"}


# --- what it did: --status, the home page ---


def test_status_prints_the_last_runs_as_a_table(runner, reader, ncbi, records):
    assert sync(runner, "--status").output.strip() == "No sync has run yet."
    follow(reader, "keyword", "Atrial fibrillation")
    sync(runner)
    ncbi.post_replies = [(403, b"Forbidden")]
    sync(runner)
    lines = sync(runner, "--status").output.strip().splitlines()
    assert lines[0].split() == [
        "started",
        "(UTC)",
        "source",
        "window",
        "or",
        "file",
        "added",
        "updated",
        "deleted",
        "took",
        "outcome",
    ]
    # The second run began where the first ended, and failed at once.
    assert lines[1].split()[:7] == [
        "2026-11-26",
        "10:00",
        "interests",
        "2026/11/26–2026/11/26",
        "0",
        "0",
        "0",
    ]
    assert "esearch: HTTP 403 Forbidden" in lines[1]
    assert lines[2].split()[4] == str(len(atrial_fibrillation(records)))
    assert lines[2].endswith("ok")


def test_home_page_says_when_pubmed_last_updated_the_library(app, queries):
    client = app.test_client()
    assert soup(client.get("/")).find(id="library-updated") is None  # no run yet: nothing
    now = THURSDAY.replace(tzinfo=None)
    for hours_ago, added, error in (
        (3, 1000, None),
        (50, 284, None),
        (1, 5, "esearch: HTTP 500"),
        (24 * 8, 999, None),
    ):
        SyncRun.create(
            source="interests",
            added=added,
            error=error,
            started_at=now - datetime.timedelta(hours=hours_ago, minutes=5),
            finished_at=now - datetime.timedelta(hours=hours_ago),
        )
    queries.clear()
    page = soup(client.get("/"))
    # The failed run's papers are new too, but the library was last *updated* 3 hours ago.
    line = page.find(id="library-updated")
    assert " ".join(line.text.split()) == "Updated from PubMed 3 hours ago · 1,289 new this week"
    assert line.find("time")["datetime"] == "2026-11-26T07:00:00Z"
    assert len(queries) <= 2, queries  # the count, the line and one page: no query of its own


@pytest.mark.sqlite_only("reads SQLite's query plan")
def test_the_weeks_count_reads_an_index_range_of_runs(app):
    since = THURSDAY.replace(tzinfo=None) - datetime.timedelta(days=7)
    sql, params = SyncRun.added_since_subquery(since).sql()
    plan = models.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    assert "USING INDEX sync_run_finished_at" in " ".join(row[-1] for row in plan)


def test_readme_documents_sync_and_the_daily_command():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("### New papers by themselves") :]
    assert "flask --app app daily --url" in section and "sync --status" in section
    assert "OnCalendar=" in section and "crontab" in section
    for key in ("SYNC_SOURCE", "SYNC_WINDOW_DAYS", "UPDATEFILES_URL", "UPDATEFILES_FIRST"):
        assert f"| `{key}` |" in readme


def test_many_apps_wrap_each_command_once(tmp_path):
    import commands  # noqa: PLC0415

    for number in range(3):
        make_app(tmp_path / str(number), tmp_path / f"{number}.db")
    assert not getattr(commands.sync.callback.__wrapped__, "one_line_errors", False)


# --- Retraction Watch, when RETRACTIONS_URL is set ---


def test_sync_fetches_retraction_watch_when_asked(app, runner, ncbi):
    ncbi.files["retraction_watch.csv"] = (
        DATA / "retraction-check_retractionwatch-sample.csv"
    ).read_bytes()
    app.config["RETRACTIONS_URL"] = ncbi.updates_url + "retraction_watch.csv"
    from_watch = models.Notice.select().where(models.Notice.source == "retractionwatch")
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert "Retraction Watch: 13 records:" in result.output
    stored = sorted(from_watch.tuples())
    assert stored  # rows naming a PMID are kept even before their paper arrives
    # Fetched again the next day: the same records update, never duplicate.
    assert sync(runner).exit_code == 0
    assert sorted(from_watch.tuples()) == stored
    # A file the server no longer has: one line, and what was stored stays.
    del ncbi.files["retraction_watch.csv"]
    result = sync(runner)
    assert result.exit_code == 1
    last_line = result.output.strip().splitlines()[-1]
    assert last_line.startswith("Error: sync: retraction_watch.csv: HTTP 404")
    assert sorted(from_watch.tuples()) == stored
