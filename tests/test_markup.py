"""The note format (spec/notes-format.md): the syntax the help panel promises, footnote ids,
length and validation, and the sanitizer against a list of XSS payloads."""

import copy
import random
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import markup

PREFIX = "n42"
LINK_REL = "nofollow noopener noreferrer"
ALLOWED_TAGS = {"p", "br", "em", "strong", "u", "sup", "sub", "ol", "ul", "li", "a", "img"}
FOOTNOTE_TAGS = {"div", "hr"}
PAYLOADS_FILE = Path(__file__).parent / "data" / "xss_payloads.txt"

# The help panel under the note box, line by line, exactly as the seed page writes it.
HELP_INTRO = "You can also include formatting, links, images and footnotes in your notes"
HELP_FORMATTING = (
    "Simple formatting can be added to notes, such as *italics*, _underline_ or **bold**."
)
HELP_SUPERSCRIPT = "Superscript can be denoted by <sup>text</sup> and subscript <sub>text</sub>."
HELP_LISTS = (
    "Numbered or bulleted lists can be created using either numbered lines 1. 2. 3., "
    "hyphens - or asterisks *."
)
HELP_LINKS = "Links can be included with: [my link to pubmed](http://pubmed.com)"
HELP_IMAGES = (
    "Images can be included with: "
    '![alt text](https://bestmedicaljournal.com/study_graph.jpg "Image Title Text")'
)
HELP_INLINE_FOOTNOTE = "For footnotes use [^1](This is a footnote.) inline."
HELP_REFERENCE_FOOTNOTE = (
    "Or use an inline reference [^1] to refer to a longer footnote elseweher in the document "
    "[^1]: This is a long footnote.."
)
HELP_PANEL = [
    HELP_INTRO,
    HELP_FORMATTING,
    HELP_SUPERSCRIPT,
    HELP_LISTS,
    HELP_LINKS,
    HELP_IMAGES,
    HELP_INLINE_FOOTNOTE,
    HELP_REFERENCE_FOOTNOTE,
]


def parse(html: str) -> BeautifulSoup:
    """HTML parsed with every attribute as one string (bs4 splits `class` and `rel` otherwise)."""
    return BeautifulSoup(html, "html.parser", multi_valued_attributes=None)


def render(source: str, prefix: str = PREFIX) -> BeautifulSoup:
    return parse(markup.render(source, prefix))


def body(page: BeautifulSoup) -> BeautifulSoup:
    """A copy of the note without its footnote list."""
    page = copy.copy(page)
    for footnotes in page.select("div.footnote"):
        footnotes.extract()
    return page


def visible(page: BeautifulSoup) -> str:
    return page.get_text()


def footnote_texts(page: BeautifulSoup) -> list[str]:
    """The text of each footnote in the list under the note, without its back-links."""
    texts = []
    for item in page.select("div.footnote > ol > li"):
        item = copy.copy(item)
        for backlink in item.select("a.footnote-backref"):
            backlink.extract()
        texts.append(item.get_text().strip().rstrip("\xa0"))
    return texts


def tags(page: BeautifulSoup) -> list[str]:
    return [element.name for element in page.find_all(True)]


# -- Length and validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("a\nb", "a\nb"),
        ("a\r\r\nb", "a\n\nb"),
        ("a\n\rb", "a\n\nb"),
        ("\r\n\r\n", "\n\n"),
        ("  spaces\tand tabs stay  ", "  spaces\tand tabs stay  "),
        ("👍🏽 é e\u0301", "👍🏽 é e\u0301"),
    ],
)
def test_normalise_changes_line_endings_only(source, expected):
    assert markup.normalise(source) == expected


@pytest.mark.parametrize(
    ("source", "count"),
    [
        ("", 0),
        ("abc", 3),
        ("a\nb", 3),
        ("a\r\nb", 3),  # a browser submits a textarea's line break as \r\n: still one character
        ("a\rb", 3),
        ("😀", 1),  # one code point (two UTF-16 units: JavaScript's .length would say 2)
        ("👍🏽", 2),  # thumbs up + skin tone modifier: two code points
        ("é", 1),
        ("e\u0301", 2),  # e + combining accent
        ("K<sup>+</sup>", 13),  # the source is counted, not what it renders to
    ],
)
def test_length_counts_code_points_after_normalising(source, count):
    assert markup.length(source) == count


