"""Import benchmark: how fast Pearl reads and imports PubMed XML, against bare lxml and
pubmed_parser, and whether its memory stays flat as the file grows.

    .venv/bin/python benchmarks/bench_import.py                   # 30k records, about a minute
    .venv/bin/python benchmarks/bench_import.py --records 100000  # the earlier, bigger run

The synthetic corpus is made once from the real demo file (PMIDs renumbered) and cached in
benchmarks/.cache/; every SQLite file the run makes is deleted before it ends.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOURCE = ROOT / "demo" / "medline16n0902.xml.gz"  # the real 2016 MEDLINE file, in the repo
CACHE = Path(__file__).resolve().parent / ".cache"
CORPUS_VERSION = 1  # bump when the generator changes, so stale cached files are not reused
PMID_STEP = 100_000_000  # copy k of a record gets PMID + k * PMID_STEP: real PMIDs are < 1e8
HEADER = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE MedlineCitationSet PUBLIC "-//NLM//DTD Medline Citation, 1st January, 2016//EN"'
    b' "https://www.nlm.nih.gov/databases/dtd/nlmmedlinecitationset_160101.dtd">\n'
    b"<MedlineCitationSet>\n"
)
FOOTER = b"</MedlineCitationSet>\n"
MARKER = "9999999999999"


# --- the synthetic corpus ---


def templates(source):
    """Each MedlineCitation of the source, serialised once, split around its own PMID:
    [(pmid, before, after)]. The DeleteCitation at the end is not a MedlineCitation: dropped."""
    found = []
    with gzip.open(source, "rb") as stream:
        for _, elem in etree.iterparse(stream, tag="MedlineCitation", resolve_entities=False):
            pmid_elem = elem.find("PMID")
            pmid = int(pmid_elem.text)
            assert pmid < PMID_STEP
            pmid_elem.text = MARKER
            before, after = etree.tostring(elem, encoding="UTF-8", with_tail=False).split(
                MARKER.encode(), 1
            )
            found.append((pmid, before, after + b"\n"))
            elem.clear(keep_tail=True)
            while elem.getprevious() is not None:
                del elem.getparent()[0]
    pmids = [pmid for pmid, _, _ in found]
    assert len(set(pmids)) == len(pmids), "the source repeats a PMID: copies would collide"
    return found


def corpus(records, source=SOURCE, cache=CACHE):
    """A gzipped MedlineCitationSet of `records` records, made (streaming) if not cached."""
    path = cache / f"medline_synth_v{CORPUS_VERSION}_{records}.xml.gz"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    parts = templates(source)
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=6) as out:
        out.write(HEADER)
        for n in range(records):
            copy, index = divmod(n, len(parts))
            pmid, before, after = parts[index]
            out.write(before + str(pmid + copy * PMID_STEP).encode() + after)
        out.write(FOOTER)
    partial.rename(path)  # only a complete file is ever found in the cache
    print(f"made {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


# --- the measurements ---


def cpu_seconds(who=None):
    """User + system CPU time of this process (or of its waited-for children)."""
    import resource  # noqa: PLC0415 - Unix only, like /proc below

    usage = resource.getrusage(resource.RUSAGE_SELF if who is None else who)
    return usage.ru_utime + usage.ru_stime


def timed(function, *args):
    """(count, wall seconds, CPU seconds) of one call."""
    started, cpu = time.perf_counter(), cpu_seconds()
    count = function(*args)
    return count, time.perf_counter() - started, cpu_seconds() - cpu


def bare_iterparse(path):
    """(a) lxml alone: the floor any reader of this file stands on."""
    count = 0
    with gzip.open(path, "rb") as stream:
        for _, elem in etree.iterparse(stream, tag="MedlineCitation"):
            count += 1
            elem.clear()
    return count


def pubmed_parser_parse(path):
    """(b) pubmed_parser's per-article parser. Its parse_medline_xml matches only
    <PubmedArticle>, so each MedlineCitation is moved into a PubmedArticle of its own (moving
    it out of the iterparse tree also frees it, as clear() would)."""
    from pubmed_parser.medline_parser import parse_article_info  # noqa: PLC0415 - optional

    count = 0
    with gzip.open(path, "rb") as stream:
        for _, elem in etree.iterparse(stream, tag="MedlineCitation"):
            wrapper = etree.Element("PubmedArticle")
            wrapper.append(elem)
            parse_article_info(
                wrapper, year_info_only=True, nlm_category=False, author_list=False,
                reference_list=False,
            )  # fmt: skip
            count += 1
    return count


def parse_medline_xml_count(path):
    """What pubmed_parser's own file-level entry point yields on a MedlineCitationSet file."""
    from pubmed_parser import parse_medline_xml  # noqa: PLC0415 - optional

    return sum(1 for _ in parse_medline_xml(str(path)))


