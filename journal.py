"""The Medical Journal of You: when a reader's next issue is due, which papers go in it, in
what order, under which heading and why. Plain Python over the models (no Flask), so the
CLI, the web views and the tests assemble issues the same way.

Ranking, for a paper that matches at least one interest:

    score = 0.60 × relevance + 0.25 × design + 0.15 × recency        (each in 0…1)

- relevance: each matched interest gives a strength — for a keyword or a followed search
  (its full-text part, search_query.py), the paper's full-text score (bm25 over title ×3,
  abstract ×1, MeSH ×2, keywords ×2) divided by the best score a paper of the window gets
  for that interest; for a MeSH heading, 1 when it is a major topic of the paper and 0.6
  otherwise; for a journal or a publication type (or a search of filters only), 0.8 when
  the paper is in it. Strengths combine as 1 − Π(1 − s): more matches, more relevant.
- design: the strongest study design among the paper's publication types (DESIGNS below):
  meta-analyses and systematic reviews above guidelines and trials, above reviews, above
  case reports, letters and comments; 0.3 for a plain journal article.
- recency: 0.5 ** (days the paper was published before the newest candidate / 365).

Candidates come from SQL (models.issue_candidates): for each interest the best
TEXT_MATCHES papers of the issue's window (full text by bm25, the others newest first) that
were in none of the reader's earlier issues, so no paper is ever repeated and a later issue
sees every new match. Ties go to the higher (newer) PMID.

Each paper is filed under its strongest interest, and while other interests have matches
none takes more than its share of the issue (the issue size over the number of interests,
at least 3). "Beyond your field" ranks papers that match
no interest with relevance 0, among those of strong design (review or better).
"""

import datetime
import functools
import json
import math
from dataclasses import dataclass, field

from peewee import IntegrityError

import clinical
import search_query
from models import (
    Arm,
    Article,
    ArticleFacet,
    ArticleSearch,
    CorrectionAlert,
    Interest,
    Issue,
    IssueEntry,
    MeshDescriptor,
    db,
    issue_candidates,
    utcnow,
)
from preferences import Preferences

ISSUE_SIZE = 20  # papers filed under the reader's interests
BEYOND_SIZE = 3  # papers from outside them
TEXT_MATCHES = 500  # candidates read per interest (per arm: a heading reads majors and others)
BEYOND_SPARE = 10  # read this many times the "beyond" papers wanted: some may match after all

WEIGHTS = {"relevance": 0.60, "design": 0.25, "recency": 0.15}
FIELD_MATCH = 0.8  # strength of being in a followed journal, or of a followed type
MESH_MAJOR = 1.0  # a followed heading that is a major topic of the paper
MESH_MINOR = 0.6  # … that is one of its other headings
RECENCY_HALF_LIFE = 365  # days

# Publication types as study designs: (type, weight, what the reason calls it).
DESIGNS = (
    ("Meta-Analysis", 1.0, "meta-analysis"),
    ("Systematic Review", 0.95, "systematic review"),
    ("Practice Guideline", 0.9, "practice guideline"),
    ("Guideline", 0.9, "guideline"),
    ("Randomized Controlled Trial", 0.85, "randomized controlled trial"),
    ("Pragmatic Clinical Trial", 0.8, "pragmatic trial"),
    ("Controlled Clinical Trial", 0.75, "controlled clinical trial"),
    ("Clinical Trial, Phase III", 0.7, "phase III trial"),
    ("Clinical Trial, Phase IV", 0.7, "phase IV trial"),
    ("Multicenter Study", 0.6, "multicentre study"),
    ("Clinical Trial, Phase II", 0.6, "phase II trial"),
    ("Clinical Trial", 0.6, "clinical trial"),
    ("Observational Study", 0.5, "observational study"),
    ("Clinical Trial, Phase I", 0.5, "phase I trial"),
    ("Comparative Study", 0.45, "comparative study"),
    ("Validation Study", 0.45, "validation study"),
    ("Evaluation Study", 0.4, "evaluation study"),
    ("Review", 0.4, "review"),
    ("Case Reports", 0.1, "case report"),
    ("Editorial", 0.1, "editorial"),
    ("Comment", 0.1, "comment"),
    ("Letter", 0.1, "letter"),
    ("News", 0.05, "news"),
    ("Published Erratum", 0.0, "erratum"),
    ("Retraction of Publication", 0.0, "retraction"),
)
DESIGN_BY_TYPE = {kind.lower(): (weight, label, kind) for kind, weight, label in DESIGNS}
PLAIN_ARTICLE = (0.3, None, None)
STRONG_DESIGN = 0.4  # "Beyond your field" only shows reviews and better
STRONG_KEYS = tuple(sorted(kind.lower() for kind, weight, _ in DESIGNS if weight >= STRONG_DESIGN))

