"""NCBI's PubMed update files (and the annual baseline): list the directory, download a file
with its `.md5`, resuming a dropped connection, and refuse it when the checksum differs.

Nothing here touches the database: pubmed/sync.py imports a verified file and records it.

A download goes to `<name>.part` beside where it will end: a dropped connection (or a crash)
leaves that partial file, and the next attempt asks for the rest with an HTTP Range request;
a server that ignores Range (200 instead of 206) sends the whole file again, which replaces
the partial one. Only a file whose MD5 matches its `.md5` is renamed to its own name.
"""

import hashlib
import http.client
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from pubmed.eutils import MAX_RETRY_WAIT, retry_after, retryable

DEFAULT_URL = "https://ftp.ncbi.nlm.nih.gov/pubmed/updatefiles/"
# pubmed26n1234.xml.gz (2026 files); medline16n0902.xml.gz (before 2017, the demo file's era).
FILE_NAME = re.compile(r"(?:pubmed|medline)\d{2}n\d{4}\.xml\.gz")
HREF = re.compile(r"""href\s*=\s*["']?([^"' >]+)""", re.I)
# "MD5(pubmed26n1234.xml.gz)= 0123…" as NCBI writes it; a bare "hex  name" (md5sum) too.
MD5_LINE = re.compile(r"MD5\((?P<name>[^)]+)\)\s*=\s*(?P<hex>[0-9a-fA-F]{32})")
MD5SUM_LINE = re.compile(r"(?P<hex>[0-9a-fA-F]{32})\s+\*?(?P<name>\S+)")
CHUNK = 1 << 16
RETRIES = 4  # after the first attempt: a long download may meet several dropped connections
BACKOFF = 1.0
USER_AGENT = "pearl (Python urllib)"


class UpdateFileError(Exception):
    """A download that failed for good; the message is one line naming the file."""


class ChecksumMismatch(UpdateFileError):
    """The file's MD5 is not the one its `.md5` gives: nothing from it may be imported."""


class Downloader:
    """Downloads from the directory at `base_url`. `timeout` (seconds) applies to connecting
    and to every read; `retries`/`backoff` to dropped connections, 429s and 5xx; `sleep`
    is how it waits (injectable)."""

    def __init__(self, base_url=DEFAULT_URL, timeout=60, *, retries=RETRIES, backoff=BACKOFF,
                 sleep=time.sleep):  # fmt: skip
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout, self.retries, self.backoff, self._sleep = timeout, retries, backoff, sleep

    def list_files(self):
        """The update files the directory listing links to, in name order (which is the
        order NCBI made them in, and so the order they must be applied in)."""
        listing = self._get_text(self.base_url, "the update files' listing")
        names = set()
        for href in HREF.findall(listing):
            name = urllib.parse.unquote(href.rsplit("/", 1)[-1])
            if FILE_NAME.fullmatch(name):
                names.add(name)
        return sorted(names)

    def expected_md5(self, name):
        """The hex digest the file's `.md5` gives."""
        text = self._get_text(self.base_url + name + ".md5", f"{name}.md5")
        for pattern in (MD5_LINE, MD5SUM_LINE):
            match = pattern.search(text)
            if match and match["name"].strip() == name:
                return match["hex"].lower()
        raise UpdateFileError(f"{name}.md5: no MD5 for {name} in it ({text.strip()[:80]!r})")

    def download(self, name, folder):
        """The verified file `folder/name`, downloaded (or resumed) as needed. A file already
        there that matches is used as it is (a crash after the download). Raises
        ChecksumMismatch (and deletes what came) when the MD5 differs."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        expected = self.expected_md5(name)
        final = folder / name
        if final.exists() and md5_of(final) == expected:
            return final
        partial = folder / (name + ".part")
        self._fetch_resuming(name, partial)
        actual = md5_of(partial)
        if actual != expected:
            partial.unlink()
            raise ChecksumMismatch(
                f"{name}: checksum mismatch (MD5 {actual}, its .md5 says {expected}); "
                "refused, nothing from it was imported"
            )
        partial.replace(final)
        return final

    def fetch(self, name, folder):
        """`folder/name` downloaded whole (resumed after a dropped connection), for a file
        published without an .md5, such as the Retraction Watch CSV. A new copy each time:
        such a file changes daily under the same name."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / (name + ".part")
        partial.unlink(missing_ok=True)
        self._fetch_resuming(name, partial)
        final = folder / name
        partial.replace(final)
        return final

    def _fetch_resuming(self, name, partial):
        """Fill `partial` with the whole file, retrying dropped connections from where they
        stopped."""
        url = self.base_url + name
        for attempt in range(self.retries + 1):
            try:
                self._fetch_once(url, partial)
                return
            except urllib.error.HTTPError as error:
                with error:
                    if error.code == 416:  # the partial file is already whole (or longer)
                        partial.unlink(missing_ok=True)
                        wait = 0
                    elif not retryable(error.code) or attempt == self.retries:
                        raise UpdateFileError(
                            f"{name}: HTTP {error.code} {error.reason} from {url}"
                        ) from None
                    else:
                        wait = retry_after(error.headers.get("Retry-After"))
            except (OSError, http.client.HTTPException) as error:
                if attempt == self.retries:
                    got = partial.stat().st_size if partial.exists() else 0
                    raise UpdateFileError(
                        f"{name}: download failed after {attempt + 1} attempts at byte {got} "
                        f"({getattr(error, 'reason', error)!r}); the next run resumes there"
                    ) from None
                wait = None
            self._sleep(min(MAX_RETRY_WAIT, self.backoff * 2**attempt if wait is None else wait))

    def _fetch_once(self, url, partial):
        """One GET of what `partial` still lacks; raises IncompleteRead when it ends early."""
        have = partial.stat().st_size if partial.exists() else 0
        headers = {"User-Agent": USER_AGENT}
        if have:
            headers["Range"] = f"bytes={have}-"
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            # 206: the rest comes, appended; 200: the server ignored Range, start again.
            resumed = have and response.status == 206
            with open(partial, "ab" if resumed else "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
            # http.client reports a connection closed before Content-Length as a plain end;
            # `length` is what it still expected (None without a Content-Length).
            if response.length:
                raise http.client.IncompleteRead(b"", response.length)

    def _get_text(self, url, what):
        """A small text resource (the listing, an .md5), retried like a download."""
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as error:
                with error:
                    if not retryable(error.code) or attempt == self.retries:
                        raise UpdateFileError(
                            f"{what}: HTTP {error.code} {error.reason} from {url}"
                        ) from None
                    wait = retry_after(error.headers.get("Retry-After"))
            except (OSError, http.client.HTTPException) as error:
                if attempt == self.retries:
                    reason = getattr(error, "reason", error)
                    raise UpdateFileError(f"{what}: could not read {url} ({reason})") from None
                wait = None
            self._sleep(min(MAX_RETRY_WAIT, self.backoff * 2**attempt if wait is None else wait))
        raise AssertionError("unreachable: the last attempt returns or raises")


def md5_of(path):
    """The hex MD5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
