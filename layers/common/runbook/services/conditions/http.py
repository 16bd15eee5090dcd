"""Judges one HTTP observation against the check's expectations (runbook: 200, {"status":"ok"}, < 200 ms).

Pure: no I/O and no HTTP library, so every verdict is tested on constructed observations.
"""

import json
import math
from collections.abc import Iterator, Mapping
from datetime import UTC
from typing import Any

from runbook.models.config import HttpCheck
from runbook.models.observations import PHASE_NAMES, FailureKind, HttpObservation
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.conditions.verdict import check_result, latency_ms
from runbook.text import truncate

MAX_VALUE_CHARS = 100

_FAILURE_OUTCOMES = {
    FailureKind.TIMEOUT: Outcome.TIMEOUT,
    FailureKind.REFUSED: Outcome.CONNECTION_REFUSED,
    FailureKind.CONNECTION: Outcome.CONNECTION_ERROR,
    FailureKind.PROTOCOL: Outcome.CONNECTION_ERROR,  # no HTTP answer that could be judged
    FailureKind.TLS: Outcome.TLS_ERROR,
}


def evaluate(check: HttpCheck, observation: HttpObservation, state: CheckState) -> CheckResult:
    """`state` is unused: an HTTP verdict depends on this answer alone (streaks are judged elsewhere)."""
    latency = latency_ms(observation)
    details: dict[str, Any] = {"target": observation.target}
    if latency is not None:
        details["latency_ms"] = latency
    if observation.status_code is not None:
        details["status_code"] = observation.status_code
    outcome, reason = _judge(check, observation, latency, details)
    return check_result(check, observation, outcome, reason, details)


def _judge(
    check: HttpCheck, obs: HttpObservation, latency: float | None, details: dict[str, Any]
) -> tuple[Outcome, str]:
    """The first thing wrong, in this order: no answer (the probe's failure), status, JSON fields, body
    text, latency, certificate expiry. A later check only speaks when every earlier one passed."""
    target = obs.target
    if obs.failure is not None:
        details["failure"] = obs.failure.kind.value
        outcome = _FAILURE_OUTCOMES.get(obs.failure.kind, Outcome.PROBE_ERROR)
        return outcome, f"{target}: {obs.failure.message}"
    if obs.status_code is None:
        return Outcome.PROBE_ERROR, f"{target}: the probe returned neither an answer nor a failure"

    expect = check.expect
    if obs.status_code not in expect.status:
        got = f"HTTP {obs.status_code}"
        if obs.location:
            details["location"] = obs.location
            got += f" redirecting to {truncate(obs.location, MAX_VALUE_CHARS)}"
        return Outcome.HTTP_STATUS, f"{target} answered {got}, expected {_statuses(expect.status)}"

    if expect.json_fields is not None:
        mismatch = _json_mismatch(expect.json_fields, obs)
        if mismatch is not None:
            details["mismatch"] = mismatch
            return Outcome.BODY_MISMATCH, f"{target} answered {mismatch}"

    if expect.body_contains is not None and expect.body_contains not in (obs.body_text or ""):
        where = f" in its first {len(obs.body_text or '')} characters" if obs.body_truncated else ""
        needle = _value(expect.body_contains)
        return Outcome.BODY_MISMATCH, f"{target} answered a body without {needle}{where}"

    if expect.max_latency is not None and obs.latency_s is not None and obs.latency_s > expect.max_latency:
        limit_ms = round(expect.max_latency * 1000)
        details["max_latency_ms"] = limit_ms
        slow = f"{target} answered in {obs.latency_s * 1000:.0f} ms, limit {limit_ms} ms"
        slowest = obs.phases.slowest() if obs.phases else None
        if slowest is not None:  # on-call's first question: the DNS, the TLS handshake or the server?
            phase, ms = slowest
            slow += f" (slowest: {PHASE_NAMES[phase]}, {ms:.0f} ms)"
        return Outcome.TOO_SLOW, slow

    if obs.cert_not_after is not None:
        not_after = obs.cert_not_after.astimezone(UTC)
        days_left = (not_after - obs.observed_at).total_seconds() / 86400
        details["cert_not_after"] = not_after.isoformat()
        details["cert_days_left"] = math.floor(days_left)
        minimum = check.tls.min_days_to_expiry
        if minimum and days_left < minimum:
            return Outcome.TLS_EXPIRING, (
                f"the TLS certificate of {target} expires in {_days(days_left)} "
                f"({not_after:%Y-%m-%d %H:%M} UTC), limit {minimum} days"
            )

    answered = f"HTTP {obs.status_code}"
    if latency is not None:
        answered += f" in {latency:.0f} ms"
    return Outcome.OK, f"{target} answered {answered}"


def _json_mismatch(expected: Mapping[str, Any], obs: HttpObservation) -> str | None:
    """How the body fails the expected fields, or None when it contains them all."""
    if not obs.body_is_json:
        if obs.body_truncated:
            return "a body too large to check as JSON"
        return f"a body that is not JSON: {_value(obs.body_text or '')}"
    if not isinstance(obs.body_json, dict):
        return f"JSON {_value(obs.body_json)}, expected an object with {_value(expected)}"
    for path, want, got in _field_mismatches(expected, obs.body_json, ""):
        if got is _MISSING:
            return f"JSON without field {path!r} (expected {_value(want)})"
        return f"JSON field {path!r} = {_value(got)}, expected {_value(want)}"
    return None


_MISSING = object()


def _field_mismatches(
    expected: Mapping[str, Any], actual: Mapping[str, Any], prefix: str
) -> Iterator[tuple[str, Any, Any]]:
    """(path, expected, actual) for each differing field: nested objects match as subsets."""
    for key, want in expected.items():
        path = f"{prefix}.{key}" if prefix else key
        got = actual.get(key, _MISSING)
        if isinstance(want, dict) and isinstance(got, dict):
            yield from _field_mismatches(want, got, path)
        elif got is _MISSING or not _same(want, got):
            yield path, want, got


def _same(want: Any, got: Any) -> bool:
    """JSON equality: true is not 1 (Python's == says it is)."""
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    if isinstance(want, list) and isinstance(got, list):
        return len(want) == len(got) and all(_same(w, g) for w, g in zip(want, got, strict=True))
    if isinstance(want, dict) and isinstance(got, dict):
        return want.keys() == got.keys() and all(_same(want[k], got[k]) for k in want)
    return bool(want == got)


def _statuses(statuses: list[int]) -> str:
    return str(statuses[0]) if len(statuses) == 1 else "one of " + ", ".join(map(str, statuses))


def _days(days: float) -> str:
    if days < 0:
        return "0 days (it has expired)"
    whole = math.floor(days)
    return "less than a day" if whole == 0 else f"{whole} day" + ("" if whole == 1 else "s")


def _value(value: Any) -> str:
    """A value as JSON, cut to MAX_VALUE_CHARS so that one huge field cannot flood the alert."""
    return truncate(json.dumps(value, ensure_ascii=False, default=str), MAX_VALUE_CHARS)