# What ranking reads of a paper (never the abstract).
# What ranking reads of a paper: not the abstract, nor the authors (costly to decode by the
# thousand; a stored issue reads them for the page, a sample goes without).
RANKED = (
    *(f for f in IssueEntry.LISTED if f is not Article.authors),
    Article.sort_date, Article.mesh, Article.journal_iso, Article.issn,
)  # fmt: skip


@dataclass
class Entry:
    """A paper placed in an issue (stored as an IssueEntry, or shown in a sample)."""

    article: Article
    section: str
    score: float
    reason: str
    beyond: bool = False
    position: int = 0
    starred: bool = False
    read_at: datetime.datetime | None = None
    names: list = field(default_factory=list)  # the interests it matches, strongest first
    feedback: str | None = None  # "ranked up: you liked 3 papers on …"


def design(publication_types):
    """(weight, label, type) of the strongest study design among the types; generic types
    (journal article, funding) say nothing, so a paper with only those is a plain article."""
    return _design(tuple(publication_types))


@functools.lru_cache(maxsize=4096)  # a few hundred combinations of types are common
def _design(publication_types):
    found = [DESIGN_BY_TYPE[kind.lower()] for kind in publication_types
             if kind.lower() in DESIGN_BY_TYPE]  # fmt: skip
    return max(found, key=lambda pair: pair[0]) if found else PLAIN_ARTICLE


def recency(sort_date, newest):
    """1 for the newest candidate, halving every RECENCY_HALF_LIFE days before it."""
    days = max(0, (newest - _date(sort_date)).days)
    return 0.5 ** (days / RECENCY_HALF_LIFE)


def _date(sort_date):
    try:
        return datetime.date.fromisoformat(sort_date)
    except (TypeError, ValueError):
        return datetime.date.min


