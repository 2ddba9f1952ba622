"""Pearl's tables, the database handle, schema migrations and the queries the views use.

One module per part of Pearl (papers, notices, people, vocabulary, journal, library, sync,
migrations); everything engine-specific (SQLite pragmas, the FTS5 index, bulk writes) sits in
the engine corner, models/sqlite.py. This package re-exports them all: `models.Article`.
"""

# In layers (see the bottom of each module): a module loads after the tables it builds on.
# isort: off
from .base import (
    CORNERS,
    Corner,
    bulk,
    issue_candidates,
    json_corner,
    search_index,
    ASCII_LOWER,
    EMPTY_DICT,
    EMPTY_LIST,
    MATH,
    MONTHS,
    TAG,
    BaseModel,
    JSONField,
    Privacy,
    db,
    display_date,
    html_to_text,
    html_without_math,
    utcnow,
)
from .engine import close_all, database_problem, open_database, relax_durability
from .migrations import MIGRATIONS, Migration, migrate
from .notices import NATURES, NOTICE_LINKS, NOTICE_TYPES, RETRACTED_TYPE, SOURCE_DATE, Notice
from .papers import (
    Article,
    ArticleFacet,
    ArticleText,
    LibraryStats,
    SearchIndexState,
    article_count,
)
from .sqlite import SQLITE_PRAGMAS, ArticleSearch, PearlSqliteDatabase
from .postgres import PearlPostgresqlDatabase
from .sync import SyncRun
from .vocabulary import MeshDescriptor, MeshTreeNumber, Term, TermSpelling, TermWord
from .people import LoginToken, Note, NoteKey, User, UserSession
from .journal import Arm, Feedback, Interest, Issue, IssueEntry, Window
from .library import Collection, CollectionItem, CorrectionAlert, Star
# isort: on

__all__ = [
    "ASCII_LOWER",
    "Arm",
    "Article",
    "ArticleFacet",
    "ArticleSearch",
    "ArticleText",
    "BaseModel",
    "CORNERS",
    "Collection",
    "Corner",
    "CollectionItem",
    "CorrectionAlert",
    "EMPTY_DICT",
    "EMPTY_LIST",
    "Feedback",
    "Interest",
    "Issue",
    "IssueEntry",
    "JSONField",
    "LibraryStats",
    "LoginToken",
    "MATH",
    "MIGRATIONS",
    "MONTHS",
    "MeshDescriptor",
    "MeshTreeNumber",
    "Migration",
    "NATURES",
    "NOTICE_LINKS",
    "NOTICE_TYPES",
    "Note",
    "NoteKey",
    "Notice",
    "PearlPostgresqlDatabase",
    "PearlSqliteDatabase",
    "Privacy",
    "RETRACTED_TYPE",
    "SOURCE_DATE",
    "SQLITE_PRAGMAS",
    "SearchIndexState",
    "Star",
    "SyncRun",
    "TAG",
    "Term",
    "TermSpelling",
    "TermWord",
    "User",
    "UserSession",
    "Window",
    "article_count",
    "bulk",
    "database_problem",
    "db",
    "display_date",
    "html_to_text",
    "html_without_math",
    "issue_candidates",
    "json_corner",
    "migrate",
    "open_database",
    "close_all",
    "relax_durability",
    "search_index",
    "utcnow",
]
