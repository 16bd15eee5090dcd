"""Logs and metrics of a probe run in Lambda: one structured log line and one EMF record per check,
and the run's own heartbeat metric (ProbeRun) that the template's alarm watches."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from runbook.observability import logger, metrics
from runbook.services.probe_runner import CheckRun


class LambdaRunReporter:
    def check_result(self, run: CheckRun) -> None:
        result = run.result
        logger.info(
            "check result",
            extra={
                "check": result.check,
                "kind": result.kind,
                "ok": result.ok,
                "outcome": result.outcome.value,
                "reason": result.reason,
                "latency_ms": result.latency_ms,
                "details": result.details,
            },
        )
        if not result.counts:
            return  # skipped: neither a success nor a failure
        # One EMF record per check: its own `check` dimension, both metrics (single_metric holds one).
        record = AmazonCloudWatchEMFProvider()
        record.add_dimension(name="check", value=result.check)
        record.add_metric(name="CheckSuccess", unit=MetricUnit.Count, value=int(result.ok))
        if result.latency_ms is not None:
            record.add_metric(name="CheckLatency", unit=MetricUnit.Milliseconds, value=result.latency_ms)
        record.flush_metrics(raise_on_empty_metrics=True)

    def problem(self, message: str, **fields: Any) -> None:
        logger.warning(message, extra=fields)


def record_probe_run(failed: int) -> None:
    """Emitted only when a run completes, so a prober that stops or crashes sets off the alarm."""
    metrics.add_metric(name="ProbeRun", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ChecksFailing", unit=MetricUnit.Count, value=failed)


def record_rejected_event(reason: str) -> None:
    logger.error("event rejected", extra={"reason": reason})
    metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)


def heartbeat_reported(check: str, accepted: bool, reason: str) -> None:
    logger.info("heartbeat report", extra={"check": check, "accepted": accepted, "reason": reason})
    metrics.add_metric(
        name="HeartbeatAccepted" if accepted else "HeartbeatRejected", unit=MetricUnit.Count, value=1
    )