@pytest.mark.parametrize("source", ["a\r\nb", "😀 👍🏽 x", "line\rline\r\nline\n"])
def test_length_is_what_the_browser_counter_counts(source):
    # The counter: [...text.replace(/\r\n?/g, "\n")].length, i.e. code points after normalising.
    as_in_javascript = re.sub(r"\r\n?", "\n", source)
    assert markup.length(source) == len(list(as_in_javascript))


def test_max_length_is_300():
    assert markup.MAX_LENGTH == 300


@pytest.mark.parametrize(
    "source",
    ["x" * 300, "😀" * 300, "x" * 298 + "\r\n" + "x", "a\r\n" * 100, "👍🏽" * 150],
)
def test_validate_accepts_notes_of_up_to_300_characters(source):
    assert markup.validate(source) == markup.normalise(source)


@pytest.mark.parametrize(
    ("source", "count"),
    [("x" * 301, 301), ("😀" * 301, 301), ("x" * 299 + "\n\n", 301), ("x" * 450, 450)],
)
def test_validate_refuses_longer_notes_saying_by_how_much(source, count):
    with pytest.raises(markup.NoteError) as error:
        markup.validate(source)
    assert str(error.value) == (
        f"This note is {count} characters; the limit is 300. Shorten it by {count - 300}."
    )


@pytest.mark.parametrize("source", ["", " ", "\n", "\r\n\r\n", " \t \n "])
def test_validate_refuses_empty_notes(source):
    with pytest.raises(markup.NoteError, match=r"^Write something before saving\.$"):
        markup.validate(source)


def test_note_error_is_a_value_error():
    assert issubclass(markup.NoteError, ValueError)


@pytest.mark.parametrize(
    ("source", "character", "position"),
    [("\x00", "0000", 1), ("Na\x00K", "0000", 3), ("a\r\nb\x07", "0007", 4),
     ("\x7f", "007F", 1), ("en\x96dash", "0096", 3)],
)  # fmt: skip
def test_validate_refuses_control_characters_saying_where(source, character, position):
    with pytest.raises(markup.NoteError) as error:
        markup.validate(source)
    assert str(error.value) == (
        f"This note holds an invisible control character (U+{character}) at character "
        f"{position}: delete it and save again."
    )


def test_validate_keeps_what_was_typed_but_line_endings():
    source = "  Key points:\r\n1. *a*  \r\n2. <b>b</b>\t"
    assert markup.validate(source) == "  Key points:\n1. *a*  \n2. <b>b</b>\t"


# -- The spec's examples ----------------------------------------------------------------------


def test_spec_example_formatting():
    page = render("Key *point*: _always_ check **K<sup>+</sup>**")
    assert str(page.find("em")) == "<em>point</em>"
    assert str(page.find("u")) == "<u>always</u>"
    assert str(page.find("strong")) == "<strong>K<sup>+</sup></strong>"


def test_spec_example_list_after_text():
    page = render("Ddx:\n1. MS\n2. GBS\n3. CIDP")
    assert len(page.find_all("ol")) == 1
    assert [li.get_text() for li in page.ol.find_all("li")] == ["MS", "GBS", "CIDP"]
    assert page.ol.find_previous("p").get_text() == "Ddx:"


def test_spec_example_link():
    page = render("See [trial](https://example.org/t?a=1&b=2)")
    (link,) = page.find_all("a")
    assert link["href"] == "https://example.org/t?a=1&b=2"
    assert link["rel"] == LINK_REL
    assert link.get_text() == "trial"


def test_spec_example_javascript_link():
    html = markup.render("[x](javascript:alert(1))", PREFIX)
    assert "javascript:" not in html
    assert visible(parse(html)) == "x"


def test_spec_example_script_is_shown_as_text():
    page = render("<script>alert(1)</script>")
    assert page.find("script") is None
    assert visible(page) == "<script>alert(1)</script>"


def test_spec_example_inline_footnote():
    page = render("IL-6 rises[^1](Calvo 2012, fig 2).")
    assert page.find("a", href="Calvo 2012, fig 2") is None
    assert body(page).p.get_text() == "IL-6 rises1."
    assert page.p.sup.a.get_text() == "1"
    assert footnote_texts(page) == ["Calvo 2012, fig 2"]


# -- The help panel, line by line, as written there ---------------------------------------------


def test_help_intro_is_plain_text():
    page = render(HELP_INTRO)
    assert tags(page) == ["p"]
    assert visible(page) == HELP_INTRO


def test_help_formatting():
    page = render(HELP_FORMATTING)
    assert str(page.em) == "<em>italics</em>"
    assert str(page.u) == "<u>underline</u>"
    assert str(page.strong) == "<strong>bold</strong>"
    assert (
        visible(page)
        == "Simple formatting can be added to notes, such as italics, underline or bold."
    )


