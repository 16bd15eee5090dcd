"""Per-check state and heartbeat reports in the DynamoDB state table (pk/sk, one item per check).

Writes are conditional on the version that was read, so two overlapping runs cannot corrupt a streak:
the loser re-reads and applies its result again.
"""

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook.adapters.dynamodb_writes import conditional_check_failed
from runbook.models.state import CheckState, HeartbeatRecord

BATCH_GET_LIMIT = 100  # DynamoDB's own limit per BatchGetItem
MAX_UNPROCESSED_ROUNDS = 5  # bounded retry of throttled keys


class StaleStateError(Exception):
    """Someone else wrote the item since it was read."""


def _check_key(name: str) -> dict[str, Any]:
    return {"pk": {"S": f"check#{name}"}, "sk": {"S": "state"}}


def _down_key(source: str) -> dict[str, Any]:
    return {"pk": {"S": f"down#{source}"}, "sk": {"S": "checks"}}


def _heartbeat_key(name: str) -> dict[str, Any]:
    return {"pk": {"S": f"heartbeat#{name}"}, "sk": {"S": "latest"}}


class StateStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def load_states(self, names: Iterable[str]) -> dict[str, CheckState]:
        items = self._batch_get([_check_key(n) for n in names])
        states = (_state_from_item(item) for item in items)
        return {state.check: state for state in states}

    def get_state(self, name: str) -> CheckState:
        item = self._client.get_item(TableName=self._table, Key=_check_key(name), ConsistentRead=True).get(
            "Item"
        )
        return _state_from_item(item) if item else CheckState(check=name)

    def save_state(self, state: CheckState) -> CheckState:
        """Write `state` if the stored version is the one it was read at; returns it with the new version."""
        saved = state.model_copy(update={"version": state.version + 1})
        condition = "attribute_not_exists(pk)" if state.version == 0 else "version = :expected"
        values = {":expected": {"N": str(state.version)}} if state.version else {}
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_check_key(state.check),
                    "version": {"N": str(saved.version)},
                    "state": {"S": saved.model_dump_json(exclude={"version"})},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as error:
            if conditional_check_failed(error):
                raise StaleStateError(state.check) from None
            raise
        return saved

    def down_checks(self, source: str) -> set[str]:
        """The checks of `source` that are DOWN: those whose outage a removed check would leave open."""
        item = self._client.get_item(TableName=self._table, Key=_down_key(source), ConsistentRead=True).get(
            "Item"
        )
        return set(item["checks"]["SS"]) if item and "checks" in item else set()

    def mark_down(self, source: str, check: str, down: bool) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_down_key(source),
            UpdateExpression=f"{'ADD' if down else 'DELETE'} checks :c",
            ExpressionAttributeValues={":c": {"SS": [check]}},
        )

    def load_heartbeats(self, names: Iterable[str]) -> dict[str, HeartbeatRecord]:
        records = (_heartbeat_from_item(item) for item in self._batch_get([_heartbeat_key(n) for n in names]))
        return {record.check: record for record in records}

    def save_heartbeat(self, check: str, status: str, reported_at: datetime, summary: str) -> bool:
        """Record a report unless a newer one is already stored (reports may arrive out of order).
        Returns False when the report was older than what is stored."""
        at = reported_at.isoformat()
        sets = "#status = :status, reported_at = :at, summary = :summary"
        if status == "pass":
            sets += ", last_pass_at = :at"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_heartbeat_key(check),
                UpdateExpression=f"SET {sets}",
                ConditionExpression="attribute_not_exists(reported_at) OR reported_at < :at",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": status},
                    ":at": {"S": at},
                    ":summary": {"S": summary},
                },
            )
            return True
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
        if status == "pass":  # late, but still the newest pass we know of
            self._raise_last_pass(check, at)
        return False

    def _raise_last_pass(self, check: str, at: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_heartbeat_key(check),
                UpdateExpression="SET last_pass_at = :at",
                ConditionExpression="attribute_not_exists(last_pass_at) OR last_pass_at < :at",
                ExpressionAttributeValues={":at": {"S": at}},
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            for round_ in range(MAX_UNPROCESSED_ROUNDS):
                response = self._client.batch_get_item(RequestItems=request)
                items.extend(response.get("Responses", {}).get(self._table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05 * 2**round_)  # throttled: back off before asking for the rest
            else:
                raise RuntimeError(f"DynamoDB kept {len(request[self._table]['Keys'])} keys unprocessed")
        return items


def _state_from_item(item: dict[str, Any]) -> CheckState:
    state = CheckState.model_validate_json(item["state"]["S"])
    return state.model_copy(update={"version": int(item["version"]["N"])})


def _heartbeat_from_item(item: dict[str, Any]) -> HeartbeatRecord:
    return HeartbeatRecord(
        check=item["pk"]["S"].removeprefix("heartbeat#"),
        status=item["status"]["S"],
        reported_at=datetime.fromisoformat(item["reported_at"]["S"]),
        summary=item.get("summary", {}).get("S", ""),
        last_pass_at=datetime.fromisoformat(item["last_pass_at"]["S"]) if "last_pass_at" in item else None,
    )
