"""What paging remembers in the state table: which alerts keep each PagerDuty alert open, the events
sent per routing key over PagerDuty's rolling minute, the escalations already made (one item per
incident and level), and the firing alerts a muting maintenance window holds back (one item per
alert, in one partition that the minute sweep reads).

Every write is a single conditional or atomic DynamoDB update, so concurrent invocations (one per SNS
message) agree without locks.
"""

import random
import re
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
SLOT_ATTEMPTS = 3  # writes of an admission when the slots it tries are taken meanwhile
CONFLICT_ATTEMPTS = 3  # transactions cancelled by others on the same items, before writing one by one
UNDONE = "undone:"  # marks the news of a delivery whose page was not sent: its retry is no duplicate
_SLOT = re.compile(r"s\d+")
MEMBERSHIP_ATTEMPTS = 3  # a resolve re-tries when the members changed between its two conditions
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


@dataclass(frozen=True)
class News:
    """What one message said of one alert: its time orders the news of the alert, its delivery tells a
    redelivery (a duplicate) from another message."""

    member: str  # the alert's key
    at: int  # observed_at, ms
    delivery: str  # the delivery's id (the SNS message id, ...)


@dataclass(frozen=True)
class Budget:
    """An event's place in its routing key's rolling minute: one of `slots` (triggers_per_minute)."""

    key: str  # a hash of the routing key, never the key itself
    event_id: str  # hex: the same for a retry of the same event
    slots: int


@dataclass(frozen=True)
class Admission:
    """`send`, `joined`, `over_budget`, `kept_open`, `not_member`, `stale` or `duplicate`; and whether
    the message reused the delivery id of the alert's previous news (another message, handled as one)."""

    outcome: str
    reused_id: bool = False


@dataclass(frozen=True)
class _Admitted:
    failed: dict[str, Any] | None  # the alert's item as it was, when its condition failed
    refused: bool  # no slot free (nothing written for a trigger; uncounted otherwise)


@dataclass(frozen=True)
class _Failed:
    primary: dict[str, Any] | None
    slot: dict[str, Any] | None


class MembershipChangingError(RuntimeError):
    """A PagerDuty alert's members kept changing under a resolve: the delivery is retried."""


