"""The MeSH tree: NLM's descriptor file read (the real sample, gzip, malformed files), stored
and replaced by `import-mesh`, the narrower headings of a heading (the hierarchy of a real
slice of C14), and the interests picker and its suggestions saying what a heading includes."""

import ast
import gzip

import pytest

import models
from models import Interest, MeshDescriptor, MeshTreeNumber, User
from pubmed import MalformedFile
from pubmed.mesh import Descriptor, read_descriptors
from tests.conftest import DATA, soup

SAMPLE = DATA / "mesh" / "tipplerow_pubmed_mesh_desc_sample.xml"  # real: 5 records of MeSH 2020
SLICE = DATA / "mesh" / "mesh_cardiovascular_slice.xml"  # 7 real C14 descriptors (see its header)

SAMPLE_DESCRIPTORS = [
    Descriptor("D000001", "Calcimycin", ("D03.633.100.221.173",),
               ("A-23187", "A 23187", "A23187", "Antibiotic A23187", "A23187, Antibiotic"), 4),
    Descriptor("D000002", "Temefos",
               ("D02.705.400.625.800", "D02.705.539.345.800", "D02.886.300.692.800"),
               ("Temephos", "Abate", "Difos"), 387),
    Descriptor("D000003", "Abattoirs", ("J01.576.423.200.700.100", "J03.540.020"),
               ("Abattoir", "Slaughter Houses", "House, Slaughter", "Houses, Slaughter",
                "Slaughter House", "Slaughterhouses", "Slaughterhouse"), 757),
    Descriptor("D000077594", "Nivolumab",
               ("D12.776.124.486.485.114.224.060.829", "D12.776.124.790.651.114.224.060.829",
                "D12.776.377.715.548.114.224.200.829"),
               ("Opdivo", "ONO-4538", "ONO 4538", "ONO4538", "MDX-1106", "MDX 1106", "MDX1106",
                "BMS-936558", "BMS 936558", "BMS936558"), 951),
    Descriptor("D006406", "Hematoma", ("C23.550.414.838",), ("Hematomas",), 1387),
]  # fmt: skip

# What the slice's tree numbers imply, heading by heading: every heading below it.
CARDIOVASCULAR = {
    "cardiovascular diseases": ["cardiovascular diseases", "arrhythmias, cardiac",
                                "atrial fibrillation", "heart diseases", "myocardial infarction",
                                "myocardial ischemia", "vascular diseases"],
    "heart diseases": ["heart diseases", "arrhythmias, cardiac", "atrial fibrillation",
                       "myocardial infarction", "myocardial ischemia"],
    "arrhythmias, cardiac": ["arrhythmias, cardiac", "atrial fibrillation"],
    "atrial fibrillation": ["atrial fibrillation"],
    # In two places (C14.280.647 under Heart Diseases, C14.907.585 under Vascular Diseases).
    "myocardial ischemia": ["myocardial ischemia", "myocardial infarction"],
    "myocardial infarction": ["myocardial infarction"],
    # Myocardial Ischemia and Infarction through their C14.907 numbers; no arrhythmia.
    "vascular diseases": ["vascular diseases", "myocardial infarction", "myocardial ischemia"],
}  # fmt: skip


def store(*paths):
    """The tree from `paths` (read one after another, as one file would be)."""
    return MeshDescriptor.replace_tree(d for path in paths for d in read_descriptors(path))


def tree():
    """The stored tree: {ui: (name, key, sorted tree numbers)}."""
    numbers = {}
    for number, ui in MeshTreeNumber.select().tuples():
        numbers.setdefault(ui, []).append(number)
    return {d.ui: (d.name, d.key, sorted(numbers.get(d.ui, []))) for d in MeshDescriptor.select()}


def descriptor_file(tmp_path, body, name="desc.xml"):
    """A descriptor file around `body` (records written here, not NLM's)."""
    path = tmp_path / name
    path.write_text(
        '<?xml version="1.0"?>\n<DescriptorRecordSet LanguageCode = "eng">\n'
        f"{body}</DescriptorRecordSet>\n"
    )
    return path


def record(ui, name, *numbers):
    tree_numbers = "".join(f"<TreeNumber>{n}</TreeNumber>" for n in numbers)
    return (
        f"<DescriptorRecord><DescriptorUI>{ui}</DescriptorUI><DescriptorName><String>{name}"
        f"</String></DescriptorName><TreeNumberList>{tree_numbers}</TreeNumberList>"
        "</DescriptorRecord>\n"
    )


