"""Judges a heartbeat: did the outside job (e.g. the web app's e2e + Lighthouse run in CI) report a pass
recently enough, and was its latest report a pass? `observation.observed_at` is "now"."""

from datetime import datetime
from typing import Any

from runbook.models.config import HeartbeatCheck
from runbook.models.observations import HeartbeatObservation
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState, HeartbeatRecord
from runbook.services.conditions.verdict import check_result

# Enough of the job's own summary to say what failed; the whole report is in the CI job.
MAX_SUMMARY_CHARS = 200


def duration_text(seconds: float) -> str:
    """'45 s', '47 min', '5 h', '3 d': the precision a person on call needs."""
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 120 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 1].rstrip() + "…"


def _last_pass(latest: HeartbeatRecord) -> datetime | None:
    if latest.status == "pass":
        return max(latest.reported_at, latest.last_pass_at or latest.reported_at)
    return latest.last_pass_at


def evaluate(check: HeartbeatCheck, observation: HeartbeatObservation, state: CheckState) -> CheckResult:
    now = observation.observed_at
    window = duration_text(check.max_age)
    details: dict[str, Any] = {"max_age_s": check.max_age, "require_pass": check.require_pass}

    def result(outcome: Outcome, reason: str) -> CheckResult:
        return check_result(
            check, observation, outcome, f"{check.name}: {reason}", details, reason_limit=None
        )

    if observation.failure is not None:  # the heartbeat probe reads memory; only a bug gets here
        return result(Outcome.PROBE_ERROR, observation.failure.message)
    latest = observation.latest
    if latest is None:
        return result(Outcome.NEVER_REPORTED, f"no report has arrived yet, window {window}")

    report_age = (now - latest.reported_at).total_seconds()
    last_pass = _last_pass(latest)
    details |= {
        "latest_status": latest.status,
        "reported_at": latest.reported_at.isoformat(),
        "report_age_s": round(report_age, 1),
        "last_pass_at": last_pass.isoformat() if last_pass else None,
    }
    if latest.summary:
        details["summary"] = _summary(latest.summary)
    failure = ""
    if latest.status == "fail":
        failure = f"latest report ({duration_text(report_age)} ago) failed"
        failure += f": {_summary(latest.summary)}" if latest.summary else ""

    if last_pass is None:
        return result(
            Outcome.STALE,
            "; ".join(filter(None, [f"no passing report yet, window {window}", failure])),
        )
    pass_age = (now - last_pass).total_seconds()
    details["pass_age_s"] = round(pass_age, 1)
    if pass_age > check.max_age:
        stale = f"no passing report for {duration_text(pass_age)}, window {window}"
        return result(Outcome.STALE, "; ".join(filter(None, [stale, failure])))
    if failure and check.require_pass:
        return result(Outcome.REPORTED_FAILURE, failure)
    # require_pass off: a failed run only shows in the reason while a pass is fresh enough.
    passed = f"passed {duration_text(pass_age)} ago, window {window}"
    return result(Outcome.OK, "; ".join(filter(None, [passed, failure])))
