"""The note format: Markdown extensions and the sanitizer (spec/notes-format.md).

A note's source is what the reader typed; its HTML is derived from it here and can be rebuilt
at any time. `validate` checks a note before it is stored; `render` turns it into safe HTML.

The syntax is the help panel's: Python-Markdown with its `nl2br` and `sane_lists` extensions,
its `footnotes` extension extended by `_Footnotes` (inline footnotes `[^1](text)`, ids unique
on the page), and `_NoteExtension` for the rest (`_underline_`, lists right after a line of
text, `<sup>`/`<sub>` as the only HTML). Markdown syntax the panel does not offer is switched
off, so that `# 1 cause`, `> 50%` or an indented line are shown as typed. An allowlist
sanitizer (bleach) then has the last word on every rendering.

`render` is thread-safe: neither a Markdown instance nor a bleach Cleaner may be shared between
threads, so each render borrows a pair from a pool and gives it back.

`record_html` is the same sanitizer's allowlist for what PubMed records carry: titles and
abstracts with inline <i>/<b>/<u>/<sup>/<sub> and MathML Core.
"""

import queue
import re
import unicodedata
import xml.etree.ElementTree as etree

import bleach
import markdown
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.nl2br import Nl2BrExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.inlinepatterns import SimpleTagInlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import ETX, STX

MAX_LENGTH = 300

_LINK_REL = "nofollow noopener noreferrer"


# -- Length and validation --------------------------------------------------------------------


def normalise(source: str) -> str:
    """The source with its line endings (`\\r\\n` from a browser's form, or `\\r`) as `\\n`."""
    return source.replace("\r\n", "\n").replace("\r", "\n")


def length(source: str) -> int:
    """The note's length as the limit counts it: Unicode code points after `normalise`.

    A line break is one character, and so is an emoji that is one code point ("😀"); an emoji
    built from several code points counts each ("👍🏽" is 2). In the browser this is
    `[...text.replace(/\\r\\n?/g, "\\n")].length`.
    """
    return len(normalise(source))


class NoteError(ValueError):
    """A note that cannot be saved; the message is meant for the reader."""


def validate(source: str) -> str:
    """The normalised source, or `NoteError` if the note is empty, too long or holds a
    control character."""
    text = normalise(source)
    if not text.strip():
        raise NoteError("Write something before saving.")
    count = len(text)
    if count > MAX_LENGTH:
        raise NoteError(
            f"This note is {count} characters; the limit is {MAX_LENGTH}. "
            f"Shorten it by {count - MAX_LENGTH}."
        )
    # A control character (NUL and the like, pasted from elsewhere) shows as nothing or as
    # "�", and PostgreSQL cannot store NUL at all. Refused, as in display names, rather than
    # dropped: the stored source stays exactly what was typed (spec rule 7), and the box keeps
    # it for the reader to mend. Line breaks and tabs are a note's own.
    for position, character in enumerate(text, start=1):
        if unicodedata.category(character) == "Cc" and character not in "\n\t":
            raise NoteError(
                f"This note holds an invisible control character (U+{ord(character):04X}) "
                f"at character {position}: delete it and save again."
            )
    return text


# -- Markdown extensions ----------------------------------------------------------------------

# List items as Python-Markdown's own list processors recognise them (up to 3 spaces of indent;
# 4 would make the line a nested item of the list above).
_ORDERED_ITEM = re.compile(r"[ ]{0,3}\d+\.[ ]+")
_BULLET_ITEM = re.compile(r"[ ]{0,3}[*+-][ ]+")

_INLINE_FOOTNOTE = re.compile(r"(?<!\\)\[\^([^\]\n]+)\]\(")

# Python-Markdown strips STX and ETX from the source before any extension runs, so a label or
# marker made with them can never collide with anything the reader typed.
_INLINE_LABEL = STX + "inline{}" + ETX
_UNTYPEABLE_MARKER = STX + "footnotes" + ETX
_FOOTNOTE_LINKS = ("footnote-ref", "footnote-backref")


def _list_item(line: str) -> tuple[str, int] | None:
    """("ol" or "ul", its indentation) for a line that starts a list item, else None."""
    for kind, pattern in (("ol", _ORDERED_ITEM), ("ul", _BULLET_ITEM)):
        if pattern.match(line):
            return kind, len(line) - len(line.lstrip(" "))
    return None


def _list_split(block: str) -> int | None:
    """The index of the line where a new list starts inside a block, if one does.

    After text, any item starts a list. After an item, one of the other kind starts a list of
    its own, unless it is indented deeper: then it is nested in the item above.
    """
    lines = block.split("\n")
    first = _list_item(lines[0])
    for index, line in enumerate(lines[1:], start=1):
        item = _list_item(line)
        if item and (first is None or (item[0] != first[0] and item[1] <= first[1])):
            return index
    return None


