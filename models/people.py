"""Readers, their sign-in links and their notes on papers."""

import datetime
import hashlib
import secrets

from flask_login import UserMixin
from peewee import (
    SQL,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    NodeList,
    SmallIntegerField,
    TextField,
    fn,
)
from werkzeug.security import check_password_hash, generate_password_hash

from . import prepared
from .base import BaseModel, Privacy, display_date, utcnow
from .papers import Article


class User(UserMixin, BaseModel):
    """A reader with an account. Email is stored lowercased and never shown to other readers."""

    email = CharField(unique=True)
    display_name = CharField()
    password_hash = CharField(null=True)  # None: signs in only by emailed link
    created_at = DateTimeField(default=utcnow)
    library_kind = CharField(null=True)  # institutional full text: "ezproxy" | "openurl"
    library_base = TextField(null=True)
    trial_ends_at = DateTimeField(null=True)  # the Medical Journal of You's free trial
    full_access = BooleanField(default=False)  # granted by an admin: no trial needed
    issue_frequency = CharField(default="weekly")  # the journal's rhythm: daily | weekly | monthly
    email_issues = BooleanField(default=False)  # send each new issue by email
    # The sha256 of the secret in the reader's Atom feed URL (migration 16 hashed the keys
    # stored before it): a leaked database or backup does not open anyone's feed.
    feed_key_hash = CharField(null=True, unique=True, column_name="feed_key")
    # At most this many papers an issue (migration 11; the DEFAULT fills existing readers).
    issue_size = SmallIntegerField(default=20, constraints=[SQL("DEFAULT 20")])
    # Single-key shortcuts (`/`, `n`, `?`…) on or off (WCAG 2.1.4; migration 17).
    shortcuts = BooleanField(default=True, constraints=[SQL("DEFAULT TRUE")])

    PRIVACY = Privacy(
        "Your account",
        "Your email address, the name you chose, your password as a one-way hash (no one can "
        "read it back), when you joined, your trial's end, your journal's and keyboard "
        "settings, and your library's full-text address.",
        "Your address: nobody. No other reader ever sees it; Pearl uses it only to send you "
        "the mail you ask for. Other readers see only your name, beside your shared notes.",
    )
    TRIAL_DAYS = 21
    ISSUE_SIZES = (5, 10, 20, 30, 50)
    FREQUENCIES = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}

    @staticmethod
    def normalise_email(email):
        return (email or "").strip().lower()

    @classmethod
    def by_email(cls, email):
        return cls.get_or_none(cls.email == cls.normalise_email(email))

    def set_password(self, password):
        # werkzeug's default is scrypt, a memory-hard KDF with a random salt per hash.
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def start_trial(self, now=None):
        """Start the 21-day trial, once: a reader who had one (or full access) keeps theirs."""
        if self.trial_ends_at is None and not self.full_access:
            self.trial_ends_at = (now or utcnow()) + datetime.timedelta(days=self.TRIAL_DAYS)

    def trial_days_left(self, now=None):
        """Whole days left in the trial, counting today (0 once it has ended); None when the
        reader has full access or never started a trial."""
        if self.full_access or self.trial_ends_at is None:
            return None
        remaining = self.trial_ends_at - (now or utcnow())
        if remaining <= datetime.timedelta(0):
            return 0
        return remaining.days + (1 if remaining.seconds or remaining.microseconds else 0)

    @property
    def has_journal(self):
        """Whether the journal is open to this reader: full access or a running trial."""
        return self.full_access or bool(self.trial_days_left())

    @classmethod
    def with_journal(cls, now=None):
        """Readers the journal is open to (full access or a running trial), unexecuted."""
        return cls.select().where(cls.full_access | (cls.trial_ends_at > (now or utcnow())))

    @staticmethod
    def hash_secret(secret):
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def by_feed_key(cls, key):
        return cls.get_or_none(cls.feed_key_hash == cls.hash_secret(key)) if key else None

    def reset_feed_key(self):
        """A new secret for the Atom feed's address, returned once (only its hash is kept);
        the old address stops working."""
        key = secrets.token_urlsafe(24)
        self.feed_key_hash = self.hash_secret(key)
        return key

    def get_id(self):
        # Flask-Login keeps this in the session cookie and the remember cookie: the key of
        # one UserSession, so that signing out (deleting the row) ends both cookies.
        return getattr(self, "session_key", None)

    @property
    def library(self):
        """The institutional access setting as the views use it, or None."""
        if self.library_kind and self.library_base:
            return {"kind": self.library_kind, "base": self.library_base}
        return None


