"""PostgreSQL's plans for queries every visitor runs, as tests/test_search.py and others read
SQLite's: the home page deep in its list reads the (sort_date, pmid) index in order, with no
sort of the papers of a day (migration 21); the paper page's notes query keeps one plan."""

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


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed out", "signed in"])
def test_the_first_page_of_notes_keeps_one_plan(app, postgres, signed_in):
    """psycopg prepares a statement run five times on a connection; PostgreSQL then keeps one
    (generic) plan for it only if that plan looks no dearer than the ones made for each
    value. With its OFFSET a parameter the notes query never did: it was planned afresh on
    every page view (0.7 ms). The first page has no OFFSET."""
    if postgres is None:
        pytest.skip("PostgreSQL's plan cache")
    with app.app_context():
        reader = models.User.create(email="plans@example.org", display_name="Dr Plans")
        article = models.Article.get_by_id(24997269)
        with models.db.connection_context():
            for _ in range(20):
                models.Note.page_on(article, reader if signed_in else None, 1, 10)
            plans = models.db.execute_sql(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE %s",
                ['%COUNT(%FROM "note"%'],
            ).fetchall()
    assert plans, "the notes query was not prepared"
    ((generic, custom),) = plans
    assert generic > custom, plans
