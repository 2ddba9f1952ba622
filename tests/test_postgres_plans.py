"""PostgreSQL's plans for queries every visitor runs, as tests/test_search.py and others read
SQLite's: the home page deep in its list reads the (sort_date, pmid) index in order, with no
sort of the papers of a day (migration 21)."""

import pytest
from peewee import Tuple

import models


@pytest.fixture
def on_postgres(app, postgres):
    if postgres is None:
        pytest.skip("PostgreSQL's plans (SQLite's sort_date index holds the PMID already)")
    with app.app_context():
        models.db.execute_sql("SET enable_seqscan = off")  # the plan of a big table
        yield
        models.db.execute_sql("RESET enable_seqscan")


@pytest.mark.usefixtures("on_postgres")
@pytest.mark.parametrize("older", [True, False], ids=["older page", "newer page"])
def test_a_page_of_recent_papers_reads_the_index_in_order(older):
    article = models.Article
    key = Tuple(article.sort_date, article.pmid)
    cursor = Tuple("2015-10-01", 24526126)
    query = article.select(*article.listed()).where(key < cursor if older else key > cursor)
    order = (article.sort_date.desc(), article.pmid.desc()) if older else (
        article.sort_date, article.pmid)  # fmt: skip
    sql, params = query.order_by(*order).limit(21).sql()
    plan = "\n".join(row[0] for row in models.db.execute_sql("EXPLAIN " + sql, params))
    assert "article_sort_date_pmid" in plan, plan
    assert "Sort" not in plan, plan
