"""The NCBI E-utilities client: fetches PubMed records by PMID with efetch (XML), and by
search with esearch and the history server (`search`, `fetch_found`), politely.

- Ids go in the body of a form-encoded POST, at most BATCH_SIZE (200) per request, so a
  long list never makes an over-long URL and the API key never appears in one.
- Requests are spaced by a RateLimiter: 3 a second, or 10 with an API key (NCBI's limits).
- HTTP 429, 5xx and network failures are retried a couple of times with backoff, honouring
  Retry-After; anything else raises EutilsError naming the status and URL (never the key).
- Each response is streamed straight into `pubmed.parse_xml_stream`, so memory stays flat.

Usage::

    result = EutilsClient(api_key=key, email=email).fetch(["12091962", 9997])
    importer.import_records(result)  # records (dicts) as every pubmed reader yields them
    result.missing  # requested PMIDs NCBI did not return: complete once iteration ends

    found = client.search('"Malaria"[tiab]', mindate="2026/11/01", maxdate="2026/11/26")
    importer.import_records(client.fetch_found(found))  # efetch by WebEnv, in batches
"""

import datetime
import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime

import pubmed

DEFAULT_BASE = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
TOOL = "pearl"
BATCH_SIZE = 200  # NCBI asks for POST beyond ~200 ids; 200 also keeps each response small
RATE_WITHOUT_KEY = 3  # requests per second NCBI allows without an API key
RATE_WITH_KEY = 10
RETRIES = 2  # after the first attempt
BACKOFF = 1.0  # seconds before the first retry, doubled for each further one
MAX_RETRY_WAIT = 60  # a Retry-After of hours would hang the command: wait at most this
ERROR_BODY_CHARS = 300  # how much of an error response goes into the message
# ASCII digits only: str.isdigit() also accepts "²" and other scripts' digits.
PMID = re.compile(r"[0-9]{1,12}")
# esearch (and efetch from the history server) returns at most this many of one search:
# a larger result must be split into smaller searches, never read in part.
SEARCH_LIMIT = 10_000


class EutilsError(Exception):
    """A request that failed for good: `status` is the HTTP status (None when the server was
    never reached), `url` the endpoint (it carries no parameters, so no API key)."""

    def __init__(self, message, status=None, url=None):
        super().__init__(message)
        self.status, self.url = status, url


class InvalidPMID(EutilsError, ValueError):
    """PMIDs refused before any request is made; the message lists them."""


def validate_pmids(pmids):
    """The distinct PMIDs as ints, in the order first given (strings or ints; surrounding
    spaces allowed). Raises InvalidPMID naming every bad value, so nothing is fetched."""
    seen, bad = {}, []
    for value in pmids:
        # bool is an int subclass: True must not quietly become PMID 1.
        text = str(value).strip() if not isinstance(value, bool) else ""
        if PMID.fullmatch(text) and int(text) > 0:
            seen.setdefault(int(text), None)
        else:
            bad.append(value)
    if bad:
        shown = ", ".join(repr(value) for value in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise InvalidPMID(f"not a PMID (digits only): {shown}{more}")
    return list(seen)


class RateLimiter:
    """Spaces calls to wait() at least 1/per_second apart (monotonic clock; thread-safe, so
    one limiter can be shared by every client of a process). `clock` and `sleep` are
    injectable so the spacing can be checked without waiting."""

    def __init__(self, per_second, clock=time.monotonic, sleep=time.sleep):
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.interval = 1.0 / per_second
        self._clock, self._sleep = clock, sleep
        self._next = None  # earliest time the next call may go
        self._lock = threading.Lock()

    def wait(self):
        """Block until the next request may start."""
        # The lock is held while sleeping on purpose: waiters then go one interval apart.
        with self._lock:
            now = self._clock()
            if self._next is not None and now < self._next:
                self._sleep(self._next - now)
                now = max(self._clock(), self._next)
            self._next = now + self.interval


class Fetch:
    """What EutilsClient.fetch returns: an iterator of record dicts (and pubmed.Deletions,
    should efetch ever send one), fetched lazily batch by batch.

    `requested` is the validated, deduplicated list of PMIDs (ints) in request order.
    `missing` lists, in the same order, requested PMIDs NCBI did not return (it omits
    unknown ids silently); it grows after each batch and is complete once iteration ends."""

    def __init__(self, client, requested):
        self.requested = requested
        self.missing = []
        self._items = self._stream(client)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._items)

    def close(self):
        """Stop early: closes the response being read, if any."""
        self._items.close()

    def _stream(self, client):
        for number, start in enumerate(range(0, len(self.requested), BATCH_SIZE), 1):
            batch = self.requested[start : start + BATCH_SIZE]
            returned = set()
            for item in client.fetch_batch(batch, number):
                if isinstance(item, pubmed.Deletion):
                    returned.update(item.pmids)
                else:
                    returned.add(item["pmid"])
                yield item
            self.missing.extend(pmid for pmid in batch if pmid not in returned)