def pearl_parse(path):
    """(c) Pearl's reader alone: records are built and dropped."""
    import pubmed  # noqa: PLC0415 - after sys.path is set

    return sum(1 for item in pubmed.read(path) if not isinstance(item, pubmed.Deletion))


def pearl_parse_prepare(path):
    """(c2) what the reader process does: Pearl's reader and prepare_batch, batches dropped
    (no pipe)."""
    import importer  # noqa: PLC0415
    import pubmed  # noqa: PLC0415

    count = 0
    with importer._rare_collections():
        for batch in importer._chunks(pubmed.read(path)):
            rows, _, counts = importer.prepare_batch(batch)
            count += len(rows) + counts.skipped
    return count


def memory_kb():
    """(current RSS, peak RSS) of this process in kB, from /proc. Not getrusage's ru_maxrss:
    on Linux that survives fork and exec, so a child would report its parent's peak."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


# How each import row runs: (label, import_file's parallel=, index=).
IMPORTS = {
    "parallel": ("(d) Pearl full import (parse+store+index)", None, "auto"),
    "rebuild": ("(d2) same, index rebuilt after the import", None, "rebuild"),
    "one-process": ("(d3) same in one process, indexed as it goes", False, "as-you-go"),
}


def child_import(path, database, mode, trace):
    """Run in a fresh process: Pearl's full import into a new SQLite file; prints JSON."""
    import resource  # noqa: PLC0415

    import importer  # noqa: PLC0415
    import models  # noqa: PLC0415

    _, parallel, index = IMPORTS[mode]
    models.open_database("sqlite:///" + str(database))
    models.migrate()
    before = memory_kb()[0]
    if trace:
        import tracemalloc  # noqa: PLC0415

        tracemalloc.start()
    started, cpu = time.perf_counter(), cpu_seconds()
    summary = importer.import_file(path, parallel=parallel, index=index)
    seconds = time.perf_counter() - started
    # This process and the reader process (joined by now; nothing else ran before it).
    reader_cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
    cpu = cpu_seconds() - cpu + reader_cpu
    traced = tracemalloc.get_traced_memory()[1] if trace else None
    peak = memory_kb()[1]
    # The reader process, joined by now. ru_maxrss survives fork and exec, so this is the
    # larger of its own peak and this process's RSS when it was started: an upper bound.
    reader_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stored = models.article_count()
    indexed = models.db.execute_sql("SELECT count(*) FROM article_search_docsize").fetchone()[0]
    # FTS5 checks its index against article_text, the external content it was built from.
    models.db.execute_sql("INSERT INTO article_search (article_search) VALUES ('integrity-check')")
    models.db.close()
    result = {
        "records": summary.added + summary.updated + summary.skipped,
        "added": summary.added, "stored": stored, "indexed": indexed, "seconds": seconds,
        "cpu": cpu, "reader_cpu": reader_cpu, "rss_before_kb": before, "rss_peak_kb": peak,
        "reader_peak_kb": reader_peak,
        "tracemalloc_peak": traced,
    }  # fmt: skip
    print(json.dumps(result))