def test_help_superscript_and_subscript():
    page = render(HELP_SUPERSCRIPT)
    assert str(page.sup) == "<sup>text</sup>"
    assert str(page.sub) == "<sub>text</sub>"
    assert visible(page) == "Superscript can be denoted by text and subscript text."


def test_help_lists_line_itself_is_text():
    # The markers are mid-line here, so nothing is a list: the line reads as typed.
    page = render(HELP_LISTS)
    assert tags(page) == ["p"]
    assert visible(page) == HELP_LISTS


@pytest.mark.parametrize(
    ("source", "tag"),
    [
        ("1. one\n2. two\n3. three", "ol"),
        ("- one\n- two\n- three", "ul"),
        ("* one\n* two\n* three", "ul"),
    ],
)
def test_help_lists_as_the_reader_types_them(source, tag):
    page = render(source)
    assert tags(page) == [tag, "li", "li", "li"]
    assert [li.get_text() for li in page.find_all("li")] == ["one", "two", "three"]


def test_help_links():
    page = render(HELP_LINKS)
    assert page.a["href"] == "http://pubmed.com"
    assert page.a["rel"] == LINK_REL
    assert page.a.get_text() == "my link to pubmed"
    assert visible(page) == "Links can be included with: my link to pubmed"


def test_help_images():
    img = render(HELP_IMAGES).img
    assert img.attrs == {
        "src": "https://bestmedicaljournal.com/study_graph.jpg",
        "alt": "alt text",
        "title": "Image Title Text",
        "loading": "lazy",
        "referrerpolicy": "no-referrer",
    }


def test_help_inline_footnote():
    page = render(HELP_INLINE_FOOTNOTE)
    marker = page.p.sup
    assert marker.a["href"] == f"#{PREFIX}-fn-1"
    assert marker.a.get_text() == "1"
    assert footnote_texts(page) == ["This is a footnote."]
    assert body(page).get_text().strip() == "For footnotes use 1 inline."


def test_help_reference_footnote_line_as_written_is_shown_as_typed():
    # Written on one line, `[^1]: ...` is not a definition (it must start a line), so `[^1]` is
    # referenced but never defined: shown as typed, nothing dropped.
    page = render(HELP_REFERENCE_FOOTNOTE)
    assert tags(page) == ["p"]
    assert visible(page) == HELP_REFERENCE_FOOTNOTE


def test_help_reference_footnote_with_its_definition_on_its_own_line():
    source = (
        "Or use an inline reference [^1] to refer to a longer footnote elseweher in the "
        "document\n[^1]: This is a long footnote.."
    )
    page = render(source)
    assert page.p.sup.a["href"] == f"#{PREFIX}-fn-1"
    assert footnote_texts(page) == ["This is a long footnote.."]
    assert "[^1]" not in visible(page)


def test_whole_help_panel_as_one_note():
    page = render("\n".join(HELP_PANEL))
    # The inline footnote is the only footnote; the last line's [^1] is not it (inline
    # footnotes are self-contained) and, never defined, stays as typed.
    assert footnote_texts(page) == ["This is a footnote."]
    assert "[^1] to refer to a longer footnote" in visible(page)
    assert {"em", "u", "strong", "sup", "sub", "a", "img", "br"} <= set(tags(page))


# -- Emphasis, underline, superscript -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("*a*", "<p><em>a</em></p>"),
        ("_a_", "<p><u>a</u></p>"),
        ("**a**", "<p><strong>a</strong></p>"),
        ("__a__", "<p><strong>a</strong></p>"),
        ("***a***", "<p><strong><em>a</em></strong></p>"),
        ("___a___", "<p><strong><u>a</u></strong></p>"),
        ("*a **b** c*", "<p><em>a <strong>b</strong> c</em></p>"),
        ("**a *b* c**", "<p><strong>a <em>b</em> c</strong></p>"),
        ("**a _b_ c**", "<p><strong>a <u>b</u> c</strong></p>"),
        ("_a *b* c_", "<p><u>a <em>b</em> c</u></p>"),
        ("*a _b_ c*", "<p><em>a <u>b</u> c</em></p>"),
        ("_two words_", "<p><u>two words</u></p>"),
        ("un*frigging*believable", "<p>un<em>frigging</em>believable</p>"),
    ],
)
def test_emphasis(source, expected):
    assert markup.render(source, PREFIX) == expected


