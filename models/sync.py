"""Runs of `flask sync`: new papers fetched from PubMed."""

from peewee import CharField, DateTimeField, IntegerField, TextField, fn

from .base import BaseModel, db, utcnow


class SyncRun(BaseModel):
    """One run of `flask sync` (pubmed/sync.py): an esearch window of the readers' interests,
    or one NCBI update file. A row is written when the run starts and completed in one
    transaction when it ends, so a crash leaves a row with no `finished_at` (shown as
    interrupted) and never a file recorded as applied that was not."""

    INTERESTS, UPDATEFILES = "interests", "updatefiles"

    source = CharField()
    file = CharField(null=True)  # the update file's name
    window_start = CharField(null=True)  # the esearch window, YYYY/MM/DD, both ends included
    window_end = CharField(null=True)
    added = IntegerField(default=0)
    updated = IntegerField(default=0)
    deleted = IntegerField(default=0)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True, index=True)
    error = TextField(null=True)

    class Meta:
        table_name = "sync_run"
        indexes = ((("source", "file"), False),)

    @classmethod
    def begin(cls, source, file=None, window=(None, None)):
        """A new run, recorded as started (and committed: a crash then shows it)."""
        with db.atomic():
            return cls.create(source=source, file=file, window_start=window[0],
                              window_end=window[1])  # fmt: skip

    def end(self, summary, error=None):
        """Record what the run did (an importer.Summary) and how it ended, at once."""
        self.added, self.updated, self.deleted = summary.added, summary.updated, summary.deleted
        self.finished_at, self.error = utcnow(), error
        with db.atomic():
            self.save()

    @property
    def succeeded(self):
        return self.finished_at is not None and self.error is None

    @property
    def seconds(self):
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    @classmethod
    def _succeeded(cls):
        return cls.finished_at.is_null(False) & cls.error.is_null()

    @classmethod
    def applied_files(cls):
        """Names of the update files applied to the end."""
        query = cls.select(cls.file).where((cls.source == cls.UPDATEFILES) & cls._succeeded())
        return {file for (file,) in query.tuples()}

    @classmethod
    def last_window_end(cls):
        """Where the last successful interests run's window ended (YYYY/MM/DD), or None."""
        query = cls.select(fn.MAX(cls.window_end)).where(
            (cls.source == cls.INTERESTS) & cls._succeeded()
        )
        return query.scalar()

    @classmethod
    def latest(cls, count=10):
        """The last runs, newest first (unexecuted)."""
        return cls.select().order_by(cls.started_at.desc(), cls.id.desc()).limit(count)

    @classmethod
    def last_update_subquery(cls):
        """When the library was last updated from PubMed (a run ended without error)."""
        return cls.select(fn.MAX(cls.finished_at)).where(cls._succeeded())

    @classmethod
    def added_since_subquery(cls, since):
        """Papers the runs ended since `since` added: a sum over a handful of run rows (by
        the finished_at index), whatever the library's size; a COUNT of article.added_at
        would read a week of index entries, a million of them after a baseline load."""
        return cls.select(fn.COALESCE(fn.SUM(cls.added), 0)).where(cls.finished_at >= since)
