"""Store what the PubMed readers yield: upsert by PMID, keep the search index in step (or
rebuild it after a large import), the suggestions' terms and the paper count too, apply
deletions, and commit in batches (a failing batch commits nothing). A large file is
read in a second process while this one stores."""

import gc
import hashlib
import marshal
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pubmed
from markup import record_html
from models import (
    Article,
    ArticleFacet,
    JSONField,
    LibraryStats,
    Notice,
    Term,
    article_count,
    db,
    html_to_text,
    relax_durability,
    search_index,
    utcnow,
)

BATCH_SIZE = 500
JSON_COLUMNS = (
    "authors", "abstract", "mesh", "keywords", "publication_types", "languages", "grants",
    "chemicals", "comments_corrections", "other_abstracts", "article_ids",
)  # fmt: skip
EMPTY_JSON = {list: "[]", dict: "{}"}
# Files expected to hold fewer records are read in this process: starting a second
# interpreter (about 0.2 s) costs more than the overlap saves on a few thousand records.
PARALLEL_MIN_RECORDS = 3_000
# Bytes a record takes, to guess how many a file holds: about 1.1 kB gzipped PubMed XML,
# 6 kB uncompressed (MEDLINE text and RIS a little less).
BYTES_PER_RECORD = {".gz": 1_100}
BYTES_PER_RECORD_UNCOMPRESSED = 6_000
# A one-process import expected to bring at least this many records, and at least as many
# as are stored already, rebuilds the search index once at the end instead of indexing batch
# by batch: about a quarter less index work a row, but a rebuild re-reads every stored row.
REBUILD_MIN_RECORDS = 5_000
INDEX_MODES = ("auto", "as-you-go", "rebuild")
# The first-generation collection threshold while an import runs (see _rare_collections).
GC_THRESHOLD = 50_000
# Encoded batches waiting here for this process (about 1.5 MB each): enough that the
# reader process never waits for us, few enough that memory stays flat.
PIPE_AHEAD = 3


class ReaderError(Exception):
    """The reader process failed in a way that is not a MalformedFile (or died)."""


@dataclass
class Summary:
    """What an import did, for the command's closing line."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    skipped_reasons: dict = field(default_factory=dict)

    def skip(self, reason):
        self.skipped += 1
        self.skipped_reasons[reason] = self.skipped_reasons.get(reason, 0) + 1

    def merge(self, other):
        """Add another summary's counts to this one."""
        self.added += other.added
        self.updated += other.updated
        self.deleted += other.deleted
        self.skipped += other.skipped
        for reason, count in other.skipped_reasons.items():
            self.skipped_reasons[reason] = self.skipped_reasons.get(reason, 0) + count

    def __str__(self):
        text = (
            f"{self.added} added, {self.updated} updated, "
            f"{self.deleted} deleted, {self.skipped} skipped"
        )
        if self.skipped_reasons:
            text += " (" + ", ".join(f"{n} {why}" for why, n in self.skipped_reasons.items()) + ")"
        return text


def import_file(path, summary=None, on_batch=None, on_read=None, parallel=None, index="auto"):
    """Import one file; returns its Summary. Raises pubmed.MalformedFile (naming the line)
    after committing the batches before the bad one and nothing of the bad one.

    on_batch(count) is called as each batch is handed on to be stored, on_read(bytes) with
    how far into the file the reader is (a progress bar). parallel: read in a second process
    (default: when the file likely holds PARALLEL_MIN_RECORDS or more and this process may
    run on more than one CPU). index: "auto", "as-you-go" or "rebuild" (see _IndexPlan).
    """
    path = Path(path)
    size = path.stat().st_size
    if parallel is None:
        per_record = BYTES_PER_RECORD.get(path.suffix, BYTES_PER_RECORD_UNCOMPRESSED)
        parallel = size >= PARALLEL_MIN_RECORDS * per_record and _usable_cpus() > 1
    source = _read_in_child(path) if parallel else _prepared_here(pubmed.read(path))
    plan = _IndexPlan(index, size, parallel)
    with closing(source) as batches:
        return _import_batches(batches, summary, on_batch, on_read, plan)