def full_import(path, mode="parallel", trace=False):
    """(d)+(e) Pearl's full import in a fresh child process, into a fresh SQLite file that is
    deleted afterwards (with its -wal and -shm files): time and peak RSS of that child (and
    of the reader process it starts)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="db-") as folder:
        database = Path(folder) / "pearl.sqlite3"
        command = [sys.executable, __file__, "--child-import", str(path), str(database), mode]
        if trace:
            command.append("--tracemalloc")
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode:
            sys.exit(f"the import child failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stored"] == result["indexed"] == result["added"], result
    return result


# --- (f): the floor of storing ---

FLOOR_PARTS = ("article", "article_text", "FTS5 index", "article_facet", "terms", "notices",
               "commits")  # fmt: skip


def floor_batches(path):
    """What (f) stores, built before the clock starts: for each batch of 500, the plain
    tuples of every table an import writes, from `importer.prepare_batch` (the rows the
    reader process sends), stamped as the importing process stamps them. The suggestions'
    terms are added up per batch here too (Term._tally, as Term.apply does) and the new
    terms' words found (TermWord.rows_for): only the SQL is left to time."""
    import importer  # noqa: PLC0415 - after sys.path is set
    import pubmed  # noqa: PLC0415
    from models import Article, Term, TermWord, utcnow  # noqa: PLC0415

    columns = tuple(Article.columns())
    seen, batches = set(), []
    for batch in importer._chunks(pubmed.read(path)):
        rows, _, _ = importer.prepare_batch(batch)
        articles, texts, facets, notices, tallies = [], [], [], [], []
        for row, search, facet_rows, term_rows, notice_rows in rows.values():
            row["added_at"] = row["updated_at"] = str(utcnow())
            articles.append(tuple(row[column] for column in columns))
            texts.append(search)
            facets += facet_rows
            notices += notice_rows
            tallies.append(term_rows)
        keys, spellings = Term._tally(tallies)
        names = {}
        for (pair, name), n in spellings.items():
            best = names.get(pair)
            if best is None or (-n, name) < best:
                names[pair] = (-n, name)
        spelling_rows = [(*pair, name, n) for (pair, name), n in spellings.items()]
        term_rows = [(*pair, names[pair][1], n) for pair, n in keys.items()]
        new = [pair for pair in keys if pair not in seen]
        seen.update(new)
        batches.append((articles, texts, [row[0] for row in texts], facets, spelling_rows,
                        term_rows, TermWord.rows_for(new), notices))  # fmt: skip
    return columns, batches


def floor_store(database, columns, batches):
    """(f)'s timed part: plain sqlite3, one transaction a batch, every table by
    executemany, the FTS5 index kept in step as Pearl keeps it (one INSERT … SELECT from
    article_text a batch). Pearl's pragmas, relaxed as an import relaxes them. Returns
    {part: CPU s} (FLOOR_PARTS)."""
    import sqlite3  # noqa: PLC0415

    from models import Notice, Term  # noqa: PLC0415
    from models.engine import IMPORT_CACHE_KIB, IMPORT_CHECKPOINT_PAGES  # noqa: PLC0415

    connection = sqlite3.connect(database, isolation_level=None)
    for pragma in ("journal_mode = wal", "foreign_keys = 1", "synchronous = NORMAL",
                   f"wal_autocheckpoint = {IMPORT_CHECKPOINT_PAGES}",
                   f"cache_size = -{IMPORT_CACHE_KIB}"):  # fmt: skip
        connection.execute(f"PRAGMA {pragma}")
    marks = lambda n: ", ".join("?" * n)  # noqa: E731
    add = ' ON CONFLICT ({}) DO UPDATE SET "count" = "{}"."count" + excluded."count"'
    sql = {
        "article": f"INSERT INTO article ({', '.join(columns)}) VALUES ({marks(len(columns))})",
        "article_text": "INSERT OR REPLACE INTO article_text (pmid, title, abstract, mesh,"
        " keywords) VALUES (?, ?, ?, ?, ?)",
        "article_facet": "INSERT OR IGNORE INTO article_facet (kind, key, pmid) VALUES (?, ?, ?)",
        "spellings": 'INSERT INTO term_spelling (kind, key, name, "count") VALUES (?, ?, ?, ?)'
        + add.format("kind, key, name", "term_spelling"),
        "terms": 'INSERT INTO term (kind, key, name, "count") VALUES (?, ?, ?, ?)'
        + add.format("kind, key", "term")
        + Term.NAME_RULE,
        "index": "INSERT INTO article_search (rowid, title, abstract, mesh, keywords) SELECT"
        " pmid, title, abstract, mesh, keywords FROM article_text WHERE pmid IN ({})",
        "words": "INSERT OR IGNORE INTO term_word (kind, tail, key) VALUES (?, ?, ?)",
        "notices": f"INSERT OR IGNORE INTO notice ({', '.join(Notice.COLUMNS)})"
        f" VALUES ({marks(len(Notice.COLUMNS))})",
        "papers": "INSERT INTO library_stats (id, papers) VALUES (1, ?) ON CONFLICT (id)"
        " DO UPDATE SET papers = papers + excluded.papers",
    }
    spent = dict.fromkeys(FLOOR_PARTS, 0.0)
    clock = time.process_time
    for articles, texts, pmids, facets, spellings, terms, words, notices in batches:
        started = clock()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(sql["article"], articles)
        spent["article"] += -started + (started := clock())
        connection.executemany(sql["article_text"], texts)
        spent["article_text"] += -started + (started := clock())
        connection.execute(sql["index"].format(marks(len(pmids))), pmids)
        spent["FTS5 index"] += -started + (started := clock())
        connection.executemany(sql["article_facet"], facets)
        spent["article_facet"] += -started + (started := clock())
        connection.executemany(sql["spellings"], spellings)
        connection.executemany(sql["terms"], terms)
        connection.executemany(sql["words"], words)
        spent["terms"] += -started + (started := clock())
        connection.executemany(sql["notices"], notices)
        connection.execute(sql["papers"], (len(articles),))
        spent["notices"] += -started + (started := clock())
        connection.execute("COMMIT")
        spent["commits"] += clock() - started
    connection.close()
    return spent