# --- the reader ---


def test_reader_reads_every_field_of_the_real_sample():
    # Only the record's own UI and name: those of its pharmacological actions (Calcimycin's
    # D000900 Anti-Bacterial Agents) and allowable qualifiers name other records.
    assert list(read_descriptors(SAMPLE)) == SAMPLE_DESCRIPTORS


def test_reader_reads_a_gzipped_file_whatever_its_name(tmp_path):
    for name in ("desc2020.xml.gz", "desc2020.xml"):
        path = tmp_path / name
        path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
        assert list(read_descriptors(path)) == SAMPLE_DESCRIPTORS


def test_a_descriptor_without_tree_numbers_or_entry_terms(tmp_path):
    path = descriptor_file(tmp_path, record("D005260", "Female"))
    assert list(read_descriptors(path)) == [Descriptor("D005260", "Female", (), (), 3)]


def truncated(tmp_path):
    path = tmp_path / "desc.xml"
    path.write_bytes(SAMPLE.read_bytes()[:3000])  # ends inside Calcimycin's qualifiers
    return path, 106


def pubmed_file(tmp_path):
    return DATA / "biopython_pubmed1.xml", 1


def no_ui(tmp_path):
    body = record("D000001", "Calcimycin") + record("", "Temefos")
    return descriptor_file(tmp_path, body), 4


def no_name(tmp_path):
    return descriptor_file(tmp_path, record("D000001", "")), 3


def twice(tmp_path):
    body = record("D000001", "Calcimycin") + record("D000001", "Calcimycin")
    return descriptor_file(tmp_path, body), 4


def shared_tree_number(tmp_path):
    body = record("D000001", "Calcimycin", "D03.633") + record("D000002", "Temefos", "D03.633")
    return descriptor_file(tmp_path, body), 4


def damaged_gzip(tmp_path):
    path = tmp_path / "desc.xml.gz"
    whole = gzip.compress(SAMPLE.read_bytes())
    path.write_bytes(whole[: len(whole) // 2])
    return path, "end"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (truncated, "Couldn't find end of Start Tag"),
        (pubmed_file, "not a MeSH descriptor file (no <DescriptorRecordSet>)"),
        (no_ui, "DescriptorRecord has no DescriptorUI"),
        (no_name, "descriptor D000001 has no DescriptorName"),
        (twice, "descriptor D000001 appears twice"),
        (shared_tree_number, "tree number D03.633 (D000002) is another descriptor's too"),
        (damaged_gzip, "compressed file is damaged"),
    ],
)
def test_a_malformed_file_is_named_with_its_line(tmp_path, make, message):
    path, line = make(tmp_path)
    with pytest.raises(MalformedFile) as raised:
        list(read_descriptors(path))
    assert str(raised.value).startswith(f"{path}:{line}: {message}")
    assert "\n" not in str(raised.value)


# --- the stored tree ---


def test_the_real_sample_is_stored_whole(empty_app):
    assert store(SAMPLE) == (5, 10)
    assert tree() == {
        d.ui: (d.name, d.name.lower(), sorted(d.tree_numbers)) for d in SAMPLE_DESCRIPTORS
    }


def test_the_real_samples_headings_have_nothing_below_them(empty_app):
    # Its five descriptors sit in unrelated branches (D03, D02, J01/J03, D12, C23): no tree
    # number starts with another's, so each heading includes only itself.
    store(SAMPLE)
    names = [d.name for d in SAMPLE_DESCRIPTORS]
    assert MeshDescriptor.narrower_keys(names) == {n.lower(): [n.lower()] for n in names}
    assert MeshDescriptor.narrower_counts(names) == {n.lower(): 0 for n in names}


def test_narrower_headings_of_a_real_slice_of_the_tree(empty_app):
    store(SLICE, SAMPLE)
    assert MeshDescriptor.narrower_keys(list(CARDIOVASCULAR)) == CARDIOVASCULAR
    counts = {key: len(below) - 1 for key, below in CARDIOVASCULAR.items()}
    assert MeshDescriptor.narrower_counts(list(CARDIOVASCULAR)) == counts
    # The sample's Hematoma (C23.550.414.838) is not below Myocardial Infarction's C23 numbers.
    assert MeshDescriptor.narrower_keys(["Hematoma"]) == {"hematoma": ["hematoma"]}


