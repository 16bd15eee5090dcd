"""`read_event`: which format a Lambda event (or each of its SNS records) is in, read into Deliveries.

Never raises: whatever cannot be read becomes a `Rejected`, and the other records of the event are
still read. As a last guard, an unexpected error while reading one record rejects that record only (its
reason names the exception type, never its message).
"""

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any

from runbook.adapters.intake import alertmanager, cloudwatch
from runbook.adapters.intake.common import (
    MAX_ALERTS,
    MAX_RECORDS,
    Unreadable,
    digest,
    json_type,
    optional_time,
    reason,
    safe_name,
    text_or_none,
)
from runbook.adapters.intake.deliveries import Delivery, Rejected
from runbook.adapters.intake.runbook_alert import is_runbook_alert, read_runbook_alert

EVENTBRIDGE_DETAIL_TYPE = "CloudWatch Alarm State Change"
MAX_GROUP_KEY = 200

Read = list[Delivery | Rejected]


def read_event(event: Any) -> Read:
    if not isinstance(event, dict):
        return [Rejected(None, f"the event is a JSON {json_type(event)}, expected an object", None)]
    if "Records" in event:
        return _read_records(event["Records"])
    return _guarded(None, None, lambda: _read_direct(event))


def _read_direct(event: dict[str, Any]) -> Read:
    if event.get("detail-type") == EVENTBRIDGE_DETAIL_TYPE:
        with _reading("cloudwatch-eventbridge"):
            change = cloudwatch.from_eventbridge(event)
            event_id = text_or_none(event.get("id")) or _alarm_delivery_id(change)
            return [Delivery(event_id, "cloudwatch-eventbridge", [cloudwatch.to_alert(change)])]
    if "alarmData" in event:
        with _reading("cloudwatch-lambda-action"):
            change = cloudwatch.from_lambda_action(event)
            alert = cloudwatch.to_alert(change)
            return [Delivery(_alarm_delivery_id(change), "cloudwatch-lambda-action", [alert])]
    if alertmanager.is_group(event):
        with _reading("alertmanager-webhook"):
            read = alertmanager.read_json_group(event, fallback_time=None)
            return _group_results(_webhook_delivery_id(event), "alertmanager-webhook", read, None)
    raise Unreadable(
        "an event of unknown shape: tried SNS (no Records), EventBridge CloudWatch Alarm State Change"
        f"{_detail_type(event)}, CloudWatch alarm action (no alarmData), Alertmanager webhook (no alerts)"
        f"{_key_names(event)}"
    )


@contextmanager
def _reading(fmt: str) -> Iterator[None]:
    """Names the format in the reason of what could not be read once the format was recognized."""
    try:
        yield
    except Unreadable as exc:
        raise Unreadable(f"{fmt}: {exc.reason}") from None


def _read_records(records: object) -> Read:
    if not isinstance(records, list):
        return [Rejected(None, f"Records is a JSON {json_type(records)}, expected an array", None)]
    if not records:
        return [Rejected(None, "Records is empty: an SNS event with no record", None)]
    results: Read = []
    for index, record in enumerate(records):
        message_id, body = _sns_id_and_body(record)
        if index < MAX_RECORDS:
            results.extend(_guarded(message_id, body, partial(_read_record, index, record)))
        else:
            beyond = f"Records[{index}]: beyond the limit of {MAX_RECORDS} records per event, not read"
            results.append(Rejected(message_id, beyond, body))
    return results


def _sns_id_and_body(record: object) -> tuple[str | None, str | None]:
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict):
        return None, None
    message = sns.get("Message")
    return text_or_none(sns.get("MessageId")), message if isinstance(message, str) else None


def _read_record(index: int, record: object) -> Read:
    where = f"Records[{index}]"
    if not isinstance(record, dict):
        raise Unreadable(f"{where} is a JSON {json_type(record)}, expected an SNS record")
    sns = record.get("Sns")
    if not isinstance(sns, dict):
        source = record.get("EventSource", record.get("eventSource"))
        found = f" (EventSource {safe_name(source)})" if isinstance(source, str) else ""
        raise Unreadable(f"{where} has no Sns object: not an SNS record{found}")
    message = sns.get("Message")
    if not isinstance(message, str) or not message.strip():
        raise Unreadable(f"{where}: SNS record without Sns.Message (missing, empty or not a string)")
    delivery_id = text_or_none(sns.get("MessageId")) or f"sns-sha256:{digest(message)[:32]}"
    try:
        return _read_sns_message(delivery_id, message, sns)
    except Unreadable as exc:
        raise Unreadable(f"{where}: {exc.reason}") from None