class Found:
    """One esearch kept on the history server: how many PMIDs matched (`count`), and where
    they wait (`webenv`, `query_key`) for efetch."""

    def __init__(self, term, count, webenv, query_key):
        self.term, self.count, self.webenv, self.query_key = term, count, webenv, query_key

    def __repr__(self):
        return f"Found({self.term!r}, count={self.count})"


class EutilsClient:
    """Fetches PubMed records from E-utilities at `base_url` (tests and the app's
    EUTILS_BASE_URL point it elsewhere). `requests_per_second` defaults to NCBI's limit for
    the key given or not; `timeout` (seconds) applies to connecting and to every read.

    Keyword-only extras: `retries` and `backoff` (seconds, doubled per retry), `limiter` (a
    RateLimiter to share between clients) and `sleep` (how retries wait; injectable)."""

    def __init__(
        self,
        base_url=DEFAULT_BASE,
        api_key=None,
        email=None,
        requests_per_second=None,
        timeout=30,
        *,
        retries=RETRIES,
        backoff=BACKOFF,
        limiter=None,
        sleep=time.sleep,
    ):
        # rstrip + join rather than urljoin: "…/eutils" without its slash must still work.
        self.base = base_url.rstrip("/") + "/"
        self.url = self.base + "efetch.fcgi"
        self.search_url = self.base + "esearch.fcgi"
        self.api_key, self.email, self.timeout = api_key or None, email or None, timeout
        self.retries, self.backoff, self._sleep = retries, backoff, sleep
        if requests_per_second is None:
            requests_per_second = RATE_WITH_KEY if self.api_key else RATE_WITHOUT_KEY
        self.limiter = limiter or RateLimiter(requests_per_second)

    def fetch(self, pmids):
        """A Fetch (iterator of records, then `.missing`) for these PMIDs. They are
        validated now, before any request: raises InvalidPMID on a bad one."""
        return Fetch(self, validate_pmids(pmids))

    def fetch_batch(self, pmids, number=1):
        """Records of one efetch request for up to BATCH_SIZE valid PMIDs (ints), streamed
        as the response arrives. Errors name the source "efetch batch {number}"."""
        if len(pmids) > BATCH_SIZE:
            raise ValueError(f"at most {BATCH_SIZE} PMIDs per request, not {len(pmids)}")
        params = {"db": "pubmed", "retmode": "xml", "id": ",".join(map(str, pmids))}
        yield from self._records(params, f"efetch batch {number}")

    def search(self, term, mindate=None, maxdate=None, datetype="edat"):
        """Run `term` through esearch, kept on the history server (usehistory=y): a Found
        with the count. Dates are YYYY/MM/DD, both ends included, on `datetype` (edat: the
        day the record entered PubMed, which never changes, so windows never miss one)."""
        params = {"db": "pubmed", "term": term, "usehistory": "y", "retmax": "0",
                  "retmode": "json"}  # fmt: skip
        if mindate or maxdate:
            params.update(datetype=datetype, mindate=mindate or "1800/01/01",
                          maxdate=maxdate or "3000/12/31")  # fmt: skip
        with self._open(self.search_url, params, "esearch") as response:
            try:
                body = CheckedBody(response).read()
            except (OSError, http.client.HTTPException) as error:
                message = f"esearch: connection lost reading {self.search_url}: {error!r}"
                raise EutilsError(self._redact(message), url=self.search_url) from None
        try:
            result = json.loads(body)["esearchresult"]
            if "ERROR" in result:
                raise EutilsError(f"esearch: {result['ERROR']}", url=self.search_url)
            return Found(term, int(result["count"]), result["webenv"], result["querykey"])
        except (ValueError, KeyError, TypeError):
            shown = " ".join(body[:ERROR_BODY_CHARS].decode("utf-8", "replace").split())
            message = f"esearch: not an esearch answer from {self.search_url}: {shown}"
            raise EutilsError(self._redact(message), url=self.search_url) from None

    def fetch_found(self, found):
        """The records of a search kept on the history server, efetched BATCH_SIZE at a time
        (retstart/retmax), lazily. Refuses a search over SEARCH_LIMIT: NCBI would stop there
        and the rest would be lost without a word; split it first."""
        if found.count > SEARCH_LIMIT:
            raise ValueError(f"{found.count} records: over {SEARCH_LIMIT}, split the search")
        for number, start in enumerate(range(0, found.count, BATCH_SIZE), 1):
            params = {"db": "pubmed", "retmode": "xml", "WebEnv": found.webenv,
                      "query_key": found.query_key, "retstart": str(start),
                      "retmax": str(BATCH_SIZE)}  # fmt: skip
            yield from self._records(params, f"efetch batch {number}")

    def _records(self, params, name):
        """The records of one efetch POST, streamed as the response arrives."""
        with self._open(self.url, params, name) as response:
            try:
                yield from pubmed.parse_xml_stream(CheckedBody(response), name=name)
            except (OSError, http.client.HTTPException) as error:
                # Not retried: records already yielded would come twice.
                message = f"{name}: connection lost reading {self.url}: {error!r}"
                raise EutilsError(self._redact(message), url=self.url) from None

    def _open(self, url, params, name):
        """The response to one POST, after retrying 429, 5xx and network failures."""
        for attempt in range(self.retries + 1):
            self.limiter.wait()
            try:
                return urllib.request.urlopen(self._request(url, params), timeout=self.timeout)
            except urllib.error.HTTPError as error:
                with error:  # closes the error's body (and its socket)
                    if not retryable(error.code) or attempt == self.retries:
                        raise self._http_error(error, name, attempt + 1, url) from None
                    wait = retry_after(error.headers.get("Retry-After"))
            except (OSError, http.client.HTTPException) as error:
                if attempt == self.retries:
                    reason = getattr(error, "reason", error)
                    tries = f"; {attempt + 1} attempts" if attempt else ""
                    message = f"{name}: could not reach {url} ({reason}{tries})"
                    raise EutilsError(self._redact(message), url=url) from None
                wait = None
            self._sleep(min(MAX_RETRY_WAIT, self.backoff * 2**attempt if wait is None else wait))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _request(self, url, params):
        """A form-encoded POST: the ids, terms (and the key) travel in the body, not the URL."""
        params = {**params, "tool": TOOL}
        if self.email:
            params["email"] = self.email
        if self.api_key:
            params["api_key"] = self.api_key
        data = urllib.parse.urlencode(params).encode("ascii")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": f"{TOOL} (Python urllib)",
        }
        return urllib.request.Request(url, data=data, headers=headers, method="POST")

    def _http_error(self, error, name, attempts, url):
        """EutilsError for a final HTTP error, with the start of its body: NCBI explains
        there (and echoes the API key, hence the redaction)."""
        try:
            body = error.read(ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException):
            body = ""
        message = f"{name}: HTTP {error.code} {error.reason} from {url}"
        if attempts > 1:
            message += f" ({attempts} attempts)"
        if body:
            message += f": {' '.join(body.split())}"
        return EutilsError(self._redact(message), status=error.code, url=url)

    def _redact(self, text):
        return text.replace(self.api_key, "***") if self.api_key else text


class CheckedBody:
    """A response body to read from, which raises IncompleteRead if the connection closes
    before Content-Length bytes came. http.client reports that as a normal end of data, so
    a dropped connection would otherwise look like malformed XML from NCBI."""

    def __init__(self, response):
        self._response = response

    def read(self, size=-1):
        data = self._response.read(size)
        # `length` is the count still expected (None without a Content-Length).
        if not data and size != 0 and self._response.length:
            raise http.client.IncompleteRead(b"", self._response.length)
        return data


def retryable(status):
    """Too many requests, or a server-side failure that may pass."""
    return status == 429 or 500 <= status <= 599


def retry_after(value):
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" dates come back naive; HTTP dates are UTC
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def fetch_records(pmids, **client_kwargs):
    """Shortcut for EutilsClient(**client_kwargs).fetch(pmids): a Fetch, whose `.missing`
    is complete once it has been iterated to the end."""
    return EutilsClient(**client_kwargs).fetch(pmids)
