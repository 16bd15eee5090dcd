"""Runs the whole session with the wall clock moved ahead: `pytest --shift-clock 400` (days; or the
environment variable RUNBOOK_TEST_SHIFT_CLOCK_DAYS). CI runs the suite once more this way, so that a
test which mixes a fixed date with today's (a date time-bomb) fails the day it is written, not the day
the calendar passes it.

The shift happens inside the test process (time-machine: `time.time`, `datetime.now`, ...), because
libfaketime, preloaded, crashes redis-server here. The monotonic clock is not moved. What stays on
the system clock: OpenSSL's certificate checks (`standins.system_clock.real_now()` tells it, for
certificates that must be valid on both clocks), sam build and the throwaway servers. A function run
through runbook-local talks to stand-ins in this process, so it shares the test's clock: `child_env()`.
"""

import glob
import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from standins.system_clock import real_now

ENV_VAR = "RUNBOOK_TEST_SHIFT_CLOCK_DAYS"
_KEY = pytest.StashKey[time_machine.travel]()


def shifted_days() -> float:
    """How many days the session's clock is ahead of the system clock (0: not shifted)."""
    if not time_machine.escape_hatch.is_travelling():
        return 0.0
    return (datetime.now(UTC) - real_now()).total_seconds() / 86400


def child_env() -> dict[str, str]:
    """What a child process that shares the test's clock needs (a function run through runbook-local,
    talking to stand-ins in this process): libfaketime with the session's shift. Preloaded into Python
    only; redis-server crashes under it. Skips the test when the clock is shifted and libfaketime is
    missing, since the child would then run on another clock than the stand-ins it talks to."""
    days = shifted_days()
    if not days:
        return {}
    libraries = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not libraries:
        pytest.skip("the clock is shifted and child processes need libfaketime: apt-get install faketime")
    return {
        "LD_PRELOAD": libraries[0],
        # Seconds ahead. Its monotonic clock moves too: with it left alone, libfaketime's
        # clock_nanosleep fails (EINVAL) and so does Python's time.sleep.
        "FAKETIME": f"+{round(days * 86400)}",
    }


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shift-clock",
        type=float,
        default=float(os.environ.get(ENV_VAR) or 0),
        metavar="DAYS",
        help=f"run the session with the wall clock moved DAYS ahead (or ${ENV_VAR})",
    )


def pytest_configure(config: pytest.Config) -> None:
    days = config.getoption("shift_clock")
    if not days:
        return
    traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
    traveller.start()
    config.stash[_KEY] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(_KEY, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    days = config.getoption("shift_clock")
    return f"wall clock shifted {days:g} days ahead: {datetime.now(UTC):%Y-%m-%d}" if days else None
