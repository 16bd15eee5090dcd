"""The Statuspage sync's items in the state table: one per SEV1/SEV2 alert (open, or a tombstone once
resolved, so that a firing delivered after its resolve cannot reopen it) under one partition key, and
the owned incident, written conditionally on the version read."""

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook.adapters.dynamodb_writes import conditional_check_failed, put_if_newer
from runbook.models.status_state import OpenAlert, OwnedIncident

ALERTS_PK = "statuspage#alerts"
INCIDENT_KEY = {"pk": {"S": "statuspage#incident"}, "sk": {"S": "current"}}
TOMBSTONE_TTL_S = 2 * 86400
MAX_ALERT_PAGES = 20  # 20 pages of up to 1 MB: far more open alerts than a page has components


class StaleIncidentError(Exception):
    """Another invocation wrote the incident record since it was read."""


class StatusState:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def record_alert(self, key: str, observed_at: datetime, alert: OpenAlert | None) -> bool:
        """`alert` None: resolved. False when newer news of this alert is already recorded."""
        item: dict[str, Any] = {"pk": {"S": ALERTS_PK}, "sk": {"S": key}, "open": {"BOOL": alert is not None}}
        if alert is None:
            item["expiration"] = {"N": str(int(time.time()) + TOMBSTONE_TTL_S)}
        else:
            item["alert"] = {"S": alert.model_dump_json()}
        return put_if_newer(self._client, self._table, item, observed_at)

    def open_alerts(self) -> list[OpenAlert]:
        return [
            OpenAlert.model_validate_json(item["alert"]["S"])
            for item in self._alert_items()
            if item["open"]["BOOL"]
        ]

    def incident(self) -> OwnedIncident | None:
        item = self._client.get_item(TableName=self._table, Key=INCIDENT_KEY, ConsistentRead=True).get("Item")
        if not item:
            return None
        record = OwnedIncident.model_validate_json(item["record"]["S"])
        return record.model_copy(update={"version": int(item["version"]["N"])})

    def save_incident(self, record: OwnedIncident) -> OwnedIncident:
        saved = record.model_copy(update={"version": record.version + 1})
        condition, values = "attribute_not_exists(pk)", {}
        if record.version:
            condition, values = "version = :v", {":v": {"N": str(record.version)}}
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **INCIDENT_KEY,
                    "version": {"N": str(saved.version)},
                    "record": {"S": saved.model_dump_json(exclude={"version"})},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as error:
            if conditional_check_failed(error):
                raise StaleIncidentError(record.incident_id) from None
            raise
        return saved

    def clear_incident(self, record: OwnedIncident) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=INCIDENT_KEY,
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": {"N": str(record.version)}},
            )
        except ClientError as error:
            if conditional_check_failed(error):
                raise StaleIncidentError(record.incident_id) from None
            raise

    def _alert_items(self) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": ALERTS_PK}},
            "ConsistentRead": True,
        }
        for _ in range(MAX_ALERT_PAGES):
            response = self._client.query(**request)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