@pytest.mark.parametrize(
    "source",
    [
        "snake_case_words",
        "il_6 and tnf_alpha_level",
        "un_der_line",
        "_leading_underscore_only",
        "file_name_",
        "a _ b _ c",
        "2 * 3 * 4",
        "*not closed",
        "_not closed",
        "**",
    ],
)
def test_underscores_and_stars_that_are_not_markup_stay_as_typed(source):
    page = render(source)
    assert tags(page) == ["p"]
    assert visible(page) == source


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("K<sup>+</sup>", "<p>K<sup>+</sup></p>"),
        ("H<sub>2</sub>O", "<p>H<sub>2</sub>O</p>"),
        ("Ca<sup>2+</sup> and CO<sub>2</sub>", "<p>Ca<sup>2+</sup> and CO<sub>2</sub></p>"),
        ("x<sup>*a*</sup>", "<p>x<sup><em>a</em></sup></p>"),
        ("*x<sub>a</sub>*", "<p><em>x<sub>a</sub></em></p>"),
        ("<sup><sub>a</sub></sup>", "<p><sup><sub>a</sub></sup></p>"),
        ("<sub><sup>a</sup></sub>", "<p><sub><sup>a</sup></sub></p>"),
        ("<sup>[a](https://x.org)</sup>", None),
    ],
)
def test_superscript_and_subscript(source, expected):
    html = markup.render(source, PREFIX)
    if expected is None:
        assert parse(html).sup.a["href"] == "https://x.org"
    else:
        assert html == expected


@pytest.mark.parametrize(
    "source",
    [
        "<b>bold</b>",
        "<i>x</i> <u>y</u> <em>z</em> <strong>w</strong>",
        "<SUP>x</SUP>",
        '<sup class="x">x</sup>',
        "<sup >x</sup>",
        "a <sup> b",
        "a </sub> b",
        "<sup></sup>",
        "<br> <p>para</p> <hr>",
        "<!-- a comment -->",
        "x < y > z",
        "a<b",
        "<https://example.org>",
        "<someone@example.org>",
        "A & B, AT&T, a && b",
        "&lt;",
    ],
)
def test_other_html_is_shown_as_typed(source):
    page = render(source)
    assert tags(page) == ["p"]
    expected = "<" if source == "&lt;" else source  # an entity is the character it stands for
    assert visible(page) == expected


# -- Lists and line breaks ----------------------------------------------------------------------


def test_single_line_break_is_br():
    page = render("first line\nsecond line")
    assert tags(page) == ["p", "br"]
    assert [str(s).strip() for s in page.p.contents] == ["first line", "<br/>", "second line"]


def test_blank_line_starts_a_new_paragraph():
    page = render("one\n\ntwo\r\n\r\nthree")
    assert [p.get_text() for p in page.find_all("p")] == ["one", "two", "three"]


def test_crlf_line_breaks_render_like_lf():
    assert markup.render("a\r\nb\r\n1. x\r\n2. y", PREFIX) == markup.render(
        "a\nb\n1. x\n2. y", PREFIX
    )


@pytest.mark.parametrize(
    ("source", "structure"),
    [
        ("Key points:\n1. a\n2. b", [("p", ["Key points:"]), ("ol", ["a", "b"])]),
        ("Key points:\n- a\n- b", [("p", ["Key points:"]), ("ul", ["a", "b"])]),
        ("Key points:\n* a\n* b", [("p", ["Key points:"]), ("ul", ["a", "b"])]),
        ("Two lines\nof text:\n- a", [("p", ["Two lines\nof text:"]), ("ul", ["a"])]),
        ("1. a\n2. b\n- x\n- y", [("ol", ["a", "b"]), ("ul", ["x", "y"])]),
        ("- x\n1. a", [("ul", ["x"]), ("ol", ["a"])]),
        (
            "Ddx:\n1. MS\n\nTx:\n- IVIG",
            [("p", ["Ddx:"]), ("ol", ["MS"]), ("p", ["Tx:"]), ("ul", ["IVIG"])],
        ),
        ("1. a\n\n2. b", [("ol", ["a", "b"])]),
        ("- a\n+ b", [("ul", ["a", "b"])]),
    ],
)
def test_lists_need_no_blank_line(source, structure):
    page = render(source)
    blocks = page.find_all(recursive=False)
    assert [(block.name, _items_or_text(block)) for block in blocks] == structure


def _items_or_text(block) -> list[str]:
    if block.name == "p":
        return [block.get_text()]
    return [li.get_text().strip() for li in block.find_all("li")]