class PagingState:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # --- PagerDuty alerts: who keeps each open, the newest news of every member, the budget -----------
    # One item per PagerDuty alert (dedup key) holds its members, `opener` (the member whose trigger was
    # sent or is being sent) and, per member, the newest news handled: `at|<member>` (observed_at, ms)
    # and `dl|<member>` (the delivery, e.g. the SNS message id).
    # The news is the ordering (a firing delivered after its resolve is stale) and the idempotency (a
    # redelivery is a duplicate), in the same conditional write that makes the alert a member or takes
    # it out. That write and the event's slot in the budget are one transaction: the trigger of a new
    # alert and the resolve of an open one cost one DynamoDB call while the minute is quiet, two when
    # the slot the event hashed to is taken (the cancellation returns the budget, a free slot is tried).

    def admit_trigger(
        self, dedup_key: str, news: News, budget: Budget, *, service: str, sev: str, now: datetime
    ) -> Admission:
        """A firing: `send` (it is now a member and its event is counted), `joined` (another member's
        trigger went out: it is a member, nothing to send), `over_budget` (nothing written: fold it),
        `stale` or `duplicate`."""
        expiration = {":e": {"N": str(int(time.time()) + OPEN_ALERT_TTL_S)}}
        opened = {**expiration, ":s": {"S": service}, ":v": {"S": sev}}
        reused = False
        for newer in (_FRESH, _NEWER):
            trigger = self._news_update(
                dedup_key,
                news,
                f"SET {_SET_NEWS}, service = :s, sev = :v, expiration = :e, "
                "opener = if_not_exists(opener, :member) ADD members :m",
                f"({newer}) AND {_SENDS}",
                opened,
            )
            admitted = self._admit(trigger, budget, now, needed=True)
            if admitted.refused:
                return Admission("over_budget", reused)
            if admitted.failed is None:
                return Admission("send", reused)
            verdict = _not_newer(news, admitted.failed)
            if verdict == "reused":
                reused = True
                continue  # again, without the guard that caught it
            if verdict != "newer":
                return Admission(verdict, reused)
            # Newer news, and another member's trigger went out (or is going out): this one joins it.
            join = self._news_update(
                dedup_key, news, f"SET {_SET_NEWS}, expiration = :e ADD members :m", _NEWER, expiration
            )
            failed = self._write(join, None)
            return Admission("joined" if failed is None else _not_newer(news, failed.primary or {}), reused)
        raise AssertionError("unreachable: the second pass has no guard for a reused id")

    def admit_resolve(self, dedup_key: str, news: News, budget: Budget, now: datetime) -> Admission:
        """A resolve: `send` (it was the last member: the PagerDuty alert is to be resolved; its event is
        counted when a slot is free, never held back), `kept_open` (others still fire), `not_member`
        (it kept nothing open here: never paged, held, folded into the storm alert; its news is
        recorded), `stale` or `duplicate`."""
        reused = False
        newer = _FRESH
        for _ in range(MEMBERSHIP_ATTEMPTS + 1):  # the members may change between these writes
            last = self._news_update(
                dedup_key,
                news,
                f"SET {_SET_NEWS} DELETE members :m REMOVE opener",
                f"({newer}) AND contains(members, :member) AND size(members) = :one",
                {":one": _ONE},
            )
            admitted = self._admit(last, budget, now, needed=False)
            if admitted.failed is None:
                return Admission("send", reused)
            verdict = _not_newer(news, admitted.failed)
            if verdict == "reused" and not reused:
                reused, newer = True, _NEWER
                continue
            if verdict not in ("newer", "reused"):
                return Admission(verdict, reused)
            member = news.member in admitted.failed.get("members", {}).get("SS", [])
            rest = self._news_update(
                dedup_key,
                news,
                f"SET {_SET_NEWS} DELETE members :m" if member else f"SET {_SET_NEWS}",
                f"({_NEWER}) AND contains(members, :member) AND size(members) > :one" if member else _NEWER,
                {":one": _ONE} if member else {},
            )
            failed = self._write(rest, None)
            if failed is None:
                return Admission("kept_open" if member else "not_member", reused)
            verdict = _not_newer(news, failed.primary or {})
            if verdict not in ("newer", "reused"):
                return Admission(verdict, reused)
        raise MembershipChangingError(f"{dedup_key}: its members kept changing; the resolve is retried")

    def undo_trigger(self, dedup_key: str, news: News) -> None:
        """The trigger was not sent: the member leaves and the PagerDuty alert no longer counts as
        open. The news stays, marked undone, so that Lambda's retry of the delivery is no duplicate."""
        self._undo(dedup_key, news, "DELETE members :m REMOVE opener")

    def undo_resolve(self, dedup_key: str, news: News) -> None:
        """The resolve was not sent: the member is open again, for the retry."""
        self._undo(dedup_key, news, "ADD members :m", opener=True)

    def record_news(self, dedup_key: str, news: News) -> str:
        """Only the news (a held firing): newer, stale or duplicate."""
        expiration = {":e": {"N": str(int(time.time()) + OPEN_ALERT_TTL_S)}}
        failed = self._write(
            self._news_update(dedup_key, news, f"SET {_SET_NEWS}, expiration = :e", _NEWER, expiration), None
        )
        return "newer" if failed is None else _not_newer(news, failed.primary or {})

    def latest_version(self, dedup_key: str, member: str) -> int | None:
        """observed_at (ms) of the newest news of `member` that paging handled."""
        key = _open_key(dedup_key)
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        value = (item or {}).get(f"at|{member}")
        return int(value["N"]) if value else None

    def count_event(self, budget: Budget, now: datetime) -> bool:
        """Count an event that is sent in any case (the storm alert), when a slot is free."""
        return not self._admit(None, budget, now, needed=False).refused

    def _admit(
        self, primary: dict[str, Any] | None, budget: Budget, now: datetime, *, needed: bool
    ) -> _Admitted:
        """`primary` and a slot of the budget, written together. The slot tried first is the one the
        event's id hashes to; when it is taken, the budget as the cancellation returned it names a free
        slot (or the one this event already holds: a retry counts once). With no slot free, a trigger
        (`needed`) is refused and nothing is written; anything else is written uncounted."""
        cutoff = _ms(now) - BUDGET_WINDOW_S * 1000
        slot: int | None = int(budget.event_id[:8], 16) % budget.slots
        for _ in range(SLOT_ATTEMPTS):
            failed = self._write(
                primary, None if slot is None else _slot_update(self._table, budget, slot, now, cutoff)
            )
            if failed is None:
                return _Admitted(None, False)
            if failed.primary is not None:
                return _Admitted(failed.primary, False)
            held, free = _slots_of(failed.slot or {}, budget, cutoff)
            if held or (not free and not needed):
                if primary is None:
                    return _Admitted(None, not held)
                slot = None  # counted already (held), or sent uncounted
            elif not free:
                return _Admitted(None, True)
            else:
                slot = free[int(budget.event_id[8:16], 16) % len(free)]
        return _Admitted(None, needed)  # contended beyond SLOT_ATTEMPTS: a trigger waits, as if full

    def _write(self, primary: dict[str, Any] | None, slot: dict[str, Any] | None) -> _Failed | None:
        """One UpdateItem, or both in one transaction. None when written; otherwise the items as they
        were where a condition failed. Transactions that keep conflicting with others on the same
        items (a storm on one budget) are written one after the other instead: the slot first, so
        that a refused slot writes nothing, and a slot taken for a write that then fails only counts
        an event too many."""
        if primary is None or slot is None:
            update = primary or slot
            assert update is not None
            try:
                self._client.update_item(**update)
            except ClientError as error:
                if conditional_check_failed(error):
                    item = _old_item(error)
                    return _Failed(item, None) if update is primary else _Failed(None, item)
                raise
            return None
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=[{"Update": primary}, {"Update": slot}])
            except ClientError as error:
                reasons = _cancellation_reasons(error)
                codes = [reason.get("Code") for reason in reasons]
                if "TransactionConflict" in codes:
                    time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # noqa: S311 - jitter
                    continue
                if "ConditionalCheckFailed" not in codes:
                    raise
                items = [
                    r.get("Item") or {} if r.get("Code") == "ConditionalCheckFailed" else None
                    for r in reasons
                ]
                return _Failed(items[0], items[1])
            return None
        return self._write(None, slot) or self._write(primary, None)

    def _news_update(
        self, dedup_key: str, news: News, expression: str, condition: str, extra: dict[str, Any]
    ) -> dict[str, Any]:
        """The UpdateItem of a PagerDuty alert's item that records `news` (and what `expression` adds)."""
        text = f"{expression} {condition}"
        values = {**_news_values(news), ":m": {"SS": [news.member]}, ":member": {"S": news.member}, **extra}
        return {
            "TableName": self._table,
            "Key": _open_key(dedup_key),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {k: v for k, v in _news_names(news).items() if k in text},
            "ExpressionAttributeValues": {k: v for k, v in values.items() if re.search(rf"{k}\b", text)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _undo(self, dedup_key: str, news: News, membership: str, opener: bool = False) -> None:
        opened = ", opener = if_not_exists(opener, :member)" if opener else ""
        update = {
            "TableName": self._table,
            "Key": _open_key(dedup_key),
            "UpdateExpression": f"SET #dl = :undone{opened} {membership}",
            "ConditionExpression": "#dl = :dl",  # still this delivery's news: newer news stays as it is
            "ExpressionAttributeNames": {"#dl": _news_names(news)["#dl"]},
            "ExpressionAttributeValues": {
                ":dl": {"S": news.delivery},
                ":undone": {"S": UNDONE + news.delivery},
                ":m": {"SS": [news.member]},
                **({":member": {"S": news.member}} if opener else {}),
            },
        }
        self._write(update, None)  # a failed condition: newer news came meanwhile, nothing to undo

    # --- the storm alert: the alerts folded into it --------------------------------------------------

    def add_member(self, dedup_key: str, member: str, *, service: str, sev: str) -> tuple[set[str], bool]:
        """Record that `member` keeps the PagerDuty alert open; returns the members before, and whether
        a trigger of that PagerDuty alert was sent or is being sent (`opener`)."""
        response = self._client.update_item(
            TableName=self._table,
            Key=_open_key(dedup_key),
            UpdateExpression=(
                "ADD members :m SET service = :s, sev = :v, expiration = :e, "
                "opener = if_not_exists(opener, :member)"
            ),
            ExpressionAttributeValues={
                ":m": {"SS": [member]},
                ":s": {"S": service},
                ":v": {"S": sev},
                ":e": {"N": str(int(time.time()) + OPEN_ALERT_TTL_S)},
                ":member": {"S": member},
            },
            ReturnValues="ALL_OLD",
        )
        old = response.get("Attributes", {})
        return set(old.get("members", {}).get("SS", [])), "opener" in old

    def remove_member(self, dedup_key: str, member: str) -> tuple[bool, int]:
        """(whether `member` was open, how many members are still open). The last one takes
        opener with it, so that the next trigger is sent again."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_open_key(dedup_key),
                UpdateExpression="DELETE members :m",
                ConditionExpression="contains(members, :member)",  # never create an item for a resolve
                ExpressionAttributeValues={":m": {"SS": [member]}, ":member": {"S": member}},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False, 0
            raise
        still = len(response.get("Attributes", {}).get("members", {}).get("SS", []))
        if not still:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_open_key(dedup_key),
                    UpdateExpression="REMOVE opener",
                    ConditionExpression="attribute_not_exists(members)",  # a member that came meanwhile
                )
            except ClientError as error:
                if not conditional_check_failed(error):
                    raise
        return True, still

    def sev_of(self, dedup_key: str) -> str | None:
        item = self._client.get_item(TableName=self._table, Key=_open_key(dedup_key)).get("Item")
        return item["sev"]["S"] if item and "sev" in item else None

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


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    """Per item of a cancelled transaction: its Code and, for a failed condition, the item as it was."""
    reasons: Any = error.response.get("CancellationReasons")
    return [reason for reason in reasons if isinstance(reason, dict)] if isinstance(reasons, list) else []


def _old_item(error: ClientError) -> dict[str, Any]:
    """The item as it was when the condition failed (ReturnValuesOnConditionCheckFailure=ALL_OLD)."""
    item: Any = error.response.get("Item")
    return item if isinstance(item, dict) else {}


def _budget_key(budget_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"pdbudget#{budget_key}"}, "sk": {"S": "slots"}}


def _slot_update(table: str, budget: Budget, slot: int, now: datetime, cutoff: int) -> dict[str, Any]:
    """Take slot `slot` for the event: free, taken more than a minute ago, or already this event's.
    A slot is one string, "<ms, 13 digits>|<event id>": it compares as its time does."""
    return {
        "TableName": table,
        "Key": _budget_key(budget.key),
        "UpdateExpression": "SET #s = :slot, expiration = :e",
        "ConditionExpression": "attribute_not_exists(#s) OR #s < :cutoff OR contains(#s, :id)",
        "ExpressionAttributeNames": {"#s": f"s{slot}"},
        "ExpressionAttributeValues": {
            ":slot": {"S": f"{_ms(now):013d}|{budget.event_id}"},
            ":cutoff": {"S": f"{cutoff:013d}"},
            ":id": {"S": budget.event_id},
            ":e": {"N": str(int(time.time()) + BUDGET_TTL_S)},
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _slots_of(item: dict[str, Any], budget: Budget, cutoff: int) -> tuple[bool, list[int]]:
    """(whether the event already holds a slot of the minute, the slots free)."""
    taken: set[int] = set()
    for name, value in item.items():
        if not _SLOT.fullmatch(name):
            continue
        at, _, event_id = value.get("S", "").partition("|")
        if not at.isdigit() or int(at) < cutoff:
            continue  # more than a minute ago: free
        if event_id == budget.event_id:
            return True, []
        taken.add(int(name[1:]))
    return False, [i for i in range(budget.slots) if i not in taken]


# The newest news of a member, in the item of the PagerDuty alert it belongs to.
_NEWER = "attribute_not_exists(#at) OR #at < :at OR (#at = :at AND #dl <> :dl)"
# The first write also wants the recorded news to come from another delivery: a newer message with the
# same delivery id is another message reusing an id (said, then written without this guard).
_FRESH = "attribute_not_exists(#at) OR (#at <= :at AND #dl <> :dl)"
_SET_NEWS = "#at = :at, #dl = :dl"
# No other member's trigger went out (or is going out): this member's is to be sent.
_SENDS = "(attribute_not_exists(opener) OR opener = :member)"
_ONE = {"N": "1"}


def _news_names(news: News) -> dict[str, str]:
    return {"#at": f"at|{news.member}", "#dl": f"dl|{news.member}"}


def _news_values(news: News) -> dict[str, Any]:
    return {":at": {"N": str(news.at)}, ":dl": {"S": news.delivery}}


def _news_of(news: News, item: dict[str, Any]) -> dict[str, Any]:
    """The member's news attributes in `item` (before a write), by short name: at, dl."""
    names = zip(("at", "dl"), _news_names(news).values(), strict=True)
    return {short: item[name] for short, name in names if name in item}


def _not_newer(news: News, item: dict[str, Any]) -> str:
    """Why a write's condition failed: `stale` (newer news is recorded), `duplicate` (this very news
    is: the same time and delivery), `reused` (newer news, yet the recorded news came with the same
    delivery id: _FRESH's guard), or `newer` (the news held: another part of the condition failed)."""
    stored = _news_of(news, item)
    if "at" not in stored:
        return "newer"
    at, same_delivery = int(stored["at"]["N"]), stored.get("dl", {}).get("S") == news.delivery
    if at > news.at:
        return "stale"
    if same_delivery:
        return "duplicate" if at == news.at else "reused"
    return "newer"


def _escalation_key(incident_id: str, level: int) -> dict[str, Any]:
    return {"pk": {"S": f"pdescalation#{incident_id}"}, "sk": {"S": f"level#{level}"}}
