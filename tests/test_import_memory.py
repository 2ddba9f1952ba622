"""Hostile files cannot make an import's memory grow: each is read in a subprocess of its own
and its peak resident size (getrusage) compared with reading the demo file the same way.
Generated here: a small gzip of millions of empty elements, between records or inside one
element; a large file sniffed for its format."""

import gzip
import subprocess
import sys

import pytest

from tests.conftest import DEMO_FILE, ROOT

ELEMENTS = 2_000_000  # some 190 MB more as a tree (measured), 20 KB gzipped
ALLOWED_GROWTH_MB = 40

READ = """
import resource, sys
import pubmed
try:
    records = sum(isinstance(item, dict) for item in pubmed.read(sys.argv[1]))
except pubmed.MalformedFile as error:
    records = str(error)
print(records, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def peak(path):
    """(records read or the reader's error, peak resident MB) for reading `path`."""
    done = subprocess.run([sys.executable, "-c", READ, str(path)], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    records, megabytes = done.stdout.rsplit(maxsplit=1)
    return records, int(megabytes)


@pytest.fixture(scope="module")
def baseline():
    records, megabytes = peak(DEMO_FILE)
    assert records == "604"
    return megabytes


def hostile(path, before, inside, first=False):
    """The demo file with `inside` (repeated ELEMENTS times) spliced in before its second
    record (`first`: before its first), wrapped in `before`…: a file lxml accepts, the
    records all still there."""
    text = gzip.decompress(DEMO_FILE.read_bytes())
    if first:
        cut = text.index(b"<MedlineCitation ")
    else:
        cut = text.index(b"</MedlineCitation>") + len(b"</MedlineCitation>")
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(text[:cut] + before[0])
        out.write(inside * ELEMENTS)
        out.write(before[1] + text[cut:])
    return path


@pytest.mark.parametrize(
    ("before", "inside", "first"),
    [
        pytest.param((b"", b""), b"<x/>", False, id="between-records"),
        # The reader hears only of records: what comes before the first is pruned all the same.
        pytest.param((b"", b""), b"<x/>", True, id="before-the-first-record"),
        pytest.param((b"<x>", b"</x>"), b"<y/>", False, id="inside-an-element"),
        pytest.param((b"<x>", b"</x>"), b"<!-- -->", False, id="comments"),
    ],
)
def test_millions_of_empty_elements_keep_memory_flat(tmp_path, baseline, before, inside, first):
    path = hostile(tmp_path / "hostile.xml.gz", before, inside, first)
    assert path.stat().st_size < DEMO_FILE.stat().st_size + 100_000
    records, megabytes = peak(path)
    assert records == "604"
    assert megabytes < baseline + ALLOWED_GROWTH_MB, (megabytes, baseline)


@pytest.mark.parametrize(
    ("suffix", "first_line"), [(".nbib", b"PMID- 1\n"), (".ris", b"TY  - JOUR\n")]
)
def test_sniffing_a_large_file_reads_only_its_start(tmp_path, baseline, suffix, first_line):
    path = tmp_path / f"large{suffix}"
    with open(path, "wb") as out:  # 256 MB, sparse: one line, then no line break at all
        out.write(first_line + b"A" * 100)
        out.truncate(256 * 1024 * 1024)
    records, megabytes = peak(path)
    assert "longer than" in records  # the one endless line is refused, not read whole
    assert megabytes < baseline + ALLOWED_GROWTH_MB, (megabytes, baseline)
