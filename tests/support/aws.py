"""moto-backed AWS for integration tests: the state table is created from template.yaml's own
StateTable definition, so the tests cannot drift from what is deployed."""

import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.sqs.exceptions import SQSException
from moto.sqs.models import SQSBackend

from localrun.cfn_yaml import load_template
from runbook.models.alert import Alert

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


def state_table_properties() -> dict[str, Any]:
    template = load_template(ROOT / "template.yaml")
    properties: dict[str, Any] = template["Resources"]["StateTable"]["Properties"]
    return properties


def create_state_table(client: Any, name: str) -> None:
    properties = state_table_properties()
    client.create_table(
        TableName=name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


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


@dataclass
class AwsStack:
    dynamodb: Any
    sns: Any
    sqs: Any
    ssm: Any
    secretsmanager: Any
    table_name: str
    topic_arn: str
    inbox_url: str  # an SQS queue subscribed to the topic: what subscribers would receive

    def published(self) -> list[tuple[Alert, dict[str, str]]]:
        """Drain the subscribed queue: each alert with the message attributes SNS delivered."""
        received: list[tuple[Alert, dict[str, str]]] = []
        for _ in range(100):  # bounded: 10 messages per receive
            messages = self.sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                received.append((Alert.model_validate_json(envelope["Message"]), attributes))
                self.sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])
        return received


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws(), sqs_character_rules(), dynamodb_transactions_as_dynamodb():
        session = boto3.session.Session(region_name=REGION)
        clients: dict[str, Any] = {
            s: session.client(s) for s in ("dynamodb", "sns", "sqs", "ssm", "secretsmanager")
        }
        create_state_table(clients["dynamodb"], "runbook-state")
        topic_arn = clients["sns"].create_topic(Name="runbook-alerts")["TopicArn"]
        inbox_url = clients["sqs"].create_queue(QueueName="alerts-inbox")["QueueUrl"]
        inbox_arn = clients["sqs"].get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        clients["sns"].subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        yield AwsStack(**clients, table_name="runbook-state", topic_arn=topic_arn, inbox_url=inbox_url)
