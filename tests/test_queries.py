"""Queries per page, pinned (as peewee's own tests do) so an N+1 cannot creep in."""

import logging

import pytest


@pytest.fixture
def queries():
    """The SQL statements peewee runs while the test makes its request."""
    statements = []

    class Collect(logging.Handler):
        def emit(self, record):
            statements.append(record.getMessage())

    logger = logging.getLogger("peewee")
    handler = Collect(level=logging.DEBUG)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield statements
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/", 2),  # count + one page
        ("/?page=3", 2),
        ("/articles/24997269", 1),
        ("/articles/24997269.txt", 1),
        ("/articles/24997269/cite?style=apa", 1),
        ("/articles/24997269.ris", 1),
        ("/library?pmid=24997269", 1),
    ],
)
def test_queries_per_page(client, queries, path, most):
    response = client.get(path)
    assert response.status_code == 200
    assert 1 <= len(queries) <= most, queries
