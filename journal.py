"""The Medical Journal of You: when a reader's next issue is due, which papers go in it, in
what order, under which heading and why. Plain Python over the models (no Flask), so the
CLI, the web views and the tests assemble issues the same way.

Ranking, for a paper that matches at least one interest:

    score = 0.60 × relevance + 0.25 × design + 0.15 × recency        (each in 0…1)

- relevance: each matched interest gives a strength — for a MeSH heading, a keyword or a
  followed search (its full-text part, search_query.py), the paper's full-text score (bm25
  over title ×3, abstract ×1, MeSH ×2, keywords ×2) divided by the best score any paper gets
  for that interest; for a journal or a publication type, 0.8
  when the paper is in it. Strengths combine as 1 − Π(1 − s): more matches, more relevant.
- design: the strongest study design among the paper's publication types (DESIGNS below):
  meta-analyses and systematic reviews above guidelines and trials, above reviews, above
  case reports, letters and comments; 0.3 for a plain journal article.
- recency: 0.5 ** (days the paper was published before the newest candidate / 365).

Ties go to the higher (newer) PMID. Each paper is filed under its strongest interest, and
while other interests have matches none takes more than its share of the issue (the issue
size over the number of interests, at least 3). "Beyond your field" ranks papers that match
no interest with relevance 0, among those of strong design (review or better).
"""

import datetime
import math
from dataclasses import dataclass

from peewee import IntegrityError, fn

import search_query
from models import Article, Interest, Issue, IssueEntry, db, search_index, utcnow
from preferences import Preferences

ISSUE_SIZE = 20  # papers filed under the reader's interests
BEYOND_SIZE = 3  # papers from outside them
TEXT_MATCHES = 500  # best full-text matches read per MeSH heading or keyword
BEYOND_CANDIDATES = 500  # most recent strong-design papers considered for "Beyond your field"

WEIGHTS = {"relevance": 0.60, "design": 0.25, "recency": 0.15}
FIELD_MATCH = 0.8  # strength of being in a followed journal, or of a followed type
RECENCY_HALF_LIFE = 365  # days
TEXT_KINDS = ("mesh", "keyword")

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

# What ranking reads of a paper (never the abstract).
# What ranking reads of a paper: not the abstract, nor the authors (costly to decode by the
# thousand; a stored issue reads them for the page, a sample goes without).
# Feedback (preferences.py) reads the MeSH headings and keywords.
RANKED = (
    *(f for f in IssueEntry.LISTED if f is not Article.authors),
    Article.sort_date,
    Article.mesh,
    Article.keywords,
)


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


def design(publication_types):
    """(weight, label, type) of the strongest study design among the types; generic types (journal
    article, funding) say nothing, so a paper with only those is a plain article."""
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
    interests, since=None, until=None, size=ISSUE_SIZE, beyond=BEYOND_SIZE, preferences=None
):
    """The entries of an issue following `interests`, from the papers added in [since, until)
    (None: no bound), in table-of-contents order with positions 1, 2, 3 … Three queries: the
    full-text matches of every text interest, the matching papers, the "beyond" candidates.
    `preferences` (preferences.Preferences, the reader's feedback) moves scores up or down."""
    interests = list(interests)
    strengths = _text_strengths(interests)
    journals = {i.value.lower(): n for n, i in enumerate(interests) if i.kind == "journal"}
    types = {i.value.lower(): n for n, i in enumerate(interests) if i.kind == "type"}

    fields = None  # in a followed journal, or of a followed type
    if journals:
        fields = fn.COALESCE(fn.LOWER(Article.journal_title), "").in_(sorted(journals))
    for value in _spellings(interests, "type"):
        fields = _or(fields, Article.publication_types.contains(f'"{value}"'))
    condition = Article.pmid.in_(list(strengths)) if strengths else None
    if fields is not None:
        condition = _or(condition, fields)
    matched = []
    if condition is not None:
        for article in _added_between(since, until).where(condition):
            found = dict(strengths.get(article.pmid, {}))
            if (article.journal_title or "").lower() in journals:
                found[journals[article.journal_title.lower()]] = FIELD_MATCH
            for kind in article.publication_types:
                if kind.lower() in types:
                    found[types[kind.lower()]] = FIELD_MATCH
            if found:  # LIKE matched "Review" inside another type's name, say
                matched.append((article, found))

    matched_pmids = {article.pmid for article, _ in matched}
    others = _beyond_candidates(since, until, fields, matched_pmids, beyond)
    dates = [_date(article.sort_date) for article in [a for a, _ in matched] + others]
    newest = max(dates) if dates else (until or utcnow()).date()

    ranked = _shared_out(
        sorted(
            (_score(article, found, newest, interests, preferences) for article, found in matched),
            key=_order,
        ),
        size,
        share=max(3, math.ceil(size / max(1, len(interests)))),
    )
    sections = {}  # section → its entries, sections in the order of their best entry
    for entry in ranked:
        sections.setdefault(entry.section, []).append(entry)
    entries = [entry for group in sections.values() for entry in group]
    if beyond:
        outside = sorted(
            (_score(article, {}, newest, interests, preferences) for article in others), key=_order
        )
        entries += [entry for entry in outside if _design_of(entry) >= STRONG_DESIGN][:beyond]
    for position, entry in enumerate(entries, 1):
        entry.position = position
    return entries


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