class LoginToken(BaseModel):
    """A single-use sign-in link sent by email. Only a hash of the token is stored, so a
    leaked database cannot be used to sign in. A link sent by the sign-up form carries the
    name typed (and, for a new address, the password hash): the account is made only when
    its owner follows the link, so nobody can claim an address that is not theirs; a trial
    link carries neither (migration 16)."""

    token_hash = CharField(unique=True)
    email = CharField()
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    display_name = CharField(null=True)
    password_hash = CharField(null=True)

    LIFETIME = datetime.timedelta(hours=24)
    PRIVACY = Privacy(
        "Sign-in links",
        "The address each emailed sign-in link went to, when it was sent and when it was "
        "used; the link itself only as a hash.",
        "Nobody: it is there so a link works once, within 24 hours.",
    )

    @classmethod
    def naming(cls, user):
        """The reader's links (kept by address, not by account: privacy.py)."""
        return cls.email == user.email

    @staticmethod
    def _hash(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, email, now=None, display_name=None, password_hash=None):
        """A new token for `email` (returned once, never stored as such)."""
        token = secrets.token_urlsafe(32)
        now = now or utcnow()
        cls.create(token_hash=cls._hash(token), email=User.normalise_email(email),
                   created_at=now, expires_at=now + cls.LIFETIME, display_name=display_name,
                   password_hash=password_hash)  # fmt: skip
        return token

    @classmethod
    def usable(cls, token, now=None):
        """Whether the token would sign in now (unknown, used and expired ones would not);
        reads only, so a mail scanner fetching the link uses nothing up."""
        return (
            cls.select()
            .where(
                (cls.token_hash == cls._hash(token))
                & cls.used_at.is_null()
                & (cls.expires_at > (now or utcnow()))
            )
            .exists()
        )

    @classmethod
    def redeem(cls, token, now=None):
        """The token's row (email, and a sign-up's name and password hash), marking it used;
        None if unknown, used or expired. One conditional UPDATE, so two clicks racing cannot
        both succeed."""
        now = now or utcnow()
        claimed = (
            cls.update(used_at=now)
            .where(
                (cls.token_hash == cls._hash(token))
                & cls.used_at.is_null()
                & (cls.expires_at > now)
            )
            .execute()
        )
        if not claimed:
            return None
        return cls.get(cls.token_hash == cls._hash(token))