def assemble(
    interests, since=None, until=None, size=ISSUE_SIZE, beyond=BEYOND_SIZE, reader=None,
    preferences=None,
):  # fmt: skip
    """The entries of an issue following `interests`, from the papers added in [since, until)
    (None: no bound) that are in none of `reader`'s earlier issues, in table-of-contents order
    with positions 1, 2, 3 … Each interest's candidates are found by index inside the window
    and capped in SQL (models.issue_candidates); only they are read and ranked here.
    `preferences` (preferences.Preferences, the reader's feedback) moves scores up or down."""
    interests = list(interests)
    narrower = _narrower(interests)
    arms = [(number, arm, strength) for number, interest in enumerate(interests)
            for arm, strength in arms_of(interest, narrower)]  # fmt: skip
    every = [arm for _, arm, _ in arms] + ([Arm(facet="pt", keys=STRONG_KEYS)] if beyond else [])
    window = issue_candidates.plan(since, until)
    reader_id = reader.id if reader is not None else None
    # Feedback ranks by headings and keywords: only then are they read for every candidate.
    terms = bool(preferences)
    found, read = issue_candidates.best(every, window, reader_id, TEXT_MATCHES, terms=terms)
    strengths = {}  # pmid → {interest number: strength}
    for (number, _, fixed), scores in zip(arms, found, strict=False):
        best = max((score for score in scores.values() if score is not None), default=0)
        for pmid, score in scores.items():
            # A full-text match counts relative to the best match in the window.
            strength = fixed if fixed is not None else (score / best if best > 0 else 0.0)
            mine = strengths.setdefault(pmid, {})
            mine[number] = max(mine.get(number, 0.0), strength)
    candidates = {pmid: Candidate(pmid, *read[pmid]) for pmid in read}
    matched = [(candidates[pmid], found_) for pmid, found_ in strengths.items()]
    others = [candidates[pmid] for pmid in (found[-1] if beyond else ()) if pmid not in strengths]
    dates = [_date(candidate.sort_date) for candidate in [c for c, _ in matched] + others]
    newest = max(dates) if dates else (until or utcnow()).date()

    ranked = _shared_out(
        sorted(
            (_score(c, found_, newest, interests, preferences) for c, found_ in matched),
            key=_order,
        ),
        size,
        share=max(3, math.ceil(size / max(1, len(interests)))),
    )
    sections = {}  # section → its entries, sections in the order of their best entry
    for entry in ranked:
        sections.setdefault(entry.section, []).append(entry)
    entries = [entry for group in sections.values() for entry in group]
    strong = []
    if beyond:
        strong = sorted((_score(c, {}, newest, interests, preferences) for c in others), key=_order)
        strong = [entry for entry in strong if _design_of(entry) >= STRONG_DESIGN]
        strong = strong[: beyond * BEYOND_SPARE]
    # Only now the papers shown are read whole (the reasons give their dates).
    papers = {a.pmid: a for a in Article.select(*RANKED).where(
        Article.pmid.in_([entry.article.pmid for entry in entries + strong]))}  # fmt: skip
    # A strong-design paper that matches a followed heading, journal or type beyond the
    # candidates read (past an arm's LIMIT) is not "outside your interests".
    followed = {(arm.facet, key) for _, arm, _ in arms if arm.facet for key in arm.keys}
    strong = [e for e in strong if e.article.pmid in papers
              and not followed & _facet_keys(papers[e.article.pmid])]  # fmt: skip
    entries = [entry for entry in entries + strong[:beyond] if entry.article.pmid in papers]
    for position, entry in enumerate(entries, 1):
        entry.article = papers[entry.article.pmid]
        entry.reason = _reason(entry)
        entry.position = position
    return entries


@dataclass
class Candidate:
    """What ranking reads of a paper, with its candidacy: its date and types (a few thousand
    are read per issue; only the papers chosen are read whole)."""

    pmid: int
    sort_date: str
    publication_types: list
    mesh: list = None  # read for a reader's feedback only
    keywords: list = None

    def __post_init__(self):
        for name in ("publication_types", "mesh", "keywords"):
            if isinstance(getattr(self, name), str):  # as stored
                setattr(self, name, json.loads(getattr(self, name)))


def matches(interests, since=None, until=None, reader=None):
    """How many papers of [since, until) match any of `interests` and are in none of the
    reader's issues: exact up to Issue.MATCHED_CAP, MATCHED_CAP + 1 for "more than"."""
    narrower = _narrower(interests)
    arms = [arm for interest in interests for arm, _ in arms_of(interest, narrower)]
    window = issue_candidates.plan(since, until)
    reader_id = reader.id if reader is not None else None
    return issue_candidates.count(arms, window, reader_id, Issue.MATCHED_CAP)


