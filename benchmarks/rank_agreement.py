"""How near PostgreSQL's relevance order comes to SQLite's bm25, for ranking variants.

    .venv/bin/python benchmarks/rank_agreement.py postgresql://user@host/empty_database

Loads the 604 demo papers into a temporary SQLite file and into the (empty) PostgreSQL
database named, then compares, for each variant of ts_rank_cd (its column weights and
normalisation flags, models/postgres.py), the top ten of PostgreSQL against bm25's for 41
searches, the journal's first issue for test_journal's interests and the similar papers of
one paper. Prints a table: identical top tens, the share of bm25's top ten that PostgreSQL
also lists, and the share of pairs of those it keeps in bm25's order. Not a test: the
variants are chosen in models/postgres.py, this shows why.
"""

import itertools
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import importer  # noqa: E402
import journal  # noqa: E402
import models  # noqa: E402
import models.postgres  # noqa: E402
import search_query  # noqa: E402
import similar  # noqa: E402
from app import create_app  # noqa: E402

DEMO = ROOT / "demo" / "medline16n0902.xml.gz"
INTERESTS = [("keyword", "Atrial fibrillation"), ("keyword", "Malaria"),
             ("mesh", "Lung Neoplasms"), ("type", "Randomized Controlled Trial"),
             ("journal", "Fertility and sterility")]  # fmt: skip
SEARCHES = [
    "pain[ti]", "helicobacter", "pain", "cancer", "stroke", "diabetes", "insulin", "heart",
    "failure", "sepsis", "asthma", "pregnancy", "children", "surgery", "depression",
    "hypertension", "obesity", "malaria", "fibrillation", "trial", "review", "mice", "kidney",
    "liver", "brain", "infection", "vaccine", "HIV", "tuberculosis", "anesthesia", "propofol",
    "fentanyl", "lung", "breast", '"atrial fibrillation"', '"randomized controlled trial"',
    "cohort", "mortality", "elderly", "heart failure", "lung cancer",
]  # fmt: skip
SIMILAR_TO = 22508830
BEFORE = ("'{0.2, 0.2, 0.1, 1.0}'", 0)
VARIANTS = [  # (weights of D, C, B, A; normalisation flags)
    BEFORE,
    ("'{0.2, 0.2, 0.1, 1.0}'", 1),
    ("'{0.2, 0.2, 0.1, 1.0}'", 2),
    ("'{0.2, 0.2, 0.1, 1.0}'", 8),
    ("'{0.2, 0.2, 0.1, 1.0}'", 16),
    ("'{0.667, 0.667, 0.333, 1}'", 1),  # bm25's own column weights, scaled
    ("'{0.667, 0.667, 0.333, 1}'", 8),
]


def orders(url):
    """{workload: PMIDs best first} on the database at `url`."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 40, "TESTING": True})
    found = {}
    with app.app_context():
        models.migrate()
        if not models.article_count():
            importer.import_file(DEMO)
        paper = models.Article.get_by_id(SIMILAR_TO)
        found["similar papers"] = [s.pmid for s in similar.similar_to(paper)]
        interests = [models.Interest(kind=kind, value=value) for kind, value in INTERESTS]
        found["journal"] = [e.article.pmid for e in journal.assemble(interests)]
        for text in SEARCHES:
            query = search_query.parse(text)
            rows = models.search_index.find(models.search_index.text_of(query), query.filters, 50)
            found[text] = [row[0] for row in rows]
        models.db.close()
    return found


def agreement(reference, other, k=10):
    """(identical top k, share of the reference's top k listed, share of pairs in order)."""
    same, listed, kept, pairs = 0, 0.0, 0, 0
    for name, ranked in reference.items():
        top = ranked[:k]
        same += top == other[name][:k]
        position = {pmid: n for n, pmid in enumerate(other[name])}
        listed += len(set(top) & set(other[name][:k])) / max(1, len(top))
        both = [pmid for pmid in top if pmid in position]
        for a, b in itertools.combinations(both, 2):
            kept += position[a] < position[b]
            pairs += 1
    return same, listed / len(reference), kept / max(1, pairs)


def main(postgres_url):
    with tempfile.TemporaryDirectory() as folder:
        bm25 = orders(f"sqlite:///{folder}/demo.db")
    chosen = (models.postgres.RANK_WEIGHTS, models.postgres.RANK_NORMALIZATION)
    print(f"{'weights (D, C, B, A)':<28} {'flags':>5}  {'same top 10':>11}  {'listed':>6}  "
          f"{'pairs in order':>14}")  # fmt: skip
    for weights, flags in VARIANTS:
        models.postgres.RANK_WEIGHTS, models.postgres.RANK_NORMALIZATION = weights, flags
        same, listed, kept = agreement(bm25, orders(postgres_url))
        mark = " (before)" if (weights, flags) == BEFORE else ""
        mark += " (chosen)" if (weights, flags) == chosen else ""
        print(f"{weights:<28} {flags:>5}  {same:>5} / {len(bm25):<3}  {listed:>6.1%}  "
              f"{kept:>14.1%}{mark}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].startswith("postgresql"):
        sys.exit(__doc__.split("\n\n")[1])
    main(sys.argv[1])
