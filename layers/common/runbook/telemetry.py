"""Logs and metrics of a probe run in Lambda. Telemetry is most of a check's cost (CloudWatch bills
$0.50 per GB of logs and $0.30 per metric a month), so a healthy, steady check writes nothing at
INFO: each run logs one compact summary, every failure and every change of state, and emits metrics
whose number does not grow with the checks (ProbeRun, watched by the heartbeat alarm, ChecksFailing).
The per-check line is at DEBUG; per-check metrics only for checks with `metrics: true`."""

import logging
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from runbook.models.alert import Alert
from runbook.models.results import CheckResult
from runbook.observability import logger, metrics
from runbook.services.probe_runner import CheckRun
from runbook.services.routing import PageDecision
from runbook.services.settlement import RunSummary
from runbook.services.transitions import Change


class LambdaRunReporter:
    def __init__(self) -> None:
        self._told: set[str] = set()  # one reporter per cold start (runbook/roots)

    def check_result(self, run: CheckRun, change: Change | None = None) -> None:
        result = run.result
        steady = result.ok and change is None
        if not steady:
            logger.info("check result", extra=_result_fields(result, change))
        elif logger.log_level <= logging.DEBUG:  # not even built at INFO: most runs are all steady
            logger.debug("check result", extra=_result_fields(result, change))
        if not result.counts or not run.check.metrics:
            return  # skipped (neither a success nor a failure), or no metrics of its own asked for
        if result.kind == "integration":
            _integration_metrics(result)
            return
        # One EMF record per check: its own `check` dimension, both metrics (single_metric holds one).
        record = AmazonCloudWatchEMFProvider()
        record.add_dimension(name="check", value=result.check)
        record.add_metric(name="CheckSuccess", unit=MetricUnit.Count, value=int(result.ok))
        if result.latency_ms is not None:
            record.add_metric(name="CheckLatency", unit=MetricUnit.Milliseconds, value=result.latency_ms)
        record.flush_metrics(raise_on_empty_metrics=True)

    def problem(self, message: str, **fields: Any) -> None:
        logger.warning(message, extra=fields)

    def config_problem(self, key: str, message: str, **fields: Any) -> None:
        if key not in self._told:
            self._told.add(key)
            logger.error(message, extra=fields)


def _result_fields(result: CheckResult, change: Change | None) -> dict[str, Any]:
    return {
        "check": result.check,
        "kind": result.kind,
        "ok": result.ok,
        "outcome": result.outcome.value,
        "reason": result.reason,
        "latency_ms": result.latency_ms,
        **({"phases_ms": result.phases.timed_ms()} if result.phases else {}),
        "details": result.details,
        **({"change": change} if change else {}),
    }


def record_probe_run(summary: RunSummary) -> None:
    """Emitted only when a run completes, so a prober that stops or crashes sets off the alarm."""
    log_run_summary("probe run", summary)
    metrics.add_metric(name="ProbeRun", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ChecksFailing", unit=MetricUnit.Count, value=summary.failed)


def log_run_summary(message: str, summary: RunSummary) -> None:
    """One compact line a run: the counts, and the names of what changed (what failed is logged with
    its details, check by check)."""
    changed = {
        key: names
        for key, names in (
            ("went_down", summary.went_down),
            ("came_up", summary.came_up),
            ("level_changed", summary.level_changed),
            ("retired", summary.retired),
        )
        if names
    }
    problems = {
        key: value
        for key, value in (
            ("skipped", summary.skipped),
            ("alerts_published", summary.alerts_published),
            ("alerts_pending", summary.alerts_pending),
            ("state_write_failures", summary.state_write_failures),
        )
        if value
    }
    counts: dict[str, Any] = {"checks": summary.checks, "failed": summary.failed, "ms": summary.duration_ms}
    logger.info(message, extra=counts | problems | changed)


def _integration_metrics(result: CheckResult) -> None:
    """Per integration: did /status answer 2xx, how fast, and how much of the quota is used (when known)."""
    record = AmazonCloudWatchEMFProvider()
    record.add_dimension(name="integration", value=result.check)
    status_code = result.details.get("status_code")
    reachable = isinstance(status_code, int) and (200 <= status_code < 300 or status_code == 429)
    record.add_metric(name="StatusSuccess", unit=MetricUnit.Count, value=int(reachable))
    if result.latency_ms is not None:
        record.add_metric(name="StatusLatency", unit=MetricUnit.Milliseconds, value=result.latency_ms)
    quota = result.details.get("quota")
    if isinstance(quota, dict) and isinstance(quota.get("percent"), int | float):
        record.add_metric(name="QuotaUsagePercent", unit=MetricUnit.Percent, value=quota["percent"])
    record.flush_metrics(raise_on_empty_metrics=True)


def record_quota_run(summary: RunSummary) -> None:
    """Emitted only when a run completes, so a quota check that stops or crashes sets off its alarm."""
    log_run_summary("quota run", summary)
    metrics.add_metric(name="QuotaCheckRun", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="IntegrationsFailing", unit=MetricUnit.Count, value=summary.failed)


def record_rejected_message(reason: str, kept: bool) -> None:
    """An alert message of no known format: logged (the reason, never the content) and counted."""
    logger.error("alert message rejected", extra={"reason": reason, "kept_on_dead_letter_queue": kept})
    metrics.add_metric(name="AlertsRejected", unit=MetricUnit.Count, value=1)


def record_rejected_event(reason: str) -> None:
    logger.error("event rejected", extra={"reason": reason})
    metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)