def test_line_after_a_list_item_continues_it():
    # Markdown's lazy continuation: the line belongs to the item above, after a line break.
    page = render("1. a\n2. b\ncontinued")
    assert [li.get_text() for li in page.find_all("li")] == ["a", "b\ncontinued"]
    assert page.find_all("li")[1].br is not None


@pytest.mark.parametrize(
    ("source", "outer", "inner"),
    [
        ("1. a\n    - nested\n2. b", "ol", "ul"),
        ("1. a\n   - nested\n2. b", "ol", "ul"),
        ("- a\n  1. nested\n- b", "ul", "ol"),
        ("- a\n    - nested\n- b", "ul", "ul"),
    ],
)
def test_nested_lists(source, outer, inner):
    page = render(source)
    top = page.find(outer, recursive=False)
    assert [li.contents[0].strip() for li in top.find_all("li", recursive=False)] == ["a", "b"]
    assert top.li.find(inner).li.get_text() == "nested"


def test_ordered_list_keeps_its_first_number():
    assert render("3. c\n4. d").ol["start"] == "3"


@pytest.mark.parametrize(
    "source",
    [
        "> 50% of patients",
        "# 1 cause of neuropathy",
        "Title\n---",
        "Title\n===",
        "---",
        "***",
        "    indented line",
        "`code`",
        "```\nfenced\n```",
        "1.5 mg twice daily",
        "-5 mg",
        "[1]: https://example.org",
        "[ref][1] and [ref]",
        "A line with two trailing spaces  ",
    ],
)
def test_markdown_outside_the_help_panel_is_shown_as_typed(source):
    page = render(source)
    assert set(tags(page)) <= {"p", "br"}
    assert visible(page).split() == source.split()  # as typed, up to HTML's white space


# -- Links and images ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://pubmed.com",
        "https://pubmed.ncbi.nlm.nih.gov/22710756/",
        "https://example.org/t?a=1&b=2&c=%20d",
        "https://example.org/search?q=il-6#results",
        "HTTPS://EXAMPLE.ORG/",
        "https://doi.org/10.1016/S1474-4422(12)70134-5",
        "mailto:editor@example.org",
    ],
)
def test_links_keep_http_https_and_mailto_urls(url):
    page = render(f"[the link]({url})")
    assert page.a["href"] == url
    assert page.a["rel"] == LINK_REL


def test_link_with_a_title():
    link = render('[x](https://example.org "The trial")').a
    assert (link["href"], link["title"]) == ("https://example.org", "The trial")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "//evil.example/x",
        "/relative/path",
        "relative.html",
        "www.pubmed.com",
        "#top",
        "#n42",
        "#n1-fn-1",
        "ftp://example.org/file",
        "https:evil.example",
        "https:///evil.example",
        "file:///etc/passwd",
    ],
)
def test_links_lose_any_other_url(url):
    link = render(f"[the link]({url})").a
    assert "href" not in link.attrs
    assert link.get_text() == "the link"


@pytest.mark.parametrize(
    "url",
    ["mailto:a@example.org", "javascript:alert(1)", "data:image/png;base64,AAAA", "//x.org/a.png"],
)
def test_images_keep_only_http_and_https_urls(url):
    img = render(f"![graph]({url})").img
    assert "src" not in img.attrs
    assert img["alt"] == "graph"


def test_image_with_http_url():
    img = render("![a](http://example.org/a.png)").img
    assert img["src"] == "http://example.org/a.png"
    assert (img["loading"], img["referrerpolicy"]) == ("lazy", "no-referrer")


def test_autolinks_are_not_part_of_the_syntax():
    page = render("See https://example.org for more")
    assert page.a is None
    assert visible(page) == "See https://example.org for more"


@pytest.mark.parametrize(
    ("source", "attribute", "value"),
    [
        ('[a](https://x.org "javascript:alert(1)")', "title", "javascript:alert(1)"),
        ("![javascript:alert(1)](https://x.org/a.png)", "alt", "javascript:alert(1)"),
    ],
)
def test_titles_and_alt_texts_are_kept_as_the_reader_wrote_them(source, attribute, value):
    # Plain text in attributes that browsers never run: kept (nothing lost), and inert.
    element = render(source).find(["a", "img"])
    assert element[attribute] == value
    assert element.get("href", element.get("src")).startswith("https://x.org")


# -- Footnotes ----------------------------------------------------------------------------------


