"""Once per delivery: Powertools Idempotency on the state table, keyed by the delivery's id (the SNS
message id), so that a message SNS delivers twice never pages twice.

The record also holds a digest of what the delivery said (its alerts). A different message that
reuses an id (a producer's bug, a hand-made redrive) is not answered with the first one's result,
which would drop it: the mismatch is logged and the message is processed once under its id and digest.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from runbook.adapters.intake import Delivery
from runbook.observability import logger

RECORD_TTL_S = 24 * 3600  # SNS redelivers within minutes; a day covers a redrive from the DLQ too


IDEMPOTENCY_CONFIG = IdempotencyConfig(
    event_key_jmespath="delivery_id",
    payload_validation_jmespath="digest",
    expires_after_seconds=RECORD_TTL_S,
    raise_on_no_idempotency_key=True,
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

        def once_per_message(delivery: Delivery) -> dict[str, Any]:
            digest = _digest(delivery)
            try:
                return guarded(key={"delivery_id": delivery.delivery_id, "digest": digest}, delivery=delivery)
            except IdempotencyValidationError:
                logger.warning(
                    "delivery id reused by a different message: processed as a message of its own",
                    extra={"delivery_id": delivery.delivery_id, "digest": digest},
                )
            own_id = f"{delivery.delivery_id}#{digest}"
            return guarded(key={"delivery_id": own_id, "digest": digest}, delivery=delivery)

        return once_per_message

    return wrap


def _digest(delivery: Delivery) -> str:
    """The same for a redelivery of one message, different for another message."""
    alerts = [alert.model_dump(mode="json") for alert in delivery.alerts]
    text = json.dumps([delivery.format, alerts], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
