"""The vocabulary: the terms the interest picker suggests, and the MeSH tree."""

import re
from collections import Counter

from peewee import SQL, Case, CharField, CompositeKey, ForeignKeyField, IntegerField, TextField, fn

from .base import BaseModel, db


class Term(BaseModel):
    """Every MeSH heading, keyword, journal and publication type the papers carry, with how
    many papers carry it: what the interests picker suggests. The importer keeps it current
    batch by batch (`apply`, in the batch's transaction): a stored paper adds its terms, a
    replaced or deleted one takes its old terms away; `rebuild` counts everything again.

    The name of a term is the spelling most papers use ("Atrial fibrillation" over "atrial
    fibrillation"; ties go to the first in code-point order), as a full count would name it:
    TermSpelling keeps a count per spelling, so the name stays right however papers come and
    go, and `rebuild` gives the same table as the imports did. (Keeping the first spelling
    seen would cost less, but a term's name would then depend on the order files came in.)"""

    kind = CharField()
    key = TextField()  # lowercased name: what suggestions match, and what merges spellings
    name = TextField()  # the spelling most papers use (keywords can be long)
    count = IntegerField()  # papers carrying the term, in any spelling

    class Meta:
        indexes = ((("kind", "key"), True),)

    # The name after an import's upsert: unchanged when the spelling that gained most in the
    # batch is already the name (it stays the commonest), else the commonest spelling now.
    # A batch that takes spellings away proposes '' (never a name), so the name is looked up.
    NAME_RULE = (
        ', "name" = CASE WHEN excluded."name" = "term"."name" THEN "term"."name" ELSE COALESCE('
        '(SELECT s."name" FROM "term_spelling" AS s WHERE s."kind" = "term"."kind" AND '
        's."key" = "term"."key" ORDER BY s."count" DESC, s."name" LIMIT 1), "term"."name") END'
    )

    @classmethod
    def suggest(cls, kind, text, limit=10):
        """Terms of `kind` whose name, or one of its words, starts with `text` (any case):
        names starting with it first, then the most used (unexecuted). Index ranges only
        (the term's key, TermWord's tails), never a scan, so it costs the same at any size;
        matching inside a word ("brill" for "Atrial Fibrillation") went with the scan, a
        word's start ("fibr", "atrial fib") still matches. No text suggests nothing.
        (The ranges compare code points, as SQLite's BINARY does; on PostgreSQL the key and
        tail columns will need COLLATE "C" for the same ranges.)"""
        key = text.strip().lower()
        if not key:
            return cls.select().where(SQL("0"))
        end = key + "\U0010ffff"  # above every string that starts with `key`
        named = cls.select(cls.key).where((cls.kind == kind) & (cls.key >= key) & (cls.key < end))
        worded = TermWord.select(TermWord.key).where(
            (TermWord.kind == kind) & (TermWord.tail >= key) & (TermWord.tail < end)
        )
        starts = Case(None, [((cls.key >= key) & (cls.key < end), 0)], 1)
        return (
            cls.select()
            .where((cls.kind == kind) & cls.key.in_(named | worded))
            .order_by(starts, cls.count.desc(), cls.key)
            .limit(limit)
        )

    @classmethod
    def counts_for(cls, kind, names):
        """({lowercased name: how many papers carry it}, how many papers there are) for
        `names` of `kind`: one indexed query (the size from LibraryStats, in a UNION)."""
        keys = [name.lower() for name in names]
        terms = cls.select(cls.key, cls.count).where((cls.kind == kind) & cls.key.in_(keys))
        size = LibraryStats.select(SQL("NULL"), LibraryStats.papers)
        counts, library_size = {}, 0
        for key, count in (terms + size).tuples():
            if key is None:
                library_size = count
            else:
                counts[key] = count
        return counts, library_size

    @classmethod
    def canonical(cls, kind, text):
        """How the papers spell `text` (any case), or None when no paper carries it."""
        term = cls.get_or_none((cls.kind == kind) & (cls.key == text.strip().lower()))
        return term.name if term else None

    # --- keeping the terms current ---

    @staticmethod
    def spellings_in(mesh, keywords, types, journal):
        """The terms one paper carries, from its MeSH headings (dicts with "name"), keywords,
        publication types (funding is not a study design: left out) and journal title, as
        ({(kind, key): name}, [((kind, key), another name)]): a paper counts once for each
        key, and once for each spelling of it (the list holds the rare second spellings).
        Shaped so that a batch adds them up in Counter.update's C loop."""
        found, more = {}, []
        limit = Interest.MAX_LENGTH
        names = [("mesh", heading.get("name")) for heading in mesh]
        names += [("keyword", value) for value in keywords]
        names += [("type", t) for t in types if t and not t.startswith("Research Support")]
        names.append(("journal", journal))
        for kind, value in names:
            name = value.strip() if value else ""
            if not name:
                continue
            pair = (kind, name.lower()[:limit])
            first = found.setdefault(pair, name)
            if first != name and (pair, name) not in more:
                more.append((pair, name))
        return found, more

    @classmethod
    def of_record(cls, record):
        """spellings_in for a reader's record or an article row's decoded values."""
        return cls.spellings_in(record["mesh"], record["keywords"], record["publication_types"],
                                record["journal_title"])  # fmt: skip

    @classmethod
    def stored(cls, pmids):
        """{pmid: its spellings_in} for the stored papers among `pmids` (what a re-import or a
        deletion takes away), read before they are overwritten."""
        pmids = list(pmids)
        if not pmids:
            return {}
        columns = (Article.pmid, Article.mesh, Article.keywords, Article.publication_types,
                   Article.journal_title)  # fmt: skip
        query = Article.select(*columns).where(Article.pmid.in_(pmids))
        return {
            pmid: cls.spellings_in(mesh, keywords, types, journal)
            for pmid, mesh, keywords, types, journal in query.tuples()
        }

    @staticmethod
    def _tally(added, removed=()):
        """(papers per (kind, key), papers per ((kind, key), name)) of the papers `added`
        less those `removed` (spellings_in values)."""
        keys, spellings = Counter(), Counter()
        for found, more in added:
            keys.update(found.keys())  # keys: a dict would be read as counts
            spellings.update(found.items())
            if more:
                spellings.update(more)
        for found, more in removed:
            keys.subtract(found.keys())
            spellings.subtract(found.items())
            spellings.subtract(more)
        return keys, spellings

    @classmethod
    def apply(cls, added=(), removed=()):
        """Count the papers `added` (spellings_in values, one per paper) and take away those
        `removed`, in the caller's transaction: spellings first (their counts name the term),
        then the terms; a term no paper carries any more goes, with its words and spellings,
        and a new term gets its words. A few bulk statements a batch."""
        keys, spellings = cls._tally(added, removed)
        spellings = {spelling: n for spelling, n in spellings.items() if n}
        proposed = {pair: None for pair, n in keys.items() if n}
        for (pair, name), n in spellings.items():
            best = proposed.get(pair)
            if n < 0 or best == "":
                proposed[pair] = ""  # lost a spelling: look the name up
            elif best is None or n > best[1] or (n == best[1] and name < best[0]):
                proposed[pair] = (name, n)
        if not proposed:
            return
        gained = [(*pair, name, n) for (pair, name), n in spellings.items() if n > 0]
        lost = [(*pair, name, n) for (pair, name), n in spellings.items() if n < 0]
        columns = ("kind", "key", "name", "count")
        bulk.add_counts("term_spelling", columns, ("kind", "key", "name"), gained)
        emptied = bulk.add_counts("term_spelling", columns, ("kind", "key", "name"), lost,
                                  returning=columns)  # fmt: skip
        bulk.delete_keys("term_spelling", columns[:3], [r[:3] for r in emptied if r[3] <= 0])
        rows = [(*pair, best[0] if best else "", keys[pair]) for pair, best in proposed.items()]
        after = bulk.add_counts("term", columns, ("kind", "key"), rows, also=cls.NAME_RULE,
                                returning=("kind", "key", "count"))  # fmt: skip
        new = [(kind, key) for kind, key, count in after if count == keys[(kind, key)] > 0]
        gone = [(kind, key) for kind, key, count in after if count <= 0]
        TermWord.add(new)
        TermWord.remove(gone)
        bulk.delete_keys("term", ("kind", "key"), gone)

    @classmethod
    def rebuild(cls):
        """Count every term again from the stored papers, in one pass and apart from `apply`
        (migration 9, `flask --app app rebuild-terms`): the repair should the counts ever
        drift. Holds the vocabulary in memory while it counts, as a full count must."""
        columns = (Article.mesh, Article.keywords, Article.publication_types, Article.journal_title)
        papers = Article.select(*columns).tuples().iterator()
        keys, spellings = cls._tally(cls.spellings_in(*paper) for paper in papers)
        names = {}
        for (pair, name), n in spellings.items():
            best = names.get(pair)
            if best is None or (-n, name) < best:
                names[pair] = (-n, name)
        columns = ("kind", "key", "name", "count")
        with db.atomic():
            for model in (cls, TermSpelling, TermWord):
                model.delete().execute()
            named = [(*pair, name, n) for (pair, name), n in spellings.items()]
            bulk.insert_or_ignore("term_spelling", columns, named)
            terms = [(*pair, names[pair][1], n) for pair, n in keys.items()]
            bulk.insert_or_ignore("term", columns, terms)
            TermWord.add(keys)