def test_reference_footnote():
    page = render("IL-6 rises[^1].\n[^1]: Calvo 2012, fig 2.")
    marker = page.p.sup
    assert marker["id"] == f"{PREFIX}-fnref-1"
    assert marker.a.attrs == {"class": "footnote-ref", "href": f"#{PREFIX}-fn-1"}
    assert marker.a.get_text() == "1"
    item = page.select_one("div.footnote > ol > li")
    assert item["id"] == f"{PREFIX}-fn-1"
    assert item.select_one("a.footnote-backref")["href"] == f"#{PREFIX}-fnref-1"
    assert footnote_texts(page) == ["Calvo 2012, fig 2."]


def test_footnote_list_comes_after_the_note():
    page = render("A[^1](one) and B[^2].\n[^2]: two\n\nLast paragraph.")
    blocks = page.find_all(recursive=False)
    assert [block.name for block in blocks] == ["p", "p", "div"]
    assert blocks[-1]["class"] == "footnote"


@pytest.mark.parametrize(
    ("source", "texts"),
    [
        ("[^1](Calvo (2012), fig 2)", ["Calvo (2012), fig 2"]),
        ("[^1](see (a (b) c))", ["see (a (b) c)"]),
        ("[^1](a \\) b)", ["a ) b"]),
        ("[^1](see [PubMed](https://pubmed.com))", ["see PubMed"]),
        ("[^1](*italic* and <sup>2</sup>)", ["italic and 2"]),
        ("a[^1](one) b[^2](two) c[^x](three)", ["one", "two", "three"]),
        ("a[^1](one) b[^1](two)", ["one", "two"]),
        ("a[^1](first line\nsecond line)", ["first line\nsecond line"]),
    ],
)
def test_inline_footnotes(source, texts):
    page = render(source)
    assert footnote_texts(page) == texts
    assert [a.get_text() for a in page.select("a.footnote-ref")] == [
        str(n) for n in range(1, len(texts) + 1)
    ]


def test_inline_footnote_keeps_its_formatting():
    page = render("x[^1](see [PubMed](https://pubmed.com) and *this*)")
    item = page.select_one("div.footnote li")
    assert item.a["href"] == "https://pubmed.com"
    assert item.em.get_text() == "this"


@pytest.mark.parametrize("source", ["[^1]()", "[^1](   )", "[^1](unclosed", "\\[^1](escaped)"])
def test_inline_footnote_that_is_not_one_is_shown_as_typed(source):
    page = render(source)
    assert page.find("div", class_="footnote") is None
    assert page.find("a") is None
    assert visible(page) == source.replace("\\[", "[")


def test_inline_and_reference_footnotes_with_the_same_label_stay_apart():
    page = render("a[^1](inline) b[^1]\n[^1]: referenced")
    assert footnote_texts(page) == ["inline", "referenced"]
    hrefs = [a["href"] for a in page.select("a.footnote-ref")]
    assert hrefs == [f"#{PREFIX}-fn-1", f"#{PREFIX}-fn-2"]


def test_footnotes_are_numbered_in_the_order_they_appear():
    page = render("a[^b] c[^1](inline) d[^a]\n[^a]: A\n[^b]: B")
    assert footnote_texts(page) == ["B", "inline", "A"]
    assert [a.get_text() for a in page.select("a.footnote-ref")] == ["1", "2", "3"]


@pytest.mark.parametrize(
    "source",
    [
        "IL-6 rises[^1].",
        "IL-6 rises[^2] and falls[^3].\n[^1]: defined but not these",
        "[^note]",
        "[^]",
        "[^ ]",
    ],
)
def test_undefined_footnotes_are_shown_as_typed(source):
    page = render(source)
    assert page.find("a", class_="footnote-ref") is None
    assert body(page).p.get_text() == source.split("\n")[0]


def test_footnote_used_twice_links_back_to_each_use():
    page = render("a[^1] b[^1]\n[^1]: note")
    ids = [sup["id"] for sup in page.p.find_all("sup")]
    assert ids == [f"{PREFIX}-fnref-1", f"{PREFIX}-fnref-1-2"]
    backlinks = [a["href"] for a in page.select("a.footnote-backref")]
    assert backlinks == [f"#{PREFIX}-fnref-1", f"#{PREFIX}-fnref-1-2"]


@pytest.mark.parametrize("label", ["note one", 'a" onclick="x', "<b>", "é", "1-2"])
def test_footnote_ids_are_numbers_whatever_the_label(label):
    page = render(f"a[^{label}]\n[^{label}]: text")
    assert page.p.sup["id"] == f"{PREFIX}-fnref-1"
    assert page.select_one("div.footnote li")["id"] == f"{PREFIX}-fn-1"


