"""HealthProbeFunction: every minute, run the runbook's health checks; also takes heartbeat reports."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from runbook.observability import logger, metrics, tracer
from runbook.roots.health_probe import health_probe_dependencies
from runbook.services.probe_events import handle_probe_event


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget_s = context.get_remaining_time_in_millis() / 1000
    outcome = handle_probe_event(event, health_probe_dependencies(), budget_s)
    return outcome.model_dump(mode="json")