class TermSpelling(BaseModel):
    """How many papers spell a term each way: what names the term (Term's docstring)."""

    kind = CharField()
    key = TextField()
    name = TextField()
    count = IntegerField()

    class Meta:
        table_name = "term_spelling"
        primary_key = CompositeKey("kind", "key", "name")
        without_rowid = True


class TermWord(BaseModel):
    """The rest of a term's key from each of its words but the first ("fibrillation" and
    "atrial fibrillation" for "left atrial fibrillation"; "19" for "covid-19"), so a word's
    start is a range of this primary key, as a name's start is of Term's key."""

    kind = CharField()
    tail = TextField()
    key = TextField()

    WORD = re.compile(r"\w+")

    class Meta:
        table_name = "term_word"
        primary_key = CompositeKey("kind", "tail", "key")
        without_rowid = True

    @classmethod
    def rows_for(cls, pairs):
        """(kind, tail, key) for each word after the first of each (kind, key)."""
        return [(kind, key[m.start() :], key) for kind, key in pairs
                for m in cls.WORD.finditer(key) if m.start()]  # fmt: skip

    @classmethod
    def add(cls, pairs):
        bulk.insert_or_ignore("term_word", ("kind", "tail", "key"), cls.rows_for(pairs))

    @classmethod
    def remove(cls, pairs):
        bulk.delete_keys("term_word", ("kind", "tail", "key"), cls.rows_for(pairs))


