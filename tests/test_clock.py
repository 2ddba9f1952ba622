"""The suite's clock: `@pytest.mark.clock` stops it for a whole test, fixtures included, and
`--today` (or `PEARL_TEST_DATE`) runs a whole session as if it were another day."""

import datetime
from pathlib import Path

import pytest

import models

ROOT = Path(__file__).parent.parent

MOMENT = datetime.datetime(2028, 2, 29, 23, 59, 30, tzinfo=datetime.UTC)


@pytest.fixture
def seen_by_fixture():
    return models.utcnow()


@pytest.mark.clock(MOMENT)
def test_marker_stops_the_clock_for_the_fixtures_too(seen_by_fixture):
    assert seen_by_fixture == MOMENT.replace(tzinfo=None)
    assert models.utcnow() == MOMENT.replace(tzinfo=None)  # stopped, not ticking


@pytest.mark.clock("2031-12-31T23:00Z")
def test_marker_takes_iso_text_in_utc():
    assert models.utcnow() == datetime.datetime(2031, 12, 31, 23, 0)


INNER = """
import datetime, time
import pytest

def test_day():
    assert datetime.date.today() == datetime.date(2031, 2, 28)
    before = time.time()
    time.sleep(0.01)
    assert time.time() > before  # the session's clock ticks

@pytest.mark.clock("2026-11-26T10:00Z")
def test_marked_test_keeps_its_own_moment():
    assert datetime.datetime.now(datetime.UTC).date() == datetime.date(2026, 11, 26)
"""


@pytest.mark.parametrize(
    ("args", "env"), [(["--today=2031-02-28"], None), ([], "2031-02-28T00:00:05Z")]
)
def test_today_runs_the_session_on_another_day(pytester, monkeypatch, args, env):
    if env:
        monkeypatch.setenv("PEARL_TEST_DATE", env)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_inner=INNER)
    # In a process of its own: a second pytest in this one would share Playwright's plugin.
    result = pytester.runpytest_subprocess("-p", "tests.conftest", "-p", "no:playwright", *args)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["as if it were 2031-02-28T00:00*"])