def arms_of(interest, narrower=None):
    """[(Arm, strength)] for an interest: how its papers are found (models.Arm) and how
    strongly each kind of match counts; strength None is the full-text score relative to the
    best match. A MeSH heading counts fully as a major topic of the paper, less otherwise,
    and matches its narrower headings too (`narrower`: MeshDescriptor.narrower_keys)."""
    kind, value = interest.kind, interest.value
    if kind == "mesh":
        keys = tuple(search_query.ascii_lower(key)
                     for key in (narrower or {}).get(value.lower(), [value]))  # fmt: skip
        return [
            (Arm(facet="majr", keys=keys), MESH_MAJOR),
            (Arm(facet="mh", keys=keys), MESH_MINOR),
        ]
    if kind == "journal":
        return [(Arm(facet="ta", keys=(search_query.journal_key(value),)), FIELD_MATCH)]
    if kind == "type":
        return [(Arm(facet="pt", keys=(search_query.ascii_lower(value),)), FIELD_MATCH)]
    if kind == "keyword":
        phrase = '"' + value.replace('"', " ") + '"'
        arm = Arm(fts=ArticleSearch.web_query(phrase), tsquery=search_query.to_tsquery(phrase))
        return [(arm, None)]
    if kind == Interest.FILTER:
        return [(arm, FIELD_MATCH) for arm in clinical.arms(value)]
    if kind == Interest.SEARCH:
        try:
            query = search_query.parse(value)
        except search_query.QueryError:
            return []  # a followed search that no longer parses follows nothing
        arm = Arm(fts=query.fts, filters=tuple(query.filters), tsquery=query.tsquery)
        return [(arm, None if query.fts else FIELD_MATCH)]
    return []


def _narrower(interests):
    """{heading's key: keys it matches} for the MeSH interests, from the imported MeSH tree
    (one query; none without MeSH interests)."""
    headings = [interest.value for interest in interests if interest.kind == "mesh"]
    return MeshDescriptor.narrower_keys(headings) if headings else {}


def _facet_keys(article):
    """{(kind, key)} of the side-table rows of an article's heading, journal and types."""
    names = ("pmid", "mesh", "publication_types", "journal_title", "journal_abbrev",
             "journal_iso", "issn")  # fmt: skip
    record = {name: getattr(article, name) for name in names}
    return {(kind, key) for kind, key, _ in ArticleFacet.rows_for(record)}


def _shared_out(ranked, size, share):
    """The best `size` entries, no section taking more than `share` while others have
    entries left; then, if there is room, the best of the rest."""
    chosen, rest, taken = [], [], {}
    for entry in ranked:
        if len(chosen) == size:
            break
        if taken.get(entry.section, 0) < share:
            chosen.append(entry)
            taken[entry.section] = taken.get(entry.section, 0) + 1
        else:
            rest.append(entry)
    chosen += rest[: size - len(chosen)]
    return sorted(chosen, key=_order)


def _score(candidate, found, newest, interests, preferences=None):
    """The paper as an Entry: its score and section (the reason comes once it is chosen);
    the reader's feedback (`preferences`) adds to the score, and the reason will say so."""
    relevance = 1 - math.prod(1 - strength for strength in found.values())
    weight, _, _ = design(candidate.publication_types)
    score = (
        WEIGHTS["relevance"] * relevance
        + WEIGHTS["design"] * weight
        + WEIGHTS["recency"] * recency(candidate.sort_date, newest)
    )
    phrase = None
    if preferences:
        delta, phrase = preferences.adjust(candidate.mesh or [], candidate.keywords or [])
        score += delta
    # Strongest match first; equal strengths keep the order the reader chose them in.
    order = sorted(found, key=lambda number: (-found[number], number))
    names = [interests[number].value for number in order]
    section = names[0] if names else IssueEntry.BEYOND
    return Entry(candidate, section, round(score, 6), "", beyond=not names, names=names,
                 feedback=phrase)  # fmt: skip


def _reason(entry):
    """Why the paper is in the issue, in a few words: what it matches, its design, its date."""
    article, names = entry.article, entry.names
    _, label, kind = design(article.publication_types)
    parts = [f"Matches {_listing(names)}" if names else "Outside your interests"]
    if label and kind.lower() not in {name.lower() for name in names}:
        parts.append(label[0].upper() + label[1:])
    if article.display_date:
        parts.append(article.display_date)
    if entry.feedback:
        parts.append(entry.feedback)
    return " · ".join(parts)


def _design_of(entry):
    return design(entry.article.publication_types)[0]


def _order(entry):
    return (-entry.score, -entry.article.pmid)


def _listing(names):
    """ "a", "a and b", "a, b and c", "a, b, c and 2 more" """
    if len(names) > 3:
        return f"{', '.join(names[:3])} and {len(names) - 3} more"
    if len(names) > 1:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    return names[0]