class MeshDescriptor(BaseModel):
    """A MeSH heading from NLM's descriptor file (`import-mesh`), placed in the MeSH tree by
    its tree numbers (MeshTreeNumber). Without an imported tree every query here answers as
    if each heading stood alone, so headings match as they did before the tree."""

    ui = CharField(primary_key=True)  # D000001
    name = TextField()
    # The name lowercased, as Interest.key and Term.key are. MeSH names are ASCII, so this is
    # also SQLite's lower() of them (what article_facet's keys are).
    key = TextField(index=True)

    @classmethod
    def replace_tree(cls, descriptors):
        """The stored tree becomes `descriptors` (pubmed.mesh.Descriptor, e.g. a newer year's
        file) in one transaction: an error while they are read leaves the old tree whole.
        Returns (descriptors stored, tree numbers stored).

        The file is read before the transaction starts, so the write lock is held for the
        inserts (about a second for all of MeSH), not for the whole parse of a 300 MB file,
        which would keep readers' notes waiting beyond the busy timeout."""
        names, numbers = [], []
        for descriptor in descriptors:
            names.append((descriptor.ui, descriptor.name, descriptor.name.lower()))
            numbers.extend((number, descriptor.ui) for number in descriptor.tree_numbers)
        with db.atomic():
            MeshTreeNumber.delete().execute()
            cls.delete().execute()
            tables = (
                (cls, [cls.ui, cls.name, cls.key], names),
                (MeshTreeNumber, [MeshTreeNumber.number, MeshTreeNumber.descriptor], numbers),
            )
            for model, fields, rows in tables:
                for start in range(0, len(rows), 500):
                    model.insert_many(rows[start : start + 500], fields=fields).execute()
        return len(names), len(numbers)

    @classmethod
    def _tree_below(cls):
        """(top, query): `top` an alias of this model, and a query joining each `top`
        descriptor to every descriptor (this model) below it, for the caller to select from
        and filter. Each tree number of `top` contributes the range of numbers that start with
        it and a dot — `> 'C14.280.' AND < 'C14.280/'` ('/' is the character after '.') — an
        index search on the tree number, never a scan."""
        top, top_number = cls.alias("top"), MeshTreeNumber.alias("top_number")
        below_number = MeshTreeNumber.alias("below_number")
        query = (
            top.select()
            .join(top_number, on=top_number.descriptor == top.ui)
            .join(
                below_number,
                on=(below_number.number > top_number.number.concat("."))
                & (below_number.number < top_number.number.concat("/")),
            )
            .join(cls, on=cls.ui == below_number.descriptor)
        )
        return top, query

    @classmethod
    def narrower_keys(cls, names):
        """{heading's key: [its key, then the keys of every narrower heading]} for the MeSH
        headings `names` (any case), in one query: what a MeSH interest matches. A heading
        that is not in the tree, or every heading when no tree was imported, maps to itself
        alone. A descriptor in several places of the tree brings what is below each."""
        found = {name.lower(): set() for name in names}
        if not found:
            return {}
        top, query = cls._tree_below()
        query = query.select(top.key, cls.key).where(top.key.in_(sorted(found))).distinct()
        for key, below in query.tuples():
            found[key].add(below)
        return {key: [key, *sorted(below - {key})] for key, below in found.items()}

    @classmethod
    def narrower_counts(cls, names):
        """{heading's key: how many headings are narrower than it} for `names` (any case), in
        one query that counts without loading them; 0 for headings not in the tree."""
        counts = {name.lower(): 0 for name in names}
        if not counts:
            return {}
        top, query = cls._tree_below()
        query = query.select(top.key, fn.COUNT(cls.ui.distinct())).where(
            top.key.in_(sorted(counts))
        )
        counts.update(query.group_by(top.key).tuples())
        return counts

    @classmethod
    def narrower_count(cls, key):
        """How many headings are narrower than the heading whose key is `key` (a column of the
        outer query: Interest.key, Term.key), as a subquery to select beside it — so a list
        says it for each of its rows in the list's own query."""
        top, query = cls._tree_below()
        return query.select(fn.COUNT(cls.ui.distinct())).where(top.key == key)

    @classmethod
    def canonical(cls, text):
        """How MeSH spells the heading `text` (any case), or None when it is not in the tree."""
        descriptor = cls.select(cls.name).where(cls.key == text.strip().lower()).first()
        return descriptor.name if descriptor else None


class MeshTreeNumber(BaseModel):
    """One place of a MeSH heading in the tree: `C14.280.067` is below `C14.280` (Heart
    Diseases), which is below `C14` (Cardiovascular Diseases). A heading can have several."""

    # Ranges on `number` assume byte order, SQLite's default (BINARY). On PostgreSQL the
    # column needs COLLATE "C": a locale's collation ignores the dots the ranges rely on.
    number = CharField(primary_key=True)
    descriptor = ForeignKeyField(MeshDescriptor, column_name="ui", backref="tree_numbers",
                                 on_delete="CASCADE")  # fmt: skip

    class Meta:
        without_rowid = True  # rows live in the B-tree on `number`: no rowid table beside it


# Imported last, lowest layer first (base; papers, notices, vocabulary, sync and the engine
# corner; people; journal; library): these modules import this one's tables, which refer to
# theirs only inside methods, so each module defines its tables before another asks for them.
# isort: off
from .papers import Article, LibraryStats
from .sqlite import bulk
from .journal import Interest
# isort: on
