"""What a reader's "More like this" / "Fewer like this" teach their journal: from the MeSH
headings and keywords of the papers they rated, a weight per term, and for a paper of a later
issue the nudge its terms give its score, with the reason in a few words. Plain Python over
the models (no Flask), like journal.py, so the CLI, the views and the tests agree.

For each term of a rated paper (a MeSH heading, or a keyword; one term when both name the
same thing; check tags such as "Humans" left out, they say nothing of a subject):

    raw(term)    = Σ verdict × presence        (verdict +1 or −1, over the rated papers)
    weight(term) = tanh(raw / DAMPING)         (in −1…1)

where presence is how strongly a paper carries the term (PRESENCE: a major topic most). The
damping makes one click a nudge and many clicks a push that levels off. A paper then moves by

    delta = MAX_DELTA × tanh(Σ weight(term) × presence(term))     (over its terms)

so a paper sharing one heading with a liked paper gains a little, one sharing several of them
(or a heading liked many times) gains more, never more than MAX_DELTA on a score of 0…1.
"""

import math
from dataclasses import dataclass

from models import Feedback
from similar import CHECK_TAGS

MAX_DELTA = 0.25  # the most feedback can move a paper's score (0…1), either way
DAMPING = 3.0  # one major-topic click gives a term tanh(1/3) ≈ 0.32 of its full weight
# How strongly a paper carries a term: a major topic is what the paper is about; a plain
# heading is often a side issue; keywords are the authors' own choice, in between.
PRESENCE = {"major": 1.0, "heading": 0.4, "keyword": 0.6}
NOTICEABLE = 0.005  # an adjustment below this is not worth a word in the reason


@dataclass
class TermWeight:
    """What the reader's verdicts say about one term."""

    name: str  # as the first rated paper carrying it spells it
    raw: float
    liked: int  # rated papers carrying it that the reader wanted more like
    disliked: int  # … and fewer like

    @property
    def weight(self):
        return math.tanh(self.raw / DAMPING)


def paper_terms(mesh, keywords):
    """{term key: (name, presence)} of a paper: its MeSH headings (check tags left out) and
    keywords, a term named by both counted once at its stronger presence."""
    terms = {}
    for heading in mesh or ():
        name = heading.get("name") or ""
        key = _key(name)
        if not key or key in CHECK_TAGS:
            continue
        presence = PRESENCE["major"] if _is_major(heading) else PRESENCE["heading"]
        if presence > terms.get(key, ("", 0.0))[1]:
            terms[key] = (name, presence)
    for keyword in keywords or ():
        key = _key(keyword)
        if key and PRESENCE["keyword"] > terms.get(key, ("", 0.0))[1]:
            terms[key] = (terms[key][0] if key in terms else keyword.strip(), PRESENCE["keyword"])
    return terms


def _key(name):
    return " ".join(str(name).split()).casefold()


def _is_major(heading):
    """A major topic: the descriptor itself, or any of its qualifiers, is starred."""
    return bool(heading.get("major")) or any(major for _, major in heading.get("qualifiers") or ())


class Preferences:
    """A reader's term weights, learnt from their feedback; empty (and adjusting nothing) for a
    reader who gave none."""

    def __init__(self, terms=None, rated=0, liked=0, disliked=0):
        self.terms = terms or {}  # term key → TermWeight
        self.rated, self.liked, self.disliked = rated, liked, disliked

    @classmethod
    def for_reader(cls, user):
        """The reader's preferences, from one query (nothing to read for a reader who has not
        rated a paper, so the query comes back empty at once)."""
        if user is None:
            return cls()
        return cls.from_rated(Feedback.rated_papers(user))

    @classmethod
    def from_rated(cls, rows):
        """Preferences from (verdict, mesh, keywords) rows, one per rated paper."""
        terms, rated, liked = {}, 0, 0
        for verdict, mesh, keywords in rows:
            rated += 1
            liked += verdict > 0
            for key, (name, presence) in paper_terms(mesh, keywords).items():
                term = terms.setdefault(key, TermWeight(name, 0.0, 0, 0))
                term.raw += verdict * presence
                if verdict > 0:
                    term.liked += 1
                else:
                    term.disliked += 1
        return cls(terms, rated, liked, rated - liked)

    def __bool__(self):
        return bool(self.terms)

    def adjust(self, mesh, keywords):
        """(delta, phrase) for a paper with these MeSH headings and keywords: delta in
        −MAX_DELTA…+MAX_DELTA, added to its score; phrase None, or the reason naming the term
        that moved it most ("ranked up: you liked 3 papers on Atrial Fibrillation")."""
        if not self.terms:
            return 0.0, None
        pulls = []  # (the term's effect on this paper, its key)
        for key, (_, presence) in paper_terms(mesh, keywords).items():
            term = self.terms.get(key)
            if term is not None and term.raw:
                pulls.append((term.weight * presence, key))
        delta = MAX_DELTA * math.tanh(sum(pull for pull, _ in pulls))
        if abs(delta) < NOTICEABLE:
            return 0.0, None
        # The term pulling hardest the way the paper moved; equal pulls go to the name first.
        up = delta > 0
        (_, key), *_ = sorted((-abs(pull), key) for pull, key in pulls if (pull > 0) == up)
        return delta, self._phrase(self.terms[key], up)

    @staticmethod
    def _phrase(term, up):
        if up:
            return f"ranked up: you liked {_papers(term.liked)} on {term.name}"
        return f"ranked down: you asked for fewer like {_papers(term.disliked)} on {term.name}"

    def strongest(self, count=5):
        """([terms ranked up], [terms ranked down]), each the `count` strongest TermWeights,
        strongest first: what the settings page says the journal has learnt."""
        ranked = sorted(self.terms.values(), key=lambda t: (-abs(t.raw), t.name.casefold()))
        up = [t for t in ranked if t.raw > 0][:count]
        down = [t for t in ranked if t.raw < 0][:count]
        return up, down


def _papers(count):
    return f"{count} paper{'s' if count != 1 else ''}"
