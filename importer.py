"""Store what the PubMed readers yield: upsert by PMID, keep the search index in step, apply
deletions, and commit in batches (a failing batch commits nothing)."""

import hashlib
import html
import json
import re
from dataclasses import dataclass, field

import pubmed
from models import Article, db, search_index, utcnow

BATCH_SIZE = 500
TAG = re.compile(r"<[^>]+>")
# What json.dumps(row, sort_keys=True, ensure_ascii=False) builds on each call: made once.
HASH_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


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

    on_batch(count) is called after each committed batch (the CLI's progress bar)."""
    summary = summary or Summary()
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            _store_batch(batch, summary)
            if on_batch:
                on_batch(len(batch))
            batch = []
    if batch:
        _store_batch(batch, summary)
        if on_batch:
            on_batch(len(batch))
    return summary


def _store_batch(batch, summary):
    """Write one batch in one transaction; counts go into `summary` only once it commits."""
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
            rows[item["pmid"]] = article_row(item)
    with db.atomic():
        counts.deleted = Article.delete_pmids(set(deletions) - set(rows))
        existing = Article.hashes_for(rows)
        changed = []
        for pmid, row in rows.items():
            if pmid not in existing:
                counts.added += 1
            elif existing[pmid] == row["record_hash"]:
                counts.skip("unchanged")
                continue
            else:
                counts.updated += 1
            changed.append(row)
        Article.upsert_many(changed)
        search_index.replace_many([search_row(row) for row in changed])
    summary.merge(counts)


def article_row(record):
    """A models.Article row from a reader's record: adds the sort date and content hash."""
    row = {name: record[name] for name in Article.IMPORTED_FIELDS if name in record}
    year, month, day = record["pub_year"], record["pub_month"], record["pub_day"]
    if year:
        row["sort_date"] = f"{year:04d}-{month or 1:02d}-{day or 1:02d}"
    else:
        row["sort_date"] = record["epub_date"] or "0000-01-01"
    digest = hashlib.blake2b(HASH_JSON.encode(row).encode(), digest_size=16)
    row["record_hash"] = digest.hexdigest()
    row["added_at"] = row["updated_at"] = utcnow()
    return row


def plain_text(fragment):
    """Text of an HTML fragment, for the search index."""
    return html.unescape(TAG.sub("", fragment)) if "<" in fragment else html.unescape(fragment)


def search_row(row):
    """(pmid, title, abstract, mesh, keywords) for the full-text index."""
    return (
        row["pmid"],
        plain_text(row["title"]),
        plain_text(" ".join(section["text"] for section in row["abstract"])),
        " ; ".join(heading["name"] for heading in row["mesh"]),
        " ; ".join(row["keywords"]),
    )
