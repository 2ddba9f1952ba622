"""Everything that speaks PubMed: readers for its XML, MEDLINE text (.nbib) and RIS files
(`pubmed.read`), and the E-utilities client (`pubmed.eutils`). Readers yield plain dicts shaped
like `models.Article` rows, and `Deletion`s, one at a time, so a file of any size is read in
constant memory."""

import gzip
from pathlib import Path

from pubmed.medline import is_medline_line, parse_medline_lines
from pubmed.records import Deletion, MalformedFile
from pubmed.ris import parse_ris_lines
from pubmed.xml import parse_xml_stream

__all__ = ["Deletion", "FileReader", "MalformedFile", "parse_xml_stream", "read", "sniff"]


def read(path):
    """Records and Deletions from a file of any supported format, chosen by its content."""
    return FileReader(path)


class FileReader:
    """Iterates the records of one file; `bytes_read` tells how far in it is (progress bars)."""

    def __init__(self, path):
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self._raw = None

    @property
    def bytes_read(self):
        if self._raw is None or self._raw.closed:
            return 0 if self._raw is None else self.size
        return self._raw.tell()

    def __iter__(self):
        kind = sniff(self.path)
        with open(self.path, "rb") as raw:
            self._raw = raw
            if kind == "xml":
                stream = gzip.GzipFile(fileobj=raw) if self.path.suffix == ".gz" else raw
                yield from parse_xml_stream(stream, self.path)
            elif kind == "medline":
                yield from parse_medline_lines(_numbered(raw, self.path), self.path)
            else:
                yield from parse_ris_lines(_numbered(raw, self.path), self.path)


def sniff(path):
    """ "xml", "medline" or "ris": from the name for XML, otherwise from the first line of text.
    RIS and MEDLINE lines have the same shape (`TAG - value`); RIS records start with TY."""
    if path.suffix in (".gz", ".xml"):
        return "xml"
    with open(path, "rb") as start:  # its start only: the file may be any size
        head = start.read(4096).decode("utf-8-sig", "replace").lstrip()
    first_line = head.splitlines()[0] if head else ""
    if first_line.startswith("<"):
        return "xml"
    if first_line.startswith("TY  -"):
        return "ris"
    if is_medline_line(first_line):
        return "medline"
    raise MalformedFile(path, 1, "not PubMed XML, MEDLINE text (.nbib) or RIS")


# No MEDLINE or RIS line comes near this (an abstract on one RIS line is a few KB); a longer
# one is refused rather than read whole into memory.
LONGEST_LINE = 1024 * 1024


def _numbered(raw, name):
    """(number, text) for each line of a binary file, decoded one line at a time so a byte
    that is not UTF-8 is reported on its own line."""
    for number, line in enumerate(iter(lambda: raw.readline(LONGEST_LINE + 1), b""), 1):
        if len(line) > LONGEST_LINE:
            raise MalformedFile(name, number, "line is longer than 1 MB: not MEDLINE text or RIS")
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise MalformedFile(name, number, "is not UTF-8 text") from None
        yield number, text.rstrip("\r\n")
