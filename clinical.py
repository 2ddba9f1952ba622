"""PubMed's Clinical Queries categories and its systematic-review filter, as interests of the
Medical Journal of You: "therapy, narrow" is followed like a publication type.

Each filter is PubMed's published search strategy (PubMed Help, "Clinical Queries filters",
Haynes et al.'s hedges) written as the arms the journal's candidate queries take
(models.Arm): publication types and MeSH headings from the side table, words from the
full-text index (`{title abstract}` for [tiab], every column for [tw]; `word*` for a
truncation). What Pearl cannot search is left out and said here: MeSH subheadings
(`therapeutic use[sh]`, `diagnosis[sh]`), and explosion of the headings below those named
(they match as written, [mh:noexp]); the systematic-review filter keeps the subset's
publication types, title phrases and the Cochrane database, not its full strategy."""

import re

import search_query
from models import Arm

TIAB = "{title abstract}"
# The same columns as PostgreSQL's tsvector weights (search_query.WEIGHTS).
WEIGHTS = {TIAB: "AB"}
OPERAND = re.compile(r"'(?:[^']|'')*'(?::\*)?")


def _words(query, columns=TIAB):
    weights = WEIGHTS.get(columns, "")
    tsquery = OPERAND.sub(lambda m: m[0] + ("" if m[0].endswith("*") else ":") + weights
                          if weights else m[0], search_query.to_tsquery(query))  # fmt: skip
    return Arm(fts=f"{columns} : ({query})", tsquery=tsquery)


def _types(*names):
    return Arm(facet="pt", keys=tuple(name.lower() for name in names))


def _headings(*names):
    return Arm(facet="mh", keys=tuple(name.lower() for name in names))


FILTERS = {
    "Therapy (narrow)": (
        _types("Randomized Controlled Trial"),
        _words("randomized AND controlled AND trial"),
    ),
    "Therapy (broad)": (
        _types("Clinical Trial"),
        _headings("Clinical Trials as Topic", "Random Allocation"),
        _words('(clinical AND trial) OR random*'),
    ),
    "Diagnosis (narrow)": (_words("specificity"),),
    "Diagnosis (broad)": (
        _headings("Sensitivity and Specificity", "Diagnosis", "Diagnosis, Differential"),
        _words("sensitiv* OR diagnose OR diagnosed OR diagnoses OR diagnosing OR diagnosis"
               " OR diagnostic"),
    ),
    "Etiology (narrow)": (
        _headings("Cohort Studies"),
        _words("(relative AND risk*) OR (cohort AND stud*)"),
        _words('"relative risk" OR risks', columns="{title abstract mesh keywords}"),
    ),
    "Etiology (broad)": (
        _headings("Cohort Studies"),
        _words("risk*"),
        _words("group OR groups OR grouped", columns="{title abstract mesh keywords}"),
    ),
    "Prognosis (narrow)": (_words("prognos* OR (first AND episode) OR cohort"),),
    "Prognosis (broad)": (
        _headings("Incidence", "Mortality", "Follow-Up Studies"),
        _words("prognos* OR predict* OR course*", columns="{title abstract mesh keywords}"),
    ),
    "Clinical prediction guides (narrow)": (_words("validation OR validate"),),
    "Clinical prediction guides (broad)": (
        _headings("Predictive Value of Tests", "Observer Variation"),
        _words('predict* OR score OR scores OR "scoring system" OR "scoring systems" OR observ*'),
    ),
    "Systematic reviews": (
        _types("Systematic Review", "Meta-Analysis"),
        _words('"systematic review" OR "meta-analysis" OR "systematic literature review"',
               columns="title"),
        Arm(facet="ta", keys=("cochrane database syst rev",)),
    ),
}  # fmt: skip


def arms(name):
    """The arms of the filter called `name`; none for a name Pearl does not know."""
    return FILTERS.get(name, ())