# --- issues ---


def due(user, latest, now=None):
    """Whether the reader's period holding `now` has no issue yet."""
    start, _ = Issue.period_for(user.issue_frequency, now or utcnow())
    return latest is None or latest.period_start < start


def publish(user, now=None, alerts=False):
    """The reader's issue for the period holding `now`: assembled if due, else the latest.
    Returns (issue, created); issue is None while the reader follows nothing and has no
    issue yet. Safe to run twice, or from two processes at once: one issue per period.
    A new issue opens with a Corrections section: the papers the reader is connected to
    that were retracted or corrected since (CorrectionAlert), whatever the interests.
    `alerts`: the latest issue carries the reader's unseen alerts (`alerts_found`), read in
    the same query, for the journal page."""
    now = now or utcnow()
    latest = Issue.of(user)
    if alerts:
        latest = latest.select_extend(CorrectionAlert.unseen_column(user))
    latest = latest.first()
    if not due(user, latest, now):
        return latest, False
    interests = list(Interest.of(user))
    if not interests:
        return latest, False
    start, end = Issue.period_for(user.issue_frequency, now)
    since = latest.covers_until if latest else None
    preferences = Preferences.for_reader(user)
    entries = assemble(
        interests, since=since, until=now, size=user.issue_size, reader=user,
        preferences=preferences,
    )  # fmt: skip
    matched = matches(interests, since=since, until=now, reader=user)
    try:
        with db.atomic():
            issue = Issue.create(
                user=user,
                number=latest.number + 1 if latest else 1,
                volume=latest.volume + start.year - latest.period_start.year if latest else 1,
                frequency=user.issue_frequency,
                period_start=start,
                period_end=end,
                covers_from=since,
                covers_until=now,
                created_at=now,
                matched=matched,
            )
            rows, told = _corrections(issue, user)
            printed = {row["article"] for row in rows}
            rows += [
                {"issue": issue, "article": e.article.pmid, "position": len(rows) + number,
                 "section": e.section, "beyond": e.beyond, "reason": e.reason, "score": e.score}
                for number, e in enumerate(
                    (e for e in entries if e.article.pmid not in printed), start=1
                )
            ]  # fmt: skip
            if rows:
                IssueEntry.insert_many(rows).execute()
            if told:
                CorrectionAlert.update(issued_in=issue).where(
                    CorrectionAlert.id.in_(told)
                ).execute()
    except IntegrityError:
        # Another process assembled this period's issue first: theirs is the issue.
        issue = Issue.get((Issue.user == user) & (Issue.period_start == start))
        return issue, False
    return issue, True


def _corrections(issue, user):
    """(rows, alert ids): the Corrections section of a new issue, one entry per paper with
    alerts no issue printed yet, in the order the reader was told, and those alerts. The
    no-repeat rule keeps any paper of an issue out of later rankings, and a retracted paper
    is never ranked: printing it here is the exception, by design."""
    by_paper, told = {}, []
    for alert in CorrectionAlert.to_issue(user):
        by_paper.setdefault(alert.article_id, []).append(alert)
        told.append(alert.id)
    rows = []
    for position, (pmid, alerts) in enumerate(by_paper.items(), start=1):
        why = CorrectionAlert.CONNECTIONS[min(a.connection for a in alerts)]
        reason = "; ".join(a.reason() for a in alerts) + f" · {why}"
        rows.append({"issue": issue, "article": pmid, "position": position,
                     "section": IssueEntry.CORRECTIONS, "beyond": False, "reason": reason,
                     "score": 0.0})  # fmt: skip
    return rows, told


def sample(interests):
    """A sample issue for a visitor: the whole library, nothing stored."""
    return assemble(interests)


def sections(entries):
    """[(section, [entries])] in table-of-contents order ("Beyond your field" last)."""
    grouped = {}
    for entry in entries:
        grouped.setdefault(entry.section, []).append(entry)
    return list(grouped.items())