class _ListAfterText(BlockProcessor):
    """Start a list on any line, without the blank line Markdown wants before it.

    "Key points:" followed by "1. ..." on the next line is text and then a list, and a bulleted
    list right after a numbered one is a second list. Lines that continue a list item without a
    marker still belong to it (Markdown's lazy continuation).
    """

    def test(self, parent: etree.Element, block: str) -> bool:
        return _list_split(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        lines = block.split("\n")
        index = _list_split(block)
        blocks[0:0] = ["\n".join(lines[:index]), "\n".join(lines[index:])]


def _closing_paren(text: str, start: int) -> int | None:
    """The index of the `)` that closes a `(` just before `start`, skipping nested pairs."""
    depth = 1
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2  # an escaped parenthesis does not count
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


class _InlineFootnotes(Preprocessor):
    """Define each inline footnote `[^1](text)` and leave a reference to it in its place.

    Each gets a label of its own, so `[^1](...)` never meets a `[^1]: ...` elsewhere in the
    note. Left alone, Markdown would read `[^1](text)` as a link to the URL "text".
    """

    def __init__(self, md: markdown.Markdown, footnotes: "_Footnotes"):
        super().__init__(md)
        self.footnotes = footnotes

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        pieces: list[str] = []
        position = 0
        labels = 0
        for match in _INLINE_FOOTNOTE.finditer(text):
            if match.start() < position:
                continue  # inside the footnote just taken
            end = _closing_paren(text, match.end())
            if end is None:
                continue  # never closed: text
            pieces.append(text[position : match.start()])
            note = text[match.end() : end]
            if note.strip():
                labels += 1
                label = _INLINE_LABEL.format(labels)
                self.footnotes.setFootnote(label, note)
                pieces.append(f"[^{label}]")
            else:
                # Escaping the bracket keeps "[^1]()" as typed rather than an empty link.
                pieces.append("\\" + text[match.start() : end + 1])
            position = end + 1
        pieces.append(text[position:])
        return "".join(pieces).split("\n")


class _FootnoteIds(Treeprocessor):
    """Rename footnote ids to `<prefix>-fn-<n>` and `<prefix>-fnref-<n>` (`-<k>` added for the
    k-th reference to the same footnote), n being the footnote's number.

    The footnotes extension's ids carry the reader's label ("fn-1", or "fn-a b" which is no
    valid id) and are unique only within one document; an article page shows many notes.
    """

    _ID = re.compile(r"(fnref|fn)(\d*)-(.*)", re.DOTALL)

    def __init__(self, md: markdown.Markdown, footnotes: "_Footnotes"):
        super().__init__(md)
        self.footnotes = footnotes

    def run(self, root: etree.Element) -> None:
        listing = next((div for div in root.iter("div") if div.get("class") == "footnote"), None)
        if listing is None:
            return
        numbers = {
            li.get("id").removeprefix("fn-"): number
            for number, li in enumerate(listing.find("ol").findall("li"), start=1)
        }
        for element in root.iter():
            if element.get("id"):
                element.set("id", self._rename(element.get("id"), numbers))
            if element.get("class") in _FOOTNOTE_LINKS:
                element.set("href", "#" + self._rename(element.get("href")[1:], numbers))

    def _rename(self, old: str, numbers: dict[str, int]) -> str:
        kind, repeat, label = self._ID.fullmatch(old).groups()
        new = f"{self.footnotes.prefix}-{kind}-{numbers[label]}"
        return f"{new}-{repeat}" if repeat else new


class _Footnotes(FootnoteExtension):
    """Python-Markdown's footnotes, plus inline footnotes and ids that start with `prefix`,
    numbered in the order they are referenced, and safe with any input."""

    def __init__(self):
        super().__init__(
            SEPARATOR="-",
            USE_DEFINITION_ORDER=False,
            PLACE_MARKER=_UNTYPEABLE_MARKER,  # so the list always goes at the end
            BACKLINK_TEXT="&#8617;&#65038;",  # ↩ as text: without U+FE0E, iOS shows an emoji
        )
        self.prefix = "note"

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        super().extendMarkdown(md)
        # After Markdown's own whitespace clean-up (30), which also strips STX and ETX.
        md.preprocessors.register(_InlineFootnotes(md, self), "inline_footnotes", 25)
        # After the extension's own tree processors (the last one runs at 15).
        md.treeprocessors.register(_FootnoteIds(md, self), "footnote_ids", 14)

    def setFootnote(self, id: str, text: str) -> None:
        # A definition with no text defines nothing, so references to it stay as typed (an
        # empty footnote would also crash the extension's reordering).
        if text.strip():
            super().setFootnote(id, text)

    def makeFootnotesDiv(self, root: etree.Element) -> etree.Element | None:
        # A definition inside a footnote's text ("[^1]: [^2]: x") stays text: found while the
        # list is being built, it would get no place in it and its text would be lost.
        processors = self.parser.blockprocessors
        definitions = processors["footnote"]
        processors.deregister("footnote")
        try:
            return super().makeFootnotesDiv(root)
        finally:
            processors.register(definitions, "footnote", 17)


class _LinkAttributes(Treeprocessor):
    """Give links their `rel`, and images `loading="lazy"` and no referrer."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter("a"):
            if element.get("class") not in _FOOTNOTE_LINKS:
                element.set("rel", _LINK_REL)
        for element in root.iter("img"):
            element.set("loading", "lazy")
            element.set("referrerpolicy", "no-referrer")


class _NoteExtension(Extension):
    """Pearl's syntax changes to Markdown (see the module docstring)."""

    # Markdown syntax the help panel does not offer: what it would match is shown as typed.
    _BLOCKS_OFF = ("code", "hashheader", "setextheader", "hr", "quote", "reference")
    _INLINE_OFF = (
        "backtick",
        "reference",
        "short_reference",
        "image_reference",
        "short_image_ref",
        "autolink",
        "automail",
        "html",
    )

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # No raw HTML: what the reader types in angle brackets stays text (escaped on output),
        # except the <sup> and <sub> pairs below.
        md.preprocessors.deregister("html_block")
        for name in self._BLOCKS_OFF:
            md.parser.blockprocessors.deregister(name)
        for name in self._INLINE_OFF:
            md.inlinePatterns.deregister(name)

        # Before the list processors (40, 30), so that they see the list on its own.
        md.parser.blockprocessors.register(_ListAfterText(md.parser), "list_after_text", 45)
        # Where raw HTML was: after links, before emphasis, so `**K<sup>+</sup>**` nests.
        for tag, priority in (("sup", 91), ("sub", 90)):
            pattern = SimpleTagInlineProcessor(rf"(<{tag}>)(.+?)</{tag}>", tag)
            md.inlinePatterns.register(pattern, tag, priority)
        # Markdown's own rules for `_` (never inside a word), but `_x_` underlines.
        md.delimiters.add("_", "strong,u", smart=True)
        md.treeprocessors.register(_LinkAttributes(md), "link_attributes", 13)


# -- Sanitizer --------------------------------------------------------------------------------

# The help panel's elements, paragraphs and line breaks, and the footnote list (div, hr, ol).
_TAGS = frozenset(
    {"p", "br", "em", "strong", "u", "sup", "sub", "ol", "ul", "li", "a", "img", "div", "hr"}
)
# An absolute URL that a browser cannot read as anything else: the scheme first, a host for
# http(s), and no control characters (browsers drop tabs and line breaks from a URL, which is
# what `jav&#x09;ascript:` relies on). Relative URLs ("//evil", "/x", "x") never match.
_LINK_URL = re.compile(r"(?:https?://[^/\\\s]|mailto:\S)[^\x00-\x1f\x7f]*", re.IGNORECASE)
_IMAGE_URL = re.compile(r"https?://[^/\\\s][^\x00-\x1f\x7f]*", re.IGNORECASE)
_CLASSES = {"div": {"footnote"}, "a": set(_FOOTNOTE_LINKS)}


class _Renderer:
    """A Markdown instance and a sanitizer, built once and used by one thread at a time."""

    def __init__(self):
        self.footnotes = _Footnotes()
        self.md = markdown.Markdown(
            extensions=[
                self.footnotes,
                Nl2BrExtension(),
                SaneListExtension(),  # a bulleted list after a numbered one is a new list
                _NoteExtension(),
            ],
            output_format="html",
        )
        self.cleaner = bleach.Cleaner(
            tags=_TAGS,
            attributes=self._allowed_attribute,
            protocols={"http", "https", "mailto"},
            strip=False,  # anything unexpected is shown escaped, not dropped
        )

    def render(self, source: str, prefix: str) -> str:
        self.footnotes.prefix = prefix
        self.md.reset()
        return self.cleaner.clean(self.md.convert(source))  # Markdown normalises line endings

    def _allowed_attribute(self, tag: str, name: str, value: str) -> bool:
        """Whether the sanitizer keeps this attribute (everything not listed goes)."""
        prefix = re.escape(self.footnotes.prefix)
        match tag, name:
            case "a", "href":
                return bool(
                    _LINK_URL.fullmatch(value)
                    or re.fullmatch(rf"#{prefix}-fn(?:ref)?-\d+(?:-\d+)?", value)
                )
            case "img", "src":
                return bool(_IMAGE_URL.fullmatch(value))
            case ("a", "title") | ("img", "alt") | ("img", "title"):
                return True
            case "a", "rel":
                return value == _LINK_REL
            case "img", "loading":
                return value == "lazy"
            case "img", "referrerpolicy":
                return value == "no-referrer"
            case "sup", "id":
                return bool(re.fullmatch(rf"{prefix}-fnref-\d+(?:-\d+)?", value))
            case "li", "id":
                return bool(re.fullmatch(rf"{prefix}-fn-\d+", value))
            case "ol", "start":
                return value.isascii() and value.isdigit()
            case _, "class":
                return value in _CLASSES.get(tag, ())
        return False


# Renderers not in use. A thread takes one (or builds one if none is free) and puts it back, so
# there are never more than the threads rendering at once, and a server that starts a thread
# per request (Werkzeug's) still reuses them.
_idle: queue.SimpleQueue[_Renderer] = queue.SimpleQueue()
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def render(source: str, prefix: str) -> str:
    """A note as safe HTML. `prefix` ("n42") starts its footnote ids: unique per note on a page."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"not a usable id prefix: {prefix!r}")
    try:
        renderer = _idle.get_nowait()
    except queue.Empty:
        renderer = _Renderer()
    try:
        return renderer.render(source, prefix)
    finally:
        _idle.put(renderer)


# -- PubMed record markup ---------------------------------------------------------------------

# MathML Core's presentation elements (https://w3c.github.io/mathml-core/): what the XML reader
# emits and what the record sanitizer keeps. No <maction>, <semantics> or <annotation>.
MATHML_TAGS = frozenset(
    {
        "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mstyle", "mpadded",
        "mphantom", "merror", "msub", "msup", "msubsup", "munder", "mover", "munderover",
        "mmultiscripts", "mprescripts", "mfrac", "msqrt", "mroot", "mtable", "mtr", "mtd",
    }
)  # fmt: skip
_BOOLEAN = {"true", "false"}
_LENGTH = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:em|ex|px|pt|%)?")
# Attributes that change how math looks and can do nothing else: allowed values (a set), or
# a pattern the whole value must match. No href, no style, no class, no event handlers.
MATHML_ATTRIBUTES = {
    "display": {"block", "inline"},
    "mathvariant": {"normal", "bold", "italic", "bold-italic", "double-struck", "script",
                    "bold-script", "fraktur", "bold-fraktur", "sans-serif", "monospace"},
    "accent": _BOOLEAN,
    "accentunder": _BOOLEAN,
    "stretchy": _BOOLEAN,
    "fence": _BOOLEAN,
    "separator": _BOOLEAN,
    "largeop": _BOOLEAN,
    "movablelimits": _BOOLEAN,
    "displaystyle": _BOOLEAN,
    "form": {"prefix", "infix", "postfix"},
    "scriptlevel": re.compile(r"[+-]?\d"),
    "linethickness": _LENGTH,
    "width": _LENGTH,
    "height": _LENGTH,
    "depth": _LENGTH,
    "lspace": _LENGTH,
    "rspace": _LENGTH,
    "columnspan": re.compile(r"\d{1,2}"),
    "rowspan": re.compile(r"\d{1,2}"),
}  # fmt: skip
_RECORD_TAGS = frozenset({"i", "b", "u", "sup", "sub"}) | MATHML_TAGS


def mathml_attribute_allowed(name: str, value: str) -> bool:
    """Whether a MathML attribute keeps this value (MATHML_ATTRIBUTES); the XML reader asks
    too, so what it writes is what the sanitizer keeps."""
    allowed = MATHML_ATTRIBUTES.get(name)
    if isinstance(allowed, set):
        return value in allowed
    return bool(allowed and allowed.fullmatch(value))


def _record_attribute(tag: str, name: str, value: str) -> bool:
    """Whether a record's attribute stays: `alttext` on <math> (its plain text), and MathML's
    layout attributes on MathML elements; nothing on the inline HTML tags."""
    if tag not in MATHML_TAGS:
        return False
    return tag == "math" if name == "alttext" else mathml_attribute_allowed(name, value)


_idle_record_cleaners: queue.SimpleQueue[bleach.Cleaner] = queue.SimpleQueue()


def record_html(fragment: str | None) -> str:
    """A title or abstract section as safe HTML: only inline <i>/<b>/<u>/<sup>/<sub> and
    MathML Core, with harmless attributes; any other tag is dropped and its text kept."""
    if not fragment or "<" not in fragment:
        return fragment or ""  # no tag can start without "<": plain escaped text, as stored
    try:
        cleaner = _idle_record_cleaners.get_nowait()
    except queue.Empty:
        cleaner = bleach.Cleaner(
            tags=_RECORD_TAGS, attributes=_record_attribute, protocols=(), strip=True
        )
    try:
        return cleaner.clean(fragment)
    finally:
        _idle_record_cleaners.put(cleaner)
