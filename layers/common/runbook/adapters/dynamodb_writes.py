"""Conditional DynamoDB writes the state table's users share."""

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError


def conditional_check_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def put_if_newer(client: Any, table: str, item: dict[str, Any], observed_at: datetime) -> bool:
    """Put `item` with `at` = observed_at (ms) unless the stored one is newer: news delivered out of
    order never overwrites newer news. False when it was older."""
    at = str(int(observed_at.timestamp() * 1000))
    try:
        client.put_item(
            TableName=table,
            Item={**item, "at": {"N": at}},
            ConditionExpression="attribute_not_exists(pk) OR #at <= :at",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={":at": {"N": at}},
        )
    except ClientError as error:
        if conditional_check_failed(error):
            return False
        raise
    return True
