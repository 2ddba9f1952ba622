"""New papers from PubMed by themselves (`flask --app app sync`), from one of two sources:

- interests: esearch for what this Pearl's readers follow, over the days since the last
  successful run, kept on the history server, then efetch in batches into the importer. A
  window matching more than 10,000 records (esearch's limit) is halved until each part fits:
  never truncated.
- update files: NCBI's daily update files not yet applied, in name order, each verified
  against its `.md5` (pubmed/updatefiles.py), imported (updates and DeleteCitation) and
  recorded as applied.

Every run is a models.SyncRun row: what it searched or applied, what it changed, how it ended.
"""

import datetime
from dataclasses import dataclass, field

import importer
from models import Interest, SyncRun, utcnow
from pubmed import eutils, updatefiles

DEFAULT_WINDOW_DAYS = 30  # the first interests run looks this far back
# Interests are OR-ed into one esearch per group: one search (and one efetch stream) for many
# terms, each paper fetched once however many readers follow it; groups keep each query short.
TERMS_PER_SEARCH = 40
DATE = "%Y/%m/%d"
# How each kind of interest is written for PubMed. A clinical filter (clinical.py) narrows
# what is already here rather than naming a topic: searched alone it would bring every
# randomised trial (or review…) PubMed adds, so the sync leaves filters out.
FIELD_TAGS = {"mesh": "mh", "journal": "ta", "keyword": "tiab", "type": "pt"}


class SyncError(Exception):
    """A sync that cannot go on; the message is one line."""


@dataclass
class Terms:
    """The PubMed terms for everything followed here, and what was left out."""

    terms: list = field(default_factory=list)
    skipped_filters: int = 0


def interest_terms():
    """Each distinct interest of every reader as a PubMed term, in a stable order."""
    found = Terms()
    seen = set()
    query = Interest.select(Interest.kind, Interest.value).order_by(Interest.kind, Interest.key)
    for kind, value in query.tuples():
        if kind == Interest.FILTER:
            found.skipped_filters += 1
            continue
        term = pubmed_term(kind, value)
        if term and term.lower() not in seen:
            seen.add(term.lower())
            found.terms.append(term)
    return found


def pubmed_term(kind, value):
    """`"Lung Neoplasms"[mh]` and so on; a followed search as the reader wrote it."""
    if kind == Interest.SEARCH:
        value = " ".join(value.split())
        return f"({value})" if value else None
    # A double quote cannot be escaped inside a PubMed phrase: it would end it.
    value = " ".join(value.replace('"', " ").split())
    return f'"{value}"[{FIELD_TAGS[kind]}]' if value else None


def window(today, days=DEFAULT_WINDOW_DAYS):
    """(first day, last day) to search: from the day the last successful run ended (again:
    records entered later that day were not there yet, and PubMed's day is US Eastern) to
    today; the first run goes `days` back."""
    last = SyncRun.last_window_end()
    if last:
        start = datetime.datetime.strptime(last, DATE).date()
    else:
        start = today - datetime.timedelta(days)
    return min(start, today), today


def split_searches(client, terms, start, end, on_search=None):
    """Founds (esearch results on the history server) covering `terms` OR-ed over the days
    start…end, each of at most eutils.SEARCH_LIMIT records: a larger window is halved (then
    its halves, and so on); a single day still too large splits its terms. Only a single
    term on a single day over the limit is refused, naming it."""
    query = " OR ".join(terms)
    found = client.search(query, mindate=start.strftime(DATE), maxdate=end.strftime(DATE))
    if on_search:
        on_search(start, end, found)
    if found.count <= eutils.SEARCH_LIMIT:
        if found.count:
            yield found
        return
    if start < end:
        middle = start + (end - start) // 2
        yield from split_searches(client, terms, start, middle, on_search)
        yield from split_searches(client, terms, middle + datetime.timedelta(1), end, on_search)
    elif len(terms) > 1:
        half = len(terms) // 2
        yield from split_searches(client, terms[:half], start, end, on_search)
        yield from split_searches(client, terms[half:], start, end, on_search)
    else:
        raise SyncError(
            f"{terms[0]} matched {found.count} records entered on {start:%Y/%m/%d}, more than "
            f"esearch's {eutils.SEARCH_LIMIT}: narrow that interest or use SYNC_SOURCE=updatefiles"
        )


def sync_interests(client, days=DEFAULT_WINDOW_DAYS, today=None, on_search=None):
    """Bring the papers matching the readers' interests entered in PubMed since the last
    successful run. Returns the SyncRun, or None when nothing is followed (no run: the
    window stays where it was). Raises what stopped it, after recording it on the run."""
    followed = interest_terms()
    if not followed.terms:
        return None, followed
    start, end = window(today or utcnow().date(), days)
    run = SyncRun.begin(SyncRun.INTERESTS, window=(start.strftime(DATE), end.strftime(DATE)))
    summary = importer.Summary()
    with _recorded(run, summary):
        for offset in range(0, len(followed.terms), TERMS_PER_SEARCH):
            group = followed.terms[offset : offset + TERMS_PER_SEARCH]
            # The searches are listed first: each stays on the history server for its efetch.
            for found in list(split_searches(client, group, start, end, on_search)):
                importer.import_records(client.fetch_found(found), summary)
    return run, followed


def sync_updatefiles(downloader, folder, first=None, on_file=None):
    """Apply the update files not yet applied, in name order (from `first` on, if given):
    download and verify each, import it, record it, delete the download. Stops at the first
    file that fails (later files revise earlier ones: order matters), after recording it.
    Returns the runs, one per file."""
    applied = SyncRun.applied_files()
    pending = [name for name in downloader.list_files()
               if name not in applied and (first is None or name >= first)]  # fmt: skip
    runs = []
    for name in pending:
        if on_file:
            on_file(name)
        run = SyncRun.begin(SyncRun.UPDATEFILES, file=name)
        runs.append(run)
        summary = importer.Summary()
        with _recorded(run, summary):
            path = downloader.download(name, folder)
            importer.import_file(path, summary)
        # A crash before this line applies the file again next time: the importer skips
        # what is unchanged and deleting twice deletes nothing, so that changes nothing.
        path.unlink(missing_ok=True)
    return runs


class _recorded:
    """Ends the run with the summary, and with the error's one line when one stops it."""

    def __init__(self, run, summary):
        self.run, self.summary = run, summary

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _traceback):
        if error is None:
            self.run.end(self.summary)
        elif isinstance(error, Exception):
            self.run.end(self.summary, error=describe(error))
        return False  # Ctrl-C and the like leave the run unfinished: "interrupted"


def describe(error):
    """One line for an error that stopped a run."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text


ERRORS = (SyncError, eutils.EutilsError, updatefiles.UpdateFileError)
