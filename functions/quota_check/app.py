"""QuotaCheckFunction: every 5 minutes, each integration's /status answers 2xx and its quota lasts."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from runbook.observability import logger, metrics, tracer
from runbook.roots.quota_check import quota_check_dependencies
from runbook.services.quota_check import handle_quota_event


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget_s = context.get_remaining_time_in_millis() / 1000
    outcome = handle_quota_event(event, quota_check_dependencies(), budget_s)
    return outcome.model_dump(mode="json")
