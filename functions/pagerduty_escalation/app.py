"""PagerDutyEscalationFunction: pages on-call for the alerts on the AlertsTopic (Events API v2) and,
every minute, escalates incidents nobody acknowledged within the runbook's deadline (REST API)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from runbook.observability import logger, metrics, tracer
from runbook.roots.pagerduty import pagerduty_dependencies
from runbook.services.pagerduty_function import handle_pagerduty_event

DEADLINE_MARGIN_S = 3.0  # kept back from Lambda's deadline to log, count and return


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget_s = context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_S
    outcome = handle_pagerduty_event(event, pagerduty_dependencies(), budget_s)
    return outcome.model_dump(mode="json")
