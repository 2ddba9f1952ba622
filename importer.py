"""Store what the PubMed readers yield: upsert by PMID, keep the search index in step, apply
deletions, and commit in batches (a failing batch commits nothing)."""

import hashlib
import queue
import threading
from dataclasses import dataclass, field

import pubmed
from markup import record_html
from models import Article, JSONField, db, html_to_text, search_index, utcnow

BATCH_SIZE = 500
JSON_COLUMNS = (
    "authors", "abstract", "mesh", "keywords", "publication_types", "languages", "grants",
    "chemicals", "comments_corrections", "other_abstracts", "article_ids",
)  # fmt: skip
EMPTY_JSON = {list: "[]", dict: "{}"}


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


def import_file(path, summary=None, on_batch=None):
    """Import one file; returns its Summary. Raises pubmed.MalformedFile (naming the line)
    after committing the batches before the bad one and nothing of the bad one."""
    return import_records(pubmed.read(path), summary, on_batch)


def import_records(items, summary=None, on_batch=None):
    """Import records and Deletions from any reader, BATCH_SIZE at a time.

    This thread reads and prepares each batch while a writer thread stores the one before:
    SQLite (the FTS5 index above all) works with the GIL released, so the two overlap. A
    reader error stops the reading; the batches before it are still committed, in order.
    on_batch(count) is called as each batch is handed to the writer (a progress bar).
    """
    summary = summary or Summary()
    writer = _BatchWriter(summary)
    try:
        batch = []
        for item in items:
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                writer.put(prepare_batch(batch))
                if on_batch:
                    on_batch(len(batch))
                batch = []
        if batch:
            writer.put(prepare_batch(batch))
            if on_batch:
                on_batch(len(batch))
    finally:
        writer.finish()
    return summary


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
            while (prepared := self.queue.get()) is not None:
                if self.error is None:
                    try:
                        self.summary.merge(store_batch(*prepared))
                    except Exception as error:  # noqa: BLE001 - re-raised in the caller's thread
                        self.error = error
        finally:
            db.close()


def prepare_batch(batch):
    """(rows by PMID, deleted PMIDs, counts so far) for one batch: the Python-side work."""
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
            rows[item["pmid"]] = (article_row(item), search_row(item))
    return rows, deletions, counts


def store_batch(rows, deletions, counts):
    """Write one prepared batch in one transaction; returns its counts once committed."""
    with db.atomic():
        counts.deleted = Article.delete_pmids(set(deletions) - set(rows))
        existing = Article.hashes_for(rows)
        changed, searchable = [], []
        for pmid, (row, search) in rows.items():
            if pmid not in existing:
                counts.added += 1
            elif existing[pmid] == row["record_hash"]:
                counts.skip("unchanged")
                continue
            else:
                counts.updated += 1
            changed.append(row)
            searchable.append(search)
        Article.upsert_many(changed)
        search_index.replace_many(searchable)
    return counts


def article_row(record):
    """A models.Article row from a reader's record: adds the sort date and content hash, and
    passes every HTML field through the sanitizer (pages output them as markup)."""
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
    row["added_at"] = row["updated_at"] = utcnow()
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
