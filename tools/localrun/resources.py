"""Create on a local AWS (a moto server) the resources of a template that functions talk to: DynamoDB
tables (key schema, indexes, TTL), SNS topics and SQS queues, as `sam deploy` would, so that
`runbook-local invoke` and the sandbox run against what template.yaml declares, not a hand-made copy.

Each is named `<stack>-<LogicalId>` unless the template names it. Creating again what exists already
(the same moto server, a second run) keeps what is there. Anything else the template declares
(roles, alarms, keys, schedules) is not needed to run a function locally and is left out.
"""

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localrun.intrinsics import Resolver, Unresolved

TABLE, TOPIC, QUEUE = "AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::SQS::Queue"
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


@dataclass(frozen=True)
class Created:
    """A resource as a deployed stack would know it: what `!Ref` gives, and the attributes of `!GetAtt`."""

    logical_id: str
    type: str
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        kind = {TABLE: "DynamoDB table", TOPIC: "SNS topic", QUEUE: "SQS queue"}[self.type]
        return f"{self.logical_id} ({kind} {self.ref})"


def _known(properties: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: properties[k] for k in keys if k in properties and not isinstance(properties[k], Unresolved)}


def _table(client: Any, logical_id: str, properties: Mapping[str, Any], name: str) -> Created:
    with contextlib.suppress(client.exceptions.ResourceInUseException):  # an earlier run made it
        client.create_table(
            TableName=name,
            BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"),
            **_known(properties, _TABLE_KEYS),
        )
    ttl = properties.get("TimeToLiveSpecification")
    if isinstance(ttl, dict) and ttl.get("Enabled"):
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") != "ENABLED":
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    return Created(logical_id, TABLE, name, {"Arn": arn})


def _topic(client: Any, logical_id: str, properties: Mapping[str, Any], name: str) -> Created:
    fifo = str(properties.get("FifoTopic", "false")).lower() == "true"
    attributes = {"FifoTopic": "true"} if fifo else {}
    arn = client.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return Created(logical_id, TOPIC, arn, {"TopicArn": arn, "TopicName": name})


def _queue(client: Any, logical_id: str, properties: Mapping[str, Any], name: str) -> Created:
    attributes = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in properties.items()}
    attributes = {k: v for k, v in attributes.items() if k in _QUEUE_ATTRIBUTES}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Created(logical_id, QUEUE, url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


# resource type -> (boto3 service, the property that names it, how to create it)
_CREATORS: dict[str, tuple[str, str, Callable[[Any, str, Mapping[str, Any], str], Created]]] = {
    TABLE: ("dynamodb", "TableName", _table),
    TOPIC: ("sns", "TopicName", _topic),
    QUEUE: ("sqs", "QueueName", _queue),
}


def create_resources(
    template: Mapping[str, Any], resolver: Resolver, client: Callable[[str], Any], stack: str
) -> dict[str, Created]:
    """Create the template's tables, topics and queues with client(service); logical ID -> Created."""
    created: dict[str, Created] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") not in _CREATORS:
            continue
        service, name_property, create = _CREATORS[resource["Type"]]
        properties = resolver.resolve(resource.get("Properties") or {})
        name = properties.get(name_property)
        if not isinstance(name, str):
            fifo = str(properties.get("FifoQueue", properties.get("FifoTopic", "false"))).lower() == "true"
            name = f"{stack}-{logical_id}" + (".fifo" if fifo else "")
        created[logical_id] = create(client(service), logical_id, properties, name)
    return created
