"""Similar papers: the papers sharing the most with one paper — its distinctive MeSH headings
(major topics weighted up), its keywords and its words — each with the reason in a few words.

Computed when asked, within a page's budget at any library size: the full-text index finds
candidates with one MATCH over the paper's rarer headings and keywords (headings nearly every
paper carries, like "Humans", say nothing and would make the MATCH scan the library), then the
few candidates are ranked here."""

import re
from dataclasses import dataclass

from models import Term, search_index

LIMIT = 10
CANDIDATES = 60
# MeSH "check tags": indexers add them to most papers (species, sex, age groups); sharing one
# says nothing about a paper's subject.
CHECK_TAGS = {
    "humans", "animals", "male", "female", "adult", "middle aged", "aged", "aged, 80 and over",
    "young adult", "adolescent", "child", "child, preschool", "infant", "infant, newborn",
    "pregnancy", "mice", "rats", "dogs", "cats", "cattle", "swine", "sheep", "rabbits",
    "cricetinae", "guinea pigs", "history, 20th century", "history, 21st century",
}  # fmt: skip
# A heading on more than this share of the library is too common to look for.
COMMON_SHARE = 0.05
# At most this many headings and keywords, and TITLE_WORDS title words, are looked for: each
# term's papers are scored by the MATCH, so a few distinctive ones keep it fast at 1M papers.
MOST_TERMS = 6
TITLE_WORDS = 3
TITLE_WORD = re.compile(r"[^\W\d_]{6,}")
# How much each shared thing counts. A shared major topic is the strongest sign of one subject.
WEIGHTS = {"major": 3.0, "heading": 1.0, "keyword": 1.5, "text": 2.0}


@dataclass
class Similar:
    """One similar paper: its row (pmid, title, journal_title, pub_year), score and reason."""

    pmid: int
    title: str
    journal_title: str
    pub_year: int
    score: float
    reason: str


def headings_to_look_for(article, counts, library_size):
    """The paper's headings worth matching on, major topics and rarer ones first."""
    chosen = []
    for heading in article.mesh:
        key = heading["name"].lower()
        common = counts.get(key, 0) > COMMON_SHARE * library_size > 0
        if key in CHECK_TAGS or common:
            continue
        chosen.append((not _is_major(heading), counts.get(key, 0), heading["name"]))
    return [name for _, _, name in sorted(chosen)[:MOST_TERMS]]


def title_words(article, limit=TITLE_WORDS):
    """The title's longest words: what text similarity looks for beyond the headings."""
    words = TITLE_WORD.findall(article.title_text)
    return sorted(set(words), key=lambda word: (-len(word), word))[:limit]


def similar_to(article, limit=LIMIT):
    """Up to `limit` papers most like `article`, best first, each with its reason."""
    counts, library_size = Term.counts_for("mesh", [h["name"] for h in article.mesh])
    headings = headings_to_look_for(article, counts, library_size)
    keywords = list(dict.fromkeys(article.keywords))[:MOST_TERMS]
    words = title_words(article)
    if not (headings or keywords or words):
        return []
    candidates = search_index.candidates_sharing(headings, keywords, words, CANDIDATES)
    own = _terms(article.mesh)
    own_keywords = {k.lower() for k in article.keywords}
    best_text = max((c["text_score"] for c in candidates), default=0) or 1
    ranked = []
    for row in candidates:
        if row["pmid"] == article.pmid:
            continue
        theirs = _terms(row["mesh"])
        shared = own.keys() & theirs.keys()
        major = {k for k in shared if own[k] and theirs[k]}
        shared_keywords = own_keywords & {k.lower() for k in row["keywords"]}
        text = row["text_score"] / best_text
        score = (WEIGHTS["major"] * len(major) + WEIGHTS["heading"] * len(shared - major)
                 + WEIGHTS["keyword"] * len(shared_keywords) + WEIGHTS["text"] * text)  # fmt: skip
        reason = _reason(len(shared), len(major), len(shared_keywords), text)
        ranked.append(Similar(row["pmid"], row["title"], row["journal_title"], row["pub_year"],
                              score, reason))  # fmt: skip
    ranked.sort(key=lambda s: (-s.score, -s.pmid))
    return ranked[:limit]


def _terms(mesh):
    """{heading name lowercased: whether it is a major topic}, check tags left out."""
    terms = {}
    for heading in mesh or ():
        key = heading["name"].lower()
        if key not in CHECK_TAGS:
            terms[key] = terms.get(key, False) or _is_major(heading)
    return terms


def _is_major(heading):
    """A major topic: the descriptor itself, or any of its qualifiers, is starred."""
    return heading.get("major") or any(major for _, major in heading.get("qualifiers") or ())


def _reason(shared, major, keywords, text):
    """ "4 shared MeSH headings (2 major topics) · 1 shared keyword", or "Similar wording"."""
    parts = []
    if shared:
        part = f"{shared} shared MeSH heading{'s' * (shared != 1)}"
        if major:
            part += f" ({major} major topic{'s' * (major != 1)})"
        parts.append(part)
    if keywords:
        parts.append(f"{keywords} shared keyword{'s' * (keywords != 1)}")
    if not parts:
        parts.append("Similar wording")
    return " · ".join(parts)