def _usable_cpus():
    """CPUs this process may run on (its affinity mask, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def import_records(items, summary=None, on_batch=None, index="auto"):
    """Import records and Deletions from any reader (an E-utilities response…), in this
    process. With no size to estimate from, "auto" indexes as it goes."""
    batches = ((prepare_batch(batch), len(batch), None) for batch in _chunks(items))
    return _import_batches(batches, summary, on_batch, None, _IndexPlan(index, None, False))


def _import_batches(batches, summary, on_batch, on_read, plan):
    """Hand each prepared batch of (prepared, items, bytes read) to a writer thread, which
    stores it while the next one is prepared (here, or in the reader process): SQLite (the
    FTS5 index above all) works with the GIL released, so they overlap.
    A reader error stops the reading; the batches before it are still committed, in order,
    and a deferred index is rebuilt, so what was committed can be found."""
    with _rare_collections():
        return _store_batches(batches, summary or Summary(), on_batch, on_read, plan)


def _store_batches(batches, summary, on_batch, on_read, plan):
    """The body of _import_batches."""
    search_index.rebuild_if_stale()
    writer = _BatchWriter(summary)
    deferred = interrupted = False
    try:
        for prepared, count, bytes_read in batches:
            defer = plan.defer(count, bytes_read)
            deferred = deferred or defer
            writer.put((*prepared, defer))
            if on_batch:
                on_batch(count)
            if on_read and bytes_read is not None:
                on_read(bytes_read)
    except KeyboardInterrupt:
        # Whoever pressed Ctrl-C wants out now, not after a rebuild: the index stays marked
        # stale and the next import (or init-db) rebuilds it.
        interrupted = True
        raise
    finally:
        try:
            writer.finish()
        finally:
            if deferred and not interrupted:
                search_index.rebuild()
    return summary


class _IndexPlan:
    """Decides, at the first batch, whether the import indexes as it goes or rebuilds the
    index at the end. "auto": as it goes when a reader process reads the file, since this
    process's indexing then overlaps the reading, where a rebuild would come after it
    (measured: about 10 % faster on two free cores; see benchmarks/README.md). Read in one
    process, rebuild when the file promises (from the bytes its first batch took) at least
    REBUILD_MIN_RECORDS records and at least as many as are stored already."""

    def __init__(self, index, size, parallel):
        if index not in INDEX_MODES:
            raise ValueError(f"index must be one of {INDEX_MODES}, not {index!r}")
        self.size = size
        if index == "auto":
            self.deferred = False if parallel else None
        else:
            self.deferred = index == "rebuild"

    def defer(self, count, bytes_read):
        """Whether this batch skips the index (decided once, at the first batch)."""
        if self.deferred is None:
            expected = count * self.size / bytes_read if self.size and bytes_read else 0
            self.deferred = expected >= max(REBUILD_MIN_RECORDS, article_count())
        return self.deferred


def _chunks(items):
    """Lists of BATCH_SIZE items (the last one shorter)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _prepared_here(reader):
    """(prepared batch, items in it, bytes read) from a pubmed.FileReader, read and
    prepared in this process."""
    for batch in _chunks(reader):
        yield prepare_batch(batch), len(batch), reader.bytes_read


# --- the reader process ---


def _read_in_child(path):
    """(prepared batch, items in it, bytes read) from `path`, read and prepared (see
    prepare_batch) by a second process while this one stores.

    The child is started with "spawn": a fresh interpreter, so no SQLite connection, lock or
    thread of this process is copied into it (fork would copy them mid-use). The calling
    program's main module must therefore be importable without side effects (the usual
    `if __name__ == "__main__":` idiom; flask and pytest are). Batches come encoded through a
    pipe; a thread here empties it into a queue of PIPE_AHEAD batches, so the child is never
    kept waiting while this thread prepares, and memory stays bounded. A MalformedFile
    cannot be unpickled as such (its constructor takes three arguments), so it travels as
    its fields and is raised again here. However this generator ends (done, an error,
    Ctrl-C, closed early) the child is stopped and joined.
    """
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main, args=(str(path), sending), name="pearl-reader", daemon=True
    )
    child.start()
    sending.close()  # the child's end: once the child ends, a read here fails at once
    drain = _Drain(receiving)
    finished = False  # the child sent its last message and is ending by itself
    try:
        while True:
            kind, *body = _receive(drain, child)
            finished = kind != "batch"
            if kind == "batch":
                yield body
            elif kind == "done":
                return
            elif kind == "malformed":
                raise pubmed.MalformedFile(*body)
            elif kind == "error":
                raise body[0]
            else:
                raise ReaderError(f"{path}: {body[0]}")
    finally:
        if finished:
            child.join(timeout=5.0)
        if child.is_alive():
            child.terminate()
        child.join()
        drain.close()  # the pipe ends with the child: its thread sees the end and stops