def test_two_notes_on_one_page_link_to_their_own_footnotes():
    notes = {"n1": "First[^1](one).", "n2": "Second[^1].\n[^1]: two"}
    page = parse("".join(f"<article>{markup.render(s, p)}</article>" for p, s in notes.items()))
    ids = [element["id"] for element in page.find_all(id=True)]
    assert len(ids) == len(set(ids)) == 4
    for article, prefix in zip(page.find_all("article"), notes, strict=True):
        for link in article.select("a.footnote-ref, a.footnote-backref"):
            assert link["href"].startswith(f"#{prefix}-")
            assert article.find(id=link["href"][1:]) is not None
    texts = [footnote_texts(article) for article in page.find_all("article")]
    assert texts == [["one"], ["two"]]


def test_renders_do_not_leak_into_each_other():
    markup.render("a[^1]\n[^1]: first note's footnote", "n1")
    page = render("b[^1]")
    assert page.find("div") is None
    assert visible(page) == "b[^1]"


def test_rendering_is_repeatable():
    source = "Ddx[^1](x):\n1. *a*\n2. b[^r]\n[^r]: r"
    assert markup.render(source, "n7") == markup.render(source, "n7")


def test_footnotes_never_place_themselves_where_the_reader_typed_a_marker():
    # Python-Markdown's default marker would replace the paragraph holding it.
    page = render("keep ///Footnotes Go Here/// this\n\na[^1](one)")
    assert "keep ///Footnotes Go Here/// this" in visible(page)
    assert page.find_all(recursive=False)[-1].name == "div"


@pytest.mark.parametrize("prefix", ["", "42", "n 1", "n1#", 'n"1'])
def test_render_refuses_a_prefix_that_cannot_start_an_id(prefix):
    with pytest.raises(ValueError, match="prefix"):
        markup.render("x", prefix)


def test_render_of_empty_source_is_empty():
    assert markup.render("", PREFIX) == ""
    assert markup.render(" \r\n ", PREFIX) == ""


def test_rendering_from_many_threads_gives_the_same_html():
    sources = [f"Note {n}: *a*[^1](fn {n})\n1. x\n2. y[^r]\n[^r]: ref {n}" for n in range(40)]
    expected = [markup.render(source, f"n{n}") for n, source in enumerate(sources)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(markup.render, sources * 5, [f"n{n}" for n in range(40)] * 5))
    assert results == expected * 5


# -- Sanitizer ----------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}
# Whitespace and control characters, which browsers skip inside a URL's scheme.
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f-\xa0\s]+")


def load_payloads() -> list[str]:
    """The payloads file: one a line, `#` comments, `\\n` `\\r` `\\t` `\\0` escapes."""
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").split("\n")
    return [
        re.sub(r"\\([nrt0])", lambda m: _ESCAPES[m[1]], line)
        for line in lines
        if line and not line.startswith("#")
    ]


PAYLOADS = load_payloads()
# Each payload alone, and where the note format puts text inside other markup.
CONTEXTS = {
    "alone": "{}",
    "list": "Ddx:\n- {}",
    "bold": "**{}**",
    "inline-footnote": "IL-6[^1]({})",
    "footnote": "x[^1]\n[^1]: {}",
}


def test_there_are_at_least_100_payloads():
    assert len(PAYLOADS) >= 100
    assert len(set(PAYLOADS)) == len(PAYLOADS)


def elements(html: str):
    """Every element of the HTML as two different parsers read it."""
    for parser in ("html.parser", "lxml"):
        page = BeautifulSoup(html, parser, multi_valued_attributes=None)
        for element in page.find_all(True):
            if parser != "lxml" or element.name not in ("html", "body"):  # lxml's own wrapper
                yield element


def assert_safe(html: str, prefix: str) -> None:
    """Only allowlisted elements and attributes; URLs only http(s), mailto or own footnotes."""
    for element in elements(html):
        assert element.name in ALLOWED_TAGS | FOOTNOTE_TAGS, element
        for name, value in element.attrs.items():
            _assert_safe_attribute(element.name, name, value, prefix)


def _assert_safe_attribute(tag: str, name: str, value: str, prefix: str) -> None:
    assert not name.lower().startswith("on"), (tag, name)
    assert name in {
        "href", "src", "alt", "title", "rel", "loading", "referrerpolicy", "id", "class", "start"
    }, (tag, name)  # fmt: skip
    if name == "href":
        assert re.match(r"(?i)(https?://[^/\\]|mailto:)", value) or value.startswith(
            f"#{prefix}-"
        ), value
    if name == "src":
        assert re.match(r"(?i)https?://[^/\\]", value), value
    if name == "id":
        assert value.startswith(f"{prefix}-"), value
    if name == "class":
        assert (tag, value) in {
            ("div", "footnote"), ("a", "footnote-ref"), ("a", "footnote-backref")
        }  # fmt: skip


