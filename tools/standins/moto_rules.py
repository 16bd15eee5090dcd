"""moto made to behave as AWS does where the project depends on it and moto does not (SQS's character
rules, DynamoDB's transactions), and a count of the DynamoDB calls a piece of code makes. Shared by the
tests, the benchmarks and the sandbox; applied as context managers around moto (mock_aws, the server)."""

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from botocore.client import BaseClient
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.sqs.exceptions import SQSException
from moto.sqs.models import SQSBackend

# SendMessage's documented rule, which moto does not enforce: "The following Unicode characters are
# allowed: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF. Any characters not
# included in this list will be rejected." The same holds for String message attributes.
SQS_ALLOWED = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
SQS_INVALID_CHARACTERS = (
    "Invalid binary character '#x0' was found in the message body, the set of allowed characters is "
    "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
)


def _refuse_what_sqs_refuses(body: str, attributes: dict[str, Any] | None) -> None:
    values = (attributes or {}).values()
    texts = [body, *(a.get("StringValue") or a.get("string_value") or "" for a in values)]
    if not all(SQS_ALLOWED.fullmatch(text) for text in texts):
        raise SQSException("InvalidMessageContents", SQS_INVALID_CHARACTERS)


@contextmanager
def sqs_character_rules() -> Iterator[None]:
    """moto's SQS refuses, as SQS does, message bodies and attributes with characters SQS does not take."""
    send = SQSBackend.send_message

    def checked(self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        attributes = kwargs.get("message_attributes", args[0] if args else None)
        _refuse_what_sqs_refuses(message_body, attributes)
        return send(self, queue_name, message_body, *args, **kwargs)

    SQSBackend.send_message = checked  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQSBackend.send_message = send  # type: ignore[method-assign]


class _TablesUncopied:
    """`copy` for moto's DynamoDB models while a checked transaction is written: tables not copied."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


@contextmanager
def dynamodb_transactions_as_dynamodb() -> Iterator[None]:
    """moto's TransactWriteItems as DynamoDB's: every condition is checked on the state before the
    transaction (moto checks each after writing the items before it), a cancelled transaction writes
    nothing, and no table is copied for that (moto deep-copies every table a transaction touches, so
    a transaction costs in proportion to the table's size, which DynamoDB's does not)."""
    original = DynamoDBBackend.transact_write_items

    def checked(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        errors: list[Any] = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            key = op.get("Key") or {
                name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
            }
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            expression = condition and get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if expression and not expression.expr(current):
                wanted = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                old = current.to_json()["Attributes"] if wanted and current is not None else None
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
            else:
                errors.append((None, None, None))
        if any(code for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        # Every condition held on the state before: the writes need not check them again (moto would,
        # twice per item, each time parsing the expression anew).
        unconditional = [
            {kind: {k: v for k, v in op.items() if k != "ConditionExpression"}}
            for entry in transact_items
            for kind, op in entry.items()
        ]
        with patch.object(dynamodb_models, "copy", _TablesUncopied):
            original(self, unconditional)

    DynamoDBBackend.transact_write_items = checked  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]


class DynamoDBCalls:
    """Counts the calls every boto3 DynamoDB client makes while it is entered (a handler builds its own
    clients at cold start, so the count is taken where every client passes)."""

    def __init__(self) -> None:
        self.count = 0
        self._original: Any = None

    def __enter__(self) -> "DynamoDBCalls":
        original = self._original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private

        def counted(client: Any, operation: str, params: Any) -> Any:
            if client.meta.service_model.service_name == "dynamodb":
                self.count += 1
            return original(client, operation, params)

        setattr(BaseClient, "_make_api_call", counted)  # noqa: B010 - every client's calls
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(BaseClient, "_make_api_call", self._original)  # noqa: B010