class UserSession(BaseModel):
    """One signed-in browser. The cookies carry only a random key; the row holds its hash.
    Signing out deletes the row, so a copied `session` or `remember_token` cookie stops
    working; "sign out everywhere", a new password and a new address delete all of a reader's
    rows (migration 16)."""

    key_hash = CharField(unique=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()

    # As long as the remember-me cookie lasts (REMEMBER_COOKIE_DURATION, views/security.py).
    LIFETIME = datetime.timedelta(days=30)
    PRIVACY = Privacy(
        "Signed-in browsers",
        "One row for each browser you are signed in on: when you signed in there and when that "
        "ends (30 days at most); the cookie's key only as a hash.",
        "Nobody: it is there so that signing out, or signing out everywhere, ends the session.",
    )

    @classmethod
    def start(cls, user, now=None):
        """A new session for `user`: sets `user.session_key` (what Flask-Login stores). The
        reader's expired sessions go at the same time, so the table holds live ones only."""
        key = secrets.token_urlsafe(32)
        now = now or utcnow()
        cls.delete().where((cls.user == user) & (cls.expires_at <= now)).execute()
        cls.create(key_hash=User.hash_secret(key), user=user, created_at=now,
                   expires_at=now + cls.LIFETIME)  # fmt: skip
        user.session_key = key
        return key

    @classmethod
    def reader(cls, key, now=None):
        """The User whose live session `key` is, or None: one query."""
        if not key:
            return None
        user = prepared.first(
            "session's reader",
            lambda key_hash, now: (
                User.select()
                .join(cls)
                .where((cls.key_hash == key_hash) & (cls.expires_at > now))
                .limit(1)
            ),
            key_hash=User.hash_secret(key),
            now=cls.expires_at.db_value(now or utcnow()),
        )
        if user is not None:
            user.session_key = key
        return user

    @classmethod
    def end(cls, key):
        """Sign one browser out (a key that is gone already is fine)."""
        cls.delete().where(cls.key_hash == User.hash_secret(key or "")).execute()

    @classmethod
    def end_all(cls, user):
        """Sign `user` out of every browser; returns how many sessions ended."""
        return cls.delete().where(cls.user == user).execute()


class Note(BaseModel):
    """A reader's note ("pearl") on a paper: the source as typed and its rendered HTML."""

    PRIVATE, SHARED = "private", "shared"
    VISIBILITIES = {PRIVATE: "Only me", SHARED: "Shared with readers of this Pearl"}
    PRIVACY = Privacy(
        "Your notes",
        "Each note as you typed it, the paper it is on, whether it is private or shared, and "
        "when you wrote, changed or deleted it.",
        "Private notes: only you. Shared notes: readers of this Pearl, with your name.",
    )

    article = ForeignKeyField(Article, backref="notes", on_delete="RESTRICT")
    author = ForeignKeyField(User, backref="notes", on_delete="CASCADE")
    source = TextField()
    html = TextField()
    visibility = CharField(default=PRIVATE)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    deleted_at = DateTimeField(null=True)  # set on delete; cleared by undo

    class Meta:
        indexes = ((("article", "created_at"), False),)

    @classmethod
    def visible_to(cls, user):
        """Notes `user` may read (None: a signed-out reader): their own and shared ones."""
        # Only what a note shows of its author: never their email or password hash.
        query = cls.select(cls, User.id, User.display_name).join(User)
        query = query.where(cls.deleted_at.is_null())
        if user is None:
            return query.where(cls.visibility == cls.SHARED)
        return query.where((cls.visibility == cls.SHARED) | (cls.author == user))

    @classmethod
    def page_on(cls, article, user, page, per_page):
        """One page of the notes on `article` visible to `user`, newest first, each carrying
        `total` (all visible notes) from a subquery: one query for list and count. The rows
        come raw (prepared.Fetched): the notes panel, kept rendered, often needs no model
        of them."""

        def build(article, limit, user=None, offset=None):
            visible = cls.visible_to(user).where(cls.article == article)
            # The count as a subquery the database runs once, not COUNT(*) OVER (): the
            # window made SQLite keep every visible note, text and all, in a sorter before
            # the page's own sort, half the query's time.
            total = visible.select(fn.COUNT(cls.id))
            query = (
                visible.select_extend(total.alias("total"), cls.changed_column())
                .order_by(cls.created_at.desc(), cls.id.desc())
                .limit(limit)
            )
            return query if offset is None else query.offset(offset)

        # The first page has no OFFSET at all: PostgreSQL keeps no plan for a statement whose
        # OFFSET is a parameter (the plan for any offset looks dearer than one made for 0),
        # so it planned the query afresh on every page view, 0.7 ms of its CPU.
        place = {"article": article.pmid, "limit": per_page}
        shape = "notes on a paper"
        if user is not None:
            place["user"], shape = user.id, shape + ", signed in"
        if page > 1:
            place["offset"], shape = (page - 1) * per_page, shape + ", a later page"
        return prepared.fetch(shape, build, **place)

    @classmethod
    def changed_column(cls):
        """`changed_after` ("retraction|2010-02-06", or None) as a column of a query over
        notes: the paper's retraction (else expression of concern) dated after the note was
        written; the date is the notice's, or when Pearl learnt of it when the notice gives
        none. A partial date ("2010-02") is after a note written before that month. Two index
        probes a note, folded into the query that reads them."""
        # Timestamps compared as text, as SQLite stores them (CAST: PostgreSQL's are not).
        when = "COALESCE(cn.date, (SELECT CAST(MIN(ca.created_at) AS TEXT) FROM correction_alert"
        when += " ca WHERE ca.article_id = cn.pmid AND ca.nature = cn.nature))"
        return NodeList(
            (
                SQL(f"(SELECT cn.nature || '|' || {when} FROM notice cn WHERE cn.pmid = "),
                cls.article,
                SQL(" AND cn.nature IN ('retraction', 'concern') AND substr(CAST("),
                cls.created_at,
                SQL(f" AS TEXT), 1, length({when})) < {when} ORDER BY"
                    f" cn.nature = 'retraction' DESC, length({when}) DESC, {when} LIMIT 1)"),
            ),
            glue="",
        ).alias("changed_after")  # fmt: skip

    @property
    def fragment_key(self):
        """What the note's HTML is made from but for who reads it and "3 minutes ago"
        (views/fragments.py): its text, visibility, times, author's name, paper's notices."""
        # The HTML by its digest: an edit at the same instant (a pinned clock) still changes
        # the key, and the key stays small.
        digest = hashlib.blake2b(self.html.encode(), digest_size=16).hexdigest()
        return (self.id, digest, self.visibility, self.created_at, self.updated_at,
                self.author.display_name, getattr(self, "changed_after", None))  # fmt: skip

    @property
    def paper_changed(self):
        """(nature, "6 Feb 2010") when the note predates its paper's retraction or expression
        of concern (read by `page_on`); None otherwise."""
        found = getattr(self, "changed_after", None)
        if not found:
            return None
        nature, date = found.split("|", 1)
        return nature, display_date(date)

    @classmethod
    def by_author(cls, user, q=""):
        """The reader's own notes, newest first, each with its paper's PMID and title
        (unexecuted). `q` keeps those whose source contains it (LIKE, any case): a scan of
        the reader's own notes only, which the author index bounds."""
        query = (
            cls.select(cls, Article.pmid, Article.title)
            .join(Article)
            .where((cls.author == user) & cls.deleted_at.is_null())
            .order_by(cls.created_at.desc(), cls.id.desc())
        )
        if q:
            query = query.where(cls.source.contains(q))
        return query


class NoteKey(BaseModel):
    """The one-time key of the form a note was written in (migration 18): the same form
    posted again (a retry after the connection dropped past the commit) finds the note it
    saved instead of saving it twice. Keyed by author too: a key names nothing of others'."""

    PRIVACY = Privacy(
        "Note forms",
        "A random key for each note form you sent, with the note it saved, so that a form "
        "sent twice (a dropped connection, a second click) saves one note.",
        "Nobody: it only tells Pearl that a note was already saved.",
    )

    author = ForeignKeyField(User, on_delete="CASCADE")
    key = CharField()
    note = ForeignKeyField(Note, on_delete="CASCADE")

    class Meta:
        table_name = "note_key"
        indexes = ((("author", "key"), True),)

    @staticmethod
    def fresh():
        """A new form's key: random, one for each note form rendered."""
        return secrets.token_urlsafe(16)

    @classmethod
    def note_for(cls, author, key):
        """The note `author` already saved from the form with `key`, or None."""
        if not key:
            return None
        query = Note.select().join(cls, on=(cls.note == Note.id))
        return query.where((cls.author == author) & (cls.key == key)).first()