def heartbeat_reported(check: str, accepted: bool, reason: str) -> None:
    logger.info("heartbeat report", extra={"check": check, "accepted": accepted, "reason": reason})
    metrics.add_metric(
        name="HeartbeatAccepted" if accepted else "HeartbeatRejected", unit=MetricUnit.Count, value=1
    )


class LambdaPagingReporter:
    """One log line per alert decision; metrics AlertsPaged / AlertsHeld (maintenance, urgency none) /
    AlertsReleased (held, paged when its window ended) / AlertsFolded (storm) / PageFailures /
    AlertsRejected (unreadable messages)."""

    def outcome(self, alert: Alert, decision: PageDecision, outcome: str) -> None:
        logger.info(
            "alert routed",
            extra={
                "alert_key": alert.key,
                "status": alert.status,
                "severity": alert.severity,
                "sev": decision.sev,
                # Not `service`: that key is Powertools' own (the function's service name).
                "pagerduty_service": decision.service,
                "dedup_key": decision.dedup_key,
                "group": decision.group,
                "outcome": outcome,
                "reason": decision.reason,
            },
        )
        metric = _OUTCOME_METRICS.get(outcome)
        if metric:
            metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)

    def rejected(self, reason: str, kept: bool) -> None:
        record_rejected_message(reason, kept)

    def failed(self, alert: Alert, decision: PageDecision, error: Exception) -> None:
        # The error's type and text only: the project's exceptions never carry a routing key or token.
        logger.error(
            "alert not delivered to PagerDuty",
            extra={
                "alert_key": alert.key,
                "dedup_key": decision.dedup_key,
                "error": f"{type(error).__name__}: {error}",
            },
        )
        metrics.add_metric(name="PageFailures", unit=MetricUnit.Count, value=1)

    def released(self, alert: Alert, decision: PageDecision, window: str, outcome: str) -> None:
        logger.info(
            "held alert released",
            extra={
                "alert_key": alert.key,
                "window": window,
                "dedup_key": decision.dedup_key,
                "outcome": outcome,
                "observed_at": alert.observed_at.isoformat(),
            },
        )
        metrics.add_metric(name="AlertsReleased", unit=MetricUnit.Count, value=1)

    def escalated(self, incident_id: str, level: int, note: str) -> None:
        logger.info("incident escalated", extra={"incident": incident_id, "level": level, "note": note})
        metrics.add_metric(name="IncidentsEscalated", unit=MetricUnit.Count, value=1)

    def problem(self, message: str, **fields: Any) -> None:
        logger.warning(message, extra=fields)


_OUTCOME_METRICS = {
    "triggered": "AlertsPaged",
    "storm_triggered": "AlertsPaged",
    "resolved": "AlertsResolved",
    "held": "AlertsHeld",
    "folded": "AlertsFolded",
}


def record_sweep_run() -> None:
    metrics.add_metric(name="AckSweepRun", unit=MetricUnit.Count, value=1)


class LambdaStatusReporter:
    """Statuspage writes, the notices sent to #ops-alerts, unreadable messages; metrics StatuspageWrites,
    StatuspageNotices, AlertsRejected."""

    def page_written(self, kind: str, incident_id: str, status: str | None) -> None:
        logger.info("status page written", extra={"write": kind, "incident": incident_id, "status": status})
        metrics.add_metric(name="StatuspageWrites", unit=MetricUnit.Count, value=1)

    def notice(self, text: str) -> None:
        logger.warning("status page notice", extra={"notice": text})
        metrics.add_metric(name="StatuspageNotices", unit=MetricUnit.Count, value=1)

    def rejected(self, reason: str, kept: bool) -> None:
        record_rejected_message(reason, kept)


def record_status_sync(reminded: bool) -> None:
    metrics.add_metric(name="StatusSyncRun", unit=MetricUnit.Count, value=1)
    if reminded:
        metrics.add_metric(name="IncidentRoomReminders", unit=MetricUnit.Count, value=1)


class LambdaIdleNotice:
    """Why a function does nothing (its config section is absent): one log line per cold start, not one
    per event (one instance per cold start, runbook/roots); the IdleInvocations metric counts every one."""

    def __init__(self) -> None:
        self._told = False

    def __call__(self, reason: str) -> None:
        if not self._told:
            self._told = True
            logger.warning("nothing to do", extra={"reason": reason})
        metrics.add_metric(name="IdleInvocations", unit=MetricUnit.Count, value=1)
