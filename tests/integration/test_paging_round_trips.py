"""How many DynamoDB round trips a page costs, through PagerDutyEscalationFunction's handler: issue 11's
goal is at most 2 on the common paths (the trigger of a new alert, the resolve of an open one) with
idempotency, ordering and the storm budget kept. moto checks a transaction's conditions as DynamoDB does
(standins/moto_rules.py, in the `aws` fixture); DynamoDB's own answer to transactions that collide
(TransactionConflict) is injected at the client, where the real service would give it."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from standins.lambda_runtime import FakeLambdaContext
from standins.moto_rules import DynamoDBCalls
from tests.integration.test_paging_under_faults import runbook_alert, sns_event

ROUTING_KEY = "R0UT1NGKEY0000000000000000000091"
MOST_CALLS = 2  # the goal per alert on the common paths


@pytest.fixture
def handler(aws, pagerduty_function):
    aws.ssm.put_parameter(Name="/runbook/pagerduty/platform", Value=ROUTING_KEY, Type="SecureString")
    handle = pagerduty_function(
        "pagerduty:\n"
        "  services:\n"
        "    platform: {routing_key: {ssm: /runbook/pagerduty/platform}}\n"
        "  default_service: platform\n"
        "  ack: {enabled: false}\n"
    )
    # The cold start (config, the routing key from SSM, the clients) is paid once, not per alert.
    handle(sns_event(runbook_alert("warm-up"), runbook_alert("warm-up", "resolved")), FakeLambdaContext())
    return handle


def actions(pagerduty, dedup_key: str) -> list[str]:
    return [e["event_action"] for e in pagerduty.events if e.get("dedup_key") == dedup_key]


def test_a_new_alerts_trigger_and_its_resolve_take_at_most_two_calls_each(handler, pagerduty):
    with DynamoDBCalls() as trigger_calls:
        handler(sns_event(runbook_alert("api-gateway")), FakeLambdaContext())
    with DynamoDBCalls() as resolve_calls:
        handler(sns_event(runbook_alert("api-gateway", "resolved")), FakeLambdaContext())

    assert actions(pagerduty, "runbook/health-probe/api-gateway") == ["trigger", "resolve"]
    assert 1 <= trigger_calls.count <= MOST_CALLS
    assert 1 <= resolve_calls.count <= MOST_CALLS


def test_a_redelivery_is_answered_within_the_same_calls_and_sends_nothing(handler, pagerduty):
    """Idempotency is the alert's own newest news, not another table's record: Lambda's retry of the
    same SNS delivery costs no extra round trip and pages nobody twice."""
    event = sns_event(runbook_alert("payments-db"), message_id="5f0c1e7a-0000-4000-8000-000000000001")
    handler(event, FakeLambdaContext())
    with DynamoDBCalls() as calls:
        summary = handler(event, FakeLambdaContext())

    assert actions(pagerduty, "runbook/health-probe/payments-db") == ["trigger"]
    assert summary["outcomes"] == {"duplicate": 1}
    assert calls.count <= MOST_CALLS


@contextmanager
def transactions_conflicting() -> Iterator[list[str]]:
    """Every TransactWriteItems is cancelled as DynamoDB cancels one that collides with another
    transaction on the same items; the operations called are listed."""
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - every client's calls
    called: list[str] = []

    def conflicting(client: Any, operation: str, params: Any) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            called.append(operation)
            if operation == "TransactWriteItems":
                reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
                reasons += [{"Code": "None"}] * (len(params["TransactItems"]) - 1)
                response = {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": reasons,
                }
                raise ClientError(response, operation)  # type: ignore[arg-type]
        return original(client, operation, params)

    setattr(BaseClient, "_make_api_call", conflicting)  # noqa: B010
    try:
        yield called
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


def test_transactions_that_keep_conflicting_are_written_one_by_one_and_page_once(aws, handler, pagerduty):
    """A storm on one routing key makes concurrent invocations' transactions collide on its budget item.
    After a bounded number of tries the two writes go one after the other: the page still leaves once,
    its event holds a slot of the rolling minute, and the resolve that follows is sent too."""
    with transactions_conflicting() as called:
        handler(sns_event(runbook_alert("search-api")), FakeLambdaContext())
        handler(sns_event(runbook_alert("search-api", "resolved")), FakeLambdaContext())

    assert actions(pagerduty, "runbook/health-probe/search-api") == ["trigger", "resolve"]
    assert "TransactWriteItems" in called
    assert "UpdateItem" in called  # the fallback
    budgets = [
        item
        for item in aws.dynamodb.scan(TableName=aws.table_name)["Items"]
        if item["pk"]["S"].startswith("pdbudget#")
    ]
    assert len(budgets) == 1
    assert ROUTING_KEY not in str(budgets)  # the budget is named by a hash of the key
    slots = [name for name in budgets[0] if name.startswith("s") and name[1:].isdigit()]
    # warm-up trigger + its resolve, then this alert's trigger and resolve: every event counted once
    assert len(slots) == 4