def _read_sns_message(delivery_id: str, message: str, sns: dict[str, Any]) -> Read:
    try:
        payload = json.loads(message)
    except (ValueError, RecursionError) as exc:
        if alertmanager.looks_like_text(message):
            with _reading("alertmanager-sns-text"):
                sent_at = _sent_at(sns)
                if sent_at is None:
                    raise Unreadable("no ISO 8601 Sns.Timestamp to date the alerts") from None
                read = alertmanager.read_text_group(message, text_or_none(sns.get("Subject")), sent_at)
                return _group_results(delivery_id, "alertmanager-sns-text", read, message)
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise Unreadable(
            "Sns.Message is neither JSON (runbook.alert/v1, CloudWatch alarm, Alertmanager JSON) nor the "
            f"Alertmanager default text template{where}"
        ) from None
    if not isinstance(payload, dict):
        raise Unreadable(f"Sns.Message is a JSON {json_type(payload)}, expected an object")
    if is_runbook_alert(payload):
        with _reading("runbook.alert/v1"):
            return [Delivery(delivery_id, "runbook.alert/v1", [read_runbook_alert(payload)])]
    if "AlarmName" in payload or "NewStateValue" in payload:
        with _reading("cloudwatch-sns"):
            alert = cloudwatch.to_alert(cloudwatch.from_sns_message(payload))
            return [Delivery(delivery_id, "cloudwatch-sns", [alert])]
    if payload.get("detail-type") == EVENTBRIDGE_DETAIL_TYPE:
        with _reading("cloudwatch-eventbridge"):
            alert = cloudwatch.to_alert(cloudwatch.from_eventbridge(payload))
            return [Delivery(delivery_id, "cloudwatch-eventbridge", [alert])]
    if "alarmData" in payload:
        with _reading("cloudwatch-lambda-action"):
            alert = cloudwatch.to_alert(cloudwatch.from_lambda_action(payload))
            return [Delivery(delivery_id, "cloudwatch-lambda-action", [alert])]
    if alertmanager.is_group(payload):
        with _reading("alertmanager-sns-json"):
            read = alertmanager.read_json_group(payload, fallback_time=_sent_at(sns))
            return _group_results(delivery_id, "alertmanager-sns-json", read, message)
    raise Unreadable(
        "Sns.Message is JSON of unknown shape: tried runbook.alert/v1 (no schema), CloudWatch alarm "
        "(no AlarmName/NewStateValue), EventBridge (no detail-type CloudWatch Alarm State Change), "
        f"Alertmanager (no alerts){_key_names(payload)}"
    )


def _sent_at(sns: dict[str, Any]) -> datetime | None:
    try:
        return optional_time(sns.get("Timestamp"), "Sns.Timestamp")
    except Unreadable:
        return None


def _group_results(delivery_id: str, fmt: str, read: alertmanager.GroupRead, body: str | None) -> Read:
    results: Read = []
    if read.alerts:
        results.append(Delivery(delivery_id, fmt, read.alerts))
    if read.problems:
        total = len(read.alerts) + len(read.problems)
        results.append(Rejected(delivery_id, alertmanager.problems_reason(read, total), body))
    if read.beyond_limit:
        results.append(
            Rejected(
                delivery_id,
                f"{read.beyond_limit} Alertmanager alerts beyond the limit of "
                f"{MAX_ALERTS} per group, not read",
                body,
            )
        )
    return results


def _guarded(delivery_id: str | None, body: str | None, read: Callable[[], Read]) -> Read:
    try:
        return read()
    except Unreadable as exc:
        return [Rejected(delivery_id, reason(exc.reason), body)]
    except Exception as exc:  # a bug must not turn one bad message into a crash loop
        return [Rejected(delivery_id, reason(f"unexpected {type(exc).__name__} while reading"), body)]


# --- delivery ids of direct invokes ----------------------------------------------------------------


def _alarm_delivery_id(change: cloudwatch.AlarmChange) -> str:
    """A direct alarm action has no id: the alarm and the time of its state change name it."""
    alarm = change.arn or f"{change.account_field}/{change.region_field}/{change.name}"
    return f"cloudwatch-alarm:{digest(alarm, change.changed_at.isoformat())[:32]}"


def _webhook_delivery_id(event: dict[str, Any]) -> str:
    """The groupKey (hashed when long) and a hash of the alerts' fingerprints, statuses and times."""
    group_key = text_or_none(event.get("groupKey"))
    if group_key is None:
        head = "alertmanager"
    elif len(group_key) > MAX_GROUP_KEY:
        head = f"alertmanager-group:{digest(group_key)[:32]}"
    else:
        head = group_key
    alerts = event.get("alerts")
    parts: list[str] = []
    for alert in alerts[:MAX_ALERTS] if isinstance(alerts, list) else []:
        item = alert if isinstance(alert, dict) else {}
        parts.extend(str(item.get(name)) for name in ("fingerprint", "status", "startsAt", "endsAt"))
    return f"{head}#{digest(*parts)[:16]}"


# --- reasons -------------------------------------------------------------------------------------


_DETAIL_TYPE = re.compile(r"^[A-Za-z0-9 ._-]{1,60}$")


def _detail_type(event: dict[str, Any]) -> str:
    detail_type = event.get("detail-type")
    if detail_type is None:
        return " (no detail-type)"
    shown = detail_type if isinstance(detail_type, str) and _DETAIL_TYPE.match(detail_type) else "…"
    return f" (detail-type is another: {shown})"


def _key_names(payload: dict[str, Any]) -> str:
    names = [safe_name(name) for name in list(payload)[:6]]
    return f"; found keys: {', '.join(names)}" if names else "; found an empty object"
