"""Sends a heartbeat report the way an outside job does: an EventBridge event on the default bus."""

import json
from typing import Any

from botocore import exceptions as bex

from runbook.models.events import HEARTBEAT_DETAIL_TYPE, HEARTBEAT_SOURCE, HeartbeatReport


class HeartbeatSendError(Exception):
    """The report did not reach EventBridge; the message says why in AWS's words."""


def send_heartbeat(client: Any, report: HeartbeatReport, event_bus: str = "default") -> str:
    detail = report.model_dump(mode="json", exclude_none=True)
    entry_in = {
        "Source": HEARTBEAT_SOURCE,
        "DetailType": HEARTBEAT_DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "EventBusName": event_bus,
    }
    try:
        response = client.put_events(Entries=[entry_in])
    except bex.ClientError as error:  # denied, no such bus, ...: AWS's own words, no request data
        details = error.response.get("Error", {})
        raise HeartbeatSendError(
            f"EventBridge refused it: {details.get('Code')}: {details.get('Message')}"
        ) from None
    except bex.BotoCoreError as error:  # unreachable endpoint, credentials that cannot be used, ...
        raise HeartbeatSendError(f"EventBridge could not be reached: {error}") from None
    entry = response["Entries"][0]
    if response.get("FailedEntryCount") or "EventId" not in entry:
        raise HeartbeatSendError(
            f"EventBridge refused the report: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
        )
    return str(entry["EventId"])