class _Drain:
    """A thread that reads the child's messages off the pipe into a bounded queue (reads
    release the GIL); None in the queue means the pipe has ended."""

    def __init__(self, receiving):
        self.receiving = receiving
        self.queue = queue.Queue(maxsize=PIPE_AHEAD)
        self.thread = threading.Thread(target=self._run, name="import-drain", daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                self.queue.put(self.receiving.recv_bytes())
        except (EOFError, OSError):  # OSError: the child ended in the middle of a message
            self.queue.put(None)

    def get(self):
        return self.queue.get()

    def close(self):
        """Once the child has ended: let the thread finish, then close the pipe."""
        while self.thread.is_alive():
            with suppress(queue.Empty):  # make room for its last put
                self.queue.get(timeout=0.1)
        self.thread.join()
        self.receiving.close()


def _receive(drain, child):
    """The child's next message; a ReaderError if it ended without one (killed…)."""
    data = drain.get()
    if data is None:
        child.join()
        raise ReaderError(f"the reader process ended without a word (exit code {child.exitcode})")
    return _decode(data)


def _child_main(path, sending):
    """The reader process: prepared batches of records from `path` into the pipe (the
    Python work of a batch, about as much as storing it, is done on this side), then one closing
    message: ("done",), ("malformed", path, line, message) or ("error", exception)."""
    # Ctrl-C reaches the whole process group: the parent decides what to do, and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()  # what the interpreter and its imports made: never scanned again
    try:
        with _rare_collections():
            _read_and_send(path, sending)
    except BrokenPipeError:
        pass  # the parent has gone (or stopped reading): nobody to tell
    finally:
        sending.close()


def _read_and_send(path, sending):
    reader = pubmed.read(path)
    try:
        for batch in _chunks(reader):
            _send(sending, ("batch", prepare_batch(batch), len(batch), reader.bytes_read))
        message = ("done",)
    except pubmed.MalformedFile as error:
        message = ("malformed", error.path, error.line, error.message)
    except Exception as error:  # noqa: BLE001 - described to the parent, which raises it
        message = _error_message(error)
    _send(sending, message)


@contextmanager
def _rare_collections():
    """Collect garbage rarely while an import runs (the thresholds are restored after). A
    batch keeps some 15,000 containers alive until it is passed on, so the default threshold
    (700) runs a collection every few records, and none finds anything to free: records
    hold no cycles. Measured: about 5 % of the CPU time on each side of the pipe."""
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _send(sending, message):
    """Encode in the reader's own thread (a Queue's feeder thread would fight the parser
    for the GIL) and write; blocks while the pipe is full."""
    sending.send_bytes(_encode(message))


def _encode(message):
    """Bytes for the pipe. A prepared batch goes by marshal when it can (rows are dicts,
    tuples and lists of plain values; its Summary becomes its skip counts): about half
    pickle's cost at both ends. Anything marshal refuses (a new column of another type, an
    exception) goes by pickle."""
    if message[0] == "batch":
        kind, (rows, deletions, counts), count, bytes_read = message
        plain = (rows, deletions, counts.skipped, counts.skipped_reasons, count, bytes_read)
        try:
            return b"M" + marshal.dumps(plain)
        except ValueError:
            pass
    return b"P" + pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)


def _decode(data):
    """The message _encode made."""
    if data[:1] == b"P":
        return pickle.loads(memoryview(data)[1:])
    rows, deletions, skipped, reasons, count, bytes_read = marshal.loads(memoryview(data)[1:])
    counts = Summary(skipped=skipped, skipped_reasons=reasons)
    return ("batch", (rows, deletions, counts), count, bytes_read)


def _error_message(error):
    """("error", exception) if it survives pickling, else ("failed", its description)."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - some exceptions cannot be rebuilt from their args
        return ("failed", f"{type(error).__name__}: {error}")
    return ("error", error)


# --- preparing and storing batches ---


class _BatchWriter:
    """Stores prepared batches in a thread of its own, one transaction each, in order."""

    def __init__(self, summary):
        self.summary = summary
        self.queue = queue.Queue(maxsize=2)  # bounded: memory stays flat on any file
        self.error = None
        self.thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self.thread.start()

    def put(self, prepared):
        if self.error:
            self.finish()
        self.queue.put(prepared)

    def finish(self):
        """Wait for the queued batches; raise what the writer hit, if anything."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if self.error:
            error, self.error = self.error, None
            raise error

    def _run(self):
        db.connect(reuse_if_open=True)  # this thread's own connection
        try:
            relax_durability()  # an import can be run again: no fsync a batch
            while (prepared := self.queue.get()) is not None:
                if self.error is None:
                    try:
                        self.summary.merge(store_batch(*prepared))
                    except Exception as error:  # noqa: BLE001 - re-raised in the caller's thread
                        self.error = error
        finally:
            db.close()