def _text_strengths(interests):
    """{pmid: {interest number: strength}} from one full-text query for every MeSH heading,
    keyword and followed search, each score divided by the best any paper gets for it."""
    terms = [(n, i) for n, i in enumerate(interests) if i.kind in TEXT_KINDS]
    searches = [(n, i) for n, i in enumerate(interests) if i.kind == Interest.SEARCH]
    if not terms and not searches:
        return {}
    numbered = terms + searches
    strengths = {}
    results = search_index.scores_many(
        [i.value for _, i in terms],
        TEXT_MATCHES,
        queries=[_search_fts(i.value) for _, i in searches],
    )
    for (number, _), scores in zip(numbered, results, strict=True):
        best = max(scores.values(), default=0)
        for pmid, score in scores.items():
            strengths.setdefault(pmid, {})[number] = score / best if best > 0 else 0.0
    return strengths


def _search_fts(text):
    """The full-text part of a followed search (its filters on authors, dates… are not
    ranked), or None when it has none or no longer parses."""
    try:
        return search_query.parse(text).fts
    except search_query.QueryError:
        return None


def _spellings(interests, kind):
    return sorted({i.value for i in interests if i.kind == kind})


def _or(condition, other):
    return other if condition is None else condition | other


def _added_between(since, until):
    """Papers added to Pearl in [since, until), with the columns ranking reads (unexecuted)."""
    query = Article.select(*RANKED)
    if since is not None:
        query = query.where(Article.added_at >= since)
    if until is not None:
        query = query.where(Article.added_at < until)
    return query


def _beyond_candidates(since, until, fields, exclude, wanted):
    """The most recent strong-design papers of the period that match no interest (`fields`
    in SQL, full-text matches by `exclude`)."""
    if not wanted:
        return []
    strong = [kind for kind, weight, _ in DESIGNS if weight >= STRONG_DESIGN]
    condition = None
    for kind in strong:
        condition = _or(condition, Article.publication_types.contains(f'"{kind}"'))
    if fields is not None:
        condition = condition & ~fields
    query = (
        _added_between(since, until)
        .where(condition)
        .order_by(Article.sort_date.desc(), Article.pmid.desc())
        .limit(BEYOND_CANDIDATES)
    )
    return [article for article in query if article.pmid not in exclude]


def _score(article, found, newest, interests, preferences=None):
    """The paper as an Entry: its score, its section and the reason, in a few words; the
    reader's feedback (`preferences`) adds to the score and says so in the reason."""
    relevance = 1 - math.prod(1 - strength for strength in found.values())
    weight, label, kind = design(article.publication_types)
    score = (
        WEIGHTS["relevance"] * relevance
        + WEIGHTS["design"] * weight
        + WEIGHTS["recency"] * recency(article.sort_date, newest)
    )
    # Strongest match first; equal strengths keep the order the reader chose them in.
    order = sorted(found, key=lambda number: (-found[number], number))
    names = [interests[number].value for number in order]
    section = names[0] if names else IssueEntry.BEYOND
    parts = [f"Matches {_listing(names)}" if names else "Outside your interests"]
    if label and kind.lower() not in {name.lower() for name in names}:
        parts.append(label[0].upper() + label[1:])
    if article.display_date:
        parts.append(article.display_date)
    if preferences:
        delta, phrase = preferences.adjust(article.mesh, article.keywords)
        score += delta
        if phrase:
            parts.append(phrase)
    return Entry(article, section, round(score, 6), " · ".join(parts), beyond=not names)


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


def publish(user, now=None):
    """The reader's issue for the period holding `now`: assembled if due, else the latest.
    Returns (issue, created); issue is None while the reader follows nothing and has no
    issue yet. Safe to run twice, or from two processes at once: one issue per period."""
    now = now or utcnow()
    latest = Issue.of(user).first()
    if not due(user, latest, now):
        return latest, False
    interests = list(Interest.of(user))
    if not interests:
        return latest, False
    start, end = Issue.period_for(user.issue_frequency, now)
    since = latest.covers_until if latest else None
    # The reader's feedback so far ranks this issue; the issues already stored stay as they are.
    preferences = Preferences.for_reader(user)
    entries = assemble(interests, since=since, until=now, preferences=preferences)
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
            )
            rows = [
                {"issue": issue, "article": e.article.pmid, "position": e.position,
                 "section": e.section, "beyond": e.beyond, "reason": e.reason, "score": e.score}
                for e in entries
            ]  # fmt: skip
            if rows:
                IssueEntry.insert_many(rows).execute()
    except IntegrityError:
        # Another process assembled this period's issue first: theirs is the issue.
        issue = Issue.get((Issue.user == user) & (Issue.period_start == start))
        return issue, False
    return issue, True


def sample(interests):
    """A sample issue for a visitor: the whole library, nothing stored."""
    return assemble(interests)


def sections(entries):
    """[(section, [entries])] in table-of-contents order ("Beyond your field" last)."""
    grouped = {}
    for entry in entries:
        grouped.setdefault(entry.section, []).append(entry)
    return list(grouped.items())
