"""The pytest fixtures of the vendor stand-ins (registered in tests/conftest.py): `pagerduty`,
`statuspage` and `slack`, each a started stand-in of the standins package that is closed at teardown,
and then fails the test when it recorded a request the vendor would refuse (a test about refusals
takes them with `take_violations()` first). Without the vendored OpenAPI specs the PagerDuty and
Statuspage tests are skipped, saying which variable points at them."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from standins import pagerduty_standin as pd
from standins import statuspage_standin as sp
from standins.pagerduty_standin import PagerDutyStandin
from standins.slack_receiver import SlackReceiver
from standins.standin_server import LoopbackStandin
from standins.statuspage_standin import StatuspageStandin


def serve[S: LoopbackStandin[Any]](standin: S, check: Callable[[S], None]) -> Iterator[S]:
    """A fixture's life (`yield from serve(...)`): `standin` started, closed at teardown, then checked."""
    standin.start()
    try:
        yield standin
    finally:
        standin.close()
    check(standin)


def fail_if_violated(standin: LoopbackStandin[Any], refused: str) -> None:
    """Fails the running test when `standin` recorded violations: "<refused> were sent:", one a line."""
    if standin.violations:
        listed = "\n".join(f"  {violation}" for violation in standin.violations)
        pytest.fail(f"{refused} were sent:\n{listed}", pytrace=False)


# --- PagerDuty ------------------------------------------------------------------------------------


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyStandin]:
    """A started stand-in; at teardown, any request PagerDuty would refuse fails the test."""
    missing = [name for name in (pd.EVENTS_SPEC, pd.REST_SPEC) if not (pd.SPECS_DIR / name).is_file()]
    if missing:
        pytest.skip(f"PagerDuty OpenAPI specs {missing} not in {pd.SPECS_DIR}: set PAGERDUTY_SPECS_DIR")
    yield from serve(PagerDutyStandin(), fail_on_pagerduty_violations)


def fail_on_pagerduty_violations(standin: PagerDutyStandin) -> None:
    """Fails the running test when the stand-in recorded requests PagerDuty would refuse."""
    fail_if_violated(standin, "requests PagerDuty would refuse")


# --- Statuspage -----------------------------------------------------------------------------------


@pytest.fixture
def statuspage() -> Iterator[StatuspageStandin]:
    """A started stand-in; at teardown, any request Statuspage would refuse fails the test."""
    if not (sp.SPECS_DIR / sp.SPEC).is_file():
        pytest.skip(f"Statuspage OpenAPI spec {sp.SPEC} not in {sp.SPECS_DIR}: set STATUSPAGE_SPECS_DIR")
    yield from serve(StatuspageStandin(), fail_on_statuspage_violations)


def fail_on_statuspage_violations(standin: StatuspageStandin) -> None:
    """Fails the running test when the stand-in recorded requests Statuspage would refuse."""
    fail_if_violated(standin, "requests Statuspage would refuse")


# --- Slack ----------------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    """A started receiver; at teardown, any message Slack would refuse fails the test."""
    yield from serve(SlackReceiver(), fail_on_slack_violations)


def fail_on_slack_violations(receiver: SlackReceiver) -> None:
    """Fails the running test when the receiver recorded messages Slack would refuse."""
    fail_if_violated(receiver, "messages Slack would refuse")