def prepare_batch(batch):
    """(rows by PMID, deleted PMIDs, counts so far) for one batch: the Python-side work,
    which reads no database (the reader process may do it). Each PMID's rows: the article
    row (stamped when stored), its search text, its facet rows, its terms (Term) and its
    notice rows (retractions, corrections…: Notice)."""
    counts = Summary()
    rows, deletions = {}, []
    for item in batch:
        if isinstance(item, pubmed.Deletion):
            # A later record in the same file may re-add a deleted PMID: order matters.
            for pmid in item.pmids:
                rows.pop(pmid, None)
            deletions.extend(item.pmids)
        elif item["pmid"] is None:
            counts.skip("without a PMID")
        elif not item["title"]:
            counts.skip("without a title")
        else:
            rows[item["pmid"]] = (article_row(item), search_row(item), ArticleFacet.rows_for(item),
                                  Term.of_record(item), Notice.rows_for(item))  # fmt: skip
    return rows, deletions, counts


def store_batch(rows, deletions, counts, defer_index=False):
    """Write one prepared batch in one transaction; returns its counts once committed.
    defer_index: store the search text only, leaving the index to a rebuild."""
    # IMMEDIATE: this transaction reads (hashes) before it writes; a deferred one would fail
    # at once with "database is locked" if the web server committed in between.
    with db.atomic("IMMEDIATE"):
        counts.deleted = Article.delete_pmids(set(deletions) - set(rows))
        existing = Article.hashes_for(rows)
        changed, searchable, facets, terms, notices = [], [], [], [], []
        for pmid, (row, search, facet_rows, term_rows, notice_rows) in rows.items():
            if pmid not in existing:
                counts.added += 1
            elif existing[pmid] == row["record_hash"]:
                counts.skip("unchanged")
                continue
            else:
                counts.updated += 1
            row["added_at"] = row["updated_at"] = utcnow()
            changed.append(row)
            searchable.append(search)
            facets += facet_rows
            terms.append(term_rows)
            notices += notice_rows
        replaced = [row["pmid"] for row in changed if row["pmid"] in existing]
        old_terms = Term.stored(replaced)  # what the old versions counted, before the upsert
        Article.upsert_many(changed)
        ArticleFacet.replace_for(replaced, facets)
        Notice.replace_for(replaced, notices)
        search_index.replace_many(searchable, defer=defer_index)
        Term.apply(added=terms, removed=old_terms.values())
        LibraryStats.add_papers(counts.added)
    return counts


def article_row(record):
    """A models.Article row from a reader's record, but for added_at and updated_at (set
    when it is stored): adds the sort date and content hash, and passes every HTML field
    through the sanitizer (pages output them as markup)."""
    row = {name: record[name] for name in Article.columns() if name in record}
    _sanitise_html(row)
    year, month, day = record["pub_year"], record["pub_month"], record["pub_day"]
    if year:
        row["sort_date"] = f"{year:04d}-{month or 1:02d}-{day or 1:02d}"
    else:
        row["sort_date"] = record["epub_date"] or "0000-01-01"
    for name in JSON_COLUMNS:
        value = row[name]
        # Most of the lists are empty on most records: skip the encoder for those.
        row[name] = JSONField.encode(value) if value else EMPTY_JSON[type(value)]
    # The stored values themselves identify the content: unchanged on re-import → skipped.
    digest = hashlib.blake2b(repr(tuple(row.values())).encode(), digest_size=16)
    row["record_hash"] = digest.hexdigest()
    return row


def _sanitise_html(row):
    """Titles and abstract sections as `markup.record_html` allows them, whichever reader
    made them: the readers escape text themselves, the allowlist has the last word. New
    lists, so the reader's record is left as it was."""
    row["title"] = record_html(row["title"])
    if row.get("vernacular_title"):
        row["vernacular_title"] = record_html(row["vernacular_title"])
    if "abstract" in row:
        row["abstract"] = _sanitised_sections(row["abstract"])
    if row.get("other_abstracts"):
        row["other_abstracts"] = [
            {**other, "sections": _sanitised_sections(other["sections"])}
            for other in row["other_abstracts"]
        ]


def _sanitised_sections(sections):
    return [{**section, "text": record_html(section["text"])} for section in sections]


def search_row(record):
    """(pmid, title, abstract, mesh, keywords) for the full-text index, from a reader's record."""
    return (
        record["pmid"],
        html_to_text(record["title"]),
        html_to_text(" ".join(section["text"] for section in record["abstract"])),
        " ; ".join(heading["name"] for heading in record["mesh"]),
        " ; ".join(record["keywords"]),
    )