def test_headings_are_looked_up_in_any_case_and_those_absent_map_to_themselves(empty_app):
    store(SLICE)
    found = MeshDescriptor.narrower_keys(["ARRHYTHMIAS, CARDIAC", "Humans", "Lung Neoplasms"])
    assert found == {
        "arrhythmias, cardiac": ["arrhythmias, cardiac", "atrial fibrillation"],
        "humans": ["humans"],
        "lung neoplasms": ["lung neoplasms"],
    }
    assert MeshDescriptor.narrower_counts(["Humans", "Heart Diseases"]) == {
        "humans": 0,
        "heart diseases": 4,
    }
    assert MeshDescriptor.narrower_keys([]) == {} == MeshDescriptor.narrower_counts([])


def test_without_a_tree_every_heading_matches_itself_alone(empty_app):
    assert MeshDescriptor.narrower_keys(["Cardiovascular Diseases", "Humans"]) == {
        "cardiovascular diseases": ["cardiovascular diseases"],
        "humans": ["humans"],
    }
    assert MeshDescriptor.narrower_counts(["Cardiovascular Diseases"]) == {
        "cardiovascular diseases": 0
    }


@pytest.mark.sqlite_only("reads SQLite's query plan")
def test_narrower_headings_take_one_query_that_searches_the_index(empty_app, queries):
    store(SLICE, SAMPLE)
    queries.clear()
    MeshDescriptor.narrower_keys(list(CARDIOVASCULAR))
    MeshDescriptor.narrower_counts(list(CARDIOVASCULAR))
    assert len(queries) == 2, queries
    for message in list(queries):  # EXPLAIN below is logged too
        sql, params = ast.literal_eval(message)
        plan = [row[3] for row in models.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert any("below_number USING PRIMARY KEY (number>? AND number<?)" in p for p in plan)
        assert not [step for step in plan if step.startswith("SCAN")], plan


def test_a_newer_file_replaces_the_tree(empty_app):
    store(SLICE)
    assert store(SAMPLE) == (5, 10)
    assert sorted(tree()) == sorted(d.ui for d in SAMPLE_DESCRIPTORS)
    assert MeshDescriptor.narrower_counts(["Heart Diseases"]) == {"heart diseases": 0}


def test_a_file_failing_halfway_leaves_the_old_tree(empty_app, tmp_path):
    store(SLICE)
    before = tree()
    broken = descriptor_file(tmp_path, record("D000001", "Calcimycin", "D03") + record("", "X"))
    with pytest.raises(MalformedFile):
        store(broken)
    assert tree() == before


# --- the command ---


@pytest.fixture
def cli(empty_app):
    return empty_app.test_cli_runner()


def test_import_mesh_says_what_it_stored(empty_app, cli):
    result = cli.invoke(args=["import-mesh", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.output == f"Stored 5 MeSH descriptors, 10 tree numbers from {SAMPLE}.\n"
    again = cli.invoke(args=["import-mesh", str(SLICE)])
    assert again.output == f"Stored 7 MeSH descriptors, 11 tree numbers from {SLICE}.\n"
    with empty_app.app_context():
        assert len(tree()) == 7


def test_import_mesh_of_a_malformed_file_is_one_line_and_keeps_the_tree(empty_app, cli, tmp_path):
    cli.invoke(args=["import-mesh", str(SLICE)])
    broken = tmp_path / "desc2026.xml.gz"
    broken.write_bytes(gzip.compress(SAMPLE.read_bytes()[:3000]))
    result = cli.invoke(args=["import-mesh", str(broken)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {broken}:106: Couldn't find end of Start Tag A, line 106, column 6"
    ]
    with empty_app.app_context():
        assert len(tree()) == 7
    wrong = cli.invoke(args=["import-mesh", str(DATA / "biopython_pubmed1.xml")])
    assert wrong.exit_code == 1
    assert "not a MeSH descriptor file" in wrong.output


def test_import_mesh_on_a_new_database_creates_it(tmp_path):
    from tests.conftest import make_app  # noqa: PLC0415

    app = make_app(tmp_path, tmp_path / "new.db")
    result = app.test_cli_runner().invoke(args=["import-mesh", str(SLICE)])
    assert result.exit_code == 0, result.output
    models.db.close()


# --- the picker and its suggestions ---


@pytest.fixture
def reader(app, auth):
    """A signed-in reader with full access (the picker is the journal's)."""
    user = auth.create()
    User.update(full_access=True).where(User.id == user.id).execute()
    auth.login()
    return User.get_by_id(user.id)


@pytest.fixture
def mesh_tree(app):
    store(SLICE, SAMPLE)


def follow(user, *interests):
    for kind, value in interests:
        Interest.create(user=user, kind=kind, value=value, key=value.lower())


def narrower_notes(page):
    return {
        li.select_one(".interest-value").text: li.select_one(".interest-narrower").text
        for li in page.select("li.interest")
        if li.select_one(".interest-narrower")
    }


def test_picker_says_what_a_mesh_interest_includes(reader, mesh_tree, client, queries):
    follow(reader, ("mesh", "Cardiovascular Diseases"), ("mesh", "Myocardial Ischemia"),
           ("mesh", "Atrial Fibrillation"), ("mesh", "Humans"),
           ("keyword", "Heart Diseases"))  # fmt: skip
    client.get("/journal/interests")
    queries.clear()
    page = soup(client.get("/journal/interests"))
    assert narrower_notes(page) == {
        "Cardiovascular Diseases": "includes 6 narrower headings",
        "Myocardial Ischemia": "includes 1 narrower heading",
    }
    # Still the reader, whether the terms are fresh, and the interests with what they include.
    assert len(queries) <= 3, queries


def test_picker_without_a_tree_shows_headings_as_before(reader, client):
    follow(reader, ("mesh", "Cardiovascular Diseases"))
    page = soup(client.get("/journal/interests"))
    assert page.select_one(".interest-value").text == "Cardiovascular Diseases"
    assert page.select(".interest-narrower") == []


def test_a_heading_followed_in_place_says_what_it_includes(reader, mesh_tree, client):
    from tests.test_journal import hx  # noqa: PLC0415

    response = hx(client, "post", "/journal/interests", pick="mesh:Cardiovascular Diseases")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#interests-status").text == (
        "Now following mesh heading “Cardiovascular Diseases”."
    )
    assert narrower_notes(page) == {"Cardiovascular Diseases": "includes 6 narrower headings"}


def test_a_heading_no_paper_carries_is_spelled_as_mesh_spells_it(reader, mesh_tree, client):
    from tests.test_journal import hx  # noqa: PLC0415

    response = hx(client, "post", "/journal/interests", kind="mesh", q="heart  diseases")
    page = soup(response)
    assert narrower_notes(page) == {"Heart Diseases": "includes 4 narrower headings"}
    assert Interest.get(Interest.user == reader).value == "Heart Diseases"


def suggestion_texts(page):
    return [" ".join(button.text.split()) for button in page.select("button.suggestion")]


def test_mesh_suggestions_say_what_they_include(reader, mesh_tree, htmx, queries):
    queries.clear()  # the import keeps the terms current: nothing to refresh
    page = soup(htmx.get("/journal/interests/suggest?kind=mesh&q=cardiovascular"))
    assert len(queries) <= 2, queries  # the reader, the terms with what they include
    assert suggestion_texts(page) == [
        "Cardiovascular Agents 1 paper",  # not in the slice of the tree
        "Cardiovascular Diseases includes 6 narrower headings 1 paper",
    ]
    assert page.select_one(".suggestion-narrower").text == "includes 6 narrower headings"
    # A keyword spelled like a heading is a keyword: it includes nothing.
    keywords = soup(htmx.get("/journal/interests/suggest?kind=keyword&q=infarction"))
    assert keywords.select(".suggestion-narrower") == []


def test_suggestions_without_javascript_say_it_too(reader, mesh_tree, client):
    follow(reader, ("mesh", "Myocardial Ischemia"))
    page = soup(client.get("/journal/interests/suggest?kind=mesh&q=cardiovascular+dis"))
    assert page.find("html") is not None
    assert suggestion_texts(page) == [
        "Cardiovascular Diseases includes 6 narrower headings 1 paper"
    ]
    assert narrower_notes(page) == {"Myocardial Ischemia": "includes 1 narrower heading"}
