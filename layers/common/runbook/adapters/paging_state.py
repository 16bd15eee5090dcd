"""What paging remembers in the state table: which alerts keep each PagerDuty alert open, the events
sent per routing key over PagerDuty's rolling minute, the escalations already made (one item per
incident and level), and the firing alerts a muting maintenance window holds back (one item per
alert, in one partition that the minute sweep reads).

Every write is a single conditional or atomic DynamoDB update, so concurrent invocations (one per SNS
message) agree without locks.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from runbook.adapters.dynamodb_writes import conditional_check_failed, put_if_newer

OPEN_ALERT_TTL_S = 30 * 86400  # an open PagerDuty alert nobody resolved is forgotten after 30 days
BUDGET_TTL_S = 600
# PagerDuty's Events API allows about 120 events per routing key over a rolling minute.
BUDGET_WINDOW_S = 60
BUDGET_BUCKET_S = 10
BUDGET_BUCKETS = BUDGET_WINDOW_S // BUDGET_BUCKET_S + 1  # the current, partial one and six full ones
BATCH_GET_ATTEMPTS = 3  # UnprocessedKeys (throttling) are asked for again, a bounded number of times
ESCALATION_TTL_S = 7 * 86400
HELD_PK = "pdheld"
HELD_PAGE_SIZE = 100


@dataclass(frozen=True)
class HeldAlert:
    """A firing alert a muting window holds back: its newest news, and which window until when."""

    member: str
    message: str  # the alert (runbook.alert/v1) as JSON
    window: str
    until: datetime
    version: int  # observed_at in ms: conditional writes act on this version only


class BudgetUnreadableError(RuntimeError):
    """The rolling-minute budget could not be read: the trigger fails (and is retried) rather than guess."""


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

    def spend_event(self, budget_key: str, event_id: str, now: datetime, limit: int | None) -> bool:
        """Count one Events API event of a routing key in PagerDuty's rolling minute, shared by every
        invocation. With `limit` (a trigger) it is counted, and True, only while fewer than `limit`
        events were counted in the last 60 s; without (a resolve, the storm alert) it always is.
        The same `event_id` counts once: a retried invocation does not spend the budget again.

        The minute is kept as 10-second buckets, each a set of event ids; a trigger reads the bucket it
        falls in and the six before (one BatchGetItem: at least the last 60 s, at most 70 s), then adds
        itself to its bucket on condition that the bucket still has room (one UpdateItem). Counting up
        to 70 s errs on the safe side: no rolling 60 s ever holds more than `limit` triggers."""
        current = int(now.timestamp()) // BUDGET_BUCKET_S
        room: int | None = None
        if limit is not None:
            counted = self._budget_buckets(budget_key, current)
            if any(event_id in ids for ids in counted.values()):
                return True  # already counted: a retry of the same event
            room = limit - sum(len(ids) for bucket, ids in counted.items() if bucket != current)
            if room - len(counted.get(current, ())) <= 0:
                return False
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": _budget_key(budget_key, current),
            "UpdateExpression": "ADD ids :id SET expiration = :e",
            "ExpressionAttributeValues": {
                ":id": {"SS": [event_id]},
                ":e": {"N": str(int(time.time()) + BUDGET_TTL_S)},
            },
        }
        if room is not None:
            update["ConditionExpression"] = (
                "attribute_not_exists(ids) OR size(ids) < :room OR contains(ids, :one)"
            )
            update["ExpressionAttributeValues"] |= {":room": {"N": str(room)}, ":one": {"S": event_id}}
        try:
            self._client.update_item(**update)
        except ClientError as error:
            if conditional_check_failed(error):
                return False  # others filled the bucket since it was read
            raise
        return True

    def _budget_buckets(self, budget_key: str, current: int) -> dict[int, set[str]]:
        """The event ids of the bucket `current` and the BUDGET_BUCKETS - 1 before it."""
        first = current - BUDGET_BUCKETS + 1
        pending = [_budget_key(budget_key, bucket) for bucket in range(first, current + 1)]
        found: dict[int, set[str]] = {}
        for _ in range(BATCH_GET_ATTEMPTS):
            response = self._client.batch_get_item(
                RequestItems={self._table: {"Keys": pending, "ConsistentRead": True}}
            )
            for item in response.get("Responses", {}).get(self._table, []):
                found[int(item["sk"]["S"])] = set(item.get("ids", {}).get("SS", []))
            pending = response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if not pending:
                return found
        raise BudgetUnreadableError(f"the trigger budget of {budget_key} could not be read (throttled)")

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

    # --- held alerts (muting maintenance windows) --------------------------------------------------

    def hold(self, member: str, message: str, observed_at: datetime, window: str, until: datetime) -> bool:
        """Remember the alert's newest news while `window` holds it; older news never overwrites newer.
        Kept until OPEN_ALERT_TTL_S after the window ends, should no sweep ever release it."""
        item = {
            **_held_key(member),
            "alert": {"S": message},
            **_held_window(window, until),
        }
        return put_if_newer(self._client, self._table, item, observed_at)

    def held_alerts(self, limit: int) -> tuple[list[HeldAlert], bool]:
        """Up to `limit` held alerts; True when there may be more (the next sweep reads on)."""
        found: list[HeldAlert] = []
        start: dict[str, Any] | None = None
        while len(found) < limit:
            page: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": HELD_PK}},
                "ConsistentRead": True,
                "Limit": min(HELD_PAGE_SIZE, limit - len(found)),
            }
            if start is not None:
                page["ExclusiveStartKey"] = start
            response = self._client.query(**page)
            found += [_held_alert(item) for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if start is None:
                return found, False
        return found, True

    def rehold(self, held: HeldAlert, window: str, until: datetime) -> None:
        """Another window (or a longer one, after a config change) now holds it."""
        moved = _held_window(window, until)
        self._update_held(
            held,
            "SET #window = :window, #until = :until, expiration = :expiration",
            {"#window": "window", "#until": "until"},
            {f":{name}": value for name, value in moved.items()},
        )

    def claim_held(self, held: HeldAlert, now: datetime, lease_s: float) -> bool:
        """True for one sweep: the one that pages it. A sweep that dies mid-release loses its claim after
        `lease_s`, and a later one pages it; newer news (a new version) is claimed afresh."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_held_key(held.member),
                UpdateExpression="SET claimed_until = :until",
                ConditionExpression=(
                    "#at = :at AND (attribute_not_exists(claimed_until) OR claimed_until < :now)"
                ),
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={
                    ":at": {"N": str(held.version)},
                    ":now": {"N": str(now.timestamp())},
                    ":until": {"N": str((now + timedelta(seconds=lease_s)).timestamp())},
                },
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def unclaim_held(self, held: HeldAlert) -> None:
        """The page failed: the next sweep tries again."""
        self._update_held(held, "REMOVE claimed_until", {}, {})

    def clear_held(self, member: str, observed_at: datetime) -> bool:
        """Its resolve: forget what is held of `member` up to `observed_at` (newer news stays held).
        True when something was held."""
        return self._delete_held(member, "#at <= :at", _ms(observed_at))

    def forget_held(self, held: HeldAlert) -> None:
        """Released or superseded: forget this version (a newer one stays held)."""
        self._delete_held(held.member, "#at = :at", held.version)

    def _delete_held(self, member: str, condition: str, at: int) -> bool:
        try:
            response = self._client.delete_item(
                TableName=self._table,
                Key=_held_key(member),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": {"N": str(at)}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return bool(response.get("Attributes"))

    def latest_version(self, member: str) -> int | None:
        """observed_at (ms) of the newest news of `member` that paging handled (`is_latest`)."""
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"pdseen#{member}"}, "sk": {"S": "latest"}},
            ConsistentRead=True,
        ).get("Item")
        return int(item["at"]["N"]) if item and "at" in item else None

    def _update_held(
        self, held: HeldAlert, expression: str, names: dict[str, str], values: dict[str, Any]
    ) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_held_key(held.member),
                UpdateExpression=expression,
                ConditionExpression="#at = :at",
                ExpressionAttributeNames={"#at": "at", **names},
                ExpressionAttributeValues={":at": {"N": str(held.version)}, **values},
            )
        except ClientError as error:
            if not conditional_check_failed(error):  # newer news replaced it: nothing to do
                raise


def _held_key(member: str) -> dict[str, Any]:
    return {"pk": {"S": HELD_PK}, "sk": {"S": member}}


def _held_window(window: str, until: datetime) -> dict[str, Any]:
    return {
        "window": {"S": window},
        "until": {"S": until.isoformat()},
        "expiration": {"N": str(int(until.timestamp()) + OPEN_ALERT_TTL_S)},
    }


def _held_alert(item: dict[str, Any]) -> HeldAlert:
    return HeldAlert(
        member=item["sk"]["S"],
        message=item["alert"]["S"],
        window=item["window"]["S"],
        until=datetime.fromisoformat(item["until"]["S"]),
        version=int(item["at"]["N"]),
    )


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)  # as put_if_newer stores `at`


def _open_key(dedup_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"pdalert#{dedup_key}"}, "sk": {"S": "members"}}


def _budget_key(budget_key: str, bucket: int) -> dict[str, Any]:
    return {"pk": {"S": f"pdbudget#{budget_key}"}, "sk": {"S": str(bucket)}}


def _escalation_key(incident_id: str, level: int) -> dict[str, Any]:
    return {"pk": {"S": f"pdescalation#{incident_id}"}, "sk": {"S": f"level#{level}"}}
