"""Once per delivery: Powertools Idempotency on the state table, keyed by the delivery's id (the SNS
message id), so that a message SNS delivers twice never pages twice."""

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from runbook.adapters.intake import Delivery

RECORD_TTL_S = 24 * 3600  # SNS redelivers within minutes; a day covers a redrive from the DLQ too


IDEMPOTENCY_CONFIG = IdempotencyConfig(
    event_key_jmespath="delivery_id", expires_after_seconds=RECORD_TTL_S, raise_on_no_idempotency_key=True
)


def register_invocation(context: Any) -> None:
    """An in-progress record then expires with the invocation: a delivery whose invocation was killed
    (timeout) is processed again on Lambda's retry instead of being refused as in progress for a day."""
    IDEMPOTENCY_CONFIG.register_lambda_context(context)


def once_per_delivery(
    client: Any, table_name: str
) -> Callable[[Callable[[Delivery], dict[str, Any]]], Callable[[Delivery], dict[str, Any]]]:
    persistence = DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="idempotency#alert-delivery",
        expiry_attr="expiration",
        boto3_client=client,
    )
    config = IDEMPOTENCY_CONFIG

    def wrap(process: Callable[[Delivery], dict[str, Any]]) -> Callable[[Delivery], dict[str, Any]]:
        def once(key: dict[str, str], delivery: Delivery) -> dict[str, Any]:
            return process(delivery)

        # Powertools' decorator is untyped; applied as a call, its result is typed by the cast below.
        guarded = cast(
            Callable[..., dict[str, Any]],
            idempotent_function(data_keyword_argument="key", persistence_store=persistence, config=config)(
                once
            ),
        )
        return lambda delivery: guarded(key={"delivery_id": delivery.delivery_id}, delivery=delivery)

    return wrap