def assert_no_javascript_in_attributes(html: str) -> None:
    for element in elements(html):
        for name, value in element.attrs.items():
            squeezed = _IGNORED_IN_URLS.sub("", value).lower()
            assert "javascript:" not in squeezed, (element.name, name, value)


@pytest.mark.parametrize("context", CONTEXTS.values(), ids=CONTEXTS.keys())
@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_payloads_come_out_harmless(payload, context):
    html = markup.render(context.replace("{}", payload), PREFIX)
    assert_safe(html, PREFIX)
    assert_no_javascript_in_attributes(html)


# Payloads that are HTML and nothing else: no Markdown, no entities, no NUL (which HTML drops).
HTML_PAYLOADS = [
    p for p in PAYLOADS if p.startswith("<") and not re.search(r"[*_\[\\&\0`]|su[pb]>", p)
]


@pytest.mark.parametrize("payload", HTML_PAYLOADS, ids=range(len(HTML_PAYLOADS)))
def test_html_payloads_are_shown_as_text(payload):
    # Nothing lost: HTML that is not allowed reaches the reader as the text they typed.
    page = render(payload)
    assert set(tags(page)) <= {"p", "br"}
    assert visible(page).split() == payload.split()


# Pieces of the syntax, put together at random into notes no one would write.
FUZZ_PIECES = [
    "[^1]", "[^2]", "[^1](", "[^2](", ")", "(", "[^1]: ", "[^2]: ", "\n", "\n\n", "    ",
    "- ", "1. ", "x", " ", "*", "_", "<sup>", "</sup>", "[x](", "![y](", "https://a.b", "]",
    "[", "\\", "javascript:alert(1)", '"', "<script>", "&#x09;", "\r\n", "😀",
]  # fmt: skip


def test_random_notes_render_safely():
    rng = random.Random(20121107)
    for _ in range(1500):
        source = "".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 30)))
        html = markup.render(source, PREFIX)
        assert "\x02" not in html and "\x03" not in html  # the renderer's private markers
        assert_safe(html, PREFIX)


# -- PubMed record markup (markup.record_html) ------------------------------------------------

RECORD_TAGS = {"i", "b", "u", "sup", "sub"} | markup.MATHML_TAGS


def assert_record_safe(html: str) -> None:
    """Only the record allowlist: inline tags, MathML Core, MathML's own layout attributes."""
    for element in elements(html):
        assert element.name in RECORD_TAGS, element
        for name, value in element.attrs.items():
            assert element.name in markup.MATHML_TAGS, (element.name, name)
            if name == "alttext":
                assert element.name == "math"
            else:
                assert markup.mathml_attribute_allowed(name, value), (element.name, name, value)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_record_html_makes_payloads_harmless(payload):
    for context in (
        "{}",
        "<i>{}</i>",
        "<math><mi>{}</mi></math>",
        "<math><mtext>{}</mtext></math>",
    ):
        html = markup.record_html(context.replace("{}", payload))
        assert_record_safe(html)
        assert_no_javascript_in_attributes(html)


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("Plain &amp; escaped text", "Plain &amp; escaped text"),
        ("The <i>TERT</i> gene, K<sup>+</sup>", "The <i>TERT</i> gene, K<sup>+</sup>"),
        ('<math alttext="x2" display="block"><msup><mi>x</mi><mn>2</mn></msup></math>',
         '<math alttext="x2" display="block"><msup><mi>x</mi><mn>2</mn></msup></math>'),
        ('<math href="javascript:alert(1)" style="x"><mi onclick="alert(1)">x</mi></math>',
         "<math><mi>x</mi></math>"),
        ('<mi mathvariant="bold" alttext="no">x</mi>', '<mi mathvariant="bold">x</mi>'),
        ('<math><mi mathvariant="url(x)">x</mi></math>', "<math><mi>x</mi></math>"),
        ("<b onmouseover=alert(1)>bold</b>", "<b>bold</b>"),
        ('<a href="https://example.org">link</a> <img src=x>', "link "),
        ("", ""),
        (None, ""),
    ],
)  # fmt: skip
def test_record_html_keeps_the_record_allowlist(fragment, expected):
    assert markup.record_html(fragment) == expected