def child_floor(path, database):
    """Run in a fresh process: (f) into a new SQLite file with Pearl's schema; prints JSON."""
    import models  # noqa: PLC0415

    models.open_database("sqlite:///" + str(database))
    models.migrate()
    models.db.close()
    import gc  # noqa: PLC0415

    import importer  # noqa: PLC0415

    started = time.process_time()
    with importer._rare_collections():
        columns, batches = floor_batches(path)
    preparing = time.process_time() - started
    gc.freeze()  # the prepared rows are never garbage: no collection scans them again
    started, cpu = time.perf_counter(), cpu_seconds()
    parts = floor_store(str(database), columns, batches)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    models.open_database("sqlite:///" + str(database))
    stored = models.article_count()
    facets = models.db.execute_sql("SELECT count(*) FROM article_facet").fetchone()[0]
    indexed = models.db.execute_sql("SELECT count(*) FROM article_search_docsize").fetchone()[0]
    models.db.execute_sql("INSERT INTO article_search (article_search) VALUES ('integrity-check')")
    models.db.close()
    result = {"records": stored, "indexed": indexed, "facets": facets, "seconds": seconds,
              "cpu": cpu, "parts": parts, "preparing_cpu": preparing}  # fmt: skip
    print(json.dumps(result))


def floor_import(path):
    """(f) in a fresh child process, into a fresh SQLite file deleted afterwards."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="db-") as folder:
        database = Path(folder) / "pearl.sqlite3"
        command = [sys.executable, __file__, "--child-floor", str(path), str(database)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode:
            sys.exit(f"the floor child failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["records"] == result["indexed"], result
    return result


def warm(path):
    """Read the file once so every measurement finds it in the page cache."""
    with open(path, "rb") as stream:
        while stream.read(1 << 22):
            pass


# --- the report ---


def megabytes(kb):
    return f"{kb / 1024:,.1f} MB"


def run(records, small, trace):
    if small >= records:
        small = max(records // 10, 1)
    big_path, small_path = corpus(records), corpus(small)
    for path in (big_path, small_path):
        warm(path)
    rows = []

    rows.append(("(a) bare lxml iterparse + clear()", *timed(bare_iterparse, big_path)))
    rows.append(("(b) pubmed_parser parse_article_info", *timed(pubmed_parser_parse, big_path)))
    rows.append(("(c) Pearl parse (pubmed.read)", *timed(pearl_parse, big_path)))
    rows.append(("(c2) Pearl parse + prepare_batch", *timed(pearl_parse_prepare, big_path)))
    results = {}
    for mode, (label, _, _) in IMPORTS.items():
        result = results[mode] = full_import(big_path, mode)
        rows.append((label, result["records"], result["seconds"], result["cpu"]))
    floor = floor_import(big_path)
    rows.append(("(f) floor: bare sqlite3 storing, no reader", floor["records"], floor["seconds"],
                 floor["cpu"]))  # fmt: skip
    big = results["parallel"]
    small_run = full_import(small_path)
    if trace:  # separate runs: tracing slows the import about 3x and adds its own memory
        for result, path in ((big, big_path), (small_run, small_path)):
            result["tracemalloc_peak"] = full_import(path, trace=True)["tracemalloc_peak"]
    zero = parse_medline_xml_count(SOURCE)

    for _, count, _, _ in rows:
        assert count == records, f"a measurement saw {count} records, not {records}"
    bare_rate = rows[0][1] / rows[0][2]
    rate = {label.split()[0]: count / seconds for label, count, seconds, _ in rows}

    file_mb = big_path.stat().st_size / 1e6
    print(f"Pearl import benchmark: {records:,} records ({big_path.name}, {file_mb:,.0f} MB)")
    print(f"python {sys.version.split()[0]}, lxml {etree.__version__}, {os.cpu_count()} CPUs\n")
    width = max(len(label) for label, _, _, _ in rows)
    heading = ("records", 9), ("seconds", 8), ("records/s", 10), ("x bare", 7), ("CPU s", 6)
    print(f"{'measurement':<{width}}" + "".join(f"  {text:>{size}}" for text, size in heading))
    for label, count, seconds, cpu in rows:
        speed = count / seconds
        print(
            f"{label:<{width}}  {count:>9,}  {seconds:>8.2f}  {speed:>10,.0f}  "
            f"{speed / bare_rate:>6.2f}x  {cpu:>6.2f}"
        )
    footnote = (
        f"* pubmed_parser.parse_medline_xml({SOURCE.name}) yields {zero} records: it matches "
        "only <PubmedArticle>, never <MedlineCitation>. Run on the 604-record source file, "
        "not the big one: on a MedlineCitationSet it clears nothing, so it would hold the "
        "whole tree. Row (b) wraps each MedlineCitation in a PubmedArticle instead."
    )
    print("\n" + textwrap.fill(footnote, width=96, subsequent_indent="  "))

    # Each half's own CPU: the wall time of a two-process row cannot fall below the busier.
    print("\nCPU s of each process (the importing one stores; the reader reads and prepares):")
    for mode, (label, _, _) in IMPORTS.items():
        result = results[mode]
        print(
            f"  {label.split()[0]:<5} importing {result['cpu'] - result['reader_cpu']:5.2f}"
            f"   reader {result['reader_cpu']:5.2f}"
        )

    print_floor(rows[0], rows[2], rows[3], floor)

    print(
        "\npeak memory of Pearl's full import, row (d) (max RSS of a fresh process, and of the"
        "\nreader process it starts: an upper bound, see the README):"
    )
    for run_result in (small_run, big):
        line = (
            f"  {run_result['records']:>9,} records: {megabytes(run_result['rss_peak_kb']):>10} "
            f"+ reader {megabytes(run_result['reader_peak_kb'])} "
            f"(before the import: {megabytes(run_result['rss_before_kb'])}; "
            f"{run_result['records'] / run_result['seconds']:,.0f} records/s)"
        )
        if run_result["tracemalloc_peak"] is not None:
            line += f"; tracemalloc peak {run_result['tracemalloc_peak'] / 2**20:,.1f} MB"
        print(line)
    ratio = max(
        big["rss_peak_kb"] / small_run["rss_peak_kb"],
        big["reader_peak_kb"] / small_run["reader_peak_kb"],
    )
    print(f"  ratio {records:,}/{small:,}: {ratio:.2f}")

    targets = [
        (
            "Pearl's full import >= 0.5x bare iterparse",
            rate["(d)"] >= 0.5 * bare_rate,
            f"{rate['(d)'] / bare_rate:.2f}x",
        ),
        (
            "Pearl's full import faster than pubmed_parser's parse alone",
            rate["(d)"] > rate["(b)"],
            f"{rate['(d)'] / rate['(b)']:.2f}x pubmed_parser",
        ),
        (
            f"peak RSS at {records:,} <= 1.2x peak at {small:,} (each process)",
            ratio <= 1.2,
            f"{ratio:.2f}x",
        ),
    ]
    print("\ntargets:")
    for text, passed, value in targets:
        print(f"  {'PASS' if passed else 'MISS'}  {text:<62} ({value})")
    return all(passed for _, passed, _ in targets)


def print_floor(bare, parse, prepare, floor):
    """Row (f)'s parts, and whether 0.5x is reachable at all on this machine's cores from
    the floors: the reader cannot take less CPU than (c), the storer less than (f), the
    rows must be prepared on one side or the other, and two busy processes share the cores."""
    _, _, bare_wall, _ = bare
    reading, storing = parse[3], floor["cpu"]
    preparing = prepare[3] - reading
    cores = min(2, os.cpu_count() or 1)
    target = 2 * bare_wall  # (d) >= 0.5x (a) <=> (d)'s wall <= 2 x (a)'s
    print("\nrow (f), CPU s of each part (plain sqlite3, one transaction a batch of 500):")
    print("  " + ", ".join(f"{part} {cpu:.2f}" for part, cpu in floor["parts"].items()))
    print(f"  {floor['facets']:,} article_facet rows for {floor['records']:,} papers "
          f"({floor['facets'] / floor['records']:.1f} a paper)")  # fmt: skip
    bound = max(reading, storing, (reading + storing) / cores)
    prepared = max(reading, storing, (reading + storing + preparing) / cores)
    print(
        f"\nfloor: 0.5x means (d) in <= 2 x (a) = {target:.2f} s. Reading alone (c) takes"
        f" {reading:.2f} CPU s, storing alone (f) {storing:.2f}; on {cores} cores, both at once"
        f" take >= max({reading:.2f}, {storing:.2f}, ({reading:.2f} + {storing:.2f}) / {cores})"
        f" = {bound:.2f} s = {bare_wall / bound:.2f}x at best. With prepare_batch's"
        f" {preparing:.2f} CPU s (the rows' JSON, hash, sanitised HTML, facet and term rows:"
        f" on one side or the other): >= {prepared:.2f} s = {bare_wall / prepared:.2f}x."
    )
    bare_cpu = bare[3]
    unfaceted = storing - floor["parts"]["article_facet"]
    print(
        f"  In units of the bare walk's CPU ({bare_cpu:.2f} s; 0.5x allows each process 2.00"
        f" when both overlap perfectly): reading {reading / bare_cpu:.2f}, storing"
        f" {storing / bare_cpu:.2f}, storing without article_facet's inserts"
        f" {unfaceted / bare_cpu:.2f}, preparing {preparing / bare_cpu:.2f}."
    )
    verdict = "reachable" if prepared <= target else "NOT reachable"
    print(f"  => 0.5x is {verdict} on {cores} cores with this schema's writes"
          " (before any Python of Pearl's own beyond the floors)")  # fmt: skip


def floor_report(records):
    """--floor-only: rows (a), (c) and (f) and the verdict, no full imports."""
    path = corpus(records)
    warm(path)
    bare = ("(a)", *timed(bare_iterparse, path))
    parse = ("(c)", *timed(pearl_parse, path))
    prepare = ("(c2)", *timed(pearl_parse_prepare, path))
    floor = floor_import(path)
    made = ("(f)", floor["records"], floor["seconds"], floor["cpu"])
    for label, count, seconds, cpu in (bare, parse, prepare, made):
        print(f"{label:<4}  {count:>7,} records  {seconds:6.2f} s  {cpu:6.2f} CPU s")
    print_floor(bare, parse, prepare, floor)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=30_000, help="big corpus (30000)")
    parser.add_argument("--small", type=int, default=5_000, help="small corpus (5000)")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also report tracemalloc peaks (two more, slower import runs)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--child-import", nargs=3, metavar=("XML", "DB", "MODE"), help=argparse.SUPPRESS
    )
    parser.add_argument("--child-floor", nargs=2, metavar=("XML", "DB"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--floor-only", action="store_true", help="only rows (a), (c) and (f), and the verdict"
    )
    args = parser.parse_args()
    if args.child_floor:
        child_floor(Path(args.child_floor[0]), Path(args.child_floor[1]))
        return 0
    if args.child_import:
        xml, database, mode = args.child_import
        child_import(Path(xml), Path(database), mode, args.tracemalloc)
        return 0
    if args.floor_only:
        return floor_report(args.records)
    passed = run(args.records, args.small, args.tracemalloc)
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
