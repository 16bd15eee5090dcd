"""The system clock, also while a test session runs with the wall clock moved ahead (time-machine:
tests/support/clock_shift.py). OpenSSL checks certificates against it, so the loopback servers issue
theirs on it."""

from datetime import UTC, datetime

import time_machine


def real_now() -> datetime:
    """The system clock, also while the session's clock is shifted."""
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.datetime.datetime.now(UTC)
    return datetime.now(UTC)
