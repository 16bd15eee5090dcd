"""StatuspageUpdateFunction: keeps the customer status page true during SEV1/SEV2 incidents (from the
alerts on the AlertsTopic) and, every minute, resolves after the quiet period and reminds
#incident-room to post an update every 15 minutes."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from runbook.observability import logger, metrics, tracer
from runbook.roots.statuspage import statuspage_dependencies
from runbook.services.statuspage_function import handle_statuspage_event

DEADLINE_MARGIN_S = 3.0  # kept back from Lambda's deadline to log, count and return


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget_s = context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_S
    summary = handle_statuspage_event(event, statuspage_dependencies(), budget_s)
    return summary.model_dump(mode="json")
