"""NLM's MeSH descriptor file (`desc20XX.xml`, plain or `.gz`): one `Descriptor` per
`DescriptorRecord` — its UI, name, tree numbers and entry terms — streamed, so the 300 MB
file is read in flat memory."""

import gzip
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from pubmed.records import MalformedFile

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Descriptor:
    """One MeSH heading: `ui` (D000001), `name` as papers spell it, its `tree_numbers`
    (0..n places in the hierarchy), the other `entry_terms` that name it, and the `line`
    its record starts on (for errors)."""

    ui: str
    name: str
    tree_numbers: tuple
    entry_terms: tuple
    line: int


def read_descriptors(path):
    """The descriptors of a MeSH descriptor file (`.xml` or `.xml.gz`, told by its first
    bytes); MalformedFile names the file and line of anything that is not one."""
    path = Path(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if compressed else raw
        yield from parse_descriptor_stream(stream, path)


def parse_descriptor_stream(stream, name):
    """Descriptors from a binary stream of descriptor XML; `name` is what errors call it.
    Each record is cleared once read and dropped from its parent, so memory stays flat."""
    # lxml rather than ElementTree: its elements know their line, so a record that lacks its
    # UI is reported where it is. The DTD named in the DOCTYPE is never fetched.
    context = etree.iterparse(stream, events=("start", "end"), resolve_entities=False,
                              tag=("DescriptorRecordSet", "DescriptorRecord"))  # fmt: skip
    seen_set, uis, numbers = False, set(), set()
    try:
        for event, elem in context:
            if elem.tag == "DescriptorRecordSet":
                seen_set = True
            elif event == "end":
                descriptor = _descriptor(name, elem)
                _check_unique(name, descriptor, uis, numbers)
                yield descriptor
                elem.clear(keep_tail=True)
                while elem.getprevious() is not None:
                    del elem.getparent()[0]
    except etree.XMLSyntaxError as error:
        raise MalformedFile(name, error.lineno, error.msg) from None
    except (EOFError, gzip.BadGzipFile) as error:  # a truncated or damaged .gz
        raise MalformedFile(name, "end", f"compressed file is damaged ({error})") from None
    if not seen_set:
        raise MalformedFile(name, 1, "not a MeSH descriptor file (no <DescriptorRecordSet>)")


def _check_unique(name, descriptor, uis, numbers):
    """A UI or tree number met twice is a damaged (or concatenated) file: the tree would be
    ambiguous. The sets hold a few strings per descriptor (about 10 MB for all of MeSH)."""
    if descriptor.ui in uis:
        raise MalformedFile(name, descriptor.line, f"descriptor {descriptor.ui} appears twice")
    uis.add(descriptor.ui)
    for number in descriptor.tree_numbers:
        if number in numbers:
            message = f"tree number {number} ({descriptor.ui}) is another descriptor's too"
            raise MalformedFile(name, descriptor.line, message)
        numbers.add(number)


def _descriptor(name, record):
    """One Descriptor from a <DescriptorRecord>. Only its own children are read: the
    DescriptorUI and String inside its pharmacological actions or related headings name
    other descriptors."""
    ui = (record.findtext("DescriptorUI") or "").strip()
    heading = (record.findtext("DescriptorName/String") or "").strip()
    if not ui:
        raise MalformedFile(name, record.sourceline, "DescriptorRecord has no DescriptorUI")
    if not heading:
        raise MalformedFile(name, record.sourceline, f"descriptor {ui} has no DescriptorName")
    texts = ((number.text or "").strip() for number in record.iterfind("TreeNumberList/TreeNumber"))
    numbers = tuple(dict.fromkeys(text for text in texts if text))
    terms = {}  # in file order, each once, the heading itself left out
    for term in record.iterfind("ConceptList/Concept/TermList/Term/String"):
        text = " ".join((term.text or "").split())
        if text and text != heading:
            terms.setdefault(text, None)
    return Descriptor(ui, heading, numbers, tuple(terms), record.sourceline)
