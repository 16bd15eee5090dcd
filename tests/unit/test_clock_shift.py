"""The session clock shift that CI runs the suite under (`make test-future`): the test process and the
functions it runs see the same date, 400 days ahead, while OpenSSL's clock stays the system's."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the inner session imports tests.support
    monkeypatch.delenv("RUNBOOK_TEST_SHIFT_CLOCK_DAYS", raising=False)


def test_the_whole_session_runs_on_the_shifted_clock(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.support.clock_shift"]')
    pytester.makepyfile(
        textwrap.dedent(
            """
            import time
            from datetime import UTC, datetime, timedelta

            from standins.system_clock import real_now
            from tests.support.clock_shift import shifted_days

            def test_shifted():
                ahead = datetime.now(UTC) - real_now()
                assert timedelta(days=399, hours=23) < ahead < timedelta(days=400, hours=1)
                assert time.time() - real_now().timestamp() > 399 * 86400
                assert round(shifted_days()) == 400
            """
        )
    )
    result = pytester.runpytest_subprocess("--shift-clock", "400", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["wall clock shifted 400 days ahead: *"])


def test_unshifted_sessions_are_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.support.clock_shift"]')
    pytester.makepyfile(
        "from tests.support.clock_shift import child_env, shifted_days\n"
        "def test_plain():\n    assert shifted_days() == 0 and child_env() == {}\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_child_process_gets_the_shifted_date_and_can_sleep(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.support.clock_shift"]')
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            import os, subprocess
            from datetime import UTC, datetime

            from tests.support.clock_shift import child_env

            def test_child():
                code = "import time, datetime as d; time.sleep(0.01); print(d.datetime.now(d.UTC).date())"
                out = subprocess.run(
                    [{sys.executable!r}, "-c", code],
                    env={{**os.environ, **child_env()}}, capture_output=True, text=True, check=True,
                )
                assert out.stdout.strip() == str(datetime.now(UTC).date())
            """
        )
    )
    result = pytester.runpytest_subprocess("--shift-clock", "400", "-p", "no:cacheprovider", "-rs")
    outcomes = result.parseoutcomes()
    if outcomes.get("skipped"):
        result.stdout.fnmatch_lines(["*apt-get install faketime*"])
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    result.assert_outcomes(passed=1)


def test_make_test_runs_the_suite_shifted_400_days() -> None:
    planned = subprocess.run(["make", "-n", "test"], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "pytest --shift-clock 400" in planned.stdout
