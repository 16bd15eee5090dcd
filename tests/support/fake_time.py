"""The fake clock of the adapter tests (PagerDuty, Statuspage, Slack), with its fixture and the httpx
client fixture those tests share. A test module takes the fixtures by name:
`fake_time = fake_clock.fake_time`, `http = fake_clock.http` (after `from tests.support import
fake_time as fake_clock`)."""

from collections.abc import Iterator

import httpx
import pytest


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps (or a test moves `now`)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client
