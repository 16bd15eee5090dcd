"""What paging remembers in the state table: which alerts keep each PagerDuty alert open, the trigger
budget per routing key and minute, and the escalations already made (one item per incident and level).

Every write is a single conditional or atomic DynamoDB update, so concurrent invocations (one per SNS
message) agree without locks.
"""

import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook.adapters.dynamodb_writes import conditional_check_failed, put_if_newer

OPEN_ALERT_TTL_S = 30 * 86400  # an open PagerDuty alert nobody resolved is forgotten after 30 days
BUDGET_TTL_S = 600
ESCALATION_TTL_S = 7 * 86400


class PagingState:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add_member(self, dedup_key: str, member: str, *, service: str, sev: str) -> tuple[set[str], bool]:
        """Record that `member` keeps the PagerDuty alert open; returns the members before, and whether
        a trigger of that PagerDuty alert was confirmed sent (`mark_opened`)."""
        response = self._client.update_item(
            TableName=self._table,
            Key=_open_key(dedup_key),
            UpdateExpression="ADD members :m SET service = :s, sev = :v, expiration = :e",
            ExpressionAttributeValues={
                ":m": {"SS": [member]},
                ":s": {"S": service},
                ":v": {"S": sev},
                ":e": {"N": str(int(time.time()) + OPEN_ALERT_TTL_S)},
            },
            ReturnValues="ALL_OLD",
        )
        old = response.get("Attributes", {})
        return set(old.get("members", {}).get("SS", [])), "opened" in old

    def mark_opened(self, dedup_key: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_open_key(dedup_key),
            UpdateExpression="SET opened = :t",
            ExpressionAttributeValues={":t": {"BOOL": True}},
        )

    def mark_closed(self, dedup_key: str) -> None:
        """After the resolve was sent; a member that arrived meanwhile keeps it open (and re-triggers)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_open_key(dedup_key),
                UpdateExpression="REMOVE opened",
                ConditionExpression="attribute_not_exists(members)",
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise

    def remove_member(self, dedup_key: str, member: str) -> tuple[bool, int]:
        """(whether `member` was open, how many members are still open)."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_open_key(dedup_key),
                UpdateExpression="DELETE members :m",
                ConditionExpression="attribute_exists(pk)",  # never create an item for a resolve
                ExpressionAttributeValues={":m": {"SS": [member]}},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False, 0
            raise
        before = set(response.get("Attributes", {}).get("members", {}).get("SS", []))
        return member in before, len(before - {member})

    def is_latest(self, member: str, observed_at: datetime) -> bool:
        """Record `observed_at` as the newest news of `member`; False when newer news was already seen
        (a firing delivered after its resolve must not reopen the page)."""
        item = {
            "pk": {"S": f"pdseen#{member}"},
            "sk": {"S": "latest"},
            "expiration": {"N": str(int(time.time()) + OPEN_ALERT_TTL_S)},
        }
        return put_if_newer(self._client, self._table, item, observed_at)

    def sev_of(self, dedup_key: str) -> str | None:
        item = self._client.get_item(TableName=self._table, Key=_open_key(dedup_key)).get("Item")
        return item["sev"]["S"] if item and "sev" in item else None

    def take_trigger(self, service: str, minute: datetime, budget: int) -> bool:
        """One trigger of the routing key's budget for that minute; False when it is spent."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"pdbudget#{service}"}, "sk": {"S": minute.strftime("%Y-%m-%dT%H:%M")}},
                UpdateExpression="ADD used :one SET expiration = :e",
                ConditionExpression="attribute_not_exists(used) OR used < :budget",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":budget": {"N": str(budget)},
                    ":e": {"N": str(int(time.time()) + BUDGET_TTL_S)},
                },
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def claim_escalation(self, incident_id: str, level: int, at: datetime) -> bool:
        """True once per (incident, level): the claim is what makes an escalation happen only once."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_escalation_key(incident_id, level),
                    "at": {"S": at.isoformat()},
                    "expiration": {"N": str(int(time.time()) + ESCALATION_TTL_S)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def release_escalation(self, incident_id: str, level: int) -> None:
        """Undo a claim whose escalation failed, so that the next sweep tries again."""
        self._client.delete_item(TableName=self._table, Key=_escalation_key(incident_id, level))

    def escalated_at(self, incident_id: str, level: int) -> datetime | None:
        item = self._client.get_item(
            TableName=self._table, Key=_escalation_key(incident_id, level), ConsistentRead=True
        ).get("Item")
        return datetime.fromisoformat(item["at"]["S"]) if item else None


def _open_key(dedup_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"pdalert#{dedup_key}"}, "sk": {"S": "members"}}


def _escalation_key(incident_id: str, level: int) -> dict[str, Any]:
    return {"pk": {"S": f"pdescalation#{incident_id}"}, "sk": {"S": f"level#{level}"}}
